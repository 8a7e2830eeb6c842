//! What the simulator saw and did, for tests and benchmarks to assert on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What happened to every execution and app, in real wall-clock time: for measuring
/// how soon a change reaches the chat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub executions: Vec<ObjectEvents>,
    pub upgrades: Vec<ObjectEvents>,
}

/// The changes of one object (an execution id, or an app id with the upgrade's tag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectEvents {
    pub id: String,
    pub tag: Option<String>,
    pub events: Vec<TimedEvent>,
    /// For an upgrade: when the app was read while it was watched, from the read it
    /// was judged against to the last before the next upgrade's.
    #[serde(default)]
    pub reads_ms: Vec<i64>,
}

/// A change, and the text a progress message shows once it has seen it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedEvent {
    pub at_ms: i64,
    pub shows: String,
}
/// What the simulator has seen, for tests and benchmarks to assert on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimStats {
    /// Every request, authorised or not.
    pub requests: u64,
    /// Requests by route name.
    pub by_route: BTreeMap<String, u64>,
    /// Executions created, by pipeline id (`p-5tfq9:p-tpk2x`).
    pub runs: BTreeMap<String, u64>,
    /// Upgrades accepted, by app id (`p-5tfq9:project-deploy`).
    pub upgrades: BTreeMap<String, u64>,
    /// Builds stopped.
    pub stops: u64,
    /// Requests refused for a missing or wrong token.
    pub unauthorized: u64,
    /// Faults served.
    pub faults: u64,
    /// Subscribe WebSocket connections opened.
    pub subscriptions: u64,
    /// Changes pushed over them.
    pub pushed: u64,
    /// Webhook calls made.
    pub webhook_calls: u64,
}

impl SimStats {
    /// Executions created in all.
    pub fn total_runs(&self) -> u64 {
        self.runs.values().sum()
    }

    /// Upgrades accepted in all.
    pub fn total_upgrades(&self) -> u64 {
        self.upgrades.values().sum()
    }
}
