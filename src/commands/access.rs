//! Who may do what, and from where. Roles come from the adapter (Discord roles by name
//! or id, `[shell.users]` in the terminal); the lists come from `[access]`, overridden
//! per project and app. An empty list means everyone; admins may do everything.

use super::error::Denied;
use crate::chat::Actor;
use crate::config::{AccessRoles, App, Config, Project};

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

pub fn is_admin(config: &Config, actor: &Actor) -> bool {
    actor.has_any_role(&config.admins)
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
}
