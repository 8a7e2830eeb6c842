//! How a job's ending is stored in version 2: the [`Outcome`], the detail of a
//! cancellation, and the names of the PaaS and chat steps that failed. Names are
//! stored as words, so a reader never depends on the order of an enum's variants.

use super::{DecodeError, v2};
use crate::job::{Cancellation, ChatStep, JobState, Outcome, PaasStep, Timed};
use crate::names::{AppName, JobId, VersionTag};

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

pub(super) fn outcome_to(o: &Outcome) -> v2::Outcome {
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

pub(super) fn outcome_from(o: v2::Outcome) -> Result<Outcome, DecodeError> {
    let app = AppName::parse;
    let tag = VersionTag::parse;
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
            state: JobState::from_snake(&state).ok_or(DecodeError::UnknownRecordedState)?,
            text,
        },
    })
}
