//! Votes the gateway never delivered. Reaction events given while releasebot was down
//! or between two gateway sessions are gone for good, though the reactions stay on the
//! message; so at each new session every pending approval reads its message's ✅ and ❌
//! back, with each reactor's roles, and the engine counts what it missed.

use serenity::all::{ChannelId, GuildId, MessageId, ReactionType, User, UserId};

use super::chat::{DiscordChat, describe, snowflake};
use super::rest::{Rest, RestError};
use crate::chat::{APPROVE, Actor, REJECT};
use crate::engine::Engine;

/// Discord gives at most this many reactors per request.
const PAGE: u8 = 100;
/// Reactors read per emoji at most: far more approvers than any team has.
const MOST: usize = 1_000;

/// Reads back the reactions on every pending approval message and has the engine count
/// the votes the events missed.
pub(super) async fn catch_up(engine: &Engine, chat: &DiscordChat, me: UserId) {
    let Ok(rest) = chat.rest() else { return };
    for pending in engine.pending_approvals() {
        let (Some(channel), Some(message)) = (
            snowflake(&pending.message.channel).map(ChannelId::new),
            snowflake(&pending.message.message).map(MessageId::new),
        ) else {
            continue;
        };
        let Some(guild) = chat.guild_of(channel).await else {
            continue;
        };
        let read = async {
            let approving = reactors(chat, rest, guild, channel, message, APPROVE, me).await?;
            let rejecting = reactors(chat, rest, guild, channel, message, REJECT, me).await?;
            Ok::<_, RestError>((approving, rejecting))
        };
        match read.await {
            Ok((approving, rejecting)) => {
                engine
                    .reconcile_votes(pending.job, &approving, &rejecting)
                    .await;
            }
            Err(e) => {
                tracing::warn!(job = %pending.job, error = %describe(&e, chat.token()), "cannot read the votes on an approval request; those given while releasebot was away count once reacted again");
            }
        }
    }
}

/// Who reacted `emoji` on a message, as people with their roles in `guild`; the bot's
/// own reaction (the one that offers the emoji) is not a vote.
async fn reactors(
    chat: &DiscordChat,
    rest: &Rest,
    guild: GuildId,
    channel: ChannelId,
    message: MessageId,
    emoji: &str,
    me: UserId,
) -> Result<Vec<Actor>, RestError> {
    let reaction = ReactionType::Unicode(emoji.to_string());
    let mut users: Vec<User> = Vec::new();
    let mut after = None;
    loop {
        let page = rest
            .get_reaction_users(channel, message, &reaction, PAGE, after)
            .await?;
        let full = page.len() == usize::from(PAGE);
        after = page.last().map(|u| u.id.get());
        users.extend(page);
        if !full || users.len() >= MOST {
            break;
        }
    }
    let mut actors = Vec::new();
    for user in users.into_iter().filter(|u| u.id != me && !u.bot) {
        actors.push(actor(chat, rest, guild, user).await);
    }
    Ok(actors)
}

/// A reactor with their roles in the server; one who left it (or cannot be looked up)
/// holds no role, so their vote is refused as any non-approver's.
async fn actor(chat: &DiscordChat, rest: &Rest, guild: GuildId, user: User) -> Actor {
    match rest.get_member(guild, user.id).await {
        Ok(member) => {
            let labels = chat.role_labels(guild, &member.roles).await;
            Actor::new(
                user.id.to_string(),
                member.display_name().to_string(),
                labels.roles,
            )
            .with_ambiguous(labels.ambiguous)
        }
        Err(e) => {
            tracing::debug!(user = %user.id, error = %describe(&e, chat.token()), "cannot look up a reactor");
            Actor::new(
                user.id.to_string(),
                user.display_name().to_string(),
                Vec::new(),
            )
        }
    }
}
