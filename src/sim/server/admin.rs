//! The admin API: stats, the timeline, the clock, scenario changes, faults, outages.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::response::SimResponse;
use super::{Shared_, Target};
use crate::sim::{InjectedFault, Route, ScenarioError};

pub(super) async fn stats(State(s): State<Shared_>, headers: HeaderMap) -> Response {
    s.respond(Route::Admin, &headers, Target::None, |state, _, _| {
        SimResponse::ok(&serde_json::to_value(&state.stats).unwrap_or(Value::Null))
    })
    .await
}

fn bad_request(message: &str) -> SimResponse {
    SimResponse::error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "InvalidBodyContent",
        message,
    )
}

pub(super) async fn advance(State(s): State<Shared_>, headers: HeaderMap, body: Bytes) -> Response {
    let seconds = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("seconds").and_then(Value::as_f64))
        .filter(|s| s.is_finite() && *s >= 0.0);
    let sim = crate::sim::Simulator { shared: s.clone() };
    s.respond(
        Route::Admin,
        &headers,
        Target::None,
        |_, _, _| match seconds {
            Some(secs) => {
                sim.advance(Duration::from_secs_f64(secs.min(1e9)));
                SimResponse::ok(&json!({"advanced": secs}))
            }
            None => bad_request("expected {\"seconds\": <number>}"),
        },
    )
    .await
}

pub(super) async fn pipeline(
    State(s): State<Shared_>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    upsert(s, &headers, &body, crate::sim::Simulator::upsert_pipeline).await
}

pub(super) async fn app(State(s): State<Shared_>, headers: HeaderMap, body: Bytes) -> Response {
    upsert(s, &headers, &body, crate::sim::Simulator::upsert_app).await
}

/// Adds or replaces a pipeline or an app from its scenario in the body.
async fn upsert<T: serde::de::DeserializeOwned>(
    s: Shared_,
    headers: &HeaderMap,
    body: &[u8],
    upsert: fn(&crate::sim::Simulator, T) -> Result<(), ScenarioError>,
) -> Response {
    let sim = crate::sim::Simulator { shared: s.clone() };
    // What the 422 says, if the change is refused.
    let refusal = match serde_json::from_slice::<T>(body) {
        Ok(spec) if s.authorized(headers) => upsert(&sim, spec).err().map(|e| e.to_string()),
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    s.respond(
        Route::Admin,
        headers,
        Target::None,
        |_, _, _| match refusal {
            None => SimResponse::ok(&json!({"ok": true})),
            Some(e) => bad_request(&e),
        },
    )
    .await
}

pub(super) async fn fault(State(s): State<Shared_>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed: Result<InjectedFault, _> = serde_json::from_slice(&body);
    s.respond(
        Route::Admin,
        &headers,
        Target::None,
        |state, _, _| match parsed {
            Ok(fault) => {
                state.injected.push(fault);
                SimResponse::ok(&json!({"ok": true}))
            }
            Err(e) => bad_request(&e.to_string()),
        },
    )
    .await
}

/// `{"seconds": N}`: refuse connections for N simulated seconds, then come back.
pub(super) async fn down(State(s): State<Shared_>, headers: HeaderMap, body: Bytes) -> Response {
    let seconds = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("seconds").and_then(Value::as_f64))
        .filter(|s| s.is_finite() && *s > 0.0);
    let authorized = s.authorized(&headers);
    if let (Some(secs), true) = (seconds, authorized) {
        let sim = crate::sim::Simulator { shared: s.clone() };
        let real = s.clock.real(Duration::from_secs_f64(secs.min(1e6)));
        // Answer first, then go down.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            sim.set_down(true);
            tokio::time::sleep(real).await;
            sim.set_down(false);
        });
    }
    s.respond(
        Route::Admin,
        &headers,
        Target::None,
        |_, _, _| match seconds {
            Some(secs) => SimResponse::ok(&json!({"down_for": secs})),
            None => bad_request("expected {\"seconds\": <number>}"),
        },
    )
    .await
}

pub(super) async fn drop_subscriptions(State(s): State<Shared_>, headers: HeaderMap) -> Response {
    let sim = crate::sim::Simulator { shared: s.clone() };
    s.respond(Route::Admin, &headers, Target::None, |_, _, _| {
        sim.drop_subscriptions();
        SimResponse::ok(&json!({"ok": true}))
    })
    .await
}

pub(super) async fn timeline(State(s): State<Shared_>, headers: HeaderMap) -> Response {
    if !s.authorized(&headers) {
        return SimResponse::unauthorized().into_response();
    }
    let timeline = crate::sim::Simulator { shared: s.clone() }.timeline();
    SimResponse::ok(&serde_json::to_value(timeline).unwrap_or(Value::Null)).into_response()
}
