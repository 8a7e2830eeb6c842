//! Starting jobs, as the job domain's rules say (`job::start`): one job per request,
//! except that a build or release is answered by an equal one already running; a
//! deploy to a frozen or locked app is refused unless it may pass the freeze or lock.

use std::sync::Arc;

use super::live::LiveJob;
use super::{Engine, StartError, Started, driver};
use crate::chat::{Actor, Origin};
use crate::job::decisions;
use crate::job::start::{answered_by, blocking, builds};
use crate::job::{FreezeOverride, JobRecord, JobSpec, Person};
use crate::names::{Branch, JobId, ProjectName};

/// A request for a job, as a command makes it.
pub struct JobRequest<'a> {
    pub actor: &'a Actor,
    pub channel: &'a str,
    /// The command's own message, where the platform gives it one.
    pub origin: Option<&'a Origin>,
    pub spec: JobSpec,
    /// An admin's reason to deploy through a freeze.
    pub freeze_override: Option<&'a str>,
}

impl Engine {
    /// Starts the job `request` asks for, or answers with the running job that serves
    /// it; refuses a deploy to a frozen or locked app (a release: any of its apps) that
    /// may not pass the freeze or lock.
    pub async fn start(&self, request: JobRequest<'_>) -> Result<Started, StartError> {
        if self.is_stopping() {
            return Err(StartError::Stopping);
        }
        let JobRequest {
            actor,
            channel,
            origin,
            spec,
            freeze_override,
        } = request;
        let now = self.now();
        // Kept even if no freeze holds yet: one may begin while a release builds. The
        // job audits it when it deploys through a freeze.
        let freeze_override = freeze_override.map(|reason| FreezeOverride {
            by: actor.name.clone(),
            reason: reason.to_string(),
            at_ms: now,
        });
        for app in spec.apps() {
            let holds = self.inner.holds.holds(app);
            let weighed: Vec<_> = holds.iter().map(|f| f.now(app)).collect();
            let found = blocking(&spec, &actor.id, freeze_override.as_ref(), &weighed);
            if let Some(i) = found.and_then(|f| weighed.iter().position(|w| w == f)) {
                return Err(StartError::Frozen {
                    app: app.clone(),
                    frozen: Box::new(holds[i].clone()),
                });
            }
        }

        let _guard = self.inner.jobs.start_lock.lock().await;
        if let Some(running) = self.inner.jobs.first(|r| answered_by(&spec, r)) {
            return Ok(Started::Existing(running));
        }
        let id = self.inner.jobs.next_id();
        let requester = Person {
            id: actor.id.clone(),
            name: actor.name.clone(),
        };
        let mut record = JobRecord::new(id, spec, requester, channel, now);
        record.freeze_override = freeze_override;
        if let Err(e) = self.inner.store.save(&record).await {
            tracing::error!(job = %id, error = %e, "cannot record a new job");
            return Err(StartError::NotRecorded(e));
        }
        let mut job = LiveJob::new(record);
        job.origin = origin.cloned();
        self.launch(Arc::new(job));
        Ok(Started::New(id))
    }

    pub(super) fn launch(&self, job: Arc<LiveJob>) {
        use tracing::Instrument;
        self.inner.jobs.insert(job.clone());
        let engine = self.clone();
        let kind = job.lock().kind().as_str();
        let span = tracing::info_span!("job", id = %job.id, kind);
        let task = tokio::spawn(driver::run(engine, job.clone()).instrument(span));
        job.handles().task = Some(task.abort_handle());
    }

    /// A live build or release of `project`@`branch` still in its build phase.
    pub(super) fn running_build(
        &self,
        project: &ProjectName,
        branch: &Branch,
        except: Option<JobId>,
    ) -> Option<JobId> {
        self.inner
            .jobs
            .first(|r| Some(r.id) != except && builds(r, project, branch))
    }

    /// The execution another live job is building for `project`@`branch`, to follow it
    /// instead of starting a second build of the same thing.
    pub(super) fn shared_execution(
        &self,
        except: JobId,
        project: &ProjectName,
        branch: &Branch,
    ) -> Option<crate::paas::ExecutionId> {
        let id = self.running_build(project, branch, Some(except))?;
        let job = self.inner.jobs.get(id)?;
        let r = job.lock();
        r.build.as_ref().and_then(|b| b.execution.clone())
    }

    /// Whether another live job follows the same execution.
    pub(super) fn execution_shared(
        &self,
        except: JobId,
        execution: &crate::paas::ExecutionId,
    ) -> bool {
        self.inner
            .jobs
            .first(|r| {
                r.id != except
                    && r.build
                        .as_ref()
                        .is_some_and(|b| !b.finished && b.execution.as_ref() == Some(execution))
            })
            .is_some()
    }

    /// Closes older pending approvals for the same app: `newer` supersedes them.
    pub(super) async fn supersede_older(&self, newer: JobId, app: &crate::names::AppName) {
        let now = self.now();
        for job in self.inner.jobs.all() {
            if job.id >= newer || !job.lock().spec.apps().contains(&app) {
                continue;
            }
            if self
                .update(&job, |r| decisions::supersede(r, newer, now))
                .await
            {
                job.wake.notify_one();
            }
        }
    }
}
