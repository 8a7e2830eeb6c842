//! The functions behind [`apply`](super::apply): what each [`Event`] the engine
//! reports changes in the record: a build's progress and verdict, the rollout's
//! progress, the deploy logs read. Nothing here asks for a step; `next` reads the
//! record afterwards.

use super::{Context, Event, LogsRead, StopResult, ms};
use crate::job::audit::AuditAction;
use crate::job::build::{BuildReading, BuildVerdict};
use crate::job::outcome::{Cancellation, Outcome};
use crate::job::record::{JobRecord, LogExcerpt, Notice, QueuePlace};
use crate::job::rollout::{AppSnapshot, DeployProgress, Upgrade, Verdict};
use crate::job::spec::JobSpec;
use crate::job::state::JobState;
use crate::names::VersionTag;

/// Failed polls in a row before the job's message says the PaaS is unreachable.
const TROUBLE_AFTER: u32 = 2;

/// Takes in what the engine observed or learned.
pub fn apply(r: &mut JobRecord, event: Event, now: i64, cx: &Context) {
    match event {
        Event::ThreadOpened(thread) => r.messages.thread = Some(thread),
        Event::ProgressPosted(message) => r.messages.progress = Some(message),
        Event::ApprovalPosted(message) => r.messages.approval = Some(message),
        Event::BuildJoined(execution) => {
            let detail = format!("following {}, already running", execution.name());
            let b = r.build.get_or_insert_with(Default::default);
            b.execution = Some(execution);
            b.started_here = false;
            r.state = JobState::Building;
            r.audit(now, None, AuditAction::BuildStart, detail);
        }
        Event::RunIntended(intent) => {
            r.build.get_or_insert_with(Default::default).intent = Some(intent);
        }
        Event::RunStarted { execution, found } => {
            let name = execution.id.name();
            let b = r.build.get_or_insert_with(Default::default);
            b.started_here = true;
            b.execution = Some(execution.id.clone());
            let detail = if found {
                format!("found run {name} sent before a restart")
            } else {
                format!("run {name}")
            };
            r.audit(now, None, AuditAction::BuildStart, detail);
            seen_execution(r, &execution, now, cx);
        }
        Event::RunNotFound => {
            if let Some(b) = r.build.as_mut() {
                b.intent = None;
            }
        }
        Event::ExecutionSeen(execution) => seen_execution(r, &execution, now, cx),
        Event::LegStarted { index, job } => {
            let Some(leg) = r.legs.as_mut().and_then(|l| l.apps.get_mut(index)) else {
                return;
            };
            leg.job = Some(job);
            let detail = format!("{} deploys as {job}", leg.app);
            r.audit(now, None, AuditAction::DeployStart, detail);
        }
        Event::LegsSeen(records) => {
            if let Some(legs) = r.legs.as_mut() {
                crate::job::legs::seen(legs, &records);
            }
        }
        // One failed poll is weather; from the second in a row the message says so.
        Event::PaasTrouble { error, failures } if failures >= TROUBLE_AFTER => {
            r.notice = Some(Notice::PaasUnreachable { error })
        }
        Event::PaasTrouble { .. } => {}
        Event::BuildStopped(result) => {
            let build = r
                .build
                .as_ref()
                .and_then(|b| b.execution_name())
                .unwrap_or_default();
            if let Some(b) = r.build.as_mut() {
                b.finished = true;
            }
            let detail = match result {
                StopResult::Stopped => Cancellation::BuildStopped { build },
                StopResult::AlreadyFinished => Cancellation::BuildHadFinished { build },
                StopResult::Shared => Cancellation::BuildGoesOn { build },
                StopResult::Failed(error) => Cancellation::BuildNotStopped { build, error },
            };
            let by = r.cancel.as_ref().map(|c| c.by.clone()).unwrap_or_default();
            r.end(Outcome::Cancelled { by, detail }, now);
        }
        Event::CurrentFound(tag) => {
            if let Some(d) = r.deploy.as_mut() {
                d.from_tag = tag;
                d.looked_up = true;
            }
        }
        Event::ChangesFound(changes) => {
            if let Some(d) = r.deploy.as_mut() {
                d.changes = Some(changes);
            }
        }
        Event::QueueAhead(ahead) => {
            let place = r.queue.get_or_insert(QueuePlace {
                joined_ms: now,
                behind: None,
            });
            place.behind = ahead;
        }
        Event::UpgradeIntended { baseline } => {
            let Some(d) = r.deploy.as_mut() else { return };
            let detail = format!("upgrade {} to {}", d.app_id, d.tag);
            d.baseline = Some(baseline);
            d.upgrade = Upgrade::Intended { at_ms: now };
            r.audit(now, None, AuditAction::DeployStart, detail);
        }
        Event::UpgradeSent { answer } => {
            let Some(d) = r.deploy.as_mut() else { return };
            let intent_ms = d.intent_ms().unwrap_or(now);
            d.upgrade = Upgrade::Sent {
                intent_ms,
                at_ms: now,
            };
            if let Some(answer) = answer {
                seen_app(r, &answer, now, cx);
            }
        }
        Event::UpgradeChecked(app) => {
            let Some(d) = r.deploy.as_mut() else { return };
            let Some(intent_ms) = d.intent_ms() else {
                return;
            };
            if d.carried_out(&app) {
                d.upgrade = Upgrade::Sent {
                    intent_ms,
                    at_ms: intent_ms,
                };
                seen_app(r, &app, now, cx);
            } else {
                // Never carried out: it is read afresh and sent.
                d.upgrade = Upgrade::NotSent;
                d.baseline = None;
            }
        }
        Event::AppSeen(app) => seen_app(r, &app, now, cx),
        Event::LogsRead(read) => read_logs(r, read, now),
        Event::RollbackFound(tag) => {
            if let Some(d) = r.deploy.as_mut() {
                d.rollback_to = Some(tag);
            }
        }
        Event::Failed(outcome) => r.end(outcome, now),
    }
}

/// The build succeeded: a build job is done; a release goes on to deploy its tag.
pub(super) fn finish_build(r: &mut JobRecord, now: i64, cx: &Context) {
    let Some(b) = r.build.as_mut() else { return };
    if b.finished {
        return;
    }
    b.finished = true;
    let name = b.execution_name().unwrap_or_default();
    let tag = b.tag.clone();
    r.audit(
        now,
        None,
        AuditAction::BuildEnd,
        format!("{name} succeeded"),
    );
    let JobSpec::Release { .. } = r.spec else {
        return;
    };
    let Some(tag) = tag else {
        r.end(Outcome::NoVersionTag { build: name }, now);
        return;
    };
    let tag = match VersionTag::parse(&tag) {
        Ok(tag) => tag,
        Err(e) => {
            r.end(
                Outcome::UnusableTag {
                    tag,
                    problem: e.to_string(),
                },
                now,
            );
            return;
        }
    };
    match cx.app_id.clone() {
        // A release to several apps deploys through its legs, each to this tag.
        Some(_) if r.spec.has_legs() => {
            r.legs = Some(crate::job::legs::Legs::new(tag, &r.spec.apps()))
        }
        Some(app_id) => r.deploy = Some(DeployProgress::new(app_id, tag)),
        None => {
            let name = r.spec.app().map(ToString::to_string).unwrap_or_default();
            r.end(Outcome::NotConfigured { name }, now);
        }
    }
}

fn seen_execution(r: &mut JobRecord, e: &BuildReading, now: i64, cx: &Context) {
    let Some(b) = r.build.as_mut() else { return };
    if b.finished {
        return;
    }
    b.observe(e);
    if matches!(r.notice, Some(Notice::PaasUnreachable { .. })) {
        r.notice = None;
    }
    let name = e.id.name();
    match e.verdict.clone() {
        BuildVerdict::Running => {
            if r.state == JobState::Triggering {
                r.state = JobState::Building;
            }
        }
        BuildVerdict::Succeeded => finish_build(r, now, cx),
        BuildVerdict::SucceededWithoutTag => {
            b.succeeded_ms.get_or_insert(now);
        }
        BuildVerdict::Failed { stage, message } => {
            b.finished = true;
            r.audit(now, None, AuditAction::BuildEnd, format!("{name} failed"));
            r.end(
                Outcome::BuildFailed {
                    build: name,
                    stage,
                    message,
                },
                now,
            );
        }
        BuildVerdict::Aborted { message } => {
            b.finished = true;
            r.audit(now, None, AuditAction::BuildEnd, format!("{name} aborted"));
            let outcome = match r.cancel.clone() {
                Some(c) => Outcome::Cancelled {
                    by: c.by,
                    detail: Cancellation::BuildStopped { build: name },
                },
                None => Outcome::BuildStopped {
                    build: name,
                    message,
                },
            };
            r.end(outcome, now);
        }
    }
}

fn seen_app(r: &mut JobRecord, app: &AppSnapshot, now: i64, cx: &Context) {
    let settle = ms(cx.settings.settle);
    let Some(d) = r.deploy.as_mut() else { return };
    if d.sent_ms().is_none() || d.rollout.done {
        return;
    }
    let verdict = d.observe(app, now, settle);
    let tag = d.tag.clone();
    if matches!(r.notice, Some(Notice::PaasUnreachable { .. })) {
        r.notice = None;
    }
    match verdict {
        Verdict::Done => {
            r.audit(now, None, AuditAction::DeployEnd, format!("{tag} active"));
        }
        Verdict::Failed { message } => {
            r.audit(now, None, AuditAction::DeployEnd, format!("{tag} failed"));
            if let Some(app) = r.spec.app().cloned() {
                r.end(Outcome::DeployFailed { app, tag, message }, now);
            }
        }
        Verdict::NotPickedUp | Verdict::Rolling | Verdict::Settling { .. } => {}
    }
}

fn read_logs(r: &mut JobRecord, read: LogsRead, now: i64) {
    let logs = r.logs.get_or_insert(LogExcerpt {
        first_ms: now,
        ..LogExcerpt::default()
    });
    logs.read_ms = now;
    match read {
        LogsRead::Missing => {
            logs.missing = true;
            logs.settled = true;
        }
        LogsRead::Superseded => logs.settled = true,
        LogsRead::Error(error) => {
            // A passing failure keeps what an earlier read showed.
            if logs.lines.is_empty() {
                logs.error = Some(error);
            }
        }
        LogsRead::Lines(lines) => {
            logs.error = None;
            if lines == logs.lines {
                logs.unchanged += 1;
            } else {
                logs.unchanged = 0;
                logs.lines = lines;
            }
            // Quiet: the excerpt showed something and stopped growing.
            if logs.unchanged >= 1 && !logs.lines.is_empty() {
                logs.settled = true;
            }
        }
    }
}
