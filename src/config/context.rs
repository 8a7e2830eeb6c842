//! What the configuration says about a job's targets, read afresh at each of its steps
//! ([`crate::job::Context`]): whether they are still configured, the approval they need
//! and the freezes and locks that hold on them.

use super::{App, Config};
use crate::freeze::Frozen;
use crate::job::legs::approval_policy;
use crate::job::{Context, JobSpec};
use crate::names::AppName;

impl Config {
    /// The context of a job doing `spec`, `holds` saying which freezes and locks hold
    /// on an app now. A release to several apps has the first app's id while every one
    /// is configured, one approval under the strictest of their policies, and the
    /// freezes and locks of all of them.
    pub fn job_context(&self, spec: &JobSpec, holds: impl Fn(&AppName) -> Vec<Frozen>) -> Context {
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
            frozen: named
                .into_iter()
                .flat_map(|app| holds(app).iter().map(|f| f.now(app)).collect::<Vec<_>>())
                .collect(),
        }
    }
}
