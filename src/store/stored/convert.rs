//! Today's stored form (version 2) ⇄ the domain's job record: every field of a
//! [`JobRecord`] and where it goes in [`v2::Job`], and back. The outcome, which has
//! the most variants, is converted in `outcome.rs`.

use super::outcome::{outcome_from, outcome_to};
use super::{DecodeError, Parts, v2};
use crate::chat::{MessageRef, ThreadRef};
use crate::ids::{AppId, ExecutionId};
use crate::job::FreezeOverride;
use crate::job::rollout::CondStatus;
use crate::job::rollout::{Cond, Rollout};
use crate::job::{
    AppSnapshot, BuildProgress, CancelRequest, DeployOrigin, DeployProgress, JobRecord, JobSpec,
    JobState, LogExcerpt, Messages, Notice, Person, Phase, QueuePlace, RunIntent, StageMark,
    StageView, Upgrade,
};
use crate::names::{AppName, Branch, JobId, ProjectName, VersionTag};

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

fn status_to(s: CondStatus) -> String {
    match s {
        CondStatus::True => "True",
        CondStatus::False => "False",
        CondStatus::Unknown => "Unknown",
    }
    .into()
}

fn status_from(s: &str) -> CondStatus {
    match s {
        "True" => CondStatus::True,
        "False" => CondStatus::False,
        _ => CondStatus::Unknown,
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

pub(super) fn to_v2(r: &JobRecord) -> v2::Job {
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
                DeployOrigin::Promote { from, image } => v2::Origin::Promote {
                    image: image.clone(),
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
            rollback_to: d.rollback_to.as_ref().map(ToString::to_string),
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
        freeze_override: r.freeze_override.as_ref().map(|o| v2::Override {
            by: o.by.clone(),
            reason: o.reason.clone(),
            at_ms: o.at_ms,
        }),
    }
}

pub(super) fn from_v2(id: JobId, j: v2::Job, parts: Parts) -> Result<JobRecord, DecodeError> {
    let project = ProjectName::parse;
    let branch = Branch::parse;
    let app = AppName::parse;
    let tag = VersionTag::parse;
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
                v2::Origin::Promote { from, image } => DeployOrigin::Promote {
                    from: app(&from)?,
                    image,
                },
            },
        },
    };
    let build = match j.build {
        Some(b) => Some(BuildProgress {
            intent: b.intent.map(|i| RunIntent {
                at_ms: i.at_ms,
                next_run: i.next_run,
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
            succeeded_ms: b.succeeded_ms,
            finished: b.finished,
        }),
        None => None,
    };
    let deploy = match j.deploy {
        Some(d) => Some(DeployProgress {
            app_id: AppId::parse(&d.app_id)?,
            tag: tag(&d.tag)?,
            from_tag: d.from_tag,
            looked_up: d.looked_up,
            rollback_to: d.rollback_to.as_deref().map(tag).transpose()?,
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
            .ok_or_else(|| DecodeError::UnknownState(j.state.clone()))?,
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
        freeze_override: j.freeze_override.map(|o| FreezeOverride {
            by: o.by,
            reason: o.reason,
            at_ms: o.at_ms,
        }),
        audit: parts.audit,
    })
}
