//! `/build <project> [branch]`: run the project's pipeline on a branch.

use super::access::Action;
use super::spec::{Completion, OptionSpec, Spec};
use super::{
    Args, Context, Handler, ParseError, Refusal, Reply, allowed_project, project_and_branch,
};
use crate::config::Config;
use crate::engine::Started;
use crate::job::JobSpec;
use crate::names::{Branch, ProjectName};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub project: ProjectName,
    pub branch: Branch,
}

impl Handler for Build {
    const SPEC: Spec = Spec {
        name: "build",
        starts_job: true,
        usage: "/build <project> [branch]",
        help: "run the project's pipeline; report stages, image and tag",
        options: &[
            OptionSpec::text(
                "project",
                "the project to build",
                true,
                Completion::Project(Action::Build),
            ),
            OptionSpec::text(
                "branch",
                "the branch (default: the project's)",
                false,
                Completion::Branch,
            ),
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let (p, branch) = project_and_branch(args, config)?;
        Ok(Build {
            project: p.name.clone(),
            branch,
        })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        if let Err(refusal) = allowed_project(cx, &self.project, Action::Build) {
            return Reply::Refused(refusal);
        }
        let spec = JobSpec::Build {
            project: self.project.clone(),
            branch: self.branch.clone(),
        };
        match cx.start(spec, None).await {
            Err(e) => Reply::Refused(Refusal::NotStarted(e)),
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
