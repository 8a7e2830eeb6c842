//! The one sentence that says how a job ended, and the passing notices.

use super::View;
use crate::clock::short_duration;
use crate::job::{
    Cancellation, ChatStep, DeployOrigin, JobRecord, JobSpec, Notice, Outcome, PaasStep, Timed,
};
use crate::names::AppName;
use std::time::Duration;

/// `a, b and c`.
pub fn names(apps: &[AppName]) -> String {
    let names: Vec<&str> = apps.iter().map(AppName::as_str).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn limit(ms: u64) -> String {
    short_duration(Duration::from_millis(ms))
}

/// How the job ended, in one sentence (`None` for a success, which says itself).
/// Everything it quotes from outside (the PaaS's messages, names, reasons) is written
/// for the medium by `view`.
pub fn outcome(r: &JobRecord, view: &View) -> Option<String> {
    let o = r.outcome.as_ref()?;
    let t = |s: &str| view.text(s);
    let target = t(&r.target());
    let build = || {
        r.build
            .as_ref()
            .and_then(|b| b.execution_name())
            .unwrap_or_else(|| "?".into())
    };
    let app = r.spec.app().map(ToString::to_string).unwrap_or_default();
    let tag = r
        .deploy_tag()
        .map(|tag| t(tag.as_str()))
        .unwrap_or_default();
    Some(match o {
        Outcome::Succeeded => return None,
        Outcome::BuildFailed {
            build,
            stage,
            message,
        } => {
            let at = stage.as_ref().map(|s| format!(" at stage {}", t(s))).unwrap_or_default();
            format!("The build {} failed{at}: {}.", t(build), t(message))
        }
        Outcome::BuildStopped { build, message } => {
            format!("The build {} was stopped on the PaaS ({}).", t(build), t(message))
        }
        Outcome::NoVersionTag { .. } => "The build succeeded, but the PaaS reported no versionTag (a stock Rancher?), so there is nothing to deploy.".into(),
        Outcome::UnusableTag { tag, problem } => {
            format!("The build produced the version tag \"{}\", which releasebot will not deploy: {}", t(tag), t(problem))
        }
        Outcome::DeployFailed { app, tag, message } => {
            format!("The deploy of {} to {app} failed: {}", t(tag.as_str()), t(message))
        }
        Outcome::NoSignOfUpgrade { app, tag, shows } => format!(
            "The PaaS accepted the upgrade of {app} to {} but shows no sign of it: the app still shows {}.",
            t(tag.as_str()),
            t(shows)
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
        Outcome::Rejected { by } => format!("Rejected by {}; nothing was deployed.", t(by)),
        Outcome::Superseded { by } => format!("Superseded by {by}; nothing was deployed."),
        Outcome::Cancelled { by, detail } => {
            let by = t(by);
            match detail {
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
                format!("Cancelled by {by}, but the build {build} could not be stopped. {}", t(error))
            }
            Cancellation::WhileQueued => {
                format!("Withdrawn by {by} while queued; nothing was deployed.")
            }
            Cancellation::WhileAwaitingApproval | Cancellation::BeforeDeploy => {
                format!("Cancelled by {by}; nothing was deployed.")
            }
            Cancellation::BetweenApps { deployed } if deployed.is_empty() => {
                format!("Cancelled by {by} before any app was deployed.")
            }
            Cancellation::BetweenApps { deployed } => format!(
                "Cancelled by {by} after deploying {}; the other apps were not touched.",
                names(deployed)
            ),
        }},
        Outcome::PaasFailed { step, error } => {
            let error = t(error);
            match step {
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
        }},
        Outcome::NotRecorded { step, error } => {
            let error = t(error);
            match step {
            PaasStep::Upgrade => format!(
                "releasebot could not record the deploy before starting it, so it deployed nothing ({error})."
            ),
            _ => format!(
                "releasebot could not record the build before starting it, so it started nothing ({error})."
            ),
        }},
        Outcome::ChatFailed { step, error } => {
            let what = match step {
                ChatStep::OpenThread => "open a thread",
                ChatStep::PostProgress => "post the progress message",
                ChatStep::PostApproval => "post the approval request",
            };
            format!("releasebot could not {what} in chat ({}).", t(error))
        }
        Outcome::LegFailed { app, job, outcome } => {
            // How the leg ended, said as its own message says it.
            let mut leg = r.clone();
            leg.spec = JobSpec::Deploy {
                app: app.clone(),
                tag: r.deploy_tag()?.clone(),
                origin: DeployOrigin::Request,
            };
            leg.outcome = Some((**outcome).clone());
            leg.legs = None;
            let why = self::outcome(&leg, view).unwrap_or_default();
            let job = job.map(|j| format!(" ({j})")).unwrap_or_default();
            format!("The release stopped at {app}{job}, and no app after it was touched: {why}")
        }
        Outcome::Recorded { text, .. } => t(text),
        Outcome::NotConfigured { name } => format!("{} is no longer configured.", t(name)),
        Outcome::Frozen {
            app,
            by,
            reason,
            until_ms,
        } => {
            let until = until_ms
                .map(|t| format!(" until {}", super::date_time(t)))
                .unwrap_or_default();
            format!(
                "{app} is frozen{until} by {} ({}); nothing was deployed.",
                t(by),
                t(reason)
            )
        }
        Outcome::Locked {
            app,
            holder,
            reason,
            since_ms,
        } => format!(
            "{app} is locked by {} since {} ({}); nothing was deployed.",
            t(holder),
            super::date_time(*since_ms),
            t(reason)
        ),
    })
}

/// A passing remark in the job's message.
pub fn notice(n: &Notice, view: &View) -> String {
    match n {
        Notice::PaasUnreachable { error } => {
            format!("PaaS unreachable, retrying. {}", view.text(error))
        }
        Notice::NotSaved { error } => format!(
            "releasebot could not save this job's state, so it may not resume after a restart ({}).",
            view.text(error)
        ),
        Notice::WaitingForDatabase => {
            "releasebot is waiting for its database; this job goes on when it is back.".into()
        }
        Notice::Restarting => "releasebot is restarting; this job resumes when it is back.".into(),
    }
}
