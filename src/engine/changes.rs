//! What a deploy changes: the engine reads what the rule needs (what runs on the app,
//! the builds of the pipeline that builds it) and the job domain draws the list
//! ([`crate::job::changes`]).

use super::Engine;
use crate::job::changes::{self, Changes};
use crate::job::incident;
use crate::names::AppName;

impl Engine {
    /// The tag running on `app`: what the PaaS shows, else what history last deployed
    /// there successfully ([`incident::running_now`]).
    pub async fn running_now(&self, app: &AppName) -> Option<String> {
        let config = self.inner.config.apps.get(app)?;
        let live = match self.inner.paas.get_app(&config.rancher).await {
            Ok(found) => found.version_tag,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read what the app runs now; history decides");
                None
            }
        };
        let history = match live {
            Some(_) => Vec::new(),
            None => self.app_history(app).await.unwrap_or_default(),
        };
        incident::running_now(app, live.as_deref(), &history)
    }

    /// What deploying `to` onto `app`, which runs `running`, changes; with no `to`,
    /// the newest tagged build of the project's branch. The builds are read with one
    /// listing at most (see [`crate::paas::PaasClient::pipeline_builds`]).
    pub async fn changes(&self, app: &AppName, running: Option<&str>, to: Option<&str>) -> Changes {
        let shown_to = to.unwrap_or("the newest build");
        let Some(project) = self.inner.config.builder_of(app) else {
            let reason = format!("no project builds {app} (set [apps.{app}] built_by)");
            return Changes::unknown(shown_to, reason);
        };
        // With no tag named the newest build is wanted, which only a listing tells.
        let tags: Vec<&str> = match to {
            Some(to) => running.into_iter().chain([to]).collect(),
            None => Vec::new(),
        };
        let builds = match self
            .inner
            .paas
            .pipeline_builds(&project.pipeline, &tags)
            .await
        {
            Ok(builds) => builds,
            Err(e) => {
                tracing::warn!(error = %e, app = %app, "cannot read the builds for a change list");
                let reason = format!("the builds of {} could not be read", project.name);
                return Changes::unknown(shown_to, reason).of_project(project.name.as_str(), None);
            }
        };
        let newest = changes::newest_tag(&builds, project.branch.as_str());
        let Some(to) = to.or(newest) else {
            let reason = format!("no build of {} produced a tag yet", project.name);
            return Changes::unknown(shown_to, reason).of_project(project.name.as_str(), None);
        };
        changes::between(running, to, &builds)
            .of_project(project.name.as_str(), project.commit_url.as_deref())
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
