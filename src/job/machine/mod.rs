//! How a job moves: [`next`] decides, from the record alone, what the engine must do
//! next (and makes the decisions that only need the clock: deadlines, expiries,
//! cancellations); [`apply`] takes in what the engine observed or learned. Both are
//! pure, so a job resumed after a restart continues from exactly where its record
//! says it stood, and every decision is tested with tables, without I/O.
//!
//! This file holds the vocabulary the engine and the machine share (the [`Step`]s
//! asked for, the [`Event`]s fed back, the [`Settings`] and [`Context`] each decision
//! reads); the decisions behind [`next`] are in `plan.rs`, those behind [`apply`] in
//! `observe.rs`.

mod observe;
mod plan;
mod release;

use std::time::Duration;

use super::approval::ApprovalPolicy;
use super::build::{BuildReading, RunIntent};
use super::outcome::Outcome;
use super::rollout::AppSnapshot;
use crate::chat::{MessageRef, ThreadRef};
use crate::ids::{AppId, ExecutionId};
use crate::names::{JobId, VersionTag};

pub use observe::apply;
pub use plan::next;

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

/// A duration in the milliseconds records and deadlines are kept in.
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
    /// The freezes and locks that hold on the app deployed, oldest first.
    pub frozen: Vec<FrozenNow>,
}

/// A freeze or lock that holds on an app a job deploys to: which app, who put it on (or
/// which window), why, since and until when, and for a lock the one person it lets
/// through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrozenNow {
    pub app: crate::names::AppName,
    pub by: String,
    pub reason: String,
    pub until_ms: i64,
    pub since_ms: i64,
    pub holder: Option<super::Person>,
}

impl FrozenNow {
    /// How a job this freeze or lock stops ends: frozen, or locked by its holder.
    pub fn refusal(&self) -> Outcome {
        let app = self.app.clone();
        match &self.holder {
            Some(holder) => Outcome::Locked {
                app,
                holder: holder.name.clone(),
                reason: self.reason.clone(),
                since_ms: self.since_ms,
            },
            None => Outcome::Frozen {
                app,
                by: self.by.clone(),
                reason: self.reason.clone(),
                until_ms: Some(self.until_ms),
            },
        }
    }
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
    /// A release to several apps: start the deploy of the app at `index` (or find the
    /// one started before a restart).
    StartLeg { index: usize },
    /// A release to several apps: wait until a running leg changes.
    AwaitLegs,
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
        execution: BuildReading,
        found: bool,
    },
    /// After a restart, no execution the recorded run request could have started.
    RunNotFound,
    ExecutionSeen(BuildReading),
    /// The PaaS failed `failures` polls in a row; polling goes on.
    PaasTrouble {
        error: String,
        failures: u32,
    },
    BuildStopped(StopResult),
    /// The tag live on the app before the deploy, if any could be learned.
    CurrentFound(Option<String>),
    /// What the deploy changes, drawn when what runs now was looked up.
    ChangesFound(crate::job::changes::Changes),
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
    /// Where a rollback of the app would go, for a deploy that went wrong after
    /// reaching it (see [`crate::job::incident::rollback_target`]).
    RollbackFound(VersionTag),
    /// A release to several apps started the leg at `index` as job `job`.
    LegStarted {
        index: usize,
        job: JobId,
    },
    /// The legs' records as they stand.
    LegsSeen(Vec<crate::job::JobRecord>),
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
    /// A newer deploy of the app has its turn: the logs from now on are its pods',
    /// so what was read stands.
    Superseded,
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
