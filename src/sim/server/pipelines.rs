//! Pipelines and their executions: run, read, list, stop.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::response::SimResponse;
use super::{Shared_, Target, in_project};
use crate::sim::execution::SimExecution;
use crate::sim::model::secs;
use crate::sim::{Route, SimState};

pub(super) async fn get_pipeline(
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

pub(super) async fn pipeline_action(
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
                return SimResponse::invalid_action(&action);
            }
            let request = match RunRequest::parse(&body, &p.spec.branches) {
                Ok(request) => request,
                Err(refused) => return refused,
            };
            let run = p.next_run;
            p.next_run += 1;
            let execution = SimExecution::new(&project, &p.spec, run, &request.branch, now);
            if let Some(url) = request.webhook {
                tokio::spawn(crate::sim::push::call_webhook(
                    shared,
                    project.clone(),
                    name.clone(),
                    run,
                    url,
                ));
            }
            let answer = if p.spec.run_fails_after_create {
                already_exists(&execution)
            } else {
                SimResponse::ok(&execution.render(ctx, now, false))
            };
            // A slow git provider: the execution exists and runs meanwhile.
            let hold = s.clock.real(secs(p.spec.run_delay_seconds));
            p.executions.insert(run, execution);
            *state.stats.runs.entry(pipeline.clone()).or_default() += 1;
            SimResponse { hold, ..answer }
        },
    )
    .await
}

/// The body of a `run` request, checked as Rancher checks it.
struct RunRequest {
    branch: String,
    webhook: Option<String>,
}

impl RunRequest {
    /// Rancher's 422 without a branch, and its 500 for a branch without a pipeline
    /// file (`branches`, when not empty, are those that have one).
    fn parse(body: &[u8], branches: &[String]) -> Result<Self, SimResponse> {
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let Some(branch) = body
            .get("branch")
            .and_then(Value::as_str)
            .filter(|b| !b.is_empty())
        else {
            return Err(SimResponse::error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "InvalidBodyContent",
                "branch is required",
            ));
        };
        if !branches.is_empty() && !branches.iter().any(|b| b == branch) {
            return Err(SimResponse::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServerError",
                "find no pipeline config to run in the branch",
            ));
        }
        let webhook = body
            .get("webhook")
            .and_then(Value::as_str)
            .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
            .map(str::to_string);
        Ok(RunRequest {
            branch: branch.to_string(),
            webhook,
        })
    }
}

/// Rancher's 500 when reading the new execution back fails, or two runs raced for
/// the same `nextRun` (`docs/paas.md#running-a-pipeline`): the execution exists.
fn already_exists(execution: &SimExecution) -> SimResponse {
    SimResponse::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ServerError",
        &format!(
            "pipelineexecutions.project.cattle.io \"{}-{}\" already exists",
            execution.pipeline, execution.run
        ),
    )
}

/// Finds an execution by its id in a project.
pub(super) fn find_execution<'a>(
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

pub(super) fn execution_pipeline(project: &str, id: &str) -> String {
    in_project(project, id)
        .and_then(|n| n.rsplit_once('-'))
        .map(|(p, _)| p.to_string())
        .unwrap_or_default()
}

pub(super) async fn get_execution(
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

pub(super) async fn execution_action(
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
            // A finished execution offers no `stop` (`docs/paas.md#stopping-a-build`).
            if action != "stop" || e.phase(now).is_final() {
                return SimResponse::invalid_action(&action);
            }
            e.stopped = Some(now);
            state.stats.stops += 1;
            SimResponse::raw(StatusCode::OK, "application/json", Vec::new())
        },
    )
    .await
}

pub(super) async fn list_executions(
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
                s.next_base_url.as_deref().unwrap_or(ctx.base_url),
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
