//! The build steps: start (or join) a build, find the one a run request started
//! before a restart, follow it, stop it for a cancel.

use super::driver::Driver;
use crate::job::machine::{Event, StopResult};
use crate::job::{Outcome, PaasStep, RunIntent};
use crate::paas::{ExecutionId, ExecutionRef, PipelineRef, StopOutcome};

impl Driver {
    /// The pipeline of the job's project, while it is configured.
    fn pipeline(&self) -> Option<PipelineRef> {
        let r = self.job.lock();
        let project = r.spec.project()?;
        self.engine
            .inner
            .config
            .projects
            .get(project)
            .map(|p| p.pipeline.clone())
    }
}

/// Joins a running build of the same project and branch, or starts one: `nextRun` is
/// read first and recorded with the intent, so the build can be recognised if the
/// answer is lost; the intent is on disk before the request leaves.
pub(super) async fn start(d: &mut Driver) {
    let Some(pipeline) = d.pipeline() else { return };
    let r = d.record();
    let (Some(project), Some(branch)) = (r.spec.project(), r.spec.branch()) else {
        return;
    };
    if let Some(execution) = d.engine.shared_execution(r.id, project, branch) {
        return d.apply(Event::BuildJoined(execution)).await;
    }
    let paas = d.engine.inner.paas.patient();
    let next_run = match paas.next_run(&pipeline).await {
        Ok(n) => n,
        Err(e) => return d.paas_failed(PaasStep::StartBuild, e).await,
    };
    if d.record().cancel.is_some() {
        return;
    }
    let intent = RunIntent {
        at_ms: d.now(),
        next_run,
    };
    if let Err(e) = d.apply_durably(Event::RunIntended(intent)).await {
        return d
            .fail(Outcome::NotRecorded {
                step: PaasStep::StartBuild,
                error: e.to_string(),
            })
            .await;
    }
    let webhook = d.engine.inner.webhook_url.as_deref();
    match paas
        .run_pipeline(&pipeline, branch.as_str(), webhook, intent.next_run)
        .await
    {
        Ok(execution) => {
            d.apply(Event::RunStarted {
                execution: execution.reading(),
                found: false,
            })
            .await;
            d.just_started = Some(execution);
        }
        Err(e) => d.paas_failed(PaasStep::StartBuild, e).await,
    }
}

/// Looks for the execution a recorded run request started before a restart (never
/// one another job follows or followed), so a restart starts nothing twice.
pub(super) async fn recover(d: &mut Driver, intent: RunIntent) {
    let Some(pipeline) = d.pipeline() else { return };
    let r = d.record();
    let Some(branch) = r.spec.branch() else {
        return;
    };
    let claimed = d
        .engine
        .inner
        .store
        .claimed_executions(r.id)
        .await
        .unwrap_or_default();
    let since = crate::clock::from_ms(intent.at_ms);
    let found = d
        .engine
        .inner
        .paas
        .patient()
        .find_runs(&pipeline, branch.as_str(), intent.next_run, since)
        .await;
    match found {
        Ok(found) => match found
            .into_iter()
            .find(|e| !claimed.contains(&e.id.to_string()))
        {
            Some(execution) => {
                d.apply(Event::RunStarted {
                    execution: execution.reading(),
                    found: true,
                })
                .await
            }
            None => d.apply(Event::RunNotFound).await,
        },
        Err(e) => d.paas_failed(PaasStep::FindBuild, e).await,
    }
}

/// Takes in what the execution's watcher shows, then waits for news, a change from
/// outside, or `wake_ms`.
pub(super) async fn follow(d: &mut Driver, execution: ExecutionId, wake_ms: i64) {
    let Some(pipeline) = d.pipeline() else { return };
    let target = ExecutionRef::new(pipeline.project.clone(), execution.clone());
    let watch = d.engine.inner.watch.clone();
    let fresh = d.builds.as_ref().is_none_or(|(id, _)| *id != execution);
    if fresh {
        let rx = match d.just_started.take().filter(|e| e.id == execution) {
            Some(seen) => watch.execution_from(&target, seen),
            None => watch.execution(&target),
        };
        d.builds = Some((execution.clone(), rx));
    }
    let Some(mut rx) = d.builds.as_ref().map(|(_, rx)| rx.clone()) else {
        return;
    };
    // A new reading is taken in, and the job decides again what to wait for.
    if fresh || rx.has_changed().unwrap_or(false) {
        return take_reading(d).await;
    }
    let until = d.instant(wake_ms);
    tokio::select! {
        changed = rx.changed() => match changed {
            Ok(()) => take_reading(d).await,
            Err(_) => {
                d.builds = None;
                d.paas_failed(PaasStep::FollowBuild, "the watcher stopped").await;
            }
        },
        _ = d.job.wake.notified() => {}
        _ = tokio::time::sleep_until(until) => {}
    }
}

/// Takes in the execution's watcher's latest reading.
async fn take_reading(d: &mut Driver) {
    let Some((_, rx)) = d.builds.as_mut() else {
        return;
    };
    let observed = rx.borrow_and_update().clone();
    let seen = |e: crate::paas::Execution, _| Some(Event::ExecutionSeen(e.reading()));
    let alive = d.observed(observed, PaasStep::FollowBuild, seen).await;
    let r = d.record();
    if !alive || r.state.is_final() || r.build.as_ref().is_some_and(|b| b.finished) {
        d.builds = None;
    }
}

/// Stops the build for a cancel, unless another job follows the same execution.
pub(super) async fn stop(d: &mut Driver, execution: ExecutionId) {
    d.builds = None;
    let Some(pipeline) = d.pipeline() else { return };
    if d.engine.execution_shared(d.job.id, &execution) {
        return d.apply(Event::BuildStopped(StopResult::Shared)).await;
    }
    let target = ExecutionRef::new(pipeline.project.clone(), execution);
    let result = match d.engine.inner.paas.stop_execution(&target).await {
        Ok(StopOutcome::Stopped) => StopResult::Stopped,
        Ok(StopOutcome::AlreadyFinished) => StopResult::AlreadyFinished,
        Err(e) => StopResult::Failed(e.to_string()),
    };
    d.apply(Event::BuildStopped(result)).await;
}
