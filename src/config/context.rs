//! What the configuration says about a job's targets, read afresh at each of its steps
//! ([`crate::job::Context`]): whether they are still configured, the approval they need
//! and the freeze that holds on them.

use super::{App, Config};
use crate::freeze::Frozen;
use crate::job::legs::approval_policy;
use crate::job::{Context, FrozenNow, JobSpec};
use crate::names::AppName;

impl Config {
    /// The context of a job doing `spec`, `frozen` saying which freeze holds on an app
    /// now. A release to several apps has the first app's id while every one is
    /// configured, one approval under the strictest of their policies, and the first
    /// freeze found on any of them.
    pub fn job_context(
        &self,
        spec: &JobSpec,
        frozen: impl Fn(&AppName) -> Option<Frozen>,
    ) -> Context {
        let named = spec.apps();
        let apps: Vec<&App> = named.iter().filter_map(|a| self.apps.get(*a)).collect();
        let approval = match spec.has_legs() {
            true => approval_policy(apps.iter().map(|a| &a.policy)),
            false => apps.first().and_then(|a| a.policy.for_job(spec)),
        };
        Context {
            settings: self.jobs.job(),
            project_configured: spec.project().is_none_or(|p| self.projects.contains_key(p)),
            app_id: apps
                .first()
                .filter(|_| apps.len() == named.len())
                .map(|a| a.rancher.app.clone()),
            approval,
            frozen: named.into_iter().find_map(|app| {
                let f = frozen(app)?;
                Some(FrozenNow {
                    app: app.clone(),
                    by: f.by(),
                    reason: f.reason(),
                    until_ms: f.until_ms(),
                })
            }),
        }
    }
}
