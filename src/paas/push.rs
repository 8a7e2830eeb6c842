//! Learning of changes as they happen: one subscribe WebSocket per Rancher project that
//! has something watched. Pushed resources go straight to the watchers; while a
//! project's connection is up its watchers poll only as a safety net, and when it drops
//! (Rancher drops it about every 30 minutes) or its pings stop, polling takes over at
//! once while it reconnects with backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::watch::WatchHub;
use crate::paas::subscribe::PushEvent;
use crate::paas::{AppId, AppRef, ExecutionRef, PaasClient, PaasError, ProjectRef};

/// Rancher pings every 5 s; three missed pings mean the connection is dead.
const PING_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a connection stays open after its project's last watched object.
const LINGER: Duration = Duration::from_secs(60);
/// How often the set of watched projects is looked at.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The wait after the PaaS said it has no subscribe endpoint.
const NOT_OFFERED_BACKOFF: Duration = Duration::from_secs(600);

/// Who counts what the subscribe connections do (the metrics, above this layer).
pub trait PushCounts: Send + Sync {
    /// A project's connection opened (`true`) or dropped.
    fn connection(&self, project: &str, open: bool);
    /// A project is no longer watched.
    fn forgotten(&self, project: &str);
    /// A change arrived pushed.
    fn pushed(&self);
}

/// Keeps one connection per watched project; runs until aborted.
pub(crate) async fn manage(hub: Arc<WatchHub>, paas: PaasClient, metrics: Arc<dyn PushCounts>) {
    let mut connections: HashMap<ProjectRef, (JoinHandle<()>, Instant)> = HashMap::new();
    loop {
        let now = Instant::now();
        for project in hub.watched_projects() {
            match connections.get_mut(&project) {
                Some((_, wanted)) => *wanted = now,
                None => {
                    let task = tokio::spawn(connection(
                        hub.clone(),
                        paas.clone(),
                        metrics.clone(),
                        project.clone(),
                    ));
                    connections.insert(project, (task, now));
                }
            }
        }
        connections.retain(|project, (task, wanted)| {
            let keep = now.duration_since(*wanted) < LINGER;
            if !keep {
                task.abort();
                hub.set_pushing(project, false);
                metrics.forgotten(&project.to_string());
            }
            keep
        });
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

async fn connection(
    hub: Arc<WatchHub>,
    paas: PaasClient,
    metrics: Arc<dyn PushCounts>,
    project: ProjectRef,
) {
    let name = project.to_string();
    let mut failures = 0u32;
    loop {
        let wait = match paas.subscribe(&project).await {
            Ok(mut subscription) => {
                failures = 0;
                hub.set_pushing(&project, true);
                metrics.connection(&name, true);
                tracing::debug!(project = %name, "subscribed to changes");
                // Whatever changed while not connected is polled for now.
                hub.poke_project(&project);
                loop {
                    match subscription.next(PING_TIMEOUT).await {
                        Ok(Some(PushEvent::Execution(e))) => {
                            metrics.pushed();
                            let key = ExecutionRef::new(project.clone(), e.id.clone());
                            hub.offer_execution(&key, *e);
                        }
                        Ok(Some(PushEvent::App(a))) => {
                            metrics.pushed();
                            if let Ok(app) = AppId::parse(&a.name) {
                                hub.offer_app(&AppRef::new(project.clone(), app), *a);
                            }
                        }
                        Ok(Some(PushEvent::Ping | PushEvent::Removed(_))) => {}
                        Ok(None) => {
                            tracing::debug!(project = %name, "the PaaS closed the subscription");
                            break;
                        }
                        Err(e) => {
                            tracing::debug!(project = %name, error = %e, "the subscription failed");
                            break;
                        }
                    }
                }
                hub.set_pushing(&project, false);
                metrics.connection(&name, false);
                hub.poke_project(&project);
                // A routine drop: come back at once (with a little jitter).
                Duration::from_millis(100 + fastrand::u64(..400))
            }
            Err(PaasError::NotFound { .. }) => {
                tracing::info!(project = %name, "the PaaS offers no subscribe endpoint; polling only");
                NOT_OFFERED_BACKOFF
            }
            Err(e) => {
                failures += 1;
                tracing::debug!(project = %name, error = %e, failures, "cannot subscribe");
                Duration::from_secs(1)
                    .saturating_mul(1 << failures.min(6))
                    .min(MAX_BACKOFF)
                    .mul_f64(0.75 + fastrand::f64() * 0.5)
            }
        };
        tokio::time::sleep(wait).await;
    }
}
