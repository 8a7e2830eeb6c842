//! The stored form of a job: versioned serde structs and the conversions between them
//! and the domain types. A row's `details` says its version (`"v": 2`; version 1 had
//! no `v`), and every version ever written keeps a reader here, so a newer releasebot
//! resumes what an older one left unfinished (`tests/e2e/store_compat.rs` reads a state
//! file written by releasebot 0.1.0).

mod v1;
mod v2;

use std::time::Duration;

use crate::chat::{MessageRef, ThreadRef};
use crate::job::rollout::{Cond, Rollout};
use crate::job::{
    AppSnapshot, Approval, ApprovalPolicy, ApprovalStatus, AuditEntry, BuildProgress,
    CancelRequest, Cancellation, ChatStep, DeployOrigin, DeployProgress, JobRecord, JobSpec,
    JobState, LogExcerpt, Messages, Notice, Outcome, PaasStep, Person, Phase, QueuePlace,
    RunIntent, StageMark, StageView, Timed, Upgrade,
};
use crate::names::{AppName, Branch, JobId, ProjectName, VersionTag};
use crate::paas::{AppId, ConditionStatus, ExecutionId};

/// What the other tables hold for a job.
pub struct Parts {
    pub approval: Option<Approval>,
    pub audit: Vec<AuditEntry>,
}

/// A job's `details`, in today's stored form.
pub fn encode(r: &JobRecord) -> String {
    serde_json::to_string(&to_v2(r)).unwrap_or_default()
}

/// A job from its row's `details` and the other tables, whatever version wrote it.
pub fn decode(id: JobId, details: &str, parts: Parts) -> Result<JobRecord, String> {
    let value: serde_json::Value = serde_json::from_str(details).map_err(|e| e.to_string())?;
    match value.get("v").and_then(serde_json::Value::as_u64) {
        None => {
            let job: v1::Job = serde_json::from_value(value).map_err(|e| e.to_string())?;
            v1::convert(id, job, parts)
        }
        Some(2) => {
            let job: v2::Job = serde_json::from_value(value).map_err(|e| e.to_string())?;
            from_v2(id, job, parts)
        }
        Some(v) => Err(format!(
            "stored form version {v} is newer than this releasebot"
        )),
    }
}

pub fn encode_policy(p: &ApprovalPolicy) -> String {
    serde_json::to_string(&v2::Policy {
        approvers: p.approvers.clone(),
        votes: p.votes,
        timeout: p.timeout.as_secs(),
        allow_self_approval: p.allow_self_approval,
    })
    .unwrap_or_default()
}

pub fn decode_policy(s: &str) -> Result<ApprovalPolicy, String> {
    let p: v2::Policy = serde_json::from_str(s).map_err(|e| e.to_string())?;
    Ok(ApprovalPolicy {
        approvers: p.approvers,
        votes: p.votes,
        timeout: Duration::from_secs(p.timeout),
        allow_self_approval: p.allow_self_approval,
    })
}

pub fn encode_status(s: &ApprovalStatus) -> String {
    let stored = match s.clone() {
        ApprovalStatus::Pending => v2::ApprovalStatus::Pending,
        ApprovalStatus::Approved { at_ms } => v2::ApprovalStatus::Approved { at_ms },
        ApprovalStatus::Rejected { by, at_ms } => v2::ApprovalStatus::Rejected { by, at_ms },
        ApprovalStatus::Expired { at_ms } => v2::ApprovalStatus::Expired { at_ms },
        ApprovalStatus::Superseded { by, at_ms } => {
            v2::ApprovalStatus::Superseded { by: by.0, at_ms }
        }
        ApprovalStatus::Cancelled { by, at_ms } => v2::ApprovalStatus::Cancelled { by, at_ms },
    };
    serde_json::to_string(&stored).unwrap_or_default()
}

pub fn decode_status(s: &str) -> Result<ApprovalStatus, String> {
    let stored: v2::ApprovalStatus = serde_json::from_str(s).map_err(|e| e.to_string())?;
    Ok(match stored {
        v2::ApprovalStatus::Pending => ApprovalStatus::Pending,
        v2::ApprovalStatus::Approved { at_ms } => ApprovalStatus::Approved { at_ms },
        v2::ApprovalStatus::Rejected { by, at_ms } => ApprovalStatus::Rejected { by, at_ms },
        v2::ApprovalStatus::Expired { at_ms } => ApprovalStatus::Expired { at_ms },
        v2::ApprovalStatus::Superseded { by, at_ms } => ApprovalStatus::Superseded {
            by: JobId(by),
            at_ms,
        },
        v2::ApprovalStatus::Cancelled { by, at_ms } => ApprovalStatus::Cancelled { by, at_ms },
    })
}

fn message_to(m: &MessageRef) -> v2::MessageRef {
    v2::MessageRef {
        channel: m.channel.clone(),
        message: m.message.clone(),
    }
}

fn message_from(m: v2::MessageRef) -> MessageRef {
    MessageRef {
        channel: m.channel,
        message: m.message,
    }
}

fn status_to(s: ConditionStatus) -> String {
    match s {
        ConditionStatus::True => "True",
        ConditionStatus::False => "False",
        ConditionStatus::Unknown => "Unknown",
    }
    .into()
}

fn status_from(s: &str) -> ConditionStatus {
    match s {
        "True" => ConditionStatus::True,
        "False" => ConditionStatus::False,
        _ => ConditionStatus::Unknown,
    }
}

fn snapshot_to(a: &AppSnapshot) -> v2::AppSnapshot {
    let cond = |c: &Option<Cond>| {
        c.as_ref().map(|c| v2::Cond {
            status: status_to(c.status),
            updated_ms: c.updated_ms,
            message: c.message.clone(),
        })
    };
    v2::AppSnapshot {
        state: a.state.clone(),
        transitioning: a.transitioning.clone(),
        message: a.message.clone(),
        revision: a.revision.clone(),
        installed: cond(&a.installed),
        deployed: cond(&a.deployed),
        tag: a.tag.clone(),
    }
}

fn snapshot_from(a: v2::AppSnapshot) -> AppSnapshot {
    let cond = |c: Option<v2::Cond>| {
        c.map(|c| Cond {
            status: status_from(&c.status),
            updated_ms: c.updated_ms,
            message: c.message,
        })
    };
    AppSnapshot {
        state: a.state,
        transitioning: a.transitioning,
        message: a.message,
        revision: a.revision,
        installed: cond(a.installed),
        deployed: cond(a.deployed),
        tag: a.tag,
    }
}

fn paas_step_to(s: PaasStep) -> String {
    match s {
        PaasStep::StartBuild => "start_build",
        PaasStep::FindBuild => "find_build",
        PaasStep::FollowBuild => "follow_build",
        PaasStep::ReadApp => "read_app",
        PaasStep::Upgrade => "upgrade",
        PaasStep::FollowRollout => "follow_rollout",
    }
    .into()
}

fn paas_step_from(s: &str) -> PaasStep {
    match s {
        "find_build" => PaasStep::FindBuild,
        "follow_build" => PaasStep::FollowBuild,
        "read_app" => PaasStep::ReadApp,
        "upgrade" => PaasStep::Upgrade,
        "follow_rollout" => PaasStep::FollowRollout,
        _ => PaasStep::StartBuild,
    }
}

fn chat_step_to(s: ChatStep) -> String {
    match s {
        ChatStep::OpenThread => "open_thread",
        ChatStep::PostProgress => "post_progress",
        ChatStep::PostApproval => "post_approval",
    }
    .into()
}

fn chat_step_from(s: &str) -> ChatStep {
    match s {
        "open_thread" => ChatStep::OpenThread,
        "post_approval" => ChatStep::PostApproval,
        _ => ChatStep::PostProgress,
    }
}

fn cancellation_to(c: &Cancellation) -> v2::Cancellation {
    match c.clone() {
        Cancellation::BeforeBuild => v2::Cancellation::BeforeBuild,
        Cancellation::BuildStopped { build } => v2::Cancellation::BuildStopped { build },
        Cancellation::BuildGoesOn { build } => v2::Cancellation::BuildGoesOn { build },
        Cancellation::BuildHadFinished { build } => v2::Cancellation::BuildHadFinished { build },
        Cancellation::BuildNotStopped { build, error } => {
            v2::Cancellation::BuildNotStopped { build, error }
        }
        Cancellation::WhileQueued => v2::Cancellation::WhileQueued,
        Cancellation::WhileAwaitingApproval => v2::Cancellation::WhileAwaitingApproval,
        Cancellation::BeforeDeploy => v2::Cancellation::BeforeDeploy,
    }
}

fn cancellation_from(c: v2::Cancellation) -> Cancellation {
    match c {
        v2::Cancellation::BeforeBuild => Cancellation::BeforeBuild,
        v2::Cancellation::BuildStopped { build } => Cancellation::BuildStopped { build },
        v2::Cancellation::BuildGoesOn { build } => Cancellation::BuildGoesOn { build },
        v2::Cancellation::BuildHadFinished { build } => Cancellation::BuildHadFinished { build },
        v2::Cancellation::BuildNotStopped { build, error } => {
            Cancellation::BuildNotStopped { build, error }
        }
        v2::Cancellation::WhileQueued => Cancellation::WhileQueued,
        v2::Cancellation::WhileAwaitingApproval => Cancellation::WhileAwaitingApproval,
        v2::Cancellation::BeforeDeploy => Cancellation::BeforeDeploy,
    }
}

fn outcome_to(o: &Outcome) -> v2::Outcome {
    match o.clone() {
        Outcome::Succeeded => v2::Outcome::Succeeded,
        Outcome::BuildFailed {
            build,
            stage,
            message,
        } => v2::Outcome::BuildFailed {
            build,
            stage,
            message,
        },
        Outcome::BuildStopped { build, message } => v2::Outcome::BuildStopped { build, message },
        Outcome::NoVersionTag { build } => v2::Outcome::NoVersionTag { build },
        Outcome::UnusableTag { tag, problem } => v2::Outcome::UnusableTag { tag, problem },
        Outcome::DeployFailed { app, tag, message } => v2::Outcome::DeployFailed {
            app: app.to_string(),
            tag: tag.to_string(),
            message,
        },
        Outcome::NoSignOfUpgrade { app, tag, shows } => v2::Outcome::NoSignOfUpgrade {
            app: app.to_string(),
            tag: tag.to_string(),
            shows,
        },
        Outcome::TimedOut { step, limit_ms } => v2::Outcome::TimedOut {
            step: match step {
                Timed::Build => "build",
                Timed::Rollout => "rollout",
            }
            .into(),
            limit_ms,
        },
        Outcome::ApprovalExpired { after_ms } => v2::Outcome::ApprovalExpired { after_ms },
        Outcome::Rejected { by } => v2::Outcome::Rejected { by },
        Outcome::Superseded { by } => v2::Outcome::Superseded { by: by.0 },
        Outcome::Cancelled { by, detail } => v2::Outcome::Cancelled {
            by,
            detail: cancellation_to(&detail),
        },
        Outcome::PaasFailed { step, error } => v2::Outcome::PaasFailed {
            step: paas_step_to(step),
            error,
        },
        Outcome::NotRecorded { step, error } => v2::Outcome::NotRecorded {
            step: paas_step_to(step),
            error,
        },
        Outcome::ChatFailed { step, error } => v2::Outcome::ChatFailed {
            step: chat_step_to(step),
            error,
        },
        Outcome::NotConfigured { name } => v2::Outcome::NotConfigured { name },
        Outcome::Frozen {
            app,
            by,
            reason,
            until_ms,
        } => v2::Outcome::Frozen {
            app: app.to_string(),
            by,
            reason,
            until_ms,
        },
        Outcome::Recorded { state, text } => v2::Outcome::Recorded {
            state: state.as_str_snake().into(),
            text,
        },
    }
}

fn outcome_from(o: v2::Outcome) -> Result<Outcome, String> {
    let app = |s: &str| AppName::parse(s).map_err(|e| e.0);
    let tag = |s: &str| VersionTag::parse(s).map_err(|e| e.0);
    Ok(match o {
        v2::Outcome::Succeeded => Outcome::Succeeded,
        v2::Outcome::BuildFailed {
            build,
            stage,
            message,
        } => Outcome::BuildFailed {
            build,
            stage,
            message,
        },
        v2::Outcome::BuildStopped { build, message } => Outcome::BuildStopped { build, message },
        v2::Outcome::NoVersionTag { build } => Outcome::NoVersionTag { build },
        v2::Outcome::UnusableTag { tag, problem } => Outcome::UnusableTag { tag, problem },
        v2::Outcome::DeployFailed {
            app: a,
            tag: t,
            message,
        } => Outcome::DeployFailed {
            app: app(&a)?,
            tag: tag(&t)?,
            message,
        },
        v2::Outcome::NoSignOfUpgrade {
            app: a,
            tag: t,
            shows,
        } => Outcome::NoSignOfUpgrade {
            app: app(&a)?,
            tag: tag(&t)?,
            shows,
        },
        v2::Outcome::TimedOut { step, limit_ms } => Outcome::TimedOut {
            step: if step == "build" {
                Timed::Build
            } else {
                Timed::Rollout
            },
            limit_ms,
        },
        v2::Outcome::ApprovalExpired { after_ms } => Outcome::ApprovalExpired { after_ms },
        v2::Outcome::Rejected { by } => Outcome::Rejected { by },
        v2::Outcome::Superseded { by } => Outcome::Superseded { by: JobId(by) },
        v2::Outcome::Cancelled { by, detail } => Outcome::Cancelled {
            by,
            detail: cancellation_from(detail),
        },
        v2::Outcome::PaasFailed { step, error } => Outcome::PaasFailed {
            step: paas_step_from(&step),
            error,
        },
        v2::Outcome::NotRecorded { step, error } => Outcome::NotRecorded {
            step: paas_step_from(&step),
            error,
        },
        v2::Outcome::ChatFailed { step, error } => Outcome::ChatFailed {
            step: chat_step_from(&step),
            error,
        },
        v2::Outcome::NotConfigured { name } => Outcome::NotConfigured { name },
        v2::Outcome::Frozen {
            app: a,
            by,
            reason,
            until_ms,
        } => Outcome::Frozen {
            app: app(&a)?,
            by,
            reason,
            until_ms,
        },
        v2::Outcome::Recorded { state, text } => Outcome::Recorded {
            state: JobState::from_snake(&state).ok_or("an unknown state")?,
            text,
        },
    })
}

fn to_v2(r: &JobRecord) -> v2::Job {
    let spec = match &r.spec {
        JobSpec::Build { project, branch } => v2::Spec::Build {
            project: project.to_string(),
            branch: branch.to_string(),
        },
        JobSpec::Release {
            project,
            branch,
            app,
        } => v2::Spec::Release {
            project: project.to_string(),
            branch: branch.to_string(),
            app: app.to_string(),
        },
        JobSpec::Deploy { app, tag, origin } => v2::Spec::Deploy {
            app: app.to_string(),
            tag: tag.to_string(),
            origin: match origin {
                DeployOrigin::Request => v2::Origin::Request,
                DeployOrigin::Rollback { waived } => v2::Origin::Rollback { waived: *waived },
                DeployOrigin::Promote { from } => v2::Origin::Promote {
                    from: from.to_string(),
                },
            },
        },
    };
    v2::Job {
        v: v2::VERSION,
        spec,
        requester: v2::Person {
            id: r.requester.id.clone(),
            name: r.requester.name.clone(),
        },
        channel: r.channel.clone(),
        state: r.state.as_str_snake().into(),
        created_ms: r.created_ms,
        updated_ms: r.updated_ms,
        ended_ms: r.ended_ms,
        messages: v2::Messages {
            thread: r.messages.thread.as_ref().map(|t| v2::Thread {
                channel: t.channel.clone(),
                thread: t.thread.clone(),
                summary: message_to(&t.summary),
            }),
            progress: r.messages.progress.as_ref().map(message_to),
            approval: r.messages.approval.as_ref().map(message_to),
            approval_told: r.messages.approval_told,
        },
        build: r.build.as_ref().map(|b| v2::Build {
            intent: b.intent.map(|i| v2::RunIntent {
                at_ms: i.at_ms,
                next_run: i.next_run,
            }),
            execution: b.execution.as_ref().map(ToString::to_string),
            started_here: b.started_here,
            stages: b
                .stages
                .iter()
                .map(|s| v2::Stage {
                    name: s.name.clone(),
                    mark: s.mark.as_str().into(),
                    seconds: s.seconds,
                })
                .collect(),
            image: b.image.clone(),
            tag: b.tag.clone(),
            chart: b.chart.clone(),
            commit: b.commit.clone(),
            succeeded_ms: b.succeeded_ms,
            finished: b.finished,
        }),
        deploy: r.deploy.as_ref().map(|d| v2::Deploy {
            app_id: d.app_id.to_string(),
            tag: d.tag.to_string(),
            from_tag: d.from_tag.clone(),
            looked_up: d.looked_up,
            baseline: d.baseline.as_ref().map(snapshot_to),
            upgrade: match d.upgrade {
                Upgrade::NotSent => v2::Upgrade::NotSent,
                Upgrade::Intended { at_ms } => v2::Upgrade::Intended { at_ms },
                Upgrade::Sent { intent_ms, at_ms } => v2::Upgrade::Sent { intent_ms, at_ms },
            },
            rollout: v2::Rollout {
                picked_up_ms: d.rollout.picked_up_ms,
                phases: d
                    .rollout
                    .phases
                    .iter()
                    .map(|p| p.as_str().to_string())
                    .collect(),
                message: d.rollout.message.clone(),
                active_since_ms: d.rollout.active_since_ms,
                latest: d.rollout.latest.as_ref().map(snapshot_to),
                done: d.rollout.done,
                failed: d.rollout.failed,
            },
        }),
        queue: r.queue.map(|q| v2::Queue {
            joined_ms: q.joined_ms,
            behind: q.behind.map(|b| b.0),
        }),
        cancel: r.cancel.as_ref().map(|c| v2::Cancel {
            by: c.by.clone(),
            at_ms: c.at_ms,
        }),
        logs: r.logs.as_ref().map(|l| v2::Logs {
            lines: l.lines.clone(),
            missing: l.missing,
            error: l.error.clone(),
            read_ms: l.read_ms,
            first_ms: l.first_ms,
            unchanged: l.unchanged,
            settled: l.settled,
        }),
        outcome: r.outcome.as_ref().map(outcome_to),
        notice: r.notice.as_ref().map(|n| match n.clone() {
            Notice::PaasUnreachable { error } => v2::Notice::PaasUnreachable { error },
            Notice::NotSaved { error } => v2::Notice::NotSaved { error },
            Notice::Restarting => v2::Notice::Restarting,
        }),
    }
}

fn from_v2(id: JobId, j: v2::Job, parts: Parts) -> Result<JobRecord, String> {
    let project = |s: &str| ProjectName::parse(s).map_err(|e| e.0);
    let branch = |s: &str| Branch::parse(s).map_err(|e| e.0);
    let app = |s: &str| AppName::parse(s).map_err(|e| e.0);
    let tag = |s: &str| VersionTag::parse(s).map_err(|e| e.0);
    let spec = match j.spec {
        v2::Spec::Build {
            project: p,
            branch: b,
        } => JobSpec::Build {
            project: project(&p)?,
            branch: branch(&b)?,
        },
        v2::Spec::Release {
            project: p,
            branch: b,
            app: a,
        } => JobSpec::Release {
            project: project(&p)?,
            branch: branch(&b)?,
            app: app(&a)?,
        },
        v2::Spec::Deploy {
            app: a,
            tag: t,
            origin,
        } => JobSpec::Deploy {
            app: app(&a)?,
            tag: tag(&t)?,
            origin: match origin {
                v2::Origin::Request => DeployOrigin::Request,
                v2::Origin::Rollback { waived } => DeployOrigin::Rollback { waived },
                v2::Origin::Promote { from } => DeployOrigin::Promote { from: app(&from)? },
            },
        },
    };
    let build = match j.build {
        Some(b) => Some(BuildProgress {
            intent: b.intent.map(|i| RunIntent {
                at_ms: i.at_ms,
                next_run: i.next_run,
            }),
            execution: b
                .execution
                .as_deref()
                .map(ExecutionId::parse)
                .transpose()
                .map_err(|e| e.to_string())?,
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
            succeeded_ms: b.succeeded_ms,
            finished: b.finished,
        }),
        None => None,
    };
    let deploy = match j.deploy {
        Some(d) => Some(DeployProgress {
            app_id: AppId::parse(&d.app_id).map_err(|e| e.to_string())?,
            tag: tag(&d.tag)?,
            from_tag: d.from_tag,
            looked_up: d.looked_up,
            baseline: d.baseline.map(snapshot_from),
            upgrade: match d.upgrade {
                v2::Upgrade::NotSent => Upgrade::NotSent,
                v2::Upgrade::Intended { at_ms } => Upgrade::Intended { at_ms },
                v2::Upgrade::Sent { intent_ms, at_ms } => Upgrade::Sent { intent_ms, at_ms },
            },
            rollout: Rollout {
                picked_up_ms: d.rollout.picked_up_ms,
                phases: d.rollout.phases.iter().map(|p| Phase::parse(p)).collect(),
                message: d.rollout.message,
                active_since_ms: d.rollout.active_since_ms,
                latest: d.rollout.latest.map(snapshot_from),
                done: d.rollout.done,
                failed: d.rollout.failed,
            },
        }),
        None => None,
    };
    Ok(JobRecord {
        id,
        spec,
        requester: Person {
            id: j.requester.id,
            name: j.requester.name,
        },
        channel: j.channel,
        state: JobState::from_snake(&j.state)
            .ok_or_else(|| format!("an unknown state {:?}", j.state))?,
        created_ms: j.created_ms,
        updated_ms: j.updated_ms,
        ended_ms: j.ended_ms,
        messages: Messages {
            thread: j.messages.thread.map(|t| ThreadRef {
                channel: t.channel,
                thread: t.thread,
                summary: message_from(t.summary),
            }),
            progress: j.messages.progress.map(message_from),
            approval: j.messages.approval.map(message_from),
            approval_told: j.messages.approval_told,
        },
        build,
        deploy,
        approval: parts.approval,
        queue: j.queue.map(|q| QueuePlace {
            joined_ms: q.joined_ms,
            behind: q.behind.map(JobId),
        }),
        cancel: j.cancel.map(|c| CancelRequest {
            by: c.by,
            at_ms: c.at_ms,
        }),
        logs: j.logs.map(|l| LogExcerpt {
            lines: l.lines,
            missing: l.missing,
            error: l.error,
            read_ms: l.read_ms,
            first_ms: l.first_ms,
            unchanged: l.unchanged,
            settled: l.settled,
        }),
        outcome: j.outcome.map(outcome_from).transpose()?,
        notice: j.notice.map(|n| match n {
            v2::Notice::PaasUnreachable { error } => Notice::PaasUnreachable { error },
            v2::Notice::NotSaved { error } => Notice::NotSaved { error },
            v2::Notice::Restarting => Notice::Restarting,
        }),
        audit: parts.audit,
    })
}
