//! The sliding windows of the limits, and the calls waiting for room in them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Limits, Urgency};

/// Times of the latest calls, to admit a new one only when the oldest of the last
/// `limit` has left the window.
#[derive(Default)]
pub(super) struct Window(VecDeque<Instant>);

impl Window {
    /// When `n` calls may go: now (`None`) or after waiting until the returned instant.
    pub(super) fn wait_until(
        &self,
        limit: usize,
        window: Duration,
        now: Instant,
        n: usize,
    ) -> Option<Instant> {
        // The times are in order: those still in the window are the last ones.
        let first_live = self.0.partition_point(|t| *t + window <= now);
        let live = self.0.len() - first_live;
        if live + n <= limit {
            return None;
        }
        // Enough of the calls in the window must have left it.
        let leaving = (live + n - limit).min(live);
        let last_to_leave = first_live + leaving.checked_sub(1)?;
        Some(self.0[last_to_leave] + window)
    }

    /// Moves `n` calls counted at `was` to `now` (later).
    fn retime(&mut self, n: usize, was: Instant, now: Instant) {
        let mut left = n;
        for t in self.0.iter_mut().rev() {
            if left == 0 {
                break;
            }
            if *t == was {
                *t = now;
                left -= 1;
            }
        }
        self.0.make_contiguous().sort();
    }

    fn record(&mut self, limit: usize, window: Duration, now: Instant, n: usize) {
        for _ in 0..n {
            self.0.push_back(now);
        }
        while self.0.len() > limit || self.0.front().is_some_and(|t| *t + window <= now) {
            self.0.pop_front();
        }
    }
}

/// A call waiting for its turn.
pub(super) struct Waiter {
    /// Its channel (reactions have a bucket of their own: `None`).
    pub(super) channel: Option<String>,
    /// The requests it makes at once (a thread: its message, then the thread).
    pub(super) n: usize,
    /// Told the instant its call was counted at.
    pub(super) go: oneshot::Sender<Instant>,
}

/// The windows and the calls waiting, behind one lock.
#[derive(Default)]
pub(super) struct Queue {
    pub(super) global: Window,
    pub(super) channels: HashMap<String, Window>,
    /// The windows of messages with a budget of their own ([`Chat::own_budget`]).
    pub(super) own: HashMap<String, Window>,
    /// The size of `channels` at which quiet channels are next forgotten.
    pub(super) prune_at: usize,
    pub(super) waiting: BTreeMap<(Urgency, u64), Waiter>,
    pub(super) seq: u64,
    /// Whether the task that admits waiting calls as room opens up runs.
    pub(super) dispatching: bool,
}

impl Queue {
    pub(super) fn fits(
        &self,
        l: &Limits,
        channel: Option<&str>,
        now: Instant,
        n: usize,
    ) -> Option<Instant> {
        let channel_wait = channel
            .and_then(|c| self.channels.get(c))
            .and_then(|c| c.wait_until(l.per_channel, l.channel_window, now, n));
        let global_wait = self.global.wait_until(l.global, l.global_window, now, n);
        channel_wait.max(global_wait)
    }

    pub(super) fn record(&mut self, l: &Limits, channel: Option<&str>, now: Instant, n: usize) {
        self.global.record(l.global, l.global_window, now, n);
        if let Some(channel) = channel {
            match self.channels.get_mut(channel) {
                Some(w) => w.record(l.per_channel, l.channel_window, now, n),
                None => {
                    let mut w = Window::default();
                    w.record(l.per_channel, l.channel_window, now, n);
                    self.channels.insert(channel.to_string(), w);
                }
            }
        }
        if self.channels.len() > self.prune_at.max(1024) {
            // Forget channels that have been quiet for a whole window (every finished
            // job's thread), at a cost spread over as many calls as there are channels.
            self.channels
                .retain(|_, c| c.0.back().is_some_and(|t| now < *t + l.channel_window));
            self.prune_at = self.channels.len() * 2;
        }
    }

    /// Counts `n` calls let go at `was` as made at `now`.
    pub(super) fn retime(&mut self, channel: Option<&str>, n: usize, was: Instant, now: Instant) {
        self.global.retime(n, was, now);
        if let Some(w) = channel.and_then(|c| self.channels.get_mut(c)) {
            w.retime(n, was, now);
        }
    }

    /// Counts an edit of a message with a budget of its own, or says when it fits.
    pub(super) fn admit_own(&mut self, l: &Limits, message: &str, now: Instant) -> Option<Instant> {
        if self.own.len() > 1024 && self.own.len() > self.prune_at {
            self.own
                .retain(|_, w| w.0.back().is_some_and(|t| now < *t + l.channel_window));
        }
        let window = self.own.entry(message.to_string()).or_default();
        if let Some(at) = window.wait_until(l.per_channel, l.channel_window, now, 1) {
            return Some(at);
        }
        window.record(l.per_channel, l.channel_window, now, 1);
        None
    }

    /// Lets the waiting calls go, best first, while the limits have room; the next
    /// instant room opens for one still waiting.
    pub(super) fn dispatch(&mut self, l: &Limits, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut admitted = Vec::new();
        for (key, waiter) in &self.waiting {
            // The best waiting call goes first: none overtakes it for want of room.
            if let Some(at) = self
                .global
                .wait_until(l.global, l.global_window, now, waiter.n)
            {
                next = Some(next.map_or(at, |n| n.min(at)));
                break;
            }
            let channel = waiter.channel.as_deref();
            let blocked = channel
                .and_then(|c| self.channels.get(c))
                .and_then(|c| c.wait_until(l.per_channel, l.channel_window, now, waiter.n));
            if let Some(at) = blocked {
                next = Some(next.map_or(at, |n| n.min(at)));
                continue;
            }
            admitted.push(*key);
            self.global.record(l.global, l.global_window, now, waiter.n);
            if let Some(c) = channel {
                self.channels.entry(c.to_string()).or_default().record(
                    l.per_channel,
                    l.channel_window,
                    now,
                    waiter.n,
                );
            }
        }
        for key in admitted {
            if let Some(waiter) = self.waiting.remove(&key) {
                // A waiter that gave up meanwhile leaves its slot unused.
                let _ = waiter.go.send(now);
            }
        }
        next
    }
}
