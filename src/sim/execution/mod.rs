//! One pipeline run: the stage plan fixed when it starts, and a stop if one came.
//!
//! Nothing is stored as it goes: where a run stands is computed from the plan and the
//! clock, so the simulator can answer for any moment. The JSON Rancher would send for
//! it is made in `render.rs`.

mod render;
#[cfg(test)]
mod tests;

use std::time::Duration;

use super::model::{fake_sha, secs};
use super::scenario::{CommitSpec, PipelineScenario, StageSpec};

/// Where a run stands at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunPhase {
    Provisioning,
    Running(usize),
    Succeeded,
    Failed(usize),
    /// Stopped by a user, while the given stage ran (or before any did).
    Aborted(Option<usize>),
}

impl RunPhase {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunPhase::Succeeded | RunPhase::Failed(_) | RunPhase::Aborted(_)
        )
    }
}

/// One pipeline run.
#[derive(Debug, Clone)]
pub(crate) struct SimExecution {
    pub project_ref: String,
    pub project: String,
    pub pipeline: String,
    pub run: u64,
    pub branch: String,
    pub created: Duration,
    pub commit: String,
    /// The commit's message, author and e-mail, as the git provider says.
    pub commit_spec: CommitSpec,
    /// Every stage, the automatic `Clone` first.
    pub stages: Vec<StageSpec>,
    pub provision: Duration,
    pub fail_at: Option<usize>,
    pub stopped: Option<Duration>,
    pub version_tags: bool,
    /// How long after `Success` the in-house `dockerImage`/`versionTag` appear.
    pub fields_delay: Duration,
    /// What `executionState` says while stages run (`Building` unless the scenario
    /// names another).
    pub running_state: Option<String>,
    pub image: String,
}

impl SimExecution {
    pub fn new(
        project_ref: &str,
        spec: &PipelineScenario,
        run: u64,
        branch: &str,
        created: Duration,
    ) -> Self {
        let mut stages = vec![StageSpec {
            name: "Clone".into(),
            seconds: spec.clone_seconds,
            chart: false,
        }];
        stages.extend(spec.stages.iter().cloned());
        let fail_at = spec
            .fail_at
            .as_ref()
            .and_then(|f| stages.iter().position(|s| &s.name == f));
        let project = spec.project.clone();
        let commits = match spec.commits.is_empty() {
            true => CommitSpec::defaults(),
            false => spec.commits.clone(),
        };
        let commit_spec = commits[(run.saturating_sub(1) as usize) % commits.len()].clone();
        SimExecution {
            commit_spec,
            project_ref: project_ref.to_string(),
            commit: fake_sha(&format!("{project_ref}/{}/{run}/{branch}", spec.pipeline)),
            image: spec
                .image
                .clone()
                .unwrap_or_else(|| format!("registry.local/{project}/{}", spec.pipeline)),
            project,
            pipeline: spec.pipeline.clone(),
            run,
            branch: branch.to_string(),
            created,
            stages,
            provision: secs(spec.provision_seconds),
            fail_at,
            stopped: None,
            version_tags: spec.version_tags,
            fields_delay: secs(spec.fields_delay_seconds),
            running_state: spec.unknown_state.clone(),
        }
    }

    pub fn id(&self) -> String {
        format!("{}:{}-{}", self.project, self.pipeline, self.run)
    }

    /// (start, end) of each stage in simulated time.
    fn timeline(&self) -> Vec<(Duration, Duration)> {
        let mut at = self.created + self.provision;
        self.stages
            .iter()
            .map(|s| {
                let start = at;
                at += secs(s.seconds);
                (start, at)
            })
            .collect()
    }

    /// What the run went through up to `now`, as (time, what a progress message shows
    /// for it): `🔄 Build` when a stage starts, `✅ Build ` when it succeeds.
    pub fn events(&self, now: Duration) -> Vec<(Duration, String)> {
        let end = self.end().unwrap_or(now).min(now);
        let mut events = Vec::new();
        for (i, ((start, stop), stage)) in self.timeline().into_iter().zip(&self.stages).enumerate()
        {
            if start <= end && start < stop {
                events.push((start, format!("🔄 {}", stage.name)));
            }
            if stop <= end {
                let mark = if self.fail_at == Some(i) {
                    "❌"
                } else {
                    "✅"
                };
                events.push((stop, format!("{mark} {} ", stage.name)));
            }
            if self.fail_at == Some(i) {
                break;
            }
        }
        events
    }

    /// When the run ends by itself (success, or the failing stage's end).
    fn natural_end(&self) -> Duration {
        let timeline = self.timeline();
        let last = self.fail_at.unwrap_or(timeline.len().saturating_sub(1));
        timeline
            .get(last)
            .map(|t| t.1)
            .unwrap_or(self.created + self.provision)
    }

    pub fn end(&self) -> Option<Duration> {
        let natural = self.natural_end();
        Some(self.stopped.map_or(natural, |s| s.min(natural)))
    }

    pub fn phase(&self, now: Duration) -> RunPhase {
        let timeline = self.timeline();
        let running_at = |t: Duration| timeline.iter().position(|(s, e)| t >= *s && t < *e);
        if let Some(stop) = self.stopped
            && now >= stop
            && stop < self.natural_end()
        {
            return RunPhase::Aborted(running_at(stop));
        }
        if now < self.created + self.provision {
            return RunPhase::Provisioning;
        }
        if now >= self.natural_end() {
            return match self.fail_at {
                Some(i) => RunPhase::Failed(i),
                None => RunPhase::Succeeded,
            };
        }
        match running_at(now) {
            Some(i) => RunPhase::Running(i),
            // Zero-length stages leave no running stage at their instant.
            None => RunPhase::Running(timeline.iter().rposition(|(s, _)| now >= *s).unwrap_or(0)),
        }
    }

    /// The next simulated moment after `now` at which the JSON changes, if any.
    pub fn next_change(&self, now: Duration) -> Option<Duration> {
        if self.phase(now).is_final() {
            return self.fields_at().filter(|t| *t > now);
        }
        let end = self.end()?;
        std::iter::once(self.created + self.provision)
            .chain(self.timeline().into_iter().flat_map(|(s, e)| [s, e]))
            .chain([end])
            .filter(|t| *t > now && *t <= end)
            .min()
    }

    /// When the in-house `dockerImage`/`versionTag` appear, for a run that succeeds.
    fn fields_at(&self) -> Option<Duration> {
        let succeeds =
            self.fail_at.is_none() && self.stopped.is_none_or(|s| s >= self.natural_end());
        (self.version_tags && succeeds).then(|| self.natural_end() + self.fields_delay)
    }

    pub fn version_tag(&self) -> String {
        let branch: String = self
            .branch
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let tag = format!("{branch}-{}-{}", self.run, &self.commit[..7]);
        tag.chars().take(128).collect()
    }

    pub fn chart_version(&self) -> String {
        format!("0.{}.{}", self.run / 100, self.run % 100)
    }
}
