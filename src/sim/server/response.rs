//! A response before it becomes HTTP, and the norman error bodies.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A response before it becomes HTTP, so faults can cut or replace it.
pub(crate) struct SimResponse {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub retry_after: Option<String>,
    /// How long (tokio time) the answer is held back once the request was carried
    /// out: a slow git provider, or a `Slow` fault.
    pub hold: std::time::Duration,
}

impl SimResponse {
    pub fn json(status: StatusCode, v: &Value) -> Self {
        Self::raw(status, "application/json", v.to_string().into_bytes())
    }

    pub fn raw(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Self {
        SimResponse {
            status,
            content_type,
            body,
            retry_after: None,
            hold: std::time::Duration::ZERO,
        }
    }

    pub fn ok(v: &Value) -> Self {
        Self::json(StatusCode::OK, v)
    }

    /// A norman error body.
    pub fn error(status: StatusCode, code: &str, message: &str) -> Self {
        Self::json(
            status,
            &json!({"type": "error", "baseType": "error", "status": status.as_u16(),
                    "code": code, "message": message}),
        )
    }

    /// Norman's answer to an action the object does not offer (not in its `actions`,
    /// or unknown): 422, not 404 (`docs/paas.md#errors`).
    pub fn invalid_action(action: &str) -> Self {
        Self::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "InvalidAction",
            &format!("Invalid action: {action}"),
        )
    }

    /// An action the object offers but the simulator does not carry out (an app's
    /// stock `upgrade` and `rollback`).
    pub fn not_simulated(action: &str) -> Self {
        Self::error(
            StatusCode::NOT_FOUND,
            "ActionNotAvailable",
            &format!("action {action:?} not available"),
        )
    }

    pub fn not_found(message: &str) -> Self {
        Self::error(StatusCode::NOT_FOUND, "NotFound", message)
    }

    /// The 401 of Rancher's auth layer: status as a string, no code.
    pub fn unauthorized() -> Self {
        Self::json(
            StatusCode::UNAUTHORIZED,
            &json!({"type": "error", "status": "401", "message": "Unauthorized 401: must authenticate"}),
        )
    }

    pub fn html_502() -> Self {
        Self::raw(
            StatusCode::BAD_GATEWAY,
            "text/html",
            b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".to_vec(),
        )
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
