//! `/release <project> [branch]`: build, then deploy the built tag to the project's app.

use super::access::{self, Action};
use super::{Context, allowed_project, project_and_branch, refuse};
use crate::chat::Reply;
use crate::config::Config;
use crate::engine::Started;
use crate::job::JobSpec;
use crate::names::{Branch, ProjectName};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub project: ProjectName,
    pub branch: Branch,
}

impl Release {
    pub fn parse(args: &[&str], config: &Config) -> Result<Self, String> {
        let (p, branch) = project_and_branch("release", args, config)?;
        if p.deploys.is_none() {
            return Err(refuse(
                "release",
                format!(
                    "{} deploys no app (set deploys in [projects.{}]), so only /build works for it.",
                    p.name, p.name
                ),
            ));
        }
        Ok(Release {
            project: p.name.clone(),
            branch,
        })
    }

    pub fn apply(self, cx: &Context<'_>) -> Reply {
        let config = cx.engine.config();
        let project = match allowed_project(cx, &self.project, Action::Release) {
            Ok(project) => project,
            Err(refusal) => return refusal,
        };
        let Some(app) = project.deploys.as_ref().and_then(|a| config.apps.get(a)) else {
            return Reply::Refused(format!(
                "{} deploys no app (set deploys in [projects.{}]), so only /build works for it.",
                project.name, project.name
            ));
        };
        if let Err(why) = access::app(config, cx.actor, cx.channel, app, Action::Deploy) {
            return Reply::Refused(why);
        }
        let spec = JobSpec::Release {
            project: self.project.clone(),
            branch: self.branch.clone(),
            app: app.name.clone(),
        };
        match cx.engine.start(cx.actor, cx.channel, spec) {
            Err(e) => super::not_started(&e),
            Ok(Started::New(job)) => Reply::Started {
                job,
                text: format!(
                    "Started {job}: release {}@{}; follow it in its thread.",
                    self.project, self.branch
                ),
            },
            Ok(Started::Existing(job)) => Reply::Info(format!(
                "{}@{} is already being released as {job}; follow it there.",
                self.project, self.branch
            )),
        }
    }
}
