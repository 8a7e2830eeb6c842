//! What a deploy changes: the engine reads what the rule needs (what runs on the app,
//! the builds of the pipeline that builds it) and the job domain draws the list
//! ([`crate::job::changes`]).

use super::Engine;
use crate::job::changes::{Changes, Unknowable};
use crate::job::incident;
use crate::names::AppName;

impl Engine {
    /// What runs on `app` by the domain's rule ([`incident::running_now`]), given what
    /// reading it answered: what the PaaS shows, else what history last deployed there.
    pub async fn running_given(
        &self,
        app: &AppName,
        live: Result<crate::paas::App, crate::paas::PaasError>,
    ) -> Option<String> {
        let live = live
            .inspect_err(|e| tracing::debug!(error = %e, "cannot read what the app runs now; history decides"))
            .ok()
            .and_then(|a| a.version_tag);
        let history = match live {
            Some(_) => Vec::new(),
            None => self.app_history(app).await.unwrap_or_default(),
        };
        incident::running_now(app, live.as_deref(), &history)
    }

    /// What deploying `to` onto `app`, which runs `running`, changes; with no `to`,
    /// the newest tagged build of the project's branch
    /// ([`crate::paas::PaasClient::changes`]).
    pub async fn changes(&self, app: &AppName, running: Option<&str>, to: Option<&str>) -> Changes {
        let Some(project) = self.inner.config.builder_of(app) else {
            let app = app.to_string();
            return Changes::unknown(
                to.unwrap_or("the newest build"),
                Unknowable::NoBuilder { app },
            );
        };
        self.inner
            .paas
            .changes(&project.builder(), running, to)
            .await
    }
}
