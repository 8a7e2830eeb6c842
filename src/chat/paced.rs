//! Keeps the bot under the chat platform's limits whatever the number of jobs:
//! at most `per_channel` calls per `channel_window` in one channel or thread (Discord:
//! 5 per 5 s) and at most `global` calls per second in all (Discord: 50). Limits are
//! sliding windows, so "never more than 5 in any 5 seconds" holds exactly.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
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
            channel_window: Duration::from_secs(5),
            // Discord allows 50 per second; a margin absorbs the moments between a
            // call being admitted and it reaching Discord.
            global: 40,
            global_window: Duration::from_secs(1),
        }
    }
}

/// Times of the latest calls, to admit a new one only when the oldest of the last
/// `limit` has left the window.
#[derive(Default)]
struct Window(VecDeque<Instant>);

impl Window {
    /// When a call may go: now (`None`) or after waiting until the returned instant.
    fn wait_until(&self, limit: usize, window: Duration, now: Instant) -> Option<Instant> {
        if self.0.len() < limit {
            return None;
        }
        let oldest = self.0[self.0.len() - limit];
        (now < oldest + window).then_some(oldest + window)
    }

    fn record(&mut self, limit: usize, window: Duration, now: Instant) {
        self.0.push_back(now);
        while self.0.len() > limit || self.0.front().is_some_and(|t| *t + window <= now) {
            self.0.pop_front();
        }
    }
}

#[derive(Default)]
struct Windows {
    global: Window,
    channels: HashMap<String, Window>,
}

/// A [`Chat`] that waits for room under the limits before each call.
pub struct PacedChat {
    inner: Arc<dyn Chat>,
    limits: Limits,
    windows: Mutex<Windows>,
    metrics: Arc<Metrics>,
}

impl PacedChat {
    /// Paces `inner` with the limits it declares, counting calls in `metrics`.
    pub fn new(inner: Arc<dyn Chat>, metrics: Arc<Metrics>) -> Self {
        Self::with_limits(inner.clone(), inner.limits(), metrics)
    }

    pub fn with_limits(inner: Arc<dyn Chat>, limits: Limits, metrics: Arc<Metrics>) -> Self {
        PacedChat {
            inner,
            limits,
            windows: Mutex::new(Windows::default()),
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

    /// Waits until a call in `channel` fits both limits, then counts it. Reactions
    /// (`channel` None) have their own bucket on Discord and count only globally.
    async fn admit(&self, channel: Option<&str>) {
        let l = self.limits;
        loop {
            let wait = {
                let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let channel_wait = channel
                    .and_then(|c| w.channels.get(c))
                    .and_then(|c| c.wait_until(l.per_channel, l.channel_window, now));
                let global_wait = w.global.wait_until(l.global, l.global_window, now);
                match channel_wait.max(global_wait) {
                    Some(until) => until,
                    None => {
                        w.global.record(l.global, l.global_window, now);
                        if w.channels.len() > 10_000 {
                            // Forget channels that have been quiet for a whole window.
                            w.channels.retain(|_, c| {
                                c.0.back().is_some_and(|t| now < *t + l.channel_window)
                            });
                        }
                        if let Some(channel) = channel {
                            w.channels.entry(channel.to_string()).or_default().record(
                                l.per_channel,
                                l.channel_window,
                                now,
                            );
                        }
                        return;
                    }
                }
            };
            tokio::time::sleep_until(wait).await;
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
        // Two requests on Discord: the summary message, then the thread on it.
        self.admit(Some(channel)).await;
        self.admit(Some(channel)).await;
        let result = self
            .inner
            .open_thread(channel, summary, title, keep_open)
            .await;

        self.count(result, false)
    }

    async fn post(&self, channel: &str, message: &Message) -> Result<MessageRef, ChatError> {
        self.admit(Some(channel)).await;
        let result = self.inner.post(channel, message).await;
        self.count(result, false)
    }

    async fn edit(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        self.admit(Some(&target.channel)).await;
        let result = self.inner.edit(target, message).await;
        self.count(result, true)
    }

    async fn react(&self, target: &MessageRef, emoji: &str) -> Result<(), ChatError> {
        self.admit(None).await;
        self.inner.react(target, emoji).await
    }

    async fn add_to_thread(&self, thread: &str, user: &str) -> Result<(), ChatError> {
        self.admit(None).await;
        self.inner.add_to_thread(thread, user).await
    }

    async fn refuse_reaction(
        &self,
        target: &MessageRef,
        emoji: &str,
        actor: &Actor,
        why: &str,
    ) -> Result<(), ChatError> {
        self.admit(None).await;
        self.inner.refuse_reaction(target, emoji, actor, why).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::{MemoryChat, Record};

    #[tokio::test(start_paused = true)]
    async fn never_more_than_five_calls_in_any_five_seconds_per_channel() {
        let memory = MemoryChat::new();
        let paced = Arc::new(PacedChat::new(memory.clone(), Arc::default()));
        let target = paced.post("t1", &Message::text("x")).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let paced = paced.clone();
            let target = target.clone();
            tasks.push(tokio::spawn(async move {
                paced
                    .edit(&target, &Message::text(format!("{i}")))
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let times: Vec<Duration> = memory.records().iter().map(Record::at).collect();
        assert_eq!(times.len(), 21);
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .filter(|u| **u < *t + Duration::from_secs(5))
                .count();
            assert!(in_window <= 5, "{in_window} calls in the 5 s after {t:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_global_limit_holds_across_channels() {
        let memory = MemoryChat::new();
        let limits = Limits {
            global: 10,
            ..Limits::default()
        };
        let paced = Arc::new(PacedChat::with_limits(
            memory.clone(),
            limits,
            Arc::default(),
        ));
        let mut tasks = Vec::new();
        for i in 0..40 {
            let paced = paced.clone();
            tasks.push(tokio::spawn(async move {
                paced
                    .post(&format!("c{i}"), &Message::text("x"))
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let times: Vec<Duration> = memory.records().iter().map(Record::at).collect();
        for t in &times {
            let in_second = times
                .iter()
                .filter(|u| **u >= *t && **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_second <= 10);
        }
        assert!(*times.last().unwrap() >= Duration::from_secs(3));
    }
}
