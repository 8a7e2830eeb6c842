//! The decisions behind [`next`](super::next): from the record, the context and the
//! clock, the step the engine takes next, phase by phase (build, deploy, approval,
//! rollout, logs). Deadlines and cancellations are decided here, so a job that sleeps
//! through one finds it on waking.

use super::observe::finish_build;
use super::{Context, Step, ms};
use crate::job::approval::{Approval, ApprovalPolicy, ApprovalStatus, Request};
use crate::job::audit::AuditAction;
use crate::job::outcome::{Cancellation, Outcome, Timed};
use crate::job::record::JobRecord;
use crate::job::rollout::{DeployProgress, Upgrade};
use crate::job::spec::{DeployOrigin, JobSpec};
use crate::job::start::{FreezePass, blocking, freeze_pass};
use crate::job::state::JobState;
use crate::names::{AppName, VersionTag};

/// Decides what the job does next. Decisions that need only the record and the clock
/// (a deadline passed, a cancel asked for, an approval decided) are made here.
pub fn next(r: &mut JobRecord, now_ms: i64, cx: &Context) -> Step {
    let step = plan(r, now_ms, cx);
    if let Some(state) = state_for(&step) {
        r.state = state;
    }
    step
}

fn state_for(step: &Step) -> Option<JobState> {
    Some(match step {
        Step::StartBuild | Step::RecoverRun { .. } => JobState::Triggering,
        Step::FollowBuild { .. } | Step::StopBuild { .. } => JobState::Building,
        Step::RequestApproval | Step::AwaitApproval { .. } => JobState::AwaitingApproval,
        Step::AwaitTurn => JobState::Queued,
        Step::Upgrade
        | Step::RecoverUpgrade
        | Step::FollowRollout { .. }
        | Step::StartLeg { .. }
        | Step::AwaitLegs => JobState::Deploying,
        Step::FetchLogs { .. } => JobState::FetchingLogs,
        Step::OpenMessages | Step::LookUpCurrent | Step::Finish => return None,
    })
}

fn plan(r: &mut JobRecord, now: i64, cx: &Context) -> Step {
    if r.state.is_final() {
        return Step::Finish;
    }
    // One app of a release to several is shown in its release's message.
    if r.messages.progress.is_none() && r.spec.leg_of().is_none() {
        return Step::OpenMessages;
    }
    if r.build.as_ref().is_some_and(|b| !b.finished) {
        if let Some(step) = plan_build(r, now, cx) {
            return step;
        }
        if r.state.is_final() {
            return Step::Finish;
        }
    }
    if let JobSpec::Build { .. } = r.spec {
        r.end(Outcome::Succeeded, now);
        return Step::Finish;
    }
    if r.spec.has_legs() {
        return super::release::plan(r, now, cx);
    }
    plan_deploy(r, now, cx)
}

/// The build phase; `None` once the build is over (and the job goes on).
fn plan_build(r: &mut JobRecord, now: i64, cx: &Context) -> Option<Step> {
    if !cx.project_configured {
        let name = r
            .spec
            .project()
            .map(ToString::to_string)
            .unwrap_or_default();
        r.end(Outcome::NotConfigured { name }, now);
        return Some(Step::Finish);
    }
    let b = r.build.clone().unwrap_or_default();
    if let Some(cancel) = r.cancel.clone() {
        let detail = match (&b.execution, b.intent) {
            (Some(execution), _) if b.started_here => {
                return Some(Step::StopBuild {
                    execution: execution.clone(),
                });
            }
            (Some(execution), _) => Cancellation::BuildGoesOn {
                build: execution.name(),
            },
            // The run request may have started a build: find it, then stop it.
            (None, Some(intent)) => return Some(Step::RecoverRun { intent }),
            (None, None) => Cancellation::BeforeBuild,
        };
        r.end(
            Outcome::Cancelled {
                by: cancel.by,
                detail,
            },
            now,
        );
        return Some(Step::Finish);
    }
    let Some(execution) = b.execution.clone() else {
        return Some(match b.intent {
            Some(intent) => Step::RecoverRun { intent },
            None => Step::StartBuild,
        });
    };
    let since = b.intent.map_or(r.created_ms, |i| i.at_ms);
    let timeout = since.saturating_add(ms(cx.settings.build_timeout));
    if now >= timeout {
        r.end(
            Outcome::TimedOut {
                step: Timed::Build,
                limit_ms: ms(cx.settings.build_timeout) as u64,
            },
            now,
        );
        return Some(Step::Finish);
    }
    let mut wake_ms = timeout;
    if let Some(succeeded) = b.succeeded_ms {
        let given_up = succeeded.saturating_add(ms(cx.settings.tag_wait));
        if now >= given_up {
            finish_build(r, now, cx);
            return None;
        }
        wake_ms = wake_ms.min(given_up);
    }
    Some(Step::FollowBuild { execution, wake_ms })
}

/// The deploy phase, for deploys and for releases whose build produced a tag.
fn plan_deploy(r: &mut JobRecord, now: i64, cx: &Context) -> Step {
    let Some(app_id) = cx.app_id.clone() else {
        let name = r.spec.app().map(ToString::to_string).unwrap_or_default();
        r.end(Outcome::NotConfigured { name }, now);
        return Step::Finish;
    };
    if r.deploy.is_none() {
        let Some(tag) = tag_to_deploy(r, now) else {
            return Step::Finish;
        };
        r.deploy = Some(DeployProgress::new(app_id, tag));
    }
    let Some(d) = r.deploy.clone() else {
        return Step::Finish;
    };
    match d.upgrade {
        Upgrade::NotSent => {}
        Upgrade::Intended { .. } => return Step::RecoverUpgrade,
        Upgrade::Sent { intent_ms, at_ms } => {
            return plan_rollout(r, &d, intent_ms, at_ms, now, cx);
        }
    }
    if let Some(step) = cancel_before_deploy(r, now) {
        return step;
    }
    if !d.looked_up {
        return Step::LookUpCurrent;
    }
    if let Some(step) = plan_freeze(r, cx, now) {
        return step;
    }
    waive_rollback_approval(r, now);
    if let Some(policy) = cx.approval.clone()
        && let Some(app) = r.spec.app().cloned()
        && let Some(step) = plan_approval(r, &app, &d.tag, d.from_tag.clone(), policy, now)
    {
        return step;
    }
    if r.queue.is_none_or(|q| q.behind.is_some()) {
        return Step::AwaitTurn;
    }
    // A freeze may have begun while the job waited for votes or for its turn.
    if let Some(step) = plan_freeze(r, cx, now) {
        return step;
    }
    Step::Upgrade
}

/// The tag a release deploys once its build succeeded (a deploy's own); `None`, the
/// job ended, when the build produced none. One recorded by an older releasebot may
/// have only the build's tag.
pub(super) fn tag_to_deploy(r: &mut JobRecord, now: i64) -> Option<VersionTag> {
    let built = r
        .build
        .as_ref()
        .and_then(|b| b.tag.as_deref())
        .and_then(|t| VersionTag::parse(t).ok());
    if let Some(tag) = r.deploy_tag().cloned().or(built) {
        return Some(tag);
    }
    let build = r
        .build
        .as_ref()
        .and_then(|b| b.execution_name())
        .unwrap_or_default();
    r.end(Outcome::NoVersionTag { build }, now);
    None
}

/// A cancel asked for before anything was deployed ends the job, closing its
/// approval request.
pub(super) fn cancel_before_deploy(r: &mut JobRecord, now: i64) -> Option<Step> {
    let cancel = r.cancel.clone()?;
    if let Some(a) = r.approval.as_mut() {
        a.close(ApprovalStatus::Cancelled {
            by: cancel.by.clone(),
            at_ms: cancel.at_ms,
        });
    }
    let detail = match r.state {
        JobState::AwaitingApproval => Cancellation::WhileAwaitingApproval,
        JobState::Queued => Cancellation::WhileQueued,
        _ => Cancellation::BeforeDeploy,
    };
    r.end(
        Outcome::Cancelled {
            by: cancel.by,
            detail,
        },
        now,
    );
    Some(Step::Finish)
}

/// Freezes or locks hold on the app: a rollback goes through them, as does a deploy an
/// admin let through a freeze or the holder's own deploy through their lock
/// ([`freeze_pass`]); anything else ends without deploying. A rollback's or an
/// override's pass is audited once.
pub(super) fn plan_freeze(r: &mut JobRecord, cx: &Context, now: i64) -> Option<Step> {
    let requester = r.requester.id.clone();
    if let Some(f) = blocking(&r.spec, &requester, r.freeze_override.as_ref(), &cx.frozen) {
        r.end(f.refusal(), now);
        return Some(Step::Finish);
    }
    let (f, pass) = cx.frozen.iter().find_map(|f| {
        match freeze_pass(&r.spec, &requester, r.freeze_override.as_ref(), f)? {
            FreezePass::Holder => None,
            pass => Some((f, pass)),
        }
    })?;
    let d = r.deploy.as_mut()?;
    if !d.waived.freeze {
        d.waived.freeze = true;
        let why = match pass {
            FreezePass::Overridden { by, reason } => format!("overridden by {by}: {reason}"),
            _ => "a rollback may".to_string(),
        };
        let by = r.freeze_override.as_ref().map(|o| o.by.clone());
        let what = if f.holder.is_some() { "lock" } else { "freeze" };
        let detail = format!(
            "deploys through the {what} by {} ({}): {why}",
            f.by, f.reason
        );
        r.audit(now, by.as_deref(), AuditAction::Waive, detail);
    }
    None
}

/// A rollback whose app lets rollbacks skip the approval says so in its audit, once.
fn waive_rollback_approval(r: &mut JobRecord, now: i64) {
    let JobSpec::Deploy {
        app,
        origin: DeployOrigin::Rollback { waived: true },
        ..
    } = &r.spec
    else {
        return;
    };
    let detail =
        format!("approval waived: rollbacks of {app} need none (rollback_approval = false)");
    let Some(d) = r.deploy.as_mut() else {
        return;
    };
    if !d.waived.approval {
        d.waived.approval = true;
        r.audit(now, None, AuditAction::Waive, detail);
    }
}

/// The approval a deploy needs; `None` once it is given.
pub(super) fn plan_approval(
    r: &mut JobRecord,
    app: &AppName,
    tag: &VersionTag,
    from_tag: Option<String>,
    policy: ApprovalPolicy,
    now: i64,
) -> Option<Step> {
    let image = r.image().map(str::to_string);
    let fresh = r
        .approval
        .as_ref()
        .is_none_or(|a| !a.covers(app, tag, image.as_deref()));
    if fresh {
        r.approval = Some(Approval::new(
            Request {
                app,
                tag,
                image,
                from_tag,
                requester_id: &r.requester.id,
                requester: &r.requester.name,
            },
            policy,
            now,
        ));
    }
    let a = r.approval.clone()?;
    let ending = match &a.status {
        ApprovalStatus::Approved { .. } => return None,
        ApprovalStatus::Pending if r.messages.approval.is_none() => {
            return Some(Step::RequestApproval);
        }
        ApprovalStatus::Pending if now < a.deadline_ms => {
            return Some(Step::AwaitApproval {
                deadline_ms: a.deadline_ms,
            });
        }
        ApprovalStatus::Pending => {
            if let Some(a) = r.approval.as_mut() {
                a.close(ApprovalStatus::Expired { at_ms: now });
            }
            r.audit(
                now,
                None,
                AuditAction::Expire,
                "no quorum before the deadline",
            );
            Outcome::ApprovalExpired {
                after_ms: ms(a.policy.timeout) as u64,
            }
        }
        ApprovalStatus::Rejected { by, .. } => Outcome::Rejected { by: by.clone() },
        ApprovalStatus::Expired { .. } => Outcome::ApprovalExpired {
            after_ms: ms(a.policy.timeout) as u64,
        },
        ApprovalStatus::Superseded { by, .. } => Outcome::Superseded { by: *by },
        ApprovalStatus::Cancelled { by, .. } => Outcome::Cancelled {
            by: by.clone(),
            detail: Cancellation::WhileAwaitingApproval,
        },
    };
    r.end(ending, now);
    Some(Step::Finish)
}

fn plan_rollout(
    r: &mut JobRecord,
    d: &DeployProgress,
    intent_ms: i64,
    sent_ms: i64,
    now: i64,
    cx: &Context,
) -> Step {
    if !d.rollout.done {
        let limit = ms(cx.settings.deploy_timeout);
        let timeout = intent_ms.saturating_add(limit);
        if now >= timeout {
            r.end(
                Outcome::TimedOut {
                    step: Timed::Rollout,
                    limit_ms: limit as u64,
                },
                now,
            );
            return Step::Finish;
        }
        let mut wake_ms = timeout;
        if d.rollout.picked_up_ms.is_none() {
            let pickup = sent_ms.saturating_add(ms(cx.settings.pickup));
            if now >= pickup {
                let app = r.spec.app().cloned();
                if let Some(app) = app {
                    r.end(
                        Outcome::NoSignOfUpgrade {
                            app,
                            tag: d.tag.clone(),
                            shows: d.shows(),
                        },
                        now,
                    );
                }
                return Step::Finish;
            }
            wake_ms = wake_ms.min(pickup);
        }
        let poke_ms = d
            .rollout
            .active_since_ms
            .map(|since| since.saturating_add(ms(cx.settings.settle)));
        return Step::FollowRollout { wake_ms, poke_ms };
    }
    match &r.logs {
        None => Step::FetchLogs { at_ms: now },
        Some(l) if !l.settled && now < l.first_ms.saturating_add(ms(cx.settings.logs_window)) => {
            let window_end = l.first_ms.saturating_add(ms(cx.settings.logs_window));
            Step::FetchLogs {
                at_ms: l
                    .read_ms
                    .saturating_add(ms(cx.settings.logs_every))
                    .min(window_end),
            }
        }
        Some(_) => {
            if let Some(l) = r.logs.as_mut() {
                l.settled = true;
            }
            r.end(Outcome::Succeeded, now);
            Step::Finish
        }
    }
}
