//! Which endpoint a request hit, and what goes wrong with it.

use serde::{Deserialize, Serialize};

/// Which endpoint a request hit, for counting and for aiming injected faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Root,
    GetPipeline,
    Run,
    GetExecution,
    ListExecutions,
    Stop,
    GetApp,
    Upgrade,
    DeployLogs,
    Admin,
    Unknown,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Root => "root",
            Route::GetPipeline => "get_pipeline",
            Route::Run => "run",
            Route::GetExecution => "get_execution",
            Route::ListExecutions => "list_executions",
            Route::Stop => "stop",
            Route::GetApp => "get_app",
            Route::Upgrade => "upgrade",
            Route::DeployLogs => "deploy_logs",
            Route::Admin => "admin",
            Route::Unknown => "unknown",
        }
    }
}

/// One fault, injected for the next `times` requests to `route` (any route if none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectedFault {
    #[serde(default)]
    pub route: Option<Route>,
    pub fault: Fault,
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// What goes wrong with a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// A norman 500 `ServerError` before anything is done.
    ServerError,
    /// A norman 503 `ClusterUnavailable` before anything is done.
    Unavailable,
    /// 429 with `Retry-After` before anything is done.
    RateLimited { retry_after_seconds: f64 },
    /// 401 with Rancher's odd body, as if the token had been revoked.
    Unauthorized,
    /// An ingress's HTML 502 page, after the request was carried out.
    Html502,
    /// The JSON cut off half way, after the request was carried out.
    Truncated,
    /// The response held back this long (tokio time), after the request was carried out.
    Slow { ms: u64 },
    /// 403 `PermissionDenied` before anything is done.
    Forbidden,
    /// Norman's 409 `Conflict` before anything is done: a read-modify-write race with
    /// a controller, which applied nothing (`docs/paas.md#upgrading-an-app`).
    Conflict,
    /// A norman 500 `ServerError` AFTER the request was carried out, as Rancher's
    /// `run` answers when reading the new execution back fails
    /// (`docs/paas.md#running-a-pipeline`): the change happened, the answer says it did
    /// not.
    ServerErrorAfter,
}
