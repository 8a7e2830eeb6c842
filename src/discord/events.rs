//! Gateway events in: slash commands, autocomplete, button presses and reactions
//! become [`ChatEvent`]s for the engine; answers to the person go back ephemerally.
//!
//! Only the configured servers count: anything from another server (a public bot can
//! be added anywhere, and role names mean nothing across servers) or from a DM is
//! refused before it reaches the engine. serenity runs each event in its own task, so a
//! slow command never holds up the next event. A command or button is acknowledged
//! (deferred, ephemeral) before anything else, well within Discord's 3 s; the answer
//! then replaces the "thinking…" message through the interaction token, which is only
//! ever used in these first seconds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serenity::all::{
    ChannelId, CommandInteraction, ComponentInteraction, Context, CreateAllowedMentions,
    CreateAttachment, CreateAutocompleteResponse, CreateInteractionResponse,
    CreateInteractionResponseMessage, EditInteractionResponse, EventHandler, GuildId, Interaction,
    InteractionId, Member, PartialChannel, Permissions, RatelimitInfo, Reaction, ReactionType,
    Ready, ResumedEvent, User, UserId,
};

use super::chat::{DiscordChat, MAX_CONTENT, describe};
use super::rest::RestError;
use super::{autocomplete, commands, votes};
use crate::chat::{APPROVE, Actor, ButtonAction, MessageRef, REJECT};
use crate::commands::{ChatEvent, EventSink, Reply};
use crate::engine::Engine;

/// Turns gateway events into chat events.
pub(super) struct Handler {
    engine: Engine,
    sink: Arc<dyn EventSink>,
    chat: Arc<DiscordChat>,
    /// The servers releasebot serves.
    guilds: Vec<GuildId>,
    /// The bot's own user id, from READY: its own reactions are not votes.
    me: AtomicU64,
    registered: AtomicBool,
    /// Display names seen, for reaction removals (which carry only a user id).
    names: Mutex<HashMap<UserId, String>>,
}

/// The answer to anything from a server releasebot does not serve.
const NOT_HERE: &str =
    "releasebot does not take commands here: it serves only the servers it was set up for.";

/// What releasebot needs in a channel to run a job there.
const NEEDED: [(Permissions, &str); 5] = [
    (Permissions::VIEW_CHANNEL, "View Channel"),
    (Permissions::SEND_MESSAGES, "Send Messages"),
    (Permissions::CREATE_PUBLIC_THREADS, "Create Public Threads"),
    (
        Permissions::SEND_MESSAGES_IN_THREADS,
        "Send Messages in Threads",
    ),
    (Permissions::ADD_REACTIONS, "Add Reactions"),
];

/// The permissions releasebot needs that `has` lacks, by name.
fn missing_permissions(has: Option<Permissions>) -> Vec<String> {
    let Some(has) = has else {
        return Vec::new();
    };
    if has.contains(Permissions::ADMINISTRATOR) {
        return Vec::new();
    }
    NEEDED
        .iter()
        .filter(|(p, _)| !has.contains(*p))
        .map(|(_, name)| name.to_string())
        .collect()
}

/// The channel a thread belongs to, if the command was typed in a thread.
fn parent(channel: Option<&PartialChannel>) -> Option<ChannelId> {
    let channel = channel?;
    channel.thread_metadata.as_ref()?;
    channel.parent_id
}

/// An interaction's answer: within Discord's length, cut from the middle so its end
/// (the newest log lines, the outcome) stays, with the whole text attached as a file
/// when it was cut.
fn answer(
    text: &str,
    shown_files: &[crate::chat::Attachment],
) -> (EditInteractionResponse, Vec<CreateAttachment>) {
    let shown = crate::render::fit(text.to_string(), MAX_CONTENT);
    let mut answer = EditInteractionResponse::new()
        .content(if shown.trim().is_empty() {
            "…".to_string()
        } else {
            shown.clone()
        })
        .allowed_mentions(CreateAllowedMentions::new());
    let mut files = super::chat::attachments(shown_files);
    if shown != text {
        files.push(CreateAttachment::bytes(
            text.as_bytes().to_vec(),
            "answer.txt",
        ));
    }
    for file in &files {
        answer = answer.new_attachment(file.clone());
    }
    (answer, files)
}

impl Handler {
    pub(super) fn new(
        engine: Engine,
        sink: Arc<dyn EventSink>,
        chat: Arc<DiscordChat>,
        guilds: Vec<GuildId>,
    ) -> Self {
        Handler {
            engine,
            sink,
            chat,
            guilds,
            me: AtomicU64::new(0),
            registered: AtomicBool::new(false),
            names: Mutex::new(HashMap::new()),
        }
    }

    /// The person acting, with their roles as ids and names (matched against the
    /// configuration's role lists).
    async fn actor(&self, guild: Option<GuildId>, user: &User, member: Option<&Member>) -> Actor {
        let name = member
            .map_or_else(|| user.display_name(), Member::display_name)
            .to_string();
        let labels = match (guild, member) {
            (Some(guild), Some(member)) => self.chat.role_labels(guild, &member.roles).await,
            _ => Default::default(),
        };
        {
            let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
            if names.len() > 10_000 {
                names.clear();
            }
            names.insert(user.id, name.clone());
        }
        Actor::new(user.id.to_string(), name, labels.roles).with_ambiguous(labels.ambiguous)
    }

    /// Whether an event from `guild` may act: only the configured servers count.
    fn serves(&self, guild: Option<GuildId>) -> bool {
        guild.is_some_and(|g| self.guilds.contains(&g))
    }

    /// Answers an interaction at once with `response`.
    async fn respond(
        &self,
        id: InteractionId,
        token: &str,
        response: &CreateInteractionResponse,
    ) -> Result<(), RestError> {
        let rest = self.chat.rest()?;
        rest.create_interaction_response(id, token, response).await
    }

    /// Acknowledges an interaction: the person sees "thinking…", for them alone.
    async fn defer(&self, id: InteractionId, token: &str) -> Result<(), RestError> {
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new()
                .ephemeral(true)
                .allowed_mentions(CreateAllowedMentions::new()),
        );
        self.respond(id, token, &defer).await
    }

    /// Replaces an acknowledged interaction's "thinking…" with `text` (see [`answer`]).
    async fn answer(
        &self,
        token: &str,
        text: &str,
        files: &[crate::chat::Attachment],
    ) -> Result<(), RestError> {
        let (edit, files) = answer(text, files);
        let rest = self.chat.rest()?;
        rest.edit_original_interaction_response(token, &edit, files)
            .await
    }

    /// Registers the commands in each configured server (they appear at once), and
    /// removes any registered globally by an earlier setup, which every server the bot
    /// is in would otherwise offer.
    async fn register_commands(&self) {
        let Ok(rest) = self.chat.rest() else { return };
        let definitions = commands::definitions();
        let mut failed = false;
        for guild in &self.guilds {
            match rest.set_guild_commands(*guild, &definitions).await {
                Ok(c) => {
                    tracing::info!(commands = c.len(), guild = %guild, "slash commands registered")
                }
                Err(e) => {
                    failed = true;
                    tracing::warn!(guild = %guild, error = %describe(&e, self.chat.token()), "the slash commands could not be registered; they will be tried again at the next connection");
                }
            }
        }
        match rest.set_global_commands(&[]).await {
            Ok(_) => tracing::debug!("no global slash commands remain"),
            Err(e) => {
                failed = true;
                tracing::warn!(error = %describe(&e, self.chat.token()), "stale global slash commands could not be removed");
            }
        }
        if failed {
            self.registered.store(false, Ordering::SeqCst);
        }
    }

    /// Answers an interaction at once, ephemerally (for events refused before they
    /// reach the engine).
    async fn refuse(&self, command: &CommandInteraction, text: &str) {
        let answer = CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new()
                .ephemeral(true)
                .content(text)
                .allowed_mentions(CreateAllowedMentions::new()),
        );
        if let Err(e) = self.respond(command.id, &command.token, &answer).await {
            tracing::debug!(error = %describe(&e, self.chat.token()), "could not refuse an interaction");
        }
    }

    async fn on_command(&self, command: CommandInteraction) {
        if !self.serves(command.guild_id) {
            tracing::warn!(guild = ?command.guild_id, user = %command.user.id, command = %command.data.name, "refused a command from a server releasebot does not serve");
            return self.refuse(&command, NOT_HERE).await;
        }
        let starts_job = crate::commands::spec(&command.data.name).is_some_and(|s| s.starts_job);
        if starts_job {
            let missing = missing_permissions(command.app_permissions);
            if !missing.is_empty() {
                let text = format!(
                    "releasebot cannot work in this channel: it lacks {} here. Ask a server admin to give it these permissions in this channel.",
                    crate::render::or_list(&missing)
                );
                return self.refuse(&command, &text).await;
            }
        }
        if let Err(e) = self.defer(command.id, &command.token).await {
            tracing::warn!(command = %command.data.name, error = %describe(&e, self.chat.token()), "could not acknowledge a command");
            return;
        }
        if let Some(guild) = command.guild_id {
            self.chat.remember(command.channel_id, guild);
        }
        let actor = self
            .actor(command.guild_id, &command.user, command.member.as_deref())
            .await;
        tracing::info!(user = %actor.name, command = %command.data.name, "command");
        // Typed in a thread: the channel it belongs to is where the job's thread goes
        // and whose restrictions apply.
        let channel = parent(command.channel.as_ref()).unwrap_or(command.channel_id);
        // A job started here may show itself in the command's own follow-up (not from
        // a thread: a thread cannot start on a message in a thread).
        let (origin, answered) = (starts_job && channel == command.channel_id)
            .then(|| self.chat.expect_origin(command.id, &command.token))
            .unzip();
        let reply = self
            .sink
            .handle(ChatEvent::Command {
                actor,
                channel: channel.to_string(),
                input: commands::input(&command.data),
                origin,
            })
            .await;
        let text = reply.as_ref().map_or("Done.".to_string(), Reply::text);
        let files = reply.as_ref().map_or(&[][..], Reply::files);
        if let Err(e) = self.answer(&command.token, &text, files).await {
            tracing::warn!(command = %command.data.name, error = %describe(&e, self.chat.token()), "could not answer a command");
        } else if let Some(answered) = answered {
            let _ = answered.send(true);
        }
    }

    async fn on_autocomplete(&self, request: CommandInteraction) {
        if !self.serves(request.guild_id) {
            return;
        }
        let actor = self
            .actor(request.guild_id, &request.user, request.member.as_deref())
            .await;
        let channel = request.channel_id.to_string();
        let choices = autocomplete::choices(&self.engine, &actor, &channel, &request.data);
        let answer = CreateInteractionResponse::Autocomplete(
            CreateAutocompleteResponse::new().set_choices(choices),
        );
        if let Err(e) = self.respond(request.id, &request.token, &answer).await {
            tracing::debug!(error = %describe(&e, self.chat.token()), "could not answer an autocomplete request");
        }
    }

    async fn on_button(&self, press: ComponentInteraction) {
        if !self.serves(press.guild_id) {
            tracing::warn!(guild = ?press.guild_id, user = %press.user.id, "refused a button from a server releasebot does not serve");
            let answer = CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .ephemeral(true)
                    .content(NOT_HERE)
                    .allowed_mentions(CreateAllowedMentions::new()),
            );
            let _ = self.respond(press.id, &press.token, &answer).await;
            return;
        }
        if let Err(e) = self.defer(press.id, &press.token).await {
            tracing::warn!(error = %describe(&e, self.chat.token()), "could not acknowledge a button");
            return;
        }
        if let Some(guild) = press.guild_id {
            self.chat.remember(press.channel_id, guild);
        }
        let actor = self
            .actor(press.guild_id, &press.user, press.member.as_ref())
            .await;
        let reply = match ButtonAction::parse(&press.data.custom_id) {
            Some(action) => {
                self.sink
                    .handle(ChatEvent::Button {
                        actor,
                        target: MessageRef {
                            channel: press.channel_id.to_string(),
                            message: press.message.id.to_string(),
                        },
                        action,
                    })
                    .await
            }
            None => None,
        };
        let text = reply.as_ref().map_or(
            "That button does nothing any more.".to_string(),
            Reply::text,
        );
        if let Err(e) = self.answer(&press.token, &text, &[]).await {
            tracing::warn!(error = %describe(&e, self.chat.token()), "could not answer a button");
        }
    }

    /// Who reacted. An added reaction carries the member with their roles; a removal
    /// carries only the user id, and withdrawing a vote needs no role, so the name seen
    /// before will do. Otherwise the member is looked up.
    async fn reactor(&self, reaction: &Reaction, user: UserId, added: bool) -> Actor {
        if let Some(member) = &reaction.member {
            return self
                .actor(reaction.guild_id, &member.user, Some(member))
                .await;
        }
        let seen = self
            .names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&user)
            .cloned();
        if let (Some(name), false) = (&seen, added) {
            return Actor::new(user.to_string(), name.clone(), Vec::new());
        }
        if let Some(guild) = reaction.guild_id {
            let member = match self.chat.rest() {
                Ok(rest) => rest.get_member(guild, user).await,
                Err(e) => Err(e),
            };
            match member {
                Ok(member) => return self.actor(Some(guild), &member.user, Some(&member)).await,
                Err(e) => {
                    tracing::debug!(error = %describe(&e, self.chat.token()), "cannot look up who reacted")
                }
            }
        }
        let name = seen.unwrap_or_else(|| user.to_string());
        Actor::new(user.to_string(), name, Vec::new())
    }

    /// A ✅ or ❌ added or removed: a vote, if it is on an approval message. The engine
    /// answers refused votes itself (through `Chat::refuse_reaction`); counted votes
    /// show on the approval message.
    async fn on_reaction(&self, reaction: Reaction, added: bool) {
        let Some(user) = reaction.user_id else { return };
        if !self.serves(reaction.guild_id) {
            tracing::warn!(guild = ?reaction.guild_id, user = %user, "ignored a reaction from a server releasebot does not serve");
            return;
        }
        if user.get() == self.me.load(Ordering::SeqCst) {
            return;
        }
        let ReactionType::Unicode(emoji) = &reaction.emoji else {
            return;
        };
        if emoji != APPROVE && emoji != REJECT {
            return;
        }
        if let Some(guild) = reaction.guild_id {
            self.chat.remember(reaction.channel_id, guild);
        }
        let actor = self.reactor(&reaction, user, added).await;
        let reply = self
            .sink
            .handle(ChatEvent::Reaction {
                actor,
                target: MessageRef {
                    channel: reaction.channel_id.to_string(),
                    message: reaction.message_id.to_string(),
                },
                emoji: emoji.clone(),
                added,
            })
            .await;
        if let Some(reply) = reply {
            tracing::debug!(reply = reply.text(), "reaction handled");
        }
    }
}

#[async_trait]
impl EventHandler for Handler {
    /// A new session (at start, or after Discord dropped the old one): events missed
    /// meanwhile are gone for good, so the votes on pending approvals are read from the
    /// reactions themselves.
    async fn ready(&self, _ctx: Context, ready: Ready) {
        self.me.store(ready.user.id.get(), Ordering::SeqCst);
        self.engine.set_chat_connected(true);
        tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
        if !self.registered.swap(true, Ordering::SeqCst) {
            self.register_commands().await;
        }
        votes::catch_up(&self.engine, &self.chat, ready.user.id).await;
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        self.engine.set_chat_connected(true);
        tracing::info!("the Discord gateway connection resumed");
    }

    async fn shard_stage_update(&self, _ctx: Context, event: serenity::all::ShardStageUpdateEvent) {
        use serenity::all::ConnectionStage;
        // Not ready while the gateway reconnects; ready again on READY or RESUMED.
        if !matches!(event.new, ConnectionStage::Connected) {
            self.engine.set_chat_connected(false);
        }
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => self.on_command(command).await,
            Interaction::Autocomplete(request) => self.on_autocomplete(request).await,
            Interaction::Component(press) => self.on_button(press).await,
            _ => {}
        }
    }

    async fn reaction_add(&self, _ctx: Context, reaction: Reaction) {
        self.on_reaction(reaction, true).await;
    }

    async fn reaction_remove(&self, _ctx: Context, reaction: Reaction) {
        self.on_reaction(reaction, false).await;
    }

    async fn ratelimit(&self, info: RatelimitInfo) {
        tracing::debug!(path = %info.path, wait = ?info.timeout, global = info.global, "Discord rate limit: serenity waits");
    }
}
