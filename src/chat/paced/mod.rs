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
//!
//! A command's own message (a Discord slash command's follow-up, while its interaction
//! lives) is edited outside both limits, with a window of its own: Discord does not
//! count interaction endpoints against the global limit. Under pressure
//! ([`PacedChat::pressed`]) new jobs show themselves in such messages, so their
//! progress no longer waits on everyone else's.
//!
//! It is also the fence: among replicas sharing a database, a deposed or stalled
//! leader must not post or edit what the new leader now owns, so each call asks the
//! [`LeaseClock`] when it goes to the platform, after its turn has come.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

mod queue;

use queue::{Queue, Waiter};

use async_trait::async_trait;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::{Actor, Chat, ChatError, Message, MessageRef, Opened, Origin, ThreadRef};
use crate::lease::LeaseClock;
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

/// The engine's one way to the chat adapter: each call waits for room under the
/// limits, then goes only if this replica may act.
pub struct PacedChat {
    inner: Arc<dyn Chat>,
    shared: Arc<Shared>,
    lease: Arc<LeaseClock>,
    metrics: Arc<Metrics>,
}

/// An edit's turn under the limits: the content is chosen when it has come.
pub struct Turn<'a> {
    chat: &'a PacedChat,
}

impl Turn<'_> {
    /// Makes the edit the turn was for.
    pub async fn edit(self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        let result = self
            .chat
            .fenced(self.chat.inner.edit(target, message))
            .await;
        self.chat.count(result, true)
    }
}

impl PacedChat {
    /// Paces `inner` with the limits it declares, fenced by `lease`, counting calls in
    /// `metrics`.
    pub fn new(inner: Arc<dyn Chat>, lease: Arc<LeaseClock>, metrics: Arc<Metrics>) -> Self {
        Self::with_limits(inner.clone(), inner.limits(), lease, metrics)
    }

    pub fn with_limits(
        inner: Arc<dyn Chat>,
        limits: Limits,
        lease: Arc<LeaseClock>,
        metrics: Arc<Metrics>,
    ) -> Self {
        PacedChat {
            inner,
            shared: Arc::new(Shared {
                limits,
                queue: Mutex::new(Queue::default()),
                bell: Notify::new(),
            }),
            lease,
            metrics,
        }
    }

    /// Whether a call whose turn has come may go to the platform: only while this
    /// replica may act. While its lease lapsed (it could not be renewed in time: the
    /// database is away) the call is refused for now, to be tried again once the lease
    /// is renewed or taken again, or another replica leads; it is not given up
    /// meanwhile. A replica that may not act at all changes nothing in chat.
    fn may_go(&self) -> Result<(), ChatError> {
        if self.lease.may_act() {
            return Ok(());
        }
        if self.lease.lapsed() {
            return Err(ChatError::rate_limited(
                "this replica is renewing its lease, so it waits",
                Duration::from_secs(1),
            ));
        }
        Err(ChatError::permanent(
            "this replica does not hold the lease, so it changes nothing in chat",
        ))
    }

    /// Makes `call` on the platform if [`PacedChat::may_go`] lets it.
    async fn fenced<T>(
        &self,
        call: impl Future<Output = Result<T, ChatError>>,
    ) -> Result<T, ChatError> {
        self.may_go()?;
        call.await
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

    /// Whether the chat is under pressure: a second's worth of the global budget or
    /// more is waiting for its turn.
    pub fn pressed(&self) -> bool {
        self.shared.lock().waiting.len() >= self.shared.limits.global
    }

    /// Opens a thread, ranked as `urgency` among the calls waiting: on the command's
    /// own message as [`Chat::open_thread_on`] does where `origin` is given, else on a
    /// new message as [`Chat::open_thread`] does. The message and the thread are two
    /// requests on Discord, made together; a command's own message does not count
    /// against the shared budget (should the platform post it the usual way after
    /// all, that one call goes uncounted, as the platform itself counts it).
    pub async fn open_thread_as(
        &self,
        origin: Option<&Origin>,
        channel: &str,
        summary: &Message,
        title: &str,
        keep_open: Duration,
        urgency: Urgency,
    ) -> Result<Opened, ChatError> {
        let calls = if origin.is_some() { 1 } else { 2 };
        self.admit(Some(channel), urgency, calls).await;
        let open = async {
            match origin {
                Some(origin) => {
                    self.inner
                        .open_thread_on(origin, channel, summary, title, keep_open)
                        .await
                }
                None => self
                    .inner
                    .open_thread(channel, summary, title, keep_open)
                    .await
                    .map(|thread| Opened {
                        thread,
                        own_message: false,
                    }),
            }
        };
        let result = self.fenced(open).await;
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
        let result = self.fenced(self.inner.post(channel, message)).await;
        self.count(result, false)
    }

    /// Waits until an edit of a message in `channel` fits the limits and no call worth
    /// more waits: then the caller picks the content and makes the edit.
    pub async fn turn(&self, channel: &str, urgency: Urgency) -> Turn<'_> {
        self.admit(Some(channel), urgency, 1).await;
        Turn { chat: self }
    }

    /// Waits for the turn of an edit of `target`: on the message's own budget where it
    /// has one ([`Chat::own_budget`]), else as [`PacedChat::turn`].
    pub async fn turn_for(&self, target: &MessageRef, urgency: Urgency) -> Turn<'_> {
        if !self.inner.own_budget(target) {
            return self.turn(&target.channel, urgency).await;
        }
        loop {
            let wait =
                self.shared
                    .lock()
                    .admit_own(&self.shared.limits, &target.message, Instant::now());
            match wait {
                None => return Turn { chat: self },
                Some(at) => tokio::time::sleep_until(at).await,
            }
        }
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
        self.open_thread_as(None, channel, summary, title, keep_open, Urgency::Now)
            .await
            .map(|opened| opened.thread)
    }

    async fn post(&self, channel: &str, message: &Message) -> Result<MessageRef, ChatError> {
        self.post_as(channel, message, Urgency::Now).await
    }

    async fn edit(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        self.turn_for(target, Urgency::Now)
            .await
            .edit(target, message)
            .await
    }

    async fn open_thread_on(
        &self,
        origin: &Origin,
        channel: &str,
        summary: &Message,
        title: &str,
        keep_open: Duration,
    ) -> Result<Opened, ChatError> {
        self.open_thread_as(
            Some(origin),
            channel,
            summary,
            title,
            keep_open,
            Urgency::Now,
        )
        .await
    }

    fn own_budget(&self, target: &MessageRef) -> bool {
        self.inner.own_budget(target)
    }

    async fn link(&self, thread: &ThreadRef) -> Option<String> {
        self.inner.link(thread).await
    }

    async fn react(&self, target: &MessageRef, emoji: &str) -> Result<(), ChatError> {
        self.admit(None, Urgency::Now, 1).await;
        self.fenced(self.inner.react(target, emoji)).await
    }

    async fn add_to_thread(&self, thread: &str, user: &str) -> Result<(), ChatError> {
        self.admit(None, Urgency::Now, 1).await;
        self.fenced(self.inner.add_to_thread(thread, user)).await
    }

    async fn refuse_reaction(
        &self,
        target: &MessageRef,
        emoji: &str,
        actor: &Actor,
        why: &str,
    ) -> Result<(), ChatError> {
        self.admit(None, Urgency::Now, 1).await;
        self.fenced(self.inner.refuse_reaction(target, emoji, actor, why))
            .await
    }
}

#[cfg(test)]
pub(crate) mod tests;
