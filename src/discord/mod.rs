//! The Discord adapter, on serenity: slash commands in, threads and one edited message
//! per request out, approvals by reaction or button. It is the only code that knows
//! Discord; the engine sees a [`crate::chat::Chat`] and [`crate::chat::ChatEvent`]s.
//!
//! - [`chat`]: the engine's chat, by channel and message id with the bot token.
//! - `rest`: every REST call, and the one way they go, waiting out a 429 as long as
//!   Discord asks.
//! - [`events`]: gateway events (interactions, reactions) turned into chat events.
//! - [`commands`]: the slash-command definitions and the way back to a command line.
//! - [`autocomplete`]: what is offered while a person types.
//!
//! The gateway needs one intent, `GUILD_MESSAGE_REACTIONS` (approvals). Interactions
//! arrive without any intent, and no message content is ever read, so no privileged
//! intent is asked for.

pub mod autocomplete;
pub mod chat;
pub mod commands;
mod events;
mod own;
mod rest;
mod votes;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    ClientBuilder, CreateAllowedMentions, GatewayIntents, GuildId, HttpBuilder, Permissions,
};

use crate::adapters::{Adapter, AdapterError, Ended, Row};
use crate::chat::Chat;
use crate::chat::paced::Limits;
use crate::commands::EventSink;
use crate::config::Env;
use crate::engine::Engine;
use crate::secret::Secret;
use crate::shutdown::Shutdown;
pub use chat::DiscordChat;
use rest::{Rest, RestError};

/// The gateway intents releasebot asks for: reactions on guild messages, for votes.
pub const INTENTS: GatewayIntents = GatewayIntents::GUILD_MESSAGE_REACTIONS;

/// The bot permissions to invite releasebot with (README, *Run it on Discord*).
pub const PERMISSIONS: Permissions = Permissions::SEND_MESSAGES
    .union(Permissions::CREATE_PUBLIC_THREADS)
    .union(Permissions::SEND_MESSAGES_IN_THREADS)
    .union(Permissions::ADD_REACTIONS)
    .union(Permissions::READ_MESSAGE_HISTORY);

/// How releasebot connects to Discord.
#[derive(Clone)]
pub struct Settings {
    pub token: Secret,
    /// The servers releasebot serves: its commands are registered there, and
    /// commands, buttons and reactions from anywhere else are refused. A new Discord
    /// application is public (anyone may add it to their own server), so this is
    /// never empty.
    pub guilds: Vec<GuildId>,
    /// A rate-limiting HTTP proxy in front of Discord (such as twilight-http-proxy):
    /// REST calls go through it, and serenity's own limiter is turned off.
    pub proxy: Option<String>,
    /// The HTTP client for REST calls; by default one with rustls and timeouts.
    pub http_client: Option<reqwest::Client>,
    /// The first wait before retrying a 429 that does not say how long to wait
    /// (doubling); one that says is waited out as long as it says.
    pub rate_limit_backoff: Duration,
    /// The call rates the engine keeps under: Discord's, unless a test needs others.
    pub limits: Limits,
}

impl Settings {
    pub fn new(token: Secret) -> Self {
        Settings {
            token,
            guilds: Vec::new(),
            proxy: None,
            http_client: None,
            rate_limit_backoff: Duration::from_secs(1),
            limits: Limits::default(),
        }
    }

    /// The settings from `DISCORD_TOKEN`, `DISCORD_GUILD_ID` (one server id, or several
    /// separated by commas; `configured` from the configuration file otherwise) and
    /// `DISCORD_PROXY_URL`; `None` without a token.
    pub fn from_env(env: &Env, configured: &[String]) -> Result<Option<Settings>, AdapterError> {
        let Some(token) = env.discord_token.clone() else {
            return Ok(None);
        };
        if serenity::utils::validate_token(token.expose()).is_err() {
            return Err(AdapterError::Config(
                "DISCORD_TOKEN does not look like a bot token: copy it from the Bot page of your application in the Discord developer portal.".into(),
            ));
        }
        let mut settings = Settings::new(token);
        settings.guilds = match &env.discord_guild_id {
            Some(raw) => parse_guilds(raw)?,
            None => configured
                .iter()
                .map(|g| parse_guild(g))
                .collect::<Result<_, _>>()?,
        };
        if settings.guilds.is_empty() {
            return Err(AdapterError::Config(
                "DISCORD_GUILD_ID is not set: name the server releasebot serves (or several, separated by commas), or list them in [discord] guilds; a Discord bot can be added to any server, and releasebot acts in none it was not told to.".into(),
            ));
        }
        if let Some(raw) = &env.discord_proxy_url {
            settings.proxy = Some(parse_proxy(raw.given())?);
        }
        Ok(Some(settings))
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("token", &self.token)
            .field("guilds", &self.guilds)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// `123,456`: one or more server ids.
fn parse_guilds(raw: &str) -> Result<Vec<GuildId>, AdapterError> {
    raw.split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(parse_guild)
        .collect()
}

fn parse_guild(raw: &str) -> Result<GuildId, AdapterError> {
    chat::snowflake(raw.trim()).map(GuildId::new).ok_or_else(|| {
        AdapterError::Config(format!(
            "DISCORD_GUILD_ID {} is not a server id: turn on Developer Mode in Discord, right-click the server and copy its id (a number).",
            crate::names::shown(raw)
        ))
    })
}

/// `http://host:port`, as serenity puts it in place of `https://discord.com`.
fn parse_proxy(raw: &str) -> Result<String, AdapterError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let ok = reqwest::Url::parse(trimmed).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host().is_some()
            && u.path() == "/"
            && u.query().is_none()
            && u.username().is_empty()
            && u.password().is_none()
    });
    if ok {
        Ok(trimmed.to_string())
    } else {
        Err(AdapterError::Config(format!(
            "DISCORD_PROXY_URL {} is not a proxy address such as http://127.0.0.1:3000 (scheme, host and port only).",
            crate::location::shown(raw)
        )))
    }
}

/// releasebot on Discord: the REST chat the engine posts through, and the gateway
/// connection that brings commands, buttons and reactions.
pub struct DiscordAdapter {
    settings: Settings,
    sink: Option<Arc<dyn EventSink>>,
    chat: Arc<DiscordChat>,
    /// The bot's name, once the token was checked.
    name: String,
}

impl DiscordAdapter {
    pub fn new(settings: Settings) -> Self {
        let chat = Arc::new(DiscordChat::new(&settings));
        DiscordAdapter {
            settings,
            sink: None,
            chat,
            name: String::new(),
        }
    }
}

fn refused(e: &RestError, token: &Secret) -> AdapterError {
    match chat::status(e) {
        Some(401) => AdapterError::Refused(
            "Discord refused DISCORD_TOKEN: reset the token on the Bot page of your application and set it again.".into(),
        ),
        _ => AdapterError::Refused(format!(
            "cannot reach Discord: {}",
            chat::describe(e, token)
        )),
    }
}

#[async_trait::async_trait]
impl Adapter for DiscordAdapter {
    fn describe(&self) -> String {
        format!("on Discord as {}", self.name)
    }

    fn chat(&self) -> Arc<dyn Chat> {
        self.chat.clone()
    }

    /// Checks the token: a refused one stops the start before any job resumes.
    async fn connect(&mut self, sink: Arc<dyn EventSink>) -> Result<(), AdapterError> {
        self.sink = Some(sink);
        let (http, client) = rest_client(&self.settings)?;
        let rest = Rest::new(Arc::new(http), client, self.settings.rate_limit_backoff);
        let me = rest
            .get_current_user()
            .await
            .map_err(|e| refused(&e, &self.settings.token))?;
        self.name = me.name.clone();
        Ok(())
    }

    /// Connects the gateway and keeps it until the shutdown signal, or until Discord
    /// ends it for good.
    async fn run(
        self: Box<Self>,
        engine: Engine,
        shutdown: Shutdown,
    ) -> Result<Ended, AdapterError> {
        let DiscordAdapter {
            settings,
            chat,
            sink,
            ..
        } = *self;
        let Some(sink) = sink else {
            return Ok(Ended::Stopped);
        };
        let (http, client) = rest_client(&settings)?;
        let admins = engine.config().admins.clone();
        let handler = events::Handler::new(engine, sink, chat.clone(), settings.guilds.clone());
        let http_client = client;
        let mut client = ClientBuilder::new_with_http(http, INTENTS)
            .event_handler(handler)
            .await
            .map_err(|e| {
                AdapterError::Refused(format!(
                    "cannot start the Discord client: {}",
                    chat::describe_serenity(&e, &settings.token)
                ))
            })?;
        chat.connect(Rest::new(
            client.http.clone(),
            http_client,
            settings.rate_limit_backoff,
        ));
        warn_ambiguous_admins(&chat, &settings, &admins).await;
        let shards = client.shard_manager.clone();
        let mut gateway = tokio::spawn(async move { client.start().await });
        tokio::select! {
            ended = &mut gateway => match ended {
                Ok(Ok(())) => Ok(Ended::Stopped),
                Ok(Err(e)) => Err(AdapterError::Refused(format!(
                    "the Discord gateway closed the connection: {}",
                    chat::describe_serenity(&e, &settings.token)
                ))),
                Err(e) => Err(AdapterError::Refused(format!("the Discord connection stopped: {e}"))),
            },
            _ = shutdown.wait() => {
                shards.shutdown_all().await;
                // serenity's `shutdown_all` returns without ending `Client::start` when
                // no shard has started yet (a stop right after start): the wait is bounded.
                if tokio::time::timeout(Duration::from_secs(5), &mut gateway).await.is_err() {
                    gateway.abort();
                }
                Ok(Ended::Stopped)
            }
        }
    }

    /// The token is accepted, the application is private, the bot can see its servers,
    /// and every approver role can be pinged.
    async fn check(&self, config: &crate::config::Config) -> Vec<Row> {
        let rest = match rest_client(&self.settings) {
            Ok((http, client)) => {
                Rest::new(Arc::new(http), client, self.settings.rate_limit_backoff)
            }
            Err(e) => return vec![Row::failed("discord", e.to_string())],
        };
        let mut rows = Vec::new();
        match rest.get_current_user().await {
            Ok(me) => rows.push(Row::ok(
                "discord",
                format!("the token is accepted (bot {})", me.name),
            )),
            Err(e) => {
                let why = match chat::status(&e) {
                    Some(401) => "Discord refused DISCORD_TOKEN (401)".to_string(),
                    _ => format!(
                        "cannot reach Discord: {}",
                        chat::describe(&e, &self.settings.token)
                    ),
                };
                rows.push(Row::failed("discord", why));
                return rows;
            }
        }
        // A public application can be added to any server by anyone: say so.
        rows.push(match rest.get_current_application_info().await {
            Ok(app) if app.bot_public => Row::failed(
                "discord application",
                "the bot is public: anyone can add it to their server. Turn off Public Bot on the Bot page of the application in the Discord developer portal",
            ),
            Ok(_) => Row::ok("discord application", "the bot is private"),
            Err(e) => Row::failed(
                "discord application",
                format!(
                    "cannot read the application ({})",
                    chat::describe(&e, &self.settings.token)
                ),
            ),
        });
        for guild in &self.settings.guilds {
            rows.extend(check_guild(&rest, *guild, config, &self.settings.token).await);
        }
        rows
    }
}

/// Says in the start-up log which admin role names several roles of a served server
/// bear: they grant admin to nobody there. Read apart from the roles cache, which
/// stays as commands fill it.
async fn warn_ambiguous_admins(chat: &DiscordChat, settings: &Settings, admins: &[String]) {
    let Ok(rest) = chat.rest() else { return };
    if admins.is_empty() {
        return;
    }
    for guild in &settings.guilds {
        let known = match rest.get_guild_roles(*guild).await {
            Ok(roles) => roles
                .into_iter()
                .map(|r| (r.id, r.name))
                .collect::<Vec<_>>(),
            Err(e) => {
                tracing::debug!(guild = %guild, error = %chat::describe(&e, &settings.token), "cannot read the server's roles at start");
                continue;
            }
        };
        for (name, ids) in wire::ambiguous_admins(admins, &known) {
            tracing::warn!(
                guild = %guild,
                "[access] admin names {name}, which {} roles of server {guild} bear (ids {}): it grants admin to nobody there; write the id of the one meant",
                ids.len(),
                ids_list(&ids)
            );
        }
    }
}

/// `1, 2, 3`.
fn ids_list(ids: &[serenity::all::RoleId]) -> String {
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// For each role configured by name, what it stands for in a server: its id (ids are
/// safer: a role of the same name made later cannot pass for it), or a warning when
/// none or several roles bear it. A name several roles bear fails for `[access] admin`,
/// where it grants admin to nobody.
fn role_rows(
    guild: GuildId,
    known: &[(serenity::all::RoleId, String)],
    config: &crate::config::Config,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for (wanted, keys) in config.roles_named() {
        let what = format!("role {wanted}");
        let admin = keys.iter().any(|k| k == "[access] admin");
        let only_approvers = keys.iter().all(|k| k.ends_with("] approvers"));
        let keys = keys.join(", ");
        let ids = match wire::resolve(&wanted, known) {
            wire::Resolved::Id(_) => continue,
            wire::Resolved::Name(ids) => ids,
        };
        rows.push(match ids.as_slice() {
            // The approver rows say so already.
            [] if only_approvers => continue,
            [] => Row::warn(
                what,
                format!("no role of server {guild} has this name or id, so {keys} grant nothing there"),
            ),
            [id] if admin => Row::warn(
                what,
                format!("a name, for role id {id} in server {guild}: write \"{id}\" in {keys}, since a second role of this name would make it grant admin to nobody"),
            ),
            [id] => Row::ok(
                what,
                format!("role id {id} in server {guild}; ids are safer, write \"{id}\" in {keys}"),
            ),
            several if admin => Row::failed(
                what,
                format!(
                    "{} roles of server {guild} bear this name (ids {}): it grants admin to nobody; write the id of the one meant in {keys}",
                    several.len(),
                    ids_list(several)
                ),
            ),
            several => Row::warn(
                what,
                format!(
                    "{} roles of server {guild} bear this name (ids {}), and holders of any count; write the id of the one meant in {keys}",
                    several.len(),
                    ids_list(several)
                ),
            ),
        });
    }
    rows
}

/// The server is visible to the bot, each role configured by name stands for one role
/// there, and each approver role can be pinged there (a role mention rings only if the
/// role is mentionable or the bot may mention all).
async fn check_guild(
    rest: &Rest,
    guild: GuildId,
    config: &crate::config::Config,
    token: &Secret,
) -> Vec<Row> {
    let roles = match rest.get_guild_roles(guild).await {
        Ok(roles) => roles,
        Err(e) => {
            return vec![Row::failed(
                "discord server",
                format!(
                    "the bot cannot see server {guild} ({}): invite it with the scopes bot and applications.commands",
                    chat::describe(&e, token)
                ),
            )];
        }
    };
    let mut rows = vec![Row::ok(
        "discord server",
        format!(
            "server {guild} is visible to the bot ({} roles)",
            roles.len()
        ),
    )];
    let known: Vec<_> = roles.iter().map(|r| (r.id, r.name.clone())).collect();
    rows.extend(role_rows(guild, &known, config));
    let bot_may_mention_all = roles
        .iter()
        .filter(|r| r.managed)
        .any(|r| r.permissions.contains(Permissions::MENTION_EVERYONE));
    let mut approvers: Vec<&String> = config
        .apps
        .values()
        .flat_map(|a| a.policy.approvers.iter())
        .collect();
    approvers.sort();
    approvers.dedup();
    for wanted in approvers {
        let found = roles
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(wanted) || r.id.to_string() == *wanted);
        rows.push(match found {
            None => Row::failed(
                format!("approver role {wanted}"),
                format!("there is no such role in server {guild}"),
            ),
            Some(role) if !role.mentionable && !bot_may_mention_all => Row::warn(
                format!("approver role {wanted}"),
                "approval requests will name it but notify nobody: make the role mentionable (Server Settings, Roles), or give releasebot Mention @everyone",
            ),
            Some(_) => Row::ok(format!("approver role {wanted}"), "can be pinged"),
        });
    }
    rows
}

/// The REST client: rustls with timeouts, no mentions unless a message allows them,
/// through the proxy (with serenity's limiter off) when one is set. serenity's `Http`,
/// and the HTTP client under it that [`Rest`] sends on when the limiter is off.
fn rest_client(
    settings: &Settings,
) -> Result<(serenity::http::Http, reqwest::Client), AdapterError> {
    let client = match settings.http_client.clone() {
        Some(client) => client,
        None => reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| AdapterError::Refused(format!("cannot set up HTTPS: {e}")))?,
    };
    let mut builder = HttpBuilder::new(settings.token.expose())
        .client(client.clone())
        .default_allowed_mentions(CreateAllowedMentions::new());
    if let Some(proxy) = &settings.proxy {
        // serenity ignores the proxy while its own limiter is on (serenity#1739).
        builder = builder.proxy(proxy.clone()).ratelimiter_disabled(true);
    }
    Ok((builder.build(), client))
}

#[cfg(test)]
mod tests;
