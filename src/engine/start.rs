//! Starting jobs: one job per request, except that a build or release answers with an
//! equal one already running; a deploy to a frozen app is refused unless it is a
//! rollback or an admin lets it through.

use std::sync::Arc;

use super::live::LiveJob;
use super::{Engine, StartError, Started, driver};
use crate::chat::{Actor, Origin};
use crate::job::decisions;
use crate::job::{DeployOrigin, FreezeOverride, JobKind, JobRecord, JobSpec, Person};
use crate::names::{Branch, JobId, ProjectName};

impl Engine {
    /// Starts a job. A build answers with a running build or release of the same
    /// project and branch; a release with a running release of them. A deploy or a
    /// release to a frozen app is refused, unless it is a rollback.
    pub async fn start(
        &self,
        actor: &Actor,
        channel: &str,
        spec: JobSpec,
    ) -> Result<Started, StartError> {
        self.start_from(actor, channel, None, spec, None).await
    }

    /// Starts a job for a command that came with a message of its own (`origin`),
    /// through a freeze where `freeze_override` gives an admin's reason.
    pub async fn start_from(
        &self,
        actor: &Actor,
        channel: &str,
        origin: Option<&Origin>,
        spec: JobSpec,
        freeze_override: Option<&str>,
    ) -> Result<Started, StartError> {
        if self.is_stopping() {
            return Err(StartError::Stopping);
        }
        let rollback = matches!(
            spec,
            JobSpec::Deploy {
                origin: DeployOrigin::Rollback { .. },
                ..
            }
        );
        let frozen = spec
            .app()
            .and_then(|app| Some((app.clone(), self.frozen(app)?)));
        if let (Some((app, frozen)), false, None) = (&frozen, rollback, freeze_override) {
            return Err(StartError::Frozen {
                app: app.clone(),
                frozen: Box::new(frozen.clone()),
            });
        }

        let _guard = self.inner.jobs.start_lock.lock().await;
        let running = match &spec {
            // Any job building this project and branch (a release too) answers a build.
            JobSpec::Build { project, branch } => self.running_build(project, branch, None),
            JobSpec::Release {
                project, branch, ..
            } => self.inner.jobs.first(|r| {
                r.kind() == JobKind::Release
                    && r.spec.project() == Some(project)
                    && r.spec.branch() == Some(branch)
                    && !r.state.is_final()
            }),
            JobSpec::Deploy { .. } => None,
        };
        if let Some(running) = running {
            return Ok(Started::Existing(running));
        }
        let id = self.inner.jobs.next_id();
        let requester = Person {
            id: actor.id.clone(),
            name: actor.name.clone(),
        };
        let now = self.now();
        let mut record = JobRecord::new(id, spec, requester, channel, now);
        // Kept even if no freeze holds yet: one may begin while a release builds. The
        // job audits it when it deploys through a freeze.
        record.freeze_override = freeze_override.map(|reason| FreezeOverride {
            by: actor.name.clone(),
            reason: reason.to_string(),
            at_ms: now,
        });
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
        self.inner.jobs.first(|r| {
            Some(r.id) != except
                && r.spec.project() == Some(project)
                && r.spec.branch() == Some(branch)
                && r.build.as_ref().is_some_and(|b| !b.finished)
                && !r.state.is_final()
        })
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
            if job.id >= newer || job.lock().spec.app() != Some(app) {
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
