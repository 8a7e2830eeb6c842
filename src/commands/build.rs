//! `/build <project> [branch]`: run the project's pipeline on a branch.

use super::access::Action;
use super::{Context, allowed_project, project_and_branch};
use crate::chat::Reply;
use crate::config::Config;
use crate::engine::Started;
use crate::job::JobSpec;
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
        if let Err(refusal) = allowed_project(cx, &self.project, Action::Build) {
            return refusal;
        }
        let spec = JobSpec::Build {
            project: self.project.clone(),
            branch: self.branch.clone(),
        };
        match cx.engine.start(cx.actor, cx.channel, spec) {
            Err(e) => super::not_started(&e),
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
