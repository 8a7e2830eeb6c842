//! A release to several apps performs its legs ([`crate::job::legs`]): each is a
//! deploy job started through the one start path, with the release's requester, tag
//! and image; the release follows them through the jobs' change signal.

use super::driver::Driver;
use super::{Engine, JobRequest, StartError, Started};
use crate::chat::Actor;
use crate::job::legs;
use crate::job::machine::Event;
use crate::job::{JobRecord, Outcome, PaasStep};
use crate::names::{AppName, JobId};

/// How far back an app's history is read for a leg started before a restart.
const LOOK_BACK: usize = 20;

/// Starts the leg at `index`, unless it was started before a restart the release did
/// not record: then it follows that one.
pub(super) async fn start(d: &mut Driver, index: usize) {
    let r = d.record();
    let Some(l) = &r.legs else { return };
    let Some(leg) = l.apps.get(index) else { return };
    if let Some(job) = d.engine.leg_started(r.id, &leg.app).await {
        d.apply(Event::LegStarted { index, job }).await;
        return;
    }
    let Some(spec) = legs::leg_spec(&r, &leg.app, &l.tag) else {
        return;
    };
    let actor = Actor::new(r.requester.id.clone(), r.requester.name.clone(), Vec::new());
    let request = JobRequest {
        actor: &actor,
        channel: &r.channel,
        origin: None,
        spec,
        freeze_override: r.freeze_override.as_ref().map(|o| o.reason.as_str()),
    };
    let failed = match d.engine.start(request).await {
        Ok(Started::New(job) | Started::Existing(job)) => {
            // Recorded before the next leg starts; a restart in between finds it.
            if let Err(e) = d.apply_durably(Event::LegStarted { index, job }).await {
                tracing::warn!(error = %e, "cannot record a started leg; it is found again after a restart");
            }
            return;
        }
        // Stopping: the next start resumes the release here.
        Err(StartError::Stopping) => return,
        // A freeze, or another person's lock, that began while the release ran.
        Err(StartError::Frozen { app, frozen }) => frozen.now(&app).refusal(),
        Err(StartError::NotRecorded(e)) => Outcome::NotRecorded {
            step: PaasStep::Upgrade,
            error: e.to_string(),
        },
    };
    d.fail(Outcome::LegFailed {
        app: leg.app.clone(),
        job: None,
        outcome: Box::new(failed),
    })
    .await;
}

/// Takes in the legs' records as they stand; when nothing changed, waits until some
/// job changes (or the release is asked something).
pub(super) async fn wait(d: &mut Driver) {
    let changed = d.engine.inner.jobs.changed.notified();
    tokio::pin!(changed);
    changed.as_mut().enable();
    let before = d.record().legs;
    let ids: Vec<JobId> = before
        .iter()
        .flat_map(|l| &l.apps)
        .filter_map(|leg| leg.job)
        .collect();
    let mut records = Vec::new();
    for id in ids {
        if let Some(r) = d.engine.job_record(id).await {
            records.push(r);
        }
    }
    d.apply(Event::LegsSeen(records)).await;
    if d.record().legs != before {
        return;
    }
    tokio::select! {
        _ = changed => {}
        _ = d.job.wake.notified() => {}
    }
}

impl Engine {
    /// The leg of `release` deploying `app`, if one was started: live, recent, or in
    /// the app's history.
    async fn leg_started(&self, release: JobId, app: &AppName) -> Option<JobId> {
        if let Some(job) = self.inner.jobs.first(|r| legs::is_leg(r, release, app)) {
            return Some(job);
        }
        if let Some(r) = self
            .inner
            .jobs
            .recent_all()
            .into_iter()
            .find(|r| legs::is_leg(r, release, app))
        {
            return Some(r.id);
        }
        let past = self.inner.store.history(app.as_str(), LOOK_BACK).await;
        past.ok()?
            .into_iter()
            .find(|r| legs::is_leg(r, release, app))
            .map(|r| r.id)
    }

    /// Asks the legs of a release to stop where they safely can (before their
    /// upgrade), as a cancel of the release does.
    pub(super) async fn cancel_legs(&self, release: &JobRecord, by: &str) {
        let now = self.now();
        for id in release
            .legs
            .iter()
            .flat_map(|l| &l.apps)
            .filter_map(|l| l.job)
        {
            let Some(job) = self.inner.jobs.get(id) else {
                continue;
            };
            let _ = self
                .update(&job, |r| crate::job::decisions::cancel(r, by, now))
                .await;
            job.wake.notify_one();
        }
    }
}
