//! What the simulator serves: pipelines, apps and faults, set from a file (TOML or
//! JSON) or the admin endpoint, and the demo catalogue served when none is given.

use serde::{Deserialize, Serialize};

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
    #[serde(default)]
    pub faults: Faults,
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
/// an upgrade (`paas-api.md`, "Apps" and "Rollout timing").
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AppFlavour {
    /// The in-house PaaS as the simulator has always served it: every field,
    /// including the in-house `versionTag`; the status follows the upgrade action at
    /// once (installing, deploying, active); the action answers the app as it is
    /// right after it (new tag, `installing`).
    #[default]
    InHouse,
    /// The PaaS the design document promises: `id`, `type`, `baseType`, `name`,
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
    /// Reads a scenario from TOML (`.toml`) or JSON (anything else).
    pub fn from_file(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the scenario {}: {e}", path.display()))?;
        let scenario: Scenario = if path.extension().is_some_and(|e| e == "toml") {
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        } else {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        };
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks what serde cannot: ids, durations, rates.
    pub fn validate(&self) -> Result<(), String> {
        use crate::paas::{AppId, ClusterId, PipelineId, ProjectId};
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err("speed must be a positive number".into());
        }
        if !(self.subscribe_max_seconds.is_finite() && self.subscribe_max_seconds > 0.0) {
            return Err("subscribe_max_seconds must be a positive number".into());
        }
        if self.page_size == 0 {
            return Err("page_size must be at least 1".into());
        }
        if let Some(url) = &self.next_base_url
            && !is_base_url(url)
        {
            return Err(format!(
                "next_base_url must be http(s)://host[:port] without a path ({url:?})"
            ));
        }
        self.faults.validate("faults")?;
        for p in &self.pipelines {
            let at = format!("pipeline {}", p.pipeline);
            ClusterId::parse(&p.cluster).map_err(|e| format!("{at}: {e}"))?;
            ProjectId::parse(&p.project).map_err(|e| format!("{at}: {e}"))?;
            PipelineId::parse(&p.pipeline).map_err(|e| format!("{at}: {e}"))?;
            let all = p.stages.iter().map(|s| s.seconds).chain([
                p.clone_seconds,
                p.provision_seconds,
                p.fields_delay_seconds,
                p.run_delay_seconds,
            ]);
            if all.clone().any(|s| !(s.is_finite() && s >= 0.0)) {
                return Err(format!(
                    "{at}: stage durations and delays must be zero or more seconds"
                ));
            }
            if let Some(f) = &p.fail_at
                && f != "Clone"
                && !p.stages.iter().any(|s| &s.name == f)
            {
                return Err(format!("{at}: fail_at names no stage ({f:?})"));
            }
            if p.unknown_state
                .as_ref()
                .is_some_and(|s| s.trim().is_empty())
            {
                return Err(format!("{at}: unknown_state must not be empty"));
            }
            p.faults.validate(&at)?;
        }
        for a in &self.apps {
            let at = format!("app {}", a.app);
            ClusterId::parse(&a.cluster).map_err(|e| format!("{at}: {e}"))?;
            ProjectId::parse(&a.project).map_err(|e| format!("{at}: {e}"))?;
            AppId::parse(&a.app).map_err(|e| format!("{at}: {e}"))?;
            for (name, s) in [
                ("install_seconds", a.install_seconds),
                ("rollout_seconds", a.rollout_seconds),
                ("pickup_seconds", a.pickup_seconds),
                ("blip_seconds", a.blip_seconds),
            ] {
                if !(s.is_finite() && s >= 0.0) {
                    return Err(format!("{at}: {name} must be zero or more seconds"));
                }
            }
            a.faults.validate(&at)?;
        }
        Ok(())
    }

    /// The demo catalogue: three projects and their apps, matching the bot's built-in
    /// demo configuration (`config::DEMO_CONFIG`). Stage durations are realistic; the
    /// demo runs the clock faster.
    pub fn demo() -> Self {
        let pipeline =
            |project: &str, pipeline: &str, image: &str, stages: &[(&str, f64, bool)]| {
                PipelineScenario {
                    cluster: "c-64wdm".into(),
                    project: project.into(),
                    pipeline: pipeline.into(),
                    image: Some(format!("harbor.example.com/team/{image}")),
                    stages: stages
                        .iter()
                        .map(|(name, seconds, chart)| StageSpec {
                            name: (*name).into(),
                            seconds: *seconds,
                            chart: *chart,
                        })
                        .collect(),
                    clone_seconds: 4.0,
                    provision_seconds: 3.0,
                    fail_at: None,
                    branches: Vec::new(),
                    version_tags: true,
                    faults: Faults::default(),
                    ..PipelineScenario::default()
                }
            };
        let app = |project: &str, app: &str, tag: &str| AppScenario {
            cluster: "c-64wdm".into(),
            project: project.into(),
            app: app.into(),
            current_tag: Some(tag.into()),
            install_seconds: 6.0,
            rollout_seconds: 14.0,
            fail: None,
            logs: LogShape::Text,
            log_lines: None,
            faults: Faults::default(),
            ..AppScenario::default()
        };
        Scenario {
            speed: 1.0,
            seed: 0,
            page_size: 1000,
            next_base_url: None,
            pipelines: vec![
                pipeline(
                    "p-5tfq9",
                    "p-tpk2x",
                    "web",
                    &[
                        ("Build", 51.0, false),
                        ("Publish Image", 22.0, false),
                        ("Chart", 6.0, true),
                    ],
                ),
                pipeline(
                    "p-5tfq9",
                    "p-8kd2m",
                    "api",
                    &[
                        ("Test", 40.0, false),
                        ("Build", 35.0, false),
                        ("Publish Image", 18.0, false),
                    ],
                ),
                pipeline(
                    "p-7hw3c",
                    "p-w0rk1",
                    "worker",
                    &[("Build", 30.0, false), ("Publish Image", 15.0, false)],
                ),
            ],
            apps: vec![
                app("p-5tfq9", "project-deploy", "master-56-9ae1b20"),
                app("p-5tfq9", "api-deploy", "master-12-51c0d3e"),
                app("p-7hw3c", "worker-deploy", "master-7-0b8e4f1"),
            ],
            faults: Faults::default(),
            subscribe: true,
            subscribe_max_seconds: 1800.0,
        }
    }
}

/// `http(s)://host[:port]`, a trailing `/` allowed: nothing that would change the
/// path or query of the links built on it.
fn is_base_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    !host.is_empty()
        && !host
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '@') || c.is_whitespace())
}

impl Faults {
    fn validate(&self, at: &str) -> Result<(), String> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("html_502_rate", self.html_502_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("truncated_rate", self.truncated_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{at}: {name} must be between 0 and 1"));
            }
        }
        if let Some(s) = self.retry_after_seconds
            && !(s.is_finite() && s >= 0.0)
        {
            return Err(format!("{at}: retry_after_seconds must be zero or more"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_catalogue_is_valid() {
        Scenario::demo().validate().unwrap();
    }

    #[test]
    fn scenarios_read_from_toml() {
        let s: Scenario = toml::from_str(
            r#"
            speed = 60.0
            [[pipelines]]
            cluster = "c-1"
            project = "p-1"
            pipeline = "p-2"
            fail_at = "Build"
            stages = [{ name = "Build", seconds = 30 }]
            faults = { html_502_rate = 0.5 }
            [[apps]]
            cluster = "c-1"
            project = "p-1"
            app = "web"
            logs = "json-array"
            "#,
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.apps[0].logs, LogShape::JsonArray);
        assert_eq!(s.pipelines[0].faults.html_502_rate, 0.5);
    }

    #[test]
    fn defaults_are_those_of_a_file_that_leaves_fields_out() {
        let app: AppScenario =
            toml::from_str("cluster = \"c-1\"\nproject = \"p-1\"\napp = \"web\"").unwrap();
        let want = AppScenario {
            cluster: "c-1".into(),
            project: "p-1".into(),
            app: "web".into(),
            ..AppScenario::default()
        };
        assert_eq!(app, want);
        let pipeline: PipelineScenario =
            toml::from_str("cluster = \"c-1\"\nproject = \"p-1\"\npipeline = \"p-2\"\nstages = []")
                .unwrap();
        let want = PipelineScenario {
            cluster: "c-1".into(),
            project: "p-1".into(),
            pipeline: "p-2".into(),
            ..PipelineScenario::default()
        };
        assert_eq!(pipeline, want);
    }

    #[test]
    fn flavours_and_their_knobs_read_from_toml() {
        let s: Scenario = toml::from_str(
            r#"
            next_base_url = "https://rancher.internal:8443"
            [[pipelines]]
            cluster = "c-1"
            project = "p-1"
            pipeline = "p-2"
            stages = [{ name = "Build", seconds = 30 }]
            unknown_state = "Running"
            fields_delay_seconds = 4
            run_fails_after_create = true
            run_delay_seconds = 2.5
            [[apps]]
            cluster = "c-1"
            project = "p-1"
            app = "web"
            flavour = "stock"
            pickup_seconds = 5
            blip_seconds = 0.5
            failed_before = "Error: UPGRADE FAILED: boom"
            offers_upgradeoutter = false
            logs = "json-unknown-key"
            logs_grow = true
            "#,
        )
        .unwrap();
        s.validate().unwrap();
        let app = &s.apps[0];
        assert_eq!(app.flavour, AppFlavour::Stock);
        assert_eq!((app.pickup_seconds, app.blip_seconds), (5.0, 0.5));
        assert!(!app.offers_upgradeoutter && app.logs_grow);
        assert_eq!(app.logs, LogShape::JsonUnknownKey);
        let pipeline = &s.pipelines[0];
        assert_eq!(pipeline.unknown_state.as_deref(), Some("Running"));
        assert!(pipeline.run_fails_after_create);
        assert_eq!(
            s.next_base_url.as_deref(),
            Some("https://rancher.internal:8443")
        );
        for flavour in AppFlavour::ALL {
            let parsed: AppFlavour =
                serde_json::from_value(serde_json::json!(flavour.name())).unwrap();
            assert_eq!(parsed, flavour);
        }
    }

    #[test]
    fn bad_knobs_are_refused() {
        let app = |change: fn(&mut AppScenario)| {
            let mut s = Scenario::demo();
            change(&mut s.apps[0]);
            s.validate()
        };
        assert!(app(|a| a.pickup_seconds = -1.0).is_err());
        assert!(app(|a| a.blip_seconds = f64::NAN).is_err());
        let pipeline = |change: fn(&mut PipelineScenario)| {
            let mut s = Scenario::demo();
            change(&mut s.pipelines[0]);
            s.validate()
        };
        assert!(pipeline(|p| p.run_delay_seconds = f64::INFINITY).is_err());
        assert!(pipeline(|p| p.fields_delay_seconds = -0.5).is_err());
        assert!(pipeline(|p| p.unknown_state = Some(" ".into())).is_err());
        for url in [
            "rancher.internal",
            "https://",
            "https://r.example/v3?x=1",
            "ftp://r",
        ] {
            let s = Scenario {
                next_base_url: Some(url.into()),
                ..Scenario::demo()
            };
            assert!(s.validate().is_err(), "{url}");
        }
    }

    #[test]
    fn bad_scenarios_are_refused() {
        let mut s = Scenario::demo();
        s.pipelines[0].fail_at = Some("Nope".into());
        assert!(s.validate().is_err());
        let mut s = Scenario::demo();
        s.faults.error_rate = 2.0;
        assert!(s.validate().is_err());
        assert!(toml::from_str::<Scenario>("spede = 2").is_err());
    }
}
