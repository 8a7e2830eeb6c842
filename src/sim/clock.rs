//! The simulator's clock: tokio time scaled by `speed`, plus manual advances.
//!
//! Objects are pure functions of simulated time, so the clock is all that moves a
//! build or a rollout. Tests also want to know WHEN, on the wall clock the bot uses
//! (`crate::clock::Clock`: an anchor advanced by tokio time), a simulated moment was
//! reached; manual advances make that a step function, so the clock keeps them.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A manual advance: from `real` (tokio time since the start) on, simulated time is
/// `real × speed + offset`.
#[derive(Debug, Clone, Copy)]
struct Jump {
    real: Duration,
    offset: Duration,
}

pub(crate) struct SimClock {
    /// The wall-clock time at the start; simulated time `0` is this moment too.
    pub epoch: SystemTime,
    start: tokio::time::Instant,
    speed: f64,
    jumps: Mutex<Vec<Jump>>,
}

impl SimClock {
    pub fn new(speed: f64) -> Self {
        SimClock {
            epoch: SystemTime::now(),
            start: tokio::time::Instant::now(),
            speed,
            jumps: Mutex::new(Vec::new()),
        }
    }

    fn jumps(&self) -> std::sync::MutexGuard<'_, Vec<Jump>> {
        self.jumps.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn offset(&self) -> Duration {
        self.jumps().last().map_or(Duration::ZERO, |j| j.offset)
    }

    /// Simulated time since the simulator started.
    pub fn now(&self) -> Duration {
        self.start.elapsed().mul_f64(self.speed) + self.offset()
    }

    /// Moves simulated time forward at once.
    pub fn advance(&self, by: Duration) {
        let real = self.start.elapsed();
        let mut jumps = self.jumps();
        let offset = jumps.last().map_or(Duration::ZERO, |j| j.offset) + by;
        match jumps.last_mut() {
            // Many advances at one paused instant are one jump.
            Some(last) if last.real == real => last.offset = offset,
            _ => jumps.push(Jump { real, offset }),
        }
    }

    /// How long real (tokio) time takes to cover `d` of simulated time.
    pub fn real(&self, d: Duration) -> Duration {
        d.div_f64(self.speed)
    }

    /// The wall-clock time now, as the bot's clock sees it (anchor + tokio time).
    pub fn wall_now(&self) -> SystemTime {
        self.epoch + self.start.elapsed()
    }

    /// The wall-clock time at which simulated time reached (or will reach, if nothing
    /// is advanced by hand meanwhile) `t`. A moment an advance jumped over was reached
    /// at the advance.
    pub fn wall_of(&self, t: Duration) -> SystemTime {
        let speed = self.speed;
        let mut from = Duration::ZERO;
        let mut offset = Duration::ZERO;
        for jump in self.jumps().iter() {
            if t < jump.real.mul_f64(speed) + offset {
                break;
            }
            if t <= jump.real.mul_f64(speed) + jump.offset {
                return self.epoch + jump.real;
            }
            from = jump.real;
            offset = jump.offset;
        }
        self.epoch + t.saturating_sub(offset).div_f64(speed).max(from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wall_times_follow_advances() {
        let clock = SimClock::new(2.0);
        let s = Duration::from_secs;
        tokio::time::advance(s(5)).await; // simulated 10
        clock.advance(s(20)); // simulated 30
        tokio::time::advance(s(5)).await; // simulated 40
        assert_eq!(clock.now(), s(40));
        assert_eq!(clock.wall_of(s(4)), clock.epoch + s(2));
        // Jumped over by the advance at real 5 s.
        assert_eq!(clock.wall_of(s(10)), clock.epoch + s(5));
        assert_eq!(clock.wall_of(s(25)), clock.epoch + s(5));
        assert_eq!(clock.wall_of(s(36)), clock.epoch + s(8));
        // The future, at today's pace.
        assert_eq!(clock.wall_of(s(50)), clock.epoch + s(15));
        assert_eq!(clock.wall_now(), clock.epoch + s(10));
    }
}
