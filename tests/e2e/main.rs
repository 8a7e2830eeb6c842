//! releasebot's integration tests: one binary, one module per area (one link step).

mod access;
mod approvals;
mod chart;
mod cli;
mod connection_strings;
mod decoding;
mod deploy_truth;
mod discord;
mod discord_server;
mod engine;
mod fake_discord;
mod fake_discord_selftest;
mod faults;
mod fuzz;
mod ha;
mod helpers;
mod http_hardening;
mod incident;
mod ops;
mod paas_client;
mod pressure;
mod push;
mod restart;
mod secrets;
mod security;
mod store_compat;
