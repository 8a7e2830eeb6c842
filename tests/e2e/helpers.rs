//! Shared set-up: a simulator on a free port and a client pointed at it.

use std::time::Duration;

use releasebot::clock::Clock;
use releasebot::paas::{
    AppId, AppRef, ClientConfig, PaasClient, PipelineId, PipelineRef, ProjectRef,
};
use releasebot::secret::Secret;
use releasebot::sim::{self, Scenario, SimHandle};

/// Shaped like a Rancher token so a leak would be easy to spot.
pub const TOKEN: &str = "token-e2e42:q8m2x7c4v9b1n6z3l5k8j2h4g7f9d1s3a5p8o2i4u6y8t1r3e5w7";

pub async fn spawn_sim(scenario: Scenario) -> SimHandle {
    sim::spawn(Secret::new(TOKEN), scenario)
        .await
        .expect("the simulator starts")
}

/// Client settings for tests: quick retries, short timeouts.
pub fn test_config(url: &str, token: &str) -> ClientConfig {
    let mut config = ClientConfig::new(url, Secret::new(token));
    config.request_timeout = Duration::from_secs(2);
    config.connect_timeout = Duration::from_secs(1);
    config.backoff =
        releasebot::backoff::Backoff::new(Duration::from_millis(10), Duration::from_millis(100));
    config
}

pub fn client(sim: &SimHandle) -> PaasClient {
    PaasClient::new(test_config(sim.url(), TOKEN), Clock::new()).expect("client builds")
}

pub fn web_project() -> ProjectRef {
    ProjectRef::parse("c-64wdm:p-5tfq9").unwrap()
}

/// The demo catalogue's `web` pipeline.
pub fn web_pipeline() -> PipelineRef {
    PipelineRef::new(web_project(), PipelineId::parse("p-tpk2x").unwrap())
}

/// The demo catalogue's `web` app.
pub fn web_app() -> AppRef {
    AppRef::new(web_project(), AppId::parse("project-deploy").unwrap())
}

/// The demo catalogue's `api` app (no approval needed).
pub fn api_app() -> AppRef {
    AppRef::new(web_project(), AppId::parse("api-deploy").unwrap())
}

/// Reads a fixture from `tests/fixtures` (copied unchanged from the shared fixtures).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

use std::sync::Arc;

use releasebot::adapters::memory::{MemoryAdapter, MemoryChat};
use releasebot::app::{App, HttpSettings, Paas, Parts, Running};
use releasebot::chat::MessageRef;
use releasebot::commands::Reply;
use releasebot::config::Config;
use releasebot::engine::Engine;
use releasebot::job::JobRecord;
use releasebot::metrics::Metrics;
use releasebot::names::JobId;
use releasebot::store::Store;

/// The channel tests speak in.
pub const CHANNEL: &str = "releases";

/// The bot on the in-memory chat and the simulator, with a cast of users:
/// alice (developer), bob and carol (lead), dave (no role), root (admin). It is the
/// application as `main` assembles it, with the in-memory chat as its adapter.
pub struct TestBot {
    pub sim: SimHandle,
    pub chat: Arc<MemoryChat>,
    pub engine: Engine,
    running: Running,
    config: Config,
    /// One clock across restarts, as one machine has.
    pub clock: Clock,
    webhook_url: Option<String>,
    /// Where the bot's HTTP surface listens.
    pub http_addr: std::net::SocketAddr,
}

/// The demo configuration, changed by `change`.
pub fn demo_config(change: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::demo();
    change(&mut config);
    config
}

pub async fn spawn_bot(scenario: Scenario, config: Config) -> TestBot {
    spawn_bot_on(
        scenario,
        config,
        Arc::new(Store::open_in_memory().await.unwrap()),
    )
    .await
}

/// A bot whose jobs are recorded in `store`.
pub async fn spawn_bot_on(scenario: Scenario, config: Config, store: Arc<Store>) -> TestBot {
    spawn_bot_with(scenario, config, store, false).await
}

/// The webhook secret of test bots that ask the PaaS to call them.
pub const WEBHOOK_SECRET: &str = "w3bh00ks3cr3t";

/// A bot with its HTTP surface on a free port; with `webhook`, every run request asks
/// the PaaS to call it there.
pub async fn spawn_bot_with(
    scenario: Scenario,
    config: Config,
    store: Arc<Store>,
    webhook: bool,
) -> TestBot {
    spawn_bot_at(scenario, config, store, webhook, Clock::new()).await
}

/// A bot whose clock reads `clock`'s time (a chosen date), then follows tokio's.
pub async fn spawn_bot_at(
    scenario: Scenario,
    config: Config,
    store: Arc<Store>,
    webhook: bool,
    clock: Clock,
) -> TestBot {
    spawn_bot_in(scenario, config, store, webhook, clock, MemoryChat::new()).await
}

/// A bot on `chat` (one declaring other limits than Discord's).
pub async fn spawn_bot_in(
    scenario: Scenario,
    config: Config,
    store: Arc<Store>,
    webhook: bool,
    clock: Clock,
    chat: Arc<MemoryChat>,
) -> TestBot {
    let http = releasebot::http::Options::default();
    spawn_bot_serving(scenario, config, store, webhook, clock, chat, http).await
}

/// A bot whose HTTP endpoints serve with `http` (shorter limits, a previous secret).
pub async fn spawn_bot_serving(
    scenario: Scenario,
    config: Config,
    store: Arc<Store>,
    webhook: bool,
    clock: Clock,
    chat: Arc<MemoryChat>,
    http: releasebot::http::Options,
) -> TestBot {
    let sim = spawn_sim(scenario).await;
    for (user, roles) in [
        ("alice", &["developer"][..]),
        ("bob", &["lead"][..]),
        ("carol", &["lead"][..]),
        ("dave", &[][..]),
        ("root", &["admin"][..]),
    ] {
        chat.add_user(user, roles);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_addr = listener.local_addr().unwrap();
    let webhook_url = webhook.then(|| format!("http://{http_addr}/webhook/{WEBHOOK_SECRET}"));
    let running = start_app(
        &sim,
        &chat,
        config.clone(),
        store,
        clock,
        webhook_url.clone(),
        (HttpSettings::Bound(listener), http),
    )
    .await;
    TestBot {
        sim,
        chat,
        engine: running.engine().clone(),
        running,
        config,
        clock,
        webhook_url,
        http_addr,
    }
}

/// The application on the in-memory chat and the simulator, started.
async fn start_app(
    sim: &SimHandle,
    chat: &Arc<MemoryChat>,
    config: Config,
    store: Arc<Store>,
    clock: Clock,
    webhook_url: Option<String>,
    (http, options): (HttpSettings, releasebot::http::Options),
) -> Running {
    let metrics = Arc::new(Metrics::default());
    let observer = metrics.clone();
    let paas = client(sim).with_observer(Arc::new(move |r| {
        observer.paas_request(r.operation.as_str(), r.status, r.elapsed)
    }));
    App::assemble(Parts {
        config,
        source: "the test configuration".into(),
        adapter: Box::new(MemoryAdapter::new(chat.clone())),
        paas: Paas::external(paas, Secret::new(TOKEN)),
        store,
        clock,
        metrics,
        webhook_url,
        http,
    })
    .await
    .expect("the bot assembles")
    .with_http_options(options)
    .start()
    .await
    .expect("the bot starts")
}

/// A state file under the temp dir, removed (with its WAL) when dropped.
pub struct TempDb(pub std::path::PathBuf);

impl TempDb {
    pub fn new(name: &str) -> Self {
        TempDb(std::env::temp_dir().join(format!(
            "releasebot-e2e-{name}-{}-{}.db",
            std::process::id(),
            fastrand::u64(..)
        )))
    }

    pub async fn open(&self) -> Arc<Store> {
        Arc::new(Store::open(&self.0).await.expect("the state file opens"))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

impl TestBot {
    /// Stops the bot where it stands, as a crash would, and starts a new one on
    /// `store` (the same file), with the same chat and PaaS. Returns how many resumed.
    pub async fn restart<F>(&mut self, store: impl FnOnce() -> F) -> usize
    where
        F: std::future::Future<Output = Arc<Store>>,
    {
        self.running.halt();
        let store = store().await;
        let running = start_app(
            &self.sim,
            &self.chat,
            self.config.clone(),
            store,
            self.clock,
            self.webhook_url.clone(),
            (HttpSettings::Off, releasebot::http::Options::default()),
        )
        .await;
        self.engine = running.engine().clone();
        self.running = running;
        self.running.resumed()
    }

    /// Stops the bot where it stands, as a crash would (a [`TestBot::restart`] brings
    /// it back).
    pub fn halt(&self) {
        self.running.halt();
    }

    /// `user` types `text` in the releases channel.
    pub async fn say(&self, user: &str, text: &str) -> Reply {
        self.chat
            .say(user, CHANNEL, text)
            .await
            .expect("the bot answers every command")
    }

    /// Types a command that must start a job; returns its id.
    pub async fn start(&self, user: &str, text: &str) -> JobId {
        match self.say(user, text).await {
            Reply::Started { job, .. } => job,
            other => panic!("{text:?} did not start a job: {other:?}"),
        }
    }

    pub fn record(&self, job: JobId) -> JobRecord {
        self.engine.job_in_memory(job).expect("the job exists")
    }

    /// The job's progress message.
    pub fn progress_ref(&self, job: JobId) -> MessageRef {
        self.record(job)
            .messages
            .progress
            .expect("the job has a progress message")
    }

    /// What the job's progress message shows now.
    pub fn progress(&self, job: JobId) -> String {
        self.chat
            .message(&self.progress_ref(job))
            .expect("the message exists")
            .text
    }

    /// The job's approval message.
    pub fn approval_ref(&self, job: JobId) -> MessageRef {
        self.record(job)
            .messages
            .approval
            .expect("the job has an approval message")
    }

    pub fn approval_text(&self, job: JobId) -> String {
        self.chat
            .message(&self.approval_ref(job))
            .expect("the message exists")
            .text
    }

    /// Waits (on tokio's clock, which tests pause) until `check` holds for the job.
    pub async fn wait_for(
        &self,
        job: JobId,
        what: &str,
        check: impl Fn(&JobRecord) -> bool,
    ) -> JobRecord {
        for _ in 0..20_000 {
            if let Some(r) = self.engine.job_in_memory(job)
                && check(&r)
            {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "{job} never became {what}: {:?}",
            self.engine.job_in_memory(job).map(|r| r.state)
        );
    }

    /// Waits until the job has ended and its final message is delivered.
    pub async fn finished(&self, job: JobId) -> JobRecord {
        // A job leaves the live set once its final message is delivered.
        self.wait_for(job, "finished", |r| {
            r.state.is_final() && !self.engine.is_live(r.id)
        })
        .await
    }
}

/// Makes every later upgrade of the demo app `app` (its Rancher name) fail with `error`,
/// or succeed again (`None`), in the simulator.
pub fn upgrades_fail(bot: &TestBot, app: &str, error: Option<&str>) {
    let mut spec = Scenario::demo()
        .apps
        .into_iter()
        .find(|a| a.app == app)
        .unwrap();
    spec.fail = error.map(str::to_string);
    bot.sim.simulator().upsert_app(spec).unwrap();
}
