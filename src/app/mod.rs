//! The application, assembled in one place (after zero2prod's `Application::build` /
//! `run_until_stopped`): the configuration and environment, the store, the PaaS (or the
//! built-in simulator), the chat adapter, the engine between them, the HTTP endpoints,
//! and the one shutdown signal all of them obey. `main` and the tests assemble it the
//! same way.

pub mod check;
mod leader;
mod paas;
pub mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

pub use paas::{Paas, connect_paas, scale_to_simulator};

use crate::adapters::shell::ShellAdapter;
use crate::adapters::{Adapter, AdapterError, Ended};
use crate::chat::Chat;
use crate::clock::Clock;
use crate::commands::EventSink;
use crate::config::{Config, ConfigError, Env};
use crate::discord::{DiscordAdapter, Settings as DiscordSettings};
use crate::engine::{Engine, EngineDeps};
use crate::metrics::Metrics;
use crate::shutdown::{Shutdown, os_signal};
use crate::store::{Store, StoreError};

/// How long a stop waits for running jobs' messages to say the bot is restarting.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why releasebot cannot start (or had to stop), with the exit code it ends with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The configuration or the command line is wrong (exit code 2).
    #[error("{0}")]
    Config(String),
    /// Something outside failed (exit code 1).
    #[error("{0}")]
    Runtime(String),
    /// Asked to stop (a signal) before it started (exit code 0).
    #[error("{0}: stopped while standing by")]
    Stopped(String),
}

impl StartError {
    pub fn code(&self) -> u8 {
        match self {
            StartError::Config(_) => 2,
            StartError::Runtime(_) => 1,
            StartError::Stopped(_) => 0,
        }
    }
}

impl From<ConfigError> for StartError {
    fn from(e: ConfigError) -> Self {
        StartError::Config(e.0)
    }
}

impl From<StoreError> for StartError {
    fn from(e: StoreError) -> Self {
        StartError::Runtime(e.to_string())
    }
}

impl From<webhook::WebhookSecretError> for StartError {
    fn from(e: webhook::WebhookSecretError) -> Self {
        match e {
            webhook::WebhookSecretError::Weak => StartError::Config(e.to_string()),
            _ => StartError::Runtime(e.to_string()),
        }
    }
}

impl From<AdapterError> for StartError {
    fn from(e: AdapterError) -> Self {
        match e {
            AdapterError::Config(m) => StartError::Config(m),
            AdapterError::Refused(m) => StartError::Runtime(m),
        }
    }
}

/// Where the HTTP endpoints listen.
#[derive(Debug)]
pub enum HttpSettings {
    Off,
    /// Listen on `addr`; `required`: failing to stops the start (it does on a server;
    /// in a terminal the bot runs without them).
    Bind {
        addr: String,
        required: bool,
    },
    /// Serve on a listener already bound (tests that must know the port first).
    Bound(tokio::net::TcpListener),
}

/// Where the HTTP endpoints listen unless `RELEASEBOT_HTTP_ADDR` says: on every
/// interface when the bot serves a chat platform (in a container, the probes, the
/// scraper and the PaaS reach it from outside), on this machine only when it runs in a
/// terminal (the demo, on someone's laptop, has no business on the network).
pub fn default_http_addr(server: bool) -> &'static str {
    match server {
        true => "0.0.0.0:8080",
        false => "127.0.0.1:8080",
    }
}

/// Everything the application is made of.
pub struct Parts {
    pub config: Config,
    /// Where the configuration came from, for the start-up line.
    pub source: String,
    pub adapter: Box<dyn Adapter>,
    pub paas: Paas,
    pub store: Arc<Store>,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// The URL the PaaS calls on each change of a build.
    pub webhook_url: Option<String>,
    pub http: HttpSettings,
}

/// The application, assembled and not yet running.
pub struct App {
    adapter: Box<dyn Adapter>,
    chat: Arc<dyn Chat>,
    engine: Engine,
    paas: Paas,
    source: String,
    http: HttpSettings,
    /// The HTTP endpoints' limits and the webhook secret before the current one.
    http_options: crate::http::Options,
    /// This replica's name among those sharing a PostgreSQL store.
    replica: Option<String>,
}

impl App {
    /// Assembles the application from the environment: the configuration file (or the
    /// demo), Discord when `DISCORD_TOKEN` is set (unless `shell`), otherwise this
    /// terminal; the PaaS at `RANCHER_URL`, otherwise the built-in simulator.
    pub async fn build(env: &Env, shell: bool) -> Result<App, StartError> {
        let (mut config, demo) = load_config(env)?;
        let adapter = adapter_for(env, shell, &config)?;
        let store = Arc::new(Store::open_at(&env.db).await?);
        let clock = Clock::new();
        let metrics = Arc::new(Metrics::default());
        let paas = connect_paas(env, &config, clock, metrics.clone()).await?;
        if paas.sim.is_some() {
            scale_to_simulator(&mut config);
        }
        // The PaaS calls this on each change of a build; the secret is kept across
        // restarts so builds started before one can still call, and the one before a
        // change is accepted for as long as a build may run.
        let (webhook_url, previous_secret) = match &env.public_url {
            Some(base) => {
                let now_ms = clock.now_ms();
                let secrets = webhook::settle(
                    &store,
                    env.webhook_pin.as_ref(),
                    now_ms,
                    config.jobs.build_timeout,
                )
                .await?;
                let url = format!(
                    "{}/webhook/{}",
                    base.trim_end_matches('/'),
                    secrets.current.expose()
                );
                let previous = secrets.previous.map(|(secret, until_ms)| {
                    let left = u64::try_from(until_ms.saturating_sub(now_ms)).unwrap_or(0);
                    crate::http::PreviousSecret {
                        secret,
                        until: tokio::time::Instant::now() + Duration::from_millis(left),
                    }
                });
                (Some(url), previous)
            }
            None => (None, None),
        };
        let source = if demo {
            "the demo configuration".to_string()
        } else {
            config.source.clone()
        };
        let server = !shell && env.discord_token.is_some();
        let mut app = App::assemble(Parts {
            config,
            source,
            adapter,
            paas,
            store,
            clock,
            metrics,
            webhook_url,
            http: HttpSettings::Bind {
                addr: env
                    .http_addr
                    .clone()
                    .unwrap_or_else(|| default_http_addr(server).into()),
                required: server,
            },
        })
        .await?
        .with_http_options(crate::http::Options {
            previous_secret,
            ..crate::http::Options::default()
        });
        app.replica = env.replica.clone();
        Ok(app)
    }

    /// The one assembly: the engine on the adapter's chat, the PaaS and the store.
    pub async fn assemble(parts: Parts) -> Result<App, StartError> {
        let chat = parts.adapter.chat();
        let ui = ui(&parts.config, &parts.paas);
        let engine = Engine::new(EngineDeps {
            ui: Some(ui),
            config: Arc::new(parts.config),
            paas: parts.paas.client.clone(),
            chat: chat.clone(),
            clock: parts.clock,
            store: parts.store,
            metrics: parts.metrics,
            webhook_url: parts.webhook_url,
        })
        .await?;
        Ok(App {
            adapter: parts.adapter,
            chat,
            engine,
            paas: parts.paas,
            source: parts.source,
            http: parts.http,
            http_options: crate::http::Options::default(),
            replica: None,
        })
    }

    /// Serves the HTTP endpoints with these limits and previous webhook secret.
    pub fn with_http_options(mut self, options: crate::http::Options) -> App {
        self.http_options = options;
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Serves the HTTP endpoints, waits for the lease when replicas share the store,
    /// then connects the chat, resumes unfinished jobs and starts taking commands.
    pub async fn start(self) -> Result<Running, StartError> {
        let App {
            mut adapter,
            chat,
            engine,
            paas,
            source,
            http,
            http_options,
            replica,
        } = self;
        let shutdown = Shutdown::new();
        let listener = match http {
            HttpSettings::Off => None,
            HttpSettings::Bound(listener) => Some(listener),
            HttpSettings::Bind { addr, required } => {
                match tokio::net::TcpListener::bind(&addr).await {
                    Ok(listener) => Some(listener),
                    Err(e) if !required => {
                        chat.note(&format!(
                            "cannot listen on {addr} ({e}); /healthz, /readyz, /metrics and the webhook are off"
                        ));
                        None
                    }
                    Err(e) => {
                        return Err(StartError::Runtime(format!(
                            "cannot listen on {addr} ({e})"
                        )));
                    }
                }
            }
        };
        let served = match listener {
            Some(listener) => Some(
                crate::http::serve(listener, engine.clone(), shutdown.clone(), http_options)
                    .map_err(|e| StartError::Runtime(e.to_string()))?,
            ),
            None => None,
        };
        let leadership = match engine.store().shared() {
            true => Some(lead(&engine, replica.as_deref(), &shutdown).await?),
            false => None,
        };
        // Open by default, as documented; said at every start until closed.
        for open in crate::commands::access::open_apps(engine.config()) {
            tracing::warn!(app = %open.app, "{open}");
        }
        let sink: Arc<dyn EventSink> = Arc::new(engine.clone());
        adapter.connect(sink).await?;
        let resumed = engine.resume().await?;
        let http_line = served
            .as_ref()
            .map(|(addr, _)| format!(", HTTP on {addr}"))
            .unwrap_or_default();
        let started = format!(
            "releasebot {} {}: {source}, {}{http_line}. Type /help.",
            env!("CARGO_PKG_VERSION"),
            adapter.describe(),
            paas.description
        );
        eprintln!("{}", crate::redact::text(&started));
        if resumed > 0 {
            chat.note(&format!(
                "resuming {resumed} unfinished job{}",
                if resumed == 1 { "" } else { "s" }
            ));
        }
        let adapter_task = tokio::spawn(adapter.run(engine.clone(), shutdown.clone()));
        // Started once this replica leads (a standby waited for the lease above).
        let digests = crate::delivery::digest::Digests {
            config: Arc::new(engine.config().clone()),
            store: engine.store().clone(),
            chat: engine.chat(),
            view: engine.view().clone(),
            lease: engine.lease().clone(),
            clock: engine.clock(),
            paas: engine.paas().clone(),
        };
        tokio::spawn(digests.run(shutdown.clone()));
        let leadership = leadership.map(|(leadership, lease)| {
            let keep = tokio::spawn(leadership.clone().keep(lease, engine.clone()));
            (leadership, keep)
        });
        Ok(Running {
            engine,
            chat,
            shutdown,
            adapter: adapter_task,
            http: served,
            resumed,
            leadership,
            _paas: paas,
        })
    }

    /// Starts, then runs until the chat's input ends, SIGTERM or Ctrl-C.
    pub async fn run_until_stopped(self) -> Result<(), StartError> {
        match self.start().await {
            Err(StartError::Stopped(signal)) => {
                eprintln!("releasebot: {signal}: stopped while standing by");
                Ok(())
            }
            started => started?.until_stopped().await,
        }
    }
}

/// Waits, standing by, until this replica holds the lease of the store it shares with
/// others (or a signal asks it to stop).
async fn lead(
    engine: &Engine,
    replica: Option<&str>,
    shutdown: &Shutdown,
) -> Result<(leader::Leadership, crate::store::Lease), StartError> {
    let leadership = leader::Leadership::new(
        engine.store().clone(),
        leader::holder_name(replica),
        engine.config().lease_ttl,
    );
    engine.lease().stand_by(None);
    let standing_by = format!(
        "releasebot {}: replica {} stands by for the lease on {}",
        env!("CARGO_PKG_VERSION"),
        leadership.holder(),
        engine.store().location()
    );
    eprintln!("{}", crate::redact::text(&standing_by));
    let lease = tokio::select! {
        lease = leadership.acquire(engine.lease()) => lease,
        signal = os_signal() => {
            shutdown.fire();
            return Err(StartError::Stopped(signal.to_string()));
        }
    };
    if lease.term > 1 {
        engine.metrics().takeover();
    }
    eprintln!(
        "releasebot: replica {} leads (term {})",
        leadership.holder(),
        lease.term
    );
    Ok((leadership, lease))
}

/// The chat adapter the environment asks for: Discord when `DISCORD_TOKEN` is set
/// (unless `shell`), otherwise this terminal.
fn adapter_for(env: &Env, shell: bool, config: &Config) -> Result<Box<dyn Adapter>, StartError> {
    let discord = match shell {
        true => None,
        false => DiscordSettings::from_env(env, &config.discord_guilds)?,
    };
    Ok(match discord {
        Some(settings) => Box::new(DiscordAdapter::new(settings)),
        None => {
            let user = std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "you".into());
            Box::new(ShellAdapter::new(&user, config.shell_users.clone()))
        }
    })
}

/// `releasebot check`: the configuration, the PaaS and the chat connection, checked
/// without changing anything.
pub async fn check(env: &Env) -> Vec<crate::adapters::Row> {
    check::run(env, |config| adapter_for(env, false, config)).await
}

/// Where the PaaS's web UI is, for links in messages (`[paas] ui_url`, else the API's
/// URL without `/v3`), and which cluster each configured Rancher project and app is in.
fn ui(config: &Config, paas: &Paas) -> crate::render::Ui {
    let base = match &config.paas.ui_url {
        Some(url) => url.clone(),
        None => paas.client.ui_base_url().to_string(),
    };
    let mut clusters: Vec<(String, String)> = config
        .projects
        .values()
        .map(|p| &p.pipeline.project)
        .chain(config.apps.values().map(|a| &a.rancher.project))
        .map(|p| (p.project.to_string(), p.cluster.to_string()))
        .collect();
    clusters.sort();
    clusters.dedup();
    let apps = config
        .apps
        .values()
        .map(|a| {
            (
                a.rancher.app.to_string(),
                a.rancher.project.project.to_string(),
            )
        })
        .collect();
    crate::render::Ui {
        base,
        clusters,
        apps,
    }
}

/// The configuration: the file if there is one (or if `RELEASEBOT_CONFIG` names one),
/// otherwise the built-in demo. Returns whether it is the demo.
pub fn load_config(env: &Env) -> Result<(Config, bool), StartError> {
    if env.config_named || env.config_path.exists() {
        Ok((Config::load(&env.config_path)?, false))
    } else {
        Ok((Config::demo(), true))
    }
}

/// The running application.
pub struct Running {
    engine: Engine,
    chat: Arc<dyn Chat>,
    shutdown: Shutdown,
    adapter: JoinHandle<Result<Ended, AdapterError>>,
    http: Option<(SocketAddr, JoinHandle<()>)>,
    resumed: usize,
    /// Among replicas: the lease held and the task renewing it.
    leadership: Option<(leader::Leadership, JoinHandle<()>)>,
    /// Keeps the built-in simulator serving while the bot runs.
    _paas: Paas,
}

impl Running {
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Where the HTTP endpoints listen, if they do.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(|(addr, _)| *addr)
    }

    /// How many unfinished jobs resumed at the start.
    pub fn resumed(&self) -> usize {
        self.resumed
    }

    /// Runs until the chat's input ends (every job then finished or waits on a
    /// person), the chat platform ends the connection for good, or SIGTERM / Ctrl-C
    /// (running jobs then note the restart and resume at the next start).
    pub async fn until_stopped(mut self) -> Result<(), StartError> {
        tokio::select! {
            ended = &mut self.adapter => {
                let result = match ended {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(StartError::from(e)),
                    Err(e) => Err(StartError::Runtime(format!("the chat adapter stopped: {e}"))),
                };
                self.halt();
                result
            }
            signal = os_signal() => {
                self.chat
                    .note(&format!("{signal}: stopping; unfinished jobs resume at the next start"));
                self.stop().await;
                Ok(())
            }
            () = deposed(&self.engine) => {
                self.halt();
                Err(StartError::Runtime(
                    "this replica lost the lease: another leads now and resumes the jobs".into(),
                ))
            }
        }
    }

    /// Stops gracefully: the running jobs' messages say the bot is restarting, then
    /// every job, the chat connection and the HTTP endpoints stop.
    pub async fn stop(self) {
        self.engine.wind_down(STOP_GRACE).await;
        if let Some((leadership, keep)) = &self.leadership {
            keep.abort();
            // Handed over at once (before the store closes): a standby leads on its
            // next ask.
            leadership.release().await;
        }
        self.engine.halt();
        self.shutdown.fire();
        let _ = tokio::time::timeout(STOP_GRACE, self.adapter).await;
        if let Some((_, server)) = self.http {
            let _ = tokio::time::timeout(STOP_GRACE, server).await;
        }
    }

    /// Stops everything where it stands, as a crash would (the store is closed; the
    /// next start resumes the jobs).
    pub fn halt(&self) {
        if let Some((_, keep)) = &self.leadership {
            keep.abort();
        }
        self.engine.halt();
        self.shutdown.fire();
    }
}

/// Resolves when the engine was deposed (alone on a SQLite file, never).
async fn deposed(engine: &Engine) {
    engine.lease().deposed().await
}

/// The subscribe connections are counted in the metrics.
impl crate::paas::push::PushCounts for Metrics {
    fn connection(&self, project: &str, open: bool) {
        self.subscribe_state(project, open);
    }

    fn forgotten(&self, project: &str) {
        self.subscribe_forget(project);
    }

    fn pushed(&self) {
        self.pushed_change();
    }
}
