//! releasebot's integration tests: one binary, one module per area (one link step).

mod approvals;
mod cli;
mod decoding;
mod discord;
mod engine;
mod fake_discord;
mod helpers;
mod paas_client;
