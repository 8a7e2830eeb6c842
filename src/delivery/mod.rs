//! How the team delivers: the figures read from the store (each app's jobs since the
//! previous period's start, and the builds behind their tags, handed to the job
//! domain's rules in [`crate::job::stats`]), for `/stats`, the `/metrics` gauges and
//! the weekly digest ([`digest`]); and the line each deploy's end sends to the channels
//! the rest of the company reads ([`announce`]). Nothing here runs jobs.

mod announce;
pub mod digest;

pub use announce::announce;

use std::collections::HashMap;

use crate::config::Config;
use crate::job::stats::{AppStats, PeriodLength, Trace, app_stats, build_starts};
use crate::names::AppName;
use crate::paas::PaasClient;
use crate::store::StoreError;

/// Where the builds of tags no job in the history built are looked for: the pipeline
/// that builds each app, on the PaaS.
#[derive(Clone, Copy)]
pub struct Pipelines<'a> {
    pub config: &'a Config,
    pub paas: &'a PaasClient,
}

/// How far before the previous period a build is still looked for: a tag deployed in
/// the period may have been built this long before it.
pub const BUILD_LOOKBACK_MS: i64 = 90 * 24 * 60 * 60 * 1000;

/// The delivery figures of `apps` over the period of `length` ending at `now_ms`. A tag
/// deployed that no job in the history built is looked for among the builds of the
/// app's pipeline on the PaaS, where `pipelines` are given (one listing per pipeline).
pub async fn figures(
    store: &crate::store::Store,
    apps: &[AppName],
    length: PeriodLength,
    now_ms: i64,
    pipelines: Option<Pipelines<'_>>,
) -> Result<Vec<AppStats>, StoreError> {
    let (current, previous) = length.periods(now_ms);
    let builds = store
        .builds_ended_since(previous.start_ms - BUILD_LOOKBACK_MS)
        .await?;
    let mut starts = build_starts(&builds);
    let mut all = Vec::with_capacity(apps.len());
    for app in apps {
        let records = store
            .app_ended_since(app.as_str(), previous.start_ms)
            .await?;
        if let Some(pipelines) = pipelines {
            built_elsewhere(pipelines, app, &records, &mut starts).await;
        }
        all.push(app_stats(app, &records, &starts, current, previous));
    }
    Ok(all)
}

/// Adds to `starts` when the PaaS says the builds of `app`'s tags that no job in the
/// history built started (a pipeline run from Rancher's own UI). A PaaS that cannot
/// be read leaves them unknown.
async fn built_elsewhere(
    pipelines: Pipelines<'_>,
    app: &AppName,
    records: &[Trace],
    starts: &mut HashMap<String, i64>,
) {
    let mut unknown: Vec<&str> = records
        .iter()
        .filter(|r| r.spec.app() == Some(app))
        .filter_map(|r| r.deploy.as_ref().map(|d| d.tag.as_str()))
        .filter(|tag| !starts.contains_key(*tag))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    let Some(project) = pipelines.config.builder_of(app) else {
        return;
    };
    if unknown.is_empty() {
        return;
    }
    let listed = pipelines
        .paas
        .pipeline_builds(&project.pipeline, &unknown)
        .await;
    let builds = match listed {
        Ok(builds) => builds,
        Err(e) => {
            tracing::debug!(%app, error = %e, "cannot read the pipeline's builds for lead time");
            return;
        }
    };
    for b in builds {
        if let (Some(tag), Some(started)) = (b.tag, b.started_ms)
            && unknown.contains(&tag.as_str())
        {
            starts.entry(tag).or_insert(started);
        }
    }
}
