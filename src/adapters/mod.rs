//! The chat adapters: each turns a platform's events into [`crate::commands::ChatEvent`]s
//! and performs the engine's requests to post, edit, open threads and react
//! ([`crate::chat::Chat`]). A new platform is a new module here; nothing below knows
//! any of them.
//!
//! - [`discord`]: Discord, on serenity.
//! - [`shell`]: the terminal, for trying releasebot with no account and for scripts.
//! - [`memory`]: an in-memory chat that records everything, for tests and benchmarks.

pub mod discord;
pub mod memory;
pub mod shell;
