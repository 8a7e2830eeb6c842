//! A pipeline's builds, as change lists name them, read with one listing (all its
//! pages) and kept per pipeline by run number once they are settled: a finished
//! execution never changes, so an approval whose two tags were both seen settled
//! before needs no request at all, and none is ever made per build listed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{PaasClient, PaasError, PipelineRef};
use crate::job::changes::PipelineBuild;

/// Settled builds, per pipeline, by run number.
#[derive(Default)]
pub(super) struct BuildCache(Mutex<HashMap<PipelineRef, BTreeMap<u64, PipelineBuild>>>);

impl BuildCache {
    /// The pipeline's builds from the cache, when it knows every tag in `tags` and
    /// every run between them (a run it lacks may have produced one of the changes).
    fn answer(&self, pipeline: &PipelineRef, tags: &[&str]) -> Option<Vec<PipelineBuild>> {
        if tags.is_empty() {
            return None;
        }
        let cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let builds = cache.get(pipeline)?;
        let run_of = |tag: &str| {
            builds
                .values()
                .find(|b| b.tag.as_deref() == Some(tag))
                .map(|b| b.execution.run)
        };
        let runs: Vec<u64> = tags.iter().map(|t| run_of(t)).collect::<Option<_>>()?;
        let (low, high) = (*runs.iter().min()?, *runs.iter().max()?);
        let known = builds.range(low..=high).count() as u64;
        (known == high - low + 1).then(|| builds.values().cloned().collect())
    }

    fn keep(&self, pipeline: &PipelineRef, settled: impl Iterator<Item = PipelineBuild>) {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let builds = cache.entry(pipeline.clone()).or_default();
        for b in settled {
            builds.insert(b.execution.run, b);
        }
    }
}

impl PaasClient {
    /// The pipeline's builds, as change lists name them. When every tag in `tags` is
    /// a settled build already seen, with every run between them, no request is
    /// made; otherwise one listing is read (following `pagination.next`) and its
    /// settled builds are kept. With no tags (the newest build is wanted) the listing
    /// is always read.
    pub async fn pipeline_builds(
        &self,
        pipeline: &PipelineRef,
        tags: &[&str],
    ) -> Result<Vec<PipelineBuild>, PaasError> {
        if let Some(cached) = self.inner.builds.answer(pipeline, tags) {
            return Ok(cached);
        }
        let executions = self.list_executions(pipeline).await?;
        let settled = executions
            .iter()
            .filter(|e| e.settled())
            .map(|e| e.pipeline_build());
        self.inner.builds.keep(pipeline, settled);
        Ok(executions.iter().map(|e| e.pipeline_build()).collect())
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

    #[test]
    fn the_cache_answers_only_for_known_tags_without_gaps() {
        let cache = BuildCache::default();
        cache.keep(&pipeline(), [1, 2, 3, 5].into_iter().map(build));
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
