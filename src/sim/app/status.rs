//! What an app shows at a moment (its status), and the JSON each flavour makes of
//! it (`docs/paas.md#apps`, `#rollout-timing`).

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{AppPhase, SimApp};
use crate::sim::model::{RenderContext, fake_uuid};
use crate::sim::scenario::AppFlavour;

/// One of the app's conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition {
    pub kind: &'static str,
    pub status: &'static str,
    pub reason: Option<&'static str>,
    pub message: Option<String>,
    pub updated: Duration,
}

impl Condition {
    fn new(kind: &'static str, status: &'static str, updated: Duration) -> Self {
        Condition {
            kind,
            status,
            reason: None,
            message: None,
            updated,
        }
    }

    fn with_message(mut self, message: &str) -> Self {
        self.message = Some(message.to_string());
        self
    }

    /// A helm error.
    fn error(kind: &'static str, message: &str, updated: Duration) -> Self {
        Condition {
            reason: Some("Error"),
            ..Condition::new(kind, "False", updated).with_message(message)
        }
    }

    /// The condition as JSON; `timestamps: false` for a PaaS that only promises
    /// `type`, `status`, `reason` and `message`.
    fn render(&self, ctx: &RenderContext<'_>, timestamps: bool) -> Value {
        let mut v = json!({"type": self.kind, "status": self.status});
        if timestamps {
            v["lastUpdateTime"] = json!(ctx.time(self.updated));
        }
        if let Some(reason) = self.reason {
            v["reason"] = json!(reason);
        }
        if let Some(message) = &self.message {
            v["message"] = json!(message);
        }
        v
    }
}

/// What the app's status says at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppStatus {
    pub state: &'static str,
    pub transitioning: &'static str,
    pub message: String,
    pub installed: Condition,
    pub deployed: Condition,
    /// The number in `appRevisionId`.
    pub revision: u64,
}

impl AppStatus {
    fn active(installed: Duration, deployed: Duration, revision: u64) -> Self {
        AppStatus {
            state: "active",
            transitioning: "no",
            message: String::new(),
            installed: Condition::new("Installed", "True", installed),
            deployed: Condition::new("Deployed", "True", deployed),
            revision,
        }
    }

    /// A failed helm install, as the simulator has always shown one.
    fn failed(message: &str, at: Duration, deployed: Condition, revision: u64) -> Self {
        AppStatus {
            state: "installing",
            transitioning: "error",
            message: message.to_string(),
            installed: Condition::error("Installed", message, at),
            deployed,
            revision,
        }
    }

    fn installing(since: Duration, deployed: Condition, revision: u64) -> Self {
        AppStatus {
            state: "installing",
            transitioning: "yes",
            message: String::new(),
            installed: Condition::new("Installed", "Unknown", since),
            deployed,
            revision,
        }
    }
}

impl SimApp {
    fn workloads_updating(&self) -> String {
        format!(
            "workloads are updating: deployment:{}:{}",
            self.spec.app, self.spec.app
        )
    }

    /// The status at `now`.
    pub fn status(&self, now: Duration) -> AppStatus {
        let first_deployed = Condition::new("Deployed", "True", self.created);
        let Some(u) = self.latest() else {
            return match &self.spec.failed_before {
                Some(m) => AppStatus::failed(m, self.created, first_deployed, self.revision),
                None => AppStatus::active(self.created, self.created, self.revision),
            };
        };
        let deployed_meanwhile = if u.deployed_kept {
            u.before.deployed.clone()
        } else {
            first_deployed
        };
        let revision_meanwhile = if u.revision_waits_for_helm {
            u.before.revision
        } else {
            u.revision
        };
        match u.phase(now) {
            AppPhase::Pending => u.before.clone(),
            AppPhase::Installing => {
                AppStatus::installing(u.picked(), deployed_meanwhile, revision_meanwhile)
            }
            AppPhase::Settling => AppStatus::active(u.installed(), u.installed(), u.revision),
            AppPhase::Deploying => {
                let updating = self.workloads_updating();
                AppStatus {
                    state: "deploying",
                    transitioning: "yes",
                    message: updating.clone(),
                    installed: Condition::new("Installed", "True", u.installed()),
                    deployed: Condition::new("Deployed", "Unknown", u.rolling())
                        .with_message(&updating),
                    revision: u.revision,
                }
            }
            AppPhase::Active => AppStatus::active(u.installed(), u.done(), u.revision),
            AppPhase::Failed(m) => {
                let since = u.retry_round(now).map_or(u.installed(), |(_, began)| began);
                AppStatus::failed(&m, since, deployed_meanwhile, u.revision)
            }
            AppPhase::Retrying(_) => {
                let since = u.retry_round(now).map_or(u.installed(), |(_, began)| began);
                AppStatus::installing(since, deployed_meanwhile, u.revision)
            }
        }
    }

    /// The app as its flavour serialises it at `now`.
    pub fn render(&self, ctx: &RenderContext<'_>, now: Duration) -> Value {
        self.render_status(ctx, &self.status(now))
    }

    /// What the upgrade action answers, just after it was accepted: the in-house PaaS
    /// the app as it is now; the others the object as the action handler wrote it,
    /// before any controller looked at it (new answers, old status).
    pub fn upgrade_answer(&self, ctx: &RenderContext<'_>, now: Duration) -> Value {
        match (self.spec.flavour, self.latest()) {
            (AppFlavour::Stock | AppFlavour::ConditionsOnly, Some(u)) => {
                self.render_status(ctx, &u.before)
            }
            _ => self.render(ctx, now),
        }
    }

    fn render_status(&self, ctx: &RenderContext<'_>, status: &AppStatus) -> Value {
        let self_url = format!(
            "{}/v3/project/{}/apps/{}",
            ctx.base_url,
            self.project_ref,
            self.id()
        );
        let actions: Map<String, Value> = self
            .actions()
            .into_iter()
            .map(|a| (a.to_string(), json!(format!("{self_url}?action={a}"))))
            .collect();
        let full = self.spec.flavour != AppFlavour::ConditionsOnly;
        let conditions = [
            &Condition::new("Migrated", "True", self.created),
            &status.installed,
            &status.deployed,
        ]
        .map(|c| c.render(ctx, full));
        let mut v = json!({
            "id": self.id(),
            "type": "app",
            "baseType": "app",
            "name": self.spec.app,
            "links": {"self": self_url, "update": self_url, "remove": self_url,
                      "revision": format!("{self_url}/revision")},
            "actions": actions,
            "state": status.state,
            "conditions": conditions,
        });
        if full {
            self.add_stock_fields(ctx, status, &mut v);
        }
        if self.spec.flavour == AppFlavour::InHouse {
            v["versionTag"] = json!(self.tag);
        }
        v
    }

    /// The fields of a stock Rancher app beyond the conditions-only flavour's.
    fn add_stock_fields(&self, ctx: &RenderContext<'_>, status: &AppStatus, v: &mut Value) {
        let app = &self.spec.app;
        let fields = json!({
            "namespaceId": self.spec.project,
            "projectId": self.project_ref,
            "uuid": fake_uuid(&self.id()),
            "created": ctx.time(self.created),
            "createdTS": ctx.ms(self.created),
            "creatorId": null,
            "externalId": format!("catalog://?catalog=library&template={app}&version=1.0.{}", self.revision),
            "answers": {"image.tag": self.tag},
            "appRevisionId": format!("apprevision-{:05}", status.revision),
            "targetNamespace": app,
            "helmVersion": "helm_v3",
            "timeout": 300,
            "valuesYaml": "",
            "transitioning": status.transitioning,
            "transitioningMessage": status.message,
        });
        if let (Some(v), Value::Object(fields)) = (v.as_object_mut(), fields) {
            v.extend(fields);
        }
    }
}
