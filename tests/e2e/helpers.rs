//! Shared set-up: a simulator on a free port and a client pointed at it.

use std::time::Duration;

use releasebot::clock::Clock;
use releasebot::paas::{
    AppId, AppRef, ClientConfig, PaasClient, PipelineId, PipelineRef, ProjectRef,
};
use releasebot::secret::Secret;
use releasebot::sim::{self, Scenario, SimHandle};

/// Shaped like a Rancher token so a leak would be easy to spot.
pub const TOKEN: &str = "token-e2e42:q8m2x7c4v9b1n6z3l5k8j2h4g7f9d1s3a5p8o2i4u6y8t1r3e5w7";

pub async fn spawn_sim(scenario: Scenario) -> SimHandle {
    sim::spawn(Secret::new(TOKEN), scenario)
        .await
        .expect("the simulator starts")
}

/// Client settings for tests: quick retries, short timeouts.
pub fn test_config(url: &str, token: &str) -> ClientConfig {
    let mut config = ClientConfig::new(url, Secret::new(token));
    config.request_timeout = Duration::from_secs(2);
    config.connect_timeout = Duration::from_secs(1);
    config.backoff_base = Duration::from_millis(10);
    config.backoff_max = Duration::from_millis(100);
    config
}

pub fn client(sim: &SimHandle) -> PaasClient {
    PaasClient::new(test_config(sim.url(), TOKEN), Clock::new()).expect("client builds")
}

pub fn web_project() -> ProjectRef {
    ProjectRef::parse("c-64wdm:p-5tfq9").unwrap()
}

/// The demo catalogue's `web` pipeline.
pub fn web_pipeline() -> PipelineRef {
    PipelineRef::new(web_project(), PipelineId::parse("p-tpk2x").unwrap())
}

/// The demo catalogue's `web` app.
pub fn web_app() -> AppRef {
    AppRef::new(web_project(), AppId::parse("project-deploy").unwrap())
}

/// Reads a fixture from `tests/fixtures` (copied unchanged from the shared fixtures).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
