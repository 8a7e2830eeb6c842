//! `/deploy <app> <versionTag>`: upgrade the app to a version tag.

use super::access::{self, Action};
use super::{Context, app, arity, refuse};
use crate::chat::Reply;
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

impl Deploy {
    pub fn parse(args: &[&str], config: &Config) -> Result<Self, String> {
        arity("deploy", args, 2, 2)?;
        let a = app("deploy", args[0], config)?;
        let tag = VersionTag::parse(args[1]).map_err(|e| refuse("deploy", e))?;
        Ok(Deploy {
            app: a.name.clone(),
            tag,
        })
    }

    pub fn apply(self, cx: &Context<'_>) -> Reply {
        let config = cx.engine.config();
        let Some(app) = config.apps.get(&self.app) else {
            return Reply::Refused(format!("The app {} is no longer configured.", self.app));
        };
        if let Err(why) = access::app(config, cx.actor, cx.channel, app, Action::Deploy) {
            return Reply::Refused(why);
        }
        let spec = JobSpec::Deploy {
            app: self.app.clone(),
            tag: self.tag.clone(),
            origin: DeployOrigin::Request,
        };
        let job = match cx.engine.start(cx.actor, cx.channel, spec) {
            Ok(Started::New(job) | Started::Existing(job)) => job,
            Err(e) => return super::not_started(&e),
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
