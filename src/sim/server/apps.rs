//! Apps: read, upgrade, deploy logs.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::response::SimResponse;
use super::{Shared_, Target, in_project};
use crate::sim::Route;
use crate::sim::scenario::LogShape;

pub(super) async fn get_app(
    State(s): State<Shared_>,
    Path((project, app)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let name = in_project(&project, &app).unwrap_or("").to_string();
    s.respond(
        Route::GetApp,
        &headers,
        Target::App(&project, &name),
        |state, ctx, now| match state.apps.get_mut(&(project.clone(), name.clone())) {
            Some(a) => {
                a.reads.push(now);
                SimResponse::ok(&a.render(ctx, now))
            }
            None => SimResponse::not_found(&format!("apps.project.cattle.io \"{name}\" not found")),
        },
    )
    .await
}

pub(super) async fn app_action(
    State(s): State<Shared_>,
    Path((project, app)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = in_project(&project, &app).unwrap_or("").to_string();
    let action = query.get("action").cloned().unwrap_or_default();
    let wall = s.clock.wall_now();
    let route = if action == "upgradeoutter" {
        Route::Upgrade
    } else {
        Route::Unknown
    };
    s.respond(
        route,
        &headers,
        Target::App(&project, &name),
        |state, ctx, now| {
            let Some(a) = state.apps.get_mut(&(project.clone(), name.clone())) else {
                return SimResponse::not_found(&format!(
                    "apps.project.cattle.io \"{name}\" not found"
                ));
            };
            if !a.actions().contains(&action.as_str()) {
                return SimResponse::invalid_action(&action);
            }
            if action != "upgradeoutter" {
                return SimResponse::not_simulated(&action);
            }
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let Some(tag) = body
                .get("versionTag")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            else {
                return SimResponse::error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "MissingRequired",
                    "versionTag is required",
                );
            };
            a.upgrade(tag, now, wall);
            let rendered = a.upgrade_answer(ctx, now);
            *state.stats.upgrades.entry(app.clone()).or_default() += 1;
            SimResponse::ok(&rendered)
        },
    )
    .await
}

pub(super) async fn deploy_logs(
    State(s): State<Shared_>,
    Path((project, app)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let name = in_project(&project, &app).unwrap_or("").to_string();
    // Every authorised request counts, even one a fault answers: a read before the
    // rollout was done is one too many.
    if s.authorized(&headers) {
        let wall = s.clock.wall_now();
        if let Some(a) = s.state().apps.get_mut(&(project.clone(), name.clone())) {
            a.log_reads.push(wall);
        }
    }
    s.respond(
        Route::DeployLogs,
        &headers,
        Target::App(&project, &name),
        |state, ctx, now| {
            let Some(a) = state.apps.get(&(project.clone(), name.clone())) else {
                return SimResponse::not_found(&format!(
                    "apps.project.cattle.io \"{name}\" not found"
                ));
            };
            let Some(lines) = a.log_lines(ctx, now) else {
                return SimResponse::not_found("the requested resource could not be found");
            };
            match a.spec.logs {
                LogShape::Text | LogShape::Missing => SimResponse::raw(
                    StatusCode::OK,
                    "text/plain; charset=utf-8",
                    format!("{}\n", lines.join("\n")).into_bytes(),
                ),
                LogShape::JsonString => SimResponse::ok(&json!(lines.join("\n"))),
                LogShape::JsonArray => SimResponse::ok(&json!(lines)),
                LogShape::JsonObject => {
                    SimResponse::ok(&json!({"type": "deployLog", "data": lines}))
                }
                LogShape::JsonUnknownKey => SimResponse::ok(&json!({"podLogs": lines})),
            }
        },
    )
    .await
}
