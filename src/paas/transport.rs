//! How the client talks HTTP to the PaaS: URLs from typed ids, one request with its
//! timeout, the one retry layer (reads retried on transient failures with the client's
//! backoff, changes only when provably never sent), and every answer turned into a
//! typed [`PaasError`].

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::model::{DecodeError, ErrorBody};
use super::{
    AppRef, ExecutionRef, Operation, PaasClient, PaasError, PipelineRef, ProjectRef, RequestRecord,
};

/// Characters left as they are in a path segment: the RFC 3986 unreserved set.
pub(super) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The largest response body read; anything bigger is treated as undecodable.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// A response that came back, whatever its status.
pub(super) struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// A request that got no usable answer.
pub(super) enum SendFailure {
    /// It never left (the connection could not be made) or was refused before
    /// anything was done: safe to send again when the error says so.
    NotSent(PaasError),
    /// It may have reached the PaaS (timeout, reset, gateway error): the PaaS may have
    /// acted on it.
    Ambiguous(PaasError),
}

impl PaasClient {
    pub(super) fn project_url(&self, project: &ProjectRef) -> String {
        format!(
            "{}/v3/project/{}:{}",
            self.base_url(),
            seg(project.cluster.as_str()),
            seg(project.project.as_str())
        )
    }

    pub(super) fn pipeline_url(&self, p: &PipelineRef) -> String {
        format!(
            "{}/pipelines/{}:{}",
            self.project_url(&p.project),
            seg(p.project.project.as_str()),
            seg(p.pipeline.as_str())
        )
    }

    pub(super) fn execution_url(&self, e: &ExecutionRef) -> String {
        format!(
            "{}/pipelineExecutions/{}:{}",
            self.project_url(&e.project),
            seg(e.execution.project.as_str()),
            seg(&e.execution.name())
        )
    }

    pub(super) fn app_url(&self, a: &AppRef) -> String {
        format!(
            "{}/apps/{}:{}",
            self.project_url(&a.project),
            seg(a.project.project.as_str()),
            seg(a.app.as_str())
        )
    }

    pub(super) fn logs_url(&self, a: &AppRef) -> String {
        format!(
            "{}/deployLogs/{}:{}",
            self.project_url(&a.project),
            seg(a.project.project.as_str()),
            seg(a.app.as_str())
        )
    }

    /// A `pagination.next` link, followed by its path and query on the configured
    /// base URL: Rancher behind a proxy reports its own internal address, and the
    /// token must never be sent anywhere but the configured PaaS.
    pub(super) fn on_base(&self, next: &str) -> Result<String, PaasError> {
        let bad = |why: &str| PaasError::Undecodable {
            what: "collection",
            excerpt: format!("pagination.next {why}"),
        };
        let parsed = Url::parse(next).or_else(|_| self.inner.base.join(next));
        let url = parsed.map_err(|_| bad("is not a URL"))?;
        let base_path = self.inner.base.path().trim_end_matches('/');
        if !url.path().starts_with(&format!("{base_path}/")) {
            return Err(bad("is outside the PaaS API"));
        }
        let mut on_base = self.inner.base.clone();
        on_base.set_path(url.path());
        on_base.set_query(url.query());
        Ok(on_base.to_string())
    }

    pub(super) fn decode<T>(
        &self,
        body: &[u8],
        what: &'static str,
        decode: &impl Fn(&Value) -> Result<T, DecodeError>,
    ) -> Result<T, PaasError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| PaasError::Undecodable {
            what,
            excerpt: self.excerpt(body),
        })?;
        decode(&value).map_err(|e| PaasError::Undecodable {
            what: e.what,
            excerpt: crate::redact::text(&e.problem),
        })
    }

    /// The start of a body, printable and without the token, for error messages.
    pub(super) fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let mut short: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(80)
            .collect();
        if text.chars().count() > 80 {
            short.push('…');
        }
        let short = crate::redact::text(short.trim());
        if short.is_empty() {
            "an empty body".into()
        } else {
            format!("\"{short}\"")
        }
    }

    /// A GET, retried on transient failures.
    pub(super) async fn read(
        &self,
        op: Operation,
        url: &str,
        what: &'static str,
    ) -> Result<Vec<u8>, PaasError> {
        self.with_retries(op, Method::GET, url, None, what, |body| Ok(body.to_vec()))
            .await
    }

    /// A GET whose body is decoded by `decode`, the whole retried on transient
    /// failures (a body cut short by a proxy is one).
    pub(super) async fn read_json<T>(
        &self,
        op: Operation,
        url: &str,
        what: &'static str,
        decode: impl Fn(&Value) -> Result<T, DecodeError>,
    ) -> Result<T, PaasError> {
        self.with_retries(op, Method::GET, url, None, what, |body| {
            self.decode(body, what, &decode)
        })
        .await
    }

    /// Sends a request until `accept` takes its answer, retrying transient failures
    /// as the client's [`super::Retry`] allows.
    pub(super) async fn with_retries<T>(
        &self,
        op: Operation,
        method: Method,
        url: &str,
        body: Option<&Value>,
        what: &'static str,
        accept: impl Fn(&[u8]) -> Result<T, PaasError>,
    ) -> Result<T, PaasError> {
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = match self.send(op, method.clone(), url, body, None).await {
                Ok(reply) => self.check(reply, what).and_then(|body| accept(&body)),
                Err(SendFailure::NotSent(e) | SendFailure::Ambiguous(e)) => Err(e),
            };
            match result {
                Err(e) if e.is_transient() && self.retry.allows(attempt, started) => {
                    let wait = self.wait_after(&e, attempt);
                    tracing::debug!(operation = op.as_str(), attempt, error = %e, ?wait, "retrying PaaS read");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// How long to wait after a failure: what a 429 asked for, else the backoff.
    fn wait_after(&self, e: &PaasError, attempt: u32) -> Duration {
        match e {
            PaasError::RateLimited {
                retry_after: Some(d),
            } => (*d).min(self.inner.config.max_retry_after),
            _ => self.inner.config.backoff.delay(attempt),
        }
    }

    /// A request that changes something. Only failures that prove the request never
    /// reached the PaaS are retried (connection refused, 429, 503, 409 where the caller
    /// resends); a timeout, a reset, a gateway error (502, 504) or an unreadable answer
    /// is ambiguous and handed back to the caller.
    pub(super) async fn send_change(
        &self,
        op: Operation,
        url: &str,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, SendFailure> {
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.send(op, Method::POST, url, body, timeout).await {
                Ok(reply) => match reply.status.as_u16() {
                    502 | 504 => SendFailure::Ambiguous(self.error_for(reply, "pipeline")),
                    _ => match self.check(reply, "pipeline or app") {
                        Ok(body) => return Ok(body),
                        Err(e) => SendFailure::NotSent(e),
                    },
                },
                Err(f) => f,
            };
            match failure {
                SendFailure::NotSent(e)
                    if e.is_safe_to_resend() && self.retry.allows(attempt, started) =>
                {
                    tokio::time::sleep(self.wait_after(&e, attempt)).await;
                }
                other => return Err(other),
            }
        }
    }

    async fn send(
        &self,
        op: Operation,
        method: Method,
        url: &str,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Reply, SendFailure> {
        let started = tokio::time::Instant::now();
        let mut request = self
            .inner
            .http
            .request(method, url)
            .bearer_auth(self.inner.config.token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let result = match request.send().await {
            Ok(response) => self.collect(response, timeout).await,
            Err(e) => Err(self.classify(e, timeout)),
        };
        if let Some(observer) = &self.inner.observer {
            observer(&RequestRecord {
                operation: op,
                status: result.as_ref().ok().map(|r| r.status.as_u16()),
                elapsed: started.elapsed(),
            });
        }
        result
    }

    async fn collect(
        &self,
        mut response: reqwest::Response,
        timeout: Option<Duration>,
    ) -> Result<Reply, SendFailure> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        return Err(SendFailure::Ambiguous(PaasError::Undecodable {
                            what: "response",
                            excerpt: "a body over 8 MiB".into(),
                        }));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(SendFailure::Ambiguous(
                        self.classify(e, timeout).into_inner(),
                    ));
                }
            }
        }
        Ok(Reply {
            status,
            retry_after,
            body,
        })
    }

    fn classify(&self, e: reqwest::Error, timeout: Option<Duration>) -> SendFailure {
        let host = self.host();
        if e.is_connect() {
            let detail = if e.is_timeout() {
                "the connection timed out".to_string()
            } else {
                root_cause(&e)
            };
            SendFailure::NotSent(PaasError::Unreachable { host, detail })
        } else if e.is_timeout() {
            SendFailure::Ambiguous(PaasError::Timeout {
                after: timeout.unwrap_or(self.inner.config.request_timeout),
            })
        } else {
            SendFailure::Ambiguous(PaasError::Unreachable {
                host,
                detail: root_cause(&e),
            })
        }
    }

    /// The body of a successful reply, or the error its status means.
    fn check(&self, reply: Reply, what: &'static str) -> Result<Vec<u8>, PaasError> {
        if reply.status.is_success() {
            Ok(reply.body)
        } else {
            Err(self.error_for(reply, what))
        }
    }

    pub(super) fn error_for(&self, reply: Reply, what: &'static str) -> PaasError {
        let status = reply.status.as_u16();
        let parsed = ErrorBody::decode(&reply.body);
        let scrub = |s: Option<String>| {
            s.map(|s| crate::redact::text(&s))
                .map(|s| s.chars().take(300).collect::<String>())
        };
        let code = scrub(parsed.as_ref().and_then(|b| b.code.clone()));
        let message = scrub(parsed.as_ref().and_then(|b| b.message.clone()));
        let reason = reply.status.canonical_reason().unwrap_or("error");
        let code_or = |default: &str| code.clone().unwrap_or_else(|| default.to_string());
        let message_or = || {
            message
                .clone()
                .unwrap_or_else(|| self.excerpt_or_reason(&reply.body, reason))
        };
        match status {
            401 => PaasError::Unauthorized,
            403 => PaasError::Forbidden {
                code: code_or("PermissionDenied"),
                message: message_or(),
            },
            404 => PaasError::NotFound {
                what,
                code: code_or("NotFound"),
                message: message_or(),
            },
            429 => PaasError::RateLimited {
                retry_after: reply.retry_after,
            },
            400..=499 => PaasError::Invalid {
                status,
                code: code_or(reason),
                message: message_or(),
            },
            _ => {
                let detail = match (&code, &message) {
                    (Some(c), Some(m)) => format!("{c}: {m}"),
                    (None, Some(m)) => m.clone(),
                    _ if looks_like_html(&reply.body) => {
                        format!("{reason}, an HTML error page from a proxy")
                    }
                    _ => format!("{reason}, {}", self.excerpt(&reply.body)),
                };
                PaasError::Server { status, detail }
            }
        }
    }

    fn excerpt_or_reason(&self, body: &[u8], reason: &str) -> String {
        if body.is_empty() || looks_like_html(body) {
            reason.to_string()
        } else {
            self.excerpt(body)
        }
    }
}

impl SendFailure {
    pub(super) fn into_inner(self) -> PaasError {
        match self {
            SendFailure::NotSent(e) | SendFailure::Ambiguous(e) => e,
        }
    }
}

pub(super) fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

fn looks_like_html(body: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&body[..body.len().min(256)]).to_ascii_lowercase();
    let start = start.trim_start();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

/// `Retry-After` in seconds (whole or decimal). An HTTP date is not honoured; the
/// normal backoff applies instead.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    if text.is_empty() {
        "connection failed".into()
    } else {
        text
    }
}

pub(super) fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => "the configured URL".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
