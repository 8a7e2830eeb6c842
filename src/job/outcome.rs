//! Why a job ended, as data: render turns it into the one sentence people read.

use serde::{Deserialize, Serialize};

use super::state::JobState;
use crate::names::{AppName, JobId, VersionTag};

/// How a job ended. Everything but `Succeeded` says why, with what the PaaS or the
/// chat said where that is the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    /// The build failed on the PaaS, at a stage when Rancher says which.
    BuildFailed {
        build: String,
        stage: Option<String>,
        message: String,
    },
    /// Someone stopped the build on the PaaS itself.
    BuildStopped {
        build: String,
        message: String,
    },
    /// A release's build succeeded but reported no tag to deploy (a stock Rancher).
    NoVersionTag {
        build: String,
    },
    /// A release's build reported a tag releasebot will not deploy.
    UnusableTag {
        tag: String,
        problem: String,
    },
    /// The PaaS reported the new rollout failed (the helm error).
    DeployFailed {
        app: AppName,
        tag: VersionTag,
        message: String,
    },
    /// The upgrade was accepted but the app never showed a sign of taking it up.
    NoSignOfUpgrade {
        app: AppName,
        tag: VersionTag,
        shows: String,
    },
    /// A build or a rollout did not finish within its limit.
    TimedOut {
        step: Timed,
        limit_ms: u64,
    },
    ApprovalExpired {
        after_ms: u64,
    },
    Rejected {
        by: String,
    },
    Superseded {
        by: JobId,
    },
    Cancelled {
        by: String,
        detail: Cancellation,
    },
    /// A PaaS call a step needed failed for good.
    PaasFailed {
        step: PaasStep,
        error: String,
    },
    /// The store did not take the write that must come before a step.
    NotRecorded {
        step: PaasStep,
        error: String,
    },
    /// The chat refused what the job must post.
    ChatFailed {
        step: ChatStep,
        error: String,
    },
    /// The project or app is no longer in the configuration.
    NotConfigured {
        name: String,
    },
    /// An ending an earlier releasebot recorded only as a sentence (store version 1).
    Recorded {
        state: JobState,
        text: String,
    },
    /// One app of a release to several did not deploy: the release ends naming it,
    /// with how its leg (job `job`) ended.
    LegFailed {
        app: AppName,
        /// `None` when it could not even start (a freeze that began meanwhile).
        job: Option<JobId>,
        outcome: Box<Outcome>,
    },
    /// An app frozen when the job reached it (`/freeze`).
    Frozen {
        app: AppName,
        by: String,
        reason: String,
        until_ms: Option<i64>,
    },
    /// An app locked by someone else when the job reached it (`/lock`).
    Locked {
        app: AppName,
        holder: String,
        reason: String,
        since_ms: i64,
    },
}

/// What did not finish in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timed {
    Build,
    /// Last: anything else read back is the rollout.
    #[serde(other)]
    Rollout,
}

/// The step a PaaS failure stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaasStep {
    /// Learning after a restart whether a recorded run request started a build.
    FindBuild,
    FollowBuild,
    ReadApp,
    Upgrade,
    FollowRollout,
    /// Last: a step read back that this releasebot does not know is this one.
    #[serde(other)]
    StartBuild,
}

/// The chat call a failure stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatStep {
    OpenThread,
    PostApproval,
    /// Last: a step read back that this releasebot does not know is this one.
    #[serde(other)]
    PostProgress,
}

/// Where a job was when it was cancelled, and what that did to the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cancellation {
    BeforeBuild,
    BuildStopped {
        build: String,
    },
    /// Other jobs follow the same build, so it was not stopped.
    BuildGoesOn {
        build: String,
    },
    BuildHadFinished {
        build: String,
    },
    BuildNotStopped {
        build: String,
        error: String,
    },
    WhileQueued,
    WhileAwaitingApproval,
    BeforeDeploy,
    /// A release to several apps, between two of them: `deployed` went out.
    BetweenApps {
        deployed: Vec<AppName>,
    },
}

impl Outcome {
    /// The final state this outcome puts a job in.
    pub fn state(&self) -> JobState {
        match self {
            Outcome::Succeeded => JobState::Succeeded,
            Outcome::Recorded { state, .. } => *state,
            Outcome::Rejected { .. } => JobState::Rejected,
            Outcome::Cancelled { .. } | Outcome::Superseded { .. } => JobState::Cancelled,
            Outcome::TimedOut { .. } | Outcome::ApprovalExpired { .. } => JobState::TimedOut,
            _ => JobState::Failed,
        }
    }
}
