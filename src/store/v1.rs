//! The stored form of releasebot 0.1.0 (store schema 1), read so that jobs it left
//! unfinished resume and its history stays readable. Never written. Its approval and
//! votes, kept in tables of their own then, were moved into the details by the
//! migration that dropped those tables, in today's form.

use serde::Deserialize;

use crate::chat::{MessageRef, ThreadRef};
use crate::ids::{AppId, ExecutionId};
use crate::job::rollout::CondStatus;
use crate::job::rollout::{Cond, Rollout};
use crate::job::{
    AppSnapshot, BuildProgress, DeployOrigin, DeployProgress, JobSpec, JobState, LogExcerpt,
    Messages, Outcome, Person, Phase, QueuePlace, RunIntent, StageMark, StageView, Upgrade,
};
use crate::names::{AppName, Branch, JobId, ProjectName, VersionTag};

use super::stored::DecodeError;
use crate::job::{Approval, AuditEntry};

#[derive(Debug, Deserialize)]
pub struct Job {
    pub kind: String,
    pub requester_id: String,
    pub requester: String,
    pub channel: String,
    pub project: Option<String>,
    pub branch: Option<String>,
    pub app: Option<String>,
    pub tag: Option<String>,
    pub state: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub ended_ms: Option<i64>,
    pub thread: Option<Thread>,
    pub progress: Option<Message>,
    pub approval_message: Option<Message>,
    pub queued_behind: Option<u64>,
    #[serde(default)]
    pub queued_ms: Option<i64>,
    pub build: Option<Build>,
    pub deploy: Option<Deploy>,
    pub logs: Option<Logs>,
    pub outcome: Option<String>,
    #[serde(default)]
    pub approval: Option<Approval>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub channel: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
pub struct Thread {
    pub channel: String,
    pub thread: String,
    pub summary: Message,
}

#[derive(Debug, Deserialize)]
pub struct Stage {
    pub name: String,
    pub mark: String,
    pub seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct Build {
    pub run_intent_ms: Option<i64>,
    pub execution: Option<String>,
    pub started_here: bool,
    pub stages: Vec<Stage>,
    pub image: Option<String>,
    pub tag: Option<String>,
    pub chart: Option<String>,
    pub commit: Option<String>,
    pub finished: bool,
}

#[derive(Debug, Deserialize)]
pub struct Mark {
    pub revision: Option<String>,
    pub installed_ms: Option<i64>,
    pub tag: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Deploy {
    pub app_id: String,
    pub baseline: Option<Mark>,
    pub upgrade_intent_ms: Option<i64>,
    pub upgraded: bool,
    pub phases: Vec<String>,
    pub message: Option<String>,
    pub finished: bool,
}

#[derive(Debug, Deserialize)]
pub struct Logs {
    pub lines: Vec<String>,
    pub missing: bool,
    pub error: Option<String>,
}

fn message(m: Message) -> MessageRef {
    MessageRef {
        channel: m.channel,
        message: m.message,
    }
}

/// The job in today's terms.
pub fn convert(
    id: JobId,
    j: Job,
    audit: Vec<AuditEntry>,
) -> Result<crate::job::JobRecord, DecodeError> {
    let name = |what: &'static str, v: &Option<String>| {
        v.clone().ok_or_else(|| DecodeError::Missing {
            kind: j.kind.clone(),
            what,
        })
    };
    let state =
        JobState::from_snake(&j.state).ok_or_else(|| DecodeError::UnknownState(j.state.clone()))?;
    let release_app = j.app.as_deref().map(AppName::parse).transpose();
    let spec = match (j.kind.as_str(), release_app) {
        ("build", _) | ("release", Ok(None)) => JobSpec::Build {
            project: ProjectName::parse(&name("project", &j.project)?)?,
            branch: Branch::parse(&name("branch", &j.branch)?)?,
        },
        ("release", Ok(Some(app))) => JobSpec::Release {
            more: Vec::new(),
            parallel: false,
            project: ProjectName::parse(&name("project", &j.project)?)?,
            branch: Branch::parse(&name("branch", &j.branch)?)?,
            app,
        },
        ("deploy", _) => JobSpec::Deploy {
            app: AppName::parse(&name("app", &j.app)?)?,
            tag: VersionTag::parse(&name("tag", &j.tag)?)?,
            origin: DeployOrigin::Request,
        },
        ("release", Err(e)) => return Err(e.into()),
        (kind, _) => return Err(DecodeError::UnknownKind(kind.to_string())),
    };
    let build = match j.build {
        Some(b) => Some(BuildProgress {
            intent: b.run_intent_ms.map(|at_ms| RunIntent {
                at_ms,
                next_run: None,
            }),
            execution: b.execution.as_deref().map(ExecutionId::parse).transpose()?,
            started_here: b.started_here,
            stages: b
                .stages
                .into_iter()
                .map(|s| StageView {
                    mark: StageMark::parse(&s.mark).unwrap_or(StageMark::Waiting),
                    name: s.name,
                    seconds: s.seconds,
                })
                .collect(),
            image: b.image,
            tag: b.tag,
            chart: b.chart,
            commit: b.commit,
            subject: None,
            author: None,
            succeeded_ms: None,
            finished: b.finished,
        }),
        None => None,
    };
    let deploy_tag = j.tag.as_deref().map(VersionTag::parse).transpose();
    let deploy = match (j.deploy, deploy_tag) {
        (Some(d), Ok(Some(tag))) => Some(deploy(d, tag, j.created_ms)?),
        (Some(_), Err(e)) => return Err(e.into()),
        _ => None,
    };
    let queue = j.queued_ms.map(|joined_ms| QueuePlace {
        joined_ms,
        behind: j.queued_behind.map(JobId),
    });
    let outcome = match (j.outcome, state) {
        (Some(text), state) => Some(Outcome::Recorded { state, text }),
        (None, JobState::Succeeded) => Some(Outcome::Succeeded),
        _ => None,
    };
    let settled_at = j.ended_ms.unwrap_or(j.updated_ms);
    Ok(crate::job::JobRecord {
        id,
        spec,
        requester: Person {
            id: j.requester_id,
            name: j.requester,
        },
        channel: j.channel,
        state,
        created_ms: j.created_ms,
        updated_ms: j.updated_ms,
        ended_ms: j.ended_ms,
        messages: Messages {
            thread: j.thread.map(|t| ThreadRef {
                channel: t.channel,
                thread: t.thread,
                summary: message(t.summary),
            }),
            progress: j.progress.map(message),
            approval: j.approval_message.map(message),
            approval_told: false,
        },
        build,
        deploy,
        legs: None,
        approval: j.approval,
        queue,
        cancel: None,
        logs: j.logs.map(|l| LogExcerpt {
            lines: l.lines,
            missing: l.missing,
            error: l.error,
            read_ms: settled_at,
            first_ms: settled_at,
            unchanged: 0,
            settled: true,
        }),
        outcome,
        // A notice was only ever a passing remark; resuming clears it anyway.
        notice: None,
        freeze_override: None,
        // Version 1 ran alone: a resume was a restart.
        resumed: audit
            .iter()
            .rev()
            .find(|a| a.action == crate::job::AuditAction::Resume)
            .map(|a| crate::job::Resumed {
                at_ms: a.at_ms,
                by_replica: None,
            }),
        // Announcements came later: none was made.
        announced: false,
        audit,
    })
}

/// Version 1 marked the app before an upgrade by its revision, the update time of
/// `Installed` and the tag; taken before the upgrade, the app was installed.
fn deploy(d: Deploy, tag: VersionTag, created_ms: i64) -> Result<DeployProgress, DecodeError> {
    let baseline = d.baseline.map(|m| AppSnapshot {
        revision: m.revision,
        installed: m.installed_ms.map(|ms| Cond {
            status: CondStatus::True,
            updated_ms: Some(ms),
            message: None,
        }),
        tag: m.tag,
        ..AppSnapshot::default()
    });
    let upgrade = match (d.upgrade_intent_ms, d.upgraded) {
        (Some(at), true) => Upgrade::Sent {
            intent_ms: at,
            at_ms: at,
        },
        (None, true) => Upgrade::Sent {
            intent_ms: created_ms,
            at_ms: created_ms,
        },
        (Some(at), false) => Upgrade::Intended { at_ms: at },
        (None, false) => Upgrade::NotSent,
    };
    let phases: Vec<Phase> = d.phases.iter().map(|p| Phase::parse(p)).collect();
    let last = phases.last().cloned();
    Ok(DeployProgress {
        app_id: AppId::parse(&d.app_id)?,
        tag,
        from_tag: None,
        looked_up: true,
        changes: None,
        rollback_to: None,
        waived: Default::default(),
        baseline,
        upgrade,
        rollout: Rollout {
            // Version 1 listed phases only once the app had moved.
            picked_up_ms: (!phases.is_empty()).then_some(d.upgrade_intent_ms.unwrap_or(created_ms)),
            done: d.finished && last == Some(Phase::Active),
            failed: d.finished && last == Some(Phase::Failed),
            phases,
            message: d.message,
            active_since_ms: None,
            latest: None,
        },
    })
}
