//! A Rancher-compatible PaaS simulator, for the bot's tests, its benchmarks and
//! users' demos.
//!
//! It serves the endpoints the PaaS client uses with JSON shaped as `docs/paas.md`
//! describes: pipeline runs that go through Initialized → Provisioned → Built with
//! the `Clone` stage Rancher prepends, stages that lose their `state` after a failure,
//! the misleading derived `state`, the in-house `dockerImage`/`versionTag`, apps that
//! go installing → deploying → active (or fail with a helm error), deploy logs in
//! every accepted shape, Bearer auth with Rancher's odd 401 body, norman error bodies
//! and the `stop` action. Faults (5xx, HTML 502s, 429s, 409 conflicts, slow or
//! truncated responses, an outage) are injected per object, at random or one at a
//! time.
//!
//! By default it is kinder than a real Rancher. Scenario knobs make it less so, to
//! show the bot copes: apps in other flavours ([`AppFlavour`]: only `state` and
//! `conditions`, or stock Rancher's late pick-up and early `active`), apps failed
//! before, apps without `upgradeoutter`, runs that answer late or 500 after creating
//! the execution, an unknown `executionState`, late image fields, growing logs or
//! logs under an unknown key, `next` links on an internal URL. What truly happened
//! is kept for tests to compare with what the bot reported: [`Simulator::rollouts`],
//! [`Simulator::log_reads`], [`Simulator::timeline`].
//!
//! Its clock is simulated time = tokio time × `speed` + whatever tests advance it by,
//! so a test on tokio's paused clock, or one that calls [`Simulator::advance`], runs a
//! 10-minute build in milliseconds.

mod app;
mod clock;
mod execution;
mod fault;
#[cfg(test)]
mod http_tests;
mod listener;
mod model;
mod push;
mod record;
pub mod scenario;
mod server;
mod tcp_proxy;

pub use tcp_proxy::TcpProxy;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use app::RolloutRecord;
pub use fault::{Fault, InjectedFault, Route};
pub use record::{ObjectEvents, SimStats, TimedEvent, Timeline};
pub use scenario::{
    AppFlavour, AppScenario, CommitSpec, Faults, LogShape, PipelineScenario, Scenario,
    ScenarioError, StageSpec,
};

use crate::secret::Secret;
use app::SimApp;
use clock::SimClock;
use execution::SimExecution;

pub(crate) struct SimPipeline {
    pub spec: PipelineScenario,
    pub executions: BTreeMap<u64, SimExecution>,
    pub next_run: u64,
}

/// Everything that changes, behind one lock that is never held across an await.
pub(crate) struct SimState {
    pub global_faults: Faults,
    pub page_size: usize,
    /// Keyed by (`c-64wdm:p-5tfq9`, `p-tpk2x`).
    pub pipelines: HashMap<(String, String), SimPipeline>,
    /// Keyed by (`c-64wdm:p-5tfq9`, `project-deploy`).
    pub apps: HashMap<(String, String), SimApp>,
    pub rng: fastrand::Rng,
    pub stats: SimStats,
    pub injected: Vec<InjectedFault>,
}

pub(crate) struct Shared {
    pub token: Secret,
    pub clock: SimClock,
    pub base_url: String,
    /// The base of `pagination.next` links, when not `base_url`.
    pub next_base_url: Option<String>,
    state: Mutex<SimState>,
    down: watch::Sender<bool>,
    down_flag: Arc<AtomicBool>,
    /// Rings when something changed other than by the passing of time (an action, a
    /// clock advance), so pushers look again.
    pub changed: tokio::sync::Notify,
    /// Rings to drop every subscribe connection.
    pub drop_subscriptions: tokio::sync::Notify,
    pub subscribe: bool,
    pub subscribe_max: Duration,
    pub http: reqwest::Client,
}

impl Shared {
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A handle on a running simulator: drive its clock, change its scenario, inject
/// faults, read what it saw. Cheap to clone.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

impl Simulator {
    /// Moves simulated time forward at once.
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
        self.shared.changed.notify_waiters();
    }

    /// Drops every open subscribe connection, as Rancher does every half hour.
    pub fn drop_subscriptions(&self) {
        self.shared.drop_subscriptions.notify_waiters();
    }

    /// The simulated wall-clock time.
    pub fn now(&self) -> SystemTime {
        self.shared.clock.epoch + self.shared.clock.now()
    }

    pub fn stats(&self) -> SimStats {
        self.shared.state().stats.clone()
    }

    /// Every change so far, with when it happened.
    pub fn timeline(&self) -> Timeline {
        let clock = &self.shared.clock;
        let now = clock.now();
        let at = |t: Duration| crate::clock::to_ms(clock.wall_of(t));
        let state = self.shared.state();
        let mut timeline = Timeline::default();
        for p in state.pipelines.values() {
            for e in p.executions.values() {
                timeline.executions.push(ObjectEvents {
                    id: e.id(),
                    tag: None,
                    reads_ms: Vec::new(),
                    events: e
                        .events(now)
                        .into_iter()
                        .map(|(t, shows)| TimedEvent {
                            at_ms: at(t),
                            shows,
                        })
                        .collect(),
                });
            }
        }
        for a in state.apps.values() {
            let reads = a.upgrade_reads();
            for (i, (tag, events)) in a.upgrade_events(now).into_iter().enumerate() {
                timeline.upgrades.push(ObjectEvents {
                    id: a.id(),
                    tag: Some(tag),
                    reads_ms: reads
                        .get(i)
                        .map(|r| r.iter().map(|t| at(*t)).collect())
                        .unwrap_or_default(),
                    events: events
                        .into_iter()
                        .map(|(t, shows)| TimedEvent {
                            at_ms: at(t),
                            shows: shows.to_string(),
                        })
                        .collect(),
                });
            }
        }
        timeline
    }

    /// How every upgrade of an app (`p-5tfq9:project-deploy`) truly went so far, in
    /// the order they were accepted. Empty for an unknown app.
    pub fn rollouts(&self, app_id: &str) -> Vec<RolloutRecord> {
        let clock = &self.shared.clock;
        let now = clock.now();
        let state = self.shared.state();
        state
            .apps
            .values()
            .filter(|a| a.id() == app_id)
            .flat_map(|a| a.rollouts(now, clock.epoch, |t| clock.wall_of(t)))
            .collect()
    }

    /// The wall-clock time of every authorised deploy-log request for an app
    /// (`p-5tfq9:project-deploy`), in order, including those a fault answered.
    pub fn log_reads(&self, app_id: &str) -> Vec<SystemTime> {
        let state = self.shared.state();
        state
            .apps
            .values()
            .filter(|a| a.id() == app_id)
            .flat_map(|a| a.log_reads.iter().copied())
            .collect()
    }

    /// Adds a pipeline or replaces its scenario; its past runs and numbering stay.
    pub fn upsert_pipeline(&self, spec: PipelineScenario) -> Result<(), ScenarioError> {
        let check = Scenario {
            pipelines: vec![spec.clone()],
            ..Scenario::default()
        };
        check.validate()?;
        let mut state = self.shared.state();
        let key = (
            format!("{}:{}", spec.cluster, spec.project),
            spec.pipeline.clone(),
        );
        match state.pipelines.get_mut(&key) {
            Some(p) => p.spec = spec,
            None => {
                state.pipelines.insert(
                    key,
                    SimPipeline {
                        spec,
                        executions: BTreeMap::new(),
                        next_run: 1,
                    },
                );
            }
        }
        Ok(())
    }

    /// Adds an app or replaces its scenario; its deployed tag stays.
    pub fn upsert_app(&self, spec: AppScenario) -> Result<(), ScenarioError> {
        let check = Scenario {
            apps: vec![spec.clone()],
            ..Scenario::default()
        };
        check.validate()?;
        let now = self.shared.clock.now();
        let mut state = self.shared.state();
        let project_ref = format!("{}:{}", spec.cluster, spec.project);
        let key = (project_ref.clone(), spec.app.clone());
        match state.apps.get_mut(&key) {
            Some(a) => a.spec = spec,
            None => {
                state.apps.insert(key, SimApp::new(&project_ref, spec, now));
            }
        }
        Ok(())
    }

    /// Queues a fault for the next matching requests.
    pub fn inject(&self, fault: InjectedFault) {
        self.shared.state().injected.push(fault);
    }

    /// Takes the PaaS down (connections refused, open ones reset) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.shared.down_flag.store(down, Ordering::SeqCst);
        self.shared.down.send_replace(down);
    }

    /// Sets the number of the next run of a pipeline (to test run numbers past 9).
    pub fn set_next_run(&self, project_ref: &str, pipeline: &str, run: u64) {
        if let Some(p) = self
            .shared
            .state()
            .pipelines
            .get_mut(&(project_ref.to_string(), pipeline.to_string()))
        {
            p.next_run = run;
        }
    }

    pub fn token(&self) -> &Secret {
        &self.shared.token
    }

    pub fn url(&self) -> &str {
        &self.shared.base_url
    }
}

/// A simulator serving on 127.0.0.1; stops when dropped.
pub struct SimHandle {
    sim: Simulator,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn simulator(&self) -> Simulator {
        self.sim.clone()
    }
}

impl std::ops::Deref for SimHandle {
    type Target = Simulator;
    fn deref(&self) -> &Simulator {
        &self.sim
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a simulator on a free port of 127.0.0.1.
pub async fn spawn(token: Secret, scenario: Scenario) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    start(listener, token, scenario)
}

/// Starts a simulator on a listener the caller bound.
pub fn start(
    listener: TcpListener,
    token: Secret,
    scenario: Scenario,
) -> std::io::Result<SimHandle> {
    scenario
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let addr = listener.local_addr()?;
    let (down, down_rx) = watch::channel(false);
    let down_flag = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Shared {
        token,
        clock: SimClock::new(scenario.speed),
        base_url: format!("http://{addr}"),
        next_base_url: scenario
            .next_base_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_string()),
        state: Mutex::new(SimState {
            global_faults: scenario.faults.clone(),
            page_size: scenario.page_size,
            pipelines: HashMap::new(),
            apps: HashMap::new(),
            rng: fastrand::Rng::with_seed(scenario.seed),
            stats: SimStats::default(),
            injected: Vec::new(),
        }),
        down,
        down_flag: down_flag.clone(),
        changed: tokio::sync::Notify::new(),
        drop_subscriptions: tokio::sync::Notify::new(),
        subscribe: scenario.subscribe,
        subscribe_max: Duration::from_secs_f64(scenario.subscribe_max_seconds / scenario.speed),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(std::io::Error::other)?,
    });
    let sim = Simulator { shared };
    for p in scenario.pipelines {
        sim.upsert_pipeline(p)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    }
    for a in scenario.apps {
        sim.upsert_app(a)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    }
    let listener = listener::OutageListener::new(listener, down_rx, down_flag)?;
    let router = server::router(sim.shared.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "simulator stopped");
        }
    });
    Ok(SimHandle { sim, addr, task })
}
