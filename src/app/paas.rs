//! The PaaS releasebot drives: the one configured (`RANCHER_URL`), or the built-in
//! simulator serving the configured projects and apps when none is.

use std::sync::Arc;

use super::StartError;
use crate::clock::Clock;
use crate::config::{Config, Env};
use crate::metrics::Metrics;
use crate::paas::{ClientConfig, PaasClient, PaasError};
use crate::secret::Secret;
use crate::sim::{self, SimHandle};

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

impl Paas {
    /// A PaaS reached through `client` (tests and benchmarks bring their own).
    pub fn external(client: PaasClient, token: Secret) -> Self {
        let description = format!("the PaaS at {}", client.base_url());
        Paas {
            client,
            sim: None,
            description,
            token,
        }
    }
}

/// Connects to the configured PaaS (checking that it accepts the token), or starts the
/// built-in simulator serving the configured projects and apps.
pub async fn connect_paas(
    env: &Env,
    config: &Config,
    clock: Clock,
    metrics: Arc<Metrics>,
) -> Result<Paas, StartError> {
    let url = match &env.rancher_url {
        Some(url) => Some(url.given().to_string()),
        None => config.paas.url.clone(),
    };
    let (url, token, sim, description) = match url {
        Some(url) => {
            // Named from its parts: RANCHER_URL is not checked yet and may hold anything.
            let shown = crate::location::shown(&url);
            let Some(token) = env.rancher_token.clone() else {
                return Err(StartError::Config(format!(
                    "RANCHER_TOKEN is not set: create an API key in Rancher and put its token in RANCHER_TOKEN (the PaaS is {shown})."
                )));
            };
            let description = format!("the PaaS at {shown}");
            (url, token, None, description)
        }
        None => {
            let token = Secret::new(format!("sim-{}", fastrand_token()));
            let handle = sim::spawn(token.clone(), simulator_scenario(config))
                .await
                .map_err(|e| {
                    StartError::Runtime(format!("cannot start the built-in PaaS simulator: {e}"))
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
    settings.allow_plain_http = config.paas.allow_plain_http;
    let client = PaasClient::new(settings, clock)
        .map_err(|e| StartError::Config(e.to_string()))?
        .with_observer(Arc::new(move |r| {
            metrics.paas_request(r.operation.as_str(), r.status, r.elapsed)
        }));
    match client.check_token().await {
        Ok(()) => {}
        Err(e @ (PaasError::Unauthorized | PaasError::Forbidden { .. })) => {
            return Err(StartError::Runtime(format!(
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
            a.rancher.project.cluster.to_string(),
            a.rancher.project.project.to_string(),
            a.rancher.app.to_string(),
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
