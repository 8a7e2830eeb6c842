//! How the team delivers: the figures read from the store (each app's jobs since the
//! previous period's start, and the builds behind their tags, handed to the job
//! domain's rules in [`crate::job::stats`]), for `/stats`, the `/metrics` gauges and
//! the weekly digest ([`digest`]); and the line each deploy's end sends to the channels
//! the rest of the company reads ([`announce`]). Nothing here runs jobs.

mod announce;
pub mod digest;

pub use announce::announce;

use crate::job::stats::{AppStats, PeriodLength, app_stats, build_starts};
use crate::names::AppName;
use crate::store::StoreError;

/// How far before the previous period a build is still looked for: a tag deployed in
/// the period may have been built this long before it.
pub const BUILD_LOOKBACK_MS: i64 = 90 * 24 * 60 * 60 * 1000;

/// The delivery figures of `apps` over the period of `length` ending at `now_ms`.
pub async fn figures(
    store: &crate::store::Store,
    apps: &[AppName],
    length: PeriodLength,
    now_ms: i64,
) -> Result<Vec<AppStats>, StoreError> {
    let (current, previous) = length.periods(now_ms);
    let builds = store
        .builds_ended_since(previous.start_ms - BUILD_LOOKBACK_MS)
        .await?;
    let starts = build_starts(&builds);
    let mut all = Vec::with_capacity(apps.len());
    for app in apps {
        let records = store
            .app_ended_since(app.as_str(), previous.start_ms)
            .await?;
        all.push(app_stats(app, &records, &starts, current, previous));
    }
    Ok(all)
}
