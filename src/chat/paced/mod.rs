//! Keeps the bot under the chat platform's limits whatever the number of jobs:
//! at most `per_channel` calls per `channel_window` in one channel or thread (Discord:
//! 5 per 5 s) and at most `global` calls per second in all (Discord: 50). Limits are
//! sliding windows, so "never more than 5 in any 5 seconds" holds exactly.
//!
//! When more calls want to go than the limits admit, they wait in one queue ranked by
//! what they are worth ([`Urgency`]): how a job ended, failures and approval requests
//! go first; then notices and reactions, in the order they came; then progress — edits
//! and new jobs' threads alike — the one people have waited for the longest first. A
//! progress edit learns its content only when its turn comes ([`PacedChat::turn`]), so
//! the states a message went through while it waited are folded into one edit.

use std::collections::VecDeque;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::{Actor, Chat, ChatError, Message, MessageRef, ThreadRef};
use crate::metrics::Metrics;

/// The limits a [`PacedChat`] keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_channel: usize,
    pub channel_window: Duration,
    pub global: usize,
    pub global_window: Duration,
}

impl Limits {
    /// No limits worth the name (a terminal).
    pub fn unlimited() -> Self {
        Limits {
            per_channel: usize::MAX / 2,
            channel_window: Duration::from_millis(1),
            global: usize::MAX / 2,
            global_window: Duration::from_millis(1),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_channel: 5,
            // Discord counts 5 per 5 s where the calls arrive: a margin absorbs the
            // moments between a call being admitted and it reaching Discord.
            channel_window: Duration::from_millis(5_200),
            // Discord allows 50 per second; a margin absorbs the moments between a
            // call being admitted and it reaching Discord.
            global: 40,
            global_window: Duration::from_secs(1),
        }
    }
}

/// What a call is worth when calls must wait their turn; the lesser goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// What people wait on most: how a job ended, a failure, an approval request.
    Decisive,
    /// Any other call that is not progress: a notice, a reaction.
    Now,
    /// Something people wait to see since this instant — a progress message out of
    /// date since then, a new job's thread and message asked for then: the oldest
    /// goes first.
    Stale(Instant),
}

/// Times of the latest calls, to admit a new one only when the oldest of the last
/// `limit` has left the window.
#[derive(Default)]
struct Window(VecDeque<Instant>);

impl Window {
    /// When `n` calls may go: now (`None`) or after waiting until the returned instant.
    fn wait_until(
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
struct Waiter {
    /// Its channel (reactions have a bucket of their own: `None`).
    channel: Option<String>,
    /// The requests it makes at once (a thread: its message, then the thread).
    n: usize,
    /// Told the instant its call was counted at.
    go: oneshot::Sender<Instant>,
}

/// The windows and the calls waiting, behind one lock.
#[derive(Default)]
struct Queue {
    global: Window,
    channels: HashMap<String, Window>,
    /// The size of `channels` at which quiet channels are next forgotten.
    prune_at: usize,
    waiting: BTreeMap<(Urgency, u64), Waiter>,
    seq: u64,
    /// Whether the task that admits waiting calls as room opens up runs.
    dispatching: bool,
}

impl Queue {
    fn fits(&self, l: &Limits, channel: Option<&str>, now: Instant, n: usize) -> Option<Instant> {
        let channel_wait = channel
            .and_then(|c| self.channels.get(c))
            .and_then(|c| c.wait_until(l.per_channel, l.channel_window, now, n));
        let global_wait = self.global.wait_until(l.global, l.global_window, now, n);
        channel_wait.max(global_wait)
    }

    fn record(&mut self, l: &Limits, channel: Option<&str>, now: Instant, n: usize) {
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
    fn retime(&mut self, channel: Option<&str>, n: usize, was: Instant, now: Instant) {
        self.global.retime(n, was, now);
        if let Some(w) = channel.and_then(|c| self.channels.get_mut(c)) {
            w.retime(n, was, now);
        }
    }

    /// Lets the waiting calls go, best first, while the limits have room; the next
    /// instant room opens for one still waiting.
    fn dispatch(&mut self, l: &Limits, now: Instant) -> Option<Instant> {
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

struct Shared {
    limits: Limits,
    queue: Mutex<Queue>,
    /// Rings the dispatching task: a call started waiting.
    bell: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Admits waiting calls whenever room opens; ends with its [`PacedChat`].
async fn dispatching(shared: Weak<Shared>) {
    loop {
        let Some(s) = shared.upgrade() else { return };
        let next = {
            let mut q = s.lock();
            let next = q.dispatch(&s.limits, Instant::now());
            if q.waiting.is_empty() {
                // Nothing waits: the next caller starts a new dispatcher.
                q.dispatching = false;
                return;
            }
            next
        };
        let rung = s.bell.notified();
        match next {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = rung => {}
                }
            }
            None => rung.await,
        }
    }
}

/// Takes a waiting call out of the queue if its caller gives up before its turn.
struct Leave<'a> {
    shared: &'a Shared,
    key: Option<(Urgency, u64)>,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.shared.lock().waiting.remove(&key);
        }
    }
}

/// A [`Chat`] that waits for room under the limits before each call.
pub struct PacedChat {
    inner: Arc<dyn Chat>,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
}

/// An edit's turn under the limits: the content is chosen when it has come.
pub struct Turn<'a> {
    chat: &'a PacedChat,
}

impl Turn<'_> {
    /// Makes the edit the turn was for.
    pub async fn edit(self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        let result = self.chat.inner.edit(target, message).await;
        self.chat.count(result, true)
    }
}

impl PacedChat {
    /// Paces `inner` with the limits it declares, counting calls in `metrics`.
    pub fn new(inner: Arc<dyn Chat>, metrics: Arc<Metrics>) -> Self {
        Self::with_limits(inner.clone(), inner.limits(), metrics)
    }

    pub fn with_limits(inner: Arc<dyn Chat>, limits: Limits, metrics: Arc<Metrics>) -> Self {
        PacedChat {
            inner,
            shared: Arc::new(Shared {
                limits,
                queue: Mutex::new(Queue::default()),
                bell: Notify::new(),
            }),
            metrics,
        }
    }

    fn count<T>(&self, result: Result<T, ChatError>, edit: bool) -> Result<T, ChatError> {
        match &result {
            Ok(_) if edit => self.metrics.chat_edit(),
            Ok(_) => self.metrics.chat_post(),
            Err(_) => self.metrics.chat_failure(),
        }
        result
    }

    /// How many calls wait for their turn now.
    pub fn waiting(&self) -> usize {
        self.shared.lock().waiting.len()
    }

    /// Opens a thread as [`Chat::open_thread`] does, ranked as `urgency` among the calls
    /// waiting.
    pub async fn open_thread_as(
        &self,
        channel: &str,
        summary: &Message,
        title: &str,
        keep_open: Duration,
        urgency: Urgency,
    ) -> Result<ThreadRef, ChatError> {
        // Two requests on Discord, made together: the summary message, then the
        // thread on it.
        self.admit(Some(channel), urgency, 2).await;
        let result = self
            .inner
            .open_thread(channel, summary, title, keep_open)
            .await;
        self.count(result, false)
    }

    /// Posts `message` in `channel` ranked as `urgency` among the calls waiting.
    pub async fn post_as(
        &self,
        channel: &str,
        message: &Message,
        urgency: Urgency,
    ) -> Result<MessageRef, ChatError> {
        self.admit(Some(channel), urgency, 1).await;
        let result = self.inner.post(channel, message).await;
        self.count(result, false)
    }

    /// Waits until an edit of a message in `channel` fits the limits and no call worth
    /// more waits: then the caller picks the content and makes the edit.
    pub async fn turn(&self, channel: &str, urgency: Urgency) -> Turn<'_> {
        self.admit(Some(channel), urgency, 1).await;
        Turn { chat: self }
    }

    /// Waits until a call in `channel` fits both limits and its turn has come, then
    /// counts it. Reactions (`channel` None) have their own bucket on Discord and
    /// count only globally.
    async fn admit(&self, channel: Option<&str>, urgency: Urgency, n: usize) {
        let s = &*self.shared;
        let go = {
            let mut q = s.lock();
            let now = Instant::now();
            if q.waiting.is_empty() && q.fits(&s.limits, channel, now, n).is_none() {
                q.record(&s.limits, channel, now, n);
                return;
            }
            q.seq += 1;
            let key = (urgency, q.seq);
            let (tx, rx) = oneshot::channel();
            q.waiting.insert(
                key,
                Waiter {
                    channel: channel.map(str::to_string),
                    n,
                    go: tx,
                },
            );
            if !q.dispatching {
                q.dispatching = true;
                tokio::spawn(dispatching(Arc::downgrade(&self.shared)));
            }
            (key, rx)
        };
        let (key, rx) = go;
        let mut leave = Leave {
            shared: s,
            key: Some(key),
        };
        s.bell.notify_one();
        // The sender lives in the queue until the call is admitted; it is dropped
        // unsent only when the queue itself goes, and then there is nothing to wait for.
        let granted = rx.await;
        leave.key = None;
        if let Ok(granted) = granted {
            // Counted when it was let go; it goes now, which may be later on a busy
            // machine: count it then, so calls let go together cannot reach the
            // platform bunched closer than the limits allow.
            let now = Instant::now();
            if now > granted {
                s.lock().retime(channel, n, granted, now);
            }
        }
    }
}

#[async_trait]
impl Chat for PacedChat {
    fn style(&self) -> super::Style {
        self.inner.style()
    }

    fn note(&self, note: &str) {
        self.inner.note(note);
    }

    async fn open_thread(
        &self,
        channel: &str,
        summary: &Message,
        title: &str,
        keep_open: Duration,
    ) -> Result<ThreadRef, ChatError> {
        self.open_thread_as(channel, summary, title, keep_open, Urgency::Now)
            .await
    }

    async fn post(&self, channel: &str, message: &Message) -> Result<MessageRef, ChatError> {
        self.admit(Some(channel), Urgency::Now, 1).await;
        let result = self.inner.post(channel, message).await;
        self.count(result, false)
    }

    async fn edit(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        self.admit(Some(&target.channel), Urgency::Now, 1).await;
        let result = self.inner.edit(target, message).await;
        self.count(result, true)
    }

    async fn react(&self, target: &MessageRef, emoji: &str) -> Result<(), ChatError> {
        self.admit(None, Urgency::Now, 1).await;
        self.inner.react(target, emoji).await
    }

    async fn add_to_thread(&self, thread: &str, user: &str) -> Result<(), ChatError> {
        self.admit(None, Urgency::Now, 1).await;
        self.inner.add_to_thread(thread, user).await
    }

    async fn refuse_reaction(
        &self,
        target: &MessageRef,
        emoji: &str,
        actor: &Actor,
        why: &str,
    ) -> Result<(), ChatError> {
        self.admit(None, Urgency::Now, 1).await;
        self.inner.refuse_reaction(target, emoji, actor, why).await
    }
}

#[cfg(test)]
pub(crate) mod tests;
