//! The engine's [`Chat`] on Discord: every REST call releasebot makes goes through
//! [`DiscordChat`] and its [`Rest`], with the bot token, by channel and message id.
//!
//! Editing by id (`ChannelId::edit_message`) rather than through a cached
//! `serenity::model::channel::Message` or an interaction token is what lets a job keep
//! editing its one message across gateway reconnects and bot restarts: the ids in the
//! job's record are all it needs, and interaction tokens expire after 15 minutes.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateMessage, EditMessage, GuildId, ReactionType, RoleId,
    UserId,
};
use serenity::model::channel::Channel;
use tokio::time::Instant;

use super::Settings;

mod threads;
use super::own::Origins;
use super::rest::{Rest, RestError};
use crate::chat::paced::Limits;
use crate::chat::{Actor, Chat, ChatError, Message, MessageRef, Opened, Origin, ThreadRef};
use crate::secret::Secret;

/// Discord's content limit, in characters.
pub const MAX_CONTENT: usize = 2000;

/// The Discord code for "a thread has already been created for this message".
const THREAD_EXISTS: isize = 160_004;

/// The Discord code for "thread is archived".
const THREAD_ARCHIVED: isize = 50_083;

/// Role names are looked up again after this long, so renamed roles are noticed.
const ROLES_FRESH_FOR: Duration = Duration::from_secs(60);
/// An unknown role id triggers a new look-up, but not more often than this.
const ROLES_REFETCH_AFTER: Duration = Duration::from_secs(5);

/// A guild's roles as last fetched.
struct KnownRoles {
    roles: Vec<(RoleId, String)>,
    fetched: Instant,
}

/// Talks to Discord's REST API for the engine and for the event handler.
pub struct DiscordChat {
    /// Set once the serenity client exists, on its one `Http` (and rate limiter).
    rest: OnceLock<Rest>,
    limits: Limits,
    token: Secret,
    default_guild: Option<GuildId>,
    /// The guild of each channel and thread seen, to map role names to ids.
    guilds: Mutex<HashMap<ChannelId, GuildId>>,
    roles: tokio::sync::Mutex<HashMap<GuildId, KnownRoles>>,
    /// Commands' interactions, for the jobs' own messages.
    origins: Origins,
}

impl DiscordChat {
    pub(super) fn new(settings: &Settings) -> Self {
        DiscordChat {
            rest: OnceLock::new(),
            limits: settings.limits,
            token: settings.token.clone(),
            default_guild: settings.guilds.first().copied(),
            guilds: Mutex::new(HashMap::new()),
            roles: tokio::sync::Mutex::new(HashMap::new()),
            origins: Origins::default(),
        }
    }

    pub(super) fn origins(&self) -> &Origins {
        &self.origins
    }

    /// The bot token, to scrub from anything logged.
    pub(super) fn token(&self) -> &Secret {
        &self.token
    }

    /// Hands over the REST API on the serenity client's `Http`, sharing its rate
    /// limiter.
    pub(super) fn connect(&self, rest: Rest) {
        let _ = self.rest.set(rest);
    }

    /// The REST API, once connected.
    pub(super) fn rest(&self) -> Result<&Rest, RestError> {
        self.rest.get().ok_or(RestError::Unconnected)
    }

    /// The REST API for a call the engine makes, which fails as the engine's error.
    fn rest_for(&self, what: &str) -> Result<&Rest, ChatError> {
        self.rest().map_err(|e| self.failed(&e, what))
    }

    /// A failed REST call as the engine's error.
    pub(super) fn failed(&self, e: &RestError, what: &str) -> ChatError {
        chat_error(e, what, &self.token)
    }

    /// Remembers which guild a channel (or thread) belongs to.
    pub(super) fn remember(&self, channel: ChannelId, guild: GuildId) {
        let mut guilds = self.guilds.lock().unwrap_or_else(|e| e.into_inner());
        if guilds.len() > 50_000 {
            guilds.clear();
        }
        guilds.insert(channel, guild);
    }

    /// The guild of a channel: remembered, else asked of Discord, else the configured one.
    pub(super) async fn guild_of(&self, channel: ChannelId) -> Option<GuildId> {
        let known = self
            .guilds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&channel)
            .copied();
        if known.is_some() {
            return known;
        }
        let rest = self.rest().ok()?;
        match rest.get_channel(channel).await {
            Ok(Channel::Guild(c)) => {
                self.remember(channel, c.guild_id);
                Some(c.guild_id)
            }
            Ok(_) => self.default_guild,
            Err(e) => {
                tracing::debug!(channel = %channel, error = %describe(&e, &self.token), "cannot tell the channel's guild");
                self.default_guild
            }
        }
    }

    /// A guild's roles, fetched when unknown, stale, or when `wanted` finds them lacking.
    async fn guild_roles(
        &self,
        guild: GuildId,
        wanted: impl Fn(&[(RoleId, String)]) -> bool,
    ) -> Vec<(RoleId, String)> {
        let mut cache = self.roles.lock().await;
        if let Some(known) = cache.get(&guild) {
            let age = known.fetched.elapsed();
            let enough = wanted(&known.roles) && age < ROLES_FRESH_FOR;
            if enough || age < ROLES_REFETCH_AFTER {
                return known.roles.clone();
            }
        }
        let fetched = match self.rest() {
            Ok(rest) => rest.get_guild_roles(guild).await,
            Err(_) => return Vec::new(),
        };
        match fetched {
            Ok(roles) => {
                let roles: Vec<(RoleId, String)> =
                    roles.into_iter().map(|r| (r.id, r.name)).collect();
                cache.insert(
                    guild,
                    KnownRoles {
                        roles: roles.clone(),
                        fetched: Instant::now(),
                    },
                );
                roles
            }
            Err(e) => {
                tracing::warn!(guild = %guild, error = %describe(&e, &self.token), "cannot read the server's roles; role names are not matched");
                cache
                    .get(&guild)
                    .map(|k| k.roles.clone())
                    .unwrap_or_default()
            }
        }
    }

    /// What the configuration can match a member's roles by: each role's id and name,
    /// and which of the names other roles bear too.
    pub(super) async fn role_labels(&self, guild: GuildId, member_roles: &[RoleId]) -> Labels {
        if member_roles.is_empty() {
            return Labels::default();
        }
        let known = self
            .guild_roles(guild, |known| {
                member_roles
                    .iter()
                    .all(|id| known.iter().any(|(k, _)| k == id))
            })
            .await;
        role_labels(member_roles, &known)
    }

    /// The content and allowed mentions of a message: the roles it may notify become
    /// `<@&id>` mentions, and nothing else in it can notify anyone.
    pub(super) async fn rendered(
        &self,
        channel: ChannelId,
        message: &Message,
    ) -> (String, CreateAllowedMentions) {
        let mut text = message.text.clone();
        let mut ids = Vec::new();
        if !message.mention_roles.is_empty()
            && let Some(guild) = self.guild_of(channel).await
        {
            let wanted = &message.mention_roles;
            let known = self
                .guild_roles(guild, |known| {
                    role_ids_for(wanted, known).len() == wanted.len()
                })
                .await;
            for (name, id) in role_ids_for(wanted, &known) {
                text = mention(&text, &name, id);
                ids.push(id);
            }
        }
        let users = message
            .mention_users
            .iter()
            .filter_map(|u| snowflake(u).map(UserId::new));
        let allowed = CreateAllowedMentions::new().roles(ids).users(users);
        (fit(&text), allowed)
    }
}

#[async_trait]
impl Chat for DiscordChat {
    fn limits(&self) -> Limits {
        self.limits
    }

    fn style(&self) -> crate::chat::Style {
        crate::chat::Style {
            max_chars: MAX_CONTENT,
            mentions: true,
            timestamps: true,
            links: true,
            markdown: true,
        }
    }

    /// Posts the summary as a normal bot message and starts a public thread on it,
    /// archived after a day of silence, or after as long as `keep_open` (up to a week,
    /// Discord's longest).
    async fn open_thread(
        &self,
        channel: &str,
        summary: &Message,
        title: &str,
        keep_open: Duration,
    ) -> Result<ThreadRef, ChatError> {
        let posted = self.post(channel, summary).await?;
        self.thread_on(posted, title, keep_open).await
    }

    /// Posts the job's message as the public follow-up of its command where the
    /// interaction allows, and opens the thread on it as [`Chat::open_thread`] does.
    async fn open_thread_on(
        &self,
        origin: &Origin,
        channel: &str,
        summary: &Message,
        title: &str,
        keep_open: Duration,
    ) -> Result<Opened, ChatError> {
        let (posted, own_message) = match self.post_own(origin, channel, summary).await {
            Some(posted) => (posted, true),
            None => (self.post(channel, summary).await?, false),
        };
        let thread = self.thread_on(posted, title, keep_open).await?;
        Ok(Opened {
            thread,
            own_message,
        })
    }

    fn own_budget(&self, target: &MessageRef) -> bool {
        message_id(&target.message).is_ok_and(|id| self.origins.token_for(id).is_some())
    }

    /// The thread's link, in the server of the channel it hangs from.
    async fn link(&self, thread: &ThreadRef) -> Option<String> {
        let id = channel_id(&thread.thread).ok()?;
        let guild = self.guild_of(channel_id(&thread.channel).ok()?).await?;
        Some(format!("https://discord.com/channels/{guild}/{id}"))
    }

    async fn post(&self, channel: &str, message: &Message) -> Result<MessageRef, ChatError> {
        const WHAT: &str = "post a message";
        let rest = self.rest_for(WHAT)?;
        let channel_id = channel_id(channel)?;
        let (content, allowed) = self.rendered(channel_id, message).await;
        let mut builder = CreateMessage::new()
            .content(content)
            .allowed_mentions(allowed)
            .components(components(&message.buttons));
        let files = attachments(&message.files);
        for file in &files {
            builder = builder.add_file(file.clone());
        }
        let posted = rest
            .send_message(channel_id, &builder, files)
            .await
            .map_err(|e| self.failed(&e, WHAT))?;
        Ok(MessageRef {
            channel: channel.to_string(),
            message: posted.id.to_string(),
        })
    }

    async fn edit(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        if let Some(edited) = self.edit_own(target, message).await {
            return edited;
        }
        const WHAT: &str = "edit a message";
        let rest = self.rest_for(WHAT)?;
        let channel_id = channel_id(&target.channel)?;
        let message_id = message_id(&target.message)?;
        let (content, allowed) = self.rendered(channel_id, message).await;
        // Components are always sent, so a closed approval loses its buttons.
        let builder = EditMessage::new()
            .content(content)
            .allowed_mentions(allowed)
            .components(components(&message.buttons));
        match rest.edit_message(channel_id, message_id, &builder).await {
            Ok(()) => Ok(()),
            // The thread was archived (a day of silence, or a moderator): the bot
            // reopens the thread it made and edits again. A locked thread stays closed.
            Err(e) if code(&e) == Some(THREAD_ARCHIVED) => {
                self.reopen(channel_id).await?;
                rest.edit_message(channel_id, message_id, &builder)
                    .await
                    .map_err(|e| self.failed(&e, WHAT))
            }
            Err(e) => Err(self.failed(&e, WHAT)),
        }
    }

    async fn react(&self, target: &MessageRef, emoji: &str) -> Result<(), ChatError> {
        const WHAT: &str = "add a reaction";
        let rest = self.rest_for(WHAT)?;
        let channel_id = channel_id(&target.channel)?;
        let message_id = message_id(&target.message)?;
        let emoji = ReactionType::Unicode(emoji.to_string());
        match rest.create_reaction(channel_id, message_id, &emoji).await {
            Ok(()) => Ok(()),
            Err(e) if code(&e) == Some(THREAD_ARCHIVED) => {
                self.reopen(channel_id).await?;
                rest.create_reaction(channel_id, message_id, &emoji)
                    .await
                    .map_err(|e| self.failed(&e, WHAT))
            }
            Err(e) => Err(self.failed(&e, WHAT)),
        }
    }

    /// Adds the requester to the job's thread, so they follow it.
    async fn add_to_thread(&self, thread: &str, user: &str) -> Result<(), ChatError> {
        const WHAT: &str = "add someone to a thread";
        let rest = self.rest_for(WHAT)?;
        let thread = channel_id(thread)?;
        let Some(user) = snowflake(user).map(UserId::new) else {
            return Ok(());
        };
        rest.add_thread_channel_member(thread, user)
            .await
            .map_err(|e| self.failed(&e, WHAT))
    }

    /// Removes the reaction (which needs the optional Manage Messages permission) and
    /// tells the person why in the request's thread, notifying only them.
    async fn refuse_reaction(
        &self,
        target: &MessageRef,
        emoji: &str,
        actor: &Actor,
        why: &str,
    ) -> Result<(), ChatError> {
        const WHAT: &str = "answer a reaction";
        let rest = self.rest_for(WHAT)?;
        let channel_id = channel_id(&target.channel)?;
        let message_id = message_id(&target.message)?;
        let Some(user) = snowflake(&actor.id).map(UserId::new) else {
            return Err(ChatError::permanent(format!(
                "{:?} is not a Discord user id",
                actor.id
            )));
        };
        let reaction = ReactionType::Unicode(emoji.to_string());
        if let Err(e) = rest
            .delete_reaction(channel_id, message_id, user, &reaction)
            .await
        {
            tracing::debug!(error = %describe(&e, &self.token), "cannot remove a refused reaction (Manage Messages is optional)");
        }
        let notice = CreateMessage::new()
            .content(fit(&format!(
                "<@{user}> your {emoji} changed nothing: {why}"
            )))
            .allowed_mentions(CreateAllowedMentions::new().users([user]));
        rest.send_message(channel_id, &notice, Vec::new())
            .await
            .map(drop)
            .map_err(|e| self.failed(&e, WHAT))
    }
}

use super::wire::{
    Labels, channel_id, chat_error, code, components, mention, message_id, role_ids_for,
    role_labels,
};
pub(super) use super::wire::{describe, describe_serenity, fit, snowflake, status};

/// A message's files as Discord attachments.
pub(super) fn attachments(
    files: &[crate::chat::Attachment],
) -> Vec<serenity::all::CreateAttachment> {
    files
        .iter()
        .map(|f| serenity::all::CreateAttachment::bytes(f.bytes.clone(), f.name.clone()))
        .collect()
}
