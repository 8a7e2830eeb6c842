//! What history says about an app, for the job domain's incident rules
//! (`job::incident`): its jobs, live and kept, and where a rollback of a deploy that
//! went wrong would go.

use super::Engine;
use crate::job::JobRecord;
use crate::job::incident;
use crate::names::{AppName, VersionTag};
use crate::store::StoreError;

/// How far back history is read for a rollback or a promotion.
const LOOK_BACK: usize = 50;

impl Engine {
    /// Where a rollback goes from a deploy that went wrong after reaching its app:
    /// the rule `/rollback` follows, what runs now being what the app showed last.
    pub(super) async fn rollback_offer(&self, r: &JobRecord) -> Option<VersionTag> {
        let app = r.spec.app()?;
        let d = r.deploy.as_ref()?;
        let live = d.rollout.latest.as_ref().and_then(|a| a.tag.clone());
        let mut history = self.app_history(app).await.ok()?;
        history.retain(|h| h.id != r.id);
        history.push(r.clone());
        history.sort_by_key(|h| std::cmp::Reverse(h.id));
        incident::rollback_target(app, live.as_deref(), &history, None).ok()
    }

    /// The app's jobs, newest first: the live ones as they stand, and those history
    /// keeps.
    pub async fn app_history(&self, app: &AppName) -> Result<Vec<JobRecord>, StoreError> {
        let mut jobs: Vec<_> = self
            .live_jobs()
            .into_iter()
            .filter(|r| r.spec.app() == Some(app))
            .collect();
        jobs.extend(self.inner.store.history(app.as_str(), LOOK_BACK).await?);
        // Stable: a live job's record, first, wins over its stored copy.
        jobs.sort_by_key(|r| std::cmp::Reverse(r.id));
        jobs.dedup_by_key(|r| r.id);
        Ok(jobs)
    }
}
