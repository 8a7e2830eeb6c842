//! `/build <project> [branch]`: run the project's pipeline on a branch.

use super::access::{self, Action};
use super::{Context, project_and_branch};
use crate::chat::Reply;
use crate::config::Config;
use crate::engine::Started;
use crate::names::{Branch, ProjectName};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub project: ProjectName,
    pub branch: Branch,
}

impl Build {
    pub fn parse(args: &[&str], config: &Config) -> Result<Self, String> {
        let (p, branch) = project_and_branch("build", args, config)?;
        Ok(Build {
            project: p.name.clone(),
            branch,
        })
    }

    pub fn apply(self, cx: &Context<'_>) -> Reply {
        let config = cx.engine.config();
        let Some(project) = config.projects.get(&self.project) else {
            return Reply::Refused(format!(
                "The project {} is no longer configured.",
                self.project
            ));
        };
        if let Err(why) = access::project(config, cx.actor, cx.channel, project, Action::Build) {
            return Reply::Refused(why);
        }
        match cx
            .engine
            .start_build(cx.actor, cx.channel, &self.project, &self.branch)
        {
            Err(why) => Reply::Refused(why),
            Ok(Started::New(job)) => Reply::Started {
                job,
                text: format!(
                    "Started {job}: build {}@{}; follow it in its thread.",
                    self.project, self.branch
                ),
            },
            Ok(Started::Existing(job)) => Reply::Info(format!(
                "{}@{} is already building as {job}; follow it there.",
                self.project, self.branch
            )),
        }
    }
}
