//! A job's task: ask the job domain for the next step, perform it, feed back what was
//! observed, until the job ends; then deliver its final messages. Every step is one
//! small function in this module, [`super::build`] or [`super::deploy`].

use std::sync::Arc;

use tokio::time::Instant;

use super::live::LiveJob;
use super::{Engine, build, deploy, legs};
use crate::chat::ChatError;
use crate::job::machine::{self, Context, Event, Step};
use crate::job::{JobRecord, Outcome};
use crate::paas::watch::Observed;
use crate::store::StoreError;

/// One job's task and what it needs between steps.
pub(super) struct Driver {
    pub engine: Engine,
    pub job: Arc<LiveJob>,
    /// The run request's answer, when this task just sent it: the watcher starts
    /// from it instead of polling at once.
    pub just_started: Option<crate::paas::Execution>,
    /// The execution followed and its watcher.
    pub builds: Option<(
        crate::paas::ExecutionId,
        tokio::sync::watch::Receiver<Observed<crate::paas::Execution>>,
    )>,
    /// The app followed, its watcher, and the last reading made before the upgrade.
    pub apps: Option<(
        crate::paas::AppRef,
        tokio::sync::watch::Receiver<Observed<crate::paas::App>>,
        u64,
    )>,
    /// The settle window's end at which the app was last read afresh.
    pub poked: Option<i64>,
    /// The app as this job last read it itself, and when: a reading younger than an
    /// interval serves again rather than asking the PaaS twice.
    pub app_read: Option<(tokio::time::Instant, crate::paas::App)>,
}

pub(super) async fn run(engine: Engine, job: Arc<LiveJob>) {
    let (target, state) = {
        let r = job.lock();
        (r.target(), r.state)
    };
    tracing::info!(%target, state = state.as_str(), "job running");
    let mut d = Driver {
        engine,
        job,
        just_started: None,
        builds: None,
        apps: None,
        poked: None,
        app_read: None,
    };
    d.attach_writers();
    let _leaving = Leaving(d.job.clone());
    loop {
        // Among replicas, only while the lease is believed held; a deposed replica's
        // jobs stop where they stand, for the leader to resume.
        if !d.engine.inner.lease.acting().await {
            return;
        }
        // Stopping gracefully: leave between two steps, with what the last one did
        // (a message posted, a run asked for) recorded, for the next start to resume.
        if d.engine.is_stopping() {
            return;
        }
        let step = d.next().await;
        tracing::debug!(?step, "step");
        match step {
            Step::Finish => break,
            Step::OpenMessages => d.open_messages().await,
            Step::StartBuild => build::start(&mut d).await,
            Step::RecoverRun { intent } => build::recover(&mut d, intent).await,
            Step::FollowBuild { execution, wake_ms } => {
                build::follow(&mut d, execution, wake_ms).await
            }
            Step::StopBuild { execution } => build::stop(&mut d, execution).await,
            Step::LookUpCurrent => deploy::look_up_current(&mut d).await,
            Step::RequestApproval => deploy::request_approval(&mut d).await,
            Step::AwaitApproval { deadline_ms } => d.wait_until(deadline_ms).await,
            Step::AwaitTurn => {
                d.tell_approved().await;
                deploy::await_turn(&mut d).await
            }
            Step::Upgrade => deploy::upgrade(&mut d).await,
            Step::RecoverUpgrade => deploy::recover_upgrade(&mut d).await,
            Step::FollowRollout { wake_ms, poke_ms } => {
                deploy::follow_rollout(&mut d, wake_ms, poke_ms).await
            }
            Step::FetchLogs { at_ms } => deploy::fetch_logs(&mut d, at_ms).await,
            Step::StartLeg { index } => {
                d.tell_approved().await;
                legs::start(&mut d, index).await
            }
            Step::AwaitLegs => legs::wait(&mut d).await,
        }
    }
    d.finish().await;
}

/// Says the job's task has returned, however it returns.
struct Leaving(Arc<LiveJob>);

impl Drop for Leaving {
    fn drop(&mut self) {
        self.0.mark_left();
    }
}

impl Driver {
    pub fn now(&self) -> i64 {
        self.engine.inner.clock.now_ms()
    }

    /// What the configuration says about this job's targets now.
    pub fn context(&self) -> Context {
        let r = self.job.lock();
        let holds = &self.engine.inner.holds;
        self.engine
            .inner
            .config
            .job_context(&r.spec, |app| holds.holds(app))
    }

    async fn next(&self) -> Step {
        let cx = self.context();
        let now = self.now();
        self.engine
            .update(&self.job, |r| machine::next(r, now, &cx))
            .await
    }

    /// Takes in an observation.
    pub async fn apply(&self, event: Event) {
        let cx = self.context();
        let now = self.now();
        self.engine
            .update(&self.job, |r| machine::apply(r, event, now, &cx))
            .await;
    }

    /// Takes in an observation that must be on disk before the job acts on it.
    pub async fn apply_durably(&self, event: Event) -> Result<(), StoreError> {
        let cx = self.context();
        let now = self.now();
        self.engine
            .update_durably(&self.job, |r| machine::apply(r, event, now, &cx))
            .await
    }

    /// Ends the job: a PaaS call `step` needed failed for good.
    pub async fn paas_failed(&self, step: crate::job::PaasStep, error: impl ToString) {
        self.fail(Outcome::PaasFailed {
            step,
            error: error.to_string(),
        })
        .await;
    }

    /// Takes in what a watcher observed: `seen` says what a reading means to the job
    /// (nothing, for one that does not count); failed polls are reported; a watcher
    /// stopped for good ends the job at `step`. False once the watcher is of no use.
    pub async fn observed<T>(
        &self,
        observed: Observed<T>,
        step: crate::job::PaasStep,
        seen: impl FnOnce(T, u64) -> Option<Event>,
    ) -> bool {
        let event = match observed {
            Observed::Pending => None,
            Observed::Seen(reading, seq) => seen(reading, seq),
            Observed::Trouble { error, failures } => Some(Event::PaasTrouble {
                error: error.to_string(),
                failures,
            }),
            Observed::Fatal(error) => {
                self.paas_failed(step, error).await;
                return false;
            }
        };
        if let Some(event) = event {
            self.apply(event).await;
        }
        true
    }

    pub async fn fail(&self, outcome: Outcome) {
        self.apply(Event::Failed(outcome)).await;
    }

    pub fn record(&self) -> JobRecord {
        self.job.record()
    }

    /// A tokio deadline for a wall-clock time in milliseconds.
    pub fn instant(&self, at_ms: i64) -> Instant {
        let wait = (at_ms - self.now()).max(0) as u64;
        Instant::now() + std::time::Duration::from_millis(wait)
    }

    /// Waits until `at_ms`, or until something outside changed the job.
    pub async fn wait_until(&self, at_ms: i64) {
        tokio::select! {
            _ = self.job.wake.notified() => {}
            _ = tokio::time::sleep_until(self.instant(at_ms)) => {}
        }
    }

    pub async fn chat_failed(&self, step: crate::job::ChatStep, e: ChatError) {
        self.fail(Outcome::ChatFailed {
            step,
            error: e.to_string(),
        })
        .await;
    }
}
