//! Configuration: secrets from the environment (and `.env`), everything else from a
//! TOML file. A bad file is refused before anything connects anywhere, with a message
//! that names the key and the problem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::names::{AppName, Branch, ProjectName};
use crate::paas::{AppId, AppRef, ClusterId, PipelineId, PipelineRef, ProjectId, ProjectRef};
use crate::secret::Secret;

/// The demo configuration, used when there is no configuration file and no PaaS URL:
/// it matches the simulator's demo catalogue. It is also `releasebot.example.toml`.
pub const DEMO_CONFIG: &str = include_str!("../releasebot.example.toml");

/// A configuration problem, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn at(key: &str, problem: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("{key}: {problem}"))
}

/// Roles allowed to run each command; `None` means everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRoles {
    pub build: Option<Vec<String>>,
    pub deploy: Option<Vec<String>>,
    pub release: Option<Vec<String>>,
    pub cancel: Option<Vec<String>>,
}

impl AccessRoles {
    /// `self` where set, otherwise `fallback`.
    pub fn or(&self, fallback: &AccessRoles) -> AccessRoles {
        AccessRoles {
            build: self.build.clone().or_else(|| fallback.build.clone()),
            deploy: self.deploy.clone().or_else(|| fallback.deploy.clone()),
            release: self.release.clone().or_else(|| fallback.release.clone()),
            cancel: self.cancel.clone().or_else(|| fallback.cancel.clone()),
        }
    }
}

pub use crate::job::ApprovalPolicy;

/// A project people build and release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub name: ProjectName,
    pub pipeline: PipelineRef,
    /// The branch built when none is named.
    pub branch: Branch,
    /// The app `/release` deploys.
    pub deploys: Option<AppName>,
    pub access: AccessRoles,
    /// Channel ids it may be used from; empty means any.
    pub channels: Vec<String>,
}

/// An app people deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub name: AppName,
    pub app: AppRef,
    pub policy: ApprovalPolicy,
    pub access: AccessRoles,
    pub channels: Vec<String>,
}

/// Settings of the jobs themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettings {
    /// How often a PaaS object is polled.
    pub poll_interval: Duration,
    /// Polling interval while the subscribe WebSocket reports changes.
    pub push_poll_interval: Duration,
    /// Longest a build may take.
    pub build_timeout: Duration,
    /// Longest a deploy may take (from the upgrade to active).
    pub deploy_timeout: Duration,
    /// At most one edit per message per this window.
    pub edit_window: Duration,
    /// Deploy log lines shown.
    pub log_lines: usize,
    /// How long a new rollout must keep reading `active` before it counts as done.
    pub settle: Duration,
    /// How long an accepted upgrade may show no sign of being taken up.
    pub pickup: Duration,
    /// How long a succeeded build's `versionTag` is waited for.
    pub tag_wait: Duration,
    /// How long deploy logs keep being read after a rollout.
    pub logs_window: Duration,
}

impl JobSettings {
    /// The limits and windows each job keeps to.
    pub fn job(&self) -> crate::job::Settings {
        crate::job::Settings {
            build_timeout: self.build_timeout,
            deploy_timeout: self.deploy_timeout,
            tag_wait: self.tag_wait,
            settle: self.settle,
            pickup: self.pickup,
            logs_window: self.logs_window,
            // Logs grow for seconds after a rollout: read them at least every 5 s.
            logs_every: self.poll_interval.min(Duration::from_secs(5)),
        }
    }
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            poll_interval: Duration::from_secs(5),
            push_poll_interval: Duration::from_secs(60),
            build_timeout: Duration::from_secs(60 * 60),
            deploy_timeout: Duration::from_secs(30 * 60),
            edit_window: Duration::from_secs(1),
            log_lines: 10,
            settle: Duration::from_secs(10),
            pickup: Duration::from_secs(120),
            tag_wait: Duration::from_secs(60),
            logs_window: Duration::from_secs(30),
        }
    }
}

/// The PaaS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaasSettings {
    /// `None`: run against the built-in simulator.
    pub url: Option<String>,
    /// Learn of changes from Rancher's subscribe WebSocket (polling stays the safety net).
    pub subscribe: bool,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub paas: PaasSettings,
    pub jobs: JobSettings,
    pub projects: BTreeMap<ProjectName, Project>,
    pub apps: BTreeMap<AppName, App>,
    pub access: AccessRoles,
    /// Roles that may cancel any job.
    pub admins: Vec<String>,
    /// Roles of terminal users.
    pub shell_users: BTreeMap<String, Vec<String>>,
    /// The built-in simulator's clock speed.
    pub sim_speed: f64,
    /// Where the configuration came from, for messages.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    paas: RawPaas,
    #[serde(default)]
    jobs: RawJobs,
    #[serde(default)]
    projects: BTreeMap<String, RawProject>,
    #[serde(default)]
    apps: BTreeMap<String, RawApp>,
    #[serde(default)]
    access: RawAccess,
    #[serde(default)]
    shell: RawShell,
    #[serde(default)]
    sim: RawSim,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPaas {
    url: Option<String>,
    subscribe: Option<bool>,
    poll_interval: Option<String>,
    push_poll_interval: Option<String>,
    connect_timeout: Option<String>,
    request_timeout: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawJobs {
    build_timeout: Option<String>,
    deploy_timeout: Option<String>,
    edit_window: Option<String>,
    log_lines: Option<usize>,
    settle: Option<String>,
    pickup: Option<String>,
    tag_wait: Option<String>,
    logs_window: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    cluster: String,
    project: String,
    pipeline: String,
    #[serde(default = "master")]
    branch: String,
    deploys: Option<String>,
    build: Option<Vec<String>>,
    release: Option<Vec<String>>,
    cancel: Option<Vec<String>>,
    #[serde(default)]
    channels: Vec<String>,
}

fn master() -> String {
    "master".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    cluster: String,
    project: String,
    app: String,
    #[serde(default)]
    approvers: Vec<String>,
    votes: Option<i64>,
    approval_timeout: Option<String>,
    #[serde(default)]
    allow_self_approval: bool,
    deploy: Option<Vec<String>>,
    cancel: Option<Vec<String>>,
    #[serde(default)]
    channels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    build: Option<Vec<String>>,
    deploy: Option<Vec<String>>,
    release: Option<Vec<String>>,
    cancel: Option<Vec<String>>,
    #[serde(default = "admin")]
    admin: Vec<String>,
}

fn admin() -> Vec<String> {
    vec!["admin".into()]
}

impl Default for RawAccess {
    fn default() -> Self {
        RawAccess {
            build: None,
            deploy: None,
            release: None,
            cancel: None,
            admin: admin(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawShell {
    #[serde(default)]
    users: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSim {
    speed: Option<f64>,
}

/// Parses a humantime duration ("200ms", "5s", "1m") for `key`.
fn duration(
    key: &str,
    value: Option<&str>,
    default: Duration,
    min: Duration,
) -> Result<Duration, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    let d = humantime::parse_duration(value.trim()).map_err(|e| {
        at(
            key,
            format!("{value:?} is not a duration like \"5s\" or \"1m\" ({e})"),
        )
    })?;
    if d < min {
        return Err(at(
            key,
            format!(
                "{value:?} is too short (at least {})",
                humantime::format_duration(min)
            ),
        ));
    }
    if d > Duration::from_secs(7 * 24 * 3600) {
        return Err(at(key, format!("{value:?} is too long (at most 7 days)")));
    }
    Ok(d)
}

fn roles(key: &str, list: Option<Vec<String>>) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(list) = list else { return Ok(None) };
    for r in &list {
        if r.trim().is_empty() || r.len() > 100 || r.chars().any(char::is_control) {
            return Err(at(key, format!("{r:?} is not a role name")));
        }
    }
    Ok(Some(list))
}

fn channels(key: &str, list: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for c in &list {
        if c.is_empty()
            || c.len() > 100
            || c.chars().any(|ch| ch.is_control() || ch.is_whitespace())
        {
            return Err(at(key, format!("{c:?} is not a channel id")));
        }
    }
    Ok(list)
}

impl Config {
    /// Parses and validates a configuration file's text.
    pub fn parse(text: &str, source: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            let place = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            ConfigError(format!("{source}{place}: {message}"))
        })?;
        Self::from_raw(raw, source).map_err(|e| ConfigError(format!("{source}: {}", e.0)))
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!(
                "cannot read the configuration {}: {e}",
                path.display()
            ))
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The built-in demo configuration.
    pub fn demo() -> Config {
        match Self::parse(DEMO_CONFIG, "the built-in demo configuration") {
            Ok(c) => c,
            Err(e) => unreachable!("the demo configuration is valid: {e}"),
        }
    }

    fn from_raw(raw: RawConfig, source: &str) -> Result<Config, ConfigError> {
        let ms = Duration::from_millis;
        let paas = PaasSettings {
            url: match raw.paas.url {
                Some(u) if !u.trim().is_empty() => {
                    crate::paas::parse_base_url(&u).map_err(|e| at("paas.url", e))?;
                    Some(u.trim().to_string())
                }
                _ => None,
            },
            subscribe: raw.paas.subscribe.unwrap_or(true),
            connect_timeout: duration(
                "paas.connect_timeout",
                raw.paas.connect_timeout.as_deref(),
                Duration::from_secs(5),
                ms(10),
            )?,
            request_timeout: duration(
                "paas.request_timeout",
                raw.paas.request_timeout.as_deref(),
                Duration::from_secs(15),
                ms(10),
            )?,
        };
        let defaults = JobSettings::default();
        let jobs = JobSettings {
            poll_interval: duration(
                "paas.poll_interval",
                raw.paas.poll_interval.as_deref(),
                defaults.poll_interval,
                ms(10),
            )?,
            push_poll_interval: duration(
                "paas.push_poll_interval",
                raw.paas.push_poll_interval.as_deref(),
                defaults.push_poll_interval,
                ms(10),
            )?,
            build_timeout: duration(
                "jobs.build_timeout",
                raw.jobs.build_timeout.as_deref(),
                defaults.build_timeout,
                ms(100),
            )?,
            deploy_timeout: duration(
                "jobs.deploy_timeout",
                raw.jobs.deploy_timeout.as_deref(),
                defaults.deploy_timeout,
                ms(100),
            )?,
            edit_window: duration(
                "jobs.edit_window",
                raw.jobs.edit_window.as_deref(),
                defaults.edit_window,
                Duration::ZERO,
            )?,
            settle: duration(
                "jobs.settle",
                raw.jobs.settle.as_deref(),
                defaults.settle,
                Duration::ZERO,
            )?,
            pickup: duration(
                "jobs.pickup",
                raw.jobs.pickup.as_deref(),
                defaults.pickup,
                ms(100),
            )?,
            tag_wait: duration(
                "jobs.tag_wait",
                raw.jobs.tag_wait.as_deref(),
                defaults.tag_wait,
                Duration::ZERO,
            )?,
            logs_window: duration(
                "jobs.logs_window",
                raw.jobs.logs_window.as_deref(),
                defaults.logs_window,
                Duration::ZERO,
            )?,
            log_lines: match raw.jobs.log_lines {
                Some(n) if (1..=50).contains(&n) => n,
                Some(n) => {
                    return Err(at(
                        "jobs.log_lines",
                        format!("{n} must be between 1 and 50"),
                    ));
                }
                None => defaults.log_lines,
            },
        };

        let mut apps = BTreeMap::new();
        for (key, a) in raw.apps {
            let k = |field: &str| format!("apps.{key}.{field}");
            let name = AppName::parse(&key).map_err(|e| at(&format!("apps.{key}"), e))?;
            let cluster = ClusterId::parse(&a.cluster).map_err(|e| at(&k("cluster"), e))?;
            let project = ProjectId::parse(&a.project).map_err(|e| at(&k("project"), e))?;
            let app = AppId::parse(&a.app).map_err(|e| at(&k("app"), e))?;
            let votes = match a.votes {
                None => 1,
                Some(v) if (1..=20).contains(&v) => v as u32,
                Some(v) => return Err(at(&k("votes"), format!("{v} must be between 1 and 20"))),
            };
            let approvers = roles(&k("approvers"), Some(a.approvers))?.unwrap_or_default();
            let policy = ApprovalPolicy {
                approvers,
                votes,
                timeout: duration(
                    &k("approval_timeout"),
                    a.approval_timeout.as_deref(),
                    Duration::from_secs(3600),
                    ms(100),
                )?,
                allow_self_approval: a.allow_self_approval,
            };
            apps.insert(
                name.clone(),
                App {
                    name,
                    app: AppRef::new(ProjectRef::new(cluster, project), app),
                    policy,
                    access: AccessRoles {
                        deploy: roles(&k("deploy"), a.deploy)?,
                        cancel: roles(&k("cancel"), a.cancel)?,
                        ..AccessRoles::default()
                    },
                    channels: channels(&k("channels"), a.channels)?,
                },
            );
        }

        let mut projects = BTreeMap::new();
        for (key, p) in raw.projects {
            let k = |field: &str| format!("projects.{key}.{field}");
            let name = ProjectName::parse(&key).map_err(|e| at(&format!("projects.{key}"), e))?;
            let cluster = ClusterId::parse(&p.cluster).map_err(|e| at(&k("cluster"), e))?;
            let project = ProjectId::parse(&p.project).map_err(|e| at(&k("project"), e))?;
            let pipeline = PipelineId::parse(&p.pipeline).map_err(|e| at(&k("pipeline"), e))?;
            let branch = Branch::parse(&p.branch).map_err(|e| at(&k("branch"), e))?;
            let deploys = match p.deploys {
                Some(d) => {
                    let app = AppName::parse(&d).map_err(|e| at(&k("deploys"), e))?;
                    if !apps.contains_key(&app) {
                        return Err(at(&k("deploys"), format!("there is no [apps.{d}]")));
                    }
                    Some(app)
                }
                None => None,
            };
            projects.insert(
                name.clone(),
                Project {
                    name,
                    pipeline: PipelineRef::new(ProjectRef::new(cluster, project), pipeline),
                    branch,
                    deploys,
                    access: AccessRoles {
                        build: roles(&k("build"), p.build)?,
                        release: roles(&k("release"), p.release)?,
                        cancel: roles(&k("cancel"), p.cancel)?,
                        ..AccessRoles::default()
                    },
                    channels: channels(&k("channels"), p.channels)?,
                },
            );
        }

        let mut shell_users = BTreeMap::new();
        for (user, list) in raw.shell.users {
            if user.is_empty()
                || user.len() > 64
                || !user
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_.".contains(c))
            {
                return Err(at(
                    &format!("shell.users.{user}"),
                    "a user name is letters, digits, '-', '_' and '.'",
                ));
            }
            let list = roles(&format!("shell.users.{user}"), Some(list))?.unwrap_or_default();
            shell_users.insert(user, list);
        }

        let sim_speed = match raw.sim.speed {
            None => 10.0,
            Some(s) if s.is_finite() && s > 0.0 && s <= 1e6 => s,
            Some(s) => return Err(at("sim.speed", format!("{s} must be a positive number"))),
        };

        Ok(Config {
            paas,
            jobs,
            projects,
            apps,
            access: AccessRoles {
                build: roles("access.build", raw.access.build)?,
                deploy: roles("access.deploy", raw.access.deploy)?,
                release: roles("access.release", raw.access.release)?,
                cancel: roles("access.cancel", raw.access.cancel)?,
            },
            admins: roles("access.admin", Some(raw.access.admin))?.unwrap_or_default(),
            shell_users,
            sim_speed,
            source: source.to_string(),
        })
    }
}

/// What comes from the environment: secrets and paths.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub config_path: PathBuf,
    /// Set when `RELEASEBOT_CONFIG` named the file (so a missing file is an error).
    pub config_named: bool,
    pub db_path: PathBuf,
    pub rancher_url: Option<String>,
    pub rancher_token: Option<Secret>,
    pub discord_token: Option<Secret>,
    pub discord_guild_id: Option<String>,
    pub discord_proxy_url: Option<String>,
    pub http_addr: Option<String>,
    pub public_url: Option<String>,
    pub log_json: bool,
}

impl Env {
    /// Reads the process environment (after `.env`, which never overrides it).
    pub fn from_process() -> Env {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup, for tests.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Env {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let named = get("RELEASEBOT_CONFIG");
        Env {
            config_named: named.is_some(),
            config_path: PathBuf::from(named.unwrap_or_else(|| "releasebot.toml".into())),
            db_path: PathBuf::from(get("RELEASEBOT_DB").unwrap_or_else(|| "releasebot.db".into())),
            rancher_url: get("RANCHER_URL"),
            rancher_token: get("RANCHER_TOKEN").map(Secret::new),
            discord_token: get("DISCORD_TOKEN").map(Secret::new),
            discord_guild_id: get("DISCORD_GUILD_ID"),
            discord_proxy_url: get("DISCORD_PROXY_URL"),
            http_addr: get("RELEASEBOT_HTTP_ADDR"),
            public_url: get("RELEASEBOT_PUBLIC_URL"),
            log_json: get("RELEASEBOT_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")),
        }
    }

    /// The secrets to keep out of everything the bot shows.
    pub fn secrets(&self) -> Vec<Secret> {
        self.rancher_token
            .iter()
            .chain(self.discord_token.iter())
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_configuration_is_valid_and_matches_the_issue_example() {
        let c = Config::demo();
        let web = &c.projects[&ProjectName::parse("web").unwrap()];
        assert_eq!(web.pipeline.to_string(), "c-64wdm:p-5tfq9/p-tpk2x");
        assert_eq!(web.branch.as_str(), "master");
        assert_eq!(web.deploys.as_ref().unwrap().as_str(), "web");
        let app = &c.apps[&AppName::parse("web").unwrap()];
        assert_eq!(app.policy.approvers, ["lead"]);
        assert_eq!(app.policy.votes, 1);
        assert_eq!(c.jobs.poll_interval, Duration::from_secs(5));
        assert_eq!(c.shell_users["bob"], ["lead"]);
        assert_eq!(
            c.admins,
            ["admin"],
            "admin is the admin role unless configured"
        );
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let e = Config::parse("[paas]\npol_interval = \"5s\"\n", "x.toml").unwrap_err();
        assert!(e.0.contains("pol_interval"), "{e}");
        assert!(e.0.contains("line 2"), "{e}");
        let e = Config::parse(
            "[projects.web]\ncluster=\"c\"\nproject=\"p\"\npipeline=\"q\"\nbranchh=\"x\"\n",
            "x.toml",
        )
        .unwrap_err();
        assert!(e.0.contains("branchh"), "{e}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("[paas]\npoll_interval = \"soon\"\n", "paas.poll_interval"),
            ("[paas]\nurl = \"ftp://x\"\n", "paas.url"),
            (
                "[projects.web]\ncluster=\"c-1\"\nproject=\"p-1\"\npipeline=\"p-2\"\nbranch=\"a..b\"\n",
                "projects.web.branch",
            ),
            (
                "[projects.web]\ncluster=\"c-1\"\nproject=\"P 1\"\npipeline=\"p-2\"\n",
                "projects.web.project",
            ),
            (
                "[projects.web]\ncluster=\"c-1\"\nproject=\"p-1\"\npipeline=\"p-2\"\ndeploys=\"nope\"\n",
                "projects.web.deploys",
            ),
            (
                "[apps.web]\ncluster=\"c-1\"\nproject=\"p-1\"\napp=\"a\"\nvotes=0\n",
                "apps.web.votes",
            ),
            (
                "[apps.Web]\ncluster=\"c-1\"\nproject=\"p-1\"\napp=\"a\"\n",
                "apps.Web",
            ),
            ("[jobs]\nlog_lines = 0\n", "jobs.log_lines"),
        ];
        for (text, key) in cases {
            let e = Config::parse(text, "x.toml").unwrap_err();
            assert!(e.0.contains(key), "{text:?} gave {e}");
        }
    }

    #[test]
    fn the_environment_supplies_secrets_and_paths() {
        let env = Env::from_lookup(|k| match k {
            "RANCHER_TOKEN" => Some("token-abc:secret".into()),
            "RELEASEBOT_DB" => Some("/data/r.db".into()),
            _ => None,
        });
        assert_eq!(env.db_path, PathBuf::from("/data/r.db"));
        assert_eq!(env.config_path, PathBuf::from("releasebot.toml"));
        assert!(!format!("{env:?}").contains("secret"));
        assert_eq!(env.secrets().len(), 1);
    }
}
