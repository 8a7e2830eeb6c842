//! `/promote <from-app> <to-app>`: deploy to `to-app` exactly the tag (and image) that
//! history shows live on `from-app`, under `to-app`'s approval policy. `to-app` names
//! the apps it takes promotions from (`promote_from`).

use super::access::Action;
use super::spec::{Completion, OptionSpec, Spec};
use super::{
    Args, Context, Handler, ParseError, Refusal, Reply, allowed_app, app, invalid,
    needs_approval, start_deploying,
};
use crate::config::Config;
use crate::engine::Started;
use crate::job::{DeployOrigin, JobSpec};
use crate::names::AppName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promote {
    pub from: AppName,
    pub to: AppName,
    /// An admin's reason to deploy through a freeze.
    pub override_reason: Option<String>,
}

impl Handler for Promote {
    const SPEC: Spec = Spec {
        name: "promote",
        starts_job: true,
        usage: "/promote <from-app> <to-app> [override: <reason>]",
        help: "deploy to one app exactly what runs on another (staging to production)",
        options: &[
            OptionSpec::text(
                "from",
                "the app whose live tag to promote",
                true,
                Completion::PromoteFrom,
            ),
            OptionSpec::text(
                "to",
                "the app to deploy it to",
                true,
                Completion::App(Action::Promote),
            ),
            OptionSpec::OVERRIDE,
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let from = app("promote", &args.required("from")?, config)?;
        let to = app("promote", &args.required("to")?, config)?;
        if !to.promote_from.contains(&from.name) {
            let takes = match to.promote_from.as_slice() {
                [] => "none".to_string(),
                some => crate::render::or_list(
                    &some.iter().map(ToString::to_string).collect::<Vec<_>>(),
                ),
            };
            return Err(invalid(
                "promote",
                format!(
                    "{} does not take promotions from {} (its promote_from: {takes}).",
                    to.name, from.name
                ),
            ));
        }
        Ok(Promote {
            from: from.name.clone(),
            to: to.name.clone(),
            override_reason: args.text("override"),
        })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        let to = match allowed_app(cx, &self.to, Action::Promote) {
            Ok(app) => app,
            Err(refusal) => return Reply::Refused(refusal),
        };
        let promotion = match super::incident::promotion(cx.engine, &self.from).await {
            Ok(p) => p,
            Err(e) => return Reply::Refused(Refusal::Incident(e)),
        };
        let spec = JobSpec::Deploy {
            app: self.to.clone(),
            tag: promotion.tag.clone(),
            origin: DeployOrigin::Promote {
                from: self.from.clone(),
                image: promotion.image.clone(),
            },
        };
        let job = match start_deploying(cx, spec, self.override_reason.as_deref()).await {
            Ok(Started::New(job) | Started::Existing(job)) => job,
            Err(refusal) => return Reply::Refused(refusal),
        };
        Reply::Started {
            job,
            text: format!(
                "Started {job}: promote {} from {} ({}) to {}{}.",
                promotion.tag,
                self.from,
                promotion.job,
                self.to,
                needs_approval(to)
            ),
        }
    }
}
