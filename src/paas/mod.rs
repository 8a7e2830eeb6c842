//! The PaaS client: the only code that builds PaaS URLs or reads PaaS JSON.
//!
//! It speaks the Rancher v3 API with the in-house extensions described in
//! `paas-api.md`: run a pipeline, follow its executions, upgrade an app with
//! `upgradeoutter`, read the app and its deploy logs. Reads are retried with
//! exponential backoff and jitter; the two calls that change something (`run` and
//! `upgradeoutter`) are never retried blindly: after an ambiguous failure the client
//! looks at the PaaS to learn whether the first attempt took effect.

pub mod error;
pub mod ids;
pub mod model;
pub mod subscribe;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};

pub use error::PaasError;
pub use ids::{
    AppId, AppRef, ClusterId, ExecutionId, ExecutionRef, IdError, PipelineId, PipelineRef,
    ProjectId, ProjectRef,
};
pub use model::{
    App, BuildStatus, Condition, ConditionStatus, DecodeError, Execution, ExecutionState, Rollout,
    Stage,
};

use crate::clock::Clock;
use crate::secret::Secret;
use model::{ErrorBody, Page};

/// Characters left as they are in a path segment: the RFC 3986 unreserved set.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How far the PaaS clock may lag behind ours when matching an execution to a run
/// request by its `created` time.
const CLOCK_SKEW: Duration = Duration::from_secs(5);

/// The largest response body read; anything bigger is treated as undecodable.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// The most collection pages followed, so a looping `pagination.next` ends.
const MAX_PAGES: usize = 100;

/// Settings for [`PaasClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The Rancher base URL, e.g. `https://rancher.example.com`.
    pub base_url: String,
    pub token: Secret,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// How many times a read is tried before its error is returned.
    pub read_attempts: u32,
    /// The first retry delay; each later one doubles, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, token: Secret) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            token,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            read_attempts: 4,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// The operations the client performs, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Root,
    GetPipeline,
    RunPipeline,
    GetExecution,
    ListExecutions,
    StopExecution,
    UpgradeApp,
    GetApp,
    DeployLogs,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Root => "root",
            Operation::GetPipeline => "get_pipeline",
            Operation::RunPipeline => "run_pipeline",
            Operation::GetExecution => "get_execution",
            Operation::ListExecutions => "list_executions",
            Operation::StopExecution => "stop_execution",
            Operation::UpgradeApp => "upgrade_app",
            Operation::GetApp => "get_app",
            Operation::DeployLogs => "deploy_logs",
        }
    }
}

/// One HTTP request the client made: what, how it ended (the HTTP status, or `None`
/// when no response came), how long it took.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub operation: Operation,
    pub status: Option<u16>,
    pub elapsed: Duration,
}

/// Something told of every request (the metrics registry).
pub type RequestObserver = Arc<dyn Fn(&RequestRecord) + Send + Sync>;

/// Whether a stop request stopped the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    Stopped,
    /// The execution had already finished (Rancher's 422 `InvalidAction`).
    AlreadyFinished,
}

/// The typed PaaS client. Cheap to clone.
#[derive(Clone)]
pub struct PaasClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    config: ClientConfig,
    clock: Clock,
    observer: Option<RequestObserver>,
}

/// A response that came back, whatever its status.
struct Reply {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// A request that got no response.
enum SendFailure {
    /// It never left (the connection could not be made): safe to send again.
    NotSent(PaasError),
    /// It may have reached the PaaS (timeout, reset): the PaaS may have acted on it.
    Ambiguous(PaasError),
}

impl PaasClient {
    /// Builds a client. Fails only on a base URL that is not an http(s) URL with a host.
    pub fn new(config: ClientConfig, clock: Clock) -> Result<Self, String> {
        let base = parse_base_url(&config.base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("releasebot/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(PaasClient {
            inner: Arc::new(Inner {
                http,
                base,
                config,
                clock,
                observer: None,
            }),
        })
    }

    /// Returns a client that reports every request to `observer`.
    pub fn with_observer(self, observer: RequestObserver) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            http: shared.http.clone(),
            base: shared.base.clone(),
            config: shared.config.clone(),
            clock: shared.clock,
            observer: shared.observer.clone(),
        });
        PaasClient {
            inner: Arc::new(Inner {
                observer: Some(observer),
                ..inner
            }),
        }
    }

    /// The PaaS host, for messages ("running against rancher.example.com").
    pub fn host(&self) -> String {
        host_of(&self.inner.base)
    }

    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// Starts the pipeline on `branch`. Never sends the request twice when the PaaS
    /// may have acted on the first one: after an ambiguous failure it looks for an
    /// execution of this pipeline and branch created since the request instead.
    pub async fn run_pipeline(
        &self,
        pipeline: &PipelineRef,
        branch: &str,
        webhook: Option<&str>,
    ) -> Result<Execution, PaasError> {
        let url = format!("{}?action=run", self.pipeline_url(pipeline));
        let mut body = json!({ "branch": branch });
        if let Some(w) = webhook {
            body["webhook"] = Value::String(w.to_string());
        }
        let since = self.inner.clock.now();
        let sent = self
            .send_change(Operation::RunPipeline, &url, Some(&body))
            .await;
        let ambiguous = match sent {
            // An answer that cannot be read still means the run was accepted.
            Ok(reply) => match self.decode(&reply.body, "pipeline execution", Execution::decode) {
                Ok(execution) => return Ok(execution),
                Err(e) => e,
            },
            Err(SendFailure::NotSent(e)) => return Err(e),
            Err(SendFailure::Ambiguous(e)) => e,
        };
        tracing::warn!(pipeline = %pipeline, error = %ambiguous, "run request ambiguous; looking for its execution");
        for wait in [1u64, 2, 4] {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            if let Ok(found) = self.find_execution_since(pipeline, branch, since).await
                && let Some(execution) = found.into_iter().next()
            {
                return Ok(execution);
            }
        }
        Err(PaasError::Unconfirmed { action: "run" })
    }

    /// Executions of `pipeline` on `branch` created at or after `since` (allowing a
    /// little clock skew), oldest first: the ones a run request sent at `since` may
    /// have started.
    pub async fn find_execution_since(
        &self,
        pipeline: &PipelineRef,
        branch: &str,
        since: SystemTime,
    ) -> Result<Vec<Execution>, PaasError> {
        let earliest = since.checked_sub(CLOCK_SKEW).unwrap_or(since);
        let mut found: Vec<Execution> = self
            .list_executions(pipeline)
            .await?
            .into_iter()
            .filter(|e| e.branch.as_deref() == Some(branch))
            .filter(|e| e.created.is_some_and(|c| c >= earliest))
            .collect();
        found.sort_by_key(|e| e.run);
        Ok(found)
    }

    pub async fn get_execution(&self, execution: &ExecutionRef) -> Result<Execution, PaasError> {
        let body = self
            .read(
                Operation::GetExecution,
                &self.execution_url(execution),
                "pipeline execution",
            )
            .await?;
        self.decode(&body, "pipeline execution", Execution::decode)
    }

    /// Every execution of the pipeline, sorted by run number (Rancher sorts the ids as
    /// text, so `-10` would come before `-9`), following `pagination.next`.
    pub async fn list_executions(
        &self,
        pipeline: &PipelineRef,
    ) -> Result<Vec<Execution>, PaasError> {
        let query = utf8_percent_encode(&pipeline.rancher_id(), SEGMENT).to_string();
        let mut url = format!(
            "{}/pipelineExecutions?pipelineId={query}",
            self.project_url(&pipeline.project)
        );
        let mut executions = Vec::new();
        for _ in 0..MAX_PAGES {
            let body = self
                .read(Operation::ListExecutions, &url, "pipeline execution")
                .await?;
            let page = self.decode(&body, "collection", Page::decode)?;
            // Items that do not decode (another pipeline's oddity) are skipped, not fatal.
            executions.extend(page.data.iter().filter_map(|v| Execution::decode(v).ok()));
            match page.next {
                Some(next) => url = self.same_origin(&next)?,
                None => break,
            }
        }
        executions.sort_by_key(|e| e.run);
        executions.dedup_by_key(|e| e.run);
        Ok(executions)
    }

    /// Stops a running build (Rancher's `stop` action).
    pub async fn stop_execution(&self, execution: &ExecutionRef) -> Result<StopOutcome, PaasError> {
        let url = format!("{}?action=stop", self.execution_url(execution));
        // Stopping twice is harmless, so a stop may be retried like a read.
        match self
            .with_retries(
                Operation::StopExecution,
                Method::POST,
                &url,
                None,
                "pipeline execution",
            )
            .await
        {
            Ok(_) => Ok(StopOutcome::Stopped),
            Err(PaasError::Invalid {
                status: 422, code, ..
            }) if code == "InvalidAction" => Ok(StopOutcome::AlreadyFinished),
            Err(e) => Err(e),
        }
    }

    pub async fn get_app(&self, app: &AppRef) -> Result<App, PaasError> {
        let body = self
            .read(Operation::GetApp, &self.app_url(app), "app")
            .await?;
        self.decode(&body, "app", App::decode)
    }

    /// Upgrades the app to `version_tag` with the in-house `upgradeoutter` action.
    /// `before` is the app as read just before; after an ambiguous failure the app is
    /// read again, and the upgrade counts as sent if the app moved to the tag or
    /// started a new rollout since `before`. It is never sent a second time.
    pub async fn upgrade_app(
        &self,
        app: &AppRef,
        version_tag: &str,
        before: &App,
    ) -> Result<(), PaasError> {
        let url = format!("{}?action=upgradeoutter", self.app_url(app));
        let body = json!({ "versionTag": version_tag });
        match self
            .send_change(Operation::UpgradeApp, &url, Some(&body))
            .await
        {
            Ok(_) => Ok(()),
            Err(SendFailure::NotSent(e)) => Err(e),
            Err(SendFailure::Ambiguous(e)) => {
                tracing::warn!(app = %app, error = %e, "upgrade request ambiguous; reading the app");
                for wait in [1u64, 2, 4] {
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                    if let Ok(now) = self.get_app(app).await
                        && (now.version_tag.as_deref() == Some(version_tag)
                            || now.change_mark() != before.change_mark())
                    {
                        return Ok(());
                    }
                }
                Err(PaasError::Unconfirmed { action: "upgrade" })
            }
        }
    }

    /// Checks that the PaaS answers and accepts the token (`GET /v3`).
    pub async fn check_token(&self) -> Result<(), PaasError> {
        let url = format!("{}/v3", self.base_url());
        self.read(Operation::Root, &url, "API root")
            .await
            .map(|_| ())
    }

    /// Checks that a pipeline exists (`GET …/pipelines/{id}`).
    pub async fn get_pipeline(&self, pipeline: &PipelineRef) -> Result<(), PaasError> {
        self.read(
            Operation::GetPipeline,
            &self.pipeline_url(pipeline),
            "pipeline",
        )
        .await
        .map(|_| ())
    }

    /// The app's deploy log lines, or `None` when the PaaS has none (404).
    pub async fn deploy_logs(&self, app: &AppRef) -> Result<Option<Vec<String>>, PaasError> {
        match self
            .read(Operation::DeployLogs, &self.logs_url(app), "deploy log")
            .await
        {
            Ok(body) => Ok(Some(model::decode_logs(&body))),
            Err(PaasError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn project_url(&self, project: &ProjectRef) -> String {
        format!(
            "{}/v3/project/{}:{}",
            self.base_url(),
            seg(project.cluster.as_str()),
            seg(project.project.as_str())
        )
    }

    fn pipeline_url(&self, p: &PipelineRef) -> String {
        format!(
            "{}/pipelines/{}:{}",
            self.project_url(&p.project),
            seg(p.project.project.as_str()),
            seg(p.pipeline.as_str())
        )
    }

    fn execution_url(&self, e: &ExecutionRef) -> String {
        format!(
            "{}/pipelineExecutions/{}:{}",
            self.project_url(&e.project),
            seg(e.execution.project.as_str()),
            seg(&e.execution.name())
        )
    }

    fn app_url(&self, a: &AppRef) -> String {
        format!(
            "{}/apps/{}:{}",
            self.project_url(&a.project),
            seg(a.project.project.as_str()),
            seg(a.app.as_str())
        )
    }

    fn logs_url(&self, a: &AppRef) -> String {
        format!(
            "{}/deployLogs/{}:{}",
            self.project_url(&a.project),
            seg(a.project.project.as_str()),
            seg(a.app.as_str())
        )
    }

    /// A `pagination.next` link, accepted only on the PaaS's own origin: the token
    /// must never be sent anywhere else.
    fn same_origin(&self, next: &str) -> Result<String, PaasError> {
        let url = Url::parse(next).map_err(|_| PaasError::Undecodable {
            what: "collection",
            excerpt: "pagination.next is not a URL".into(),
        })?;
        let base = &self.inner.base;
        if url.scheme() != base.scheme()
            || url.host_str() != base.host_str()
            || url.port_or_known_default() != base.port_or_known_default()
        {
            return Err(PaasError::Undecodable {
                what: "collection",
                excerpt: "pagination.next points outside the PaaS".into(),
            });
        }
        Ok(url.to_string())
    }

    fn decode<T>(
        &self,
        body: &[u8],
        what: &'static str,
        decode: impl Fn(&Value) -> Result<T, DecodeError>,
    ) -> Result<T, PaasError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| PaasError::Undecodable {
            what,
            excerpt: self.excerpt(body),
        })?;
        decode(&value).map_err(|e| PaasError::Undecodable {
            what: e.what,
            excerpt: self.inner.config.token.scrub(&e.problem),
        })
    }

    /// The start of a body, printable and without the token, for error messages.
    fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let mut short: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(80)
            .collect();
        if text.chars().count() > 80 {
            short.push('…');
        }
        let short = self.inner.config.token.scrub(short.trim());
        if short.is_empty() {
            "an empty body".into()
        } else {
            format!("\"{short}\"")
        }
    }

    /// A GET, retried on transient failures.
    async fn read(
        &self,
        op: Operation,
        url: &str,
        what: &'static str,
    ) -> Result<Vec<u8>, PaasError> {
        self.with_retries(op, Method::GET, url, None, what).await
    }

    async fn with_retries(
        &self,
        op: Operation,
        method: Method,
        url: &str,
        body: Option<&Value>,
        what: &'static str,
    ) -> Result<Vec<u8>, PaasError> {
        let attempts = self.inner.config.read_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = match self.send(op, method.clone(), url, body).await {
                Ok(reply) => self.check(reply, what),
                Err(SendFailure::NotSent(e) | SendFailure::Ambiguous(e)) => Err(e),
            };
            match result {
                Err(e) if e.is_transient() && attempt < attempts => {
                    let wait = match &e {
                        PaasError::RateLimited {
                            retry_after: Some(d),
                        } => (*d).min(self.inner.config.max_retry_after),
                        _ => self.backoff(attempt),
                    };
                    tracing::debug!(operation = op.as_str(), attempt, error = %e, ?wait, "retrying PaaS read");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// A request that changes something. Only failures that prove the request never
    /// reached the PaaS are retried (connection refused, 429, 503); a timeout, a reset
    /// or a gateway error (502, 504) is ambiguous and handed back to the caller.
    async fn send_change(
        &self,
        op: Operation,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, SendFailure> {
        let attempts = self.inner.config.read_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.send(op, Method::POST, url, body).await {
                Ok(reply) => match reply.status.as_u16() {
                    502 | 504 => SendFailure::Ambiguous(self.error_for(reply, "pipeline")),
                    _ => match self.check(reply, "pipeline or app") {
                        Ok(body) => {
                            return Ok(Reply {
                                status: StatusCode::OK,
                                retry_after: None,
                                body,
                            });
                        }
                        Err(e) => SendFailure::NotSent(e),
                    },
                },
                Err(f) => f,
            };
            match failure {
                SendFailure::NotSent(e) if e.is_safe_to_resend() && attempt < attempts => {
                    let wait = match &e {
                        PaasError::RateLimited {
                            retry_after: Some(d),
                        } => (*d).min(self.inner.config.max_retry_after),
                        _ => self.backoff(attempt),
                    };
                    tokio::time::sleep(wait).await;
                }
                other => return Err(other),
            }
        }
    }

    /// Exponential backoff with jitter: between half and all of base·2^(attempt-1).
    fn backoff(&self, attempt: u32) -> Duration {
        let c = &self.inner.config;
        let full = c
            .backoff_base
            .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16))
            .min(c.backoff_max);
        full.mul_f64(0.5 + fastrand::f64() * 0.5)
    }

    async fn send(
        &self,
        op: Operation,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, SendFailure> {
        let started = tokio::time::Instant::now();
        let mut request = self
            .inner
            .http
            .request(method, url)
            .bearer_auth(self.inner.config.token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let result = match request.send().await {
            Ok(response) => self.collect(response).await,
            Err(e) => Err(self.classify(e)),
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

    async fn collect(&self, mut response: reqwest::Response) -> Result<Reply, SendFailure> {
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
                Err(e) => return Err(SendFailure::Ambiguous(self.classify(e).into_inner())),
            }
        }
        Ok(Reply {
            status,
            retry_after,
            body,
        })
    }

    fn classify(&self, e: reqwest::Error) -> SendFailure {
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
                after: self.inner.config.request_timeout,
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

    fn error_for(&self, reply: Reply, what: &'static str) -> PaasError {
        let status = reply.status.as_u16();
        let parsed = ErrorBody::decode(&reply.body);
        let scrub = |s: Option<String>| {
            s.map(|s| self.inner.config.token.scrub(&s))
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
    fn into_inner(self) -> PaasError {
        match self {
            SendFailure::NotSent(e) | SendFailure::Ambiguous(e) => e,
        }
    }
}

fn seg(s: &str) -> String {
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

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => "the configured URL".into(),
    }
}

/// Execution ids named anywhere in a webhook call's body (JSON, a few levels deep, or
/// plain text). The body's format is not specified by the PaaS, and nothing else in it
/// is believed: it only says which builds to look at now.
pub fn webhook_execution_ids(body: &[u8]) -> Vec<ExecutionId> {
    fn walk(v: &Value, depth: usize, out: &mut Vec<ExecutionId>) {
        if depth > 4 || out.len() >= 16 {
            return;
        }
        match v {
            Value::String(s) => {
                if let Ok(id) = ExecutionId::parse(s.trim()) {
                    out.push(id);
                }
            }
            Value::Array(items) => items.iter().take(64).for_each(|i| walk(i, depth + 1, out)),
            Value::Object(map) => map.values().take(64).for_each(|i| walk(i, depth + 1, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => walk(&v, 0, &mut out),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            out.extend(
                text.split_whitespace()
                    .take(64)
                    .filter_map(|w| ExecutionId::parse(w).ok()),
            );
        }
    }
    out.dedup();
    out
}

/// Checks a PaaS base URL: http or https, with a host, nothing after the path.
pub fn parse_base_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| format!("{s:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{s:?} must start with https:// (or http://)"));
    }
    if url.host_str().is_none() {
        return Err(format!("{s:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the PaaS URL must not hold credentials; set RANCHER_TOKEN instead".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{s:?} must not have a query or fragment"));
    }
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked() {
        assert!(parse_base_url("https://rancher.example.com/").is_ok());
        assert_eq!(
            parse_base_url("https://rancher.example.com/")
                .unwrap()
                .as_str()
                .trim_end_matches('/'),
            "https://rancher.example.com"
        );
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("rancher.example.com").is_err());
        assert!(parse_base_url("https://user:pw@rancher.example.com").is_err());
    }

    #[test]
    fn execution_ids_are_found_in_any_body() {
        let ids =
            webhook_execution_ids(br#"{"id":"p-5tfq9:p-tpk2x-10","executionState":"Success"}"#);
        assert_eq!(ids, [ExecutionId::parse("p-5tfq9:p-tpk2x-10").unwrap()]);
        assert_eq!(
            webhook_execution_ids(br#"{"data":{"pipelineExecution":{"id":"p-1:p-2-3"}}}"#).len(),
            1
        );
        assert_eq!(webhook_execution_ids(b"p-1:p-2-3 changed").len(), 1);
        assert!(webhook_execution_ids(b"").is_empty());
        assert!(webhook_execution_ids(br#"{"id": "../../etc/passwd"}"#).is_empty());
    }

    #[test]
    fn retry_after_accepts_seconds() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[tokio::test]
    async fn urls_are_built_from_typed_ids() {
        let client = PaasClient::new(
            ClientConfig::new("https://rancher.example.com", Secret::new("t")),
            Clock::new(),
        )
        .unwrap();
        let project = ProjectRef::parse("c-64wdm:p-5tfq9").unwrap();
        let pipeline = PipelineRef::new(project.clone(), PipelineId::parse("p-tpk2x").unwrap());
        assert_eq!(
            client.pipeline_url(&pipeline),
            "https://rancher.example.com/v3/project/c-64wdm:p-5tfq9/pipelines/p-5tfq9:p-tpk2x"
        );
        let exec = ExecutionRef::new(
            project.clone(),
            ExecutionId::parse("p-5tfq9:p-tpk2x-10").unwrap(),
        );
        assert_eq!(
            client.execution_url(&exec),
            "https://rancher.example.com/v3/project/c-64wdm:p-5tfq9/pipelineExecutions/p-5tfq9:p-tpk2x-10"
        );
        let app = AppRef::new(project, AppId::parse("project-deploy").unwrap());
        assert_eq!(
            client.logs_url(&app),
            "https://rancher.example.com/v3/project/c-64wdm:p-5tfq9/deployLogs/p-5tfq9:project-deploy"
        );
        assert!(client.same_origin("https://evil.example.com/v3/x").is_err());
        assert!(
            client
                .same_origin("https://rancher.example.com/v3/x?marker=2")
                .is_ok()
        );
    }
}
