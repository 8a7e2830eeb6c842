//! The simulator telling of changes by itself: Rancher's subscribe WebSocket, and the
//! in-house `webhook` of a run request. Objects change with simulated time, so each
//! pusher sleeps until the next moment anything it covers changes (or an action
//! rings `changed`) and then sends what differs from what it sent before.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use serde_json::{Value, json};

use super::Shared;
use super::model::RenderContext;

/// Rancher pings subscribers every 5 s.
const PING_EVERY: Duration = Duration::from_secs(5);

impl Shared {
    /// Every execution and app of a project as Rancher would send it now, by id, and
    /// how long (real time) until the next of them changes.
    fn project_snapshot(&self, project: &str) -> (HashMap<String, Value>, Option<Duration>) {
        let now = self.clock.now();
        let ctx = RenderContext {
            base_url: &self.base_url,
            epoch: self.clock.epoch,
        };
        let state = self.state();
        let mut objects = HashMap::new();
        let mut next: Option<Duration> = None;
        let mut soonest = |t: Option<Duration>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        for (_, pipeline) in state.pipelines.iter().filter(|((p, _), _)| p == project) {
            for e in pipeline.executions.values() {
                objects.insert(e.id(), e.render(&ctx, now, true));
                soonest(e.next_change(now));
            }
        }
        for ((_, _), app) in state.apps.iter().filter(|((p, _), _)| p == project) {
            objects.insert(app.id(), app.render(&ctx, now));
            soonest(app.next_change(now));
        }
        (
            objects,
            next.map(|t| self.clock.real(t.saturating_sub(now))),
        )
    }
}

/// Serves one subscribe connection until the client leaves or the PaaS drops it.
pub(crate) async fn subscription(mut socket: WebSocket, shared: Arc<Shared>, project: String) {
    shared.state().stats.subscriptions += 1;
    // Rancher sends changes, not the current state.
    let (mut sent, _) = shared.project_snapshot(&project);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let lifetime = tokio::time::sleep(shared.subscribe_max);
    tokio::pin!(lifetime);
    loop {
        let changed = shared.changed.notified();
        let dropped = shared.drop_subscriptions.notified();
        tokio::pin!(changed, dropped);
        changed.as_mut().enable();
        dropped.as_mut().enable();
        let (_, next) = shared.project_snapshot(&project);
        let wait = next.unwrap_or(Duration::from_secs(3600)) + Duration::from_millis(1);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = changed => {}
            _ = ping.tick() => {
                if socket.send(Message::text(r#"{"name":"ping"}"#)).await.is_err() {
                    return;
                }
                continue;
            }
            _ = dropped => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            _ = &mut lifetime => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => continue,
            },
        }
        let (now, _) = shared.project_snapshot(&project);
        let mut changes = Vec::new();
        for (id, value) in now {
            if sent.get(&id) != Some(&value) {
                changes.push(json!({"name": "resource.change", "data": value}).to_string());
                sent.insert(id, value);
            }
        }
        shared.state().stats.pushed += changes.len() as u64;
        for change in changes {
            if socket.send(Message::text(change)).await.is_err() {
                return;
            }
        }
    }
}

/// Calls a run's webhook on each change of the execution until it ends.
pub(crate) async fn call_webhook(
    shared: Arc<Shared>,
    project: String,
    pipeline: String,
    run: u64,
    url: String,
) {
    let mut last: Option<Value> = None;
    loop {
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let (current, next, done) = {
            let now = shared.clock.now();
            let ctx = RenderContext {
                base_url: &shared.base_url,
                epoch: shared.clock.epoch,
            };
            let state = shared.state();
            let Some(e) = state
                .pipelines
                .get(&(project.clone(), pipeline.clone()))
                .and_then(|p| p.executions.get(&run))
            else {
                return;
            };
            (
                e.render(&ctx, now, true),
                e.next_change(now)
                    .map(|t| shared.clock.real(t.saturating_sub(now))),
                e.phase(now).is_final(),
            )
        };
        if last.as_ref() != Some(&current) {
            // What the in-house PaaS would send; the bot must not trust any of it.
            let body = json!({
                "id": current["id"],
                "executionState": current["executionState"],
                "run": current["run"],
            });
            shared.state().stats.webhook_calls += 1;
            let request = shared
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string());
            if let Err(e) = request.send().await {
                // Neither the URL nor an error naming it: its last segment is a secret.
                tracing::debug!(error = %e.without_url(), "webhook call failed");
            }
            last = Some(current);
        }
        if done {
            return;
        }
        let wait = next.unwrap_or(Duration::from_secs(3600)) + Duration::from_millis(1);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = changed => {}
        }
    }
}
