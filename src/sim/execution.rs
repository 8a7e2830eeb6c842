//! One pipeline run: the stage plan fixed when it starts, and a stop if one came.

use std::time::Duration;

use serde_json::{Value, json};

use super::model::{RenderContext, fake_sha, fake_uuid, secs};
use super::scenario::{PipelineScenario, StageSpec};

/// Where a run stands at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunPhase {
    Provisioning,
    Running(usize),
    Succeeded,
    Failed(usize),
    /// Stopped by a user, while the given stage ran (or before any did).
    Aborted(Option<usize>),
}

impl RunPhase {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunPhase::Succeeded | RunPhase::Failed(_) | RunPhase::Aborted(_)
        )
    }
}

/// One pipeline run.
#[derive(Debug, Clone)]
pub(crate) struct SimExecution {
    pub project_ref: String,
    pub project: String,
    pub pipeline: String,
    pub run: u64,
    pub branch: String,
    pub created: Duration,
    pub commit: String,
    /// Every stage, the automatic `Clone` first.
    pub stages: Vec<StageSpec>,
    pub provision: Duration,
    pub fail_at: Option<usize>,
    pub stopped: Option<Duration>,
    pub version_tags: bool,
    /// How long after `Success` the in-house `dockerImage`/`versionTag` appear.
    pub fields_delay: Duration,
    /// What `executionState` says while stages run (`Building` unless the scenario
    /// names another).
    pub running_state: Option<String>,
    pub image: String,
}

impl SimExecution {
    pub fn new(
        project_ref: &str,
        spec: &PipelineScenario,
        run: u64,
        branch: &str,
        created: Duration,
    ) -> Self {
        let mut stages = vec![StageSpec {
            name: "Clone".into(),
            seconds: spec.clone_seconds,
            chart: false,
        }];
        stages.extend(spec.stages.iter().cloned());
        let fail_at = spec
            .fail_at
            .as_ref()
            .and_then(|f| stages.iter().position(|s| &s.name == f));
        let project = spec.project.clone();
        SimExecution {
            project_ref: project_ref.to_string(),
            commit: fake_sha(&format!("{project_ref}/{}/{run}/{branch}", spec.pipeline)),
            image: spec
                .image
                .clone()
                .unwrap_or_else(|| format!("registry.local/{project}/{}", spec.pipeline)),
            project,
            pipeline: spec.pipeline.clone(),
            run,
            branch: branch.to_string(),
            created,
            stages,
            provision: secs(spec.provision_seconds),
            fail_at,
            stopped: None,
            version_tags: spec.version_tags,
            fields_delay: secs(spec.fields_delay_seconds),
            running_state: spec.unknown_state.clone(),
        }
    }

    pub fn id(&self) -> String {
        format!("{}:{}-{}", self.project, self.pipeline, self.run)
    }

    /// (start, end) of each stage in simulated time.
    fn timeline(&self) -> Vec<(Duration, Duration)> {
        let mut at = self.created + self.provision;
        self.stages
            .iter()
            .map(|s| {
                let start = at;
                at += secs(s.seconds);
                (start, at)
            })
            .collect()
    }

    /// What the run went through up to `now`, as (time, what a progress message shows
    /// for it): `🔄 Build` when a stage starts, `✅ Build ` when it succeeds.
    pub fn events(&self, now: Duration) -> Vec<(Duration, String)> {
        let end = self.end().unwrap_or(now).min(now);
        let mut events = Vec::new();
        for (i, ((start, stop), stage)) in self.timeline().into_iter().zip(&self.stages).enumerate()
        {
            if start <= end && start < stop {
                events.push((start, format!("🔄 {}", stage.name)));
            }
            if stop <= end {
                let mark = if self.fail_at == Some(i) {
                    "❌"
                } else {
                    "✅"
                };
                events.push((stop, format!("{mark} {} ", stage.name)));
            }
            if self.fail_at == Some(i) {
                break;
            }
        }
        events
    }

    /// When the run ends by itself (success, or the failing stage's end).
    fn natural_end(&self) -> Duration {
        let timeline = self.timeline();
        let last = self.fail_at.unwrap_or(timeline.len().saturating_sub(1));
        timeline
            .get(last)
            .map(|t| t.1)
            .unwrap_or(self.created + self.provision)
    }

    pub fn end(&self) -> Option<Duration> {
        let natural = self.natural_end();
        Some(self.stopped.map_or(natural, |s| s.min(natural)))
    }

    pub fn phase(&self, now: Duration) -> RunPhase {
        let timeline = self.timeline();
        let running_at = |t: Duration| timeline.iter().position(|(s, e)| t >= *s && t < *e);
        if let Some(stop) = self.stopped
            && now >= stop
            && stop < self.natural_end()
        {
            return RunPhase::Aborted(running_at(stop));
        }
        if now < self.created + self.provision {
            return RunPhase::Provisioning;
        }
        if now >= self.natural_end() {
            return match self.fail_at {
                Some(i) => RunPhase::Failed(i),
                None => RunPhase::Succeeded,
            };
        }
        match running_at(now) {
            Some(i) => RunPhase::Running(i),
            // Zero-length stages leave no running stage at their instant.
            None => RunPhase::Running(timeline.iter().rposition(|(s, _)| now >= *s).unwrap_or(0)),
        }
    }

    /// The next simulated moment after `now` at which the JSON changes, if any.
    pub fn next_change(&self, now: Duration) -> Option<Duration> {
        if self.phase(now).is_final() {
            return self.fields_at().filter(|t| *t > now);
        }
        let end = self.end()?;
        std::iter::once(self.created + self.provision)
            .chain(self.timeline().into_iter().flat_map(|(s, e)| [s, e]))
            .chain([end])
            .filter(|t| *t > now && *t <= end)
            .min()
    }

    /// When the in-house `dockerImage`/`versionTag` appear, for a run that succeeds.
    fn fields_at(&self) -> Option<Duration> {
        let succeeds =
            self.fail_at.is_none() && self.stopped.is_none_or(|s| s >= self.natural_end());
        (self.version_tags && succeeds).then(|| self.natural_end() + self.fields_delay)
    }

    pub fn version_tag(&self) -> String {
        let branch: String = self
            .branch
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let tag = format!("{branch}-{}-{}", self.run, &self.commit[..7]);
        tag.chars().take(128).collect()
    }

    pub fn chart_version(&self) -> String {
        format!("0.{}.{}", self.run / 100, self.run % 100)
    }

    /// The execution as Rancher serialises it at `now`. The `run` response has no
    /// conditions yet (`paas-api.md`), hence `with_conditions`.
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
            "message": format!("Merge branch '{}' (run {})", self.branch, self.run),
            "mergeRequestIid": 0,
            "author": "releasebot-sim",
            "email": "sim@example.com",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::Scenario;
    use std::time::SystemTime;

    fn ctx() -> RenderContext<'static> {
        RenderContext {
            base_url: "http://127.0.0.1:1",
            epoch: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    fn web_run() -> SimExecution {
        let spec = &Scenario::demo().pipelines[0];
        SimExecution::new("c-64wdm:p-5tfq9", spec, 57, "master", Duration::ZERO)
    }

    #[test]
    fn a_run_walks_through_its_stages_by_time() {
        let e = web_run();
        assert_eq!(e.phase(Duration::from_secs(1)), RunPhase::Provisioning);
        assert_eq!(e.phase(Duration::from_secs(5)), RunPhase::Running(0));
        assert_eq!(e.phase(Duration::from_secs(8)), RunPhase::Running(1));
        // 3 provisioning + 4 + 51 + 22 + 6 = 86
        assert_eq!(e.phase(Duration::from_secs(85)), RunPhase::Running(3));
        assert_eq!(e.phase(Duration::from_secs(86)), RunPhase::Succeeded);
        let v = e.render(&ctx(), Duration::from_secs(90), true);
        assert_eq!(v["executionState"], "Success");
        assert_eq!(v["versionTag"], e.version_tag());
        assert!(
            v["dockerImage"]
                .as_str()
                .unwrap()
                .ends_with(&e.version_tag())
        );
    }

    #[test]
    fn a_failed_run_drops_the_state_of_later_stages() {
        let mut e = web_run();
        e.fail_at = Some(1);
        let v = e.render(&ctx(), Duration::from_secs(200), true);
        assert_eq!(v["executionState"], "Failed");
        assert_eq!(v["state"], "building");
        assert_eq!(v["transitioning"], "error");
        assert!(v["stages"][2].get("state").is_none());
        assert_eq!(
            v["conditions"][2]["message"],
            "Got FAILED status in 'Build' stage"
        );
        assert!(v.get("versionTag").is_none());
    }

    #[test]
    fn next_change_visits_every_boundary_then_stops() {
        let e = web_run();
        let mut t = Duration::ZERO;
        let mut seen = 0;
        while let Some(next) = e.next_change(t) {
            assert!(next > t);
            t = next;
            seen += 1;
        }
        assert_eq!(e.phase(t), RunPhase::Succeeded);
        assert_eq!(seen, 5);
    }

    fn run_of(spec: PipelineScenario) -> SimExecution {
        SimExecution::new("c-64wdm:p-5tfq9", &spec, 57, "master", Duration::ZERO)
    }

    #[test]
    fn the_image_and_tag_can_come_after_success() {
        let spec = PipelineScenario {
            fields_delay_seconds: 5.0,
            ..Scenario::demo().pipelines[0].clone()
        };
        let e = run_of(spec);
        let at = Duration::from_secs_f64;
        for t in [86.0, 90.9] {
            let v = e.render(&ctx(), at(t), true);
            assert_eq!(v["executionState"], "Success");
            assert!(v.get("versionTag").is_none() && v.get("dockerImage").is_none());
        }
        let v = e.render(&ctx(), at(91.0), true);
        assert_eq!(v["versionTag"], e.version_tag());
        assert!(v["dockerImage"].is_string());
        assert_eq!(e.next_change(at(86.0)), Some(at(91.0)));
        assert_eq!(e.next_change(at(91.0)), None);
        // A failed run never gets them.
        let mut failed = e.clone();
        failed.fail_at = Some(1);
        assert_eq!(failed.next_change(at(200.0)), None);
    }

    #[test]
    fn a_run_may_show_an_unknown_state_while_it_builds() {
        let spec = PipelineScenario {
            unknown_state: Some("Running".into()),
            ..Scenario::demo().pipelines[0].clone()
        };
        let e = run_of(spec);
        let building = e.render(&ctx(), Duration::from_secs(10), true);
        assert_eq!(building["executionState"], "Running");
        assert_eq!(building["stages"][1]["state"], "Building");
        assert_eq!(building["conditions"][2]["status"], "Unknown");
        assert_eq!(
            building["conditions"][2]["message"],
            "Running 'Build' stage"
        );
        let waiting = e.render(&ctx(), Duration::from_secs(1), true);
        assert_eq!(waiting["executionState"], "Waiting");
        let done = e.render(&ctx(), Duration::from_secs(90), true);
        assert_eq!(done["executionState"], "Success");
    }
}
