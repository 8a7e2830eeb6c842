//! A pipeline execution (a build) as releasebot reads it: its state, its stages named
//! from the pipeline configuration, and the outcome decided from `executionState` and
//! the `Built` condition rather than the misleading derived `state`
//! (`docs/paas.md#executions`).

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::output::{CHART_VERSION, IMAGE_TAG, find_output};
use super::{Condition, ConditionStatus, DecodeError, Fields, decode_conditions, find_condition};
use crate::ids::ExecutionId;

/// Rancher's `executionState` (`docs/paas.md#executions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionState {
    Waiting,
    Building,
    Success,
    Failed,
    Skipped,
    Aborted,
    Queueing,
    Pending,
    Denied,
    /// A value this version of releasebot does not know: the build counts as running
    /// until the `Built` condition says otherwise (the in-house PaaS is still changing).
    Other(String),
}

impl ExecutionState {
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "waiting" => Self::Waiting,
            "building" => Self::Building,
            "success" => Self::Success,
            "failed" => Self::Failed,
            "skipped" => Self::Skipped,
            "aborted" => Self::Aborted,
            "queueing" => Self::Queueing,
            "pending" => Self::Pending,
            "denied" => Self::Denied,
            _ => Self::Other(s.to_string()),
        }
    }

    /// Unfinished states are `Waiting`, `Building`, `Queueing` and `Pending`, and any
    /// value not known here; every other value is final.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Self::Waiting | Self::Building | Self::Queueing | Self::Pending | Self::Other(_)
        )
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Waiting => "Waiting",
            Self::Building => "Building",
            Self::Success => "Success",
            Self::Failed => "Failed",
            Self::Skipped => "Skipped",
            Self::Aborted => "Aborted",
            Self::Queueing => "Queueing",
            Self::Pending => "Pending",
            Self::Denied => "Denied",
            Self::Other(s) => s,
        }
    }
}

/// One stage of an execution, with the name taken from the pipeline configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    /// `None` when Rancher left the key out, as it does for the stages after a failure.
    pub state: Option<ExecutionState>,
    pub started: Option<SystemTime>,
    pub ended: Option<SystemTime>,
}

impl Stage {
    pub fn duration(&self) -> Option<Duration> {
        self.ended?.duration_since(self.started?).ok()
    }
}

/// What became of a build, decided from `executionState` and the `Built` condition,
/// never from the misleading derived `state`, which says `active` before the build is
/// provisioned and `building` after it failed (`docs/paas.md#executions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildStatus {
    /// Still running; the stage is named when Rancher says which.
    Running {
        stage: Option<String>,
    },
    Succeeded,
    /// Failed (or denied/skipped), with the stage and Rancher's condition message.
    Failed {
        stage: Option<String>,
        message: String,
    },
    /// Stopped by a user.
    Aborted {
        message: String,
    },
}

impl BuildStatus {
    pub fn is_final(&self) -> bool {
        !matches!(self, BuildStatus::Running { .. })
    }
}

/// A pipeline execution (a build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub id: ExecutionId,
    pub run: u64,
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub message: Option<String>,
    pub author: Option<String>,
    /// The commit's page at the git provider (`htmlLink`), when it says: an http(s)
    /// URL, redacted like any text.
    pub html_link: Option<String>,
    pub triggered_by: Option<String>,
    pub execution_state: Option<ExecutionState>,
    pub created: Option<SystemTime>,
    pub started: Option<SystemTime>,
    pub ended: Option<SystemTime>,
    pub conditions: Vec<Condition>,
    pub stages: Vec<Stage>,
    /// The in-house `dockerImage` field; absent on a stock Rancher.
    pub docker_image: Option<String>,
    /// The in-house `versionTag` field; absent on a stock Rancher.
    pub version_tag: Option<String>,
    /// A Helm chart version named in a stage's output, when a stage reports one.
    pub chart_version: Option<String>,
    /// A docker image tag named in a stage's output, when a stage reports one.
    pub output_image_tag: Option<String>,
    pub transitioning_message: Option<String>,
}

impl Execution {
    pub fn decode(v: &Value) -> Result<Self, DecodeError> {
        let err = |problem: &str| DecodeError {
            what: "pipeline execution",
            problem: problem.to_string(),
        };
        let f = Fields::of(v).ok_or_else(|| err("it is not a JSON object"))?;
        let id = f.str("id").ok_or_else(|| err("it has no id"))?;
        let id = ExecutionId::parse(id).map_err(|e| err(&e.to_string()))?;
        let created = f.time("created").or_else(|| {
            f.u64("createdTS")
                .map(|ms| std::time::UNIX_EPOCH + Duration::from_millis(ms))
        });
        let raw_stages = f.array("stages");
        let stages = stage_views(&f, raw_stages);
        Ok(Execution {
            run: f.u64("run").unwrap_or(id.run),
            id,
            branch: f.string("branch"),
            commit: f.string("commit"),
            message: f.string("message"),
            author: f.string("author"),
            html_link: f
                .string("htmlLink")
                .filter(|l| l.starts_with("https://") || l.starts_with("http://")),
            triggered_by: f.string("triggeredBy"),
            execution_state: f
                .str("executionState")
                .filter(|s| !s.is_empty())
                .map(ExecutionState::parse),
            created,
            started: f.time("started"),
            ended: f.time("ended"),
            conditions: decode_conditions(&f),
            stages,
            docker_image: f.string("dockerImage"),
            version_tag: f.string("versionTag"),
            chart_version: raw_stages
                .iter()
                .find_map(|s| find_output(s, &CHART_VERSION)),
            output_image_tag: raw_stages.iter().find_map(|s| find_output(s, &IMAGE_TAG)),
            transitioning_message: f.string("transitioningMessage"),
        })
    }

    pub fn condition(&self, kind: &str) -> Option<&Condition> {
        find_condition(&self.conditions, kind)
    }

    /// The outcome, from `executionState` first and the `Built` condition when the
    /// state is missing (the seed's `run` response has neither).
    pub fn status(&self) -> BuildStatus {
        let built = self.condition("Built");
        let built_message = built.and_then(|c| c.message.clone());
        let failed_stage = self
            .stages
            .iter()
            .find(|s| matches!(s.state, Some(ExecutionState::Failed)))
            .map(|s| s.name.clone())
            .or_else(|| built_message.as_deref().and_then(quoted_stage));
        let failed = |default: &str| BuildStatus::Failed {
            stage: failed_stage.clone(),
            message: built_message
                .clone()
                .or_else(|| self.transitioning_message.clone())
                .unwrap_or_else(|| default.to_string()),
        };
        let by_condition = || match built.map(|c| c.status) {
            Some(ConditionStatus::True) => BuildStatus::Succeeded,
            Some(ConditionStatus::False) if built_message.as_deref() == Some("aborted by user") => {
                BuildStatus::Aborted {
                    message: "aborted by user".into(),
                }
            }
            Some(ConditionStatus::False) => failed("the build failed"),
            _ => BuildStatus::Running {
                stage: self.running_stage(),
            },
        };
        match &self.execution_state {
            Some(ExecutionState::Success) => BuildStatus::Succeeded,
            Some(ExecutionState::Failed) => failed("the build failed"),
            Some(ExecutionState::Denied) => failed("the build was denied"),
            Some(ExecutionState::Skipped) => failed("the build was skipped"),
            Some(ExecutionState::Aborted) => BuildStatus::Aborted {
                message: built_message.unwrap_or_else(|| "aborted by user".into()),
            },
            // A state this releasebot does not know: the `Built` condition decides.
            Some(ExecutionState::Other(_)) | None => by_condition(),
            Some(_) => BuildStatus::Running {
                stage: self.running_stage(),
            },
        }
    }

    fn running_stage(&self) -> Option<String> {
        self.stages
            .iter()
            .find(|s| matches!(s.state, Some(ExecutionState::Building)))
            .map(|s| s.name.clone())
            .or_else(|| {
                self.condition("Built")
                    .and_then(|c| c.message.as_deref())
                    .and_then(quoted_stage)
            })
    }

    /// The version tag to deploy: the in-house `versionTag`, or failing that a
    /// docker image tag a stage reported. `None` on a stock Rancher that reports neither.
    pub fn deployable_tag(&self) -> Option<&str> {
        self.version_tag
            .as_deref()
            .or(self.output_image_tag.as_deref())
    }
}

/// Pairs the status `stages` with the names in `pipelineConfig.stages` (same index).
/// Rancher prepends a `Clone` stage when the first step is not a clone step; when the
/// status has one stage more than the configuration names, the first is that `Clone`.
fn stage_views(f: &Fields<'_>, raw: &[Value]) -> Vec<Stage> {
    let names: Vec<String> = f
        .get("pipelineConfig")
        .and_then(Fields::of)
        .map(|c| {
            c.array("stages")
                .iter()
                .map(|s| {
                    Fields::of(s)
                        .and_then(|s| s.string("name"))
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    let offset = usize::from(raw.len() == names.len() + 1);
    raw.iter()
        .enumerate()
        .map(|(i, s)| {
            let name = if offset == 1 && i == 0 {
                "Clone".to_string()
            } else {
                names
                    .get(i - offset)
                    .filter(|n| !n.is_empty())
                    .cloned()
                    .unwrap_or_else(|| format!("stage {}", i + 1))
            };
            let sf = Fields::of(s);
            Stage {
                name,
                state: sf
                    .as_ref()
                    .and_then(|s| s.str("state"))
                    .filter(|s| !s.is_empty())
                    .map(ExecutionState::parse),
                started: sf.as_ref().and_then(|s| s.time("started")),
                ended: sf.as_ref().and_then(|s| s.time("ended")),
            }
        })
        .collect()
}

/// `Running 'Build' stage` / `Got FAILED status in 'Build' stage` → `Build`.
fn quoted_stage(message: &str) -> Option<String> {
    let start = message.find('\'')? + 1;
    let len = message[start..].find('\'')?;
    Some(message[start..start + len].to_string()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn everything_an_execution_says_is_redacted_as_it_is_read() {
        let v = json!({
            "id": "p-1:p-2-3",
            "message": "rotate creds\n\nDB_PASSWORD=hunter2-commit and ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "author": "bob password=hunter2-author",
            "transitioningMessage": "clone https://x:hunter2-clone@git.example.com/r",
            "pipelineConfig": {"stages": [{"name": "Build token=hunter2-stage"}]},
            "conditions": [{"type": "Built", "status": "False",
                "message": "Got FAILED status: Authorization: Bearer hunter2-condition-1"}],
            "stages": [{"state": "Success"}, {"state": "Failed"}]
        });
        let e = Execution::decode(&v).unwrap();
        let seen = format!("{e:?}");
        for secret in ["hunter2", "ghp_16C7e42F"] {
            assert!(!seen.contains(secret), "{secret} survived: {seen}");
        }
        assert!(e.message.unwrap().starts_with("rotate creds"));
        assert_eq!(e.stages[1].name, "Build token=[redacted]");
    }

    #[test]
    fn the_commit_link_is_an_http_link_or_nothing() {
        let link = |l: &str| {
            Execution::decode(&json!({"id": "p-1:p-2-3", "htmlLink": l}))
                .unwrap()
                .html_link
        };
        let commit = "https://git.example.com/team/web/commit/5132c81";
        assert_eq!(link(commit).as_deref(), Some(commit));
        assert_eq!(link("javascript:alert(1)"), None);
        assert_eq!(link(""), None);
    }

    #[test]
    fn stage_names_come_from_the_pipeline_config_with_the_clone_quirk() {
        let v = json!({
            "id": "p-1:p-2-3",
            "pipelineConfig": {"stages": [{"name": "Build"}, {"name": "Publish"}]},
            "stages": [{"state": "Success"}, {"state": "Failed"}, {}]
        });
        let e = Execution::decode(&v).unwrap();
        let names: Vec<_> = e.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Clone", "Build", "Publish"]);
        assert_eq!(e.stages[2].state, None);
    }

    #[test]
    fn a_failed_build_names_its_stage_and_rancher_message() {
        let v = json!({
            "id": "p-1:p-2-3", "executionState": "Failed", "state": "building",
            "pipelineConfig": {"stages": [{"name": "Clone"}, {"name": "Build"}]},
            "stages": [{"state": "Success"}, {"state": "Failed"}],
            "conditions": [{"type": "Built", "status": "False", "reason": "Error",
                            "message": "Got FAILED status in 'Build' stage"}]
        });
        assert_eq!(
            Execution::decode(&v).unwrap().status(),
            BuildStatus::Failed {
                stage: Some("Build".into()),
                message: "Got FAILED status in 'Build' stage".into()
            }
        );
    }

    #[test]
    fn the_built_condition_decides_when_execution_state_is_missing() {
        let v = json!({"id": "p-1:p-2-3", "state": "building",
            "conditions": [{"type": "Built", "status": "True"}]});
        assert_eq!(
            Execution::decode(&v).unwrap().status(),
            BuildStatus::Succeeded
        );
        let v = json!({"id": "p-1:p-2-3", "state": "active"});
        assert!(matches!(
            Execution::decode(&v).unwrap().status(),
            BuildStatus::Running { .. }
        ));
    }

    #[test]
    fn an_unknown_execution_state_is_running_until_built_says_otherwise() {
        let running = json!({"id": "p-1:p-2-3", "executionState": "Starting",
            "conditions": [{"type": "Built", "status": "Unknown"}]});
        assert!(matches!(
            Execution::decode(&running).unwrap().status(),
            BuildStatus::Running { .. }
        ));
        let done = json!({"id": "p-1:p-2-3", "executionState": "Finished",
            "conditions": [{"type": "Built", "status": "True"}]});
        assert_eq!(
            Execution::decode(&done).unwrap().status(),
            BuildStatus::Succeeded
        );
        let failed = json!({"id": "p-1:p-2-3", "executionState": "Broken",
            "conditions": [{"type": "Built", "status": "False", "message": "Got FAILED status in 'Build' stage"}]});
        assert!(matches!(
            Execution::decode(&failed).unwrap().status(),
            BuildStatus::Failed { .. }
        ));
    }

    #[test]
    fn the_running_stage_is_read_from_the_built_message() {
        let v = json!({"id": "p-1:p-2-3", "executionState": "Building",
            "conditions": [{"type": "Built", "status": "Unknown", "message": "Running 'Publish Image' stage"}]});
        assert_eq!(
            Execution::decode(&v).unwrap().status(),
            BuildStatus::Running {
                stage: Some("Publish Image".into())
            }
        );
    }

    #[test]
    fn chart_version_and_image_tag_are_found_in_stage_output() {
        let v = json!({"id": "p-1:p-2-3", "stages": [
            {"state": "Success", "steps": [{"state": "Success", "output": "Successfully packaged chart. chart version: 0.3.57\n"}]},
            {"state": "Success", "steps": [{"state": "Success", "dockerImageTag": "master-57"}]}
        ]});
        let e = Execution::decode(&v).unwrap();
        assert_eq!(e.chart_version.as_deref(), Some("0.3.57"));
        assert_eq!(e.output_image_tag.as_deref(), Some("master-57"));
        assert_eq!(e.deployable_tag(), Some("master-57"));
    }

    #[test]
    fn nulls_and_wrong_types_count_as_absent() {
        let v = json!({"id": "p-1:p-2-3", "run": null, "branch": 7, "stages": null,
            "conditions": [null, {"type": null}, {"type": "Built", "status": null}],
            "executionState": null, "dockerImage": null});
        let e = Execution::decode(&v).unwrap();
        assert_eq!(e.run, 3);
        assert_eq!(e.branch, None);
        assert_eq!(e.conditions.len(), 1);
        assert_eq!(e.conditions[0].status, ConditionStatus::Unknown);
    }
}
