//! Gateway events in: slash commands, autocomplete, button presses and reactions
//! become [`ChatEvent`]s for the engine; answers to the person go back ephemerally.
//!
//! serenity runs each event in its own task, so a slow command never holds up the next
//! event. A command or button is acknowledged (deferred, ephemeral) before anything
//! else, well within Discord's 3 s; the answer then replaces the "thinking…" message
//! through the interaction token, which is only ever used in these first seconds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serenity::all::{
    Command, CommandInteraction, ComponentInteraction, Context, CreateAllowedMentions,
    CreateAutocompleteResponse, CreateInteractionResponse, CreateInteractionResponseMessage,
    EditInteractionResponse, EventHandler, GuildId, Interaction, Member, RatelimitInfo, Reaction,
    ReactionType, Ready, ResumedEvent, User, UserId,
};

use super::chat::{DiscordChat, describe, fit};
use super::{autocomplete, commands};
use crate::chat::{APPROVE, Actor, ButtonAction, MessageRef, REJECT};
use crate::commands::{ChatEvent, EventSink, Reply};
use crate::engine::Engine;

/// Turns gateway events into chat events.
pub(super) struct Handler {
    engine: Engine,
    sink: Arc<dyn EventSink>,
    chat: Arc<DiscordChat>,
    guild: Option<GuildId>,
    /// The bot's own user id, from READY: its own reactions are not votes.
    me: AtomicU64,
    registered: AtomicBool,
    /// Display names seen, for reaction removals (which carry only a user id).
    names: Mutex<HashMap<UserId, String>>,
}

impl Handler {
    pub(super) fn new(
        engine: Engine,
        sink: Arc<dyn EventSink>,
        chat: Arc<DiscordChat>,
        guild: Option<GuildId>,
    ) -> Self {
        Handler {
            engine,
            sink,
            chat,
            guild,
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
        let roles = match (guild, member) {
            (Some(guild), Some(member)) => self.chat.role_labels(guild, &member.roles).await,
            _ => Vec::new(),
        };
        {
            let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
            if names.len() > 10_000 {
                names.clear();
            }
            names.insert(user.id, name.clone());
        }
        Actor::new(user.id.to_string(), name, roles)
    }

    async fn register_commands(&self, ctx: &Context) {
        let definitions = commands::definitions();
        let done = match self.guild {
            Some(guild) => self
                .chat
                .rest(|| guild.set_commands(&ctx.http, definitions.clone()))
                .await
                .map(|c| c.len()),
            None => self
                .chat
                .rest(|| Command::set_global_commands(&ctx.http, definitions.clone()))
                .await
                .map(|c| c.len()),
        };
        match done {
            Ok(n) => tracing::info!(commands = n, guild = ?self.guild, "slash commands registered"),
            Err(e) => {
                self.registered.store(false, Ordering::SeqCst);
                tracing::warn!(error = %describe(&e, self.chat.token()), "the slash commands could not be registered; they will be tried again at the next connection");
            }
        }
    }

    async fn on_command(&self, ctx: &Context, command: CommandInteraction) {
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(true),
        );
        if let Err(e) = self
            .chat
            .rest(|| command.create_response(&ctx.http, defer.clone()))
            .await
        {
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
        let reply = self
            .sink
            .handle(ChatEvent::Command {
                actor,
                channel: command.channel_id.to_string(),
                input: commands::input(&command.data),
            })
            .await;
        let text = reply.as_ref().map_or("Done.".to_string(), Reply::text);
        let answer = EditInteractionResponse::new()
            .content(fit(&text))
            .allowed_mentions(CreateAllowedMentions::new());
        if let Err(e) = self
            .chat
            .rest(|| command.edit_response(&ctx.http, answer.clone()))
            .await
        {
            tracing::warn!(command = %command.data.name, error = %describe(&e, self.chat.token()), "could not answer a command");
        }
    }

    async fn on_autocomplete(&self, ctx: &Context, request: CommandInteraction) {
        let actor = self
            .actor(request.guild_id, &request.user, request.member.as_deref())
            .await;
        let channel = request.channel_id.to_string();
        let choices = autocomplete::choices(&self.engine, &actor, &channel, &request.data);
        let answer = CreateInteractionResponse::Autocomplete(
            CreateAutocompleteResponse::new().set_choices(choices),
        );
        if let Err(e) = self
            .chat
            .rest(|| request.create_response(&ctx.http, answer.clone()))
            .await
        {
            tracing::debug!(error = %describe(&e, self.chat.token()), "could not answer an autocomplete request");
        }
    }

    async fn on_button(&self, ctx: &Context, press: ComponentInteraction) {
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(true),
        );
        if let Err(e) = self
            .chat
            .rest(|| press.create_response(&ctx.http, defer.clone()))
            .await
        {
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
        let answer = EditInteractionResponse::new()
            .content(fit(&text))
            .allowed_mentions(CreateAllowedMentions::new());
        if let Err(e) = self
            .chat
            .rest(|| press.edit_response(&ctx.http, answer.clone()))
            .await
        {
            tracing::warn!(error = %describe(&e, self.chat.token()), "could not answer a button");
        }
    }

    /// Who reacted. An added reaction carries the member with their roles; a removal
    /// carries only the user id, and withdrawing a vote needs no role, so the name seen
    /// before will do. Otherwise the member is looked up.
    async fn reactor(
        &self,
        ctx: &Context,
        reaction: &Reaction,
        user: UserId,
        added: bool,
    ) -> Actor {
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
            match self.chat.rest(|| guild.member(&ctx.http, user)).await {
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
    async fn on_reaction(&self, ctx: &Context, reaction: Reaction, added: bool) {
        let Some(user) = reaction.user_id else { return };
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
        let actor = self.reactor(ctx, &reaction, user, added).await;
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
    async fn ready(&self, ctx: Context, ready: Ready) {
        self.me.store(ready.user.id.get(), Ordering::SeqCst);
        self.engine.set_chat_connected(true);
        tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
        if !self.registered.swap(true, Ordering::SeqCst) {
            self.register_commands(&ctx).await;
        }
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

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => self.on_command(&ctx, command).await,
            Interaction::Autocomplete(request) => self.on_autocomplete(&ctx, request).await,
            Interaction::Component(press) => self.on_button(&ctx, press).await,
            _ => {}
        }
    }

    async fn reaction_add(&self, ctx: Context, reaction: Reaction) {
        self.on_reaction(&ctx, reaction, true).await;
    }

    async fn reaction_remove(&self, ctx: Context, reaction: Reaction) {
        self.on_reaction(&ctx, reaction, false).await;
    }

    async fn ratelimit(&self, info: RatelimitInfo) {
        tracing::debug!(path = %info.path, wait = ?info.timeout, global = info.global, "Discord rate limit: serenity waits");
    }
}
