//! The configuration file as serde reads it (every key optional or defaulted, unknown
//! keys refused), and the checks that turn it into a [`Config`]: each problem names
//! its key, so an operator knows what to fix.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{
    AccessRoles, App, Config, ConfigError, JobSettings, PaasSettings, Project, Rollout, at,
};
use crate::names::{AppName, Branch, ProjectName};
use crate::paas::{ClusterId, PipelineId, PipelineRef, ProjectId, ProjectRef};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    paas: RawPaas,
    #[serde(default)]
    jobs: RawJobs,
    #[serde(default)]
    projects: BTreeMap<String, RawProject>,
    #[serde(default)]
    apps: BTreeMap<String, super::apps::RawApp>,
    #[serde(default)]
    access: RawAccess,
    #[serde(default)]
    shell: RawShell,
    #[serde(default)]
    sim: RawSim,
    #[serde(default)]
    discord: RawDiscord,
    #[serde(default)]
    ha: RawHa,
    #[serde(default)]
    stats: RawStats,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStats {
    digest: Option<RawDigest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    channel: String,
    every: String,
    timezone: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHa {
    lease_ttl: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDiscord {
    #[serde(default)]
    guilds: Vec<String>,
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
    ui_url: Option<String>,
    allow_plain_http: Option<bool>,
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
    deploys: Option<OneOrMany>,
    rollout: Option<String>,
    build: Option<Vec<String>>,
    release: Option<Vec<String>>,
    cancel: Option<Vec<String>>,
    read: Option<Vec<String>>,
    #[serde(default)]
    channels: Vec<String>,
    commit_url: Option<String>,
    #[serde(default)]
    announce: Vec<String>,
}

/// A commit link template: an http(s) URL with `{commit}` where the commit id goes.
fn commit_url(key: &str, url: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(url) = url else { return Ok(None) };
    if !url.starts_with("https://") && !url.starts_with("http://") {
        return Err(at(key, "must be an http(s) URL"));
    }
    if !url.contains("{commit}") {
        return Err(at(key, "must say where the commit goes with {commit}"));
    }
    Ok(Some(url))
}

/// `deploys = "web"` or `deploys = ["web-api", "web-worker"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The apps a project's `/release` deploys, in the order listed, each configured once.
fn deploys(
    key: &str,
    d: Option<OneOrMany>,
    apps: &BTreeMap<AppName, App>,
) -> Result<Vec<AppName>, ConfigError> {
    let names = match d {
        None => Vec::new(),
        Some(OneOrMany::One(name)) => vec![name],
        Some(OneOrMany::Many(names)) if names.is_empty() => {
            return Err(at(key, "names no app; leave it out instead"));
        }
        Some(OneOrMany::Many(names)) => names,
    };
    let mut out: Vec<AppName> = Vec::new();
    for name in names {
        let app = AppName::parse(&name).map_err(|e| at(key, e))?;
        if !apps.contains_key(&app) {
            return Err(at(key, format!("there is no [apps.{app}]")));
        }
        if out.contains(&app) {
            return Err(at(key, format!("names {app} twice")));
        }
        out.push(app);
    }
    Ok(out)
}

/// `rollout = "sequential"` (the default) or `"parallel"`.
fn rollout(key: &str, r: Option<String>) -> Result<Rollout, ConfigError> {
    match r.as_deref() {
        None | Some("sequential") => Ok(Rollout::Sequential),
        Some("parallel") => Ok(Rollout::Parallel),
        Some(_) => Err(at(key, "must be \"sequential\" or \"parallel\"")),
    }
}

fn master() -> String {
    "master".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    build: Option<Vec<String>>,
    deploy: Option<Vec<String>>,
    release: Option<Vec<String>>,
    cancel: Option<Vec<String>>,
    rollback: Option<Vec<String>>,
    promote: Option<Vec<String>>,
    freeze: Option<Vec<String>>,
    lock: Option<Vec<String>>,
    read: Option<Vec<String>>,
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
            rollback: None,
            promote: None,
            freeze: None,
            lock: None,
            read: None,
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
pub(super) fn duration(
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

pub(super) fn roles(
    key: &str,
    list: Option<Vec<String>>,
) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(list) = list else { return Ok(None) };
    for r in &list {
        if r.trim().is_empty() || r.len() > 100 || r.chars().any(char::is_control) {
            return Err(at(key, format!("{r:?} is not a role name")));
        }
    }
    Ok(Some(list))
}

pub(super) fn channels(key: &str, list: Vec<String>) -> Result<Vec<String>, ConfigError> {
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

/// Discord server ids: digits.
fn guilds(list: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for g in &list {
        let digits = !g.is_empty() && g.len() <= 20 && g.bytes().all(|b| b.is_ascii_digit());
        if !digits || g.bytes().all(|b| b == b'0') {
            return Err(at("discord.guilds", format!("{g:?} is not a server id")));
        }
    }
    Ok(list)
}

impl RawConfig {
    /// The configuration, checked; `source` says where it came from.
    pub(super) fn validate(self, source: &str) -> Result<Config, ConfigError> {
        let ms = Duration::from_millis;
        let paas = PaasSettings {
            url: match self.paas.url {
                Some(u) if !u.trim().is_empty() => {
                    crate::paas::parse_base_url(&u).map_err(|e| at("paas.url", e))?;
                    Some(u.trim().to_string())
                }
                _ => None,
            },
            subscribe: self.paas.subscribe.unwrap_or(true),
            connect_timeout: duration(
                "paas.connect_timeout",
                self.paas.connect_timeout.as_deref(),
                Duration::from_secs(5),
                ms(10),
            )?,
            request_timeout: duration(
                "paas.request_timeout",
                self.paas.request_timeout.as_deref(),
                Duration::from_secs(15),
                ms(10),
            )?,
            ui_url: match self.paas.ui_url {
                Some(u) if !u.trim().is_empty() => {
                    crate::paas::parse_base_url(&u).map_err(|e| at("paas.ui_url", e))?;
                    Some(u.trim().trim_end_matches('/').to_string())
                }
                _ => None,
            },
            allow_plain_http: self.paas.allow_plain_http.unwrap_or(false),
        };
        let defaults = JobSettings::default();
        let jobs = JobSettings {
            poll_interval: duration(
                "paas.poll_interval",
                self.paas.poll_interval.as_deref(),
                defaults.poll_interval,
                ms(10),
            )?,
            push_poll_interval: duration(
                "paas.push_poll_interval",
                self.paas.push_poll_interval.as_deref(),
                defaults.push_poll_interval,
                ms(10),
            )?,
            build_timeout: duration(
                "jobs.build_timeout",
                self.jobs.build_timeout.as_deref(),
                defaults.build_timeout,
                ms(100),
            )?,
            deploy_timeout: duration(
                "jobs.deploy_timeout",
                self.jobs.deploy_timeout.as_deref(),
                defaults.deploy_timeout,
                ms(100),
            )?,
            edit_window: duration(
                "jobs.edit_window",
                self.jobs.edit_window.as_deref(),
                defaults.edit_window,
                Duration::ZERO,
            )?,
            settle: duration(
                "jobs.settle",
                self.jobs.settle.as_deref(),
                defaults.settle,
                Duration::ZERO,
            )?,
            pickup: duration(
                "jobs.pickup",
                self.jobs.pickup.as_deref(),
                defaults.pickup,
                ms(100),
            )?,
            tag_wait: duration(
                "jobs.tag_wait",
                self.jobs.tag_wait.as_deref(),
                defaults.tag_wait,
                Duration::ZERO,
            )?,
            logs_window: duration(
                "jobs.logs_window",
                self.jobs.logs_window.as_deref(),
                defaults.logs_window,
                Duration::ZERO,
            )?,
            log_lines: match self.jobs.log_lines {
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

        let apps = super::apps::validate(self.apps)?;

        let mut projects = BTreeMap::new();
        for (key, p) in self.projects {
            let k = |field: &str| format!("projects.{key}.{field}");
            let name = ProjectName::parse(&key).map_err(|e| at(&format!("projects.{key}"), e))?;
            let cluster = ClusterId::parse(&p.cluster).map_err(|e| at(&k("cluster"), e))?;
            let project = ProjectId::parse(&p.project).map_err(|e| at(&k("project"), e))?;
            let pipeline = PipelineId::parse(&p.pipeline).map_err(|e| at(&k("pipeline"), e))?;
            let branch = Branch::parse(&p.branch).map_err(|e| at(&k("branch"), e))?;
            let deploys = deploys(&k("deploys"), p.deploys, &apps)?;
            let rollout = rollout(&k("rollout"), p.rollout)?;
            projects.insert(
                name.clone(),
                Project {
                    name,
                    pipeline: PipelineRef::new(ProjectRef::new(cluster, project), pipeline),
                    branch,
                    deploys,
                    rollout,
                    access: AccessRoles {
                        build: roles(&k("build"), p.build)?,
                        release: roles(&k("release"), p.release)?,
                        cancel: roles(&k("cancel"), p.cancel)?,
                        read: roles(&k("read"), p.read)?,
                        ..AccessRoles::default()
                    },
                    channels: channels(&k("channels"), p.channels)?,
                    commit_url: commit_url(&k("commit_url"), p.commit_url)?,
                    announce: channels(&k("announce"), p.announce)?,
                },
            );
        }
        for app in apps.values() {
            if let Some(project) = &app.built_by
                && !projects.contains_key(project)
            {
                let key = format!("apps.{}.built_by", app.name);
                return Err(at(&key, format!("there is no [projects.{project}]")));
            }
        }

        let mut shell_users = BTreeMap::new();
        for (user, list) in self.shell.users {
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

        let sim_speed = match self.sim.speed {
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
                build: roles("access.build", self.access.build)?,
                deploy: roles("access.deploy", self.access.deploy)?,
                release: roles("access.release", self.access.release)?,
                cancel: roles("access.cancel", self.access.cancel)?,
                rollback: roles("access.rollback", self.access.rollback)?,
                promote: roles("access.promote", self.access.promote)?,
                freeze: roles("access.freeze", self.access.freeze)?,
                lock: roles("access.lock", self.access.lock)?,
                read: roles("access.read", self.access.read)?,
            },
            admins: roles("access.admin", Some(self.access.admin))?.unwrap_or_default(),
            shell_users,
            discord_guilds: guilds(self.discord.guilds)?,
            sim_speed,
            lease_ttl: duration(
                "ha.lease_ttl",
                self.ha.lease_ttl.as_deref(),
                Duration::from_secs(15),
                Duration::from_millis(300),
            )?,
            digest: match self.stats.digest {
                None => None,
                Some(d) => Some(super::Digest {
                    channel: channels("stats.digest.channel", vec![d.channel])?.swap_remove(0),
                    every: crate::job::digest::Weekly::parse(&d.every, d.timezone.as_deref())
                        .map_err(|e| at("stats.digest", e))?,
                }),
            },
            source: source.to_string(),
        })
    }
}
