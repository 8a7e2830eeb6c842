//! `/deploy <app> <versionTag>`: upgrade the app to a version tag.

use super::access::Action;
use super::spec::{Completion, OptionSpec, Spec};
use super::{
    Args, Context, Handler, ParseError, Reply, allowed_app, app, invalid, needs_approval,
    start_deploying,
};
use crate::config::Config;
use crate::engine::Started;
use crate::job::{DeployOrigin, JobSpec};
use crate::names::{AppName, VersionTag};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deploy {
    pub app: AppName,
    pub tag: VersionTag,
    /// An admin's reason to deploy through a freeze.
    pub override_reason: Option<String>,
}

impl Handler for Deploy {
    const SPEC: Spec = Spec {
        name: "deploy",
        starts_job: true,
        usage: "/deploy <app> <versionTag> [override: <reason>]",
        help: "upgrade the app to that tag, after approval where needed",
        options: &[
            OptionSpec::text(
                "app",
                "the app to deploy",
                true,
                Completion::App(Action::Deploy),
            ),
            OptionSpec::text(
                "version",
                "the version tag to deploy",
                true,
                Completion::BuiltTag,
            ),
            OptionSpec::OVERRIDE,
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let a = app("deploy", &args.required("app")?, config)?;
        let tag =
            VersionTag::parse(&args.required("version")?).map_err(|e| invalid("deploy", e))?;
        Ok(Deploy {
            app: a.name.clone(),
            tag,
            override_reason: args.text("override"),
        })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        let app = match allowed_app(cx, &self.app, Action::Deploy) {
            Ok(app) => app,
            Err(refusal) => return Reply::Refused(refusal),
        };
        let unknown = built_by_no_known_build(cx, &self.app, self.tag.as_str()).await;
        let spec = JobSpec::Deploy {
            app: self.app.clone(),
            tag: self.tag.clone(),
            origin: DeployOrigin::Request,
        };
        let job = match start_deploying(cx, spec, self.override_reason.as_deref()).await {
            Ok(Started::New(job) | Started::Existing(job)) => job,
            Err(refusal) => return Reply::Refused(refusal),
        };
        Reply::Started {
            job,
            text: format!(
                "Started {job}: deploy {} {}{}.{}",
                self.app,
                self.tag,
                needs_approval(app),
                unknown_contents(unknown, &self.tag, cx.engine.config().builder_of(&self.app)),
            ),
        }
    }
}

/// ` releasebot cannot show what v9.9.9 contains: …` when no known build produced the
/// tag, nothing otherwise.
fn unknown_contents(
    unknown: bool,
    tag: &VersionTag,
    builder: Option<&crate::config::Project>,
) -> String {
    match (unknown, builder) {
        (true, Some(project)) => format!(
            " releasebot cannot show what {tag} contains: no known build of {} produced it.",
            project.name
        ),
        _ => String::new(),
    }
}

/// Whether the pipeline that builds `app` was read and no build of it produced `tag`:
/// the answer says so at once (the deploy goes ahead; hotfix tags are deployed by
/// hand). The listing read here answers the job's own look-up.
async fn built_by_no_known_build(cx: &Context<'_>, app: &crate::names::AppName, tag: &str) -> bool {
    let Some(project) = cx.engine.config().builder_of(app) else {
        return false;
    };
    match cx.engine.paas().pipeline_builds(&project.pipeline, &[tag]).await {
        Ok(builds) => !builds.iter().any(|b| b.tag.as_deref() == Some(tag)),
        Err(e) => {
            tracing::debug!(error = %e, app = %app, "cannot read the builds to check a tag");
            false
        }
    }
}
