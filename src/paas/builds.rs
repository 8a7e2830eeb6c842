//! A pipeline's builds, as change lists name them, read with one listing (all its
//! pages) and kept per pipeline by run number once they are settled: a finished
//! execution never changes, so an approval whose two tags were both seen settled
//! before needs no request at all, and none is ever made per build listed. A whole
//! listing also answers for a few seconds, so a command's answer and the job it
//! starts read the pipeline once between them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{PaasClient, PaasError, PipelineRef};
use crate::job::changes::{self, Changes, PipelineBuild, Unknowable};

/// The project whose pipeline builds an app, as a change list needs it.
pub struct Builder<'a> {
    pub project: &'a str,
    pub pipeline: &'a PipelineRef,
    /// The branch whose newest build is meant when no tag is named.
    pub branch: &'a str,
    /// Where a commit is shown (`{commit}` stands for its id), else the PaaS's link.
    pub commit_url: Option<&'a str>,
}

/// How long a whole listing answers for any tags, found or not.
const FRESH: Duration = Duration::from_secs(5);

/// What is known of one pipeline's builds.
#[derive(Default)]
struct Known {
    /// Settled builds by run number.
    settled: BTreeMap<u64, PipelineBuild>,
    /// The latest whole listing, and when it was read.
    listed: Option<(Instant, Vec<PipelineBuild>)>,
}

/// Builds per pipeline.
#[derive(Default)]
pub(super) struct BuildCache(Mutex<HashMap<PipelineRef, Known>>);

impl BuildCache {
    /// The pipeline's builds without a request: a listing younger than [`FRESH`], or
    /// the settled builds when they hold every tag in `tags` and every run between
    /// them (a run missing may have produced one of the changes). Never with no tags:
    /// the newest build is wanted.
    fn answer(&self, pipeline: &PipelineRef, tags: &[&str]) -> Option<Vec<PipelineBuild>> {
        if tags.is_empty() {
            return None;
        }
        let cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let known = cache.get(pipeline)?;
        if let Some((at, listed)) = &known.listed
            && at.elapsed() < FRESH
        {
            return Some(listed.clone());
        }
        let builds = &known.settled;
        let run_of = |tag: &str| {
            builds
                .values()
                .find(|b| b.tag.as_deref() == Some(tag))
                .map(|b| b.execution.run)
        };
        let runs: Vec<u64> = tags.iter().map(|t| run_of(t)).collect::<Option<_>>()?;
        let (low, high) = (*runs.iter().min()?, *runs.iter().max()?);
        let count = builds.range(low..=high).count() as u64;
        (count == high - low + 1).then(|| builds.values().cloned().collect())
    }

    /// Keeps a whole listing, and its settled builds for good.
    fn keep(&self, pipeline: &PipelineRef, listed: &[PipelineBuild], settled: &[bool]) {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let known = cache.entry(pipeline.clone()).or_default();
        for (b, _) in listed.iter().zip(settled).filter(|(_, s)| **s) {
            known.settled.insert(b.execution.run, b.clone());
        }
        known.listed = Some((Instant::now(), listed.to_vec()));
    }
}

impl PaasClient {
    /// The pipeline's builds, as change lists name them. When the cache can answer
    /// for `tags` (see [`BuildCache::answer`]) no request is made; otherwise one
    /// listing is read, following `pagination.next`, and kept.
    pub async fn pipeline_builds(
        &self,
        pipeline: &PipelineRef,
        tags: &[&str],
    ) -> Result<Vec<PipelineBuild>, PaasError> {
        if let Some(cached) = self.inner.builds.answer(pipeline, tags) {
            return Ok(cached);
        }
        let executions = self.list_executions(pipeline).await?;
        let builds: Vec<PipelineBuild> = executions.iter().map(|e| e.pipeline_build()).collect();
        let settled: Vec<bool> = executions.iter().map(|e| e.settled()).collect();
        self.inner.builds.keep(pipeline, &builds, &settled);
        Ok(builds)
    }

    /// What deploying `to` (with none: the newest tagged build of the branch) onto an
    /// app running `running` changes, drawn by the job domain from the builds of
    /// `builder`'s pipeline ([`changes::between`]), read with one listing at most.
    pub async fn changes(
        &self,
        builder: &Builder<'_>,
        running: Option<&str>,
        to: Option<&str>,
    ) -> Changes {
        let shown_to = to.unwrap_or("the newest build");
        let project = builder.project.to_string();
        // With no tag named the newest build is wanted, which only a listing tells.
        let tags: Vec<&str> = match to {
            Some(to) => running.into_iter().chain([to]).collect(),
            None => Vec::new(),
        };
        let builds = match self.pipeline_builds(builder.pipeline, &tags).await {
            Ok(builds) => builds,
            Err(e) => {
                tracing::warn!(error = %e, project = %project, "cannot read the builds for a change list");
                return Changes::unknown(
                    shown_to,
                    Unknowable::Unreadable {
                        project: project.clone(),
                    },
                )
                .of_project(&project, None);
            }
        };
        let Some(to) = to.or(changes::newest_tag(&builds, builder.branch)) else {
            return Changes::unknown(
                shown_to,
                Unknowable::NoTagYet {
                    project: project.clone(),
                },
            )
            .of_project(&project, None);
        };
        changes::between(running, to, &builds).of_project(&project, builder.commit_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClusterId, ExecutionId, PipelineId, ProjectId, ProjectRef};

    fn pipeline() -> PipelineRef {
        PipelineRef::new(
            ProjectRef::new(
                ClusterId::parse("c-1").unwrap(),
                ProjectId::parse("p-1").unwrap(),
            ),
            PipelineId::parse("p-2").unwrap(),
        )
    }

    fn build(run: u64) -> PipelineBuild {
        PipelineBuild {
            started_ms: None,
            execution: ExecutionId::new(
                ProjectId::parse("p-1").unwrap(),
                PipelineId::parse("p-2").unwrap(),
                run,
            ),
            branch: Some("master".into()),
            tag: Some(format!("t{run}")),
            commit: None,
            message: None,
            author: None,
            link: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_cache_answers_only_for_known_tags_without_gaps() {
        let cache = BuildCache::default();
        let listed: Vec<PipelineBuild> = [1, 2, 3, 4, 5].into_iter().map(build).collect();
        // Run 4 is still running.
        cache.keep(&pipeline(), &listed, &[true, true, true, false, true]);
        assert!(
            cache.answer(&pipeline(), &["t1", "t9"]).is_some(),
            "a fresh listing answers for anything"
        );
        tokio::time::advance(FRESH).await;
        assert!(cache.answer(&pipeline(), &["t1", "t3"]).is_some());
        assert!(cache.answer(&pipeline(), &["t3", "t1"]).is_some());
        assert!(
            cache.answer(&pipeline(), &["t3", "t5"]).is_none(),
            "run 4 unknown"
        );
        assert!(
            cache.answer(&pipeline(), &["t1", "t9"]).is_none(),
            "t9 unknown"
        );
        assert!(
            cache.answer(&pipeline(), &[]).is_none(),
            "the newest is wanted"
        );
    }
}
