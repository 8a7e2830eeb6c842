//! Configuration: secrets from the environment (and `.env`), everything else from a
//! TOML file. A bad file is refused before anything connects anywhere, with a message
//! that names the key and the problem.
//!
//! This file holds the validated configuration the bot reads; `raw.rs` holds the
//! file's serde form and the checks that turn it into this one, `env.rs` what comes
//! from the environment, `location/` the connection strings among them, parsed and shown
//! without their passwords.

mod apps;
mod context;
mod env;
mod raw;
#[cfg(test)]
mod readme_keys;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::names::{AppName, Branch, ProjectName};
use crate::paas::{AppRef, PipelineRef};

pub use crate::location::{ConnString, Database};
pub use env::Env;

/// The demo configuration, used when there is no configuration file and no PaaS URL:
/// it matches the simulator's demo catalogue. It is also `releasebot.example.toml`.
pub const DEMO_CONFIG: &str = include_str!("../../releasebot.example.toml");

/// A configuration problem, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn at(key: &str, problem: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("{key}: {problem}"))
}

/// Roles allowed to run each command; `None` means everyone (for `rollback`,
/// `promote`, `freeze` and `lock`: whoever may deploy; for `read`: see
/// [`crate::commands::access::app_readers`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRoles {
    pub build: Option<Vec<String>>,
    pub deploy: Option<Vec<String>>,
    pub release: Option<Vec<String>>,
    pub cancel: Option<Vec<String>>,
    pub rollback: Option<Vec<String>>,
    pub promote: Option<Vec<String>>,
    pub freeze: Option<Vec<String>>,
    /// Who may lock an app for themselves (`/lock`).
    pub lock: Option<Vec<String>>,
    /// Who may read an app's or a project's logs, history and jobs (`read`).
    pub read: Option<Vec<String>>,
}

impl AccessRoles {
    /// `self` where set, otherwise `fallback`; the incident commands fall back to the
    /// deploy roles last.
    pub fn or(&self, fallback: &AccessRoles) -> AccessRoles {
        let pick = |own: &Option<Vec<String>>, other: &Option<Vec<String>>| {
            own.clone().or_else(|| other.clone())
        };
        let deploy = pick(&self.deploy, &fallback.deploy);
        let incident = |own, other| pick(own, other).or_else(|| deploy.clone());
        AccessRoles {
            build: pick(&self.build, &fallback.build),
            release: pick(&self.release, &fallback.release),
            cancel: pick(&self.cancel, &fallback.cancel),
            rollback: incident(&self.rollback, &fallback.rollback),
            promote: incident(&self.promote, &fallback.promote),
            freeze: incident(&self.freeze, &fallback.freeze),
            lock: incident(&self.lock, &fallback.lock),
            // Unset here and there, the readers follow from the other roles: the
            // access rules work that out, since it needs the app's approvers too.
            read: pick(&self.read, &fallback.read),
            deploy,
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
    /// The apps `/release` deploys, in the order listed (`deploys`: one name or a
    /// list); empty when the project is only built.
    pub deploys: Vec<AppName>,
    /// Whether a release to several apps rolls them out one after another or all at
    /// once (`rollout`).
    pub rollout: Rollout,
    pub access: AccessRoles,
    /// Channel ids it may be used from; empty means any.
    pub channels: Vec<String>,
    /// A commit's page at the git provider, `{commit}` standing for the commit id
    /// (`commit_url`), for the links in change lists.
    pub commit_url: Option<String>,
    /// Channel ids told in one line how each deploy to the apps it deploys ended
    /// (`announce`).
    pub announce: Vec<String>,
}

/// How a release to several apps rolls them out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Rollout {
    /// In the listed order, each once the one before it succeeded.
    #[default]
    Sequential,
    /// All at once.
    Parallel,
}

/// An app people deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub name: AppName,
    /// The Rancher app deployed.
    pub rancher: AppRef,
    pub policy: ApprovalPolicy,
    pub access: AccessRoles,
    pub channels: Vec<String>,
    /// Whether a rollback waits for the approval a deploy would (`rollback_approval`).
    pub rollback_approval: bool,
    /// The apps whose live tag may be promoted into this one (`promote_from`).
    pub promote_from: Vec<AppName>,
    /// Recurring freeze windows in the app's time zone (`freeze`, `timezone`).
    pub freeze: crate::freeze::Schedule,
    /// The project whose pipeline builds the app's tags (`built_by`), when no
    /// project's `deploys` names the app.
    pub built_by: Option<ProjectName>,
    /// Channel ids told in one line how each deploy to it ended (`announce`).
    pub announce: Vec<String>,
    /// A successful rollback locks the app for whoever asked for it
    /// (`lock_after_rollback`).
    pub lock_after_rollback: bool,
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
    /// The PaaS's web UI, for links (`ui_url`); `None`: the API URL without `/v3`.
    pub ui_url: Option<String>,
    /// Whether a plain `http://` PaaS URL on a host other than this one's loopback is
    /// taken (`allow_plain_http`): the token it carries can deploy anything.
    pub allow_plain_http: bool,
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
    /// The Discord servers releasebot serves (`[discord] guilds`), when
    /// `DISCORD_GUILD_ID` does not say.
    pub discord_guilds: Vec<String>,
    /// The built-in simulator's clock speed.
    pub sim_speed: f64,
    /// How long the leadership lease lasts unless renewed (`[ha] lease_ttl`), among
    /// replicas sharing a PostgreSQL store; renewed every third of it.
    pub lease_ttl: Duration,
    /// The weekly delivery digest (`[stats] digest`), if one is asked for.
    pub digest: Option<Digest>,
    /// Where the configuration came from, for messages.
    pub source: String,
}

/// The weekly delivery digest: `/stats`' answer and chart for every app, posted in a
/// channel at a time of the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub channel: String,
    pub every: crate::job::digest::Weekly,
}

impl Project {
    /// Its pipeline, as the PaaS client reads its builds.
    pub fn builder(&self) -> crate::paas::builds::Builder<'_> {
        crate::paas::builds::Builder {
            project: self.name.as_str(),
            pipeline: &self.pipeline,
            branch: self.branch.as_str(),
            commit_url: self.commit_url.as_deref(),
        }
    }
}

impl Config {
    /// Every project's and app's name, sorted, each once.
    pub fn project_and_app_names(&self) -> Vec<&str> {
        let projects = self.projects.keys().map(|p| p.as_str());
        let mut names: Vec<&str> = projects
            .chain(self.apps.keys().map(|a| a.as_str()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The project whose pipeline builds `app`'s tags: its `built_by`, else the
    /// project whose `deploys` names it.
    pub fn builder_of(&self, app: &AppName) -> Option<&Project> {
        match self.apps.get(app).and_then(|a| a.built_by.as_ref()) {
            Some(project) => self.projects.get(project),
            None => self.projects.values().find(|p| p.deploys.contains(app)),
        }
    }

    /// The projects whose `deploys` names `app`.
    pub fn projects_deploying<'c>(&'c self, app: &'c AppName) -> impl Iterator<Item = &'c Project> {
        self.projects
            .values()
            .filter(move |p| p.deploys.contains(app))
    }

    /// Where the end of a deploy to `app` is announced: its own `announce` channels,
    /// then those of each project deploying it, each once.
    pub fn announce_to(&self, app: &AppName) -> Vec<String> {
        let own = self
            .apps
            .get(app)
            .map(|a| a.announce.as_slice())
            .unwrap_or_default();
        let projects = self.projects_deploying(app).flat_map(|p| p.announce.iter());
        let mut channels: Vec<String> = Vec::new();
        for c in own.iter().chain(projects) {
            if !channels.contains(c) {
                channels.push(c.clone());
            }
        }
        channels
    }

    /// Every role the role lists name (not `[shell.users]`, which are the terminal's
    /// own), each with the keys naming it such as `[apps.web] approvers`, in a stable
    /// order; a role written in several cases is one.
    pub fn roles_named(&self) -> Vec<(String, Vec<String>)> {
        let mut lists: Vec<(String, &Vec<String>)> = vec![("[access] admin".into(), &self.admins)];
        let tables = std::iter::once(("access".to_string(), &self.access))
            .chain(
                self.projects
                    .values()
                    .map(|p| (format!("projects.{}", p.name), &p.access)),
            )
            .chain(
                self.apps
                    .values()
                    .map(|a| (format!("apps.{}", a.name), &a.access)),
            );
        for (table, access) in tables {
            for (name, roles) in [
                ("build", &access.build),
                ("deploy", &access.deploy),
                ("release", &access.release),
                ("cancel", &access.cancel),
                ("rollback", &access.rollback),
                ("promote", &access.promote),
                ("freeze", &access.freeze),
                ("lock", &access.lock),
                ("read", &access.read),
            ] {
                if let Some(roles) = roles {
                    lists.push((format!("[{table}] {name}"), roles));
                }
            }
        }
        for a in self.apps.values() {
            lists.push((format!("[apps.{}] approvers", a.name), &a.policy.approvers));
        }
        let mut found: Vec<(String, Vec<String>)> = Vec::new();
        for (key, roles) in lists {
            for role in roles {
                match found.iter_mut().find(|(r, _)| r.eq_ignore_ascii_case(role)) {
                    Some((_, keys)) if !keys.contains(&key) => keys.push(key.clone()),
                    Some(_) => {}
                    None => found.push((role.clone(), vec![key.clone()])),
                }
            }
        }
        found
    }

    /// Parses and validates a configuration file's text.
    pub fn parse(text: &str, source: &str) -> Result<Config, ConfigError> {
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| {
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
        raw.validate(source)
            .map_err(|e| ConfigError(format!("{source}: {}", e.0)))
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
}

#[cfg(test)]
mod tests;
