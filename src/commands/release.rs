//! `/release <project> [branch]`: build, then deploy the built tag to the project's app,
//! or to each of its apps under one approval.

use super::access::{self, Action};
use super::spec::{Completion, OptionSpec, Spec};
use super::{
    Args, Context, Handler, ParseError, Refusal, Reply, allowed_project, project_and_branch,
    start_deploying,
};
use crate::config::Config;
use crate::engine::Started;
use crate::job::JobSpec;
use crate::names::{Branch, ProjectName};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub project: ProjectName,
    pub branch: Branch,
    /// An admin's reason to deploy through a freeze.
    pub override_reason: Option<String>,
}

impl Handler for Release {
    const SPEC: Spec = Spec {
        name: "release",
        starts_job: true,
        usage: "/release <project> [branch] [override: <reason>]",
        help: "build, then deploy the built tag to the project's app",
        options: &[
            OptionSpec::text(
                "project",
                "the project to build and deploy",
                true,
                Completion::Project(Action::Release),
            ),
            OptionSpec::text(
                "branch",
                "the branch (default: the project's)",
                false,
                Completion::Branch,
            ),
            OptionSpec::OVERRIDE,
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let (p, branch) = project_and_branch(args, config)?;
        if p.deploys.is_empty() {
            return Err(ParseError::NothingToDeploy {
                command: "release",
                project: p.name.to_string(),
            });
        }
        Ok(Release {
            project: p.name.clone(),
            branch,
            override_reason: args.text("override"),
        })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        let config = cx.engine.config();
        let project = match allowed_project(cx, &self.project, Action::Release) {
            Ok(project) => project,
            Err(refusal) => return Reply::Refused(refusal),
        };
        // Whoever releases deploys to every app of the project.
        let mut apps = Vec::new();
        for name in &project.deploys {
            let Some(app) = config.apps.get(name) else {
                continue;
            };
            if let Err(denied) = access::app(config, cx.actor, cx.channel, app, Action::Deploy) {
                return Reply::Refused(Refusal::Denied(denied));
            }
            apps.push(app.name.clone());
        }
        let Some((app, more)) = apps.split_first() else {
            return Reply::Invalid(ParseError::NothingToDeploy {
                command: "release",
                project: project.name.to_string(),
            });
        };
        let to = match more.is_empty() {
            true => String::new(),
            false => format!(" to {}", crate::render::and_list(&apps)),
        };
        let spec = JobSpec::Release {
            project: self.project.clone(),
            branch: self.branch.clone(),
            app: app.clone(),
            more: more.to_vec(),
            parallel: project.rollout == crate::config::Rollout::Parallel,
        };
        match start_deploying(cx, spec, self.override_reason.as_deref()).await {
            Err(refusal) => Reply::Refused(refusal),
            Ok(Started::New(job)) => Reply::Started {
                job,
                text: format!(
                    "Started {job}: release {}@{}{to}; follow it in its thread.",
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
