//! `/deploy <app> <versionTag>`: upgrade the app to a version tag.

use super::access::Action;
use super::spec::{Completion, OptionSpec, Spec};
use super::{Args, Context, Handler, ParseError, Refusal, Reply, allowed_app, app, invalid};
use crate::config::Config;
use crate::engine::Started;
use crate::job::{DeployOrigin, JobSpec};
use crate::names::{AppName, VersionTag};
use crate::render::or_list;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deploy {
    pub app: AppName,
    pub tag: VersionTag,
}

impl Handler for Deploy {
    const SPEC: Spec = Spec {
        name: "deploy",
        starts_job: true,
        usage: "/deploy <app> <versionTag>",
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
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let a = app("deploy", &args.required("app")?, config)?;
        let tag =
            VersionTag::parse(&args.required("version")?).map_err(|e| invalid("deploy", e))?;
        Ok(Deploy {
            app: a.name.clone(),
            tag,
        })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        let app = match allowed_app(cx, &self.app, Action::Deploy) {
            Ok(app) => app,
            Err(refusal) => return Reply::Refused(refusal),
        };
        let spec = JobSpec::Deploy {
            app: self.app.clone(),
            tag: self.tag.clone(),
            origin: DeployOrigin::Request,
        };
        let job = match cx.engine.start(cx.actor, cx.channel, spec) {
            Ok(Started::New(job) | Started::Existing(job)) => job,
            Err(e) => return Reply::Refused(Refusal::NotStarted(e)),
        };
        let approval = if app.policy.required() {
            format!(
                "; it needs {} approval{} from {}",
                app.policy.votes,
                if app.policy.votes == 1 { "" } else { "s" },
                or_list(&app.policy.approvers)
            )
        } else {
            String::new()
        };
        Reply::Started {
            job,
            text: format!("Started {job}: deploy {} {}{approval}.", self.app, self.tag),
        }
    }
}
