//! What a deploy changes: the engine reads what the rule needs (what runs on the app,
//! the builds of the pipeline that builds it) and the job domain draws the list
//! ([`crate::job::changes`]).

use super::Engine;
use crate::job::changes::{Changes, Unknowable};
use crate::job::incident;
use crate::names::AppName;
use crate::paas::builds::Builder;

impl Engine {
    /// The tag running on `app`: what the PaaS shows, else what history last deployed
    /// there successfully ([`incident::running_now`]).
    pub async fn running_now(&self, app: &AppName) -> Option<String> {
        let config = self.inner.config.apps.get(app)?;
        let live = self.inner.paas.get_app(&config.rancher).await;
        self.running_given(app, live).await
    }

    /// What runs on `app` by the domain's rule, given what reading it answered.
    pub(super) async fn running_given(
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
        let builder = Builder {
            project: project.name.as_str(),
            pipeline: &project.pipeline,
            branch: project.branch.as_str(),
            commit_url: project.commit_url.as_deref(),
        };
        self.inner.paas.changes(&builder, running, to).await
    }

    /// Whether the pipeline that builds `app` was read and no build of it produced
    /// `tag`: a deploy's answer says so at once (the deploy goes ahead; hotfix tags
    /// are deployed by hand). The listing read here answers the job's own look-up.
    pub async fn built_by_no_known_build(&self, app: &AppName, tag: &str) -> bool {
        let Some(project) = self.inner.config.builder_of(app) else {
            return false;
        };
        match self
            .inner
            .paas
            .pipeline_builds(&project.pipeline, &[tag])
            .await
        {
            Ok(builds) => !builds.iter().any(|b| b.tag.as_deref() == Some(tag)),
            Err(e) => {
                tracing::debug!(error = %e, app = %app, "cannot read the builds to check a tag");
                false
            }
        }
    }
}
