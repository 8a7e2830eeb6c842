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
    if !channels.is_empty() && !channels.iter().any(|c| c == channel) {
        return Err(Denied::WrongChannel {
            name: name.to_string(),
        });
    }
    if is_admin(config, actor) {
        return Ok(());
    }
    let access = own.or(&config.access);
    match action.roles(&access) {
        Some(roles) if !roles.is_empty() && !actor.has_any_role(roles) => Err(Denied::NeedsRole {
            doing: action.gerund(),
            name: name.to_string(),
            roles: roles.clone(),
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
    // The channels bind admins too, as they do for every command: they say where an
    // app's matters are discussed.
    if !channels.is_empty() && !channels.iter().any(|c| c == channel) {
        return Err(Denied::WrongChannel {
            name: name.to_string(),
        });
    }
    if is_admin(config, actor) {
        return Ok(());
    }
    match readers {
        Some(roles) if !actor.has_any_role(&roles) => Err(Denied::NeedsRole {
            doing: READING,
            name: name.to_string(),
            roles,
        }),
        _ => Ok(()),
    }
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

/// May `actor` lift `freeze`? Whoever put it on may, and an admin; nobody else, so a
/// freeze called for an incident is not lifted by someone else who may merely freeze.
pub fn may_lift(config: &Config, actor: &Actor, freeze: &Freeze) -> Result<(), Denied> {
    if freeze.by.id == actor.id || is_admin(config, actor) {
        return Ok(());
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
mod tests {
    use super::*;
    use crate::names::{AppName, ProjectName};

    fn config() -> Config {
        Config::parse(
            r#"
            [access]
            deploy = ["deployer"]
            [projects.web]
            cluster = "c-1"
            project = "p-1"
            pipeline = "p-2"
            build = ["developer"]
            channels = ["releases"]
            [apps.web]
            cluster = "c-1"
            project = "p-1"
            app = "web"
            "#,
            "test",
        )
        .unwrap()
    }

    fn actor(roles: &[&str]) -> Actor {
        Actor::new("u", "u", roles.iter().map(|r| r.to_string()).collect())
    }

    #[test]
    fn refusals_name_what_is_missing() {
        let c = config();
        let web = &c.apps[&AppName::parse("web").unwrap()];
        assert_eq!(
            app(&c, &actor(&[]), "releases", web, Action::Deploy).unwrap_err(),
            Denied::NeedsRole {
                doing: "Deploying",
                name: "web".into(),
                roles: vec!["deployer".into()]
            }
        );
        assert!(app(&c, &actor(&["deployer"]), "x", web, Action::Deploy).is_ok());
        assert!(app(&c, &actor(&["admin"]), "x", web, Action::Deploy).is_ok());
    }

    #[test]
    fn project_overrides_and_channels_apply() {
        let c = config();
        let web = &c.projects[&ProjectName::parse("web").unwrap()];
        assert!(project(&c, &actor(&["developer"]), "releases", web, Action::Build).is_ok());
        assert!(matches!(
            project(&c, &actor(&["developer"]), "general", web, Action::Build),
            Err(Denied::WrongChannel { .. })
        ));
        assert!(matches!(
            project(&c, &actor(&[]), "releases", web, Action::Build),
            Err(Denied::NeedsRole { roles, .. }) if roles == ["developer"]
        ));
        // Release has no list: everyone.
        assert!(project(&c, &actor(&[]), "releases", web, Action::Release).is_ok());
    }

    /// Two apps and two projects: `web` closed to its deployers and approvers and
    /// limited to #releases, `api` open; `site` (releasing web) and `tools`.
    fn read_config(extra: &str) -> Config {
        Config::parse(
            &format!(
                r#"
                [access]
                build = ["developer"]
                release = ["lead"]
                {extra}
                [projects.site]
                cluster = "c-1"
                project = "p-1"
                pipeline = "p-2"
                deploys = "web"
                [projects.tools]
                cluster = "c-1"
                project = "p-1"
                pipeline = "p-3"
                release = []
                [apps.web]
                cluster = "c-1"
                project = "p-1"
                app = "web"
                deploy = ["deployer"]
                approvers = ["lead"]
                channels = ["releases"]
                [apps.api]
                cluster = "c-1"
                project = "p-1"
                app = "api"
                "#
            ),
            "test",
        )
        .unwrap()
    }

    fn app_of<'c>(c: &'c Config, name: &str) -> &'c App {
        &c.apps[&AppName::parse(name).unwrap()]
    }

    fn project_of<'c>(c: &'c Config, name: &str) -> &'c Project {
        &c.projects[&ProjectName::parse(name).unwrap()]
    }

    #[test]
    fn an_app_is_read_by_who_may_deploy_or_approve_it_from_its_channels() {
        let c = read_config("");
        let web = app_of(&c, "web");
        assert_eq!(
            app_readers(&c, web),
            Some(vec!["deployer".to_string(), "lead".to_string()])
        );
        for reader in [&["deployer"][..], &["LEAD"], &["admin"]] {
            assert!(
                read_app(&c, &actor(reader), "releases", web).is_ok(),
                "{reader:?}"
            );
        }
        assert_eq!(
            read_app(&c, &actor(&[]), "releases", web).unwrap_err(),
            Denied::NeedsRole {
                doing: READING,
                name: "web".into(),
                roles: vec!["deployer".into(), "lead".into()]
            }
        );
        assert!(read_app(&c, &actor(&["developer"]), "releases", web).is_err());
        // From another channel, nobody: admins included.
        for who in [&["deployer"][..], &["admin"]] {
            assert_eq!(
                read_app(&c, &actor(who), "general", web).unwrap_err(),
                Denied::WrongChannel { name: "web".into() }
            );
        }
        // Anyone may deploy api, so anyone may read it, from anywhere.
        let api = app_of(&c, "api");
        assert_eq!(app_readers(&c, api), None);
        assert!(read_app(&c, &actor(&[]), "general", api).is_ok());
    }

    #[test]
    fn read_roles_are_the_apps_own_else_those_of_access() {
        let c = read_config("read = [\"auditor\"]");
        // [access] read is the default for every app without its own...
        for name in ["web", "api"] {
            let a = app_of(&c, name);
            assert_eq!(app_readers(&c, a), Some(vec!["auditor".to_string()]));
            assert!(read_app(&c, &actor(&["auditor"]), "releases", a).is_ok());
            assert!(read_app(&c, &actor(&["deployer"]), "releases", a).is_err());
        }
        // ...and of projects.
        let site = project_of(&c, "site");
        assert!(read_project(&c, &actor(&["auditor"]), "x", site).is_ok());
        assert!(read_project(&c, &actor(&["developer"]), "x", site).is_err());

        let mut c = read_config("read = [\"auditor\"]");
        let web = c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap();
        web.access.read = Some(vec!["oncall".into()]);
        let web = app_of(&c, "web");
        assert!(read_app(&c, &actor(&["oncall"]), "releases", web).is_ok());
        assert!(read_app(&c, &actor(&["auditor"]), "releases", web).is_err());
        // An empty list is everyone, as everywhere.
        let mut c = read_config("");
        let web = c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap();
        web.access.read = Some(Vec::new());
        let web = app_of(&c, "web");
        assert!(read_app(&c, &actor(&[]), "releases", web).is_ok());
    }

    #[test]
    fn a_project_is_read_by_who_may_build_or_release_it() {
        let c = read_config("");
        let site = project_of(&c, "site");
        assert_eq!(
            project_readers(&c, site),
            Some(vec!["developer".to_string(), "lead".to_string()])
        );
        assert!(read_project(&c, &actor(&["developer"]), "x", site).is_ok());
        assert!(read_project(&c, &actor(&["lead"]), "x", site).is_ok());
        assert!(matches!(
            read_project(&c, &actor(&["deployer"]), "x", site),
            Err(Denied::NeedsRole { .. })
        ));
        // Anyone may release tools: anyone may read it.
        let tools = project_of(&c, "tools");
        assert_eq!(project_readers(&c, tools), None);
        assert!(read_project(&c, &actor(&[]), "x", tools).is_ok());
    }

    fn record(id: u64, spec: crate::job::JobSpec) -> JobRecord {
        let who = crate::job::Person {
            id: "9".into(),
            name: "zoe".into(),
        };
        JobRecord::new(crate::names::JobId(id), spec, who, "releases", 0)
    }

    #[test]
    fn a_job_is_read_only_by_who_may_read_all_it_names() {
        let c = read_config("");
        let branch = crate::names::Branch::parse("main").unwrap();
        let site = ProjectName::parse("site").unwrap();
        let web = AppName::parse("web").unwrap();
        let build = record(
            1,
            crate::job::JobSpec::Build {
                project: site.clone(),
                branch: branch.clone(),
            },
        );
        let release = record(
            2,
            crate::job::JobSpec::Release {
                project: site,
                branch,
                app: web,
            },
        );
        let developer = actor(&["developer"]);
        assert!(read_job(&c, &developer, "releases", &build).is_ok());
        // The release deploys web, which a developer may not read.
        assert_eq!(
            read_job(&c, &developer, "releases", &release).unwrap_err(),
            Denied::JobUnreadable {
                job: crate::names::JobId(2)
            }
        );
        let both = actor(&["developer", "deployer"]);
        assert!(read_job(&c, &both, "releases", &release).is_ok());
        assert!(read_job(&c, &both, "general", &release).is_err());
        // What is no longer configured only admins read.
        let gone = record(
            3,
            crate::job::JobSpec::Build {
                project: ProjectName::parse("gone").unwrap(),
                branch: crate::names::Branch::parse("main").unwrap(),
            },
        );
        assert!(read_job(&c, &both, "releases", &gone).is_err());
        assert!(read_job(&c, &actor(&["admin"]), "releases", &gone).is_ok());
    }

    #[test]
    fn a_history_of_a_name_that_is_a_project_and_an_app_needs_both() {
        let c = Config::demo();
        let mut c = c;
        let web = c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap();
        web.access.deploy = Some(vec!["deployer".into()]);
        assert!(read_history(&c, &actor(&["deployer"]), "x", "web").is_ok());
        assert!(read_history(&c, &actor(&["lead"]), "x", "web").is_ok());
        assert!(read_history(&c, &actor(&[]), "x", "web").is_err());
        let p = c
            .projects
            .get_mut(&ProjectName::parse("web").unwrap())
            .unwrap();
        p.access.read = Some(vec!["developer".into()]);
        assert!(read_history(&c, &actor(&["deployer"]), "x", "web").is_err());
        assert!(read_history(&c, &actor(&["developer", "deployer"]), "x", "web").is_ok());
        // api is only an app, and open.
        assert!(read_history(&c, &actor(&[]), "x", "api").is_ok());
    }

    fn freeze_by(who: &str, scope: Scope) -> Freeze {
        Freeze {
            id: 1,
            scope,
            by: crate::job::Person {
                id: who.into(),
                name: who.into(),
            },
            reason: "incident".into(),
            at_ms: 0,
            until_ms: 1,
            lifted: None,
        }
    }

    #[test]
    fn only_the_freezer_or_an_admin_lifts_a_freeze() {
        let c = config();
        let web = Scope::App(AppName::parse("web").unwrap());
        let carols = freeze_by("carol", web);
        let carol = Actor::new("carol", "carol", vec!["deployer".into()]);
        let bob = Actor::new("bob", "bob", vec!["deployer".into()]);
        let root = Actor::new("root", "root", vec!["admin".into()]);
        assert!(may_lift(&c, &carol, &carols).is_ok());
        assert!(may_lift(&c, &root, &carols).is_ok());
        assert_eq!(
            may_lift(&c, &bob, &carols).unwrap_err(),
            Denied::OthersFreeze {
                scope: "web".into(),
                by: "carol".into()
            }
        );
        // The same name is not the same person.
        let other_carol = Actor::new("carol2", "carol", vec!["deployer".into()]);
        assert!(may_lift(&c, &other_carol, &carols).is_err());
        let all = freeze_by("carol", Scope::All);
        assert_eq!(
            may_lift(&c, &bob, &all).unwrap_err(),
            Denied::OthersFreeze {
                scope: "all apps".into(),
                by: "carol".into()
            }
        );
    }

    #[test]
    fn an_admin_role_name_several_roles_bear_grants_nothing() {
        let mut c = config();
        let fake = actor(&["999", "admin"]).with_ambiguous(vec!["admin".into()]);
        assert!(!is_admin(&c, &fake));
        let web = &c.apps[&AppName::parse("web").unwrap()];
        assert!(app(&c, &fake, "x", web, Action::Deploy).is_err());
        // The real role's holders are not admins by that name either; by id they are.
        let real = actor(&["103", "Admin"]).with_ambiguous(vec!["Admin".into()]);
        assert!(!is_admin(&c, &real));
        c.admins = vec!["103".into()];
        assert!(is_admin(&c, &real));
        assert!(!is_admin(&c, &fake));
        // Elsewhere a name still matches as it always did.
        assert!(fake.has_any_role(&["admin".into()]));
    }

    #[test]
    fn each_app_anyone_may_deploy_is_named_with_the_key_that_closes_it() {
        let open = |text: &str| -> Vec<String> {
            let c = Config::parse(text, "x.toml").unwrap();
            open_apps(&c).iter().map(|o| o.to_string()).collect()
        };
        let apps = "[apps.web]\ncluster=\"c-1\"\nproject=\"p-1\"\napp=\"web\"\n\
                    [apps.api]\ncluster=\"c-1\"\nproject=\"p-1\"\napp=\"api\"\n";
        let none = open(apps);
        assert_eq!(none.len(), 2, "{none:?}");
        assert!(none[0].starts_with("anyone may deploy api: set [apps.api] deploy"));
        assert!(none[1].contains("[access] deploy"), "{none:?}");
        assert!(open(&format!("[access]\ndeploy = [\"d\"]\n{apps}")).is_empty());
        let empty = open(&format!("[access]\ndeploy = []\n{apps}"));
        assert_eq!(empty.len(), 2);
        assert!(empty[0].contains("[access] deploy is empty"), "{empty:?}");
        let one = open(&apps.replace("app=\"web\"\n", "app=\"web\"\ndeploy = []\n"));
        assert_eq!(one.len(), 2);
        assert!(one[1].contains("[apps.web] deploy is empty"), "{one:?}");
        let closed = open(&apps.replace("app=\"web\"\n", "app=\"web\"\ndeploy = [\"d\"]\n"));
        assert_eq!(closed.len(), 1);
        assert!(closed[0].contains("deploy api"), "{closed:?}");
    }
}
