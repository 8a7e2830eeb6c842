//! A chat that only the replica allowed to act may use: among replicas sharing a
//! database, a deposed or stalled leader must not post or edit what the new leader now
//! owns. Every call asks the lease first.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Actor, Chat, ChatError, Message, MessageRef, Opened, Origin, Style, ThreadRef};
use crate::lease::LeaseClock;

pub struct FencedChat {
    inner: Arc<dyn Chat>,
    lease: Arc<LeaseClock>,
}

impl FencedChat {
    pub fn new(inner: Arc<dyn Chat>, lease: Arc<LeaseClock>) -> Self {
        FencedChat { inner, lease }
    }

    fn allowed(&self) -> Result<(), ChatError> {
        if self.lease.may_act() {
            return Ok(());
        }
        if self.lease.lapsed() {
            // The lease could not be renewed in time (the database is away): the call
            // waits for it to be renewed or taken again, or for another replica to
            // lead, and is not given up meanwhile.
            return Err(ChatError {
                retry_after: Some(Duration::from_secs(1)),
                ..ChatError::transient("this replica is renewing its lease, so it waits")
            });
        }
        Err(ChatError::permanent(
            "this replica does not hold the lease, so it changes nothing in chat",
        ))
    }
}

#[async_trait]
impl Chat for FencedChat {
    fn style(&self) -> Style {
        self.inner.style()
    }

    fn limits(&self) -> super::paced::Limits {
        self.inner.limits()
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
        self.allowed()?;
        self.inner
            .open_thread(channel, summary, title, keep_open)
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
        self.allowed()?;
        self.inner
            .open_thread_on(origin, channel, summary, title, keep_open)
            .await
    }

    fn own_budget(&self, target: &MessageRef) -> bool {
        self.inner.own_budget(target)
    }

    async fn post(&self, channel: &str, message: &Message) -> Result<MessageRef, ChatError> {
        self.allowed()?;
        self.inner.post(channel, message).await
    }

    async fn edit(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        self.allowed()?;
        self.inner.edit(target, message).await
    }

    async fn react(&self, target: &MessageRef, emoji: &str) -> Result<(), ChatError> {
        self.allowed()?;
        self.inner.react(target, emoji).await
    }

    async fn add_to_thread(&self, thread: &str, user: &str) -> Result<(), ChatError> {
        self.allowed()?;
        self.inner.add_to_thread(thread, user).await
    }

    async fn refuse_reaction(
        &self,
        target: &MessageRef,
        emoji: &str,
        actor: &Actor,
        why: &str,
    ) -> Result<(), ChatError> {
        self.allowed()?;
        self.inner.refuse_reaction(target, emoji, actor, why).await
    }
}
