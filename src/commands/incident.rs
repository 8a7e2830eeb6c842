//! What the incident commands need to know before they start a job: the tag a rollback
//! goes back to and what a promotion copies, from the PaaS and the history. The rules
//! are the job domain's (`job::incident`); this reads what they are applied to.

use crate::engine::Engine;
use crate::job::incident::{self, PromoteRefusal, Promotion, RollbackRefusal};
use crate::names::{AppName, VersionTag};
use crate::store::StoreError;

/// Why a rollback or a promotion found nothing to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentError {
    Rollback(RollbackRefusal),
    Promote(PromoteRefusal),
    History(StoreError),
}

/// The tag a rollback of `app` deploys: `named`, if history shows it went well there,
/// else the newest deploy that went well and is not what runs now (as the PaaS says,
/// or as history says when the PaaS shows no tag or cannot be read).
pub(super) async fn rollback_target(
    engine: &Engine,
    app: &AppName,
    named: Option<&VersionTag>,
) -> Result<VersionTag, IncidentError> {
    let history = engine
        .app_history(app)
        .await
        .map_err(IncidentError::History)?;
    let live = match engine.config().apps.get(app) {
        Some(a) if named.is_none() => match engine.paas().get_app(&a.rancher).await {
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

/// What runs on `from` according to history, if its latest deploy succeeded.
pub(super) async fn promotion(engine: &Engine, from: &AppName) -> Result<Promotion, IncidentError> {
    let jobs = engine
        .app_history(from)
        .await
        .map_err(IncidentError::History)?;
    incident::promotion(from, &jobs).map_err(IncidentError::Promote)
}
