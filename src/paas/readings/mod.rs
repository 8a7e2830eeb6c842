//! What the PaaS's objects mean for a job, said in the job domain's words: a build's
//! reading (stages, image, tag, verdict) and an app's snapshot (state, revision,
//! conditions, tag). The job domain decides from these alone, so a change in how the
//! PaaS spells a field stops here.

#[cfg(test)]
mod tests;

use super::model::{App, BuildStatus, ConditionStatus, Execution, ExecutionState};
use crate::clock::to_ms;
use crate::job::build::{BuildReading, BuildVerdict, StageMark, StageView};
use crate::job::changes::PipelineBuild;
use crate::job::rollout::{AppSnapshot, Cond, CondStatus};

impl Execution {
    /// The build as the job sees it. Its outcome comes from `executionState` and the
    /// `Built` condition, never from the derived `state` (`docs/paas.md`).
    pub fn reading(&self) -> BuildReading {
        let stages = self
            .stages
            .iter()
            .map(|s| StageView {
                name: s.name.clone(),
                mark: match &s.state {
                    // Rancher drops the state of the stages after a failure.
                    None => StageMark::NotRun,
                    Some(ExecutionState::Success) => StageMark::Succeeded,
                    Some(ExecutionState::Building) => StageMark::Running,
                    Some(ExecutionState::Failed | ExecutionState::Denied) => StageMark::Failed,
                    Some(ExecutionState::Aborted) => StageMark::Aborted,
                    Some(ExecutionState::Skipped) => StageMark::NotRun,
                    Some(_) => StageMark::Waiting,
                },
                seconds: s.duration().map(|d| d.as_secs()),
            })
            .collect();
        let tag = self.deployable_tag().map(str::to_string);
        let verdict = match self.status() {
            BuildStatus::Running { .. } => BuildVerdict::Running,
            BuildStatus::Succeeded if tag.is_some() => BuildVerdict::Succeeded,
            BuildStatus::Succeeded => BuildVerdict::SucceededWithoutTag,
            BuildStatus::Failed { stage, message } => BuildVerdict::Failed { stage, message },
            BuildStatus::Aborted { message } => BuildVerdict::Aborted { message },
        };
        BuildReading {
            id: self.id.clone(),
            stages,
            image: self.docker_image.clone(),
            tag,
            chart: self.chart_version.clone(),
            commit: self.commit.clone(),
            message: self.message.clone(),
            author: self.author.clone(),
            verdict,
        }
    }
}

impl Execution {
    /// The build as a change list names it: the tag it produced (only once it
    /// succeeded), its commit, message, author and the commit's page.
    pub fn pipeline_build(&self) -> PipelineBuild {
        let succeeded = self.status() == BuildStatus::Succeeded;
        PipelineBuild {
            execution: self.id.clone(),
            branch: self.branch.clone(),
            started_ms: self.started.map(crate::clock::to_ms),
            tag: self
                .deployable_tag()
                .filter(|_| succeeded)
                .map(str::to_string),
            commit: self.commit.clone(),
            message: self.message.clone(),
            author: self.author.clone(),
            link: self.html_link.clone(),
        }
    }

    /// Whether the execution can change no more: it ended, and a success carries its
    /// tag (the in-house PaaS fills the tag in a moment after `Success`).
    pub fn settled(&self) -> bool {
        match self.status() {
            BuildStatus::Succeeded => self.deployable_tag().is_some(),
            status => status.is_final(),
        }
    }
}

impl App {
    /// What the app shows, as far as judging a rollout needs it.
    pub fn snapshot(&self) -> AppSnapshot {
        let cond = |kind: &str| {
            self.condition(kind).map(|c| Cond {
                status: match c.status {
                    ConditionStatus::True => CondStatus::True,
                    ConditionStatus::False => CondStatus::False,
                    ConditionStatus::Unknown => CondStatus::Unknown,
                },
                updated_ms: c.last_update.map(to_ms),
                message: c.message.clone(),
            })
        };
        AppSnapshot {
            state: self.state.as_ref().map(|s| s.to_ascii_lowercase()),
            transitioning: self.transitioning.as_ref().map(|s| s.to_ascii_lowercase()),
            message: self.transitioning_message.clone(),
            revision: self.revision.clone(),
            installed: cond("Installed"),
            deployed: cond("Deployed"),
            tag: self.version_tag.clone(),
        }
    }
}
