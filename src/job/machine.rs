//! How a job moves: [`next`] decides, from the record alone, what the engine must do
//! next (and makes the decisions that only need the clock: deadlines, expiries,
//! cancellations); [`apply`] takes in what the engine observed or learned. Both are
//! pure, so a job resumed after a restart continues from exactly where its record
//! says it stood, and every decision is tested with tables, without I/O.

use std::time::Duration;

use super::approval::{Approval, ApprovalPolicy, ApprovalStatus, Request};
use super::audit::AuditAction;
use super::build::{BuildVerdict, RunIntent, verdict};
use super::outcome::{Cancellation, Outcome, Timed};
use super::record::{JobRecord, LogExcerpt, Notice, QueuePlace};
use super::rollout::{AppSnapshot, DeployProgress, Upgrade, Verdict};
use super::spec::JobSpec;
use super::state::JobState;
use crate::chat::{MessageRef, ThreadRef};
use crate::names::{JobId, VersionTag};
use crate::paas::{AppId, Execution, ExecutionId};

/// The limits and windows a job keeps to (`[jobs]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub build_timeout: Duration,
    /// From the upgrade request to the rollout's end.
    pub deploy_timeout: Duration,
    /// How long a succeeded build's `versionTag` is waited for.
    pub tag_wait: Duration,
    /// How long a new rollout must keep reading `active` before it counts as done.
    pub settle: Duration,
    /// How long the app may show no sign of taking an upgrade up.
    pub pickup: Duration,
    /// How long deploy logs keep being read after the rollout.
    pub logs_window: Duration,
    pub logs_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            build_timeout: Duration::from_secs(60 * 60),
            deploy_timeout: Duration::from_secs(30 * 60),
            tag_wait: Duration::from_secs(60),
            settle: Duration::from_secs(10),
            pickup: Duration::from_secs(120),
            logs_window: Duration::from_secs(30),
            logs_every: Duration::from_secs(5),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What the configuration says about a job's targets now, read afresh at each step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub settings: Settings,
    /// Whether the project built is still configured (builds and releases).
    pub project_configured: bool,
    /// The Rancher app deployed, while the app is configured.
    pub app_id: Option<AppId>,
    /// The approval a deploy needs; `None` when it needs none.
    pub approval: Option<ApprovalPolicy>,
}

/// What the engine must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Open the thread and post the progress message, whichever is missing.
    OpenMessages,
    /// Follow a running build of the same project and branch, or read `nextRun`,
    /// record the intent, and send `run`.
    StartBuild,
    /// A run request was recorded but not its answer: look for what it started.
    RecoverRun { intent: RunIntent },
    /// Follow the execution until it ends; look again at `wake_ms` at the latest.
    FollowBuild {
        execution: ExecutionId,
        wake_ms: i64,
    },
    /// Stop the build for a cancel, unless other jobs follow it.
    StopBuild { execution: ExecutionId },
    /// Read what the app runs now, to show what the deploy changes.
    LookUpCurrent,
    /// Post the approval request (and supersede older ones for the app).
    RequestApproval,
    /// Wait for votes, until `deadline_ms`.
    AwaitApproval { deadline_ms: i64 },
    /// Wait for the app's earlier deploys to finish.
    AwaitTurn,
    /// Read the app, record the intent, send the upgrade.
    Upgrade,
    /// An upgrade was recorded but not its answer: read the app to learn whether it
    /// was carried out.
    RecoverUpgrade,
    /// Follow the app until the new rollout is done; look again at `wake_ms`, and
    /// read the app afresh at `poke_ms` (the end of a settle window).
    FollowRollout { wake_ms: i64, poke_ms: Option<i64> },
    /// Read the deploy logs at `at_ms`.
    FetchLogs { at_ms: i64 },
    /// The job has ended: deliver its final messages.
    Finish,
}

/// What the engine observed or learned.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    ThreadOpened(ThreadRef),
    ProgressPosted(MessageRef),
    /// Following a build another job started.
    BuildJoined(ExecutionId),
    RunIntended(RunIntent),
    /// The run request's answer, or the execution it started found after a restart.
    RunStarted {
        execution: Execution,
        found: bool,
    },
    /// After a restart, no execution the recorded run request could have started.
    RunNotFound,
    ExecutionSeen(Execution),
    /// The PaaS failed polls in a row; polling goes on.
    PaasTrouble(String),
    BuildStopped(StopResult),
    /// The tag live on the app before the deploy, if any could be learned.
    CurrentFound(Option<String>),
    ApprovalPosted(MessageRef),
    /// The job ahead in the app's deploy queue, or `None` once it is this job's turn.
    QueueAhead(Option<JobId>),
    UpgradeIntended {
        baseline: AppSnapshot,
    },
    /// The upgrade was accepted; the app as the answer showed it, if it did.
    UpgradeSent {
        answer: Option<AppSnapshot>,
    },
    /// After a restart, the app as it is, to learn whether the recorded upgrade was
    /// carried out.
    UpgradeChecked(AppSnapshot),
    AppSeen(AppSnapshot),
    LogsRead(LogsRead),
    /// The engine could not go on.
    Failed(Outcome),
}

/// What a stop request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopResult {
    Stopped,
    AlreadyFinished,
    /// Other jobs follow the build, so it was left running.
    Shared,
    Failed(String),
}

/// One read of the deploy logs, redacted and cut to the excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogsRead {
    Lines(Vec<String>),
    Missing,
    Error(String),
}

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
        Step::Upgrade | Step::RecoverUpgrade | Step::FollowRollout { .. } => JobState::Deploying,
        Step::FetchLogs { .. } => JobState::FetchingLogs,
        Step::OpenMessages | Step::LookUpCurrent | Step::Finish => return None,
    })
}

fn plan(r: &mut JobRecord, now: i64, cx: &Context) -> Step {
    if r.state.is_final() {
        return Step::Finish;
    }
    if r.messages.progress.is_none() {
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
        // A release's deploy starts when its build succeeds; one recorded by an older
        // releasebot may have only the build's tag.
        let built = r
            .build
            .as_ref()
            .and_then(|b| b.tag.as_deref())
            .and_then(|t| VersionTag::parse(t).ok());
        let Some(tag) = r.deploy_tag().cloned().or(built) else {
            let build = r
                .build
                .as_ref()
                .and_then(|b| b.execution_name())
                .unwrap_or_default();
            r.end(Outcome::NoVersionTag { build }, now);
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
    if let Some(cancel) = r.cancel.clone() {
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
        return Step::Finish;
    }
    if !d.looked_up {
        return Step::LookUpCurrent;
    }
    if let Some(policy) = cx.approval.clone() {
        if let Some(step) = plan_approval(r, &d, policy, now) {
            return step;
        }
    }
    if r.queue.is_none_or(|q| q.behind.is_some()) {
        return Step::AwaitTurn;
    }
    Step::Upgrade
}

/// The approval a deploy needs; `None` once it is given.
fn plan_approval(
    r: &mut JobRecord,
    d: &DeployProgress,
    policy: ApprovalPolicy,
    now: i64,
) -> Option<Step> {
    let image = r.build.as_ref().and_then(|b| b.image.clone());
    let app = r.spec.app().cloned()?;
    let fresh = r
        .approval
        .as_ref()
        .is_none_or(|a| !a.covers(&app, &d.tag, image.as_deref()));
    if fresh {
        r.approval = Some(Approval::new(
            Request {
                app: &app,
                tag: &d.tag,
                image,
                from_tag: d.from_tag.clone(),
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

/// The build succeeded: a build job is done; a release goes on to deploy its tag.
fn finish_build(r: &mut JobRecord, now: i64, cx: &Context) {
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
        Some(app_id) => r.deploy = Some(DeployProgress::new(app_id, tag)),
        None => {
            let name = r.spec.app().map(ToString::to_string).unwrap_or_default();
            r.end(Outcome::NotConfigured { name }, now);
        }
    }
}

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
        Event::PaasTrouble(error) => r.notice = Some(Notice::PaasUnreachable { error }),
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
        Event::Failed(outcome) => r.end(outcome, now),
    }
}

fn seen_execution(r: &mut JobRecord, e: &Execution, now: i64, cx: &Context) {
    let Some(b) = r.build.as_mut() else { return };
    if b.finished {
        return;
    }
    b.observe(e);
    if matches!(r.notice, Some(Notice::PaasUnreachable { .. })) {
        r.notice = None;
    }
    let name = e.id.name();
    match verdict(e) {
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

/// The latest moment the job needs to look again without any news, if any.
pub fn wake_ms(step: &Step) -> Option<i64> {
    match step {
        Step::FollowBuild { wake_ms, .. } | Step::FollowRollout { wake_ms, .. } => Some(*wake_ms),
        Step::AwaitApproval { deadline_ms } => Some(*deadline_ms),
        Step::FetchLogs { at_ms } => Some(*at_ms),
        _ => None,
    }
}
