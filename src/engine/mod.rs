//! The release engine: each chat request becomes a job, a tokio task that drives the
//! PaaS and keeps one chat message true. It knows no chat platform (`design.md`).
//!
//! The [`Engine`] owns the live jobs (a `DashMap`), the per-app deploy queues, the
//! shared PaaS watchers and the chat it posts to (paced to the platform's limits).
//! Commands call its methods; the job tasks live in [`run`].

pub mod approval;
pub mod job;
pub mod progress;
mod push;
pub mod redact;
pub mod registry;
pub mod render;
mod run;
pub mod watch;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::{Notify, watch as tokio_watch};

use crate::chat::paced::PacedChat;
use crate::chat::{APPROVE, Actor, Chat, MessageRef, REJECT, Reply};
use crate::clock::Clock;
use crate::config::Config;
use crate::metrics::{Gauges, Metrics};
use crate::names::{AppName, Branch, JobId, ProjectName, VersionTag};
use crate::paas::PaasClient;
use crate::secret::Secret;
use crate::store::{Store, StoreError};
use approval::{ApprovalStatus, VoteResult};
use job::{AuditAction, BuildInfo, JobKind, JobRecord, JobState};
use progress::ProgressWriter;
use redact::Redactor;
use registry::AppQueues;
use watch::{WatchHub, WatchSettings};

/// What the engine is built from.
pub struct EngineDeps {
    pub config: Arc<Config>,
    pub paas: PaasClient,
    /// The chat to post to; the engine paces its calls to the limits it declares.
    pub chat: Arc<dyn Chat>,
    pub clock: Clock,
    /// Values to redact from everything posted (the tokens).
    pub secrets: Vec<Secret>,
    /// Where jobs are recorded, before each thing they do.
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    /// The URL the PaaS calls on each change of a build (`webhook` in the run request).
    pub webhook_url: Option<String>,
}

/// The answer to a request to start a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    New(JobId),
    /// An equal job is already running: this one.
    Existing(JobId),
}

/// A running job: its record and the handles of its task.
pub(crate) struct Job {
    pub id: JobId,
    record: Mutex<JobRecord>,
    /// Who cancelled it, once someone has.
    cancel: tokio_watch::Sender<Option<String>>,
    /// Rings when something outside the task changed the job (a vote).
    wake: Notify,
    progress: Mutex<Option<ProgressWriter>>,
    approval_writer: Mutex<Option<ProgressWriter>>,
    /// A place in its app's deploy queue, taken at resume to keep the queue's order.
    ticket: Mutex<Option<registry::QueueTicket>>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Job {
    fn new(record: JobRecord) -> Arc<Self> {
        Arc::new(Job {
            id: record.id,
            record: Mutex::new(record),
            cancel: tokio_watch::channel(None).0,
            wake: Notify::new(),
            progress: Mutex::new(None),
            approval_writer: Mutex::new(None),
            ticket: Mutex::new(None),
            task: Mutex::new(None),
        })
    }

    pub fn record(&self) -> JobRecord {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, JobRecord> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the job's messages show its latest state.
    async fn settled(&self) {
        let writers: Vec<_> = [&self.progress, &self.approval_writer]
            .iter()
            .filter_map(|w| {
                let w = w.lock().unwrap_or_else(|e| e.into_inner());
                w.as_ref().map(|w| (w.asked_now(), w.settled_rx()))
            })
            .collect();
        for (asked, mut rx) in writers {
            let _ = rx.wait_for(|done| *done >= asked).await;
        }
    }

    fn cancelled_by(&self) -> Option<String> {
        self.cancel.borrow().clone()
    }

    /// Resolves when the job is cancelled, with who cancelled it.
    async fn cancelled(&self) -> String {
        let mut rx = self.cancel.subscribe();
        let by = match rx.wait_for(Option::is_some).await {
            Ok(by) => by.clone(),
            Err(_) => None,
        };
        match by {
            Some(by) => by,
            None => std::future::pending().await,
        }
    }
}

struct Inner {
    config: Arc<Config>,
    paas: PaasClient,
    chat: Arc<dyn Chat>,
    clock: Clock,
    redactor: Redactor,
    watch: Arc<WatchHub>,
    queues: Arc<AppQueues>,
    jobs: DashMap<JobId, Arc<Job>>,
    /// The latest finished jobs, so `/status` of a job that just ended needs no read.
    recent: Mutex<std::collections::VecDeque<JobRecord>>,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    webhook_url: Option<String>,
    push: Mutex<Option<tokio::task::JoinHandle<()>>>,
    chat_connected: std::sync::atomic::AtomicBool,
    /// Set once shutting down: no new commands are taken.
    stopping: std::sync::atomic::AtomicBool,
    /// Approval message id → its job.
    approval_messages: DashMap<String, JobId>,
    next_id: AtomicU64,
    /// Serialises "is an equal build running?" with starting one.
    start_lock: Mutex<()>,
    changed: Notify,
}

/// The release engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// How many finished jobs are kept in memory besides the store.
const RECENT_KEPT: usize = 256;

impl Engine {
    /// Builds the engine; job numbers continue from the store's.
    pub fn new(deps: EngineDeps) -> Result<Engine, StoreError> {
        let next_id = deps.store.next_job_id()?;
        // Read once, so suggestions and `/status` never query the store as people type.
        let mut recent: std::collections::VecDeque<JobRecord> =
            deps.store.finished(RECENT_KEPT)?.into();
        recent.make_contiguous().reverse();
        let subscribe = deps.config.paas.subscribe;
        let settings = WatchSettings {
            interval: deps.config.jobs.poll_interval,
            push_interval: deps.config.jobs.push_poll_interval,
            max_backoff: Duration::from_secs(60),
        };
        let engine = Engine {
            inner: Arc::new(Inner {
                watch: WatchHub::new(deps.paas.clone(), settings),
                chat: Arc::new(PacedChat::new(deps.chat, deps.metrics.clone())),
                redactor: Redactor::new(deps.secrets),
                config: deps.config,
                paas: deps.paas,
                clock: deps.clock,
                queues: Arc::new(AppQueues::default()),
                jobs: DashMap::new(),
                recent: Mutex::new(recent),
                store: deps.store,
                metrics: deps.metrics,
                webhook_url: deps.webhook_url,
                push: Mutex::new(None),
                chat_connected: std::sync::atomic::AtomicBool::new(false),
                stopping: std::sync::atomic::AtomicBool::new(false),
                approval_messages: DashMap::new(),
                next_id: AtomicU64::new(next_id),
                start_lock: Mutex::new(()),
                changed: Notify::new(),
            }),
        };
        if subscribe {
            let task = tokio::spawn(push::manage(
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
            .store(connected, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn chat_connected(&self) -> bool {
        self.inner
            .chat_connected
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the store takes writes (for `/readyz`).
    pub fn store_writable(&self) -> Result<(), String> {
        self.inner.store.ping().map_err(|e| e.0)
    }

    /// The engine's gauges, for `/metrics`.
    pub fn gauges(&self) -> Gauges {
        let mut jobs = std::collections::BTreeMap::new();
        let mut approvals_pending = 0;
        for job in self.inner.jobs.iter() {
            let r = job.lock();
            *jobs
                .entry((r.kind.as_str(), r.state.as_str_snake()))
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
        }
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

    /// Starts a build, or answers with the build of the same project and branch that
    /// is already running.
    pub fn start_build(
        &self,
        actor: &Actor,
        channel: &str,
        project: &ProjectName,
        branch: &Branch,
    ) -> Result<Started, String> {
        self.start_from_branch(JobKind::Build, actor, channel, project, branch)
    }

    /// Starts a release: a build, then a deploy of the tag it produced. A release of the
    /// same project and branch already running answers instead.
    pub fn start_release(
        &self,
        actor: &Actor,
        channel: &str,
        project: &ProjectName,
        branch: &Branch,
    ) -> Result<Started, String> {
        self.start_from_branch(JobKind::Release, actor, channel, project, branch)
    }

    fn start_from_branch(
        &self,
        kind: JobKind,
        actor: &Actor,
        channel: &str,
        project: &ProjectName,
        branch: &Branch,
    ) -> Result<Started, String> {
        let _guard = self
            .inner
            .start_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let running = match kind {
            // Any job building this project and branch (a release too) answers a build.
            JobKind::Build => self.running_build(project, branch, None),
            _ => self.running_job(|r| {
                r.kind == kind
                    && r.project.as_ref() == Some(project)
                    && r.branch.as_ref() == Some(branch)
            }),
        };
        if let Some(running) = running {
            return Ok(Started::Existing(running));
        }
        let app = match kind {
            JobKind::Release => self
                .inner
                .config
                .projects
                .get(project)
                .and_then(|p| p.deploys.clone()),
            _ => None,
        };
        let job = self.new_job(kind, actor, channel, |r| {
            r.project = Some(project.clone());
            r.branch = Some(branch.clone());
            r.app = app;
            r.build = Some(BuildInfo::default());
            r.state = JobState::Triggering;
        });
        self.spawn(job).map(Started::New)
    }

    /// Starts a deploy of `tag` to `app`.
    pub fn start_deploy(
        &self,
        actor: &Actor,
        channel: &str,
        app: &AppName,
        tag: &VersionTag,
    ) -> Result<JobId, String> {
        let needs_approval = self
            .inner
            .config
            .apps
            .get(app)
            .is_some_and(|a| a.policy.required());
        let job = self.new_job(JobKind::Deploy, actor, channel, |r| {
            r.app = Some(app.clone());
            r.tag = Some(tag.clone());
            r.state = if needs_approval {
                JobState::AwaitingApproval
            } else {
                JobState::Queued
            };
        });
        self.spawn(job)
    }

    fn new_job(
        &self,
        kind: JobKind,
        actor: &Actor,
        channel: &str,
        fill: impl FnOnce(&mut JobRecord),
    ) -> Arc<Job> {
        let id = JobId(self.inner.next_id.fetch_add(1, Ordering::SeqCst));
        let now = self.inner.clock.now_ms();
        let mut record = JobRecord {
            id,
            kind,
            requester_id: actor.id.clone(),
            requester: actor.name.clone(),
            channel: channel.to_string(),
            project: None,
            branch: None,
            app: None,
            tag: None,
            state: JobState::Queued,
            created_ms: now,
            updated_ms: now,
            ended_ms: None,
            thread: None,
            progress: None,
            approval_message: None,
            queued_behind: None,
            queued_ms: None,
            build: None,
            deploy: None,
            approval: None,
            logs: None,
            outcome: None,
            notice: None,
            audit: Vec::new(),
        };
        fill(&mut record);
        let target = record.target();
        record.audit(
            now,
            Some(&actor.name),
            AuditAction::Request,
            format!("{} {target}", kind.as_str()),
        );
        Job::new(record)
    }

    /// Records a new job, then starts its task.
    fn spawn(&self, job: Arc<Job>) -> Result<JobId, String> {
        let id = job.id;
        if let Err(e) = self.inner.store.save(&job.record()) {
            tracing::error!(job = %id, error = %e, "cannot record a new job");
            return Err(format!(
                "releasebot cannot record new jobs right now, so it started nothing ({e})."
            ));
        }
        self.launch(job);
        Ok(id)
    }

    fn launch(&self, job: Arc<Job>) {
        use tracing::Instrument;
        self.inner.jobs.insert(job.id, job.clone());
        self.inner.changed.notify_waiters();
        let engine = self.clone();
        let kind = job.lock().kind.as_str();
        let span = tracing::info_span!("job", id = %job.id, kind);
        let task = tokio::spawn(run::run_job(engine, job.clone()).instrument(span));
        *job.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
    }

    /// A live build or release of `project`@`branch` still in its build phase.
    fn running_build(
        &self,
        project: &ProjectName,
        branch: &Branch,
        except: Option<JobId>,
    ) -> Option<JobId> {
        self.running_job(|r| {
            Some(r.id) != except
                && matches!(r.kind, JobKind::Build | JobKind::Release)
                && r.project.as_ref() == Some(project)
                && r.branch.as_ref() == Some(branch)
                && r.build.as_ref().is_some_and(|b| !b.finished)
                && !r.state.is_final()
        })
    }

    fn running_job(&self, matches: impl Fn(&JobRecord) -> bool) -> Option<JobId> {
        let mut found: Vec<JobId> = self
            .inner
            .jobs
            .iter()
            .filter(|j| matches(&j.lock()))
            .map(|j| j.id)
            .collect();
        found.sort();
        found.first().copied()
    }

    /// The execution another live job is building for `project`@`branch`, to follow it
    /// instead of starting a second build of the same thing.
    fn shared_execution(
        &self,
        except: JobId,
        project: &ProjectName,
        branch: &Branch,
    ) -> Option<String> {
        let id = self.running_build(project, branch, Some(except))?;
        let job = self.inner.jobs.get(&id)?;
        let r = job.lock();
        r.build.as_ref().and_then(|b| b.execution.clone())
    }

    /// Whether another live job follows the same execution.
    fn execution_shared(&self, except: JobId, execution: &str) -> bool {
        self.inner.jobs.iter().any(|j| {
            j.id != except
                && j.lock()
                    .build
                    .as_ref()
                    .is_some_and(|b| !b.finished && b.execution.as_deref() == Some(execution))
        })
    }

    fn job(&self, id: JobId) -> Option<Arc<Job>> {
        self.inner.jobs.get(&id).map(|j| j.clone())
    }

    /// A job's record, live or finished.
    pub fn job_record(&self, id: JobId) -> Option<JobRecord> {
        if let Some(job) = self.job(id) {
            return Some(job.record());
        }
        let recent = self
            .inner
            .recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|r| r.id == id)
            .cloned();
        recent.or_else(|| match self.inner.store.load(id) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(job = %id, error = %e, "cannot read a job");
                None
            }
        })
    }

    /// Whether the job is still running (its final message not yet delivered).
    pub fn is_live(&self, id: JobId) -> bool {
        self.inner.jobs.contains_key(&id)
    }

    /// Every live job's record, oldest first.
    pub fn live_jobs(&self) -> Vec<JobRecord> {
        let mut all: Vec<JobRecord> = self.inner.jobs.iter().map(|j| j.record()).collect();
        all.sort_by_key(|r| r.id);
        all
    }

    /// The live jobs and the latest finished ones, newest first, from memory.
    pub fn recent_jobs(&self) -> Vec<JobRecord> {
        let mut all = self.live_jobs();
        all.extend(
            self.inner
                .recent
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        all.sort_by_key(|r| std::cmp::Reverse(r.id));
        all.dedup_by_key(|r| r.id);
        all
    }

    /// The latest finished jobs, newest first, from the store.
    pub fn finished_jobs(&self, n: usize) -> Vec<JobRecord> {
        self.inner.store.finished(n).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read finished jobs");
            Vec::new()
        })
    }

    /// The latest `n` jobs of a project or app, newest first (from the store).
    pub fn history(&self, name: &str, n: usize) -> Result<Vec<JobRecord>, String> {
        self.inner
            .store
            .history(name, n)
            .map_err(|e| format!("The history cannot be read right now ({e})."))
    }

    /// Cancels a job: stops a running build, withdraws a queued or pending request.
    /// The caller has checked that `actor` may.
    pub fn cancel(&self, actor: &Actor, id: JobId) -> Result<String, String> {
        let Some(job) = self.job(id) else {
            return Err(match self.job_record(id) {
                Some(r) => format!("{id} has already ended ({}).", r.state.as_str()),
                None => format!("There is no job {id}."),
            });
        };
        let state = job.lock().state;
        if matches!(state, JobState::Deploying | JobState::FetchingLogs) {
            return Err(format!(
                "{id} is already rolling out and cannot be stopped half way; deploy another version instead."
            ));
        }
        if job.cancelled_by().is_some() {
            return Err(format!("{id} is already being cancelled."));
        }
        let now = self.inner.clock.now_ms();
        self.update(&job, |r| {
            r.audit(
                now,
                Some(&actor.name),
                AuditAction::Cancel,
                format!("while {}", state.as_str()),
            )
        });
        job.cancel.send_replace(Some(actor.name.clone()));
        Ok(format!("Cancelling {id} ({}).", state.as_str()))
    }

    /// An approver's vote from `/approve` or `/reject`.
    pub fn vote(&self, actor: &Actor, id: JobId, approve: bool) -> Reply {
        let Some(job) = self.job(id) else {
            return Reply::Refused(match self.job_record(id) {
                Some(r) => format!("{id} has already ended ({}).", r.state.as_str()),
                None => format!("There is no job {id}."),
            });
        };
        let now = self.inner.clock.now_ms();
        let result = self.update(&job, |r| {
            let Some(approval) = r.approval.as_mut() else {
                return VoteResult::Refused(format!("{id} is not waiting for an approval."));
            };
            let result = if approve {
                approval.approve(actor, id, now)
            } else {
                approval.reject(actor, id, now)
            };
            let (action, detail) = match &result {
                VoteResult::Counted { have, need } => {
                    (AuditAction::Vote, format!("approve ({have} of {need})"))
                }
                VoteResult::Approved => {
                    (AuditAction::Approve, "approved: quorum reached".to_string())
                }
                VoteResult::Rejected => (AuditAction::Reject, "rejected".to_string()),
                _ => return result,
            };
            r.audit(now, Some(&actor.name), action, detail);
            result
        });
        job.wake.notify_one();
        vote_reply(id, result)
    }

    /// A reaction on a message. Only ✅ and ❌ on approval messages mean anything.
    pub async fn on_reaction(
        &self,
        actor: &Actor,
        target: &MessageRef,
        emoji: &str,
        added: bool,
    ) -> Option<Reply> {
        let id = *self.inner.approval_messages.get(&target.message)?;
        let reply = match (emoji, added) {
            (APPROVE, true) => self.vote(actor, id, true),
            (REJECT, true) => self.vote(actor, id, false),
            (APPROVE, false) => {
                let job = self.job(id)?;
                let now = self.inner.clock.now_ms();
                let result = self.update(&job, |r| {
                    let result = r.approval.as_mut().map(|a| a.withdraw(actor, id))?;
                    if let VoteResult::Withdrawn { have, need } = &result {
                        r.audit(
                            now,
                            Some(&actor.name),
                            AuditAction::Withdraw,
                            format!("({have} of {need})"),
                        );
                    }
                    Some(result)
                })?;
                job.wake.notify_one();
                // Removing a reaction that never counted needs no answer.
                match result {
                    VoteResult::Refused(_) => return None,
                    other => vote_reply(id, other),
                }
            }
            _ => return None,
        };
        if let Reply::Refused(why) = &reply
            && added
            && let Err(e) = self
                .inner
                .chat
                .refuse_reaction(target, emoji, actor, why)
                .await
        {
            tracing::debug!(error = %e, "could not answer a refused reaction");
        }
        Some(reply)
    }

    /// Applies `f` to a job's record; if anything changed, records it, shows it and
    /// wakes waiters. A failed write is shown in the job's message and logged.
    fn update<R>(&self, job: &Job, f: impl FnOnce(&mut JobRecord) -> R) -> R {
        self.change(job, f).0
    }

    /// Like [`Self::update`], for a change that must be on disk before the job acts on
    /// the world (the intent to run a build or an upgrade).
    fn update_durably<R>(
        &self,
        job: &Job,
        f: impl FnOnce(&mut JobRecord) -> R,
    ) -> Result<R, StoreError> {
        let (out, saved) = self.change(job, f);
        saved.map(|()| out)
    }

    fn change<R>(
        &self,
        job: &Job,
        f: impl FnOnce(&mut JobRecord) -> R,
    ) -> (R, Result<(), StoreError>) {
        let (out, saved, shown) = {
            let mut r = job.lock();
            let before = r.clone();
            let out = f(&mut r);
            if *r == before {
                return (out, Ok(()));
            }
            r.updated_ms = self.inner.clock.now_ms();
            // Written under the job's lock, so writes of one job land in order.
            let saved = self.inner.store.save(&r);
            if let Err(e) = &saved {
                tracing::error!(job = %r.id, error = %e, "cannot record the job's state");
                r.notice = Some(format!(
                    "releasebot could not save this job's state, so it may not resume after a restart ({e})."
                ));
            }
            let approval = r.approval.as_ref().map(|_| render::approval(&r));
            (out, saved, (render::progress(&r), approval))
        };
        if let Some(w) = job
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            w.show(shown.0);
        }
        if let (Some(w), Some(m)) = (
            job.approval_writer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref(),
            shown.1,
        ) {
            w.show(m);
        }
        self.inner.changed.notify_waiters();
        (out, saved)
    }

    /// Marks older pending approvals for the same app as superseded by `newer`.
    fn supersede_older(&self, newer: JobId, app: &AppName) {
        let now = self.inner.clock.now_ms();
        let older: Vec<Arc<Job>> = self
            .inner
            .jobs
            .iter()
            .filter(|j| j.id < newer)
            .filter(|j| {
                let r = j.lock();
                r.app.as_ref() == Some(app)
                    && r.state == JobState::AwaitingApproval
                    && r.approval.as_ref().is_some_and(|a| a.status.is_pending())
            })
            .map(|j| j.clone())
            .collect();
        for job in older {
            self.update(&job, |r| {
                if let Some(a) = r.approval.as_mut() {
                    a.close(ApprovalStatus::Superseded {
                        by: newer,
                        at_ms: now,
                    });
                }
                r.audit(
                    now,
                    None,
                    AuditAction::Supersede,
                    format!("superseded by {newer}"),
                );
            });
            job.wake.notify_one();
        }
    }

    /// Waits until every job has finished or waits on a person (an approval that has
    /// been asked for), and what they show is on screen.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let busy = self.inner.jobs.iter().any(|j| {
                let r = j.lock();
                !(r.state == JobState::AwaitingApproval
                    && r.approval_message.is_some()
                    && r.approval.as_ref().is_some_and(|a| a.status.is_pending()))
            });
            if !busy {
                break;
            }
            notified.await;
        }
        let jobs: Vec<Arc<Job>> = self.inner.jobs.iter().map(|j| j.clone()).collect();
        for job in jobs {
            job.settled().await;
        }
    }

    /// Redacts log lines with the configured secrets and the usual patterns.
    pub fn redact(&self, lines: &[String]) -> Vec<String> {
        self.inner.redactor.lines(lines)
    }

    /// The redacted last lines of a deploy log, as many as configured.
    pub fn log_excerpt(&self, lines: &[String]) -> Vec<String> {
        run::excerpt(self, lines)
    }

    fn finish(&self, record: JobRecord) {
        self.inner
            .metrics
            .job_finished(record.kind.as_str(), record.state.as_str_snake());
        if let Some(m) = &record.approval_message {
            self.inner.approval_messages.remove(&m.message);
        }
        let id = record.id;
        {
            let mut recent = self.inner.recent.lock().unwrap_or_else(|e| e.into_inner());
            recent.push_back(record);
            if recent.len() > RECENT_KEPT {
                recent.pop_front();
            }
        }
        self.inner.jobs.remove(&id);
        self.inner.changed.notify_waiters();
    }

    /// Resumes every job the store holds as unfinished: each continues from its last
    /// recorded step, editing the same messages. Deploys rejoin their app's queue in
    /// the order they had. Returns how many resumed.
    pub fn resume(&self) -> Result<usize, StoreError> {
        let records = self.inner.store.unfinished()?;
        let count = records.len();
        let now = self.inner.clock.now_ms();
        let mut jobs = Vec::new();
        for mut record in records {
            if self.inner.jobs.contains_key(&record.id) {
                continue;
            }
            record.audit(
                now,
                None,
                AuditAction::Resume,
                format!("resumed while {}", record.state.as_str()),
            );
            // A note left by the shutdown ("restarting") is over now.
            record.notice = None;
            self.inner.store.save(&record)?;

            jobs.push(Job::new(record));
        }
        // The deploying one first, then the queued ones in their order.
        let mut queued: Vec<&Arc<Job>> = jobs
            .iter()
            .filter(|j| {
                matches!(
                    j.lock().state,
                    JobState::Queued | JobState::Deploying | JobState::FetchingLogs
                ) && j
                    .lock()
                    .approval
                    .as_ref()
                    .is_none_or(|a| !a.status.is_pending())
            })
            .collect();
        queued.sort_by_key(|j| {
            let r = j.lock();
            (
                r.state == JobState::Queued,
                r.queued_ms.unwrap_or(r.created_ms),
                r.id,
            )
        });
        for job in queued {
            let app = job.lock().app.clone();
            if let Some(app) = app {
                *job.ticket.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(self.inner.queues.join(&app, job.id));
            }
        }
        for job in jobs {
            tracing::info!(job = %job.id, "resuming");
            // Votes may come in as soon as the bot is back, before the task runs.
            if let Some(m) = job.lock().approval_message.clone() {
                self.inner.approval_messages.insert(m.message, job.id);
            }
            self.launch(job);
        }
        Ok(count)
    }

    /// Whether the engine is shutting down (commands are refused).
    pub fn is_stopping(&self) -> bool {
        self.inner
            .stopping
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops for a restart: takes no more commands, notes in each running job's message
    /// that the bot is restarting and the job will resume, waits (at most `grace`) for
    /// those notes and every pending write to be delivered, then stops every job where
    /// it stands. The next start resumes them.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner
            .stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let jobs: Vec<Arc<Job>> = self.inner.jobs.iter().map(|j| j.clone()).collect();
        for job in &jobs {
            self.update(job, |r| {
                r.notice =
                    Some("releasebot is restarting; this job resumes when it is back.".into())
            });
        }
        let settled = async {
            for job in &jobs {
                job.settled().await;
            }
        };
        if tokio::time::timeout(grace, settled).await.is_err() {
            tracing::warn!("some messages were not updated before the shutdown");
        }
        tracing::info!(
            jobs = jobs.len(),
            "stopped; unfinished jobs resume at the next start"
        );
        self.halt();
    }

    /// Stops every job where it stands, as a crash would, and closes the store. The
    /// next engine on the same store resumes them.
    pub fn halt(&self) {
        let jobs: Vec<Arc<Job>> = self.inner.jobs.iter().map(|j| j.clone()).collect();
        for job in &jobs {
            if let Some(task) = job.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
                task.abort();
            }
            for writer in [&job.progress, &job.approval_writer] {
                if let Some(w) = writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    w.abort();
                }
            }
            job.ticket.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        self.inner.jobs.clear();
        self.inner.approval_messages.clear();
        if let Some(task) = self
            .inner
            .push
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
        self.inner.store.close();
    }
}

fn vote_reply(id: JobId, result: VoteResult) -> Reply {
    match result {
        VoteResult::Counted { have, need } => {
            Reply::Info(format!("Your approval of {id} counts ({have} of {need})."))
        }
        VoteResult::Approved => Reply::Info(format!("{id} is approved; deploying.")),
        VoteResult::Rejected => Reply::Info(format!("{id} is rejected; nothing will be deployed.")),
        VoteResult::Withdrawn { have, need } => Reply::Info(format!(
            "Your approval of {id} is withdrawn ({have} of {need})."
        )),
        VoteResult::Refused(why) => Reply::Refused(why),
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("jobs", &self.inner.jobs.len())
            .finish()
    }
}
