//! A job's record: everything needed to show it, to audit it and to resume it after a
//! restart. The engine holds it behind a lock and renders it whenever it changes.

use serde::{Deserialize, Serialize};

use super::approval::Approval;
use super::audit::{AuditAction, AuditEntry};
use super::build::BuildProgress;
use super::outcome::Outcome;
use super::rollout::DeployProgress;
use super::spec::{JobKind, JobSpec};
use super::state::JobState;
use crate::chat::{MessageRef, ThreadRef};
use crate::names::{JobId, VersionTag};

/// Who asked for a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// A stable id on the chat platform (the Discord user id, the terminal user name).
    pub id: String,
    pub name: String,
}

/// The chat messages a job keeps up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Messages {
    pub thread: Option<ThreadRef>,
    pub progress: Option<MessageRef>,
    pub approval: Option<MessageRef>,
    /// The requester was told their approval was granted.
    #[serde(default)]
    pub approval_told: bool,
}

/// A job's place in its app's deploy queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePlace {
    /// When it joined, to keep the order across a restart.
    pub joined_ms: i64,
    /// The job right ahead, while there is one.
    pub behind: Option<JobId>,
}

/// Someone asked to cancel the job; it stops at the next point where it safely can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub by: String,
    pub at_ms: i64,
}

/// A job picked up again by a releasebot that did not start it, or started again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    pub at_ms: i64,
    /// The replica that took it over from another, if one did (else a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_replica: Option<String>,
}

/// An admin let the job deploy through a freeze, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeOverride {
    pub by: String,
    pub reason: String,
    pub at_ms: i64,
}

/// A passing remark in the job's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// The PaaS failed the last few calls; releasebot keeps trying.
    PaasUnreachable { error: String },
    /// The store did not take the job's latest state.
    NotSaved { error: String },
    /// The database is away: the job's latest state is kept in memory, and nothing that
    /// must be recorded first (a run, an upgrade) is done until it is back.
    WaitingForDatabase,
    /// releasebot is stopping; the job resumes when it is back.
    Restarting,
}

/// The last `n` lines of a deploy log worth showing (blank ones are not), kept whole
/// (the PaaS client redacted the log as a whole: a private key block may start before
/// the last lines).
pub fn log_excerpt(lines: &[String], n: usize) -> Vec<String> {
    let lines: Vec<&String> = lines.iter().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Whether the app's deploy logs still show job `me`'s pods: the first read is made
/// while `me` holds the app's turn; a later one only while no other deploy of the app
/// holds it (`turn`: who does), whose pods the logs would show next.
pub fn logs_still_ours(first_read: bool, turn: Option<JobId>, me: JobId) -> bool {
    first_read || turn.is_none_or(|holder| holder == me)
}

/// The redacted end of the deploy logs, kept growing for a short while after the
/// rollout (logs are pulled, never pushed: `docs/paas.md#deploy-logs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogExcerpt {
    /// The last lines, redacted.
    pub lines: Vec<String>,
    /// The PaaS has no logs for this app (404).
    pub missing: bool,
    /// Why they could not be read, if they could not.
    pub error: Option<String>,
    /// When the latest read was made, and the first one.
    pub read_ms: i64,
    pub first_ms: i64,
    /// Reads in a row that showed nothing new.
    pub unchanged: u32,
    /// No more reads are made.
    pub settled: bool,
}

/// Everything about one job. Its serde form is what the store keeps of it, by these
/// field and variant names (pinned by the store's golden files); the id is the row's
/// key and the audit trail a table of its own, so neither is in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    #[serde(skip, default = "unnumbered")]
    pub id: JobId,
    pub spec: JobSpec,
    pub requester: Person,
    /// The channel the request came from.
    pub channel: String,
    pub state: JobState,
    pub created_ms: i64,
    /// When something visible last changed.
    pub updated_ms: i64,
    pub ended_ms: Option<i64>,
    pub messages: Messages,
    pub build: Option<BuildProgress>,
    pub deploy: Option<DeployProgress>,
    /// A release to several apps: each app's leg, once the build produced the tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legs: Option<super::legs::Legs>,
    #[serde(default)]
    pub approval: Option<Approval>,
    pub queue: Option<QueuePlace>,
    pub cancel: Option<CancelRequest>,
    pub logs: Option<LogExcerpt>,
    /// How it ended, once it has.
    pub outcome: Option<Outcome>,
    pub notice: Option<Notice>,
    /// Deploys through a freeze, by an admin's word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_override: Option<FreezeOverride>,
    /// When it was last resumed after a restart or a takeover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed: Option<Resumed>,
    /// Its end was announced in the app's announcement channels (or is being: it is
    /// recorded before the lines go, so no restart sends them twice).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub announced: bool,
    #[serde(skip)]
    pub audit: Vec<AuditEntry>,
}

/// The id of a record read from its stored form, before the store sets the row's.
fn unnumbered() -> JobId {
    JobId(0)
}

impl JobRecord {
    /// A new job as requested; nothing has happened yet.
    pub fn new(id: JobId, spec: JobSpec, requester: Person, channel: &str, now_ms: i64) -> Self {
        let state = match spec {
            JobSpec::Deploy { .. } => JobState::Queued,
            _ => JobState::Triggering,
        };
        let build = spec.builds().then(BuildProgress::default);
        let mut record = JobRecord {
            id,
            spec,
            requester,
            channel: channel.to_string(),
            state,
            created_ms: now_ms,
            updated_ms: now_ms,
            ended_ms: None,
            messages: Messages::default(),
            build,
            deploy: None,
            legs: None,
            approval: None,
            queue: None,
            cancel: None,
            logs: None,
            outcome: None,
            notice: None,
            freeze_override: None,
            resumed: None,
            announced: false,
            audit: Vec::new(),
        };
        let detail = format!("{} {}", record.kind().as_str(), record.target());
        let who = record.requester.name.clone();
        record.audit(now_ms, Some(&who), AuditAction::Request, detail);
        record
    }

    pub fn kind(&self) -> JobKind {
        self.spec.kind()
    }

    /// What the job acts on, as people write it: `web@master` or `web v1.2.3`.
    pub fn target(&self) -> String {
        self.spec.target()
    }

    /// The tag the job deploys (or deployed): the one asked for, or the one its build
    /// produced.
    pub fn deploy_tag(&self) -> Option<&VersionTag> {
        match &self.spec {
            JobSpec::Deploy { tag, .. } => Some(tag),
            JobSpec::Release { .. } => self
                .deploy
                .as_ref()
                .map(|d| &d.tag)
                .or(self.legs.as_ref().map(|l| &l.tag)),
            JobSpec::Build { .. } => None,
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

    /// Ends the job. The first ending stands.
    pub fn end(&mut self, outcome: Outcome, now_ms: i64) {
        if self.state.is_final() {
            return;
        }
        self.state = outcome.state();
        self.outcome = Some(outcome);
        self.ended_ms = Some(now_ms);
        self.notice = None;
        if let Some(q) = self.queue.as_mut() {
            q.behind = None;
        }
        if let Some(a) = self.approval.as_mut() {
            a.close(super::approval::ApprovalStatus::Cancelled {
                by: "releasebot".into(),
                at_ms: now_ms,
            });
        }
    }

    /// The image the job deploys, when known: the one its build produced, or for a
    /// promotion the one built for the tag it promotes.
    pub fn image(&self) -> Option<&str> {
        match &self.spec {
            JobSpec::Deploy {
                origin:
                    super::spec::DeployOrigin::Promote { image, .. }
                    | super::spec::DeployOrigin::Release { image, .. },
                ..
            } => image.as_deref(),
            _ => self.build.as_ref().and_then(|b| b.image.as_deref()),
        }
    }

    /// Who approved, for history.
    pub fn approvers(&self) -> Vec<String> {
        self.approval
            .as_ref()
            .map(|a| a.votes.iter().map(|v| v.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether a pending approval asked of a person holds the job up.
    pub fn waits_on_people(&self) -> bool {
        self.state == JobState::AwaitingApproval
            && self.messages.approval.is_some()
            && self
                .approval
                .as_ref()
                .is_some_and(|a| a.status.is_pending())
    }
}
