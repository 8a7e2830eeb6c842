//! The one sentence that says how a job ended, and the passing notices.

use crate::clock::short_duration;
use crate::job::{Cancellation, ChatStep, JobRecord, Notice, Outcome, PaasStep, Timed};
use std::time::Duration;

fn limit(ms: u64) -> String {
    short_duration(Duration::from_millis(ms))
}

/// How the job ended, in one sentence (`None` for a success, which says itself).
pub fn outcome(r: &JobRecord) -> Option<String> {
    let o = r.outcome.as_ref()?;
    let target = r.target();
    let build = || {
        r.build
            .as_ref()
            .and_then(|b| b.execution_name())
            .unwrap_or_else(|| "?".into())
    };
    let app = r.spec.app().map(ToString::to_string).unwrap_or_default();
    let tag = r.deploy_tag().map(ToString::to_string).unwrap_or_default();
    Some(match o {
        Outcome::Succeeded => return None,
        Outcome::BuildFailed {
            build,
            stage,
            message,
        } => {
            let at = stage.as_ref().map(|s| format!(" at stage {s}")).unwrap_or_default();
            format!("The build {build} failed{at}: {message}.")
        }
        Outcome::BuildStopped { build, message } => {
            format!("The build {build} was stopped on the PaaS ({message}).")
        }
        Outcome::NoVersionTag { .. } => "The build succeeded, but the PaaS reported no versionTag (a stock Rancher?), so there is nothing to deploy.".into(),
        Outcome::UnusableTag { tag, problem } => {
            format!("The build produced the version tag {tag:?}, which releasebot will not deploy: {problem}")
        }
        Outcome::DeployFailed { app, tag, message } => {
            format!("The deploy of {tag} to {app} failed: {message}")
        }
        Outcome::NoSignOfUpgrade { app, tag, shows } => format!(
            "The PaaS accepted the upgrade of {app} to {tag} but shows no sign of it: the app still shows {shows}."
        ),
        Outcome::TimedOut {
            step: Timed::Build,
            limit_ms,
        } => format!(
            "The build {} did not finish within {}; it may still be running on the PaaS.",
            build(),
            limit(*limit_ms)
        ),
        Outcome::TimedOut {
            step: Timed::Rollout,
            limit_ms,
        } => format!(
            "The rollout of {tag} to {app} did not finish within {}.",
            limit(*limit_ms)
        ),
        Outcome::ApprovalExpired { after_ms } => format!(
            "The approval request expired after {}; nothing was deployed.",
            limit(*after_ms)
        ),
        Outcome::Rejected { by } => format!("Rejected by {by}; nothing was deployed."),
        Outcome::Superseded { by } => format!("Superseded by {by}; nothing was deployed."),
        Outcome::Cancelled { by, detail } => match detail {
            Cancellation::BeforeBuild => format!("Cancelled by {by} before the build started."),
            Cancellation::BuildStopped { build } => {
                format!("Cancelled by {by}; the build {build} was stopped.")
            }
            Cancellation::BuildGoesOn { build } => format!(
                "Cancelled by {by}; the build {build} goes on for the other jobs following it."
            ),
            Cancellation::BuildHadFinished { build } => {
                format!("Cancelled by {by}; the build {build} had already finished.")
            }
            Cancellation::BuildNotStopped { build, error } => {
                format!("Cancelled by {by}, but the build {build} could not be stopped. {error}")
            }
            Cancellation::WhileQueued => {
                format!("Withdrawn by {by} while queued; nothing was deployed.")
            }
            Cancellation::WhileAwaitingApproval | Cancellation::BeforeDeploy => {
                format!("Cancelled by {by}; nothing was deployed.")
            }
        },
        Outcome::PaasFailed { step, error } => match step {
            PaasStep::StartBuild => format!("The build of {target} could not start. {error}"),
            PaasStep::FindBuild => format!(
                "After a restart releasebot could not learn whether the build of {target} had started, so it started no other. {error}"
            ),
            PaasStep::FollowBuild => {
                format!("releasebot lost track of the build {}. {error}", build())
            }
            PaasStep::ReadApp => {
                format!("releasebot could not read the app {app} before deploying. {error}")
            }
            PaasStep::Upgrade => format!("The deploy of {tag} to {app} was refused. {error}"),
            PaasStep::FollowRollout => {
                format!("releasebot lost track of the deploy to {app}. {error}")
            }
        },
        Outcome::NotRecorded { step, error } => match step {
            PaasStep::Upgrade => format!(
                "releasebot could not record the deploy before starting it, so it deployed nothing ({error})."
            ),
            _ => format!(
                "releasebot could not record the build before starting it, so it started nothing ({error})."
            ),
        },
        Outcome::ChatFailed { step, error } => {
            let what = match step {
                ChatStep::OpenThread => "open a thread",
                ChatStep::PostProgress => "post the progress message",
                ChatStep::PostApproval => "post the approval request",
            };
            format!("releasebot could not {what} in chat ({error}).")
        }
        Outcome::Recorded { text, .. } => text.clone(),
        Outcome::NotConfigured { name } => format!("{name} is no longer configured."),
        Outcome::Frozen {
            app,
            by,
            reason,
            until_ms,
        } => {
            let until = until_ms
                .map(|t| format!(" until {}", super::date_time(t)))
                .unwrap_or_default();
            format!("{app} is frozen{until} by {by} ({reason}); nothing was deployed.")
        }
    })
}

/// A passing remark in the job's message.
pub fn notice(n: &Notice) -> String {
    match n {
        Notice::PaasUnreachable { error } => format!("PaaS unreachable, retrying. {error}"),
        Notice::NotSaved { error } => format!(
            "releasebot could not save this job's state, so it may not resume after a restart ({error})."
        ),
        Notice::Restarting => "releasebot is restarting; this job resumes when it is back.".into(),
    }
}
