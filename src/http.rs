//! The bot's own HTTP surface (axum, `RELEASEBOT_HTTP_ADDR`): `/healthz`, `/readyz`,
//! `/metrics`, and the webhook the PaaS calls when a build changes, served within the
//! limits of [`server`].
//!
//! A webhook call is only a hint to poll the named execution soon: its payload is
//! never taken as state, so a forged call cannot mark a build as done, and a flood of
//! calls costs at most one poll per watcher's floor (`paas::watch`). A wrong secret
//! gets 404 before any of the body is read, a body over 64 KiB gets 413, and calls
//! beyond a steady rate get 429.
//!
//! `/readyz` says which part is ok or failing and nothing more: it answers anyone who
//! can reach the port, so what went wrong goes to the log.

mod server;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::time::Instant;

pub use self::server::Limits;
use crate::engine::Engine;
use crate::paas::PaasError;
use crate::secret::Secret;

/// The largest webhook body accepted.
pub const MAX_WEBHOOK_BODY: usize = 64 * 1024;
/// Webhook calls allowed per second, and in a burst.
const WEBHOOK_RATE: f64 = 20.0;
const WEBHOOK_BURST: f64 = 40.0;
/// How long a PaaS reachability check is reused by `/readyz`.
const READY_CACHE: Duration = Duration::from_secs(5);

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A webhook secret replaced by a newer one, still accepted for a while: builds
/// started before the change call with it.
#[derive(Debug, Clone)]
pub struct PreviousSecret {
    pub secret: Secret,
    pub until: Instant,
}

/// How the endpoints serve: the limits, and the webhook secret accepted besides the
/// one in the webhook URL.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub limits: Limits,
    pub previous_secret: Option<PreviousSecret>,
}

struct HttpState {
    engine: Engine,
    webhook_secret: Option<Secret>,
    previous_secret: Option<PreviousSecret>,
    bucket: Mutex<Bucket>,
    paas_check: tokio::sync::Mutex<Option<(Instant, Result<(), PaasError>)>>,
    /// What each part of `/readyz` last failed with, so the log tells each change once
    /// however often the probe asks.
    failing: Mutex<HashMap<&'static str, String>>,
    /// The delivery gauges as last read from the store, and when.
    delivery: tokio::sync::Mutex<Option<(Instant, String)>>,
}

/// How long the delivery gauges (read from the store) are kept before `/metrics` reads
/// them again.
pub const DELIVERY_EVERY: Duration = Duration::from_secs(60);

/// The router; `webhook_secret` is the last path segment of the webhook URL.
pub fn router(
    engine: Engine,
    webhook_secret: Option<Secret>,
    previous_secret: Option<PreviousSecret>,
) -> Router {
    let state = Arc::new(HttpState {
        engine,
        webhook_secret,
        previous_secret,
        bucket: Mutex::new(Bucket {
            tokens: WEBHOOK_BURST,
            at: Instant::now(),
        }),
        paas_check: tokio::sync::Mutex::new(None),
        failing: Mutex::new(HashMap::new()),
        delivery: tokio::sync::Mutex::new(None),
    });
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/webhook/{secret}", post(webhook))
        .with_state(state)
}

/// Serves the endpoints on `listener` until `shutdown` fires; the address it listens
/// on and the server's task.
pub fn serve(
    listener: tokio::net::TcpListener,
    engine: Engine,
    shutdown: crate::shutdown::Shutdown,
    options: Options,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let bound = listener.local_addr()?;
    let secret = engine
        .webhook_url()
        .and_then(webhook_secret)
        .map(Secret::new);
    let metrics = engine.metrics().clone();
    let app = router(engine, secret, options.previous_secret);
    let task = tokio::spawn(server::run(
        listener,
        app,
        options.limits,
        metrics,
        shutdown,
    ));
    Ok((bound, task))
}

/// The secret at the end of a webhook URL.
pub fn webhook_secret(url: &str) -> Option<String> {
    url.rsplit_once("/webhook/").map(|(_, s)| s.to_string())
}

/// Ready: connected to the chat, the PaaS takes the token, the store takes a write. A
/// standby replica is ready too (it is healthy and takes over when the leader goes),
/// and says so with who leads; a deposed one is not. The body names the parts that
/// fail, never why: the log says why.
async fn readyz(State(s): State<Arc<HttpState>>) -> Response {
    use crate::lease::Role;
    let role = s.engine.lease().role();
    match &role {
        Role::Standby { .. } => {
            let store = s.engine.store().ping().await.map_err(NotReady::from);
            let head = format!("{}\n", role.describe());
            return s.report(&[("store", store)]).response(&head);
        }
        Role::Deposed => {
            let body = "deposed: another replica leads; this one stops\n";
            return (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
        }
        Role::Alone | Role::Leader { .. } => {}
    }
    let chat = if s.engine.chat_connected() {
        Ok(())
    } else {
        Err(NotReady::ChatDisconnected)
    };
    let paas = {
        let mut cached = s.paas_check.lock().await;
        match cached.as_ref() {
            Some((at, result)) if at.elapsed() < READY_CACHE => result.clone(),
            _ => {
                let result = s.engine.paas().check_token().await;
                *cached = Some((Instant::now(), result.clone()));
                result
            }
        }
        .map_err(NotReady::from)
    };
    let store = s.engine.store().ping().await.map_err(NotReady::from);
    let head = match role {
        Role::Leader { .. } => format!("{}\n", role.describe()),
        _ => String::new(),
    };
    s.report(&[("chat", chat), ("paas", paas), ("store", store)])
        .response(&head)
}

/// Why a part of the bot is not ready (said in the log, never in the answer).
#[derive(Debug, thiserror::Error)]
enum NotReady {
    #[error("the chat is not connected")]
    ChatDisconnected,
    #[error(transparent)]
    Paas(#[from] crate::paas::PaasError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Each part's line, and whether every part is ready.
struct Readiness {
    ready: bool,
    lines: String,
}

impl Readiness {
    /// 200 when ready, else 503, with `head` and the parts' lines.
    fn response(self, head: &str) -> Response {
        let status = match self.ready {
            true => StatusCode::OK,
            false => StatusCode::SERVICE_UNAVAILABLE,
        };
        (status, format!("{head}{}", self.lines)).into_response()
    }
}

async fn metrics(State(s): State<Arc<HttpState>>) -> Response {
    let mut text = s.engine.metrics().render(&s.engine.gauges());
    text.push_str(&delivery(&s).await);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The delivery gauges of every app over each period, read from the store (the job
/// history, never counters a restart resets) at most once a [`DELIVERY_EVERY`].
async fn delivery(s: &HttpState) -> String {
    let mut kept = s.delivery.lock().await;
    if let Some((at, text)) = kept.as_ref()
        && at.elapsed() < DELIVERY_EVERY
    {
        return text.clone();
    }
    let apps: Vec<_> = s.engine.config().apps.keys().cloned().collect();
    let mut all = Vec::new();
    for length in crate::job::stats::PeriodLength::ALL {
        let now = s.engine.clock().now_ms();
        let pipelines = crate::delivery::Pipelines {
            config: s.engine.config(),
            paas: s.engine.paas(),
        };
        match crate::delivery::figures(s.engine.store(), &apps, length, now, Some(pipelines)).await
        {
            Ok(stats) => all.extend(stats.iter().map(|a| gauges(a, length.as_str()))),
            Err(e) => {
                tracing::warn!(error = %e, "the delivery gauges could not be read");
                return kept.as_ref().map(|(_, t)| t.clone()).unwrap_or_default();
            }
        }
    }
    let text = crate::metrics::render_delivery(&all);
    *kept = Some((Instant::now(), text.clone()));
    text
}

fn gauges(a: &crate::job::stats::AppStats, period: &'static str) -> crate::metrics::Delivery {
    let f = &a.current;
    let secs = |ms: i64| ms as f64 / 1000.0;
    crate::metrics::Delivery {
        app: a.app.to_string(),
        period,
        deployments: f.deployments,
        succeeded: f.succeeded,
        lead_median_s: f.lead.map(|l| secs(l.median_ms)),
        lead_p90_s: f.lead.map(|l| secs(l.high_ms)),
        failure_rate: f.failure_rate(),
        restore_median_s: f.restore.map(|r| secs(r.median_ms)),
        restore_worst_s: f.restore.map(|r| secs(r.high_ms)),
    }
}

async fn webhook(
    State(s): State<Arc<HttpState>>,
    Path(secret): Path<String>,
    body: Body,
) -> Response {
    let metrics = s.engine.metrics();
    if !s.knows(&secret) {
        // Answered before the body is read: without the secret, nobody gets to hold a
        // request open by sending one slowly.
        tokio::spawn(discard(body.into_data_stream()));
        metrics.webhook_call("unknown_secret");
        return StatusCode::NOT_FOUND.into_response();
    }
    let body = match read_body(body, MAX_WEBHOOK_BODY).await {
        Ok(b) => b,
        Err(status) => {
            metrics.webhook_call(if status == StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "bad_body"
            });
            return status.into_response();
        }
    };
    if !s.admit() {
        metrics.webhook_call("rate_limited");
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response();
    }
    // The payload only says which build to look at; what it claims about the build
    // is ignored. A nudge brings a watcher's next poll forward, never below its floor.
    let hub = s.engine.watchers();
    let named = crate::paas::webhook_execution_ids(&body);
    let mut polled = named.iter().filter(|id| hub.nudge_execution_id(id)).count();
    if named.is_empty() {
        polled = hub.nudge_all_executions();
    }
    metrics.webhook_call("polled");
    (StatusCode::ACCEPTED, format!("{{\"polled\":{polled}}}\n")).into_response()
}

impl HttpState {
    /// Whether `secret` is the webhook's (or the one before it, while that lasts).
    fn knows(&self, secret: &str) -> bool {
        let current = self
            .webhook_secret
            .as_ref()
            .is_some_and(|want| constant_time_eq(want.expose().as_bytes(), secret.as_bytes()));
        let previous = self.previous_secret.as_ref().is_some_and(|p| {
            Instant::now() < p.until
                && constant_time_eq(p.secret.expose().as_bytes(), secret.as_bytes())
        });
        // Both compared whatever the first said, so the time taken tells nothing.
        current | previous
    }

    /// Each part's line (`paas ok`, `store failing`), not ready when one fails. A
    /// failure is logged, with its reason, when it starts or its reason changes, and
    /// its end when it ends.
    fn report(&self, parts: &[(&'static str, Result<(), NotReady>)]) -> Readiness {
        let mut lines = String::new();
        let mut ready = true;
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        for (name, result) in parts {
            match result {
                Ok(()) => {
                    lines.push_str(&format!("{name} ok\n"));
                    if failing.remove(name).is_some() {
                        tracing::info!(part = name, "ready again");
                    }
                }
                Err(e) => {
                    ready = false;
                    lines.push_str(&format!("{name} failing\n"));
                    let reason = crate::redact::text(&e.to_string());
                    if failing.get(name) != Some(&reason) {
                        tracing::warn!(part = name, reason = %reason, "not ready");
                        failing.insert(name, reason);
                    }
                }
            }
        }
        Readiness { ready, lines }
    }

    fn admit(&self) -> bool {
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        b.tokens =
            (b.tokens + now.duration_since(b.at).as_secs_f64() * WEBHOOK_RATE).min(WEBHOOK_BURST);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A body of at most `limit` bytes: 413 past it (the rest is discarded), 400 when it
/// breaks off.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, StatusCode> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut read = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| StatusCode::BAD_REQUEST)?;
        if read.len() + chunk.len() > limit {
            tokio::spawn(discard(stream));
            return Err(StatusCode::PAYLOAD_TOO_LARGE);
        }
        read.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(read))
}

/// The most of an unwanted body read and thrown away after the answer, and for how
/// long: a client still sending a modest body then reads the answer instead of a reset
/// connection; one that sends more, or slowly, is cut off (its connection no longer
/// counts as in a request, so it holds no place another needs).
const DISCARD_BYTES: usize = 1024 * 1024;
const DISCARD_TIME: Duration = Duration::from_secs(5);

async fn discard(mut stream: axum::body::BodyDataStream) {
    use futures_util::StreamExt;
    let mut left = DISCARD_BYTES;
    let _ = tokio::time::timeout(DISCARD_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            match left.checked_sub(chunk.len()) {
                Some(l) => left = l,
                None => return,
            }
        }
    })
    .await;
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_the_last_segment_of_the_webhook_url() {
        assert_eq!(
            webhook_secret("https://bot.example.com/webhook/abc"),
            Some("abc".into())
        );
        assert_eq!(webhook_secret("https://bot.example.com/"), None);
    }
}
