//! Putting releasebot together from its environment and configuration: which PaaS
//! (the real one, or the built-in simulator), which chat, and the engine between them.

use std::sync::Arc;

use crate::chat::Chat;
use crate::clock::Clock;
use crate::config::{Config, Env};
use crate::engine::{Engine, EngineDeps};
use crate::metrics::Metrics;
use crate::paas::{ClientConfig, PaasClient, PaasError};
use crate::secret::Secret;
use crate::sim::{self, SimHandle};
use crate::store::Store;

/// Why releasebot cannot start, with the exit code it should end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError {
    pub code: u8,
    pub message: String,
}

impl StartError {
    /// A problem with the configuration or the command line (exit code 2).
    pub fn config(message: impl Into<String>) -> Self {
        StartError {
            code: 2,
            message: message.into(),
        }
    }

    /// A problem with something outside (exit code 1).
    pub fn runtime(message: impl Into<String>) -> Self {
        StartError {
            code: 1,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The configuration: the file if there is one (or if `RELEASEBOT_CONFIG` names one),
/// otherwise the built-in demo. Returns whether it is the demo.
pub fn load_config(env: &Env) -> Result<(Config, bool), StartError> {
    if env.config_named || env.config_path.exists() {
        let config = Config::load(&env.config_path).map_err(|e| StartError::config(e.0))?;
        Ok((config, false))
    } else {
        Ok((Config::demo(), true))
    }
}

/// The PaaS the bot talks to.
pub struct Paas {
    pub client: PaasClient,
    /// The built-in simulator, when no PaaS URL is set.
    pub sim: Option<SimHandle>,
    /// One line saying what it is.
    pub description: String,
    /// The token in use, to redact.
    pub token: Secret,
}

/// Connects to the configured PaaS (checking that it accepts the token), or starts the
/// built-in simulator serving the configured projects and apps.
pub async fn connect_paas(
    env: &Env,
    config: &Config,
    clock: Clock,
    metrics: Arc<Metrics>,
) -> Result<Paas, StartError> {
    let url = env.rancher_url.clone().or_else(|| config.paas.url.clone());
    let (url, token, sim, description) = match url {
        Some(url) => {
            let Some(token) = env.rancher_token.clone() else {
                return Err(StartError::config(format!(
                    "RANCHER_TOKEN is not set: create an API key in Rancher and put its token in RANCHER_TOKEN (the PaaS is {url})."
                )));
            };
            let description = format!("the PaaS at {url}");
            (url, token, None, description)
        }
        None => {
            let token = Secret::new(format!("sim-{}", fastrand_token()));
            let handle = sim::spawn(token.clone(), simulator_scenario(config))
                .await
                .map_err(|e| {
                    StartError::runtime(format!("cannot start the built-in PaaS simulator: {e}"))
                })?;
            let url = handle.url().to_string();
            let description = format!(
                "the built-in PaaS simulator at {url} (clock ×{})",
                config.sim_speed
            );
            (url, token, Some(handle), description)
        }
    };
    let mut settings = ClientConfig::new(url, token.clone());
    settings.connect_timeout = config.paas.connect_timeout;
    settings.request_timeout = config.paas.request_timeout;
    let client = PaasClient::new(settings, clock)
        .map_err(StartError::config)?
        .with_observer(Arc::new(move |r| metrics.paas_request(r)));
    match client.check_token().await {
        Ok(()) => {}
        Err(e @ (PaasError::Unauthorized | PaasError::Forbidden { .. })) => {
            return Err(StartError::runtime(format!(
                "{description} refused releasebot: {e}"
            )));
        }
        Err(e) => tracing::warn!(error = %e, "the PaaS did not answer at start; carrying on"),
    }
    Ok(Paas {
        client,
        sim,
        description,
        token,
    })
}

/// Against the built-in simulator, whose clock runs `sim_speed` times faster, the bot
/// polls that much more often, and the windows measured in PaaS time (a rollout's
/// settle window, the wait for an upgrade to be picked up or a tag to appear, the logs
/// window) are that much shorter, so a demo shows every step a real run would.
pub fn scale_to_simulator(config: &mut Config) {
    let speed = config.sim_speed.max(1.0);
    let floor = std::time::Duration::from_millis(50);
    let jobs = &mut config.jobs;
    jobs.poll_interval = jobs.poll_interval.div_f64(speed).max(floor);
    jobs.push_poll_interval = jobs
        .push_poll_interval
        .div_f64(speed)
        .max(jobs.poll_interval);
    for window in [
        &mut jobs.settle,
        &mut jobs.pickup,
        &mut jobs.tag_wait,
        &mut jobs.logs_window,
    ] {
        *window = window.div_f64(speed);
    }
}

fn simulator_scenario(config: &Config) -> crate::sim::Scenario {
    let demo = crate::sim::Scenario::demo();
    let mut scenario = crate::sim::Scenario {
        speed: config.sim_speed,
        ..crate::sim::Scenario::default()
    };
    for (i, p) in config.projects.values().enumerate() {
        let (cluster, project, pipeline) = (
            p.pipeline.project.cluster.to_string(),
            p.pipeline.project.project.to_string(),
            p.pipeline.pipeline.to_string(),
        );
        // A pipeline of the demo catalogue keeps its stages; others borrow some.
        let mut spec = demo
            .pipelines
            .iter()
            .find(|d| d.cluster == cluster && d.project == project && d.pipeline == pipeline)
            .unwrap_or(&demo.pipelines[i % demo.pipelines.len()])
            .clone();
        spec.cluster = cluster;
        spec.project = project;
        spec.pipeline = pipeline;
        spec.image = Some(format!("harbor.example.com/team/{}", p.name));
        scenario.pipelines.push(spec);
    }
    for a in config.apps.values() {
        let (cluster, project, app) = (
            a.app.project.cluster.to_string(),
            a.app.project.project.to_string(),
            a.app.app.to_string(),
        );
        let mut spec = demo
            .apps
            .iter()
            .find(|d| d.cluster == cluster && d.project == project && d.app == app)
            .unwrap_or(&demo.apps[0])
            .clone();
        spec.cluster = cluster;
        spec.project = project;
        spec.app = app;
        scenario.apps.push(spec);
    }
    scenario
}

fn fastrand_token() -> String {
    (0..32).map(|_| fastrand::alphanumeric()).collect()
}

/// Opens the state file named by `RELEASEBOT_DB`.
pub fn open_store(env: &Env) -> Result<Arc<Store>, StartError> {
    Store::open(&env.db_path)
        .map(Arc::new)
        .map_err(|e| StartError::runtime(e.to_string()))
}

/// The engine for a chat, on the store.
pub fn engine(
    config: Config,
    paas: &Paas,
    env: &Env,
    chat: Arc<dyn Chat>,
    clock: Clock,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
) -> Result<Engine, StartError> {
    // The PaaS calls this on each change of a build; the secret is kept across restarts
    // so builds started before one can still call.
    let webhook_url = match &env.public_url {
        Some(base) => {
            let secret = store
                .meta("webhook_secret", || {
                    (0..40).map(|_| fastrand::alphanumeric()).collect()
                })
                .map_err(|e| StartError::runtime(e.to_string()))?;
            Some(format!("{}/webhook/{secret}", base.trim_end_matches('/')))
        }
        None => None,
    };
    let mut secrets = env.secrets();
    secrets.push(paas.token.clone());
    Engine::new(EngineDeps {
        config: Arc::new(config),
        paas: paas.client.clone(),
        chat,
        clock,
        secrets,
        store,
        metrics,
        webhook_url,
    })
    .map_err(|e| StartError::runtime(e.to_string()))
}

/// Serves `/healthz`, `/readyz`, `/metrics` and the webhook on `RELEASEBOT_HTTP_ADDR`
/// (default `0.0.0.0:8080`); returns the address it listens on.
pub async fn serve_http(env: &Env, engine: &Engine) -> Result<std::net::SocketAddr, String> {
    let addr = env
        .http_addr
        .clone()
        .unwrap_or_else(|| "0.0.0.0:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} ({e})"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let secret = engine.webhook_url().and_then(crate::http::webhook_secret);
    let router = crate::http::router(engine.clone(), secret);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the HTTP server stopped");
        }
    });
    Ok(bound)
}

/// Resolves on SIGTERM or Ctrl-C, naming which.
pub async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "interrupted",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "interrupted"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    }
}
