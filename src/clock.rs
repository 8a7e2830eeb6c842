//! Wall-clock time that follows tokio's clock.
//!
//! Every deadline, backoff and poll interval in releasebot sleeps on tokio's clock, so
//! a test can pause it and advance it. Timestamps (a job's start, "created since the
//! request") must move with that same clock, or a paused test would see a 10-minute
//! build finish before the wall clock moved a second. A [`Clock`] anchors the wall
//! clock once and then advances it by tokio's monotonic time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time anchored at creation and advanced by tokio's clock.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    wall: SystemTime,
    mono: tokio::time::Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    pub fn new() -> Self {
        Clock {
            wall: SystemTime::now(),
            mono: tokio::time::Instant::now(),
        }
    }

    /// A clock that reads `wall` now (a test's chosen date), then follows tokio's.
    pub fn starting_at(wall: SystemTime) -> Self {
        Clock {
            wall,
            mono: tokio::time::Instant::now(),
        }
    }

    /// The current wall-clock time as this clock sees it.
    pub fn now(&self) -> SystemTime {
        self.wall + self.mono.elapsed()
    }

    /// Milliseconds since the Unix epoch, for storing and comparing timestamps.
    pub fn now_ms(&self) -> i64 {
        to_ms(self.now())
    }
}

/// Milliseconds since the Unix epoch (negative before it, which never happens here).
pub fn to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// The inverse of [`to_ms`].
pub fn from_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// Formats a time as Rancher does: RFC 3339, UTC, whole seconds.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Parses a Rancher timestamp (`2020-06-15T08:31:02Z`, fractions tolerated).
/// Anything else is `None`: a bad timestamp from the PaaS is not worth failing over.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(s.trim()).ok()
}

/// A short human duration: `4s`, `1m42s`, `2h05m`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_tokio_time() {
        let clock = Clock::new();
        let before = clock.now();
        tokio::time::advance(Duration::from_secs(600)).await;
        let moved = clock.now().duration_since(before).unwrap();
        assert_eq!(moved, Duration::from_secs(600));
    }

    #[test]
    fn rancher_timestamps_round_trip() {
        let t = parse_rfc3339("2020-06-15T08:31:02Z").unwrap();
        assert_eq!(rfc3339(t), "2020-06-15T08:31:02Z");
        assert!(parse_rfc3339("not a time").is_none());
        assert!(parse_rfc3339("").is_none());
        assert_eq!(from_ms(to_ms(t)), t);
    }

    #[test]
    fn short_durations_read_naturally() {
        assert_eq!(short_duration(Duration::from_secs(4)), "4s");
        assert_eq!(short_duration(Duration::from_secs(102)), "1m42s");
        assert_eq!(short_duration(Duration::from_secs(7500)), "2h05m");
    }
}
