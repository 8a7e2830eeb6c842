//! What the incident commands need to know before they start a job: the tag a rollback
//! goes back to and what a promotion copies, from the PaaS and the history. The rules
//! are the job domain's (`job::incident`); this reads what they are applied to.

use super::Engine;
use crate::job::JobRecord;
use crate::job::incident::{self, PromoteRefusal, Promotion, RollbackRefusal};
use crate::names::{AppName, VersionTag};
use crate::store::StoreError;

/// How far back history is read for a rollback or a promotion.
const LOOK_BACK: usize = 50;

/// Why a rollback or a promotion found nothing to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentError {
    Rollback(RollbackRefusal),
    Promote(PromoteRefusal),
    History(StoreError),
}

impl Engine {
    /// The tag a rollback of `app` deploys: `named`, if history shows it went well
    /// there, else the newest deploy that went well and is not what runs now (as the
    /// PaaS says, or as history says when the PaaS shows no tag or cannot be read).
    pub async fn rollback_target(
        &self,
        app: &AppName,
        named: Option<&VersionTag>,
    ) -> Result<VersionTag, IncidentError> {
        let history = self.app_history(app).await?;
        let live = match self.inner.config.apps.get(app) {
            Some(a) if named.is_none() => match self.inner.paas.get_app(&a.rancher).await {
                Ok(found) => found.version_tag,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot read what the app runs now; history decides");
                    None
                }
            },
            _ => None,
        };
        incident::rollback_target(app, live.as_deref(), &history, named)
            .map_err(IncidentError::Rollback)
    }

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

    /// What runs on `from` according to history, if its latest deploy succeeded.
    pub async fn promotion(&self, from: &AppName) -> Result<Promotion, IncidentError> {
        let jobs = self.app_history(from).await?;
        incident::promotion(from, &jobs).map_err(IncidentError::Promote)
    }

    /// The app's jobs, newest first: the live ones as they stand, and those history
    /// keeps.
    pub(super) async fn app_history(&self, app: &AppName) -> Result<Vec<JobRecord>, IncidentError> {
        let mut jobs: Vec<_> = self
            .live_jobs()
            .into_iter()
            .filter(|r| r.spec.app() == Some(app))
            .collect();
        let past = self
            .inner
            .store
            .history(app.as_str(), LOOK_BACK)
            .await
            .map_err(IncidentError::History)?;
        jobs.extend(past);
        // Stable: a live job's record, first, wins over its stored copy.
        jobs.sort_by_key(|r| std::cmp::Reverse(r.id));
        jobs.dedup_by_key(|r| r.id);
        Ok(jobs)
    }
}
