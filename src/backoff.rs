//! The one backoff policy: how long to wait before the next try of something that
//! failed. Exponential from `base`, capped at `max`, with optional jitter so that many
//! clients failing together do not retry together.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    /// Wait a random half to all of the delay.
    pub jitter: bool,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max,
            jitter: true,
        }
    }

    /// For chat calls: 1 s, 2 s, 4 s … up to 30 s.
    pub const fn chat() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(30),
            jitter: false,
        }
    }

    /// For writes while the database is away: ¼ s, ½ s, 1 s … up to 5 s, so a database
    /// back from a failover is written to within seconds.
    pub const fn store() -> Self {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(5))
    }

    /// The wait before try `attempt + 1`, after `attempt` (≥ 1) failures.
    pub fn delay(&self, attempt: u32) -> Duration {
        let full = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max);
        if self.jitter {
            full.mul_f64(0.5 + fastrand::f64() * 0.5)
        } else {
            full
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            jitter: false,
            ..Backoff::new(Duration::from_millis(250), Duration::from_secs(2))
        };
        let delays: Vec<u64> = (1..=6).map(|a| b.delay(a).as_millis() as u64).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 2000, 2000]);
        let jittered = Backoff::new(Duration::from_secs(4), Duration::from_secs(60));
        for _ in 0..100 {
            let d = jittered.delay(1);
            assert!(d >= Duration::from_secs(2) && d <= Duration::from_secs(4));
        }
    }
}
