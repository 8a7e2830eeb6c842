//! The connection's own thread. The store's methods are synchronous and are called from
//! inside tokio tasks, on multi-thread and current-thread runtimes alike (and in tests
//! whose clock is paused), where blocking on the caller's runtime would stall or panic.
//! So the connection lives on a dedicated OS thread with its own current-thread
//! runtime; a call sends its work over a channel and waits for the reply on a plain
//! blocking channel, which needs no runtime at all. Calls run one at a time, in order,
//! as they do on SQLite's single connection.
//!
//! A connection that broke (the server restarted, the network dropped, a call got no
//! answer in time) is made anew for the next call, so a short outage fails the calls
//! made during it with [`StoreError::Unreachable`] and no more.

use std::sync::Mutex;
use std::sync::mpsc as blocking;
use std::thread::JoinHandle;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_postgres::{Client, Config};

use super::failure::{Failure, Location};
use super::{schema, tls};
use crate::store::StoreError;

/// How long one call (a transaction, or a connection attempt) may wait for the
/// database before it is told unreachable: long enough for a busy server, short enough
/// that a leader notices an outage well within its lease.
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Work for the database thread: it gets the connection (or why there is none), replies
/// to its caller itself, and says whether the connection is broken.
type Work = Box<dyn for<'c> FnOnce(Result<&'c mut Client, Failure>) -> BoxFuture<'c, bool> + Send>;

/// A closure as [`Work`] (here the compiler learns its higher-ranked signature).
fn work<F>(f: F) -> Work
where
    F: for<'c> FnOnce(Result<&'c mut Client, Failure>) -> BoxFuture<'c, bool> + Send + 'static,
{
    Box::new(f)
}

/// The handle on the database thread.
pub(super) struct Worker {
    /// `None` once closed: dropping it ends the thread's loop and the connection.
    sender: Mutex<Option<mpsc::UnboundedSender<Work>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    at: Location,
}

impl Worker {
    /// Starts the thread, connects and migrates the schema, and answers once that is
    /// done (or failed), so a store that opened is one that works.
    /// With `migrate: false` it only connects (to look, changing nothing).
    pub(super) fn start_with(
        config: Config,
        at: Location,
        migrate: bool,
    ) -> Result<Worker, StoreError> {
        let (ready, started) = blocking::sync_channel(1);
        let (sender, receiver) = mpsc::unbounded_channel();
        let thread_at = at.clone();
        let thread = std::thread::Builder::new()
            .name("releasebot-postgres".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(serve(config, thread_at, receiver, ready, migrate)),
                    Err(e) => {
                        let _ = ready.send(Err(Failure::CannotOpen(e.to_string())));
                    }
                }
            })
            .map_err(|e| StoreError::CannotOpen {
                path: at.shown().to_string(),
                detail: e.to_string(),
            })?;
        let outcome = started.recv();
        let worker = Worker {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            at,
        };
        match outcome {
            Ok(Ok(())) => Ok(worker),
            Ok(Err(f)) => {
                worker.stop();
                Err(f.told(&worker.at))
            }
            Err(_) => {
                worker.stop();
                Err(worker.closed())
            }
        }
    }

    /// Runs `f` on the connection and waits for its answer. Blocks this thread (not a
    /// runtime) for at most about [`CALL_TIMEOUT`].
    pub(super) fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnOnce(&'c mut Client) -> BoxFuture<'c, Result<R, Failure>> + Send + 'static,
    {
        let (reply, answer) = blocking::sync_channel(1);
        let job = work(move |client| {
            Box::pin(async move {
                let result = match client {
                    Ok(c) => tokio::time::timeout(CALL_TIMEOUT, f(c))
                        .await
                        .unwrap_or_else(|_| Err(no_answer())),
                    Err(failure) => Err(failure),
                };
                let broken = result
                    .as_ref()
                    .err()
                    .is_some_and(Failure::breaks_connection);
                let _ = reply.send(result);
                broken
            })
        });
        let sent = match &*self.sender.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(s) => s.send(job).is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.closed());
        }
        match answer.recv() {
            Ok(result) => result.map_err(|f| f.told(&self.at)),
            Err(_) => Err(self.closed()),
        }
    }

    /// Ends the thread after the calls already sent, and closes the connection.
    pub(super) fn stop(&self) {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    fn closed(&self) -> StoreError {
        StoreError::Closed {
            path: self.at.shown().to_string(),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn no_answer() -> Failure {
    Failure::Unreachable(format!(
        "no answer within {} seconds",
        CALL_TIMEOUT.as_secs()
    ))
}

/// The database thread: connect and migrate, say so, then run each call in turn,
/// connecting again before a call when the connection broke.
async fn serve(
    config: Config,
    at: Location,
    mut calls: mpsc::UnboundedReceiver<Work>,
    ready: blocking::SyncSender<Result<(), Failure>>,
    migrate: bool,
) {
    let first = match connect(&config, &at).await {
        Ok(client) if !migrate => Ok(client),
        Ok(mut client) => match tokio::time::timeout(CALL_TIMEOUT, schema::migrate(&mut client))
            .await
            .unwrap_or_else(|_| Err(no_answer()))
        {
            Ok(()) => Ok(client),
            Err(f) => Err(f),
        },
        Err(f) => Err(f),
    };
    let mut client = match first {
        Ok(c) => {
            let _ = ready.send(Ok(()));
            Some(c)
        }
        Err(f) => {
            let _ = ready.send(Err(f));
            return;
        }
    };
    while let Some(call) = calls.recv().await {
        let connection = match client.take().filter(|c| !c.is_closed()) {
            Some(c) => Ok(c),
            None => connect(&config, &at).await,
        };
        match connection {
            Ok(mut c) => {
                if !call(Ok(&mut c)).await {
                    client = Some(c);
                }
            }
            Err(f) => {
                call(Err(f)).await;
            }
        }
    }
}

/// A new connection, its driving task spawned on this thread's runtime.
async fn connect(config: &Config, at: &Location) -> Result<Client, Failure> {
    let (client, driver) = tokio::time::timeout(CALL_TIMEOUT, tls::connect(config))
        .await
        .unwrap_or_else(|_| Err(no_answer()))?;
    let at = at.clone();
    tokio::spawn(async move {
        if let Err(e) = driver.await {
            tracing::warn!(
                database = at.shown(),
                error = %at.scrub(&e.to_string()),
                "the database connection ended"
            );
        }
    });
    Ok(client)
}
