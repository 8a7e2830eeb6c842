//! A job's durable record: everything needed to show it, to audit it, and to resume it
//! after a restart. The running task holds it behind a lock and renders it on change.

use serde::{Deserialize, Serialize};

use super::approval::Approval;
use crate::chat::{MessageRef, ThreadRef};
use crate::names::{AppName, Branch, JobId, ProjectName, VersionTag};
use crate::paas::{Execution, ExecutionState};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Run a project's pipeline and report the image and tag.
    Build,
    /// Upgrade an app to a version tag and report the rollout and logs.
    Deploy,
    /// Build, then deploy exactly the tag the build produced.
    Release,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Build => "build",
            JobKind::Deploy => "deploy",
            JobKind::Release => "release",
        }
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for another deploy of the same app to finish.
    Queued,
    /// Sending the run request.
    Triggering,
    Building,
    AwaitingApproval,
    Deploying,
    FetchingLogs,
    Succeeded,
    Failed,
    /// Approval refused by an approver.
    Rejected,
    Cancelled,
    TimedOut,
}

impl JobState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded
                | JobState::Failed
                | JobState::Rejected
                | JobState::Cancelled
                | JobState::TimedOut
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Triggering => "triggering",
            JobState::Building => "building",
            JobState::AwaitingApproval => "awaiting approval",
            JobState::Deploying => "deploying",
            JobState::FetchingLogs => "fetching logs",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Rejected => "rejected",
            JobState::Cancelled => "cancelled",
            JobState::TimedOut => "timed out",
        }
    }

    /// The state as a metric label: `awaiting_approval`.
    pub fn as_str_snake(self) -> &'static str {
        match self {
            JobState::AwaitingApproval => "awaiting_approval",
            JobState::FetchingLogs => "fetching_logs",
            JobState::TimedOut => "timed_out",
            other => other.as_str(),
        }
    }
}

/// A stage as the progress message shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageInfo {
    pub name: String,
    pub mark: StageMark,
    pub seconds: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageMark {
    Waiting,
    Running,
    Succeeded,
    Failed,
    Aborted,
    /// Rancher dropped the state (the stages after a failure).
    NotRun,
}

impl StageMark {
    pub fn symbol(self) -> &'static str {
        match self {
            StageMark::Waiting => "⏸",
            StageMark::Running => "🔄",
            StageMark::Succeeded => "✅",
            StageMark::Failed => "❌",
            StageMark::Aborted => "🚫",
            StageMark::NotRun => "➖",
        }
    }
}

/// The build part of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// When the run request was about to be sent (written before sending it).
    pub run_intent_ms: Option<i64>,
    /// The execution id, once known (`p-5tfq9:p-tpk2x-57`).
    pub execution: Option<String>,
    /// Whether this job started the execution (false: it follows another job's).
    pub started_here: bool,
    pub stages: Vec<StageInfo>,
    pub image: Option<String>,
    pub tag: Option<String>,
    pub chart: Option<String>,
    pub commit: Option<String>,
    pub finished: bool,
}

impl BuildInfo {
    /// Takes what the progress message shows from an execution.
    pub fn observe(&mut self, e: &Execution) {
        self.execution = Some(e.id.to_string());
        self.stages = e
            .stages
            .iter()
            .map(|s| StageInfo {
                name: s.name.clone(),
                mark: match &s.state {
                    None => StageMark::NotRun,
                    Some(ExecutionState::Success) => StageMark::Succeeded,
                    Some(ExecutionState::Building) => StageMark::Running,
                    Some(ExecutionState::Failed | ExecutionState::Denied) => StageMark::Failed,
                    Some(ExecutionState::Aborted) => StageMark::Aborted,
                    Some(ExecutionState::Skipped) => StageMark::NotRun,
                    Some(_) => StageMark::Waiting,
                },
                seconds: s.duration().map(|d| d.as_secs()),
            })
            .collect();
        self.image = e.docker_image.clone();
        self.tag = e.deployable_tag().map(str::to_string);
        self.chart = e.chart_version.clone();
        self.commit = e.commit.as_ref().map(|c| c.chars().take(7).collect());
    }

    /// The execution's short name, `p-tpk2x-57`.
    pub fn execution_name(&self) -> Option<&str> {
        self.execution
            .as_deref()
            .and_then(|e| e.split_once(':'))
            .map(|(_, n)| n)
    }
}

/// What identifies an app's state before an upgrade, to tell the new rollout from the
/// old one still showing `active`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppMark {
    pub revision: Option<String>,
    pub installed_ms: Option<i64>,
    pub tag: Option<String>,
}

impl AppMark {
    pub fn of(app: &crate::paas::App) -> Self {
        let (revision, installed, tag) = app.change_mark();
        AppMark {
            revision,
            installed_ms: installed.map(crate::clock::to_ms),
            tag,
        }
    }
}

/// The deploy part of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployInfo {
    /// The Rancher app name (`project-deploy`).
    pub app_id: String,
    /// The app as it was just before the upgrade.
    pub baseline: Option<AppMark>,
    /// When the upgrade request was about to be sent.
    pub upgrade_intent_ms: Option<i64>,
    /// The upgrade request was accepted.
    pub upgraded: bool,
    /// The rollout states seen, in order (`installing`, `deploying`, `active`).
    pub phases: Vec<String>,
    /// What Rancher says about the rollout now (workloads updating, the helm error).
    pub message: Option<String>,
    pub finished: bool,
}

impl DeployInfo {
    pub fn saw(&mut self, phase: &str) {
        if self.phases.last().map(String::as_str) != Some(phase) {
            self.phases.push(phase.to_string());
        }
    }
}

/// The redacted end of the deploy logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogExcerpt {
    /// The last lines, redacted.
    pub lines: Vec<String>,
    /// The PaaS has no logs for this app (404).
    pub missing: bool,
    /// Why they could not be read, if they could not.
    pub error: Option<String>,
}

/// One decision, kept with the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// Who decided; `None` for the bot itself (an expiry, a deploy's end).
    pub actor: Option<String>,
    pub action: AuditAction,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Request,
    Vote,
    Withdraw,
    Reject,
    Approve,
    Expire,
    Supersede,
    BuildStart,
    BuildEnd,
    DeployStart,
    DeployEnd,
    Cancel,
    Resume,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Request => "request",
            AuditAction::Vote => "vote",
            AuditAction::Withdraw => "withdraw",
            AuditAction::Reject => "reject",
            AuditAction::Approve => "approve",
            AuditAction::Expire => "expire",
            AuditAction::Supersede => "supersede",
            AuditAction::BuildStart => "build_start",
            AuditAction::BuildEnd => "build_end",
            AuditAction::DeployStart => "deploy_start",
            AuditAction::DeployEnd => "deploy_end",
            AuditAction::Cancel => "cancel",
            AuditAction::Resume => "resume",
        }
    }
}

/// Everything about one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    pub kind: JobKind,
    pub requester_id: String,
    pub requester: String,
    /// The channel the request came from.
    pub channel: String,
    pub project: Option<ProjectName>,
    pub branch: Option<Branch>,
    pub app: Option<AppName>,
    /// For a deploy, the tag asked for; for a release, the tag the build produced.
    pub tag: Option<VersionTag>,
    pub state: JobState,
    pub created_ms: i64,
    /// When something visible last changed.
    pub updated_ms: i64,
    pub ended_ms: Option<i64>,
    pub thread: Option<ThreadRef>,
    pub progress: Option<MessageRef>,
    pub approval_message: Option<MessageRef>,
    pub queued_behind: Option<JobId>,
    /// When it joined its app's deploy queue, to keep the order across a restart.
    #[serde(default)]
    pub queued_ms: Option<i64>,
    pub build: Option<BuildInfo>,
    pub deploy: Option<DeployInfo>,
    pub approval: Option<Approval>,
    pub logs: Option<LogExcerpt>,
    /// Why it failed, was cancelled or timed out: one sentence.
    pub outcome: Option<String>,
    /// A passing remark: "PaaS unreachable, retrying", "resumed after a restart".
    pub notice: Option<String>,
    pub audit: Vec<AuditEntry>,
}

impl JobRecord {
    /// What the job acts on, as people write it: `web@master` or `web v1.2.3`.
    pub fn target(&self) -> String {
        match self.kind {
            JobKind::Build | JobKind::Release => format!(
                "{}@{}",
                self.project.as_ref().map_or("?", |p| p.as_str()),
                self.branch.as_ref().map_or("?", |b| b.as_str())
            ),
            JobKind::Deploy => format!(
                "{} {}",
                self.app.as_ref().map_or("?", |a| a.as_str()),
                self.tag.as_ref().map_or("?", |t| t.as_str())
            ),
        }
    }

    pub fn audit(
        &mut self,
        at_ms: i64,
        actor: Option<&str>,
        action: AuditAction,
        detail: impl Into<String>,
    ) {
        self.audit.push(AuditEntry {
            at_ms,
            actor: actor.map(str::to_string),
            action,
            detail: detail.into(),
        });
    }

    /// Who approved, for history.
    pub fn approvers(&self) -> Vec<String> {
        self.approval
            .as_ref()
            .map(|a| a.votes.iter().map(|v| v.name.clone()).collect())
            .unwrap_or_default()
    }
}
