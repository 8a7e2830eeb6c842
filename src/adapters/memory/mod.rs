//! An in-memory chat for tests and benchmarks: it records every thread, post, edit and
//! reaction with the (tokio) time it happened, knows users and their roles, and lets a
//! test speak, react and press buttons as any of them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;

use crate::chat::{Actor, ButtonAction, Chat, ChatError, Message, MessageRef, ThreadRef};
use crate::commands::{ChatEvent, EventSink, Input, Reply};

mod adapter;
mod own;
mod read;
pub use adapter::MemoryAdapter;

/// One thing the bot (or a user) did in the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Thread {
        at: Duration,
        thread: ThreadRef,
        title: String,
    },
    Post {
        at: Duration,
        target: MessageRef,
        message: Message,
    },
    Edit {
        at: Duration,
        target: MessageRef,
        message: Message,
    },
    React {
        at: Duration,
        target: MessageRef,
        emoji: String,
        user: String,
    },
    Unreact {
        at: Duration,
        target: MessageRef,
        emoji: String,
        user: String,
    },
    /// A reaction the bot refused, with the reason it gave.
    Refused {
        at: Duration,
        target: MessageRef,
        emoji: String,
        user: String,
        why: String,
    },
}

impl Record {
    pub fn at(&self) -> Duration {
        match self {
            Record::Thread { at, .. }
            | Record::Post { at, .. }
            | Record::Edit { at, .. }
            | Record::React { at, .. }
            | Record::Unreact { at, .. }
            | Record::Refused { at, .. } => *at,
        }
    }
}

/// A thread as a person sees it in the channel list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadInfo {
    pub thread: ThreadRef,
    pub title: String,
    /// How long it was asked to stay open without new messages.
    pub keep_open: Duration,
    /// People added to it (by id).
    pub members: Vec<String>,
}

#[derive(Default)]
struct State {
    records: Vec<Record>,
    /// Current content of each message, by id.
    messages: HashMap<String, (MessageRef, Message)>,
    /// Message ids in the order they were posted, per channel.
    order: BTreeMap<String, Vec<String>>,
    threads: Vec<ThreadInfo>,
    next_id: u64,
    edit_failures: VecDeque<ChatError>,
    users: BTreeMap<String, Vec<String>>,
    /// Commands come with a message of their own, as Discord's interactions do.
    interactions: bool,
    /// Each command's origin, until when it may be used.
    origins: HashMap<String, Duration>,
    /// Messages posted as a command's own, until when their edits are free.
    own: HashMap<String, Duration>,
}

/// The in-memory chat.
pub struct MemoryChat {
    state: Mutex<State>,
    start: tokio::time::Instant,
    sink: RwLock<Option<Weak<dyn EventSink>>>,
    connected: tokio::sync::Notify,
    /// The call rates it declares (Discord's unless set).
    limits: Mutex<crate::chat::paced::Limits>,
}

impl Default for MemoryChat {
    fn default() -> Self {
        MemoryChat {
            state: Mutex::new(State::default()),
            start: tokio::time::Instant::now(),
            sink: RwLock::new(None),
            connected: tokio::sync::Notify::new(),
            limits: Mutex::new(crate::chat::paced::Limits::default()),
        }
    }
}

impl MemoryChat {
    pub fn new() -> Arc<Self> {
        Arc::new(MemoryChat::default())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// How long the chat has existed: the time its records' `at` is measured from.
    pub fn elapsed(&self) -> Duration {
        self.now()
    }

    /// Delivers events to `sink` (held weakly: the bot owns the chat, not the reverse).
    pub fn connect(&self, sink: Weak<dyn EventSink>) {
        *self.sink.write().unwrap_or_else(|e| e.into_inner()) = Some(sink);
        self.connected.notify_waiters();
    }

    /// Declares other call rates than Discord's (read when the bot starts).
    pub fn set_limits(&self, limits: crate::chat::paced::Limits) {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner()) = limits;
    }

    /// Adds a user with roles (or replaces their roles).
    pub fn add_user(&self, name: &str, roles: &[&str]) {
        self.state().users.insert(
            name.to_string(),
            roles.iter().map(|r| r.to_string()).collect(),
        );
    }

    /// The actor for a user name; unknown users have no roles.
    pub fn actor(&self, name: &str) -> Actor {
        let roles = self.state().users.get(name).cloned().unwrap_or_default();
        Actor::new(name, name, roles)
    }

    async fn deliver(&self, event: ChatEvent) -> Option<Reply> {
        // The bot connects as it starts (and again after a restart): what a test says
        // in between waits for it.
        let connected = self.connected.notified();
        tokio::pin!(connected);
        connected.as_mut().enable();
        let sink = match self.sink() {
            Some(sink) => sink,
            None => {
                let _ = tokio::time::timeout(Duration::from_secs(60), connected).await;
                self.sink()?
            }
        };
        sink.handle(event).await
    }

    fn sink(&self) -> Option<Arc<dyn EventSink>> {
        self.sink
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(Weak::upgrade)
    }

    /// `user` types `text` in `channel`.
    pub async fn say(&self, user: &str, channel: &str, text: &str) -> Option<Reply> {
        let actor = self.actor(user);
        let origin = self.new_origin();
        self.deliver(ChatEvent::Command {
            actor,
            channel: channel.to_string(),
            input: Input::Line(text.to_string()),
            origin,
        })
        .await
    }

    /// `user` adds a reaction.
    pub async fn react_as(&self, user: &str, target: &MessageRef, emoji: &str) -> Option<Reply> {
        self.reaction_as(user, target, emoji, true).await
    }

    /// `user` removes a reaction.
    pub async fn unreact_as(&self, user: &str, target: &MessageRef, emoji: &str) -> Option<Reply> {
        self.reaction_as(user, target, emoji, false).await
    }

    async fn reaction_as(
        &self,
        user: &str,
        target: &MessageRef,
        emoji: &str,
        added: bool,
    ) -> Option<Reply> {
        let (at, target_, emoji_, user_) = (
            self.now(),
            target.clone(),
            emoji.to_string(),
            user.to_string(),
        );
        self.state().records.push(if added {
            Record::React {
                at,
                target: target_,
                emoji: emoji_,
                user: user_,
            }
        } else {
            Record::Unreact {
                at,
                target: target_,
                emoji: emoji_,
                user: user_,
            }
        });
        let actor = self.actor(user);
        self.deliver(ChatEvent::Reaction {
            actor,
            target: target.clone(),
            emoji: emoji.to_string(),
            added,
        })
        .await
    }

    /// `user` presses a button under a message; a button id releasebot never made
    /// does nothing.
    pub async fn press(&self, user: &str, target: &MessageRef, id: &str) -> Option<Reply> {
        let actor = self.actor(user);
        let action = ButtonAction::parse(id)?;
        self.deliver(ChatEvent::Button {
            actor,
            target: target.clone(),
            action,
        })
        .await
    }

    /// The next `count` edits fail with `error`.
    pub fn fail_next_edits(&self, count: usize, error: ChatError) {
        let mut state = self.state();
        for _ in 0..count {
            state.edit_failures.push_back(error.clone());
        }
    }

    fn next_id(state: &mut State, prefix: &str) -> String {
        state.next_id += 1;
        format!("{prefix}{}", state.next_id)
    }

    fn store_post(&self, state: &mut State, channel: &str, message: &Message) -> MessageRef {
        let target = MessageRef {
            channel: channel.to_string(),
            message: Self::next_id(state, "m"),
        };
        state
            .messages
            .insert(target.message.clone(), (target.clone(), message.clone()));
        state
            .order
            .entry(channel.to_string())
            .or_default()
            .push(target.message.clone());
        state.records.push(Record::Post {
            at: self.now(),
            target: target.clone(),
            message: message.clone(),
        });
        target
    }
}

#[async_trait]
impl Chat for MemoryChat {
    fn limits(&self) -> crate::chat::paced::Limits {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn open_thread(
        &self,
        channel: &str,
        summary: &Message,
        title: &str,
        keep_open: Duration,
    ) -> Result<ThreadRef, ChatError> {
        let mut state = self.state();
        let summary = self.store_post(&mut state, channel, summary);
        let thread = ThreadRef {
            channel: channel.to_string(),
            thread: Self::next_id(&mut state, "t"),
            summary,
        };
        state.threads.push(ThreadInfo {
            thread: thread.clone(),
            title: title.to_string(),
            keep_open,
            members: Vec::new(),
        });
        state.records.push(Record::Thread {
            at: self.now(),
            thread: thread.clone(),
            title: title.to_string(),
        });
        Ok(thread)
    }

    async fn open_thread_on(
        &self,
        origin: &crate::chat::Origin,
        channel: &str,
        summary: &Message,
        title: &str,
        keep_open: Duration,
    ) -> Result<crate::chat::Opened, ChatError> {
        let until = self.state().origins.remove(&origin.0);
        let thread = self.open_thread(channel, summary, title, keep_open).await?;
        let own_message = until.is_some_and(|until| self.now() < until);
        if let (true, Some(until)) = (own_message, until) {
            self.state()
                .own
                .insert(thread.summary.message.clone(), until);
        }
        Ok(crate::chat::Opened {
            thread,
            own_message,
        })
    }

    fn own_budget(&self, target: &MessageRef) -> bool {
        self.own_until(target)
            .is_some_and(|until| self.now() < until)
    }

    async fn add_to_thread(&self, thread: &str, user: &str) -> Result<(), ChatError> {
        let mut state = self.state();
        if let Some(t) = state.threads.iter_mut().find(|t| t.thread.thread == thread) {
            t.members.push(user.to_string());
        }
        Ok(())
    }

    async fn post(&self, channel: &str, message: &Message) -> Result<MessageRef, ChatError> {
        if message.text.is_empty() {
            return Err(ChatError::permanent("cannot send an empty message"));
        }
        let mut state = self.state();
        Ok(self.store_post(&mut state, channel, message))
    }

    async fn edit(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        let mut state = self.state();
        if let Some(e) = state.edit_failures.pop_front() {
            return Err(e);
        }
        let Some(stored) = state.messages.get_mut(&target.message) else {
            return Err(ChatError::permanent("unknown message"));
        };
        stored.1 = message.clone();
        state.records.push(Record::Edit {
            at: self.now(),
            target: target.clone(),
            message: message.clone(),
        });
        Ok(())
    }

    async fn react(&self, target: &MessageRef, emoji: &str) -> Result<(), ChatError> {
        let at = self.now();
        self.state().records.push(Record::React {
            at,
            target: target.clone(),
            emoji: emoji.to_string(),
            user: "releasebot".into(),
        });
        Ok(())
    }

    async fn refuse_reaction(
        &self,
        target: &MessageRef,
        emoji: &str,
        actor: &Actor,
        why: &str,
    ) -> Result<(), ChatError> {
        let at = self.now();
        let mut state = self.state();
        state.records.push(Record::Unreact {
            at,
            target: target.clone(),
            emoji: emoji.to_string(),
            user: actor.id.clone(),
        });
        state.records.push(Record::Refused {
            at,
            target: target.clone(),
            emoji: emoji.to_string(),
            user: actor.id.clone(),
            why: why.to_string(),
        });
        Ok(())
    }
}
