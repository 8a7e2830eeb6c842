//! The PaaS client: the only code that builds PaaS URLs or reads PaaS JSON.
//!
//! It speaks the Rancher v3 API with the in-house extensions described in
//! `docs/paas.md`: run a pipeline, follow its executions, upgrade an app with
//! `upgradeoutter`, read the app and its deploy logs. It is the one place that retries
//! PaaS calls ([`transport`]): reads with backoff and jitter, as patiently as the
//! caller asks; the two calls that change something (`run` and `upgradeoutter`) are
//! never retried blindly: after an ambiguous failure the client looks at the PaaS to
//! learn whether the first attempt took effect (`confirm.rs`).

pub mod builds;
mod confirm;
pub mod error;
pub mod model;
pub mod push;
mod readings;
pub mod subscribe;
mod transport;
pub mod watch;
mod webhook;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use percent_encoding::utf8_percent_encode;
use reqwest::{Method, Url};
use serde_json::{Value, json};

pub use crate::ids::{
    AppId, AppRef, ClusterId, ExecutionId, ExecutionRef, IdError, PipelineId, PipelineRef,
    ProjectId, ProjectRef,
};
pub use error::{ClientError, PaasError, UrlError};
pub use model::{
    App, BuildStatus, Condition, ConditionStatus, DecodeError, Execution, ExecutionState, Stage,
};
pub use webhook::webhook_execution_ids;

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::secret::Secret;
use confirm::run_may_have_acted;
use model::Page;
use transport::{SEGMENT, SendFailure, host_of};

/// How far the PaaS clock may lag behind ours when matching an execution to a run
/// request by its `created` time (only where the PaaS does not say `nextRun`).
const CLOCK_SKEW: Duration = Duration::from_secs(30);

/// The most collection pages followed, so a looping `pagination.next` ends.
const MAX_PAGES: usize = 100;

/// How long a patient caller keeps retrying a read through transient failures.
const PATIENCE: Duration = Duration::from_secs(10 * 60);

/// Settings for [`PaasClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The Rancher base URL, e.g. `https://rancher.example.com`.
    pub base_url: String,
    pub token: Secret,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The `run` request's timeout: Rancher calls the git provider twice before it
    /// answers (`docs/paas.md#running-a-pipeline`).
    pub run_timeout: Duration,
    /// How many times a read is tried before its error is returned (unless the caller
    /// asks for patience).
    pub read_attempts: u32,
    pub backoff: Backoff,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
    /// How long the PaaS is searched for the result of an ambiguous `run` or upgrade
    /// before it is called unconfirmed.
    pub confirm_for: Duration,
    /// Whether a plain `http://` base URL to another machine is taken (see
    /// [`require_tls`]).
    pub allow_plain_http: bool,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, token: Secret) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            token,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            run_timeout: Duration::from_secs(60),
            read_attempts: 4,
            backoff: Backoff::new(Duration::from_millis(250), Duration::from_secs(8)),
            max_retry_after: Duration::from_secs(60),
            confirm_for: Duration::from_secs(60),
            allow_plain_http: false,
        }
    }
}

/// How many times, or for how long, a call is retried through transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Retry {
    attempts: u32,
    budget: Option<Duration>,
}

impl Retry {
    /// Whether another try may follow `attempt` tries begun at `started`.
    fn allows(&self, attempt: u32, started: tokio::time::Instant) -> bool {
        attempt < self.attempts && self.budget.is_none_or(|b| started.elapsed() < b)
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
    retry: Retry,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    config: ClientConfig,
    clock: Clock,
    observer: Option<RequestObserver>,
    /// Settled builds already read, per pipeline.
    builds: Arc<builds::BuildCache>,
}

impl PaasClient {
    /// Builds a client. Fails only on a base URL that is not an http(s) URL with a host,
    /// or is plain http to another machine without `allow_plain_http`.
    pub fn new(config: ClientConfig, clock: Clock) -> Result<Self, ClientError> {
        let base = parse_base_url(&config.base_url)?;
        require_tls(&base, config.allow_plain_http)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("releasebot/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ClientError::Http)?;
        let retry = Retry {
            attempts: config.read_attempts.max(1),
            budget: None,
        };
        Ok(PaasClient {
            inner: Arc::new(Inner {
                http,
                base,
                config,
                clock,
                observer: None,
                builds: Arc::default(),
            }),
            retry,
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
            builds: shared.builds.clone(),
        });
        PaasClient {
            inner: Arc::new(Inner {
                observer: Some(observer),
                ..inner
            }),
            retry: self.retry,
        }
    }

    /// The same client, retrying reads through transient failures for up to ten
    /// minutes: for the steps of a job, which would rather wait out a storm than fail.
    pub fn patient(&self) -> PaasClient {
        PaasClient {
            inner: self.inner.clone(),
            retry: Retry {
                attempts: u32::MAX,
                budget: Some(PATIENCE),
            },
        }
    }

    /// The same client, trying each read once: for pollers, whose polling is the retry.
    pub fn once(&self) -> PaasClient {
        PaasClient {
            inner: self.inner.clone(),
            retry: Retry {
                attempts: 1,
                budget: None,
            },
        }
    }

    /// The PaaS host, for messages ("running against rancher.example.com").
    pub fn host(&self) -> String {
        host_of(&self.inner.base)
    }

    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// Where Rancher's web UI is, as the API's URL says: the same URL without `/v3`.
    pub fn ui_base_url(&self) -> &str {
        self.base_url().trim_end_matches("/v3")
    }

    /// The run number the pipeline's next execution gets (Rancher's `nextRun`), when
    /// the PaaS says.
    pub async fn next_run(&self, pipeline: &PipelineRef) -> Result<Option<u64>, PaasError> {
        let url = self.pipeline_url(pipeline);
        self.read_json(Operation::GetPipeline, &url, "pipeline", model::next_run)
            .await
    }

    /// Starts the pipeline on `branch`. Never sends the request twice when the PaaS
    /// may have acted on the first one: after a timeout, a reset, a gateway error, an
    /// unreadable answer or a 500 that is not a known refusal (Rancher's `run` can fail
    /// after creating the execution, `docs/paas.md#running-a-pipeline`), it looks for
    /// the execution the request started — one of this branch numbered `next_run` or
    /// later — for `confirm_for` before giving up.
    pub async fn run_pipeline(
        &self,
        pipeline: &PipelineRef,
        branch: &str,
        webhook: Option<&str>,
        next_run: Option<u64>,
    ) -> Result<Execution, PaasError> {
        let url = format!("{}?action=run", self.pipeline_url(pipeline));
        let mut body = json!({ "branch": branch });
        if let Some(w) = webhook {
            body["webhook"] = Value::String(w.to_string());
        }
        let since = self.inner.clock.now();
        let sent = self
            .send_change(
                Operation::RunPipeline,
                &url,
                Some(&body),
                Some(self.inner.config.run_timeout),
            )
            .await;
        let ambiguous = match sent {
            Ok(body) => match self.decode(&body, "pipeline execution", &Execution::decode) {
                Ok(execution) => return Ok(execution),
                // An answer that cannot be read still means the run was accepted.
                Err(e) => e,
            },
            Err(SendFailure::NotSent(e)) if run_may_have_acted(&e) => e,
            Err(SendFailure::NotSent(e)) => return Err(e),
            Err(SendFailure::Ambiguous(e)) => e,
        };
        tracing::warn!(pipeline = %pipeline, error = %ambiguous, "run request ambiguous; looking for its execution");
        self.confirm_run(pipeline, branch, next_run, since).await
    }

    /// Executions of `pipeline` on `branch` that a run request may have started,
    /// oldest first: those numbered `next_run` or later when the PaaS said `nextRun`
    /// before the request, otherwise those created since `since` (allowing for skew
    /// between the clocks).
    pub async fn find_runs(
        &self,
        pipeline: &PipelineRef,
        branch: &str,
        next_run: Option<u64>,
        since: SystemTime,
    ) -> Result<Vec<Execution>, PaasError> {
        let earliest = since.checked_sub(CLOCK_SKEW).unwrap_or(since);
        let mut found: Vec<Execution> = self
            .list_executions(pipeline)
            .await?
            .into_iter()
            .filter(|e| e.branch.as_deref() == Some(branch))
            .filter(|e| match next_run {
                Some(n) => e.run >= n,
                None => e.created.is_some_and(|c| c >= earliest),
            })
            .collect();
        found.sort_by_key(|e| e.run);
        Ok(found)
    }

    pub async fn get_execution(&self, execution: &ExecutionRef) -> Result<Execution, PaasError> {
        let url = self.execution_url(execution);
        self.read_json(
            Operation::GetExecution,
            &url,
            "pipeline execution",
            Execution::decode,
        )
        .await
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
            let page = self
                .read_json(Operation::ListExecutions, &url, "collection", Page::decode)
                .await?;
            // Items that do not decode (another pipeline's oddity) are skipped, not fatal.
            executions.extend(page.data.iter().filter_map(|v| Execution::decode(v).ok()));
            match page.next {
                Some(next) => url = self.on_base(&next)?,
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
                |_| Ok(()),
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
        let url = self.app_url(app);
        self.read_json(Operation::GetApp, &url, "app", App::decode)
            .await
    }

    /// Upgrades the app to `version_tag` with the in-house `upgradeoutter` action and
    /// returns the app as the answer shows it, when the answer is one. A 409 Conflict
    /// (a controller wrote the app at the same moment, applying nothing) is answered
    /// by reading the app again and resending. `before` is the app as read just
    /// before; after an ambiguous failure the app is read again, and the upgrade counts
    /// as sent if the app reports the tag or moved since `before`. It is never sent a
    /// second time otherwise.
    pub async fn upgrade_app(
        &self,
        app: &AppRef,
        version_tag: &str,
        before: &App,
    ) -> Result<Option<App>, PaasError> {
        let url = format!("{}?action=upgradeoutter", self.app_url(app));
        let body = json!({ "versionTag": version_tag });
        let mut conflicts = 0;
        loop {
            match self
                .send_change(Operation::UpgradeApp, &url, Some(&body), None)
                .await
            {
                Ok(answer) => {
                    let shown = serde_json::from_slice::<Value>(&answer)
                        .ok()
                        .and_then(|v| App::decode(&v).ok());
                    return Ok(shown);
                }
                Err(SendFailure::NotSent(PaasError::Invalid { status: 409, .. }))
                    if conflicts < 3 =>
                {
                    conflicts += 1;
                    tracing::info!(app = %app, "upgrade conflicted with a controller write; reading the app and resending");
                    self.get_app(app).await?;
                }
                Err(SendFailure::NotSent(e)) => return Err(e),
                Err(SendFailure::Ambiguous(e)) => {
                    tracing::warn!(app = %app, error = %e, "upgrade request ambiguous; reading the app");
                    return self.confirm_upgrade(app, version_tag, before).await;
                }
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
        self.next_run(pipeline).await.map(|_| ())
    }

    /// The app's deploy log lines, redacted, or `None` when the PaaS has none (404).
    pub async fn deploy_logs(&self, app: &AppRef) -> Result<Option<Vec<String>>, PaasError> {
        match self
            .read(Operation::DeployLogs, &self.logs_url(app), "deploy log")
            .await
        {
            Ok(body) => Ok(Some(crate::redact::lines(&model::decode_logs(&body)))),
            Err(PaasError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Checks a PaaS base URL: http or https, with a host, nothing after the path.
pub fn parse_base_url(s: &str) -> Result<Url, UrlError> {
    let shown = || crate::location::shown(s);
    let url = Url::parse(s.trim()).map_err(|e| UrlError::NotAUrl {
        reason: e.to_string(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::NotHttp { url: shown() });
    }
    if url.host_str().is_none() {
        return Err(UrlError::NoHost { url: shown() });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UrlError::QueryOrFragment { url: shown() });
    }
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// Refuses a plain `http://` URL unless its host is this machine's loopback or
/// `allowed` says so: the token every request carries can deploy anything.
pub fn require_tls(url: &Url, allowed: bool) -> Result<(), UrlError> {
    if url.scheme() != "http" || allowed || is_loopback(url) {
        return Ok(());
    }
    Err(UrlError::PlainHttp {
        url: crate::location::shown(url.as_str().trim_end_matches('/')),
    })
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests;
