//! What a test or a benchmark reads back: the records, threads and messages as they
//! stand, each message's history and reactions.

use std::time::Duration;

use super::{MemoryChat, Record, ThreadInfo};
use crate::chat::{Message, MessageRef};

impl MemoryChat {
    pub fn records(&self) -> Vec<Record> {
        self.state().records.clone()
    }

    pub fn threads(&self) -> Vec<ThreadInfo> {
        self.state().threads.clone()
    }

    /// The thread whose title starts with `prefix` (such as `#3 `).
    pub fn thread(&self, prefix: &str) -> Option<ThreadInfo> {
        self.state()
            .threads
            .iter()
            .find(|t| t.title.starts_with(prefix))
            .cloned()
    }

    /// A message's current content.
    pub fn message(&self, target: &MessageRef) -> Option<Message> {
        self.state()
            .messages
            .get(&target.message)
            .map(|(_, m)| m.clone())
    }

    /// The messages of a channel or thread in the order they were posted, as they read now.
    pub fn messages_in(&self, channel: &str) -> Vec<(MessageRef, Message)> {
        let state = self.state();
        state
            .order
            .get(channel)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| state.messages.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many times a message was edited.
    pub fn edit_count(&self, target: &MessageRef) -> usize {
        self.state()
            .records
            .iter()
            .filter(|r| matches!(r, Record::Edit { target: t, .. } if t == target))
            .count()
    }

    /// Every content a message had, with when.
    pub fn history(&self, target: &MessageRef) -> Vec<(Duration, String)> {
        self.state()
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Post {
                    at,
                    target: t,
                    message,
                }
                | Record::Edit {
                    at,
                    target: t,
                    message,
                } if t == target => Some((*at, message.text.clone())),
                _ => None,
            })
            .collect()
    }

    /// The reactions on a message now, as (user, emoji).
    pub fn reactions(&self, target: &MessageRef) -> Vec<(String, String)> {
        let mut on: Vec<(String, String)> = Vec::new();
        for r in self.state().records.iter() {
            match r {
                Record::React {
                    target: t,
                    emoji,
                    user,
                    ..
                } if t == target => {
                    on.push((user.clone(), emoji.clone()));
                }
                Record::Unreact {
                    target: t,
                    emoji,
                    user,
                    ..
                } if t == target => {
                    on.retain(|(u, e)| !(u == user && e == emoji));
                }
                _ => {}
            }
        }
        on
    }
}
