//! The gateway: HELLO, IDENTIFY → READY, RESUME → RESUMED, heartbeats, and the
//! dispatches queued for the bot's session.
//!
//! As on Discord, a session lives on after its connection drops: what happens in the
//! meantime is queued for it and replayed when the bot RESUMEs. A new session (IDENTIFY)
//! starts empty: whatever was queued for the old one is gone.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{Value, json};

use super::world::user_json;
use super::{APP, BOT, Shared, checked};

pub(super) async fn gateway(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |socket| connection(socket, shared))
}

async fn send(socket: &mut WebSocket, value: Value) -> bool {
    socket
        .send(WsMessage::Text(value.to_string().into()))
        .await
        .is_ok()
}

fn sequenced(shared: &Shared, mut event: Value) -> Value {
    event["s"] = json!(shared.seq.fetch_add(1, Ordering::SeqCst) + 1);
    event
}

/// What happened next on a gateway connection.
enum Step {
    Frame(Value),
    Event(Value),
    Reconnect,
    Invalidate,
    Closed,
    Nothing,
}

async fn connection(mut socket: WebSocket, shared: Arc<Shared>) {
    shared.state().gateway.connections += 1;
    let me = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    if send(
        &mut socket,
        json!({"op": 10, "d": {"heartbeat_interval": 45_000}}),
    )
    .await
    {
        serve(&mut socket, &shared, me).await;
    }
    // The session outlives its connection (until a new one is identified), but no
    // connection is live now.
    let _ = shared
        .live
        .compare_exchange(me, 0, Ordering::SeqCst, Ordering::SeqCst);
}

async fn serve(socket: &mut WebSocket, shared: &Shared, me: u64) {
    loop {
        let step = tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    serde_json::from_str(&text).map_or(Step::Nothing, Step::Frame)
                }
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => Step::Closed,
                Some(Ok(_)) => Step::Nothing,
            },
            event = shared.next_event(me) => Step::Event(event),
            _ = shared.reconnect.notified() => Step::Reconnect,
            _ = shared.invalidate.notified() => Step::Invalidate,
        };
        match step {
            Step::Frame(frame) => match frame["op"].as_u64() {
                Some(1) => {
                    send(socket, json!({"op": 11})).await;
                }
                Some(2) => identify(socket, shared, me).await,
                Some(6) => {
                    let current = shared.session.lock().unwrap().clone();
                    let asked = frame["d"]["session_id"].as_str().map(str::to_string);
                    if current.is_some() && asked == current {
                        shared.state().gateway.resumes += 1;
                        let event = sequenced(shared, json!({"op": 0, "t": "RESUMED", "d": {}}));
                        send(socket, event).await;
                        shared.go_live(me);
                    } else {
                        // Not a session Discord knows: identify anew.
                        send(socket, json!({"op": 9, "d": false})).await;
                    }
                }
                _ => {}
            },
            Step::Event(event) => {
                let event = sequenced(shared, event);
                if !send(socket, event.clone()).await {
                    // Not delivered: it waits for the session to resume.
                    shared.queue.lock().unwrap().push_front(event);
                    return;
                }
            }
            Step::Reconnect => {
                send(socket, json!({"op": 7, "d": null})).await;
                let _ = socket.send(WsMessage::Close(None)).await;
                return;
            }
            Step::Invalidate => {
                *shared.session.lock().unwrap() = None;
                let _ = shared
                    .live
                    .compare_exchange(me, 0, Ordering::SeqCst, Ordering::SeqCst);
                send(socket, json!({"op": 9, "d": false})).await;
            }
            Step::Closed => return,
            Step::Nothing => {}
        }
    }
}

/// A new session: READY, and nothing of an older session's queue.
async fn identify(socket: &mut WebSocket, shared: &Shared, me: u64) {
    let guilds: Vec<Value> = {
        let mut state = shared.state();
        state.gateway.identifies += 1;
        state
            .world
            .guilds
            .keys()
            .map(|id| json!({"id": id.to_string(), "unavailable": true}))
            .collect()
    };
    let n = shared.sessions.fetch_add(1, Ordering::SeqCst) + 1;
    let session = format!("fake-session-{n}");
    *shared.session.lock().unwrap() = Some(session.clone());
    shared.queue.lock().unwrap().clear();
    let url = shared.ws_url.lock().unwrap().clone();
    let ready = checked::<serenity::model::gateway::Ready>(
        "READY",
        json!({
            "v": 10, "user": user_json("releasebot", BOT), "guilds": guilds,
            "session_id": session, "resume_gateway_url": url,
            "shard": [0, 1], "application": {"id": APP.to_string(), "flags": 0}
        }),
    );
    let event = sequenced(shared, json!({"op": 0, "t": "READY", "d": ready}));
    send(socket, event).await;
    shared.go_live(me);
}
