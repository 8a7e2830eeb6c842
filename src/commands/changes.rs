//! `/changes <app> [versionTag]`: what deploying a tag (default: the newest build of
//! the project that builds the app) would change, without deploying: the list an
//! approval request shows, for anyone who may deploy the app.

use super::access::Action;
use super::spec::{Completion, OptionSpec, Spec};
use super::{Args, Context, Handler, ParseError, Reply, allowed_app, app, invalid};
use crate::config::Config;
use crate::names::{AppName, VersionTag};
use crate::render;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub app: AppName,
    /// The tag a deploy would go to; `None`: the newest successful build.
    pub tag: Option<VersionTag>,
}

impl Handler for Changes {
    const SPEC: Spec = Spec {
        name: "changes",
        starts_job: false,
        usage: "/changes <app> [versionTag]",
        help: "what deploying a tag (default: the newest build) would change",
        options: &[
            OptionSpec::text(
                "app",
                "the app whose changes to show",
                true,
                Completion::App(Action::Deploy),
            ),
            OptionSpec::text(
                "version",
                "the version tag (default: the newest build)",
                false,
                Completion::BuiltTag,
            ),
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let a = app("changes", &args.required("app")?, config)?;
        let tag = args
            .text("version")
            .map(|t| VersionTag::parse(&t).map_err(|e| invalid("changes", e)))
            .transpose()?;
        Ok(Changes {
            app: a.name.clone(),
            tag,
        })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        let app = match allowed_app(cx, &self.app, Action::Deploy) {
            Ok(app) => app,
            Err(refusal) => return Reply::Refused(refusal),
        };
        let live = cx.engine.paas().get_app(&app.rancher).await;
        let running = cx.engine.running_given(&self.app, live).await;
        let to = self.tag.as_ref().map(VersionTag::as_str);
        let changes = cx.engine.changes(&self.app, running.as_deref(), to).await;
        let view = cx.engine.view();
        let mut lines = vec![format!(
            "Deploying {} to {} would change:",
            view.text(&changes.to),
            self.app
        )];
        lines.extend(render::changes(&changes, self.app.as_str(), view));
        Reply::Info(render::fit(lines.join("\n"), view.style.max_chars))
    }
}
