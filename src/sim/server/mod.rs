//! The simulator's HTTP surface: Rancher's v3 routes (`pipelines.rs`, `apps.rs`) and
//! a small admin API (`admin.rs`), all answered through [`Shared::respond`] so auth,
//! counting and faults are the same everywhere.

mod admin;
mod apps;
mod pipelines;
mod response;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::model::RenderContext;
use super::{Fault, Route, Shared, SimState};
use response::SimResponse;

type Shared_ = Arc<Shared>;

pub(crate) fn router(shared: Shared_) -> Router {
    Router::new()
        .route("/v3", get(root))
        .route(
            "/v3/project/{project}/pipelines/{pipeline}",
            get(pipelines::get_pipeline).post(pipelines::pipeline_action),
        )
        .route(
            "/v3/project/{project}/pipelineExecutions",
            get(pipelines::list_executions),
        )
        .route(
            "/v3/project/{project}/pipelineExecutions/{execution}",
            get(pipelines::get_execution).post(pipelines::execution_action),
        )
        .route(
            "/v3/project/{project}/apps/{app}",
            get(apps::get_app).post(apps::app_action),
        )
        .route(
            "/v3/project/{project}/deployLogs/{app}",
            get(apps::deploy_logs),
        )
        .route("/v3/project/{project}/subscribe", get(subscribe))
        .route("/admin/stats", get(admin::stats))
        .route("/admin/timeline", get(admin::timeline))
        .route("/admin/advance", post(admin::advance))
        .route("/admin/pipelines", post(admin::pipeline))
        .route("/admin/apps", post(admin::app))
        .route("/admin/faults", post(admin::fault))
        .route("/admin/down", post(admin::down))
        .route("/admin/drop-subscriptions", post(admin::drop_subscriptions))
        .fallback(unknown)
        .with_state(shared)
}

/// Which object's faults apply to a request.
pub(super) enum Target<'a> {
    None,
    Pipeline(&'a str, &'a str),
    App(&'a str, &'a str),
}

impl Target<'_> {
    /// The object as Kubernetes names it in an error message.
    fn described(&self) -> String {
        match self {
            Target::App(_, name) => format!("apps.project.cattle.io \"{name}\""),
            Target::Pipeline(_, name) => format!("pipelines.project.cattle.io \"{name}\""),
            Target::None => "the object".to_string(),
        }
    }
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
        if let Some(refused) = fault.as_ref().and_then(|f| refusal(f, &target)) {
            return refused.into_response();
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
            Some(Fault::Slow { ms }) => SimResponse {
                hold: response.hold + Duration::from_millis(ms),
                ..response
            },
            Some(Fault::ServerErrorAfter) => SimResponse {
                hold: response.hold,
                ..SimResponse::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServerError",
                    "simulated internal error after the request was carried out",
                )
            },
            _ => response,
        };
        if !response.hold.is_zero() {
            tokio::time::sleep(response.hold).await;
        }
        response.into_response()
    }
}

/// The answer to a request a fault stops before anything is done; `None` for the
/// faults that let the request be carried out first.
fn refusal(fault: &Fault, target: &Target<'_>) -> Option<SimResponse> {
    let refused = match fault {
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
        Fault::Conflict => SimResponse::error(
            StatusCode::CONFLICT,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on {}: the object has been modified; \
                 please apply your changes to the latest version and try again",
                target.described()
            ),
        ),
        Fault::Unauthorized => SimResponse::unauthorized(),
        Fault::Html502 | Fault::Truncated | Fault::Slow { .. } | Fault::ServerErrorAfter => {
            return None;
        }
    };
    Some(refused)
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
pub(super) fn in_project<'a>(project_ref: &str, id: &'a str) -> Option<&'a str> {
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

async fn unknown(State(s): State<Shared_>, headers: HeaderMap) -> Response {
    s.respond(Route::Unknown, &headers, Target::None, |_, _, _| {
        SimResponse::not_found("the requested resource could not be found")
    })
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
    upgrade.on_upgrade(move |socket| crate::sim::push::subscription(socket, s, project))
}
