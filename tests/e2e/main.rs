//! releasebot's integration tests: one binary, one module per area (one link step).

mod decoding;
mod helpers;
mod paas_client;
