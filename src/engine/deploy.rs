//! The deploy steps: learn what runs now, ask for approval, wait for the app's turn,
//! upgrade (recorded first), follow the rollout until the PaaS shows the new one done,
//! and read the deploy logs.

use super::driver::Driver;
use crate::chat::paced::Urgency;
use crate::chat::retrying;
use crate::chat::{APPROVE, Chat, REJECT};
use crate::job::machine::{Event, LogsRead};
use crate::job::{ChatStep, Outcome, PaasStep};
use crate::paas::AppRef;
use crate::paas::watch::Observed;
use crate::render;

impl Driver {
    /// The app the job deploys to, while it is configured.
    fn app(&self) -> Option<crate::config::App> {
        let r = self.job.lock();
        let app = r.spec.app()?;
        self.engine.inner.config.apps.get(app).cloned()
    }

    /// Holds the app's turn (a place in its deploy queue), joining it if need be.
    fn hold_turn(&self) -> Option<crate::turns::QueueTicket> {
        let app = self.app()?;
        let held = self.job.handles().ticket.take();
        Some(held.unwrap_or_else(|| self.engine.inner.queues.join(&app.name, self.job.id)))
    }

    /// Keeps the app's turn for the rest of the deploy.
    fn keep_turn(&self) {
        if let Some(ticket) = self.hold_turn() {
            self.job.handles().ticket = Some(ticket);
        }
    }

    /// Follows the app from `rx`, counting only readings after the one it shows now
    /// (which may predate the upgrade).
    fn follow_app(
        &mut self,
        app: AppRef,
        rx: tokio::sync::watch::Receiver<Observed<crate::paas::App>>,
    ) {
        let seen = match &*rx.borrow() {
            Observed::Seen(_, seq) => *seq,
            _ => 0,
        };
        self.apps = Some((app, rx, seen));
    }
}

/// What the app shows now, read at most once per poll interval whoever asks: the
/// watcher's reading or this job's own when either is younger than an interval, a
/// request to the PaaS otherwise (kept for the next ask).
async fn read_app(
    d: &mut Driver,
    app: &AppRef,
    paas: &crate::paas::PaasClient,
) -> Result<crate::paas::App, crate::paas::PaasError> {
    let watch = &d.engine.inner.watch;
    if let Some(fresh) = watch.fresh_app(app) {
        return Ok(fresh);
    }
    let interval = d.engine.inner.config.jobs.poll_interval;
    // A job deploys one app, so what it read is that app.
    if let Some((at, read)) = d.app_read.take()
        && at.elapsed() < interval
    {
        d.app_read = Some((at, read.clone()));
        return Ok(read);
    }
    let read = paas.get_app(app).await?;
    d.app_read = Some((tokio::time::Instant::now(), read.clone()));
    Ok(read)
}

/// Reads what the app runs now, so messages can say what the deploy changes: the
/// domain's rule decides from the PaaS's word and the app's history
/// ([`crate::job::incident::running_now`]); then the builds between it and the tag
/// deployed ([`crate::job::changes`]).
pub(super) async fn look_up_current(d: &mut Driver) {
    let Some(app) = d.app() else { return };
    let paas = d.engine.inner.paas.clone();
    let live = read_app(d, &app.rancher, &paas).await;
    let tag = d.engine.running_given(&app.name, live).await;
    let to = d.record().deploy.map(|deploy| deploy.tag.to_string());
    let changes = d
        .engine
        .changes(&app.name, tag.as_deref(), to.as_deref())
        .await;
    d.apply(Event::ChangesFound(changes)).await;
    d.apply(Event::CurrentFound(tag)).await;
}

/// Posts the approval request, mentioning the approvers, with ✅ and ❌ to react
/// with; older pending requests for the same app are superseded by this one.
pub(super) async fn request_approval(d: &mut Driver) {
    let r = d.record();
    for app in r.spec.apps() {
        d.engine.supersede_older(r.id, app).await;
    }
    let Some(thread) = r.messages.thread.clone() else {
        return;
    };
    let chat = d.engine.inner.chat.clone();
    let content = render::approval(&r, &d.engine.inner.view);
    // Approvers are waited on: the request goes before progress and new threads.
    let posted = match retrying(|| chat.post_as(&thread.thread, &content, Urgency::Decisive)).await
    {
        Ok(posted) => posted,
        Err(e) => return d.chat_failed(ChatStep::PostApproval, e).await,
    };
    d.engine
        .inner
        .jobs
        .note_approval_message(&posted.message, r.id);
    d.apply(Event::ApprovalPosted(posted.clone())).await;
    for emoji in [APPROVE, REJECT] {
        if let Err(e) = chat.react(&posted, emoji).await {
            tracing::debug!(error = %e, "could not add the approval reactions");
        }
    }
    d.keep(super::messages::Kept::Approval, posted, content);
}

/// Waits for the app's earlier deploys, saying whom the job waits for.
pub(super) async fn await_turn(d: &mut Driver) {
    let Some(mut ticket) = d.hold_turn() else {
        return;
    };
    let ahead = ticket.ahead();
    d.apply(Event::QueueAhead(ahead)).await;
    if ahead.is_some() {
        tokio::select! {
            _ = ticket.changed() => {}
            _ = d.job.wake.notified() => {}
        }
    }
    d.job.handles().ticket = Some(ticket);
}

/// Reads the app, records the intent with what the app shows (the baseline the
/// rollout is judged against), then sends the upgrade.
pub(super) async fn upgrade(d: &mut Driver) {
    let Some(app) = d.app() else { return };
    let Some(tag) = d.record().deploy_tag().cloned() else {
        return;
    };
    d.keep_turn();
    let paas = d.engine.inner.paas.patient();
    let before = match read_app(d, &app.rancher, &paas).await {
        Ok(before) => before,
        Err(e) => {
            return d.paas_failed(PaasStep::ReadApp, e).await;
        }
    };
    if d.record().cancel.is_some() {
        return;
    }
    let baseline = before.snapshot();
    if let Err(e) = d.apply_durably(Event::UpgradeIntended { baseline }).await {
        return d
            .fail(Outcome::NotRecorded {
                step: PaasStep::Upgrade,
                error: e.to_string(),
            })
            .await;
    }
    // The app is followed from the reading the upgrade is judged against: a watcher
    // started for it polls an interval later, not at once.
    let rx = d.engine.inner.watch.app_from(&app.rancher, before.clone());
    d.follow_app(app.rancher.clone(), rx);
    d.app_read = None;
    match paas.upgrade_app(&app.rancher, tag.as_str(), &before).await {
        Ok(answer) => {
            d.apply(Event::UpgradeSent {
                answer: answer.as_ref().map(crate::paas::App::snapshot),
            })
            .await
        }
        Err(e) => d.paas_failed(PaasStep::Upgrade, e).await,
    }
}

/// After a restart between recording an upgrade and learning its answer: reads the
/// app, which says whether it was carried out.
pub(super) async fn recover_upgrade(d: &mut Driver) {
    let Some(app) = d.app() else { return };
    d.keep_turn();
    match d.engine.inner.paas.patient().get_app(&app.rancher).await {
        Ok(now) => d.apply(Event::UpgradeChecked(now.snapshot())).await,
        Err(e) => d.paas_failed(PaasStep::ReadApp, e).await,
    }
}

/// Takes in what the app's watcher shows (only readings made after the upgrade), then
/// waits for news, a deadline, or the end of a settle window (when the app is read
/// afresh).
pub(super) async fn follow_rollout(d: &mut Driver, wake_ms: i64, poke_ms: Option<i64>) {
    let Some(app) = d.app() else { return };
    let target: AppRef = app.rancher.clone();
    let watch = d.engine.inner.watch.clone();
    // After a restart the app is followed afresh; otherwise since the upgrade. The
    // watcher polls at its interval: nothing here makes it read the app sooner.
    let fresh = d.apps.as_ref().is_none_or(|(key, _, _)| *key != target);
    if fresh {
        d.follow_app(target.clone(), watch.app(&target));
    }
    let Some(mut rx) = d.apps.as_ref().map(|(_, rx, _)| rx.clone()) else {
        return;
    };
    // A new reading is taken in, and the job decides again what to wait for.
    if fresh || rx.has_changed().unwrap_or(false) {
        return take_reading(d).await;
    }
    // At the end of a settle window a pushed app is read afresh, once: pushes come only
    // with changes, and one that stays active sends none. A polled app is read at its
    // next poll, which comes within the interval anyway.
    let poke = poke_ms
        .filter(|p| d.poked != Some(*p))
        .filter(|_| watch.is_pushing(&target.project));
    let poke_at = d.instant(poke.unwrap_or(wake_ms));
    let until = d.instant(wake_ms);
    tokio::select! {
        changed = rx.changed() => match changed {
            Ok(()) => take_reading(d).await,
            Err(_) => {
                d.apps = None;
                d.paas_failed(PaasStep::FollowRollout, "the watcher stopped").await;
            }
        },
        _ = d.job.wake.notified() => {}
        _ = tokio::time::sleep_until(poke_at), if poke.is_some() => {
            d.poked = poke;
            watch.poke_app(&target);
        }
        _ = tokio::time::sleep_until(until) => {}
    }
}

/// Takes in the app's watcher's latest reading, if it was made after the upgrade.
async fn take_reading(d: &mut Driver) {
    let Some((_, rx, after)) = d.apps.as_mut() else {
        return;
    };
    let observed = rx.borrow_and_update().clone();
    let after = *after;
    // Only readings made after the upgrade count.
    let seen = |app: crate::paas::App, seq| (seq > after).then(|| Event::AppSeen(app.snapshot()));
    let alive = d.observed(observed, PaasStep::FollowRollout, seen).await;
    let r = d.record();
    if !alive || r.state.is_final() || r.deploy.as_ref().is_some_and(|x| x.rollout.done) {
        d.apps = None;
    }
}

/// Reads the deploy logs at `at_ms`. A missing endpoint is "no logs", never a failed
/// deploy.
///
/// The app's turn is held through the first read, so those logs are this deploy's;
/// later reads (the logs keep growing for a while) stop once another deploy of the
/// app has the turn, whose pods the logs would show next.
pub(super) async fn fetch_logs(d: &mut Driver, at_ms: i64) {
    tokio::time::sleep_until(d.instant(at_ms)).await;
    let Some(app) = d.app() else { return };
    let first = d.job.lock().logs.is_none();
    let turn = d.engine.inner.queues.front(&app.name);
    if !crate::job::record::logs_still_ours(first, turn, d.job.id) {
        d.apply(Event::LogsRead(LogsRead::Superseded)).await;
        return;
    }
    let read = match d.engine.inner.paas.deploy_logs(&app.rancher).await {
        Ok(Some(lines)) => LogsRead::Lines(crate::job::record::log_excerpt(
            &lines,
            d.engine.inner.config.jobs.log_lines,
        )),
        Ok(None) => LogsRead::Missing,
        Err(e) => LogsRead::Error(e.to_string()),
    };
    d.apply(Event::LogsRead(read)).await;
    d.job.handles().ticket.take();
}
