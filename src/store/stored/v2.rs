//! The stored form written today (version 2): plain serde structs, separate from the
//! domain types, so renaming a field of a domain type cannot change what is on disk.
//! Changing this form means a version 3 with a reader for this one.

use serde::{Deserialize, Serialize};

/// The version written in `details.v`.
pub const VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub v: u32,
    pub spec: Spec,
    pub requester: Person,
    pub channel: String,
    pub state: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub ended_ms: Option<i64>,
    pub messages: Messages,
    pub build: Option<Build>,
    pub deploy: Option<Deploy>,
    pub queue: Option<Queue>,
    pub cancel: Option<Cancel>,
    pub logs: Option<Logs>,
    pub outcome: Option<Outcome>,
    pub notice: Option<Notice>,
    /// Added after 0.1: absent in older rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_override: Option<Override>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Override {
    pub by: String,
    pub reason: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Spec {
    Build {
        project: String,
        branch: String,
    },
    Release {
        project: String,
        branch: String,
        app: String,
    },
    Deploy {
        app: String,
        tag: String,
        #[serde(default)]
        origin: Origin,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    #[default]
    Request,
    Rollback {
        waived: bool,
    },
    Promote {
        from: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageRef {
    pub channel: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Thread {
    pub channel: String,
    pub thread: String,
    pub summary: MessageRef,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Messages {
    pub thread: Option<Thread>,
    pub progress: Option<MessageRef>,
    pub approval: Option<MessageRef>,
    #[serde(default)]
    pub approval_told: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunIntent {
    pub at_ms: i64,
    pub next_run: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stage {
    pub name: String,
    pub mark: String,
    pub seconds: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Build {
    pub intent: Option<RunIntent>,
    pub execution: Option<String>,
    pub started_here: bool,
    pub stages: Vec<Stage>,
    pub image: Option<String>,
    pub tag: Option<String>,
    pub chart: Option<String>,
    pub commit: Option<String>,
    pub succeeded_ms: Option<i64>,
    pub finished: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cond {
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub updated_ms: Option<i64>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AppSnapshot {
    pub state: Option<String>,
    pub transitioning: Option<String>,
    pub message: Option<String>,
    pub revision: Option<String>,
    pub installed: Option<Cond>,
    pub deployed: Option<Cond>,
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Upgrade {
    NotSent,
    Intended { at_ms: i64 },
    Sent { intent_ms: i64, at_ms: i64 },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Rollout {
    pub picked_up_ms: Option<i64>,
    pub phases: Vec<String>,
    pub message: Option<String>,
    pub active_since_ms: Option<i64>,
    pub latest: Option<AppSnapshot>,
    pub done: bool,
    pub failed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deploy {
    pub app_id: String,
    pub tag: String,
    pub from_tag: Option<String>,
    pub looked_up: bool,
    pub baseline: Option<AppSnapshot>,
    pub upgrade: Upgrade,
    pub rollout: Rollout,
    /// Added after version 2 was first written: absent in older rows.
    #[serde(default)]
    pub rollback_to: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queue {
    pub joined_ms: i64,
    pub behind: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cancel {
    pub by: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Logs {
    pub lines: Vec<String>,
    pub missing: bool,
    pub error: Option<String>,
    pub read_ms: i64,
    pub first_ms: i64,
    pub unchanged: u32,
    pub settled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    BuildFailed {
        build: String,
        stage: Option<String>,
        message: String,
    },
    BuildStopped {
        build: String,
        message: String,
    },
    NoVersionTag {
        build: String,
    },
    UnusableTag {
        tag: String,
        problem: String,
    },
    DeployFailed {
        app: String,
        tag: String,
        message: String,
    },
    NoSignOfUpgrade {
        app: String,
        tag: String,
        shows: String,
    },
    TimedOut {
        step: String,
        limit_ms: u64,
    },
    ApprovalExpired {
        after_ms: u64,
    },
    Rejected {
        by: String,
    },
    Superseded {
        by: u64,
    },
    Cancelled {
        by: String,
        detail: Cancellation,
    },
    PaasFailed {
        step: String,
        error: String,
    },
    NotRecorded {
        step: String,
        error: String,
    },
    ChatFailed {
        step: String,
        error: String,
    },
    NotConfigured {
        name: String,
    },
    Frozen {
        app: String,
        by: String,
        reason: String,
        until_ms: Option<i64>,
    },
    /// An ending an earlier releasebot recorded only as a sentence.
    Recorded {
        state: String,
        text: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cancellation {
    BeforeBuild,
    BuildStopped { build: String },
    BuildGoesOn { build: String },
    BuildHadFinished { build: String },
    BuildNotStopped { build: String, error: String },
    WhileQueued,
    WhileAwaitingApproval,
    BeforeDeploy,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    PaasUnreachable { error: String },
    NotSaved { error: String },
    Restarting,
}

/// The approval policy, as the `approvals.policy` column holds it (unchanged since v1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Policy {
    pub approvers: Vec<String>,
    pub votes: u32,
    /// Seconds.
    pub timeout: u64,
    pub allow_self_approval: bool,
}

/// The approval status, as the `approvals.status` column holds it (unchanged since v1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved { at_ms: i64 },
    Rejected { by: String, at_ms: i64 },
    Expired { at_ms: i64 },
    Superseded { by: u64, at_ms: i64 },
    Cancelled { by: String, at_ms: i64 },
}
