//! A run as Rancher serialises it at a moment: stages, conditions and the in-house
//! fields, with the quirks `docs/paas.md#executions` describes (no conditions in the `run`
//! answer, stage states dropped after a failure).

use std::time::Duration;

use serde_json::{Value, json};

use super::{RunPhase, SimExecution};
use crate::sim::model::{RenderContext, fake_uuid};

impl SimExecution {
    /// The execution as Rancher serialises it at `now`. The `run` response has no
    /// conditions yet (`docs/paas.md#running-a-pipeline`), hence `with_conditions`.
    pub fn render(&self, ctx: &RenderContext<'_>, now: Duration, with_conditions: bool) -> Value {
        let phase = self.phase(now);
        let timeline = self.timeline();
        let name = format!("{}-{}", self.pipeline, self.run);
        let self_url = format!(
            "{}/v3/project/{}/pipelineExecutions/{}",
            ctx.base_url,
            self.project_ref,
            self.id()
        );
        let stage_state = |i: usize| -> Option<&'static str> {
            match phase {
                RunPhase::Provisioning => Some("Waiting"),
                RunPhase::Running(r) if i < r => Some("Success"),
                RunPhase::Running(r) if i == r => Some("Building"),
                RunPhase::Running(_) => Some("Waiting"),
                RunPhase::Succeeded => Some("Success"),
                // After a failure the remaining stages lose their state key.
                RunPhase::Failed(f) if i < f => Some("Success"),
                RunPhase::Failed(f) if i == f => Some("Failed"),
                RunPhase::Failed(_) => None,
                RunPhase::Aborted(Some(a)) if i < a => Some("Success"),
                RunPhase::Aborted(Some(a)) if i == a => Some("Aborted"),
                RunPhase::Aborted(_) => None,
            }
        };
        let end = self.end().unwrap_or(now);
        let stages: Vec<Value> = self
            .stages
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let (start, stop) = timeline[i];
                let mut stage = json!({});
                let mut step = json!({});
                if let Some(state) = stage_state(i) {
                    stage["state"] = json!(state);
                    step["state"] = json!(state);
                }
                if now >= start && state_started(stage_state(i)) {
                    stage["started"] = json!(ctx.time(start));
                    step["started"] = json!(ctx.time(start));
                }
                let finished = matches!(stage_state(i), Some("Success" | "Failed" | "Aborted"));
                if finished {
                    let t = if stage_state(i) == Some("Aborted") {
                        end
                    } else {
                        stop
                    };
                    stage["ended"] = json!(ctx.time(t));
                    step["ended"] = json!(ctx.time(t));
                }
                if spec.chart && stage_state(i) == Some("Success") {
                    step["output"] = json!(format!(
                        "Successfully packaged chart and saved it. chart version: {}",
                        self.chart_version()
                    ));
                }
                stage["steps"] = json!([step]);
                stage
            })
            .collect();
        let (execution_state, state, transitioning, message) = match phase {
            RunPhase::Provisioning => ("Waiting", "active", "no", String::new()),
            RunPhase::Running(i) => (
                self.running_state.as_deref().unwrap_or("Building"),
                "building",
                "yes",
                format!("Running '{}' stage", self.stages[i].name),
            ),
            RunPhase::Succeeded => ("Success", "active", "no", String::new()),
            RunPhase::Failed(i) => (
                "Failed",
                "building",
                "error",
                format!("Got FAILED status in '{}' stage", self.stages[i].name),
            ),
            RunPhase::Aborted(_) => ("Aborted", "building", "error", "aborted by user".into()),
        };
        let mut conditions = vec![json!({
            "type": "Initialized", "status": "True",
            "lastUpdateTime": ctx.time(self.created), "lastTransitionTime": ctx.time(self.created)
        })];
        let provisioned = self.created + self.provision;
        if phase == RunPhase::Provisioning {
            conditions.push(json!({"type": "Provisioned", "status": "Unknown",
                "lastUpdateTime": ctx.time(self.created), "message": "Provisioning"}));
        } else {
            conditions.push(json!({"type": "Provisioned", "status": "True",
                "lastUpdateTime": ctx.time(provisioned), "lastTransitionTime": ctx.time(provisioned)}));
            let built = match phase {
                RunPhase::Running(i) => json!({"type": "Built", "status": "Unknown",
                    "lastUpdateTime": ctx.time(timeline[i].0), "message": message}),
                RunPhase::Succeeded => json!({"type": "Built", "status": "True",
                    "lastUpdateTime": ctx.time(end), "lastTransitionTime": ctx.time(end)}),
                _ => json!({"type": "Built", "status": "False", "reason": "Error",
                    "lastUpdateTime": ctx.time(end), "lastTransitionTime": ctx.time(end),
                    "message": message}),
            };
            conditions.push(built);
        }
        let mut v = json!({
            "id": self.id(),
            "type": "pipelineExecution",
            "baseType": "pipelineExecution",
            "links": {
                "self": self_url, "update": self_url, "remove": self_url,
                "log": format!("{self_url}/log"),
            },
            "actions": {},
            "name": name,
            "namespaceId": self.project,
            "projectId": self.project_ref,
            "pipelineId": format!("{}:{}", self.project, self.pipeline),
            "uuid": fake_uuid(&self.id()),
            "created": ctx.time(self.created),
            "createdTS": ctx.ms(self.created),
            "creatorId": null,
            "labels": {},
            "run": self.run,
            "triggeredBy": "user",
            "triggerUserId": "user-releasebot",
            "branch": self.branch,
            "ref": self.branch,
            "commit": self.commit,
            "message": self.commit_spec.message,
            "mergeRequestIid": 0,
            "author": self.commit_spec.author,
            "repositoryUrl": format!("https://git.example.com/team/{}.git", self.pipeline),
            "htmlLink": format!("https://git.example.com/team/{}/commit/{}", self.pipeline, self.commit),
            "pipelineConfig": {
                "timeout": 60,
                "stages": self.stages.iter().map(|s| json!({"name": s.name, "steps": [{}]})).collect::<Vec<_>>(),
            },
            "executionState": execution_state,
            "stages": stages,
            "state": state,
            "transitioning": transitioning,
            "transitioningMessage": message,
        });
        if phase != RunPhase::Provisioning {
            v["started"] = json!(ctx.time(provisioned));
        }
        if phase.is_final() {
            v["ended"] = json!(ctx.time(end));
            v["labels"] = json!({"pipeline.project.cattle.io/finish": "true"});
        } else {
            v["actions"] = json!({"stop": format!("{self_url}?action=stop")});
        }
        // Not every git provider says who committed by e-mail.
        if let Some(email) = &self.commit_spec.email {
            v["email"] = json!(email);
        }
        if with_conditions {
            v["conditions"] = json!(conditions);
        }
        if phase == RunPhase::Succeeded && self.fields_at().is_some_and(|t| now >= t) {
            let tag = self.version_tag();
            v["versionTag"] = json!(tag);
            v["dockerImage"] = json!(format!("{}:{tag}", self.image));
        }
        v
    }
}

fn state_started(state: Option<&str>) -> bool {
    matches!(state, Some("Building" | "Success" | "Failed" | "Aborted"))
}
