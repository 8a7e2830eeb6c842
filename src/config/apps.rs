//! `[apps.<name>]`: the Rancher app deployed, who approves its deploys, who may deploy
//! it and from where, and its incident settings (rollbacks, promotions, freezes).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::raw::{channels, duration, roles};
use super::{AccessRoles, App, ApprovalPolicy, ConfigError, at};
use crate::freeze::{Schedule, Window};
use crate::names::{AppName, ProjectName};
use crate::paas::{AppId, AppRef, ClusterId, ProjectId, ProjectRef};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApp {
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
    read: Option<Vec<String>>,
    #[serde(default)]
    channels: Vec<String>,
    rollback_approval: Option<bool>,
    #[serde(default)]
    promote_from: Vec<String>,
    #[serde(default)]
    freeze: Vec<String>,
    timezone: Option<String>,
    built_by: Option<String>,
    #[serde(default)]
    announce: Vec<String>,
    #[serde(default)]
    lock_after_rollback: bool,
}

/// Every app, checked; `promote_from` must name apps that exist.
pub(super) fn validate(
    raw: BTreeMap<String, RawApp>,
) -> Result<BTreeMap<AppName, App>, ConfigError> {
    let mut apps = BTreeMap::new();
    for (key, a) in &raw {
        let app = one(key, a)?;
        apps.insert(app.name.clone(), app);
    }
    for app in apps.values() {
        let key = format!("apps.{}.promote_from", app.name);
        for from in &app.promote_from {
            if !apps.contains_key(from) {
                return Err(at(&key, format!("there is no [apps.{from}]")));
            }
            if *from == app.name {
                return Err(at(&key, "an app cannot be promoted into itself"));
            }
        }
    }
    Ok(apps)
}

fn one(key: &str, a: &RawApp) -> Result<App, ConfigError> {
    let k = |field: &str| format!("apps.{key}.{field}");
    let name = AppName::parse(key).map_err(|e| at(&format!("apps.{key}"), e))?;
    let cluster = ClusterId::parse(&a.cluster).map_err(|e| at(&k("cluster"), e))?;
    let project = ProjectId::parse(&a.project).map_err(|e| at(&k("project"), e))?;
    let app = AppId::parse(&a.app).map_err(|e| at(&k("app"), e))?;
    let votes = match a.votes {
        None => 1,
        Some(v) if (1..=20).contains(&v) => v as u32,
        Some(v) => return Err(at(&k("votes"), format!("{v} must be between 1 and 20"))),
    };
    let approvers = roles(&k("approvers"), Some(a.approvers.clone()))?.unwrap_or_default();
    let policy = ApprovalPolicy {
        approvers,
        votes,
        timeout: duration(
            &k("approval_timeout"),
            a.approval_timeout.as_deref(),
            Duration::from_secs(3600),
            Duration::from_millis(100),
        )?,
        allow_self_approval: a.allow_self_approval,
    };
    let promote_from = a
        .promote_from
        .iter()
        .map(|f| AppName::parse(f).map_err(|e| at(&k("promote_from"), e)))
        .collect::<Result<Vec<_>, _>>()?;
    let windows = a
        .freeze
        .iter()
        .map(|w| Window::parse(w).map_err(|e| at(&k("freeze"), e)))
        .collect::<Result<Vec<_>, _>>()?;
    let freeze =
        Schedule::new(windows, a.timezone.as_deref()).map_err(|e| at(&k("timezone"), e))?;
    let built_by = a
        .built_by
        .as_deref()
        .map(|p| ProjectName::parse(p).map_err(|e| at(&k("built_by"), e)))
        .transpose()?;
    Ok(App {
        built_by,
        name,
        rancher: AppRef::new(ProjectRef::new(cluster, project), app),
        policy,
        access: AccessRoles {
            deploy: roles(&k("deploy"), a.deploy.clone())?,
            cancel: roles(&k("cancel"), a.cancel.clone())?,
            read: roles(&k("read"), a.read.clone())?,
            ..AccessRoles::default()
        },
        channels: channels(&k("channels"), a.channels.clone())?,
        rollback_approval: a.rollback_approval.unwrap_or(true),
        promote_from,
        freeze,
        announce: channels(&k("announce"), a.announce.clone())?,
        lock_after_rollback: a.lock_after_rollback,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::names::AppName;

    const APPS: &str = r#"
        [apps.staging]
        cluster = "c-1"
        project = "p-1"
        app = "web-staging"
        [apps.web]
        cluster = "c-1"
        project = "p-1"
        app = "web"
        approvers = ["lead"]
        rollback_approval = false
        promote_from = ["staging"]
        freeze = ["Fri 16:00-Mon 08:00"]
        timezone = "Europe/Berlin"
    "#;

    #[test]
    fn incident_settings_are_read() {
        let c = Config::parse(APPS, "x.toml").unwrap();
        let web = &c.apps[&AppName::parse("web").unwrap()];
        assert!(!web.rollback_approval);
        assert_eq!(web.promote_from, [AppName::parse("staging").unwrap()]);
        assert_eq!(web.freeze.timezone(), "Europe/Berlin");
        assert_eq!(web.freeze.windows()[0].text(), "Fri 16:00-Mon 08:00");
        let staging = &c.apps[&AppName::parse("staging").unwrap()];
        assert!(
            staging.rollback_approval,
            "rollbacks wait for approval by default"
        );
        assert!(staging.freeze.is_empty());
    }

    #[test]
    fn the_project_that_builds_an_app_is_its_built_by_else_the_one_deploying_it() {
        let projects = r#"
            [projects.site]
            cluster = "c-1"
            project = "p-1"
            pipeline = "p-2"
            deploys = "staging"
            [projects.images]
            cluster = "c-1"
            project = "p-1"
            pipeline = "p-3"
        "#;
        let text = format!("{APPS}{projects}");
        let c = Config::parse(
            &text.replace("timezone", "built_by = \"images\"\ntimezone"),
            "x.toml",
        )
        .unwrap();
        let builder = |app: &str| {
            c.builder_of(&AppName::parse(app).unwrap())
                .map(|p| p.name.to_string())
        };
        assert_eq!(builder("web").as_deref(), Some("images"));
        assert_eq!(builder("staging").as_deref(), Some("site"));
        let c = Config::parse(&text, "x.toml").unwrap();
        assert_eq!(c.builder_of(&AppName::parse("web").unwrap()), None);
    }

    #[test]
    fn bad_incident_settings_name_their_key() {
        for (change, key) in [
            (
                ("promote_from = [\"staging\"]", "promote_from = [\"prod\"]"),
                "apps.web.promote_from",
            ),
            (
                ("promote_from = [\"staging\"]", "promote_from = [\"web\"]"),
                "apps.web.promote_from",
            ),
            (("Fri 16:00-Mon 08:00", "Fri 16:00"), "apps.web.freeze"),
            (("Europe/Berlin", "Europe/Atlantis"), "apps.web.timezone"),
        ] {
            let text = APPS.replace(change.0, change.1);
            let e = Config::parse(&text, "x.toml").unwrap_err();
            assert!(e.0.contains(key), "{change:?} gave {e}");
        }
    }
}
