//! The chat adapters: each turns a platform's events into [`crate::commands::ChatEvent`]s
//! and performs the engine's requests to post, edit, open threads and react
//! ([`crate::chat::Chat`]). A new platform is a new module here implementing
//! [`Adapter`]; nothing below knows any of them, and the application assembles whichever
//! is configured.
//!
//! - [`crate::discord`]: Discord, on serenity (a module of its own, the only one that
//!   knows serenity).
//! - [`shell`]: the terminal, for trying releasebot with no account and for scripts.
//! - [`memory`]: an in-memory chat that records everything, for tests and benchmarks.

pub mod memory;
pub mod shell;

use std::sync::Arc;

use async_trait::async_trait;

use crate::chat::Chat;
use crate::commands::EventSink;
use crate::engine::Engine;
use crate::shutdown::Shutdown;

/// A chat platform, as the application drives it.
#[async_trait]
pub trait Adapter: Send + Sync {
    /// What it is, for the start-up line: `Discord as releasebot`, `terminal chat as alice`.
    fn describe(&self) -> String;

    /// The chat the engine posts to.
    fn chat(&self) -> Arc<dyn Chat>;

    /// Checks the connection (the token, the server, the permissions) before anything
    /// runs, and takes where to deliver what people do; a failure stops the start.
    async fn connect(&mut self, sink: Arc<dyn EventSink>) -> Result<(), AdapterError>;

    /// Delivers what people do until `shutdown` fires or the platform ends (the
    /// terminal's input ends, the gateway refuses the bot for good).
    async fn run(
        self: Box<Self>,
        engine: Engine,
        shutdown: Shutdown,
    ) -> Result<Ended, AdapterError>;

    /// What `releasebot check` reports of the connection, changing nothing.
    async fn check(&self, config: &crate::config::Config) -> Vec<Row>;
}

/// Why an adapter's run ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The shutdown signal fired.
    Stopped,
    /// The platform's input ended (the end of the terminal's input): the application
    /// lets the jobs reach a point where only a person can help, then stops.
    InputEnded,
}

/// Why an adapter cannot run; `Display` is one sentence for an operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// The configuration is wrong (a malformed token, a bad server id).
    #[error("{0}")]
    Config(String),
    /// The platform refused releasebot or could not be reached.
    #[error("{0}")]
    Refused(String),
}

/// One line of `releasebot check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub what: String,
    pub ok: bool,
    /// Something works, but not as well as it could.
    pub warning: bool,
    pub detail: String,
}

impl Row {
    pub fn ok(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Row {
            what: what.into(),
            ok: true,
            warning: false,
            detail: detail.into(),
        }
    }

    /// Works, with a warning worth acting on.
    pub fn warn(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Row {
            warning: true,
            ..Row::ok(what, detail)
        }
    }

    pub fn failed(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Row {
            what: what.into(),
            ok: false,
            warning: false,
            detail: detail.into(),
        }
    }
}
