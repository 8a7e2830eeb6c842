//! Rancher's subscribe WebSocket (`docs/paas.md#learning-of-changes`): the
//! PaaS pushes every change of the project's executions and apps as it happens.
//!
//! `GET /v3/project/<cluster:project>/subscribe?resourceTypes=…` upgraded to a
//! WebSocket streams `{"name":"resource.change","data":<resource>}`, `resource.remove`
//! and `{"name":"ping"}` every 5 s. No `Origin` header is sent (Rancher would check it).

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{App, Execution, PaasClient, PaasError, ProjectRef};

/// The largest pushed message read.
const MAX_MESSAGE: usize = 8 * 1024 * 1024;

/// Something the PaaS pushed.
#[derive(Debug, Clone, PartialEq)]
pub enum PushEvent {
    Execution(Box<Execution>),
    App(Box<App>),
    /// An object was removed (its id).
    Removed(String),
    /// The server's keep-alive.
    Ping,
}

/// An open subscription to one project.
pub struct Subscription {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl PaasClient {
    /// Opens the subscribe WebSocket of a project, for executions and apps.
    pub async fn subscribe(&self, project: &ProjectRef) -> Result<Subscription, PaasError> {
        let base = self.base_url();
        let ws_base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            return Err(PaasError::Unreachable {
                host: self.host(),
                detail: "the PaaS URL is neither http nor https".into(),
            });
        };
        let url = format!(
            "{ws_base}/v3/project/{}:{}/subscribe?resourceTypes=pipelineExecution&resourceTypes=app",
            super::transport::seg(project.cluster.as_str()),
            super::transport::seg(project.project.as_str())
        );
        let mut request = url
            .into_client_request()
            .map_err(|e| PaasError::Unreachable {
                host: self.host(),
                detail: format!("bad subscribe URL ({e})"),
            })?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", self.inner.config.token.expose()))
            .map_err(|_| PaasError::Unauthorized)?;
        request.headers_mut().insert("authorization", bearer);
        request.headers_mut().insert(
            "user-agent",
            HeaderValue::from_static(concat!("releasebot/", env!("CARGO_PKG_VERSION"))),
        );
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), false);
        let timeout = self.inner.config.connect_timeout + self.inner.config.request_timeout;
        let (socket, _) = match tokio::time::timeout(timeout, connect).await {
            Err(_) => return Err(PaasError::Timeout { after: timeout }),
            Ok(Err(e)) => return Err(self.handshake_error(e)),
            Ok(Ok(ok)) => ok,
        };
        Ok(Subscription { socket })
    }

    fn handshake_error(&self, e: tungstenite::Error) -> PaasError {
        match e {
            tungstenite::Error::Http(response) => match response.status().as_u16() {
                401 => PaasError::Unauthorized,
                403 => PaasError::Forbidden {
                    code: "PermissionDenied".into(),
                    message: "the token may not subscribe".into(),
                },
                404 => PaasError::NotFound {
                    what: "subscribe endpoint",
                    code: "NotFound".into(),
                    message: "this PaaS does not push changes".into(),
                },
                status => PaasError::Server {
                    status,
                    detail: "the subscribe WebSocket was refused".into(),
                },
            },
            tungstenite::Error::Io(io) => PaasError::Unreachable {
                host: self.host(),
                detail: io.to_string(),
            },
            other => PaasError::Unreachable {
                host: self.host(),
                detail: crate::redact::text(&other.to_string()),
            },
        }
    }
}

impl Subscription {
    /// The next event, waiting at most `timeout`; `Ok(None)` when the server closed
    /// the connection. Messages this version does not understand are skipped.
    pub async fn next(&mut self, timeout: Duration) -> Result<Option<PushEvent>, PaasError> {
        loop {
            let message = match tokio::time::timeout(timeout, self.socket.next()).await {
                Err(_) => return Err(PaasError::Timeout { after: timeout }),
                Ok(None) => return Ok(None),
                Ok(Some(Err(e))) => {
                    return Err(PaasError::Unreachable {
                        host: "the subscribe WebSocket".into(),
                        detail: e.to_string(),
                    });
                }
                Ok(Some(Ok(m))) => m,
            };
            let text = match message {
                Message::Text(t) => t.to_string(),
                Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                Message::Close(_) => return Ok(None),
                // Protocol pings are answered by tungstenite; a pong means the link lives.
                Message::Ping(_) | Message::Pong(_) => return Ok(Some(PushEvent::Ping)),
                Message::Frame(_) => continue,
            };
            if let Some(event) = decode_event(&text) {
                return Ok(Some(event));
            }
        }
    }
}

/// Decodes one pushed message; `None` for anything not understood.
pub fn decode_event(text: &str) -> Option<PushEvent> {
    let v: Value = serde_json::from_str(text).ok()?;
    let name = v.get("name")?.as_str()?;
    match name {
        "ping" => Some(PushEvent::Ping),
        "resource.change" | "resource.create" => {
            let data = v.get("data")?;
            match data.get("type").and_then(Value::as_str)? {
                "pipelineExecution" => Execution::decode(data)
                    .ok()
                    .map(|e| PushEvent::Execution(Box::new(e))),
                "app" => App::decode(data).ok().map(|a| PushEvent::App(Box::new(a))),
                _ => None,
            }
        }
        "resource.remove" => v
            .get("data")
            .and_then(|d| d.get("id"))
            .and_then(Value::as_str)
            .map(|id| PushEvent::Removed(id.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_messages_decode() {
        assert_eq!(decode_event(r#"{"name":"ping"}"#), Some(PushEvent::Ping));
        let change = r#"{"name":"resource.change","data":{"type":"pipelineExecution","id":"p-1:p-2-3","executionState":"Success"}}"#;
        assert!(matches!(decode_event(change), Some(PushEvent::Execution(e)) if e.run == 3));
        let app =
            r#"{"name":"resource.change","data":{"type":"app","id":"p-1:web","state":"active"}}"#;
        assert!(matches!(decode_event(app), Some(PushEvent::App(a)) if a.name == "web"));
        assert_eq!(
            decode_event(r#"{"name":"resource.remove","data":{"id":"p-1:web"}}"#),
            Some(PushEvent::Removed("p-1:web".into()))
        );
        for junk in [
            "",
            "{",
            "[]",
            r#"{"name":"resource.change"}"#,
            r#"{"name":"resource.change","data":{"type":"node"}}"#,
        ] {
            assert_eq!(decode_event(junk), None, "{junk}");
        }
    }
}
