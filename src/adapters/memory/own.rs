//! Commands with a message of their own, as slash commands have on Discord: the
//! in-memory chat can give each command an origin, post a job's message as that
//! command's own and tell which edits of it went outside the shared budget.

use std::time::Duration;

use super::MemoryChat;
use crate::chat::{MessageRef, Origin};

/// How long a command's origin may be used, as a Discord interaction's token.
pub const ORIGIN_LIFETIME: Duration = Duration::from_secs(15 * 60);

impl MemoryChat {
    /// From now on, each command comes with a message of its own (an origin) that
    /// can be used for [`ORIGIN_LIFETIME`].
    pub fn use_interactions(&self) {
        self.state().interactions = true;
    }

    /// A new command's origin, when commands have them.
    pub fn new_origin(&self) -> Option<Origin> {
        let until = self.now() + ORIGIN_LIFETIME;
        let mut state = self.state();
        if !state.interactions {
            return None;
        }
        let id = Self::next_id(&mut state, "i");
        state.origins.insert(id.clone(), until);
        Some(Origin(id))
    }

    /// Until when edits of `target` are free: set when it was posted as a command's
    /// own message.
    pub fn own_until(&self, target: &MessageRef) -> Option<Duration> {
        self.state().own.get(&target.message).copied()
    }

    /// Whether a call on `target` at `at` went outside the shared budget: on a
    /// command's own message, while its origin lived.
    pub fn outside_budget(&self, at: Duration, target: &MessageRef) -> bool {
        self.own_until(target).is_some_and(|until| at < until)
    }
}
