//! What the incident commands need to know before they start a job: the tag a rollback
//! goes back to and what a promotion copies, from the PaaS and the history.

use super::Engine;
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
    /// The tag a rollback of `app` deploys: `named`, if history shows it succeeded
    /// there, else the newest success that is not what runs now (as the PaaS says, or
    /// as history says when the PaaS cannot be read).
    pub async fn rollback_target(
        &self,
        app: &AppName,
        named: Option<&VersionTag>,
    ) -> Result<VersionTag, IncidentError> {
        let mut succeeded = self
            .inner
            .store
            .deployed(app.as_str(), LOOK_BACK)
            .map_err(IncidentError::History)?;
        // A deploy whose rollout is done but whose logs are still being read is a
        // success already: the newest of all.
        let mut rolled_out: Vec<_> = self
            .inner
            .jobs
            .all()
            .iter()
            .filter(|j| {
                let r = j.lock();
                r.spec.app() == Some(app)
                    && !r.state.is_final()
                    && r.deploy
                        .as_ref()
                        .is_some_and(|d| d.rollout.done && !d.rollout.failed)
            })
            .map(|j| j.record())
            .collect();
        rolled_out.sort_by_key(|r| std::cmp::Reverse(r.id));
        rolled_out.append(&mut succeeded);
        let succeeded = rolled_out;
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
        incident::rollback_target(app, live.as_deref(), &succeeded, named)
            .map_err(IncidentError::Rollback)
    }

    /// What runs on `from` according to history, if its latest deploy succeeded.
    pub fn promotion(&self, from: &AppName) -> Result<Promotion, IncidentError> {
        let mut jobs: Vec<_> = self
            .live_jobs()
            .into_iter()
            .filter(|r| r.spec.app() == Some(from))
            .collect();
        let past = self
            .inner
            .store
            .history(from.as_str(), LOOK_BACK)
            .map_err(IncidentError::History)?;
        jobs.extend(past.into_iter().filter(|r| r.state.is_final()));
        jobs.sort_by_key(|r| std::cmp::Reverse(r.id));
        jobs.dedup_by_key(|r| r.id);
        incident::promotion(from, &jobs).map_err(IncidentError::Promote)
    }
}
