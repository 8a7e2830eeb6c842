//! The bot's own HTTP surface (axum, `RELEASEBOT_HTTP_ADDR`): `/healthz`, `/readyz`,
//! `/metrics`, and the webhook the PaaS calls when a build changes.
//!
//! A webhook call is only a hint to poll the named execution now: its payload is never
//! taken as state, so a forged call cannot mark a build as done. A wrong secret gets
//! 404, a body over 64 KiB gets 413, and calls beyond a steady rate get 429.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::time::Instant;

use crate::engine::Engine;
use crate::paas::PaasError;

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

struct HttpState {
    engine: Engine,
    webhook_secret: Option<String>,
    bucket: Mutex<Bucket>,
    paas_check: tokio::sync::Mutex<Option<(Instant, Result<(), PaasError>)>>,
}

/// The router; `webhook_secret` is the last path segment of the webhook URL.
pub fn router(engine: Engine, webhook_secret: Option<String>) -> Router {
    let state = Arc::new(HttpState {
        engine,
        webhook_secret,
        bucket: Mutex::new(Bucket {
            tokens: WEBHOOK_BURST,
            at: Instant::now(),
        }),
        paas_check: tokio::sync::Mutex::new(None),
    });
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/webhook/{secret}",
            post(webhook).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY)),
        )
        .with_state(state)
}

/// Serves the endpoints on `listener` until `shutdown` fires; the address it listens
/// on and the server's task.
pub fn serve(
    listener: tokio::net::TcpListener,
    engine: Engine,
    shutdown: crate::shutdown::Shutdown,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let bound = listener.local_addr()?;
    let secret = engine.webhook_url().and_then(webhook_secret);
    let app = router(engine, secret);
    let task = tokio::spawn(async move {
        let stopped = async move { shutdown.wait().await };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %e, "the HTTP server stopped");
        }
    });
    Ok((bound, task))
}

/// The secret at the end of a webhook URL.
pub fn webhook_secret(url: &str) -> Option<String> {
    url.rsplit_once("/webhook/").map(|(_, s)| s.to_string())
}

/// Ready: connected to the chat, the PaaS takes the token, the store takes a write. A
/// standby replica is ready too (it is healthy and takes over when the leader goes),
/// and says so with who leads; a deposed one is not.
async fn readyz(State(s): State<Arc<HttpState>>) -> Response {
    use crate::engine::lease::Role;
    let role = s.engine.lease().role();
    match &role {
        Role::Standby { .. } => {
            let store = s.engine.store_writable().map_err(|e| e.to_string());
            let (status, line) = match store {
                Ok(()) => (StatusCode::OK, "store ok".to_string()),
                Err(e) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("store failing: {e}"),
                ),
            };
            return (status, format!("{}\n{line}\n", role.describe())).into_response();
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
        Err("not connected".to_string())
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
        .map_err(|e| e.to_string())
    };
    let store = s.engine.store_writable().map_err(|e| e.to_string());
    let mut ready = true;
    let mut body = match role {
        Role::Leader { .. } => format!("{}\n", role.describe()),
        _ => String::new(),
    };
    for (name, result) in [("chat", chat), ("paas", paas), ("store", store)] {
        match result {
            Ok(()) => body.push_str(&format!("{name} ok\n")),
            Err(e) => {
                ready = false;
                body.push_str(&format!("{name} failing: {e}\n"));
            }
        }
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
}

async fn metrics(State(s): State<Arc<HttpState>>) -> Response {
    let text = s.engine.metrics().render(&s.engine.gauges());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn webhook(
    State(s): State<Arc<HttpState>>,
    Path(secret): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let metrics = s.engine.metrics();
    let known = s
        .webhook_secret
        .as_deref()
        .is_some_and(|want| constant_time_eq(want.as_bytes(), secret.as_bytes()));
    if !known {
        metrics.webhook_call("unknown_secret");
        return StatusCode::NOT_FOUND.into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
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
    // is ignored.
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
