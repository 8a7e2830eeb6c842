//! What the simulator serves: pipelines, apps and faults, set from a file (TOML or
//! JSON) or the admin endpoint, and the demo catalogue served when none is given
//! (`demo.rs`). What serde cannot check is checked in `validate.rs`.

mod demo;
#[cfg(test)]
mod tests;
mod validate;

use serde::{Deserialize, Serialize};

/// Why a scenario is refused; `Display` says which file or setting and what is wrong,
/// for the operator starting the simulator or the test calling its admin API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read the scenario {path}: {detail}")]
    Unreadable { path: String, detail: String },
    /// Not TOML or JSON, or not the shape of a scenario.
    #[error("{path}: {detail}")]
    Malformed { path: String, detail: String },
    /// A value serde accepts that the simulator cannot serve; `at` names the pipeline,
    /// app or set of faults it belongs to, when it belongs to one.
    #[error("{}{problem}", place(.at))]
    Invalid { at: Option<String>, problem: String },
}

fn place(at: &Option<String>) -> String {
    at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default()
}

/// Everything the simulator serves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// How much faster than real time the simulator's clock runs (1 = real time).
    #[serde(default = "one")]
    pub speed: f64,
    /// Seed for the random faults, so a run can be repeated.
    #[serde(default)]
    pub seed: u64,
    /// Page size of execution listings (Rancher's default is 1000).
    #[serde(default = "page_size")]
    pub page_size: usize,
    /// The base (`https://rancher.internal:8443`) of the `pagination.next` links in
    /// listings, instead of the simulator's own address: Rancher behind a proxy
    /// reports its internal URL. The path and query stay right, so a client that
    /// follows them on its own base URL still gets the next page.
    #[serde(default)]
    pub next_base_url: Option<String>,
    #[serde(default)]
    pub pipelines: Vec<PipelineScenario>,
    #[serde(default)]
    pub apps: Vec<AppScenario>,
    /// Faults applied to every request.
    #[serde(default)]
    pub faults: Faults,
    /// Whether the subscribe WebSocket is served (a PaaS without it answers 404).
    #[serde(default = "yes")]
    pub subscribe: bool,
    /// Simulated seconds after which the PaaS drops a subscribe connection (Rancher:
    /// about 30 minutes).
    #[serde(default = "subscribe_max_seconds")]
    pub subscribe_max_seconds: f64,
}

fn subscribe_max_seconds() -> f64 {
    1800.0
}

fn one() -> f64 {
    1.0
}
fn page_size() -> usize {
    1000
}
fn clone_seconds() -> f64 {
    4.0
}
fn provision_seconds() -> f64 {
    3.0
}
fn install_seconds() -> f64 {
    5.0
}
fn rollout_seconds() -> f64 {
    10.0
}
fn pickup_seconds() -> f64 {
    3.0
}
fn blip_seconds() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            speed: 1.0,
            seed: 0,
            page_size: 1000,
            next_base_url: None,
            pipelines: Vec::new(),
            apps: Vec::new(),
            faults: Faults::default(),
            subscribe: true,
            subscribe_max_seconds: 1800.0,
        }
    }
}

/// One pipeline and how its runs go.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PipelineScenario {
    pub cluster: String,
    pub project: String,
    pub pipeline: String,
    /// The image repository the build publishes, e.g. `harbor.example.com/team/web`.
    #[serde(default)]
    pub image: Option<String>,
    /// The configured stages. Rancher prepends a `Clone` stage of `clone_seconds`.
    pub stages: Vec<StageSpec>,
    #[serde(default = "clone_seconds")]
    pub clone_seconds: f64,
    /// Time from the run request to the first stage (Initialized → Provisioned).
    #[serde(default = "provision_seconds")]
    pub provision_seconds: f64,
    /// The stage that fails, by name.
    #[serde(default)]
    pub fail_at: Option<String>,
    /// Branches that have a pipeline file; others get Rancher's 500. Empty: all.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Whether successful runs carry the in-house `dockerImage` and `versionTag`
    /// (false: behave like a stock Rancher).
    #[serde(default = "yes")]
    pub version_tags: bool,
    /// Simulated seconds after the run reached `Success` before `dockerImage` and
    /// `versionTag` appear (the in-house PaaS fills them in later).
    #[serde(default)]
    pub fields_delay_seconds: f64,
    /// While stages run, `executionState` shows this instead of `Building` (an
    /// in-house PaaS still changing); conditions and stages are as usual.
    #[serde(default)]
    pub unknown_state: Option<String>,
    /// `run` creates the execution, then answers norman's 500 `ServerError` "… already
    /// exists", as Rancher does when reading it back fails or two runs race for the
    /// same `nextRun`.
    #[serde(default)]
    pub run_fails_after_create: bool,
    /// Simulated seconds the `run` answer is held back (a slow git provider); the
    /// execution exists, and runs, from the moment the request arrived.
    #[serde(default)]
    pub run_delay_seconds: f64,
    /// The commits runs build, in turn: run N builds the (N-1)th, modulo their
    /// number. Empty: a built-in set with multi-line messages, markdown and an
    /// `@everyone`, as people write them.
    #[serde(default)]
    pub commits: Vec<CommitSpec>,
    #[serde(default)]
    pub faults: Faults,
}

/// The commit a run builds, as the git provider tells Rancher.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CommitSpec {
    pub message: String,
    pub author: String,
    /// The author's e-mail; some git providers leave it out.
    #[serde(default)]
    pub email: Option<String>,
}

impl CommitSpec {
    fn new(message: &str, author: &str, email: Option<&str>) -> Self {
        CommitSpec {
            message: message.into(),
            author: author.into(),
            email: email.map(str::to_string),
        }
    }

    /// What runs build when the scenario names no commits: what people write, pings,
    /// markdown and unbalanced code fences included.
    pub fn defaults() -> Vec<CommitSpec> {
        vec![
            CommitSpec::new(
                "Fix the login redirect loop\n\nThe session cookie was set on the wrong path.",
                "Alice Example",
                Some("alice@example.com"),
            ),
            CommitSpec::new(
                "**Speed up** `search` with an index <@&123456789012345678>",
                "Bob Builder",
                Some("bob@example.com"),
            ),
            CommitSpec::new(
                "@everyone hotfix: retry payments on 502\n\nSee the incident notes.",
                "Carol <@111111111111111111>",
                None,
            ),
            CommitSpec::new(
                "```rust broken fence in a subject [click](https://evil.example.com)",
                "Dave_the_dev",
                Some("dave@example.com"),
            ),
        ]
    }
}

impl Default for PipelineScenario {
    /// Every optional field at its default, as a scenario file that leaves it out;
    /// the ids are empty and must be set (validation says so otherwise).
    fn default() -> Self {
        PipelineScenario {
            cluster: String::new(),
            project: String::new(),
            pipeline: String::new(),
            image: None,
            stages: Vec::new(),
            clone_seconds: clone_seconds(),
            provision_seconds: provision_seconds(),
            fail_at: None,
            branches: Vec::new(),
            version_tags: true,
            fields_delay_seconds: 0.0,
            unknown_state: None,
            run_fails_after_create: false,
            run_delay_seconds: 0.0,
            commits: Vec::new(),
            faults: Faults::default(),
        }
    }
}

/// One stage of a pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    pub name: String,
    pub seconds: f64,
    /// The stage packages a Helm chart and reports its version in its output.
    #[serde(default)]
    pub chart: bool,
}

/// One app and how its upgrades go.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppScenario {
    pub cluster: String,
    pub project: String,
    pub app: String,
    /// The version deployed before any upgrade.
    #[serde(default)]
    pub current_tag: Option<String>,
    /// Which PaaS the app behaves like: `in-house` (the default), `conditions-only`
    /// or `stock` (see [`AppFlavour`]).
    #[serde(default)]
    pub flavour: AppFlavour,
    /// Time in `installing` (helm upgrade). For `stock`, also the period of the
    /// controller's retries after a helm error.
    #[serde(default = "install_seconds")]
    pub install_seconds: f64,
    /// Time in `deploying` (workloads rolling).
    #[serde(default = "rollout_seconds")]
    pub rollout_seconds: f64,
    /// `stock` only: time after the upgrade action before the helm controller picks
    /// the change up. Meanwhile the app shows the new answers with the OLD status.
    #[serde(default = "pickup_seconds")]
    pub pickup_seconds: f64,
    /// `stock` only: time after helm ran during which the app shows `active` with a
    /// `Deployed` computed before the workloads changed, before `deploying` starts.
    #[serde(default = "blip_seconds")]
    pub blip_seconds: f64,
    /// A helm error: the upgrade fails with this message after `install_seconds`.
    #[serde(default)]
    pub fail: Option<String>,
    /// The app starts out failed by a deploy before the simulator's time: `Installed`
    /// False with this helm error, until an upgrade through the simulator.
    #[serde(default)]
    pub failed_before: Option<String>,
    #[serde(default)]
    pub logs: LogShape,
    /// The log lines served (default: a plausible start-up log).
    #[serde(default)]
    pub log_lines: Option<Vec<String>>,
    /// Whether the default log lines appear over time: the new pods' lines are
    /// stamped 0, 0, 1, 3 and 3 s after the rollout was done, and each is served only
    /// once simulated time has reached its stamp (`log_lines` are served at once).
    #[serde(default)]
    pub logs_grow: bool,
    #[serde(default)]
    pub faults: Faults,
    /// Whether the app offers the in-house `upgradeoutter` action (default true).
    /// Without it, `upgradeoutter` is missing from the app's `actions` and answered
    /// with norman's 422 `InvalidAction`, as on a PaaS without the extension.
    #[serde(default = "yes")]
    pub offers_upgradeoutter: bool,
}

impl Default for AppScenario {
    /// Every optional field at its default, as a scenario file that leaves it out;
    /// the ids are empty and must be set (validation says so otherwise).
    fn default() -> Self {
        AppScenario {
            cluster: String::new(),
            project: String::new(),
            app: String::new(),
            current_tag: None,
            flavour: AppFlavour::default(),
            install_seconds: install_seconds(),
            rollout_seconds: rollout_seconds(),
            pickup_seconds: pickup_seconds(),
            blip_seconds: blip_seconds(),
            fail: None,
            failed_before: None,
            logs: LogShape::default(),
            log_lines: None,
            logs_grow: false,
            faults: Faults::default(),
            offers_upgradeoutter: true,
        }
    }
}

impl AppScenario {
    /// The same app behaving like another PaaS.
    pub fn with_flavour(mut self, flavour: AppFlavour) -> Self {
        self.flavour = flavour;
        self
    }

    /// The same app, failed by a deploy before the simulator's time with this helm
    /// error.
    pub fn with_failed_before(mut self, message: &str) -> Self {
        self.failed_before = Some(message.to_string());
        self
    }
}

/// Which PaaS an app behaves like: what its JSON holds, and when its status follows
/// an upgrade (`docs/paas.md#flavours`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AppFlavour {
    /// The in-house PaaS as the simulator has always served it: every field,
    /// including the in-house `versionTag`; the status follows the upgrade action at
    /// once (installing, deploying, active); the action answers the app as it is
    /// right after it (new tag, `installing`).
    #[default]
    InHouse,
    /// A PaaS that promises only `id`, `type`, `baseType`, `name`,
    /// `links`, `actions`, `state` and `conditions` (each only `type`, `status` and,
    /// where relevant, `reason`/`message`), nothing else: no timestamps, revision,
    /// answers or tag. Same timing as `in-house`; the action answers the app as it
    /// was before it.
    ConditionsOnly,
    /// Stock Rancher 2.5: the action only rewrites the answers, so for
    /// `pickup_seconds` the app shows the new tag with the OLD status; then
    /// `installing`; then helm has run (new `appRevisionId`) and the app shows
    /// `active` for `blip_seconds` before the workloads start rolling (`deploying`),
    /// then `active` for real. No top-level `versionTag`. A helm error is retried by
    /// the controller: `Installed` flips False ↔ Unknown every `install_seconds`. The
    /// action answers the app as it is right after it (new answers, old status).
    Stock,
}

impl AppFlavour {
    pub const ALL: [AppFlavour; 3] = [
        AppFlavour::InHouse,
        AppFlavour::ConditionsOnly,
        AppFlavour::Stock,
    ];

    /// The name a scenario file uses.
    pub fn name(self) -> &'static str {
        match self {
            AppFlavour::InHouse => "in-house",
            AppFlavour::ConditionsOnly => "conditions-only",
            AppFlavour::Stock => "stock",
        }
    }
}

/// The shape in which deploy logs are served.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LogShape {
    /// `text/plain`, one line per line.
    #[default]
    Text,
    /// A JSON string holding the lines.
    JsonString,
    /// A JSON array of lines.
    JsonArray,
    /// `{"data": [lines]}`.
    JsonObject,
    /// `{"podLogs": [lines]}`: an object under none of the keys the bot knows, so it
    /// must fall back to the raw body.
    JsonUnknownKey,
    /// 404: the endpoint does not exist.
    Missing,
}

/// Random faults, each a probability per request (0 to 1).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// A norman 500/503 error before anything is done.
    #[serde(default)]
    pub error_rate: f64,
    /// An HTML 502 page from an "ingress". For actions, after the action was done.
    #[serde(default)]
    pub html_502_rate: f64,
    /// 429 with `Retry-After`, before anything is done.
    #[serde(default)]
    pub rate_limit_rate: f64,
    #[serde(default)]
    pub retry_after_seconds: Option<f64>,
    /// JSON cut off half way (status 200).
    #[serde(default)]
    pub truncated_rate: f64,
    /// Every response is delayed this long (simulated time does not apply: this is
    /// tokio time, so it is instant in a paused test).
    #[serde(default)]
    pub slow_ms: u64,
}

impl Faults {
    pub fn is_empty(&self) -> bool {
        *self == Faults::default()
    }

    /// The two sets together: rates add up, delays take the larger.
    pub fn merged(&self, other: &Faults) -> Faults {
        Faults {
            error_rate: self.error_rate + other.error_rate,
            html_502_rate: self.html_502_rate + other.html_502_rate,
            rate_limit_rate: self.rate_limit_rate + other.rate_limit_rate,
            retry_after_seconds: self.retry_after_seconds.or(other.retry_after_seconds),
            truncated_rate: self.truncated_rate + other.truncated_rate,
            slow_ms: self.slow_ms.max(other.slow_ms),
        }
    }
}

impl Scenario {
    /// The same scenario with every app behaving like another PaaS:
    /// `Scenario::demo().with_app_flavour(AppFlavour::Stock)`.
    pub fn with_app_flavour(mut self, flavour: AppFlavour) -> Self {
        for app in &mut self.apps {
            app.flavour = flavour;
        }
        self
    }

    /// An app by its name (`project-deploy`), to change it in place.
    pub fn app_mut(&mut self, app: &str) -> Option<&mut AppScenario> {
        self.apps.iter_mut().find(|a| a.app == app)
    }

    /// A pipeline by its name (`p-tpk2x`), to change it in place.
    pub fn pipeline_mut(&mut self, pipeline: &str) -> Option<&mut PipelineScenario> {
        self.pipelines.iter_mut().find(|p| p.pipeline == pipeline)
    }

    /// Reads a scenario from TOML (`.toml`) or JSON (anything else).
    pub fn from_file(path: &std::path::Path) -> Result<Self, ScenarioError> {
        let shown = || path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Unreadable {
            path: shown(),
            detail: e.to_string(),
        })?;
        let malformed = |e: &dyn std::fmt::Display| ScenarioError::Malformed {
            path: shown(),
            detail: e.to_string(),
        };
        let scenario: Scenario = if path.extension().is_some_and(|e| e == "toml") {
            toml::from_str(&text).map_err(|e| malformed(&e))?
        } else {
            serde_json::from_str(&text).map_err(|e| malformed(&e))?
        };
        scenario.validate()?;
        Ok(scenario)
    }
}
