//! What every simulated object shares: how it is rendered (where the simulator is,
//! what time `0` of the simulated clock is), and stable stand-ins for commits and
//! uuids. The objects themselves live in `execution/` and `app/`: each is a plan
//! fixed when it starts plus the moments that change it, so its JSON at any simulated
//! time is a pure function of that time. Nothing runs in the background: driving the
//! clock forward is all it takes to finish a build.

use std::time::{Duration, SystemTime};

use crate::clock::rfc3339;

/// What a rendering needs besides the object: where the simulator is and what time
/// `0` of the simulated clock is on the wall clock.
pub(crate) struct RenderContext<'a> {
    pub base_url: &'a str,
    pub epoch: SystemTime,
}

impl RenderContext<'_> {
    pub fn time(&self, t: Duration) -> String {
        rfc3339(self.epoch + t)
    }

    pub fn ms(&self, t: Duration) -> u64 {
        crate::clock::to_ms(self.epoch + t).max(0) as u64
    }
}

/// A scenario's seconds as a duration (negative ones are refused by validation).
pub(crate) fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// A 40-hex-digit stand-in for a git commit, stable for the same input.
pub(crate) fn fake_sha(seed: &str) -> String {
    (0u64..3)
        .map(|i| format!("{:016x}", fnv1a(seed, i)))
        .collect::<String>()[..40]
        .to_string()
}

pub(crate) fn fake_uuid(seed: &str) -> String {
    let h = format!("{:016x}{:016x}", fnv1a(seed, 7), fnv1a(seed, 8));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn fnv1a(s: &str, salt: u64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325 ^ salt.wrapping_mul(0x9e3779b97f4a7c15);
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
