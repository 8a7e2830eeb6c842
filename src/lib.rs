//! releasebot: build, deploy and release services on a Rancher 2.x PaaS from chat.
//!
//! The crate is layered as `docs/architecture.md` describes: chat adapters turn
//! platform events into commands, the release engine drives the PaaS through the one
//! [`paas`] client, and the [`sim`] module serves a Rancher-compatible simulator for
//! tests, benchmarks and demos.

pub mod adapters;
pub mod app;
pub mod backoff;
pub mod chat;
pub mod clock;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod discord;
pub mod engine;
pub mod freeze;
pub mod holds;
pub mod http;
pub mod ids;
pub mod job;
pub mod lease;
pub mod location;
pub mod metrics;
pub mod names;
pub mod paas;
pub mod redact;
pub mod render;
pub mod secret;
pub mod shutdown;
pub mod sim;
pub mod store;
pub mod turns;
pub mod weekly;
