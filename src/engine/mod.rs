//! The release engine: a thin async driver around the job domain. Each request
//! becomes a job (a tokio task); the task asks the domain what to do next
//! ([`crate::job::machine::next`]), performs it against the PaaS, the chat and the
//! store, and feeds what it saw back ([`crate::job::machine::apply`]). It knows no
//! chat platform (`docs/architecture.md`).
//!
//! - `jobs`: the registry of live and recent jobs.
//! - `driver`: a job's task, step by step; `build`, `deploy` and `legs` (a release to
//!   several apps) perform the steps, following the PaaS through its watchers
//!   ([`crate::paas::watch`]) and showing the job through message writers
//!   ([`crate::chat::writer`]); `ending`, what a job's end sets off.
//! - `votes`: votes from commands, buttons and reactions, live or read back.

mod build;
mod changes;
mod deploy;
mod driver;
mod ending;
mod incident;
mod jobs;
mod legs;
mod lifecycle;
mod live;
mod messages;
mod start;
mod votes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::chat::paced::PacedChat;
use crate::chat::{Actor, Chat};
use crate::clock::Clock;
use crate::config::Config;
use crate::holds::Holds;
use crate::job::decisions::{self, CancelRefusal};
use crate::job::{JobRecord, JobState, Notice};
use crate::lease;
use crate::metrics::{Gauges, Metrics};
use crate::names::JobId;
use crate::paas::PaasClient;
use crate::paas::watch::{WatchHub, WatchSettings};
use crate::render::View;
use crate::store::{Store, StoreError};
use crate::turns::AppQueues;
use jobs::Jobs;
use live::LiveJob;

/// What the engine is built from.
pub struct EngineDeps {
    pub config: Arc<Config>,
    pub paas: PaasClient,
    /// The chat to post to; the engine paces its calls to the limits it declares.
    pub chat: Arc<dyn Chat>,
    pub clock: Clock,
    /// Where jobs are recorded, before each thing they do.
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    /// The URL the PaaS calls on each change of a build (`webhook` in the run request).
    pub webhook_url: Option<String>,
    /// The PaaS's web UI, for links in messages.
    pub ui: Option<crate::render::Ui>,
}

/// The answer to a request to start a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    New(JobId),
    /// An equal job is already running: this one.
    Existing(JobId),
}

/// Why a job was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("releasebot is stopping")]
    Stopping,
    #[error("the new job could not be recorded: {0}")]
    NotRecorded(StoreError),
    /// The app is frozen (only a rollback or an admin's override deploys to it) or
    /// locked (only its holder's deploys and rollbacks go).
    #[error("{app} is frozen")]
    Frozen {
        app: crate::names::AppName,
        frozen: Box<crate::freeze::Frozen>,
    },
}

pub use crate::holds::{NotLifted, NotLocked};
pub use crate::job::decisions::{CancelError, VoteOutcome};
pub use start::JobRequest;

struct Inner {
    config: Arc<Config>,
    paas: PaasClient,
    chat: Arc<PacedChat>,
    view: View,
    clock: Clock,
    watch: Arc<WatchHub>,
    queues: Arc<AppQueues>,
    jobs: Jobs,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    webhook_url: Option<String>,
    push: Mutex<Option<tokio::task::JoinHandle<()>>>,
    chat_connected: AtomicBool,
    /// Set once shutting down: no new commands are taken.
    stopping: AtomicBool,
    /// The freezes and locks in force.
    holds: Arc<Holds>,
    /// Whether this process may act, among replicas sharing the store.
    lease: Arc<lease::LeaseClock>,
}

/// The release engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// Builds the engine; job numbers continue from the store's.
    pub async fn new(deps: EngineDeps) -> Result<Engine, StoreError> {
        let next_id = deps.store.next_job_id().await?;
        // Read once, so suggestions and `/status` never query the store as people type.
        let recent = deps.store.finished(256).await?;
        let holds = Holds::read(deps.store.clone(), deps.config.clone(), deps.clock).await?;
        let subscribe = deps.config.paas.subscribe;
        let settings = WatchSettings {
            interval: deps.config.jobs.poll_interval,
            push_interval: deps.config.jobs.push_poll_interval,
            max_backoff: Duration::from_secs(60),
        };
        let view = View::new(deps.chat.style(), deps.ui);
        let lease = Arc::new(lease::LeaseClock::new());
        let engine = Engine {
            inner: Arc::new(Inner {
                watch: WatchHub::new(deps.paas.clone(), settings),
                chat: Arc::new(PacedChat::new(
                    deps.chat,
                    lease.clone(),
                    deps.metrics.clone(),
                )),
                view,
                config: deps.config,
                paas: deps.paas,
                clock: deps.clock,
                queues: Arc::new(AppQueues::default()),
                jobs: Jobs::new(next_id, recent),
                store: deps.store,
                metrics: deps.metrics,
                webhook_url: deps.webhook_url,
                push: Mutex::new(None),
                chat_connected: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                holds: Arc::new(holds),
                lease,
            }),
        };
        if subscribe {
            let task = tokio::spawn(crate::paas::push::manage(
                engine.inner.watch.clone(),
                engine.inner.paas.clone(),
                engine.inner.metrics.clone(),
            ));
            *engine.inner.push.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        }
        Ok(engine)
    }

    /// The webhook URL run requests carry, if any.
    pub fn webhook_url(&self) -> Option<&str> {
        self.inner.webhook_url.as_deref()
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The adapter says whether it is connected to its chat platform (for `/readyz`).
    pub fn set_chat_connected(&self, connected: bool) {
        self.inner
            .chat_connected
            .store(connected, Ordering::Relaxed);
    }

    pub fn chat_connected(&self) -> bool {
        self.inner.chat_connected.load(Ordering::Relaxed)
    }

    /// The engine's gauges, for `/metrics`.
    pub fn gauges(&self) -> Gauges {
        let mut jobs = std::collections::BTreeMap::new();
        let mut approvals_pending = 0;
        for job in self.inner.jobs.all() {
            let r = job.lock();
            *jobs
                .entry((r.kind().as_str(), r.state.as_str_snake()))
                .or_default() += 1;
            if r.approval.as_ref().is_some_and(|a| a.status.is_pending()) {
                approvals_pending += 1;
            }
        }
        let (executions_watched, apps_watched) = self.inner.watch.watched();
        Gauges {
            jobs,
            queue_depth: self.inner.queues.waiting(),
            approvals_pending,
            executions_watched,
            apps_watched,
            polls: self.inner.watch.polls(),
            leader: self.inner.lease.leads(),
        }
    }

    /// The freezes and locks in force, which the freeze and lock commands change.
    pub fn holds(&self) -> &Holds {
        &self.inner.holds
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn paas(&self) -> &PaasClient {
        &self.inner.paas
    }

    pub fn watchers(&self) -> &Arc<WatchHub> {
        &self.inner.watch
    }

    /// How messages are written on the chat the engine posts to.
    pub fn view(&self) -> &View {
        &self.inner.view
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub fn clock(&self) -> Clock {
        self.inner.clock
    }

    /// The chat the engine posts through: paced to the platform's limits, acting only
    /// while the lease lets this replica.
    pub fn chat(&self) -> Arc<dyn Chat> {
        self.inner.chat.clone()
    }

    /// A job's record, live or finished (from the store when it is not in memory).
    pub async fn job_record(&self, id: JobId) -> Option<JobRecord> {
        if let Some(r) = self.job_in_memory(id) {
            return Some(r);
        }
        match self.inner.store.load(id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(job = %id, error = %e, "cannot read a job");
                None
            }
        }
    }

    /// A job's record if it is live or among the latest finished ones.
    pub fn job_in_memory(&self, id: JobId) -> Option<JobRecord> {
        if let Some(job) = self.inner.jobs.get(id) {
            return Some(job.record());
        }
        self.inner.jobs.recent(id)
    }

    /// Whether the job is still running (its final message not yet delivered).
    pub fn is_live(&self, id: JobId) -> bool {
        self.inner.jobs.contains(id)
    }

    /// Every live job's record, oldest first.
    pub fn live_jobs(&self) -> Vec<JobRecord> {
        let mut all: Vec<JobRecord> = self.inner.jobs.all().iter().map(|j| j.record()).collect();
        all.sort_by_key(|r| r.id);
        all
    }

    /// The live jobs and the latest finished ones, newest first, from memory.
    pub fn recent_jobs(&self) -> Vec<JobRecord> {
        let mut all = self.live_jobs();
        all.extend(self.inner.jobs.recent_all());
        all.sort_by_key(|r| std::cmp::Reverse(r.id));
        all.dedup_by_key(|r| r.id);
        all
    }

    /// Cancels a job: stops a running build, withdraws a queued or pending request.
    /// The caller has checked that `actor` may. Returns the state it was cancelled in.
    pub async fn cancel(&self, actor: &Actor, id: JobId) -> Result<JobState, CancelError> {
        let Some(job) = self.inner.jobs.get(id) else {
            return Err(match self.job_record(id).await {
                Some(r) => CancelError::Refused(id, CancelRefusal::Ended(r.state)),
                None => CancelError::NoSuchJob(id),
            });
        };
        let now = self.now();
        let result = self
            .update(&job, |r| decisions::cancel(r, &actor.name, now))
            .await;
        if result.is_ok() {
            self.cancel_legs(&job.record(), &actor.name).await;
        }
        job.wake.notify_one();
        result.map_err(|why| CancelError::Refused(id, why))
    }

    /// Applies `f` to a job's record; if anything changed, records it, shows it and
    /// wakes waiters. A failed write is shown in the job's message and logged; while
    /// the database is away the change stays in memory and is written when it is back.
    async fn update<R>(&self, job: &Arc<LiveJob>, f: impl FnOnce(&mut JobRecord) -> R) -> R {
        self.change(job, f).await.0
    }

    /// Like [`Self::update`], for a change that must be on disk before the job acts on
    /// the world (the intent to run a build or an upgrade): while the database is
    /// away, this waits until the change is written (or another replica leads).
    async fn update_durably<R>(
        &self,
        job: &Arc<LiveJob>,
        f: impl FnOnce(&mut JobRecord) -> R,
    ) -> Result<R, StoreError> {
        let (out, saved) = self.change(job, f).await;
        match saved {
            Err(e) if e.is_outage() => self.recorded(job).await.map(|()| out),
            saved => saved.map(|()| out),
        }
    }

    async fn change<R>(
        &self,
        job: &Arc<LiveJob>,
        f: impl FnOnce(&mut JobRecord) -> R,
    ) -> (R, Result<(), StoreError>) {
        let (out, saving) = {
            let mut r = job.lock();
            let before = r.shared();
            let out = f(&mut r);
            if *r == *before {
                // Nothing changed: the record stays the one the writers hold.
                r.restore(before);
                return (out, Ok(()));
            }
            r.updated_ms = self.now();
            // The write takes its turn under the job's lock, so writes of one job land
            // in order; it is awaited with the lock released.
            (out, self.inner.store.save(&r))
        };
        let began = std::time::Instant::now();
        let saved = saving.await;
        self.inner
            .metrics
            .store_write(began.elapsed(), saved.is_ok());
        if let Err(StoreError::Deposed { .. }) = &saved {
            // Another replica leads now: this one shows and does nothing more.
            self.depose();
            return (out, saved);
        }
        if let Err(e) = &saved {
            let mut r = job.lock();
            if e.is_outage() {
                if r.notice != Some(Notice::WaitingForDatabase) {
                    tracing::warn!(job = %r.id, error = %e, "the database is away; the job's state is kept in memory until it is back");
                    r.notice = Some(Notice::WaitingForDatabase);
                }
            } else {
                tracing::error!(job = %r.id, error = %e, "cannot record the job's state");
                r.notice = Some(Notice::NotSaved {
                    error: e.to_string(),
                });
            }
        }
        if matches!(&saved, Err(e) if e.is_outage()) {
            self.save_later(job);
        }
        self.show(job);
        (out, saved)
    }

    /// Hands the job's state to its messages' writers, which render it when their edit
    /// comes (outside the job's lock, once however many changes it folds).
    fn show(&self, job: &LiveJob) {
        let (record, ended) = {
            let r = job.lock();
            (r.shared(), r.state.is_final())
        };
        {
            // Under chat pressure, how a job ended and what people must decide go
            // before progress.
            let h = job.handles();
            if let Some(w) = &h.progress {
                w.show_as(record.clone(), ended);
            }
            if let Some(w) = &h.approval
                && record.approval.is_some()
            {
                w.show_as(record.clone(), true);
            }
            if let Some(w) = &h.summary {
                w.show_as(record, ended);
            }
        }
        self.inner.jobs.changed.notify_waiters();
    }

    /// Writes the job's state once the database is back, retrying with back-off; one
    /// such task per job at a time.
    fn save_later(&self, job: &Arc<LiveJob>) {
        if job.unsaved.send_replace(None).is_none() {
            // Already retrying.
            return;
        }
        let (engine, job) = (self.clone(), job.clone());
        tokio::spawn(async move {
            engine.saved_later(&job).await;
        });
    }

    /// Waits until the job's latest state is written, while the database is away and
    /// only while this replica may act ([`Store::save_when_back`]). The state written
    /// no longer says it waits for the database, and then neither does the message.
    async fn saved_later(&self, job: &Arc<LiveJob>) {
        let waiting = Some(Notice::WaitingForDatabase);
        let saved = self
            .inner
            .store
            .save_when_back(&self.inner.lease, || {
                let mut r = job.lock();
                let noted = std::mem::take(&mut r.notice);
                let saving = self.inner.store.save(&r);
                r.notice = noted.or(waiting.clone());
                saving
            })
            .await;
        match &saved {
            Ok(()) => {
                tracing::info!(job = %job.id, "the job's state is recorded again");
                let mut r = job.lock();
                if r.notice == waiting {
                    r.notice = None;
                }
            }
            Err(StoreError::Deposed { .. }) => self.depose(),
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "cannot record the job's state");
                job.lock().notice = Some(Notice::NotSaved {
                    error: e.to_string(),
                });
            }
        }
        job.unsaved.send_replace(Some(saved));
        self.show(job);
    }

    /// Waits until what the job saw while the database was away is written, or the
    /// retrying gave up (another replica leads, or the store refused it for good), and
    /// says which: one retry loop per job serves the intents that must be recorded
    /// first and the job's end alike.
    async fn recorded(&self, job: &LiveJob) -> Result<(), StoreError> {
        let mut rx = job.unsaved.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(done) => done.clone().unwrap_or(Ok(())),
            Err(_) => Ok(()),
        }
    }

    /// The lease this process acts under (always held when alone on a SQLite file).
    pub fn lease(&self) -> &Arc<lease::LeaseClock> {
        &self.inner.lease
    }

    /// The store, for the application's leadership (the lease lives there).
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// Another replica leads (the lease was lost, or a write found a newer term): every
    /// job stops where it stands, to be resumed by the leader. Nothing is written.
    pub fn depose(&self) {
        if self.inner.lease.role() == lease::Role::Deposed {
            return;
        }
        tracing::warn!("this replica lost the lease: it stops acting; the leader resumes the jobs");
        self.inner.lease.depose();
        self.inner.stopping.store(true, Ordering::Relaxed);
        let engine = self.clone();
        // Not from within a job's own step: its task is among those stopped.
        tokio::spawn(async move {
            for job in engine.inner.jobs.all() {
                job.abort();
            }
            engine.inner.jobs.clear();
        });
    }

    /// Waits until every job has finished or waits on a person (an approval that has
    /// been asked for), and what they show is on screen.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.inner.jobs.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let busy = self
                .inner
                .jobs
                .all()
                .iter()
                .any(|j| !j.lock().waits_on_people());
            if !busy {
                break;
            }
            notified.await;
        }
        for job in self.inner.jobs.all() {
            job.settled().await;
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("jobs", &self.inner.jobs.len())
            .finish()
    }
}
