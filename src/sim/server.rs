//! The simulator's HTTP surface: Rancher's v3 routes and a small admin API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::model::{RenderContext, SimExecution};
use super::scenario::LogShape;
use super::{Fault, InjectedFault, Route, Shared, SimState};

type Shared_ = Arc<Shared>;

pub(crate) fn router(shared: Shared_) -> Router {
    Router::new()
        .route("/v3", get(root))
        .route(
            "/v3/project/{project}/pipelines/{pipeline}",
            get(get_pipeline).post(pipeline_action),
        )
        .route(
            "/v3/project/{project}/pipelineExecutions",
            get(list_executions),
        )
        .route(
            "/v3/project/{project}/pipelineExecutions/{execution}",
            get(get_execution).post(execution_action),
        )
        .route(
            "/v3/project/{project}/apps/{app}",
            get(get_app).post(app_action),
        )
        .route("/v3/project/{project}/deployLogs/{app}", get(deploy_logs))
        .route("/v3/project/{project}/subscribe", get(subscribe))
        .route("/admin/stats", get(admin_stats))
        .route("/admin/timeline", get(admin_timeline))
        .route("/admin/advance", post(admin_advance))
        .route("/admin/pipelines", post(admin_pipeline))
        .route("/admin/apps", post(admin_app))
        .route("/admin/faults", post(admin_fault))
        .route("/admin/down", post(admin_down))
        .route("/admin/drop-subscriptions", post(admin_drop_subscriptions))
        .fallback(unknown)
        .with_state(shared)
}

/// A response before it becomes HTTP, so faults can cut or replace it.
struct SimResponse {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    retry_after: Option<String>,
}

impl SimResponse {
    fn json(status: StatusCode, v: &Value) -> Self {
        SimResponse {
            status,
            content_type: "application/json",
            body: v.to_string().into_bytes(),
            retry_after: None,
        }
    }

    fn ok(v: &Value) -> Self {
        Self::json(StatusCode::OK, v)
    }

    /// A norman error body.
    fn error(status: StatusCode, code: &str, message: &str) -> Self {
        Self::json(
            status,
            &json!({"type": "error", "baseType": "error", "status": status.as_u16(),
                    "code": code, "message": message}),
        )
    }

    fn action_not_available(action: &str) -> Self {
        Self::error(
            StatusCode::NOT_FOUND,
            "ActionNotAvailable",
            &format!("action {action:?} not available"),
        )
    }

    fn not_found(message: &str) -> Self {
        Self::error(StatusCode::NOT_FOUND, "NotFound", message)
    }

    /// The 401 of Rancher's auth layer: status as a string, no code.
    fn unauthorized() -> Self {
        Self::json(
            StatusCode::UNAUTHORIZED,
            &json!({"type": "error", "status": "401", "message": "Unauthorized 401: must authenticate"}),
        )
    }

    fn html_502() -> Self {
        SimResponse {
            status: StatusCode::BAD_GATEWAY,
            content_type: "text/html",
            body: b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".to_vec(),
            retry_after: None,
        }
    }
}

impl IntoResponse for SimResponse {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        if let Some(r) = self
            .retry_after
            .and_then(|r| HeaderValue::from_str(&r).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, r);
        }
        response
    }
}

/// Which object's faults apply to a request.
enum Target<'a> {
    None,
    Pipeline(&'a str, &'a str),
    App(&'a str, &'a str),
}

impl Shared {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        value
            .strip_prefix("Bearer ")
            .is_some_and(|t| constant_time_eq(t.as_bytes(), self.token.expose().as_bytes()))
    }

    /// Runs one request: auth, faults before, the action, faults after.
    async fn respond(
        &self,
        route: Route,
        headers: &HeaderMap,
        target: Target<'_>,
        act: impl FnOnce(&mut SimState, &RenderContext<'_>, Duration) -> SimResponse,
    ) -> Response {
        let fault = {
            let mut state = self.state();
            state.stats.requests += 1;
            *state
                .stats
                .by_route
                .entry(route.as_str().to_string())
                .or_default() += 1;
            if !self.authorized(headers) {
                state.stats.unauthorized += 1;
                return SimResponse::unauthorized().into_response();
            }
            let fault = state.pick_fault(route, &target);
            if fault.is_some() {
                state.stats.faults += 1;
            }
            fault
        };
        if let Some(f) = fault.as_ref().filter(|f| f.is_before()) {
            return match f {
                Fault::ServerError => SimResponse::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServerError",
                    "simulated internal error",
                ),
                Fault::Unavailable => SimResponse::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ClusterUnavailable",
                    "cluster not available",
                ),
                Fault::RateLimited {
                    retry_after_seconds,
                } => SimResponse {
                    retry_after: Some(format!("{}", retry_after_seconds.max(0.0).ceil() as u64)),
                    ..SimResponse::error(
                        StatusCode::TOO_MANY_REQUESTS,
                        "TooManyRequests",
                        "slow down",
                    )
                },
                Fault::Forbidden => SimResponse::error(
                    StatusCode::FORBIDDEN,
                    "PermissionDenied",
                    "the token may not do this",
                ),
                _ => SimResponse::unauthorized(),
            }
            .into_response();
        }
        let response = {
            let now = self.clock.now();
            let ctx = RenderContext {
                base_url: &self.base_url,
                epoch: self.clock.epoch,
            };
            let mut state = self.state();
            act(&mut state, &ctx, now)
        };
        if matches!(
            route,
            Route::Run | Route::Stop | Route::Upgrade | Route::Admin
        ) {
            self.changed.notify_waiters();
        }
        let response = match fault {
            Some(Fault::Html502) => SimResponse::html_502(),
            Some(Fault::Truncated) => SimResponse {
                body: response.body[..response.body.len() / 2].to_vec(),
                ..response
            },
            Some(Fault::Slow { ms }) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                response
            }
            _ => response,
        };
        response.into_response()
    }
}

impl SimState {
    /// The fault for this request: an injected one first, then the random ones.
    fn pick_fault(&mut self, route: Route, target: &Target<'_>) -> Option<Fault> {
        if let Some(i) = self
            .injected
            .iter()
            .position(|f| f.route.is_none_or(|r| r == route))
        {
            let f = self.injected[i].fault.clone();
            self.injected[i].times = self.injected[i].times.saturating_sub(1);
            if self.injected[i].times == 0 {
                self.injected.remove(i);
            }
            return Some(f);
        }
        if route == Route::Admin {
            return None;
        }
        let own = match target {
            Target::Pipeline(p, id) => self
                .pipelines
                .get(&(p.to_string(), id.to_string()))
                .map(|p| p.spec.faults.clone()),
            Target::App(p, id) => self
                .apps
                .get(&(p.to_string(), id.to_string()))
                .map(|a| a.spec.faults.clone()),
            Target::None => None,
        };
        let faults = match own {
            Some(own) => self.global_faults.merged(&own),
            None => self.global_faults.clone(),
        };
        if faults.is_empty() {
            return None;
        }
        let roll = self.rng.f64();
        let mut edge = 0.0;
        let candidates = [
            (faults.error_rate, Fault::ServerError),
            (
                faults.rate_limit_rate,
                Fault::RateLimited {
                    retry_after_seconds: faults.retry_after_seconds.unwrap_or(1.0),
                },
            ),
            (faults.html_502_rate, Fault::Html502),
            (faults.truncated_rate, Fault::Truncated),
        ];
        for (rate, fault) in candidates {
            edge += rate;
            if roll < edge {
                return Some(fault);
            }
        }
        (faults.slow_ms > 0).then_some(Fault::Slow { ms: faults.slow_ms })
    }
}

/// Compares without an early exit, as a real server should for a token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Splits `p-5tfq9:p-tpk2x` and checks the namespace is the project in the URL.
fn in_project<'a>(project_ref: &str, id: &'a str) -> Option<&'a str> {
    let (ns, name) = id.split_once(':')?;
    let project = project_ref.split_once(':')?.1;
    (ns == project && !name.is_empty()).then_some(name)
}

async fn root(State(s): State<Shared_>, headers: HeaderMap) -> Response {
    s.respond(Route::Root, &headers, Target::None, |_, ctx, _| {
        SimResponse::ok(
            &json!({"type": "apiRoot", "links": {"self": format!("{}/v3", ctx.base_url)}}),
        )
    })
    .await
}

async fn get_pipeline(
    State(s): State<Shared_>,
    Path((project, pipeline)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let name = in_project(&project, &pipeline).unwrap_or("").to_string();
    s.respond(Route::GetPipeline, &headers, Target::Pipeline(&project, &name), |state, ctx, _| {
        match state.pipelines.get(&(project.clone(), name.clone())) {
            Some(p) => SimResponse::ok(&json!({
                "id": pipeline, "type": "pipeline", "baseType": "pipeline", "name": name,
                "projectId": project, "state": "active",
                "nextRun": p.next_run,
                "links": {"self": format!("{}/v3/project/{project}/pipelines/{pipeline}", ctx.base_url)},
            })),
            None => SimResponse::not_found(&format!("pipelines.project.cattle.io \"{name}\" not found")),
        }
    })
    .await
}

async fn pipeline_action(
    State(s): State<Shared_>,
    Path((project, pipeline)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = in_project(&project, &pipeline).unwrap_or("").to_string();
    let action = query.get("action").cloned().unwrap_or_default();
    let route = if action == "run" {
        Route::Run
    } else {
        Route::Unknown
    };
    let shared = s.clone();
    s.respond(
        route,
        &headers,
        Target::Pipeline(&project, &name),
        |state, ctx, now| {
            let Some(p) = state.pipelines.get_mut(&(project.clone(), name.clone())) else {
                return SimResponse::not_found(&format!(
                    "pipelines.project.cattle.io \"{name}\" not found"
                ));
            };
            if action != "run" {
                return SimResponse::action_not_available(&action);
            }
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let Some(branch) = body
                .get("branch")
                .and_then(Value::as_str)
                .filter(|b| !b.is_empty())
            else {
                return SimResponse::error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "InvalidBodyContent",
                    "branch is required",
                );
            };
            if !p.spec.branches.is_empty() && !p.spec.branches.iter().any(|b| b == branch) {
                return SimResponse::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServerError",
                    "find no pipeline config to run in the branch",
                );
            }
            let webhook = body
                .get("webhook")
                .and_then(Value::as_str)
                .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
                .map(str::to_string);
            let run = p.next_run;
            p.next_run += 1;
            let execution = SimExecution::new(&project, &p.spec, run, branch, now);
            if let Some(url) = webhook {
                tokio::spawn(super::push::call_webhook(
                    shared,
                    project.clone(),
                    name.clone(),
                    run,
                    url,
                ));
            }
            let rendered = execution.render(ctx, now, false);
            p.executions.insert(run, execution);
            *state.stats.runs.entry(pipeline.clone()).or_default() += 1;
            SimResponse::ok(&rendered)
        },
    )
    .await
}

/// Finds an execution by its id in a project.
fn find_execution<'a>(
    state: &'a mut SimState,
    project: &str,
    id: &str,
) -> Option<&'a mut SimExecution> {
    let name = in_project(project, id)?;
    let (pipeline, run) = name.rsplit_once('-')?;
    let run: u64 = run.parse().ok()?;
    state
        .pipelines
        .get_mut(&(project.to_string(), pipeline.to_string()))?
        .executions
        .get_mut(&run)
}

fn execution_pipeline(project: &str, id: &str) -> String {
    in_project(project, id)
        .and_then(|n| n.rsplit_once('-'))
        .map(|(p, _)| p.to_string())
        .unwrap_or_default()
}

async fn get_execution(
    State(s): State<Shared_>,
    Path((project, execution)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let pipeline = execution_pipeline(&project, &execution);
    s.respond(
        Route::GetExecution,
        &headers,
        Target::Pipeline(&project, &pipeline),
        |state, ctx, now| match find_execution(state, &project, &execution) {
            Some(e) => SimResponse::ok(&e.render(ctx, now, true)),
            None => SimResponse::not_found(&format!(
                "pipelineexecutions.project.cattle.io \"{}\" not found",
                execution.rsplit(':').next().unwrap_or("")
            )),
        },
    )
    .await
}

async fn execution_action(
    State(s): State<Shared_>,
    Path((project, execution)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let pipeline = execution_pipeline(&project, &execution);
    let action = query.get("action").cloned().unwrap_or_default();
    let route = if action == "stop" {
        Route::Stop
    } else {
        Route::Unknown
    };
    s.respond(
        route,
        &headers,
        Target::Pipeline(&project, &pipeline),
        |state, _, now| {
            let Some(e) = find_execution(state, &project, &execution) else {
                return SimResponse::not_found("pipelineexecution not found");
            };
            if action != "stop" {
                return SimResponse::action_not_available(&action);
            }
            if e.phase(now).is_final() {
                return SimResponse::error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "InvalidAction",
                    "action stop not available",
                );
            }
            e.stopped = Some(now);
            state.stats.stops += 1;
            SimResponse {
                status: StatusCode::OK,
                content_type: "application/json",
                body: Vec::new(),
                retry_after: None,
            }
        },
    )
    .await
}

async fn list_executions(
    State(s): State<Shared_>,
    Path(project): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let pipeline_id = query.get("pipelineId").cloned().unwrap_or_default();
    let pipeline = in_project(&project, &pipeline_id).unwrap_or("").to_string();
    s.respond(Route::ListExecutions, &headers, Target::Pipeline(&project, &pipeline), |state, ctx, now| {
        let limit = query
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(state.page_size)
            .clamp(1, state.page_size);
        let marker = query.get("marker").cloned();
        // Rancher sorts by id as text: `-10` comes before `-9`.
        let mut items: Vec<(String, Value)> = state
            .pipelines
            .iter()
            .filter(|((p, name), _)| *p == project && (pipeline_id.is_empty() || *name == pipeline))
            .flat_map(|(_, p)| p.executions.values())
            .map(|e| (e.id(), e.render(ctx, now, true)))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let total = items.len();
        let start = marker
            .map(|m| items.iter().position(|(id, _)| *id > m).unwrap_or(items.len()))
            .unwrap_or(0);
        let page: Vec<Value> = items.iter().skip(start).take(limit).map(|(_, v)| v.clone()).collect();
        let mut pagination = json!({"limit": limit, "total": total});
        if start + page.len() < total
            && let Some((last, _)) = items.get(start + page.len() - 1)
        {
            pagination["partial"] = json!(true);
            pagination["next"] = json!(format!(
                "{}/v3/project/{project}/pipelineExecutions?pipelineId={}&limit={limit}&marker={}",
                ctx.base_url,
                pipeline_id.replace(':', "%3A"),
                last.replace(':', "%3A")
            ));
        }
        SimResponse::ok(&json!({
            "type": "collection", "resourceType": "pipelineExecution",
            "data": page, "pagination": pagination,
            "links": {"self": format!("{}/v3/project/{project}/pipelineExecutions", ctx.base_url)},
            "actions": {},
        }))
    })
    .await
}

async fn get_app(
    State(s): State<Shared_>,
    Path((project, app)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let name = in_project(&project, &app).unwrap_or("").to_string();
    s.respond(
        Route::GetApp,
        &headers,
        Target::App(&project, &name),
        |state, ctx, now| match state.apps.get(&(project.clone(), name.clone())) {
            Some(a) => SimResponse::ok(&a.render(ctx, now)),
            None => SimResponse::not_found(&format!("apps.project.cattle.io \"{name}\" not found")),
        },
    )
    .await
}

async fn app_action(
    State(s): State<Shared_>,
    Path((project, app)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = in_project(&project, &app).unwrap_or("").to_string();
    let action = query.get("action").cloned().unwrap_or_default();
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
            if action != "upgradeoutter" {
                return SimResponse::action_not_available(&action);
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
            a.upgrade(tag, now);
            let rendered = a.render(ctx, now);
            *state.stats.upgrades.entry(app.clone()).or_default() += 1;
            SimResponse::ok(&rendered)
        },
    )
    .await
}

async fn deploy_logs(
    State(s): State<Shared_>,
    Path((project, app)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let name = in_project(&project, &app).unwrap_or("").to_string();
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
                LogShape::Text | LogShape::Missing => SimResponse {
                    status: StatusCode::OK,
                    content_type: "text/plain; charset=utf-8",
                    body: format!("{}\n", lines.join("\n")).into_bytes(),
                    retry_after: None,
                },
                LogShape::JsonString => SimResponse::ok(&json!(lines.join("\n"))),
                LogShape::JsonArray => SimResponse::ok(&json!(lines)),
                LogShape::JsonObject => {
                    SimResponse::ok(&json!({"type": "deployLog", "data": lines}))
                }
            }
        },
    )
    .await
}

async fn unknown(State(s): State<Shared_>, headers: HeaderMap) -> Response {
    s.respond(Route::Unknown, &headers, Target::None, |_, _, _| {
        SimResponse::not_found("the requested resource could not be found")
    })
    .await
}

async fn admin_stats(State(s): State<Shared_>, headers: HeaderMap) -> Response {
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

async fn admin_advance(State(s): State<Shared_>, headers: HeaderMap, body: Bytes) -> Response {
    let seconds = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("seconds").and_then(Value::as_f64))
        .filter(|s| s.is_finite() && *s >= 0.0);
    let sim = super::Simulator { shared: s.clone() };
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

async fn admin_pipeline(State(s): State<Shared_>, headers: HeaderMap, body: Bytes) -> Response {
    admin_upsert(s, &headers, &body, super::Simulator::upsert_pipeline).await
}

async fn admin_app(State(s): State<Shared_>, headers: HeaderMap, body: Bytes) -> Response {
    admin_upsert(s, &headers, &body, super::Simulator::upsert_app).await
}

/// Adds or replaces a pipeline or an app from its scenario in the body.
async fn admin_upsert<T: serde::de::DeserializeOwned>(
    s: Shared_,
    headers: &HeaderMap,
    body: &[u8],
    upsert: fn(&super::Simulator, T) -> Result<(), String>,
) -> Response {
    let sim = super::Simulator { shared: s.clone() };
    let result = match serde_json::from_slice::<T>(body) {
        Ok(spec) if s.authorized(headers) => upsert(&sim, spec),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    };
    s.respond(
        Route::Admin,
        headers,
        Target::None,
        |_, _, _| match result {
            Ok(()) => SimResponse::ok(&json!({"ok": true})),
            Err(e) => bad_request(&e),
        },
    )
    .await
}

async fn admin_fault(State(s): State<Shared_>, headers: HeaderMap, body: Bytes) -> Response {
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
async fn admin_down(State(s): State<Shared_>, headers: HeaderMap, body: Bytes) -> Response {
    let seconds = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("seconds").and_then(Value::as_f64))
        .filter(|s| s.is_finite() && *s > 0.0);
    let authorized = s.authorized(&headers);
    if let (Some(secs), true) = (seconds, authorized) {
        let sim = super::Simulator { shared: s.clone() };
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

/// Rancher's subscribe WebSocket for one project.
async fn subscribe(
    State(s): State<Shared_>,
    Path(project): Path<String>,
    headers: HeaderMap,
    upgrade: axum::extract::WebSocketUpgrade,
) -> Response {
    {
        let mut state = s.state();
        state.stats.requests += 1;
        *state.stats.by_route.entry("subscribe".into()).or_default() += 1;
        if !s.authorized(&headers) {
            state.stats.unauthorized += 1;
            return SimResponse::unauthorized().into_response();
        }
    }
    if !s.subscribe {
        return SimResponse::not_found("the requested resource could not be found").into_response();
    }
    upgrade.on_upgrade(move |socket| super::push::subscription(socket, s, project))
}

async fn admin_drop_subscriptions(State(s): State<Shared_>, headers: HeaderMap) -> Response {
    let sim = super::Simulator { shared: s.clone() };
    s.respond(Route::Admin, &headers, Target::None, |_, _, _| {
        sim.drop_subscriptions();
        SimResponse::ok(&json!({"ok": true}))
    })
    .await
}

async fn admin_timeline(State(s): State<Shared_>, headers: HeaderMap) -> Response {
    if !s.authorized(&headers) {
        return SimResponse::unauthorized().into_response();
    }
    let timeline = super::Simulator { shared: s.clone() }.timeline();
    SimResponse::ok(&serde_json::to_value(timeline).unwrap_or(Value::Null)).into_response()
}
