//! What the PaaS sends, decoded leniently into releasebot's own types.
//!
//! The in-house PaaS is "still being debugged; may change a little" (`paas-api.md`), and
//! stock Rancher sends `null` for missing references, omits empty fields, and adds
//! fields we do not know. So each object is first read as JSON and then picked apart
//! field by field: unknown fields are ignored, a `null` or a value of the wrong type
//! counts as absent, and only a missing id makes an object undecodable. Nothing here
//! can panic on any input.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::ids::ExecutionId;
use crate::clock::parse_rfc3339;

/// Why a PaaS body could not be decoded into the object expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub what: &'static str,
    pub problem: String,
}

/// Read access to one JSON object that treats `null` and wrong types as absent.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn of(v: &'a Value) -> Option<Self> {
        v.as_object().map(Fields)
    }

    fn str(&self, key: &str) -> Option<&'a str> {
        self.0.get(key).and_then(Value::as_str)
    }

    fn string(&self, key: &str) -> Option<String> {
        self.str(key).filter(|s| !s.is_empty()).map(str::to_string)
    }

    fn u64(&self, key: &str) -> Option<u64> {
        match self.0.get(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn time(&self, key: &str) -> Option<SystemTime> {
        self.str(key).and_then(parse_rfc3339)
    }

    fn array(&self, key: &str) -> &'a [Value] {
        self.0
            .get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
}

/// Rancher's `executionState` (`paas-api.md`, "Pipeline executions").
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

/// `True`, `False` or `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// One entry of an object's `conditions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub kind: String,
    pub status: ConditionStatus,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_update: Option<SystemTime>,
}

impl Condition {
    fn decode(v: &Value) -> Option<Self> {
        let f = Fields::of(v)?;
        let status = match f.str("status").map(str::to_ascii_lowercase).as_deref() {
            Some("true") => ConditionStatus::True,
            Some("false") => ConditionStatus::False,
            _ => ConditionStatus::Unknown,
        };
        Some(Condition {
            kind: f.string("type")?,
            status,
            reason: f.string("reason"),
            message: f.string("message"),
            last_update: f.time("lastUpdateTime"),
        })
    }
}

fn decode_conditions(f: &Fields<'_>) -> Vec<Condition> {
    f.array("conditions")
        .iter()
        .filter_map(Condition::decode)
        .collect()
}

fn find_condition<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    conditions
        .iter()
        .find(|c| c.kind.eq_ignore_ascii_case(kind))
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
/// never from the misleading derived `state` (`paas-api.md`).
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

/// Names under which a stage's output may report a value: normalised key names
/// (lowercase, letters and digits only) and the phrase used in free text.
struct OutputName {
    keys: &'static [&'static str],
    phrases: &'static [&'static str],
}

const CHART_VERSION: OutputName = OutputName {
    keys: &["chartversion", "helmchartversion"],
    phrases: &["chart version", "chartversion", "chart_version"],
};

const IMAGE_TAG: OutputName = OutputName {
    keys: &["imagetag", "dockerimagetag"],
    phrases: &["docker imagetag", "imagetag", "image tag", "image_tag"],
};

/// Searches one stage's JSON (any depth, bounded) for a value named `name`: a field
/// such as `"chartVersion": "1.4.2"` or text such as `chart version: 1.4.2`. The
/// design document says stage output carries these but its screenshots of the exact
/// shape are lost, so both forms are accepted.
fn find_output(stage: &Value, name: &OutputName) -> Option<String> {
    fn walk(v: &Value, name: &OutputName, depth: usize) -> Option<String> {
        if depth > 8 {
            return None;
        }
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let key: String = k
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .map(|c| c.to_ascii_lowercase())
                        .collect();
                    if name.keys.contains(&key.as_str()) {
                        let found = match v {
                            Value::String(s) => token(s),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        };
                        if found.is_some() {
                            return found;
                        }
                    }
                }
                map.values().find_map(|v| walk(v, name, depth + 1))
            }
            Value::Array(items) => items.iter().find_map(|v| walk(v, name, depth + 1)),
            Value::String(s) => phrase_value(s, name.phrases),
            _ => None,
        }
    }
    walk(stage, name, 0)
}

/// The value after a phrase in free text: `... chart version: 1.4.2 ...` → `1.4.2`.
fn phrase_value(text: &str, phrases: &[&str]) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    phrases.iter().find_map(|p| {
        let at = lower.find(p)? + p.len();
        let rest = text.get(at..)?;
        let rest = rest.trim_start_matches([' ', ':', '=', '"', '\'', '\t']);
        token(rest)
    })
}

/// The leading version-like token of `s`, if any.
fn token(s: &str) -> Option<String> {
    let t: String = s
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
        .take(128)
        .collect();
    (!t.is_empty()).then_some(t)
}

/// A Rancher app (a Helm release managed by Rancher).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: String,
    pub name: String,
    pub state: Option<String>,
    pub transitioning: Option<String>,
    pub transitioning_message: Option<String>,
    pub conditions: Vec<Condition>,
    pub revision: Option<String>,
    /// The deployed version tag, where the PaaS reports it (`versionTag`, or the
    /// `image.tag` answer).
    pub version_tag: Option<String>,
    pub external_id: Option<String>,
}

impl App {
    pub fn decode(v: &Value) -> Result<Self, DecodeError> {
        let err = |problem: &str| DecodeError {
            what: "app",
            problem: problem.to_string(),
        };
        let f = Fields::of(v).ok_or_else(|| err("it is not a JSON object"))?;
        let id = f.string("id").ok_or_else(|| err("it has no id"))?;
        let answers = f.get("answers").and_then(Fields::of);
        let name = f
            .string("name")
            .unwrap_or_else(|| id.rsplit(':').next().unwrap_or(&id).to_string());
        Ok(App {
            name,
            state: f.string("state"),
            transitioning: f.string("transitioning"),
            transitioning_message: f.string("transitioningMessage"),
            conditions: decode_conditions(&f),
            revision: f.string("appRevisionId"),
            version_tag: f.string("versionTag").or_else(|| {
                answers.and_then(|a| a.string("image.tag").or_else(|| a.string("versionTag")))
            }),
            external_id: f.string("externalId"),
            id,
        })
    }

    pub fn condition(&self, kind: &str) -> Option<&Condition> {
        find_condition(&self.conditions, kind)
    }

    /// What an upgrade changes in the app: the revision, the last update of
    /// `Installed`, the reported tag. After an ambiguous upgrade request, a change
    /// shows it was carried out.
    pub fn change_mark(&self) -> (Option<String>, Option<SystemTime>, Option<String>) {
        (
            self.revision.clone(),
            self.condition("Installed").and_then(|c| c.last_update),
            self.version_tag.clone(),
        )
    }
}

/// A pipeline's `nextRun`: the run number its next execution gets.
pub fn next_run(v: &Value) -> Result<Option<u64>, DecodeError> {
    let f = Fields::of(v).ok_or(DecodeError {
        what: "pipeline",
        problem: "it is not a JSON object".into(),
    })?;
    Ok(f.u64("nextRun").filter(|n| *n > 0))
}

/// One page of a norman collection.
pub(crate) struct Page {
    pub data: Vec<Value>,
    pub next: Option<String>,
}

impl Page {
    pub fn decode(v: &Value) -> Result<Self, DecodeError> {
        let f = Fields::of(v).ok_or(DecodeError {
            what: "collection",
            problem: "it is not a JSON object".into(),
        })?;
        let data = f.get("data").and_then(Value::as_array).ok_or(DecodeError {
            what: "collection",
            problem: "it has no data array".into(),
        })?;
        let next = f
            .get("pagination")
            .and_then(Fields::of)
            .and_then(|p| p.string("next"));
        Ok(Page {
            data: data.clone(),
            next,
        })
    }
}

/// A norman error body. `status` is a number, except in the 401 that the auth layer
/// sends, where it is a string and there is no `code` (`paas-api.md`, "Errors").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub field_name: Option<String>,
}

impl ErrorBody {
    pub fn decode(body: &[u8]) -> Option<Self> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let f = Fields::of(&v)?;
        if f.str("type") != Some("error") && f.get("code").is_none() && f.get("message").is_none() {
            return None;
        }
        Some(ErrorBody {
            code: f.string("code"),
            message: f.string("message"),
            field_name: f.string("fieldName"),
        })
    }
}

/// Deploy log lines from a body of any accepted shape: plain text, a JSON string, a
/// JSON array of lines, or an object holding the lines under a common key
/// (`paas-api.md`, "Deploy logs").
/// A body of any other shape (an object with none of the known keys) is shown as it
/// came, rather than as nothing.
pub fn decode_logs(body: &[u8]) -> Vec<String> {
    let raw = || split_lines(&String::from_utf8_lossy(body));
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) if !has_log_key(&v) => raw(),
        Ok(v @ (Value::String(_) | Value::Array(_) | Value::Object(_))) => log_lines(&v, 0),
        _ => raw(),
    }
}

const LOG_KEYS: [&str; 7] = [
    "data", "logs", "lines", "content", "log", "output", "message",
];

fn has_log_key(v: &Value) -> bool {
    v.as_object().is_some_and(|map| {
        LOG_KEYS
            .iter()
            .any(|k| map.get(*k).is_some_and(|v| !v.is_null()))
    })
}

fn log_lines(v: &Value, depth: usize) -> Vec<String> {
    if depth > 4 {
        return Vec::new();
    }
    match v {
        Value::String(s) => split_lines(s),
        Value::Array(items) => items
            .iter()
            .flat_map(|item| match item {
                Value::String(s) => split_lines(s),
                Value::Object(_) | Value::Array(_) => log_lines(item, depth + 1),
                Value::Null => Vec::new(),
                other => vec![other.to_string()],
            })
            .collect(),
        Value::Object(map) => LOG_KEYS
            .iter()
            .find_map(|k| map.get(*k).filter(|v| !v.is_null()))
            .map(|v| log_lines(v, depth + 1))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn split_lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn logs_are_accepted_in_every_shape() {
        let want = vec!["a".to_string(), "b".to_string()];
        assert_eq!(decode_logs(b"a\nb\n"), want);
        assert_eq!(decode_logs(br#""a\nb""#), want);
        assert_eq!(decode_logs(br#"["a","b"]"#), want);
        assert_eq!(decode_logs(br#"{"data":["a","b"]}"#), want);
        assert_eq!(decode_logs(br#"{"logs":"a\nb"}"#), want);
        assert_eq!(decode_logs(br#"{"lines":["a","b"]}"#), want);
        assert_eq!(decode_logs(br#"{"content":"a\r\nb"}"#), want);
        assert_eq!(decode_logs(b"42"), vec!["42".to_string()]);
        // A shape with none of the known keys is shown as it came.
        assert_eq!(
            decode_logs(br#"{"podLogs":["a","b"]}"#),
            vec![r#"{"podLogs":["a","b"]}"#.to_string()]
        );
        assert!(decode_logs(b"").is_empty());
    }

    #[test]
    fn error_bodies_decode_both_401_shapes() {
        let odd = ErrorBody::decode(
            br#"{"type":"error","status":"401","message":"Unauthorized 401: must authenticate"}"#,
        )
        .unwrap();
        assert_eq!(odd.code, None);
        let norman = ErrorBody::decode(
            br#"{"type":"error","status":401,"code":"Unauthorized","message":"x"}"#,
        )
        .unwrap();
        assert_eq!(norman.code.as_deref(), Some("Unauthorized"));
        assert!(ErrorBody::decode(b"<html>502</html>").is_none());
    }
}
