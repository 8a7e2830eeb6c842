//! The accept loop: the router served over HTTP/1 (hyper) with the limits `axum::serve`
//! lacks, so that nobody can hold the endpoints down by opening connections and
//! saying little or nothing on them.
//!
//! - A request's header must arrive whole within [`Limits::header_timeout`] of the
//!   server starting to wait for it (when the connection opens, or after the previous
//!   answer on a kept-alive one, which is thus closed when idle that long), and be at
//!   most [`Limits::max_header_bytes`] in at most [`Limits::max_headers`] fields (431
//!   otherwise).
//! - A whole request, its body read and its answer made, takes at most
//!   [`Limits::request_timeout`] (408 otherwise, and the connection closes).
//! - At most [`Limits::max_connections`] connections are open. When they all are, a
//!   new one takes the place of the oldest that is not in the middle of a request (one
//!   still sending its header, or idle between requests); when every one is in a
//!   request, the new one is closed at once. A connection that only stalls thus holds
//!   nothing anyone needs: `/healthz` gets in however many stall, and the header
//!   timeout closes them anyway. What can fill the limit is requests being answered,
//!   and each of those ends within the request timeout.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Body as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// What one client may take of the HTTP endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a request's header may take to arrive, and a connection may stay idle
    /// between requests.
    pub header_timeout: Duration,
    /// How long a request may take from its header on: its body read and its answer.
    pub request_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// The largest request header (request line included), in bytes.
    pub max_header_bytes: usize,
    /// The most header fields in a request.
    pub max_headers: usize,
}

impl Default for Limits {
    /// A probe, a scrape or a webhook call sends a few hundred bytes at once and is
    /// answered in milliseconds (`/readyz` may wait on a PaaS request, which gives up
    /// well within the request timeout); a few hundred connections are far more than
    /// the probes, the scraper and the PaaS need, and far below a process's file limit.
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 256,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
        }
    }
}

/// hyper's smallest read buffer; the header limit is enforced within it.
const MIN_READ_BUFFER: usize = 8192;
/// How long accepting pauses after the listener failed (no file descriptor left).
const ACCEPT_PAUSE: Duration = Duration::from_millis(250);

/// Serves `router` on `listener` within `limits` until `shutdown` fires, then lets
/// the requests in flight end.
pub(super) async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(limits.max_headers)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.max_header_bytes.max(MIN_READ_BUFFER));
    let server = Arc::new(Server {
        builder,
        service: TowerToHyperService::new(router),
        limits,
        metrics,
        shutdown: shutdown.clone(),
        open: Mutex::new(Open::default()),
        emptied: Notify::new(),
    });
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.wait() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // The client gave up before it was accepted: nothing to do.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept HTTP connections");
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        match server.admit() {
            Some((id, conn)) => {
                tokio::spawn(server.clone().connection(stream, id, conn));
            }
            None => {
                // Dropped: closed at once, never queued behind the requests in flight.
                server.metrics.http_cut("connection_limit");
                drop(stream);
            }
        }
    }
    drop(listener);
    // The connections close as their requests end (each got the signal too).
    server.drained().await;
}

struct Server {
    builder: http1::Builder,
    service: TowerToHyperService<Router>,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
    open: Mutex<Open>,
    /// Rings when the last connection closed.
    emptied: Notify,
}

/// The connections open, oldest first.
#[derive(Default)]
struct Open {
    next: u64,
    conns: BTreeMap<u64, Arc<Conn>>,
}

/// One open connection, as the limit sees it.
#[derive(Default)]
struct Conn {
    /// Requests being answered on it now.
    in_request: AtomicUsize,
    /// Asked to make room for a newer connection.
    evicted: AtomicBool,
    evict: Notify,
}

impl Server {
    /// Makes room for a new connection, or says there is none.
    fn admit(&self) -> Option<(u64, Arc<Conn>)> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let max = self.limits.max_connections.max(1);
        // Evicted ones are on their way out; they count again only if they linger.
        let staying = open
            .conns
            .values()
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .count();
        if open.conns.len() >= 2 * max {
            return None;
        }
        if staying >= max {
            let oldest_idle = open.conns.values().find(|c| {
                !c.evicted.load(Ordering::Relaxed) && c.in_request.load(Ordering::Relaxed) == 0
            })?;
            oldest_idle.evicted.store(true, Ordering::Relaxed);
            oldest_idle.evict.notify_one();
        }
        let id = open.next;
        open.next += 1;
        let conn = Arc::new(Conn::default());
        open.conns.insert(id, conn.clone());
        self.metrics.http_connection(true);
        Some((id, conn))
    }

    fn close(&self, id: u64) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.conns.remove(&id);
        self.metrics.http_connection(false);
        if open.conns.is_empty() {
            self.emptied.notify_waiters();
        }
    }

    /// Resolves once no connection is open.
    async fn drained(&self) {
        loop {
            let emptied = self.emptied.notified();
            tokio::pin!(emptied);
            emptied.as_mut().enable();
            if self
                .open
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .conns
                .is_empty()
            {
                return;
            }
            emptied.await;
        }
    }

    /// Serves one connection until it ends, is evicted, or (after the shutdown signal)
    /// its request in flight is answered.
    async fn connection(self: Arc<Self>, stream: TcpStream, id: u64, conn: Arc<Conn>) {
        let server = self.clone();
        let in_request = conn.clone();
        let service = hyper::service::service_fn(move |request| {
            server
                .clone()
                .answer(request, InRequest::new(in_request.clone()))
        });
        let serving = self.builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(serving);
        let ended = tokio::select! {
            ended = serving.as_mut() => Some(ended),
            () = conn.evict.notified() => None,
            () = self.shutdown.wait() => {
                serving.as_mut().graceful_shutdown();
                Some(serving.as_mut().await)
            }
        };
        match ended {
            // Dropping the connection closes it.
            None => self.metrics.http_cut("evicted"),
            Some(Ok(())) => {}
            Some(Err(e)) if e.is_timeout() => self.metrics.http_cut("header_timeout"),
            Some(Err(e)) if e.is_parse_too_large() => self.metrics.http_cut("header_too_large"),
            Some(Err(e)) => tracing::debug!(error = %e, "an HTTP connection failed"),
        }
        self.close(id);
    }

    /// One request, answered by the router within the request timeout.
    async fn answer(
        self: Arc<Self>,
        request: Request<Incoming>,
        _in_request: InRequest,
    ) -> Result<Response, Infallible> {
        let ended = Arc::new(AtomicBool::new(request.body().is_end_stream()));
        let request = request.map(|inner| Watched {
            inner,
            ended: ended.clone(),
        });
        let answered = self.service.call(request);
        match tokio::time::timeout(self.limits.request_timeout, answered).await {
            Ok(Ok(mut response)) => {
                // Answered before its body was read to the end (a wrong secret, a body
                // too large, no such route): the connection cannot carry another
                // request, so the answer says it closes, or the client would send its
                // next request into a connection being closed.
                if !ended.load(Ordering::Relaxed) {
                    response.headers_mut().insert(
                        header::CONNECTION,
                        header::HeaderValue::from_static("close"),
                    );
                }
                Ok(response)
            }
            Ok(Err(never)) => match never {},
            Err(_) => {
                self.metrics.http_cut("request_timeout");
                Ok((
                    StatusCode::REQUEST_TIMEOUT,
                    [(header::CONNECTION, "close")],
                    "the request took too long\n",
                )
                    .into_response())
            }
        }
    }
}

/// A request's body that says when it has been read to its end.
struct Watched {
    inner: Incoming,
    ended: Arc<AtomicBool>,
}

impl hyper::body::Body for Watched {
    type Data = axum::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(None) = polled {
            self.ended.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Marks its connection as in a request while it lives.
struct InRequest(Arc<Conn>);

impl InRequest {
    fn new(conn: Arc<Conn>) -> Self {
        conn.in_request.fetch_add(1, Ordering::Relaxed);
        InRequest(conn)
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        self.0.in_request.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An accept error about the one connection (it was reset before being accepted),
/// not about the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
