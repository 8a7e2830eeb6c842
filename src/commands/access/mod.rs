//! Who may do what, and from where. Roles come from the adapter (Discord roles by name
//! or id, `[shell.users]` in the terminal); the lists come from `[access]`, overridden
//! per project and app. An empty list means everyone; admins may do everything.
//!
//! Every rule is here: running commands ([`app`], [`project`], [`all_apps`]), reading
//! what releasebot knows of an app or project ([`read_app`], [`read_project`],
//! [`read_job`], [`read_history`]), lifting freezes ([`may_lift`]), being an admin
//! ([`is_admin`]), and which apps the configuration leaves open ([`open_apps`]).

use super::error::Denied;
use crate::chat::Actor;
use crate::config::{AccessRoles, App, Config, Project};
use crate::freeze::{Freeze, Scope};
use crate::job::JobRecord;
use crate::names::{AppName, ProjectName};

/// A command that is limited by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Build,
    Deploy,
    Release,
    Cancel,
    Rollback,
    Promote,
    Freeze,
    Lock,
}

impl Action {
    pub fn gerund(self) -> &'static str {
        match self {
            Action::Build => "Building",
            Action::Deploy => "Deploying",
            Action::Release => "Releasing",
            Action::Cancel => "Cancelling jobs of",
            Action::Rollback => "Rolling back",
            Action::Promote => "Promoting into",
            Action::Freeze => "Freezing",
            Action::Lock => "Locking",
        }
    }

    fn roles(self, access: &AccessRoles) -> Option<&Vec<String>> {
        match self {
            Action::Build => access.build.as_ref(),
            Action::Deploy => access.deploy.as_ref(),
            Action::Release => access.release.as_ref(),
            Action::Cancel => access.cancel.as_ref(),
            Action::Rollback => access.rollback.as_ref(),
            Action::Promote => access.promote.as_ref(),
            Action::Freeze => access.freeze.as_ref(),
            Action::Lock => access.lock.as_ref(),
        }
    }
}

/// Whether `actor` holds an admin role. A role name that several roles of the server
/// bear grants nobody admin: anyone allowed to manage roles could make a second
/// "Admin" and give it to themselves. An id always counts.
pub fn is_admin(config: &Config, actor: &Actor) -> bool {
    actor.has_any_role_unambiguously(&config.admins)
}

fn check(
    config: &Config,
    actor: &Actor,
    channel: &str,
    action: Action,
    name: &str,
    own: &AccessRoles,
    channels: &[String],
) -> Result<(), Denied> {
    let access = own.or(&config.access);
    // No roles named, or an empty list: everyone.
    let roles = action.roles(&access).filter(|r| !r.is_empty()).cloned();
    gate(
        config,
        actor,
        channel,
        name,
        channels,
        action.gerund(),
        roles,
    )
}

/// The one gate every rule passes through: from one of `channels` (when it has any;
/// they bind admins too, as for every command: they say where an app's matters are
/// discussed), then an admin, or a holder of one of `roles` (when any are named),
/// `doing` what the refusal says.
fn gate(
    config: &Config,
    actor: &Actor,
    channel: &str,
    name: &str,
    channels: &[String],
    doing: &'static str,
    roles: Option<Vec<String>>,
) -> Result<(), Denied> {
    if !channels.is_empty() && !channels.iter().any(|c| c == channel) {
        return Err(Denied::WrongChannel {
            name: name.to_string(),
        });
    }
    if is_admin(config, actor) {
        return Ok(());
    }
    match roles {
        Some(roles) if !actor.has_any_role(&roles) => Err(Denied::NeedsRole {
            doing,
            name: name.to_string(),
            roles,
        }),
        _ => Ok(()),
    }
}

/// May `actor` build or release `project` from `channel`?
pub fn project(
    config: &Config,
    actor: &Actor,
    channel: &str,
    project: &Project,
    action: Action,
) -> Result<(), Denied> {
    check(
        config,
        actor,
        channel,
        action,
        project.name.as_str(),
        &project.access,
        &project.channels,
    )
}

/// May `actor` freeze (or unfreeze) all apps? Only by `[access] freeze` (else deploy).
pub fn all_apps(config: &Config, actor: &Actor, action: Action) -> Result<(), Denied> {
    if is_admin(config, actor) {
        return Ok(());
    }
    let access = AccessRoles::default().or(&config.access);
    match action.roles(&access) {
        Some(roles) if !roles.is_empty() && !actor.has_any_role(roles) => Err(Denied::NeedsRole {
            doing: action.gerund(),
            name: "all apps".to_string(),
            roles: roles.clone(),
        }),
        _ => Ok(()),
    }
}

/// May `actor` deploy `app` from `channel`?
pub fn app(
    config: &Config,
    actor: &Actor,
    channel: &str,
    app: &App,
    action: Action,
) -> Result<(), Denied> {
    check(
        config,
        actor,
        channel,
        action,
        app.name.as_str(),
        &app.access,
        &app.channels,
    )
}

/// What a read refusal says the person was doing.
const READING: &str = "Reading the logs, history and jobs of";

/// Who may read `app`'s logs, history and jobs (and, once it exists, its changes):
/// `None` for everyone. Its own `read`, else `[access] read`, else whoever may deploy
/// or approve it (everyone when anyone may deploy it). An empty list is everyone.
pub fn app_readers(config: &Config, app: &App) -> Option<Vec<String>> {
    if let Some(read) = app.access.read.as_ref().or(config.access.read.as_ref()) {
        return some_roles(read.clone());
    }
    let deploy = some_roles(app.access.or(&config.access).deploy?)?;
    Some(union(deploy, &app.policy.approvers))
}

/// Who may read `project`'s history and build jobs: `None` for everyone. Its own
/// `read`, else `[access] read`, else whoever may build or release it (everyone when
/// anyone may do either).
pub fn project_readers(config: &Config, project: &Project) -> Option<Vec<String>> {
    if let Some(read) = project.access.read.as_ref().or(config.access.read.as_ref()) {
        return some_roles(read.clone());
    }
    let access = project.access.or(&config.access);
    let build = some_roles(access.build?)?;
    let release = some_roles(access.release?)?;
    Some(union(build, &release))
}

/// `None` for an empty list: everyone.
fn some_roles(roles: Vec<String>) -> Option<Vec<String>> {
    (!roles.is_empty()).then_some(roles)
}

/// `roles` and then those of `more` it lacks (compared as roles are, without case).
fn union(mut roles: Vec<String>, more: &[String]) -> Vec<String> {
    for r in more {
        if !roles.iter().any(|have| have.eq_ignore_ascii_case(r)) {
            roles.push(r.clone());
        }
    }
    roles
}

/// The read rule: from one of `channels` (when it has any), by an admin or a holder of
/// one of `readers` (when anyone is named).
fn read(
    config: &Config,
    actor: &Actor,
    channel: &str,
    name: &str,
    readers: Option<Vec<String>>,
    channels: &[String],
) -> Result<(), Denied> {
    gate(config, actor, channel, name, channels, READING, readers)
}

/// May `actor` read `app`'s logs, history, jobs and changes from `channel`? The rule of
/// `/logs`, `/history`, `/status` and `/changes` for an app.
pub fn read_app(config: &Config, actor: &Actor, channel: &str, app: &App) -> Result<(), Denied> {
    read(
        config,
        actor,
        channel,
        app.name.as_str(),
        app_readers(config, app),
        &app.channels,
    )
}

/// May `actor` read `project`'s history and build jobs from `channel`?
pub fn read_project(
    config: &Config,
    actor: &Actor,
    channel: &str,
    project: &Project,
) -> Result<(), Denied> {
    read(
        config,
        actor,
        channel,
        project.name.as_str(),
        project_readers(config, project),
        &project.channels,
    )
}

/// May `actor` read `/history name` from `channel`? A name may be a project's and an
/// app's at once, and the history then holds both's jobs: both must be readable.
pub fn read_history(
    config: &Config,
    actor: &Actor,
    channel: &str,
    name: &str,
) -> Result<(), Denied> {
    let project = ProjectName::parse(name)
        .ok()
        .and_then(|p| config.projects.get(&p));
    if let Some(project) = project {
        read_project(config, actor, channel, project)?;
    }
    let app = AppName::parse(name).ok().and_then(|a| config.apps.get(&a));
    if let Some(app) = app {
        read_app(config, actor, channel, app)?;
    }
    Ok(())
}

/// May `actor` read job `r` (`/status`, `/history`) from `channel`? Only if they may read
/// every project and app it names; one no longer configured only admins may. The
/// refusal does not say which project or app it belongs to.
pub fn read_job(
    config: &Config,
    actor: &Actor,
    channel: &str,
    r: &JobRecord,
) -> Result<(), Denied> {
    let hidden = || Denied::JobUnreadable { job: r.id };
    if let Some(name) = r.spec.project() {
        let project = config.projects.get(name);
        match project {
            Some(p) => read_project(config, actor, channel, p).map_err(|_| hidden())?,
            None if !is_admin(config, actor) => return Err(hidden()),
            None => {}
        }
    }
    if let Some(name) = r.spec.app() {
        match config.apps.get(name) {
            Some(a) => read_app(config, actor, channel, a).map_err(|_| hidden())?,
            None if !is_admin(config, actor) => return Err(hidden()),
            None => {}
        }
    }
    Ok(())
}

/// Whether `actor` may read what `scope`'s freezes say (who froze it and why): a freeze
/// on all apps concerns everyone; an app's follows the app's read rule.
pub fn read_scope(config: &Config, actor: &Actor, channel: &str, scope: &Scope) -> bool {
    match scope {
        Scope::All => true,
        Scope::App(name) => config
            .apps
            .get(name)
            .is_some_and(|a| read_app(config, actor, channel, a).is_ok()),
    }
}

/// May `actor` lift `freeze`? Whoever put it on (a lock: its holder) may, and an admin;
/// nobody else, so a freeze called for an incident is not lifted by someone else who
/// may merely freeze, nor a lock by someone it stops.
pub fn may_lift(config: &Config, actor: &Actor, freeze: &Freeze) -> Result<(), Denied> {
    let owner = freeze.holder.as_ref().unwrap_or(&freeze.by);
    if owner.id == actor.id || is_admin(config, actor) {
        return Ok(());
    }
    if freeze.is_lock() {
        return Err(Denied::OthersLock {
            app: freeze.scope.as_str().to_string(),
            holder: owner.name.clone(),
        });
    }
    Err(Denied::OthersFreeze {
        scope: match &freeze.scope {
            Scope::All => "all apps".to_string(),
            Scope::App(app) => app.to_string(),
        },
        by: freeze.by.name.clone(),
    })
}

/// An app that anyone may deploy, and what closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApp {
    pub app: AppName,
    /// The key to set, in a sentence.
    pub fix: String,
}

impl std::fmt::Display for OpenApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "anyone may deploy {}: {}", self.app, self.fix)
    }
}

/// The apps anyone may deploy: no deploy roles at the app or in `[access]`, or an empty
/// list. Open is the default (and stays so); `releasebot check` and the start-up log
/// name each, with the key that would close it.
pub fn open_apps(config: &Config) -> Vec<OpenApp> {
    let mut open = Vec::new();
    for app in config.apps.values() {
        let key = format!("[apps.{}] deploy", app.name);
        let fix = match (&app.access.deploy, &config.access.deploy) {
            (Some(own), _) if own.is_empty() => {
                format!("{key} is empty; list the roles (ids are safest) that may deploy it")
            }
            (Some(_), _) => continue,
            (None, Some(all)) if !all.is_empty() => continue,
            (None, Some(_)) => format!(
                "[access] deploy is empty; list the roles that may deploy there or in {key} (ids are safest)"
            ),
            (None, None) => format!(
                "set {key} (or [access] deploy, for every app) to the roles that may, by id preferably"
            ),
        };
        open.push(OpenApp {
            app: app.name.clone(),
            fix,
        });
    }
    open
}

#[cfg(test)]
mod tests;
