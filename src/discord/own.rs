//! A command's own message on Discord: the public follow-up of the slash command
//! that started a job. Discord does not count interaction endpoints against the bot's
//! global rate limit, so while the interaction's token lives (15 minutes) the job's
//! message is posted and edited through it at no cost to the shared budget that every
//! other message, thread and reaction spends. After that, or after a restart (tokens
//! are kept in memory only), the same message is edited by id with the bot token,
//! like any other.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serenity::all::{ChannelId, CreateInteractionResponseFollowup, InteractionId, MessageId};
use tokio::sync::watch;
use tokio::time::Instant;

use super::chat::DiscordChat;
use super::wire::{channel_id, components, describe, message_id};
use crate::chat::{ChatError, Message, MessageRef, Origin};
use crate::secret::Secret;

/// How long an interaction's token is used: Discord's 15 minutes, less a margin for
/// the calls in flight when it runs out.
const TOKEN_SERVES: Duration = Duration::from_secs(14 * 60);

/// How long a job waits for its command's answer before giving up on the follow-up
/// (a follow-up sent before the deferred answer is edited would replace the answer).
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// An interaction whose follow-up a job may still post.
struct Pending {
    token: Secret,
    /// True once the command's own (ephemeral) answer is in place.
    answered: watch::Receiver<bool>,
    until: Instant,
}

/// The interactions releasebot may post or edit through, by interaction and by
/// message.
#[derive(Default)]
pub(super) struct Origins {
    pending: Mutex<Expiring<String, Pending>>,
    /// Each follow-up posted as a job's message: the token that edits it, and until when.
    own: Mutex<Expiring<MessageId, (Secret, Instant)>>,
}

/// A map whose entries expire, forgotten a whole map at a time once it has doubled
/// since the last time (so each insert costs O(1) on average).
struct Expiring<K, V> {
    map: HashMap<K, V>,
    prune_at: usize,
}

impl<K, V> Default for Expiring<K, V> {
    fn default() -> Self {
        Expiring {
            map: HashMap::new(),
            prune_at: 256,
        }
    }
}

impl<K: std::hash::Hash + Eq, V> Expiring<K, V> {
    fn insert(&mut self, key: K, value: V, until: impl Fn(&V) -> Instant) {
        if self.map.len() >= self.prune_at {
            let now = Instant::now();
            self.map.retain(|_, v| now < until(v));
            self.prune_at = (self.map.len() * 2).max(256);
        }
        self.map.insert(key, value);
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Origins {
    /// The token that edits `message` outside the shared budget, while it serves.
    pub(super) fn token_for(&self, message: MessageId) -> Option<Secret> {
        let own = locked(&self.own);
        let (token, until) = own.map.get(&message)?;
        (Instant::now() < *until).then(|| token.clone())
    }

    fn forget(&self, message: MessageId) {
        locked(&self.own).map.remove(&message);
    }
}

impl DiscordChat {
    /// Keeps a command's interaction for the job it may start: the job's message can
    /// be its follow-up once `answered` says the command's answer is in place (send
    /// `true`; dropping it unsent gives the follow-up up).
    pub(super) fn expect_origin(
        &self,
        interaction: InteractionId,
        token: &str,
    ) -> (Origin, watch::Sender<bool>) {
        let (answered_tx, answered) = watch::channel(false);
        locked(&self.origins().pending).insert(
            interaction.to_string(),
            Pending {
                token: Secret::new(token),
                answered,
                until: Instant::now() + TOKEN_SERVES,
            },
            |p| p.until,
        );
        (Origin(interaction.to_string()), answered_tx)
    }

    /// Posts `message` as the public follow-up of the command `origin` came with,
    /// once the command's answer is in place; `None` when that cannot be done (the
    /// token ran out, the answer failed, Discord refused), and the message should be
    /// posted the usual way.
    pub(super) async fn post_own(
        &self,
        origin: &Origin,
        channel: &str,
        message: &Message,
    ) -> Option<MessageRef> {
        let pending = locked(&self.origins().pending).map.remove(&origin.0)?;
        let Pending {
            token,
            mut answered,
            until,
        } = pending;
        let in_place = tokio::time::timeout(ANSWER_WAIT, async {
            answered.wait_for(|a| *a).await.is_ok()
        })
        .await;
        if in_place != Ok(true) || Instant::now() >= until {
            return None;
        }
        let rest = self.rest().ok()?;
        let channel_id = channel_id(channel).ok()?;
        let followup = self.followup(channel_id, message).await;
        let posted = rest
            .create_followup_message(token.expose(), &followup)
            .await;
        match posted {
            Ok(posted) if posted.channel_id == channel_id => {
                locked(&self.origins().own).insert(posted.id, (token, until), |(_, until)| *until);
                Some(MessageRef {
                    channel: channel.to_string(),
                    message: posted.id.to_string(),
                })
            }
            Ok(posted) => {
                tracing::warn!(channel = %posted.channel_id, "a command's follow-up went elsewhere than its channel; posting the job's message there the usual way");
                None
            }
            Err(e) => {
                tracing::info!(error = %describe(&e, self.token()), "cannot post a command's follow-up; posting the job's message the usual way");
                None
            }
        }
    }

    /// Edits a command's own message through its interaction while the token serves;
    /// `None` when it does not (or no longer) serve, and the edit goes by id.
    pub(super) async fn edit_own(
        &self,
        target: &MessageRef,
        message: &Message,
    ) -> Option<Result<(), ChatError>> {
        let id = message_id(&target.message).ok()?;
        let token = self.origins().token_for(id)?;
        let rest = self.rest().ok()?;
        let channel_id = channel_id(&target.channel).ok()?;
        let edit = self.followup(channel_id, message).await;
        match rest.edit_followup_message(token.expose(), id, &edit).await {
            Ok(_) => Some(Ok(())),
            Err(e) => {
                // The token ran out early or Discord refused it: from now on the
                // message is edited by id, with the bot token.
                tracing::info!(error = %describe(&e, self.token()), "cannot edit a command's follow-up through its interaction; editing it by id");
                self.origins().forget(id);
                None
            }
        }
    }

    /// `message` as a follow-up's content, mentions and buttons.
    async fn followup(
        &self,
        channel: ChannelId,
        message: &Message,
    ) -> CreateInteractionResponseFollowup {
        let (content, allowed) = self.rendered(channel, message).await;
        CreateInteractionResponseFollowup::new()
            .content(content)
            .allowed_mentions(allowed)
            .components(components(&message.buttons))
    }
}
