//! One app: its upgrades, each a plan fixed when it is accepted.

use std::time::Duration;

use serde_json::{Value, json};

use super::model::{RenderContext, fake_uuid, secs};
use super::scenario::{AppScenario, LogShape};

/// How an app stands at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AppPhase {
    Active,
    Installing,
    Deploying,
    Failed(String),
}

/// An upgrade in progress or done.
#[derive(Debug, Clone)]
pub(crate) struct SimUpgrade {
    pub at: Duration,
    pub from: String,
    pub install: Duration,
    pub rollout: Duration,
    pub fail: Option<String>,
}

/// One app.
#[derive(Debug, Clone)]
pub(crate) struct SimApp {
    pub project_ref: String,
    pub spec: AppScenario,
    /// The tag of the latest upgrade (or the initial one).
    pub tag: String,
    pub revision: u64,
    pub upgrade: Option<SimUpgrade>,
    pub created: Duration,
    /// Every upgrade so far, with its tag, for the timeline.
    pub history: Vec<(String, SimUpgrade)>,
}

impl SimApp {
    pub fn new(project_ref: &str, spec: AppScenario, created: Duration) -> Self {
        SimApp {
            project_ref: project_ref.to_string(),
            tag: spec.current_tag.clone().unwrap_or_else(|| "initial".into()),
            spec,
            revision: 1,
            upgrade: None,
            created,
            history: Vec::new(),
        }
    }

    pub fn id(&self) -> String {
        format!("{}:{}", self.spec.project, self.spec.app)
    }

    /// The actions the app offers: stock Rancher's `upgrade` and `rollback`, and the
    /// in-house `upgradeoutter` unless the scenario takes it away.
    pub fn actions(&self) -> Vec<&'static str> {
        let mut actions = vec!["upgrade", "rollback"];
        if self.spec.offers_upgradeoutter {
            actions.push("upgradeoutter");
        }
        actions
    }

    pub fn phase(&self, now: Duration) -> AppPhase {
        let Some(u) = &self.upgrade else {
            return AppPhase::Active;
        };
        if now < u.at + u.install {
            AppPhase::Installing
        } else if let Some(message) = &u.fail {
            AppPhase::Failed(message.clone())
        } else if now < u.at + u.install + u.rollout {
            AppPhase::Deploying
        } else {
            AppPhase::Active
        }
    }

    pub fn next_change(&self, now: Duration) -> Option<Duration> {
        let u = self.upgrade.as_ref()?;
        let install = u.at + u.install;
        let done = install + u.rollout;
        [install, done]
            .into_iter()
            .filter(|t| *t > now && (u.fail.is_none() || *t <= install))
            .min()
    }

    /// Starts an upgrade to `tag` at `now`; a new one replaces one in progress.
    pub fn upgrade(&mut self, tag: &str, now: Duration) {
        let from = self.live_tag(now);
        self.tag = tag.to_string();
        self.revision += 1;
        let upgrade = SimUpgrade {
            at: now,
            from,
            install: secs(self.spec.install_seconds),
            rollout: secs(self.spec.rollout_seconds),
            fail: self.spec.fail.clone(),
        };
        self.history.push((tag.to_string(), upgrade.clone()));
        self.upgrade = Some(upgrade);
    }

    /// What each upgrade went through up to `now`, as (time, what a progress message
    /// shows for it): `installing`, `deploying`, `✅ active`. An upgrade replaced by a
    /// later one stops where it was.
    pub fn upgrade_events(&self, now: Duration) -> Vec<(String, Vec<(Duration, &'static str)>)> {
        self.history
            .iter()
            .enumerate()
            .map(|(i, (tag, u))| {
                let until = self
                    .history
                    .get(i + 1)
                    .map_or(now, |(_, next)| next.at.min(now));
                let mut events = vec![(u.at, "installing")];
                if u.fail.is_none() {
                    events.push((u.at + u.install, "deploying"));
                    events.push((u.at + u.install + u.rollout, "✅ active"));
                }
                events.retain(|(t, _)| *t <= until);
                (tag.clone(), events)
            })
            .collect()
    }

    /// The tag the running pods have: the new one once an upgrade succeeded.
    pub fn live_tag(&self, now: Duration) -> String {
        match (&self.upgrade, self.phase(now)) {
            (Some(u), AppPhase::Installing | AppPhase::Deploying | AppPhase::Failed(_)) => {
                u.from.clone()
            }
            _ => self.tag.clone(),
        }
    }

    pub fn render(&self, ctx: &RenderContext<'_>, now: Duration) -> Value {
        let self_url = format!(
            "{}/v3/project/{}/apps/{}",
            ctx.base_url,
            self.project_ref,
            self.id()
        );
        let phase = self.phase(now);
        let changed = self.upgrade.as_ref().map_or(self.created, |u| u.at);
        let installed_at = self
            .upgrade
            .as_ref()
            .map_or(self.created, |u| (u.at + u.install).min(now.max(u.at)));
        let workloads = format!("deployment:{}:{}", self.spec.app, self.spec.app);
        let (state, transitioning, message, installed, deployed) = match &phase {
            AppPhase::Installing => (
                "installing",
                "yes",
                String::new(),
                json!({"type": "Installed", "status": "Unknown", "lastUpdateTime": ctx.time(changed)}),
                json!({"type": "Deployed", "status": "True", "lastUpdateTime": ctx.time(self.created)}),
            ),
            AppPhase::Deploying => (
                "deploying",
                "yes",
                format!("workloads are updating: {workloads}"),
                json!({"type": "Installed", "status": "True", "lastUpdateTime": ctx.time(installed_at)}),
                json!({"type": "Deployed", "status": "Unknown", "lastUpdateTime": ctx.time(installed_at),
                       "message": format!("workloads are updating: {workloads}")}),
            ),
            AppPhase::Active => {
                let done = self
                    .upgrade
                    .as_ref()
                    .map_or(self.created, |u| u.at + u.install + u.rollout);
                (
                    "active",
                    "no",
                    String::new(),
                    json!({"type": "Installed", "status": "True", "lastUpdateTime": ctx.time(installed_at)}),
                    json!({"type": "Deployed", "status": "True", "lastUpdateTime": ctx.time(done)}),
                )
            }
            AppPhase::Failed(m) => (
                "installing",
                "error",
                m.clone(),
                json!({"type": "Installed", "status": "False", "reason": "Error",
                       "lastUpdateTime": ctx.time(installed_at), "message": m}),
                json!({"type": "Deployed", "status": "True", "lastUpdateTime": ctx.time(self.created)}),
            ),
        };
        json!({
            "id": self.id(),
            "type": "app",
            "baseType": "app",
            "name": self.spec.app,
            "namespaceId": self.spec.project,
            "projectId": self.project_ref,
            "links": {"self": self_url, "update": self_url, "remove": self_url,
                      "revision": format!("{self_url}/revision")},
            "actions": self.actions().iter().map(|a| (a.to_string(), json!(format!("{self_url}?action={a}")))).collect::<serde_json::Map<_, _>>(),
            "uuid": fake_uuid(&self.id()),
            "created": ctx.time(self.created),
            "createdTS": ctx.ms(self.created),
            "creatorId": null,
            "externalId": format!("catalog://?catalog=library&template={}&version=1.0.{}", self.spec.app, self.revision),
            "answers": {"image.tag": self.tag},
            "appRevisionId": format!("apprevision-{:05}", self.revision),
            "targetNamespace": self.spec.app,
            "helmVersion": "helm_v3",
            "timeout": 300,
            "valuesYaml": "",
            "versionTag": self.tag,
            "state": state,
            "transitioning": transitioning,
            "transitioningMessage": message,
            "conditions": [
                {"type": "Migrated", "status": "True", "lastUpdateTime": ctx.time(self.created)},
                installed,
                deployed,
            ],
        })
    }

    /// The deploy log lines of the running pods, or `None` where the endpoint is
    /// missing (the `missing` log shape).
    pub fn log_lines(&self, ctx: &RenderContext<'_>, now: Duration) -> Option<Vec<String>> {
        if self.spec.logs == LogShape::Missing {
            return None;
        }
        if let Some(lines) = &self.spec.log_lines {
            return Some(lines.clone());
        }
        let started = self
            .upgrade
            .as_ref()
            .filter(|_| self.phase(now) == AppPhase::Active)
            .map_or(self.created, |u| u.at + u.install);
        let t = |offset: u64| ctx.time(started + Duration::from_secs(offset));
        let app = &self.spec.app;
        let tag = self.live_tag(now);
        Some(vec![
            format!("{} INFO  {app} starting, version {tag}", t(0)),
            format!(
                "{} INFO  loading configuration from /etc/{app}/config.yaml",
                t(0)
            ),
            format!(
                "{} INFO  connecting to postgres host=db.internal user={app} password=s3cr3t-{app}-pw",
                t(1)
            ),
            format!("{} WARN  cache warm-up took 2.1s", t(3)),
            format!("{} INFO  ready: listening on :8080", t(3)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::Scenario;

    #[test]
    fn an_upgrade_goes_installing_deploying_active() {
        let spec = Scenario::demo().apps[0].clone();
        let mut app = SimApp::new("c-64wdm:p-5tfq9", spec, Duration::ZERO);
        app.upgrade("v2", Duration::from_secs(10));
        assert_eq!(app.phase(Duration::from_secs(11)), AppPhase::Installing);
        assert_eq!(app.phase(Duration::from_secs(17)), AppPhase::Deploying);
        assert_eq!(app.phase(Duration::from_secs(31)), AppPhase::Active);
        assert_eq!(app.live_tag(Duration::from_secs(11)), "master-56-9ae1b20");
        assert_eq!(app.live_tag(Duration::from_secs(31)), "v2");
    }
}
