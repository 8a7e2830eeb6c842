//! `/rollback <app> [versionTag]`: deploy what ran before (or a tag that succeeded
//! there), as a deploy like any other: queued, approved unless the app waives it for
//! rollbacks, followed to the end. Allowed through a freeze, and audited so.

use super::access::Action;
use super::spec::{Completion, OptionSpec, Spec};
use super::{
    Args, Context, Handler, ParseError, Refusal, Reply, allowed_app, app, invalid,
    needs_approval, start_deploying,
};
use crate::config::Config;
use crate::engine::Started;
use crate::job::{DeployOrigin, JobSpec};
use super::incident::{IncidentError, rollback_target};
use crate::job::legs;
use crate::names::{AppName, JobId, ProjectName, VersionTag};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub app: AppName,
    /// The tag to go back to; `None`: what ran before.
    pub tag: Option<VersionTag>,
    /// `/rollback <project>` for a project that releases to several apps: every app
    /// its latest release changed, each back to what ran before.
    pub release: Option<ProjectName>,
}

impl Handler for Rollback {
    const SPEC: Spec = Spec {
        name: "rollback",
        starts_job: true,
        usage: "/rollback <app|project> [versionTag]",
        help: "deploy what ran before (or a tag that succeeded there); a project rolls back its latest release",
        options: &[
            OptionSpec::text(
                "app",
                "the app to roll back (or a project that releases to several apps)",
                true,
                Completion::App(Action::Rollback),
            ),
            OptionSpec::text(
                "version",
                "a tag that succeeded there (default: what ran before)",
                false,
                Completion::DeployedTag,
            ),
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let name = args.required("app")?;
        let several = ProjectName::parse(&name)
            .ok()
            .and_then(|p| config.projects.get(&p))
            .filter(|p| p.deploys.len() > 1);
        if let (Some(project), None) = (several, args.text("version")) {
            return Ok(Rollback {
                app: project.deploys[0].clone(),
                tag: None,
                release: Some(project.name.clone()),
            });
        }
        let a = app("rollback", &name, config)?;
        let tag = args
            .text("version")
            .map(|t| VersionTag::parse(&t).map_err(|e| invalid("rollback", e)))
            .transpose()?;
        Ok(Rollback {
            app: a.name.clone(),
            tag,
            release: None,
        })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        if let Some(project) = &self.release {
            return match cx.engine.store().history(project.as_str(), 20).await {
                Ok(jobs) => match jobs.iter().find(|r| r.spec.has_legs()) {
                    Some(release) => roll_back_release(cx, &release.id, &legs::changed(release)).await,
                    None => Reply::Info(format!(
                        "History shows no release of {project} to its apps, so there is nothing to roll back."
                    )),
                },
                Err(e) => Reply::Refused(Refusal::Incident(IncidentError::History(e))),
            };
        }
        let app = match allowed_app(cx, &self.app, Action::Rollback) {
            Ok(app) => app,
            Err(refusal) => return Reply::Refused(refusal),
        };
        let tag = match rollback_target(cx.engine, &self.app, self.tag.as_ref()).await {
            Ok(tag) => tag,
            Err(e) => return Reply::Refused(Refusal::Incident(e)),
        };
        roll_back(cx, app, tag).await
    }
}

/// Starts the rollback of `app` to `tag`.
pub(super) async fn roll_back(cx: &Context<'_>, app: &crate::config::App, tag: VersionTag) -> Reply {
    let waived = app.policy.waived_for_rollback(app.rollback_approval);
    let spec = JobSpec::Deploy {
        app: app.name.clone(),
        tag: tag.clone(),
        origin: DeployOrigin::Rollback { waived },
    };
    let job = match start_deploying(cx, spec, None).await {
        Ok(Started::New(job) | Started::Existing(job)) => job,
        Err(refusal) => return Reply::Refused(refusal),
    };
    let approval = match waived {
        true => "; its approval is waived for rollbacks".to_string(),
        false => needs_approval(app),
    };
    Reply::Started {
        job,
        text: format!("Started {job}: rollback of {} to {tag}{approval}.", app.name),
    }
}

/// The "Roll back to v1.2.2" button under a failed deploy's message: the rollback of
/// that deploy's app to what ran before it, by whoever pressed it. Only the message of
/// that job carries it.
pub(super) async fn pressed(
    engine: &crate::engine::Engine,
    actor: &crate::chat::Actor,
    target: &crate::chat::MessageRef,
    job: crate::names::JobId,
) -> Reply {
    let record = engine.job_record(job).await;
    let carries = record
        .as_ref()
        .and_then(|r| r.messages.progress.as_ref())
        .is_some_and(|m| m.message == target.message);
    if let (Some(r), true) = (&record, carries) {
        let apps = legs::rollback_offer(r);
        if !apps.is_empty() {
            let cx = Context {
                engine,
                actor,
                channel: &r.channel,
                origin: None,
            };
            return roll_back_release(&cx, &r.id, &apps).await;
        }
    }
    let offer = record.as_ref().and_then(crate::render::rollback_offer);
    let (Some(r), true, Some(tag)) = (&record, carries, offer) else {
        return Reply::Refused(Refusal::StaleButton(job));
    };
    // The button says where it goes: the job recorded it by `/rollback`'s rule.
    let Some(name) = r.spec.app() else {
        return Reply::Refused(Refusal::StaleButton(job));
    };
    let cx = Context {
        engine,
        actor,
        channel: &r.channel,
        origin: None,
    };
    let app = match allowed_app(&cx, name, Action::Rollback) {
        Ok(app) => app,
        Err(refusal) => return Reply::Refused(refusal),
    };
    match VersionTag::parse(&tag) {
        Ok(tag) => roll_back(&cx, app, tag).await,
        Err(e) => Reply::Invalid(invalid("rollback", e)),
    }
}

/// Rolls back each app a release to several changed, each back to what ran before
/// by `/rollback <app>`'s rule, as a rollback job of its own; says what started and
/// what was refused.
async fn roll_back_release(cx: &Context<'_>, release: &JobId, apps: &[AppName]) -> Reply {
    let mut started: Vec<(JobId, String)> = Vec::new();
    let mut refused: Vec<Reply> = Vec::new();
    for name in apps {
        let reply = match allowed_app(cx, name, Action::Rollback) {
            Ok(app) => match rollback_target(cx.engine, name, None).await {
                Ok(tag) => roll_back(cx, app, tag).await,
                Err(e) => Reply::Refused(Refusal::Incident(e)),
            },
            Err(refusal) => Reply::Refused(refusal),
        };
        match reply {
            Reply::Started { job, text } => started.push((job, text)),
            other => refused.push(other),
        }
    }
    let Some(&(first, _)) = started.first() else {
        return refused.into_iter().next().unwrap_or_else(|| {
            Reply::Info(format!("{release} changed no app, so there is nothing to roll back."))
        });
    };
    let mut text: Vec<String> = started.into_iter().map(|(_, t)| t).collect();
    text.extend(refused.iter().map(Reply::text));
    Reply::Started {
        job: first,
        text: text.join(" "),
    }
}
