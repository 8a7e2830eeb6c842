//! The job task: build, deploy and release, step by step, each step recorded before
//! it acts on the world and shown as it happens.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::approval::{Approval, ApprovalStatus};
use super::job::{AppMark, AuditAction, DeployInfo, JobKind, JobState, LogExcerpt};
use super::progress::ProgressWriter;
use super::watch::Observed;
use super::{Engine, Job, render};
use crate::chat::{APPROVE, Actor, ChatError, REJECT};
use crate::clock::{from_ms, short_duration};
use crate::names::VersionTag;
use crate::paas::{BuildStatus, ExecutionId, ExecutionRef, PaasError, Rollout, StopOutcome};

/// How a job ends when it does not succeed, with the one sentence that says why.
pub(super) enum End {
    Failed(String),
    Rejected(String),
    Cancelled(String),
    TimedOut(String),
}

/// What a watcher says, as the job sees it: the object when there is one, nothing
/// while waiting (saying so in the message after failures in a row), and the end of
/// the job when the watcher gave up.
fn observed<T>(
    engine: &Engine,
    job: &Job,
    observed: Observed<T>,
    following: &str,
) -> Result<Option<T>, End> {
    match observed {
        Observed::Pending => Ok(None),
        Observed::Seen(value) => Ok(Some(value)),
        Observed::Trouble { error, failures } => {
            if failures >= TROUBLE_AFTER {
                engine.update(job, |r| {
                    r.notice = Some(format!("PaaS unreachable, retrying. {error}"))
                });
            }
            Ok(None)
        }
        Observed::Fatal(error) => Err(End::Failed(format!(
            "releasebot lost track of {following}. {error}"
        ))),
    }
}

/// How long a step that is safe to repeat keeps trying through transient errors.
const PATIENCE: Duration = Duration::from_secs(10 * 60);

/// Runs a PaaS call that is safe to repeat, retrying transient errors with backoff for
/// up to [`PATIENCE`] and saying in the job's message that the PaaS is unreachable
/// meanwhile. Other errors come back at once.
async fn patiently<T, F, Fut>(
    engine: &Engine,
    job: &Arc<Job>,
    retry: fn(&crate::paas::PaasError) -> bool,
    mut call: F,
) -> Result<T, crate::paas::PaasError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, crate::paas::PaasError>>,
{
    let until = Instant::now() + PATIENCE;
    let mut failures = 0u32;
    loop {
        match call().await {
            Ok(v) => {
                if failures > 0 {
                    engine.update(job, |r| r.notice = None);
                }
                return Ok(v);
            }
            Err(e) if retry(&e) && Instant::now() < until => {
                failures += 1;
                let wait = Duration::from_secs(1)
                    .saturating_mul(1 << failures.min(5))
                    .min(Duration::from_secs(30));
                engine.update(job, |r| {
                    r.notice = Some(format!("PaaS unreachable, retrying. {e}"))
                });
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Failed polls in a row before the message says the PaaS is unreachable.
const TROUBLE_AFTER: u32 = 2;

/// What a finished build produced.
struct Built {
    tag: Option<String>,
    image: Option<String>,
}

pub(super) async fn run_job(engine: Engine, job: Arc<Job>) {
    let (target, state) = {
        let r = job.lock();
        (r.target(), r.state)
    };
    tracing::info!(%target, state = state.as_str(), "job running");
    let end = drive(&engine, &job).await;
    finish(&engine, &job, end).await;
}

async fn drive(engine: &Engine, job: &Arc<Job>) -> Result<(), End> {
    open_messages(engine, job).await?;
    let kind = job.lock().kind;
    match kind {
        JobKind::Build => build(engine, job).await.map(|_| ()),
        JobKind::Deploy => {
            let tag = job.lock().tag.clone();
            let Some(tag) = tag else {
                return Err(End::Failed("The deploy names no version tag.".into()));
            };
            deploy(engine, job, tag, None).await
        }
        JobKind::Release => {
            let built = build(engine, job).await?;
            let Some(tag) = built.tag else {
                return Err(End::Failed(
                    "The build succeeded, but the PaaS reported no versionTag (a stock Rancher?), so there is nothing to deploy."
                        .into(),
                ));
            };
            let tag = VersionTag::parse(&tag).map_err(|e| {
                End::Failed(format!(
                    "The build produced a version tag releasebot will not deploy: {e}"
                ))
            })?;
            engine.update(job, |r| r.tag = Some(tag.clone()));
            deploy(engine, job, tag, built.image).await
        }
    }
}

/// Retries a chat call that failed transiently, honouring the platform's retry-after.
async fn with_chat_retries<T, F, Fut>(what: &str, mut call: F) -> Result<T, End>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ChatError>>,
{
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.permanent || attempt >= 6 => {
                return Err(End::Failed(format!(
                    "releasebot could not {what} in chat ({e})."
                )));
            }
            Err(e) => {
                let wait = e.retry_after.unwrap_or_else(|| {
                    Duration::from_millis(500).saturating_mul(1 << attempt.min(6))
                });
                tokio::time::sleep(wait.min(Duration::from_secs(30))).await;
            }
        }
    }
}

/// Opens the job's thread and posts its progress message, unless they exist (a resumed
/// job keeps editing the message it had), and starts the progress writer.
async fn open_messages(engine: &Engine, job: &Arc<Job>) -> Result<(), End> {
    let chat = engine.inner.chat.clone();
    let record = job.record();
    let thread = match record.thread.clone() {
        Some(t) => t,
        None => {
            let summary = render::summary(&record);
            let title = render::thread_title(&record);
            let thread = with_chat_retries("open a thread", || {
                chat.open_thread(&record.channel, &summary, &title)
            })
            .await?;
            engine.update(job, |r| r.thread = Some(thread.clone()));
            thread
        }
    };
    // The writer starts from what the message shows; a resumed job's message may show
    // anything, so the writer's first edit brings it up to date.
    let (progress, shown) = match record.progress.clone() {
        Some(p) => (p, crate::chat::Message::default()),
        None => {
            let content = render::progress(&job.record());
            let posted = with_chat_retries("post the progress message", || {
                chat.post(&thread.thread, &content)
            })
            .await?;
            engine.update(job, |r| r.progress = Some(posted.clone()));
            (posted, content)
        }
    };
    let writer = ProgressWriter::spawn(chat, progress, shown, engine.inner.config.jobs.edit_window);
    writer.show(render::progress(&job.record()));
    *job.progress.lock().unwrap_or_else(|e| e.into_inner()) = Some(writer);
    Ok(())
}

/// Milliseconds left of `limit` counted from `since_ms`, as a tokio deadline.
fn deadline(engine: &Engine, since_ms: i64, limit: Duration) -> Instant {
    let spent = (engine.inner.clock.now_ms() - since_ms).max(0) as u64;
    Instant::now() + limit.saturating_sub(Duration::from_millis(spent))
}

async fn build(engine: &Engine, job: &Arc<Job>) -> Result<Built, End> {
    let record = job.record();
    let (Some(project), Some(branch)) = (record.project.clone(), record.branch.clone()) else {
        return Err(End::Failed("The job names no project and branch.".into()));
    };
    let Some(config) = engine.inner.config.projects.get(&project).cloned() else {
        return Err(End::Failed(format!(
            "The project {project} is no longer configured."
        )));
    };
    let known = record.build.as_ref().and_then(|b| b.execution.clone());
    // The run request's answer, when this job just sent it: the watcher starts from it.
    let mut seen = None;
    let execution = match known {
        Some(id) => id,
        None => match engine.shared_execution(job.id, &project, &branch) {
            Some(shared) => {
                let now = engine.inner.clock.now_ms();
                engine.update(job, |r| {
                    let b = r.build.get_or_insert_with(Default::default);
                    b.execution = Some(shared.clone());
                    b.started_here = false;
                    r.state = JobState::Building;
                    r.audit(
                        now,
                        None,
                        AuditAction::BuildStart,
                        format!("following {shared}, already running"),
                    );
                });
                shared
            }
            None => {
                let started = start_execution(engine, job, &config, &project, &branch).await?;
                let id = started.id.to_string();
                seen = Some(started);
                id
            }
        },
    };
    let execution_id = ExecutionId::parse(&execution).map_err(|e| {
        End::Failed(format!(
            "The PaaS named the build {execution:?}, which is not an execution id ({e})."
        ))
    })?;
    let target = ExecutionRef::new(config.pipeline.project.clone(), execution_id);
    follow_build(engine, job, &target, seen).await
}

/// Sends the run request, recorded first. A request recorded but never answered (the
/// bot stopped in between) may have started a build: it is looked for before sending
/// another, so a restart never starts a second build.
async fn start_execution(
    engine: &Engine,
    job: &Arc<Job>,
    config: &crate::config::Project,
    project: &crate::names::ProjectName,
    branch: &crate::names::Branch,
) -> Result<crate::paas::Execution, End> {
    let paas = &engine.inner.paas;
    let intent = job.lock().build.as_ref().and_then(|b| b.run_intent_ms);
    if let Some(intent) = intent {
        let claimed = engine
            .inner
            .store
            .claimed_executions(job.id)
            .unwrap_or_default();
        let found = patiently(engine, job, PaasError::is_transient, || {
            paas.find_execution_since(&config.pipeline, branch.as_str(), from_ms(intent))
        })
        .await
        .map_err(|e| {
                End::Failed(format!(
                    "After a restart releasebot could not learn whether the build of {project}@{branch} had started, so it started no other. {e}"
                ))
            })?;
        if let Some(execution) = found
            .into_iter()
            .find(|e| !claimed.contains(&e.id.to_string()))
        {
            let detail = format!("found run {} sent before a restart", execution.id.name());
            started_here(engine, job, &execution, detail);
            return Ok(execution);
        }
    }
    if let Some(by) = job.cancelled_by() {
        return Err(End::Cancelled(format!(
            "Cancelled by {by} before the build started."
        )));
    }
    let now = engine.inner.clock.now_ms();
    engine
        .update_durably(job, |r| {
            r.state = JobState::Triggering;
            r.build.get_or_insert_with(Default::default).run_intent_ms = Some(now);
        })
        .map_err(|e| {
            End::Failed(format!(
                "releasebot could not record the build before starting it, so it started nothing ({e})."
            ))
        })?;
    // Only errors that prove the request never reached the PaaS are retried (an
    // ambiguous one comes back as `Unconfirmed`).
    let started = patiently(engine, job, PaasError::is_safe_to_resend, || {
        paas.run_pipeline(
            &config.pipeline,
            branch.as_str(),
            engine.inner.webhook_url.as_deref(),
        )
    })
    .await
    .map_err(|e| {
        End::Failed(format!(
            "The build of {project}@{branch} could not start. {e}"
        ))
    })?;
    started_here(engine, job, &started, format!("run {}", started.id.name()));
    Ok(started)
}

/// Records that the build this job started is `execution`.
fn started_here(
    engine: &Engine,
    job: &Arc<Job>,
    execution: &crate::paas::Execution,
    detail: String,
) {
    let now = engine.inner.clock.now_ms();
    engine.update(job, |r| {
        let b = r.build.get_or_insert_with(Default::default);
        b.observe(execution);
        b.started_here = true;
        r.state = JobState::Building;
        r.audit(now, None, AuditAction::BuildStart, detail);
    });
}

async fn follow_build(
    engine: &Engine,
    job: &Arc<Job>,
    target: &ExecutionRef,
    seen: Option<crate::paas::Execution>,
) -> Result<Built, End> {
    let name = target.execution.name();
    let since = {
        let r = job.lock();
        r.build
            .as_ref()
            .and_then(|b| b.run_intent_ms)
            .unwrap_or(r.created_ms)
    };
    let timeout = engine.inner.config.jobs.build_timeout;
    let until = deadline(engine, since, timeout);
    let mut rx = match seen {
        Some(execution) => engine.inner.watch.execution_from(target, execution),
        None => engine.inner.watch.execution(target),
    };
    let following = format!("the build {name}");
    loop {
        if let Some(execution) = observed(engine, job, rx.borrow_and_update().clone(), &following)?
        {
            let status = execution.status();
            engine.update(job, |r| {
                r.build
                    .get_or_insert_with(Default::default)
                    .observe(&execution);
                r.notice = None;
                if r.state == JobState::Triggering {
                    r.state = JobState::Building;
                }
            });
            let now = engine.inner.clock.now_ms();
            let end_build = |detail: String| {
                engine.update(job, |r| {
                    if let Some(b) = r.build.as_mut() {
                        b.finished = true;
                    }
                    r.audit(now, None, AuditAction::BuildEnd, detail);
                })
            };
            match status {
                BuildStatus::Running { .. } => {}
                BuildStatus::Succeeded => {
                    end_build(format!("{name} succeeded"));
                    return Ok(Built {
                        tag: execution.deployable_tag().map(str::to_string),
                        image: execution.docker_image.clone(),
                    });
                }
                BuildStatus::Failed { stage, message } => {
                    end_build(format!("{name} failed"));
                    let at = stage.map(|s| format!(" at stage {s}")).unwrap_or_default();
                    return Err(End::Failed(format!(
                        "The build {name} failed{at}: {message}."
                    )));
                }
                BuildStatus::Aborted { message } => {
                    end_build(format!("{name} aborted"));
                    return Err(match job.cancelled_by() {
                        Some(by) => End::Cancelled(format!(
                            "Cancelled by {by}; the build {name} was stopped."
                        )),
                        None => End::Failed(format!(
                            "The build {name} was stopped on the PaaS ({message})."
                        )),
                    });
                }
            }
        }
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return Err(End::Failed(format!("releasebot stopped following the build {name}.")));
                }
            }
            by = job.cancelled() => return Err(stop_build(engine, job, target, &by).await),
            _ = tokio::time::sleep_until(until) => {
                return Err(End::TimedOut(format!(
                    "The build {name} did not finish within {}; it may still be running on the PaaS.",
                    short_duration(timeout)
                )));
            }
        }
    }
}

/// Stops the build for a cancel, unless another job follows the same execution.
async fn stop_build(engine: &Engine, job: &Arc<Job>, target: &ExecutionRef, by: &str) -> End {
    let name = target.execution.name();
    let (started_here, execution) = {
        let r = job.lock();
        let b = r.build.clone().unwrap_or_default();
        (b.started_here, b.execution.unwrap_or_default())
    };
    if !started_here || engine.execution_shared(job.id, &execution) {
        return End::Cancelled(format!(
            "Cancelled by {by}; the build {name} goes on for the other jobs following it."
        ));
    }
    match engine.inner.paas.stop_execution(target).await {
        Ok(StopOutcome::Stopped) => {
            End::Cancelled(format!("Cancelled by {by}; the build {name} was stopped."))
        }
        Ok(StopOutcome::AlreadyFinished) => End::Cancelled(format!(
            "Cancelled by {by}; the build {name} had already finished."
        )),
        Err(e) => End::Cancelled(format!(
            "Cancelled by {by}, but the build {name} could not be stopped. {e}"
        )),
    }
}

async fn deploy(
    engine: &Engine,
    job: &Arc<Job>,
    tag: VersionTag,
    image: Option<String>,
) -> Result<(), End> {
    let app_name = job.lock().app.clone();
    let Some(app_name) = app_name else {
        // A release of a project that deploys nothing ends with its build.
        return Ok(());
    };
    let Some(app) = engine.inner.config.apps.get(&app_name).cloned() else {
        return Err(End::Failed(format!(
            "The app {app_name} is no longer configured."
        )));
    };
    let approved = job
        .lock()
        .approval
        .as_ref()
        .is_some_and(|a| matches!(a.status, ApprovalStatus::Approved { .. }));
    if app.policy.required() && !approved {
        await_approval(engine, job, &app, &tag, image).await?;
    }

    // A resumed job may hold its place already (taken in the queue's old order).
    let held = job.ticket.lock().unwrap_or_else(|e| e.into_inner()).take();
    let mut ticket = match held {
        Some(ticket) => ticket,
        None => {
            let now = engine.inner.clock.now_ms();
            engine.update(job, |r| r.queued_ms = Some(now));
            engine.inner.queues.join(&app_name, job.id)
        }
    };
    loop {
        let ahead = ticket.ahead();
        match ahead {
            None => break,
            Some(ahead) => engine.update(job, |r| {
                r.state = JobState::Queued;
                r.queued_behind = Some(ahead);
            }),
        }
        tokio::select! {
            _ = ticket.changed() => {}
            by = job.cancelled() => {
                return Err(End::Cancelled(format!("Withdrawn by {by} while queued; nothing was deployed.")));
            }
        }
    }
    if let Some(by) = job.cancelled_by() {
        return Err(End::Cancelled(format!(
            "Cancelled by {by}; nothing was deployed."
        )));
    }
    engine.update(job, |r| {
        r.queued_behind = None;
        r.state = JobState::Deploying;
        r.deploy.get_or_insert_with(|| DeployInfo {
            app_id: app.app.app.to_string(),
            ..DeployInfo::default()
        });
    });
    roll_out(engine, job, &app, &tag).await?;
    drop(ticket);
    fetch_logs(engine, job, &app).await;
    Ok(())
}

async fn await_approval(
    engine: &Engine,
    job: &Arc<Job>,
    app: &crate::config::App,
    tag: &VersionTag,
    image: Option<String>,
) -> Result<(), End> {
    let now = engine.inner.clock.now_ms();
    engine.update(job, |r| {
        r.state = JobState::AwaitingApproval;
        let requester = Actor::new(r.requester_id.clone(), r.requester.clone(), Vec::new());
        let fresh = r
            .approval
            .as_ref()
            .is_none_or(|a| a.tag != tag.as_str() || a.image != image);
        if fresh {
            r.approval = Some(Approval::new(
                app.name.as_str(),
                tag.as_str(),
                image.clone(),
                &requester,
                app.policy.clone(),
                now,
            ));
        }
    });
    engine.supersede_older(job.id, &app.name);

    let record = job.record();
    let chat = engine.inner.chat.clone();
    let (message, shown) = match record.approval_message.clone() {
        Some(m) => (m, crate::chat::Message::default()),
        None => {
            let thread = record.thread.clone().map(|t| t.thread).unwrap_or_default();
            let content = render::approval(&record);
            let posted =
                with_chat_retries("post the approval request", || chat.post(&thread, &content))
                    .await?;
            engine
                .inner
                .approval_messages
                .insert(posted.message.clone(), job.id);
            engine.update(job, |r| r.approval_message = Some(posted.clone()));
            for emoji in [APPROVE, REJECT] {
                if let Err(e) = chat.react(&posted, emoji).await {
                    tracing::debug!(error = %e, "could not add the approval reactions");
                }
            }
            (posted, content)
        }
    };
    engine
        .inner
        .approval_messages
        .insert(message.message.clone(), job.id);
    let writer = ProgressWriter::spawn(chat, message, shown, engine.inner.config.jobs.edit_window);
    writer.show(render::approval(&job.record()));
    *job.approval_writer
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(writer);

    loop {
        let (status, deadline_ms) = {
            let r = job.lock();
            match &r.approval {
                Some(a) => (a.status.clone(), a.deadline_ms),
                None => return Err(End::Failed("The approval request was lost.".into())),
            }
        };
        match status {
            ApprovalStatus::Pending => {}
            ApprovalStatus::Approved { .. } => return Ok(()),
            ApprovalStatus::Rejected { by, .. } => {
                return Err(End::Rejected(format!(
                    "Rejected by {by}; nothing was deployed."
                )));
            }
            ApprovalStatus::Expired { .. } => {
                return Err(End::TimedOut(format!(
                    "The approval request expired after {}; nothing was deployed.",
                    short_duration(app.policy.timeout)
                )));
            }
            ApprovalStatus::Superseded { by, .. } => {
                return Err(End::Cancelled(format!(
                    "Superseded by {by}; nothing was deployed."
                )));
            }
            ApprovalStatus::Cancelled { by, .. } => {
                return Err(End::Cancelled(format!(
                    "Cancelled by {by}; nothing was deployed."
                )));
            }
        }
        let until = Instant::now()
            + Duration::from_millis((deadline_ms - engine.inner.clock.now_ms()).max(0) as u64);
        tokio::select! {
            _ = job.wake.notified() => {}
            by = job.cancelled() => {
                let now = engine.inner.clock.now_ms();
                engine.update(job, |r| {
                    if let Some(a) = r.approval.as_mut() {
                        a.close(ApprovalStatus::Cancelled { by: by.clone(), at_ms: now });
                    }
                });
            }
            _ = tokio::time::sleep_until(until) => {
                let now = engine.inner.clock.now_ms();
                engine.update(job, |r| {
                    if let Some(a) = r.approval.as_mut() && a.status.is_pending() {
                        a.close(ApprovalStatus::Expired { at_ms: now });
                        r.audit(now, None, AuditAction::Expire, "no quorum before the deadline");
                    }
                });
            }
        }
    }
}

/// Upgrades the app (unless a resumed job already did) and follows the rollout.
async fn roll_out(
    engine: &Engine,
    job: &Arc<Job>,
    app: &crate::config::App,
    tag: &VersionTag,
) -> Result<(), End> {
    let paas = &engine.inner.paas;
    let upgraded = job.lock().deploy.as_ref().is_some_and(|d| d.upgraded);
    if !upgraded {
        let before = patiently(engine, job, PaasError::is_transient, || {
            paas.get_app(&app.app)
        })
        .await
        .map_err(|e| {
            End::Failed(format!(
                "releasebot could not read the app {} before deploying. {e}",
                app.name
            ))
        })?;
        // An upgrade recorded but never answered (the bot stopped in between) may have
        // been carried out: if the app moved since, it was, and it is not sent again.
        let recorded = job.lock().deploy.clone().unwrap_or_default();
        let already = recorded.upgrade_intent_ms.is_some()
            && recorded.baseline.as_ref().is_some_and(|b| {
                *b != AppMark::of(&before) || before.version_tag.as_deref() == Some(tag.as_str())
            });
        if already {
            engine.update(job, |r| {
                r.deploy.get_or_insert_with(Default::default).upgraded = true
            });
        } else {
            let now = engine.inner.clock.now_ms();
            engine
                .update_durably(job, |r| {
                    let d = r.deploy.get_or_insert_with(Default::default);
                    d.baseline = Some(AppMark::of(&before));
                    d.upgrade_intent_ms = Some(now);
                    r.audit(
                        now,
                        None,
                        AuditAction::DeployStart,
                        format!("upgrade {} to {tag}", app.app.app),
                    );
                })
                .map_err(|e| {
                    End::Failed(format!(
                        "releasebot could not record the deploy before starting it, so it deployed nothing ({e})."
                    ))
                })?;
            patiently(engine, job, PaasError::is_safe_to_resend, || {
                paas.upgrade_app(&app.app, tag.as_str(), &before)
            })
            .await
            .map_err(|e| {
                End::Failed(format!(
                    "The deploy of {tag} to {} was refused. {e}",
                    app.name
                ))
            })?;
            engine.update(job, |r| {
                r.deploy.get_or_insert_with(Default::default).upgraded = true
            });
        }
    }
    let (baseline, since) = {
        let r = job.lock();
        let d = r.deploy.clone().unwrap_or_default();
        (
            d.baseline.unwrap_or_default(),
            d.upgrade_intent_ms.unwrap_or(r.created_ms),
        )
    };
    let timeout = engine.inner.config.jobs.deploy_timeout;
    let until = deadline(engine, since, timeout);
    let mut rx = engine.inner.watch.app(&app.app);
    // Pushed changes will say what the upgrade does; otherwise look now.
    if !engine.inner.watch.is_pushing(&app.app.project) {
        engine.inner.watch.poke_app(&app.app);
    }
    let following = format!("the deploy to {}", app.name);
    loop {
        if let Some(current) = observed(engine, job, rx.borrow_and_update().clone(), &following)? {
            // Until the app differs from before the upgrade, what it shows is the old
            // rollout (the PaaS has not picked the upgrade up yet).
            let moved = AppMark::of(&current) != baseline
                || job
                    .lock()
                    .deploy
                    .as_ref()
                    .is_some_and(|d| !d.phases.is_empty());
            if moved {
                let rollout = current.rollout();
                engine.update(job, |r| {
                    r.notice = None;
                    let d = r.deploy.get_or_insert_with(Default::default);
                    match &rollout {
                        Rollout::Installing { message } => {
                            d.saw("installing");
                            d.message = message.clone();
                        }
                        Rollout::Deploying { message } => {
                            d.saw("deploying");
                            d.message = message.clone();
                        }
                        Rollout::Active => {
                            d.saw("active");
                            d.message = None;
                            d.finished = true;
                        }
                        Rollout::Failed { message } => {
                            d.saw("failed");
                            d.message = Some(message.clone());
                            d.finished = true;
                        }
                        Rollout::Other { state } => d.saw(state),
                    }
                });
                let now = engine.inner.clock.now_ms();
                match rollout {
                    Rollout::Active => {
                        engine.update(job, |r| {
                            r.audit(now, None, AuditAction::DeployEnd, format!("{tag} active"))
                        });
                        return Ok(());
                    }
                    Rollout::Failed { message } => {
                        engine.update(job, |r| {
                            r.audit(now, None, AuditAction::DeployEnd, format!("{tag} failed"))
                        });
                        return Err(End::Failed(format!(
                            "The deploy of {tag} to {} failed: {message}",
                            app.name
                        )));
                    }
                    _ => {}
                }
            }
        }
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return Err(End::Failed(format!("releasebot stopped following the deploy to {}.", app.name)));
                }
            }
            _ = tokio::time::sleep_until(until) => {
                return Err(End::TimedOut(format!(
                    "The rollout of {tag} to {} did not finish within {}.",
                    app.name,
                    short_duration(timeout)
                )));
            }
        }
    }
}

/// Pulls the deploy logs once the rollout is active. Missing logs are not a failure.
async fn fetch_logs(engine: &Engine, job: &Arc<Job>, app: &crate::config::App) {
    engine.update(job, |r| r.state = JobState::FetchingLogs);
    let excerpt = match patiently(engine, job, PaasError::is_transient, || {
        engine.inner.paas.deploy_logs(&app.app)
    })
    .await
    {
        Ok(Some(lines)) => LogExcerpt {
            lines: excerpt(engine, &lines),
            ..LogExcerpt::default()
        },
        Ok(None) => LogExcerpt {
            missing: true,
            ..LogExcerpt::default()
        },
        Err(e) => LogExcerpt {
            error: Some(format!("could not be read. {e}")),
            ..LogExcerpt::default()
        },
    };
    engine.update(job, |r| r.logs = Some(excerpt));
}

/// The last configured number of lines, redacted.
pub(super) fn excerpt(engine: &Engine, lines: &[String]) -> Vec<String> {
    // Redact everything first: a private key block may start before the last lines.
    let redacted = engine.redact(lines);
    let n = engine.inner.config.jobs.log_lines;
    let lines: Vec<String> = redacted
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

async fn finish(engine: &Engine, job: &Arc<Job>, end: Result<(), End>) {
    let now = engine.inner.clock.now_ms();
    let (state, outcome) = match end {
        Ok(()) => (JobState::Succeeded, None),
        Err(End::Failed(why)) => (JobState::Failed, Some(why)),
        Err(End::Rejected(why)) => (JobState::Rejected, Some(why)),
        Err(End::Cancelled(why)) => (JobState::Cancelled, Some(why)),
        Err(End::TimedOut(why)) => (JobState::TimedOut, Some(why)),
    };
    engine.update(job, |r| {
        r.state = state;
        r.outcome = outcome.clone();
        r.notice = None;
        r.queued_behind = None;
        r.ended_ms = Some(now);
        if let Some(a) = r.approval.as_mut() {
            a.close(ApprovalStatus::Cancelled {
                by: "releasebot".into(),
                at_ms: now,
            });
        }
    });
    let record = job.record();
    tracing::info!(job = %record.id, kind = record.kind.as_str(), state = state.as_str(), outcome = outcome.as_deref().unwrap_or(""), "job ended");
    let progress = job
        .progress
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(writer) = progress {
        writer.finish(render::progress(&record)).await;
    }
    let approval = job
        .approval_writer
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(writer) = approval {
        writer.finish(render::approval(&record)).await;
    }
    if let Some(thread) = &record.thread {
        let summary = render::summary(&record);
        let chat = engine.inner.chat.clone();
        if let Err(End::Failed(e)) = with_chat_retries("update the summary", || {
            chat.edit(&thread.summary, &summary)
        })
        .await
        {
            tracing::warn!(job = %record.id, error = %e, "summary not updated");
        }
    }
    engine.finish(record);
}
