//! The fake's servers, people, channels, threads, reactions and registered commands,
//! and the Discord JSON for each, checked against serenity's types.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use serenity::all::Permissions;

use super::{
    ADMIN, ANNOUNCEMENTS, APP, BOT, BOT_ROLE, CHANNEL, DEVELOPER, GUILD, LEAD, MEMBERS,
    OTHER_ADMIN, OTHER_BOT_ROLE, OTHER_CHANNEL, OTHER_GUILD, OTHER_LEAD, OTHER_MEMBERS, Posted,
    checked,
};

/// Everyone the fake knows, in every server: name and user id.
const USERS: [(&str, u64); 8] = [
    ("alice", 1),
    ("bob", 2),
    ("carol", 3),
    ("dave", 4),
    ("erin", 5),
    ("mallory", 11),
    ("trent", 12),
    ("releasebot", BOT),
];

/// The durations Discord accepts for `auto_archive_duration`, in minutes.
pub(super) const ARCHIVE_DURATIONS: [u64; 4] = [60, 1440, 4320, 10080];

const TIMESTAMP: &str = "2024-01-01T00:00:00.000000+00:00";

pub(super) fn user_id(name: &str) -> u64 {
    USERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, id)| *id)
        .unwrap_or_else(|| panic!("the fake knows no user {name}"))
}

pub(super) fn user_name(id: u64) -> Option<&'static str> {
    USERS.iter().find(|(_, i)| *i == id).map(|(n, _)| *n)
}

pub(super) fn user_json(name: &str, id: u64) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": null,
           "avatar": null, "bot": id == BOT})
}

pub(super) fn user_json_by_id(id: u64) -> Value {
    user_json(user_name(id).unwrap_or("someone"), id)
}

/// The channel of a person's direct messages with the bot.
pub fn dm_channel(who: &str) -> u64 {
    1_000_000 + user_id(who)
}

pub(super) fn has(perms: u64, wanted: Permissions) -> bool {
    Permissions::from_bits_truncate(perms).contains(wanted)
}

#[derive(Clone)]
pub(super) struct Role {
    pub id: u64,
    pub name: String,
    pub mentionable: bool,
    pub permissions: u64,
}

pub(super) struct Guild {
    pub name: &'static str,
    pub owner: u64,
    /// The @everyone role (the guild's id) first, then the others.
    pub roles: Vec<Role>,
    /// (name, user id, role ids); the bot is one of them, with its managed role.
    pub members: Vec<(String, u64, Vec<u64>)>,
    pub bot_role: u64,
}

/// A thread started from a message: it has the message's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadState {
    pub guild: u64,
    pub parent: u64,
    pub name: String,
    pub owner: u64,
    pub archived: bool,
    pub locked: bool,
    /// Minutes: what the bot asked for when it created the thread (1440 when it asked
    /// for nothing), or set since.
    pub auto_archive_duration: u64,
    /// Who is in the thread, in the order they joined: its creator first.
    pub members: Vec<u64>,
}

pub(super) enum Channel {
    Text { guild: u64, name: &'static str },
    Thread(ThreadState),
    Dm { user: u64 },
}

pub(super) struct World {
    pub guilds: BTreeMap<u64, Guild>,
    pub channels: BTreeMap<u64, Channel>,
    /// The bot's permissions per guild text channel; the default elsewhere.
    pub permissions: HashMap<u64, u64>,
    /// Per message: each emoji and who reacted with it (by user id, ascending).
    pub reactions: HashMap<u64, Vec<(String, Vec<u64>)>>,
    /// Registered commands: global under 0, else under the guild's id.
    pub commands: BTreeMap<u64, Vec<Value>>,
    pub bot_public: bool,
}

/// What the bot may do in a channel unless a test says otherwise.
pub fn default_bot_permissions() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::CREATE_PUBLIC_THREADS
        | Permissions::SEND_MESSAGES_IN_THREADS
        | Permissions::ADD_REACTIONS
        | Permissions::READ_MESSAGE_HISTORY
}

/// What an app may do in its DM with a person (as `app_permissions` there).
fn dm_permissions() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::ADD_REACTIONS
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::EMBED_LINKS
        | Permissions::ATTACH_FILES
        | Permissions::MENTION_EVERYONE
        | Permissions::USE_EXTERNAL_EMOJIS
}

fn role(id: u64, name: &str) -> Role {
    Role {
        id,
        name: name.to_string(),
        mentionable: true,
        permissions: 0,
    }
}

fn guild(
    id: u64,
    name: &'static str,
    roles: &[(u64, &str)],
    members: &[(&str, u64, &[u64])],
    bot_role: u64,
) -> Guild {
    let mut all = vec![role(id, "@everyone")];
    all.extend(roles.iter().map(|(id, name)| role(*id, name)));
    all.push(Role {
        mentionable: false,
        permissions: default_bot_permissions().bits(),
        ..role(bot_role, "releasebot")
    });
    let mut people: Vec<(String, u64, Vec<u64>)> = members
        .iter()
        .map(|(n, id, roles)| (n.to_string(), *id, roles.to_vec()))
        .collect();
    people.push(("releasebot".into(), BOT, vec![bot_role]));
    Guild {
        name,
        owner: people[0].1,
        roles: all,
        members: people,
        bot_role,
    }
}

impl World {
    pub fn new() -> World {
        let mut guilds = BTreeMap::new();
        guilds.insert(
            GUILD,
            guild(
                GUILD,
                "Acme",
                &[(DEVELOPER, "developer"), (LEAD, "lead"), (ADMIN, "admin")],
                &MEMBERS,
                BOT_ROLE,
            ),
        );
        guilds.insert(
            OTHER_GUILD,
            guild(
                OTHER_GUILD,
                "Elsewhere",
                &[(OTHER_LEAD, "lead"), (OTHER_ADMIN, "admin")],
                &OTHER_MEMBERS,
                OTHER_BOT_ROLE,
            ),
        );
        let mut channels = BTreeMap::new();
        channels.insert(
            CHANNEL,
            Channel::Text {
                guild: GUILD,
                name: "releases",
            },
        );
        channels.insert(
            ANNOUNCEMENTS,
            Channel::Text {
                guild: GUILD,
                name: "announcements",
            },
        );
        channels.insert(
            OTHER_CHANNEL,
            Channel::Text {
                guild: OTHER_GUILD,
                name: "deploys",
            },
        );
        World {
            guilds,
            channels,
            permissions: HashMap::new(),
            reactions: HashMap::new(),
            commands: BTreeMap::new(),
            bot_public: true,
        }
    }

    pub fn guild_of(&self, channel: u64) -> Option<u64> {
        match self.channels.get(&channel)? {
            Channel::Text { guild, .. } => Some(*guild),
            Channel::Thread(t) => Some(t.guild),
            Channel::Dm { .. } => None,
        }
    }

    pub fn thread(&self, channel: u64) -> Option<&ThreadState> {
        match self.channels.get(&channel) {
            Some(Channel::Thread(t)) => Some(t),
            _ => None,
        }
    }

    pub fn thread_mut(&mut self, channel: u64) -> Option<&mut ThreadState> {
        match self.channels.get_mut(&channel) {
            Some(Channel::Thread(t)) => Some(t),
            _ => None,
        }
    }

    /// The bot's permissions in a guild channel as set, ignoring thread state.
    fn channel_permissions(&self, channel: u64) -> u64 {
        self.permissions
            .get(&channel)
            .copied()
            .unwrap_or_else(|| default_bot_permissions().bits())
    }

    /// The bot's permissions in a channel, as `app_permissions` says them: a thread has
    /// its parent's, and a locked one keeps only viewing and reacting unless the bot
    /// may manage threads.
    pub fn permissions_in(&self, channel: u64) -> u64 {
        match self.channels.get(&channel) {
            Some(Channel::Thread(t)) => {
                let parent = self.channel_permissions(t.parent);
                if t.locked && !has(parent, Permissions::MANAGE_THREADS) {
                    let kept = Permissions::VIEW_CHANNEL
                        | Permissions::READ_MESSAGE_HISTORY
                        | Permissions::ADD_REACTIONS
                        | Permissions::USE_EXTERNAL_EMOJIS;
                    parent & kept.bits()
                } else {
                    parent
                }
            }
            Some(Channel::Dm { .. }) => dm_permissions().bits(),
            _ => self.channel_permissions(channel),
        }
    }

    /// Whether the bot may manage threads under a thread's parent.
    pub fn manages_threads(&self, thread: &ThreadState) -> bool {
        has(
            self.channel_permissions(thread.parent),
            Permissions::MANAGE_THREADS,
        )
    }

    pub fn members_of(&self, guild: u64) -> &[(String, u64, Vec<u64>)] {
        self.guilds
            .get(&guild)
            .map(|g| g.members.as_slice())
            .unwrap_or_default()
    }

    /// `who`'s member object in `guild`, with that guild's roles.
    pub fn member_json(&self, guild: u64, who: &str) -> Value {
        let (name, id, roles) = self
            .members_of(guild)
            .iter()
            .find(|(n, _, _)| n == who)
            .unwrap_or_else(|| panic!("{who} is not a member of guild {guild}"));
        let roles: Vec<String> = roles.iter().map(u64::to_string).collect();
        checked::<serenity::model::guild::Member>(
            "member",
            json!({"user": user_json(name, *id), "roles": roles, "deaf": false, "mute": false,
                   "flags": 0, "joined_at": TIMESTAMP, "nick": null}),
        )
    }

    pub fn role_json(role: &Role, position: usize) -> Value {
        json!({"id": role.id.to_string(), "name": role.name, "color": 0,
               "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
               "hoist": false, "managed": role.name == "releasebot",
               "mentionable": role.mentionable, "permissions": role.permissions.to_string(),
               "position": position, "icon": null, "unicode_emoji": null, "flags": 0})
    }

    pub fn roles_json(&self, guild: u64) -> Option<Value> {
        let g = self.guilds.get(&guild)?;
        let roles: Vec<Value> = g
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| Self::role_json(r, i))
            .collect();
        Some(checked::<Vec<serenity::model::guild::Role>>(
            "roles",
            json!(roles),
        ))
    }

    /// The guild as `GET /guilds/{id}` gives it (serenity's `PartialGuild`).
    pub fn guild_json(&self, id: u64) -> Option<Value> {
        let g = self.guilds.get(&id)?;
        Some(checked::<serenity::model::guild::PartialGuild>(
            "guild",
            json!({
                "id": id.to_string(), "name": g.name, "icon": null, "icon_hash": null,
                "splash": null, "discovery_splash": null, "owner_id": g.owner.to_string(),
                "afk_channel_id": null, "afk_timeout": 300, "widget_enabled": false,
                "widget_channel_id": null, "verification_level": 0,
                "default_message_notifications": 0, "explicit_content_filter": 0,
                "roles": self.roles_json(id)?, "emojis": [], "features": [], "mfa_level": 0,
                "application_id": null, "system_channel_id": null, "system_channel_flags": 0,
                "rules_channel_id": null, "max_presences": null, "max_members": 500_000,
                "vanity_url_code": null, "description": null, "banner": null,
                "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
                "public_updates_channel_id": null, "max_video_channel_users": 25,
                "max_stage_video_channel_users": 50, "nsfw_level": 0, "stickers": [],
                "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
                "incidents_data": null
            }),
        ))
    }

    /// `GET /users/@me/guilds`: the servers the bot is in.
    pub fn guilds_json(&self) -> Value {
        let guilds: Vec<Value> = self
            .guilds
            .iter()
            .map(|(id, g)| {
                json!({"id": id.to_string(), "name": g.name, "icon": null, "owner": false,
                       "permissions": g.roles.iter().find(|r| r.id == g.bot_role)
                           .map_or(0, |r| r.permissions).to_string(),
                       "features": []})
            })
            .collect();
        checked::<Vec<serenity::model::guild::GuildInfo>>("guilds", json!(guilds))
    }

    /// `GET /channels/{id}`: a guild text channel (the bot's permissions in it as a
    /// member overwrite when they differ from its role's), a thread with its metadata,
    /// or a DM.
    pub fn channel_json(&self, id: u64) -> Option<Value> {
        let value = match self.channels.get(&id)? {
            Channel::Text { guild, name } => {
                let g = &self.guilds[guild];
                let base = g
                    .roles
                    .iter()
                    .filter(|r| r.id == *guild || r.id == g.bot_role)
                    .fold(0, |acc, r| acc | r.permissions);
                let wanted = self.channel_permissions(id);
                let overwrites = if wanted == base {
                    json!([])
                } else {
                    json!([{"id": BOT.to_string(), "type": 1, "allow": wanted.to_string(),
                            "deny": (Permissions::all().bits() & !wanted).to_string()}])
                };
                json!({"id": id.to_string(), "type": 0, "guild_id": guild.to_string(),
                       "name": name, "position": 0, "permission_overwrites": overwrites,
                       "nsfw": false, "topic": null, "last_message_id": null,
                       "parent_id": null, "rate_limit_per_user": 0, "flags": 0})
            }
            Channel::Thread(t) => thread_json(id, t),
            Channel::Dm { user } => json!({"id": id.to_string(), "type": 1,
                                            "recipients": [user_json_by_id(*user)],
                                            "last_message_id": null, "flags": 0}),
        };
        Some(checked::<serenity::model::channel::Channel>(
            "channel", value,
        ))
    }

    /// Users who reacted to `message` with `emoji`, ascending by id.
    pub fn reactors(&self, message: u64, emoji: &str) -> Vec<u64> {
        self.reactions
            .get(&message)
            .and_then(|all| all.iter().find(|(e, _)| e == emoji))
            .map(|(_, users)| users.clone())
            .unwrap_or_default()
    }

    /// Adds (or removes) a reaction; whether anything changed.
    pub fn set_reaction(&mut self, message: u64, emoji: &str, user: u64, added: bool) -> bool {
        let all = self.reactions.entry(message).or_default();
        let index = match all.iter().position(|(e, _)| e == emoji) {
            Some(i) => i,
            None if added => {
                all.push((emoji.to_string(), Vec::new()));
                all.len() - 1
            }
            None => return false,
        };
        let users = &mut all[index].1;
        let changed = match (users.binary_search(&user), added) {
            (Err(at), true) => {
                users.insert(at, user);
                true
            }
            (Ok(at), false) => {
                users.remove(at);
                true
            }
            _ => false,
        };
        if users.is_empty() {
            all.remove(index);
        }
        changed
    }

    /// The message's `reactions` field.
    pub fn reactions_json(&self, message: u64) -> Value {
        let all = self.reactions.get(&message).cloned().unwrap_or_default();
        let reactions: Vec<Value> = all
            .iter()
            .map(|(emoji, users)| {
                json!({"count": users.len(), "count_details": {"burst": 0, "normal": users.len()},
                       "me": users.contains(&BOT), "me_burst": false,
                       "emoji": {"id": null, "name": emoji}, "burst_colors": []})
            })
            .collect();
        json!(reactions)
    }

    pub fn message_json(&self, p: &Posted, flags: u64) -> Value {
        checked::<serenity::model::channel::Message>(
            "message",
            json!({
                "id": p.id.to_string(), "channel_id": p.channel.to_string(),
                "author": user_json("releasebot", BOT), "content": p.content,
                "timestamp": TIMESTAMP, "edited_timestamp": null,
                "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
                "attachments": [], "embeds": [], "pinned": false, "type": 0,
                "components": p.components, "flags": flags,
                "reactions": self.reactions_json(p.id)
            }),
        )
    }

    /// Who a new message with `content` would notify in `channel`: (user ids, role ids).
    /// A user mention rings if `allowed_mentions` lets it (no `allowed_mentions` at all
    /// parses everything); a role mention also needs the role to be this server's and
    /// mentionable, or the bot to have Mention Everyone there.
    pub fn notified(&self, channel: u64, content: &str, allowed: &Value) -> (Vec<u64>, Vec<u64>) {
        let list = |key: &str| -> Vec<String> {
            allowed[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let everything = allowed.is_null();
        let parse = list("parse");
        let (users, roles) = (list("users"), list("roles"));
        let mention_everyone = has(self.permissions_in(channel), Permissions::MENTION_EVERYONE);
        let guild_roles = self
            .guild_of(channel)
            .and_then(|g| self.guilds.get(&g))
            .map(|g| g.roles.as_slice())
            .unwrap_or_default();
        let (mut rung_users, mut rung_roles) = (Vec::new(), Vec::new());
        for (kind, id) in mentions(content) {
            let key = id.to_string();
            if kind == '@' {
                if everything || parse.iter().any(|p| p == "users") || users.contains(&key) {
                    rung_users.push(id);
                }
                continue;
            }
            let permitted =
                everything || parse.iter().any(|p| p == "roles") || roles.contains(&key);
            let rings = guild_roles
                .iter()
                .find(|r| r.id == id && r.name != "@everyone")
                .is_some_and(|r| r.mentionable || mention_everyone);
            if permitted && rings {
                rung_roles.push(id);
            }
        }
        rung_users.sort_unstable();
        rung_users.dedup();
        rung_roles.sort_unstable();
        rung_roles.dedup();
        (rung_users, rung_roles)
    }

    /// Registered commands: global (`guild` None) or a guild's.
    pub fn commands(&self, guild: Option<u64>) -> Vec<Value> {
        self.commands
            .get(&guild.unwrap_or(0))
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces the commands registered globally or in a guild, keeping the id of a
    /// command whose name was registered before (as a bulk overwrite does).
    pub fn register(&mut self, guild: Option<u64>, wanted: &[Value], new_id: impl Fn() -> u64) {
        let before = self.commands(guild);
        let commands: Vec<Value> = wanted
            .iter()
            .map(|c| {
                let mut c = c.clone();
                let id = before
                    .iter()
                    .find(|b| b["name"] == c["name"])
                    .and_then(|b| b["id"].as_str().map(str::to_string))
                    .unwrap_or_else(|| new_id().to_string());
                c["id"] = json!(id);
                c["application_id"] = json!(APP.to_string());
                c["version"] = json!("1");
                if c.get("type").is_none() {
                    c["type"] = json!(1);
                }
                c["default_member_permissions"] = Value::Null;
                if let Some(g) = guild {
                    c["guild_id"] = json!(g.to_string());
                }
                c
            })
            .collect();
        let commands =
            checked::<Vec<serenity::model::application::Command>>("commands", json!(commands));
        let commands = commands.as_array().cloned().unwrap_or_default();
        self.commands.insert(guild.unwrap_or(0), commands);
    }

    /// `GET /oauth2/applications/@me` (serenity's `CurrentApplicationInfo`).
    pub fn application_json(&self) -> Value {
        checked::<serenity::model::application::CurrentApplicationInfo>(
            "application",
            json!({
                "id": APP.to_string(), "name": "releasebot", "icon": null, "description": "",
                "rpc_origins": [], "bot_public": self.bot_public,
                "bot_require_code_grant": false, "terms_of_service_url": null,
                "privacy_policy_url": null, "owner": user_json("alice", 1),
                "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
                "team": null, "flags": 0, "bot": user_json("releasebot", BOT),
                "approximate_guild_count": self.guilds.len(),
                "role_connections_verification_url": null,
                "interactions_endpoint_url": null, "redirect_uris": [],
                "integration_types_config": {"0": {}}
            }),
        )
    }
}

pub(super) fn thread_json(id: u64, t: &ThreadState) -> Value {
    let mut value = json!({
        "id": id.to_string(), "type": 11, "guild_id": t.guild.to_string(),
        "parent_id": t.parent.to_string(), "name": t.name, "owner_id": t.owner.to_string(),
        "last_message_id": null, "rate_limit_per_user": 0, "flags": 0,
        "message_count": 0, "member_count": t.members.len().min(50),
        "total_message_sent": 0,
        "thread_metadata": {"archived": t.archived, "auto_archive_duration": t.auto_archive_duration,
                            "archive_timestamp": TIMESTAMP, "locked": t.locked,
                            "create_timestamp": TIMESTAMP}
    });
    if t.members.contains(&BOT) {
        value["member"] = json!({"join_timestamp": TIMESTAMP, "flags": 0});
    }
    checked::<serenity::model::channel::GuildChannel>("thread", value)
}

/// The mentions in a message's content: ('@', user id) and ('&', role id).
fn mentions(content: &str) -> Vec<(char, u64)> {
    let mut found = Vec::new();
    let mut rest = content;
    while let Some(at) = rest.find("<@") {
        rest = &rest[at + 2..];
        let (kind, digits) = match rest.chars().next() {
            Some('&') => ('&', &rest[1..]),
            Some('!') => ('@', &rest[1..]),
            _ => ('@', rest),
        };
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        if end > 0
            && digits[end..].starts_with('>')
            && let Ok(id) = digits[..end].parse()
        {
            found.push((kind, id));
        }
    }
    found
}

#[test]
fn mentions_are_read_from_the_content() {
    assert_eq!(
        mentions("<@4> and <@!5>, <@&102> but not <@x> or <@&> or <@7"),
        [('@', 4), ('@', 5), ('&', 102)]
    );
}
