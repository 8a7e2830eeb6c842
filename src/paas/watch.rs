//! One watcher per PaaS object, however many jobs follow it.
//!
//! A watcher polls its execution or app and publishes what it sees on a
//! `tokio::sync::watch` channel; every job following the object holds a receiver. It
//! costs at most one request per poll interval whatever happens (changes, followers
//! coming and going): polls are one interval apart, stretched by up to a tenth at
//! random so that watchers started together drift apart, and never hurried by what
//! they saw. A change is thus seen within the interval (and a tenth) of happening. It
//! backs off while the PaaS fails and stops when its last follower leaves. Only what
//! comes from outside makes it look sooner: a follower with nothing to show yet (or a
//! push connection that opened or closed) makes it poll at once; a webhook call only
//! *nudges* it, bringing the next poll forward to no sooner than a floor after the last
//! one, and never through an error back-off, so a flood of calls costs at most one
//! poll per floor; a pushed resource (the subscribe WebSocket) is published without
//! polling at all.

use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::paas::{
    App, AppRef, Execution, ExecutionId, ExecutionRef, PaasClient, PaasError, ProjectRef,
};

/// What a watcher last learned about its object.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed<T> {
    /// Nothing yet.
    Pending,
    /// A reading, with its number among this watcher's readings: every poll (and
    /// every pushed change) is a new reading, even when the object did not change.
    Seen(T, u64),
    /// The last `failures` polls failed with transient errors; polling goes on.
    Trouble { error: PaasError, failures: u32 },
    /// Polling stopped: the PaaS refused in a way retrying cannot fix.
    Fatal(PaasError),
}

/// How often watchers poll.
#[derive(Debug, Clone, Copy)]
pub struct WatchSettings {
    pub interval: Duration,
    /// The slower safety-net interval while changes are pushed.
    pub push_interval: Duration,
    /// The longest wait between polls while the PaaS fails.
    pub max_backoff: Duration,
}

/// The shortest gap a nudge leaves between two polls of one object, `[1 s, 5 s]`.
const NUDGE_FLOOR_MIN: Duration = Duration::from_secs(1);
const NUDGE_FLOOR_MAX: Duration = Duration::from_secs(5);

/// How soon after a poll a nudge (a webhook call) may bring the next one: a fifth of
/// the interval, so that calls from outside, however many, cost at most five times the
/// steady rate; at least a second, since a progress message is edited at most once a
/// second anyway and a build's stages are seconds apart; at most five seconds, so that
/// a long interval (set to spare the PaaS where its webhook says when to look) still
/// learns of a change within seconds of the call.
fn nudge_floor(interval: Duration) -> Duration {
    (interval / 5).clamp(NUDGE_FLOOR_MIN, NUDGE_FLOOR_MAX)
}

pub(crate) struct Slot<T> {
    tx: watch::Sender<Observed<T>>,
    /// Poll now (a follower with nothing to show yet, a push connection that changed).
    poke: Notify,
    /// Poll sooner, but not sooner than the floor after the last poll (a webhook call).
    nudge: Notify,
    /// Readings published so far.
    readings: AtomicU64,
    /// When the latest reading was made (polled, pushed, or handed over as seen).
    read_at: std::sync::Mutex<Option<Instant>>,
}

impl<T: Clone> Slot<T> {
    /// Publishes a new reading to every follower.
    fn publish(&self, value: T) {
        let n = self.readings.fetch_add(1, Ordering::Relaxed) + 1;
        *self.read_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        self.tx.send_replace(Observed::Seen(value, n));
    }

    /// The latest reading, if it was made less than `age` ago.
    fn fresh(&self, age: Duration) -> Option<T> {
        let at = (*self.read_at.lock().unwrap_or_else(|e| e.into_inner()))?;
        if at.elapsed() >= age {
            return None;
        }
        match &*self.tx.borrow() {
            Observed::Seen(value, _) => Some(value.clone()),
            _ => None,
        }
    }
}

/// Something a watcher can follow.
pub(crate) trait Watched: Clone + PartialEq + Send + Sync + 'static {
    type Key: Clone + Eq + Hash + Display + Send + Sync + 'static;
    fn fetch(
        paas: &PaasClient,
        key: &Self::Key,
    ) -> impl Future<Output = Result<Self, PaasError>> + Send;
    /// The Rancher project the object lives in.
    fn project(key: &Self::Key) -> &ProjectRef;
    /// The object will not change any more (a finished build).
    fn is_final(&self) -> bool;
    fn slots(hub: &WatchHub) -> &DashMap<Self::Key, Arc<Slot<Self>>>;
}

impl Watched for Execution {
    type Key = ExecutionRef;
    fn fetch(
        paas: &PaasClient,
        key: &ExecutionRef,
    ) -> impl Future<Output = Result<Self, PaasError>> + Send {
        paas.get_execution(key)
    }
    fn project(key: &ExecutionRef) -> &ProjectRef {
        &key.project
    }
    fn is_final(&self) -> bool {
        // A success whose tag is still to come is not over yet.
        match self.status() {
            crate::paas::BuildStatus::Succeeded => self.deployable_tag().is_some(),
            status => status.is_final(),
        }
    }
    fn slots(hub: &WatchHub) -> &DashMap<ExecutionRef, Arc<Slot<Self>>> {
        &hub.executions
    }
}

impl Watched for App {
    type Key = AppRef;
    fn fetch(
        paas: &PaasClient,
        key: &AppRef,
    ) -> impl Future<Output = Result<Self, PaasError>> + Send {
        paas.get_app(key)
    }
    fn project(key: &AppRef) -> &ProjectRef {
        &key.project
    }
    fn is_final(&self) -> bool {
        // An app lives on; its watcher ends when nobody follows it.
        false
    }
    fn slots(hub: &WatchHub) -> &DashMap<AppRef, Arc<Slot<Self>>> {
        &hub.apps
    }
}

/// All watchers.
pub struct WatchHub {
    paas: PaasClient,
    settings: WatchSettings,
    executions: DashMap<ExecutionRef, Arc<Slot<Execution>>>,
    apps: DashMap<AppRef, Arc<Slot<App>>>,
    /// Projects whose subscribe WebSocket delivers changes: poll them only as a safety net.
    pushing: DashMap<ProjectRef, ()>,
    polls: AtomicU64,
}

impl WatchHub {
    pub fn new(paas: PaasClient, settings: WatchSettings) -> Arc<Self> {
        Arc::new(WatchHub {
            // Polling is the retry: a failed poll is tried again at the next one.
            paas: paas.once(),
            settings,
            executions: DashMap::new(),
            apps: DashMap::new(),
            pushing: DashMap::new(),
            polls: AtomicU64::new(0),
        })
    }

    /// Follows an execution.
    pub fn execution(self: &Arc<Self>, key: &ExecutionRef) -> watch::Receiver<Observed<Execution>> {
        self.subscribe::<Execution>(key)
    }

    /// Follows an app.
    pub fn app(self: &Arc<Self>, key: &AppRef) -> watch::Receiver<Observed<App>> {
        self.subscribe::<App>(key)
    }

    /// Follows an app just read (the baseline of an upgrade): a watcher started for it
    /// begins from that reading, so its first poll is a whole interval later.
    pub fn app_from(self: &Arc<Self>, key: &AppRef, seen: App) -> watch::Receiver<Observed<App>> {
        self.subscribe_from(key, Some(seen))
    }

    /// What the app's watcher read less than an interval ago, if it did: as good as a
    /// read of its own, which would cost the PaaS a request.
    pub fn fresh_app(&self, key: &AppRef) -> Option<App> {
        let slot = self.apps.get(key)?;
        slot.fresh(self.interval(&key.project))
    }

    /// Makes the watcher of an app poll now.
    pub fn poke_app(&self, key: &AppRef) -> bool {
        self.poke::<App>(key)
    }

    /// Publishes a pushed execution to its followers, if it has any.
    pub fn offer_execution(&self, key: &ExecutionRef, value: Execution) -> bool {
        self.offer(key, value)
    }

    /// Publishes a pushed app to its followers, if it has any.
    pub fn offer_app(&self, key: &AppRef, value: App) -> bool {
        self.offer(key, value)
    }

    /// Switches a project between polling at the normal interval and the safety-net
    /// interval (while its changes are pushed).
    pub fn set_pushing(&self, project: &ProjectRef, pushing: bool) {
        if pushing {
            self.pushing.insert(project.clone(), ());
        } else {
            self.pushing.remove(project);
        }
    }

    /// Makes every watcher of a project poll now (after a push connection opened or
    /// closed, changes may have been missed).
    pub fn poke_project(&self, project: &ProjectRef) {
        for slot in self
            .executions
            .iter()
            .filter(|s| &s.key().project == project)
        {
            slot.poke.notify_one();
        }
        for slot in self.apps.iter().filter(|s| &s.key().project == project) {
            slot.poke.notify_one();
        }
    }

    /// Nudges the watchers of executions with this id (a webhook call named it): each
    /// polls sooner, no sooner than its floor after its last poll, and not while it
    /// backs off; false if none is watched.
    pub fn nudge_execution_id(&self, id: &ExecutionId) -> bool {
        let mut nudged = false;
        for slot in self.executions.iter().filter(|s| &s.key().execution == id) {
            slot.nudge.notify_one();
            nudged = true;
        }
        nudged
    }

    /// Nudges every execution watcher (a webhook call that names none); how many there
    /// are.
    pub fn nudge_all_executions(&self) -> usize {
        self.executions
            .iter()
            .map(|slot| slot.nudge.notify_one())
            .count()
    }

    /// The objects being watched now (executions, apps).
    pub fn watched(&self) -> (usize, usize) {
        (self.executions.len(), self.apps.len())
    }

    /// Every project with something watched, for the push connections.
    pub fn watched_projects(&self) -> Vec<crate::paas::ProjectRef> {
        let mut projects: Vec<_> = self
            .executions
            .iter()
            .map(|e| e.key().project.clone())
            .chain(self.apps.iter().map(|a| a.key().project.clone()))
            .collect();
        projects.sort();
        projects.dedup();
        projects
    }

    /// Polls made so far.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    fn subscribe<T: Watched>(self: &Arc<Self>, key: &T::Key) -> watch::Receiver<Observed<T>> {
        self.subscribe_from(key, None)
    }

    /// Follows an execution already seen (in the run request's answer): its watcher
    /// starts from that value and need not poll at once.
    pub fn execution_from(
        self: &Arc<Self>,
        key: &ExecutionRef,
        seen: Execution,
    ) -> watch::Receiver<Observed<Execution>> {
        self.subscribe_from(key, Some(seen))
    }

    fn subscribe_from<T: Watched>(
        self: &Arc<Self>,
        key: &T::Key,
        seen: Option<T>,
    ) -> watch::Receiver<Observed<T>> {
        let slots = T::slots(self);
        let slot = slots.entry(key.clone()).or_insert_with(|| {
            let initial = match &seen {
                Some(v) => Observed::Seen(v.clone(), 1),
                None => Observed::Pending,
            };
            let slot = Arc::new(Slot {
                tx: watch::channel(initial).0,
                poke: Notify::new(),
                nudge: Notify::new(),
                read_at: std::sync::Mutex::new(seen.is_some().then(Instant::now)),
                readings: AtomicU64::new(u64::from(seen.is_some())),
            });
            tokio::spawn(run::<T>(
                self.clone(),
                key.clone(),
                slot.clone(),
                seen.clone(),
            ));
            slot
        });
        slot.tx.subscribe()
    }

    /// Whether a project's changes are being pushed.
    pub fn is_pushing(&self, project: &ProjectRef) -> bool {
        self.pushing.contains_key(project)
    }

    fn poke<T: Watched>(&self, key: &T::Key) -> bool {
        match T::slots(self).get(key) {
            Some(slot) => {
                slot.poke.notify_one();
                true
            }
            None => false,
        }
    }

    fn offer<T: Watched>(&self, key: &T::Key, value: T) -> bool {
        match T::slots(self).get(key) {
            Some(slot) => {
                slot.publish(value);
                true
            }
            None => false,
        }
    }

    /// Removes a watcher that nobody follows; false if someone started following it.
    fn retire<T: Watched>(&self, key: &T::Key, slot: &Arc<Slot<T>>) -> bool {
        T::slots(self)
            .remove_if(key, |_, s| {
                Arc::ptr_eq(s, slot) && s.tx.receiver_count() == 0
            })
            .is_some()
    }

    fn interval(&self, project: &ProjectRef) -> Duration {
        if self.pushing.contains_key(project) {
            self.settings.push_interval
        } else {
            self.settings.interval
        }
    }
}

/// Stretches a wait by up to a tenth: never shorter, so never more than one poll per
/// interval.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(1.0 + fastrand::f64() * 0.1)
}

async fn run<T: Watched>(hub: Arc<WatchHub>, key: T::Key, slot: Arc<Slot<T>>, seen: Option<T>) {
    // Starting from a value just seen, the first poll can wait a whole interval.
    let mut delay = match &seen {
        Some(_) => hub.interval(T::project(&key)),
        None => Duration::ZERO,
    };
    // The value seen counts as a poll for the floor.
    let mut last_poll = Instant::now();

    let mut failures = 0u32;
    loop {
        if !delay.is_zero() {
            // While backing off, a nudge waits like everything else: the PaaS is failing.
            let floor =
                (failures == 0).then(|| last_poll + nudge_floor(hub.interval(T::project(&key))));
            wait(&slot, Instant::now() + jitter(delay), floor).await;
        }
        if slot.tx.receiver_count() == 0 && hub.retire(&key, &slot) {
            return;
        }
        hub.polls.fetch_add(1, Ordering::Relaxed);
        last_poll = Instant::now();
        let base = hub.interval(T::project(&key));
        match T::fetch(&hub.paas, &key).await {
            Ok(value) => {
                failures = 0;
                // A pushed value may already be published: compare with what followers saw.
                slot.publish(value.clone());
                let done = value.is_final();
                if done {
                    // Keep the final value for late followers until the last one leaves.
                    loop {
                        slot.tx.closed().await;
                        if hub.retire(&key, &slot) {
                            return;
                        }
                    }
                }
                // The next look is a whole interval on: a change does not make the
                // next one come sooner (that doubled the cost of a changing object).
                delay = base;
            }
            Err(error) if error.is_transient() => {
                failures += 1;
                tracing::debug!(object = %key, %error, failures, "poll failed");
                slot.tx.send_replace(Observed::Trouble { error, failures });
                delay = base
                    .saturating_mul(1 << failures.min(6))
                    .min(hub.settings.max_backoff.max(base));
            }
            Err(error) => {
                tracing::warn!(object = %key, %error, "stopped watching");
                slot.tx.send_replace(Observed::Fatal(error));
                loop {
                    slot.tx.closed().await;
                    if hub.retire(&key, &slot) {
                        return;
                    }
                }
            }
        }
    }
}

/// Waits until the next poll: `due`, or at once when poked or when nobody follows any
/// more; a nudge brings `due` forward to `floor` (`None`: nudges wait for `due`). A
/// nudge taken before `floor` still counts: the poll then comes at `floor`.
async fn wait<T>(slot: &Slot<T>, mut due: Instant, floor: Option<Instant>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(due) => return,
            _ = slot.poke.notified() => return,
            _ = slot.tx.closed() => return,
            _ = slot.nudge.notified(), if floor.is_some() => {
                if let Some(floor) = floor {
                    due = due.min(floor);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
