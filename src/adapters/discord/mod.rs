//! The Discord adapter, on serenity: slash commands in, threads and one edited message
//! per request out, approvals by reaction or button. It is the only code that knows
//! Discord; the engine sees a [`crate::chat::Chat`] and [`crate::chat::ChatEvent`]s.
//!
//! - [`chat`]: every REST call, by channel and message id with the bot token.
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

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    ClientBuilder, CreateAllowedMentions, GatewayIntents, GuildId, HttpBuilder, Permissions,
    ShardManager,
};
use tokio::task::JoinHandle;

use crate::bot::{Paas, StartError};
use crate::chat::Chat;
use crate::chat::paced::Limits;
use crate::clock::Clock;
use crate::config::{Config, Env};
use crate::engine::Engine;
use crate::secret::Secret;
pub use chat::DiscordChat;

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
    /// Register the slash commands in this server only (instant), not globally.
    pub guild: Option<GuildId>,
    /// A rate-limiting HTTP proxy in front of Discord (such as twilight-http-proxy):
    /// REST calls go through it, and serenity's own limiter is turned off.
    pub proxy: Option<String>,
    /// The HTTP client for REST calls; by default one with rustls and timeouts.
    pub http_client: Option<reqwest::Client>,
    /// The first wait before retrying a 429 answered through the proxy (doubling).
    pub proxy_backoff: Duration,
    /// The call rates the engine keeps under: Discord's, unless a test needs others.
    pub limits: Limits,
}

impl Settings {
    pub fn new(token: Secret) -> Self {
        Settings {
            token,
            guild: None,
            proxy: None,
            http_client: None,
            proxy_backoff: Duration::from_secs(1),
            limits: Limits::default(),
        }
    }

    /// The settings from `DISCORD_TOKEN`, `DISCORD_GUILD_ID` and `DISCORD_PROXY_URL`;
    /// `None` without a token.
    pub fn from_env(env: &Env) -> Result<Option<Settings>, StartError> {
        let Some(token) = env.discord_token.clone() else {
            return Ok(None);
        };
        if serenity::utils::validate_token(token.expose()).is_err() {
            return Err(StartError::config(
                "DISCORD_TOKEN does not look like a bot token: copy it from the Bot page of your application in the Discord developer portal.",
            ));
        }
        let mut settings = Settings::new(token);
        if let Some(raw) = &env.discord_guild_id {
            settings.guild = Some(parse_guild(raw)?);
        }
        if let Some(raw) = &env.discord_proxy_url {
            settings.proxy = Some(parse_proxy(raw)?);
        }
        Ok(Some(settings))
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("token", &self.token)
            .field("guild", &self.guild)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

fn parse_guild(raw: &str) -> Result<GuildId, StartError> {
    chat::snowflake(raw.trim()).map(GuildId::new).ok_or_else(|| {
        StartError::config(format!(
            "DISCORD_GUILD_ID {} is not a server id: turn on Developer Mode in Discord, right-click the server and copy its id (a number).",
            crate::names::shown(raw)
        ))
    })
}

/// `http://host:port`, as serenity puts it in place of `https://discord.com`.
fn parse_proxy(raw: &str) -> Result<String, StartError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let ok = reqwest::Url::parse(trimmed).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host().is_some()
            && u.path() == "/"
            && u.query().is_none()
            && u.username().is_empty()
    });
    if ok {
        Ok(trimmed.to_string())
    } else {
        Err(StartError::config(format!(
            "DISCORD_PROXY_URL {} is not a proxy address such as http://127.0.0.1:3000 (scheme, host and port only).",
            crate::names::shown(raw)
        )))
    }
}

/// A running connection to Discord.
pub struct DiscordBot {
    engine: Engine,
    shards: Arc<ShardManager>,
    task: JoinHandle<Result<(), serenity::Error>>,
    /// The bot's name, from Discord.
    pub name: String,
}

impl DiscordBot {
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Waits until the gateway connection ends for good (a refused token, for one).
    pub async fn wait(&mut self) -> Result<(), StartError> {
        match (&mut self.task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StartError::runtime(format!(
                "the Discord gateway closed the connection: {e}"
            ))),
            Err(e) => Err(StartError::runtime(format!(
                "the Discord connection stopped: {e}"
            ))),
        }
    }

    /// Closes the gateway connection.
    pub async fn stop(mut self) {
        self.shards.shutdown_all().await;
        // serenity's `shutdown_all` returns without ending `Client::start` when no shard
        // has started yet (a stop right after start), so the wait is bounded.
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// The REST client: rustls with timeouts, no mentions unless a message allows them,
/// through the proxy (with serenity's limiter off) when one is set.
fn rest_client(settings: &Settings) -> Result<serenity::http::Http, StartError> {
    let client = match settings.http_client.clone() {
        Some(client) => client,
        None => reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| StartError::runtime(format!("cannot set up HTTPS: {e}")))?,
    };
    let mut builder = HttpBuilder::new(settings.token.expose())
        .client(client)
        .default_allowed_mentions(CreateAllowedMentions::new());
    if let Some(proxy) = &settings.proxy {
        // serenity ignores the proxy while its own limiter is on (serenity#1739).
        builder = builder.proxy(proxy.clone()).ratelimiter_disabled(true);
    }
    Ok(builder.build())
}

/// For `releasebot check`: the token is accepted and the bot can see its server.
pub async fn check(settings: &Settings) -> Vec<crate::check::Row> {
    use crate::check::Row;
    let http = match rest_client(settings) {
        Ok(http) => http,
        Err(e) => return vec![Row::failed("discord", e.message)],
    };
    let chat = DiscordChat::new(settings);
    let mut rows = Vec::new();
    match chat.rest(|| http.get_current_user()).await {
        Ok(me) => rows.push(Row::ok(
            "discord",
            format!("the token is accepted (bot {})", me.name),
        )),
        Err(e) => {
            let why = match chat::status(&e) {
                Some(401) => "Discord refused DISCORD_TOKEN (401)".to_string(),
                _ => format!(
                    "cannot reach Discord: {}",
                    chat::describe(&e, &settings.token)
                ),
            };
            rows.push(Row::failed("discord", why));
            return rows;
        }
    }
    if let Some(guild) = settings.guild {
        // Reading the server's roles needs the bot to be a member: the roles are also
        // what approvers are matched by.
        rows.push(match chat.rest(|| http.get_guild_roles(guild)).await {
            Ok(roles) => Row::ok(
                "discord server",
                format!("server {guild} is visible to the bot ({} roles)", roles.len()),
            ),
            Err(e) => Row::failed(
                "discord server",
                format!(
                    "the bot cannot see server {guild} ({}): invite it with the scopes bot and applications.commands",
                    chat::describe(&e, &settings.token)
                ),
            ),
        });
    }
    rows
}

/// Connects to Discord: checks the token, builds the engine on the Discord chat with
/// `make_engine`, and starts the gateway connection in the background.
pub async fn start(
    settings: Settings,
    make_engine: impl FnOnce(Arc<dyn Chat>) -> Result<Engine, StartError>,
) -> Result<DiscordBot, StartError> {
    let http = rest_client(&settings)?;
    let chat = Arc::new(DiscordChat::new(&settings));
    let me = chat
        .rest(|| http.get_current_user())
        .await
        .map_err(|e| match chat::status(&e) {
            Some(401) => StartError::runtime(
                "Discord refused DISCORD_TOKEN: reset the token on the Bot page of your application and set it again.",
            ),
            _ => StartError::runtime(format!(
                "cannot reach Discord: {}",
                chat::describe(&e, &settings.token)
            )),
        })?;
    let engine = make_engine(chat.clone())?;
    let handler = events::Handler::new(engine.clone(), chat.clone(), settings.guild);
    let mut client = ClientBuilder::new_with_http(http, INTENTS)
        .event_handler(handler)
        .await
        .map_err(|e| {
            StartError::runtime(format!(
                "cannot start the Discord client: {}",
                chat::describe(&e, &settings.token)
            ))
        })?;
    chat.connect(client.http.clone());
    let shards = client.shard_manager.clone();
    let task = tokio::spawn(async move { client.start().await });
    Ok(DiscordBot {
        engine,
        shards,
        task,
        name: me.name.clone(),
    })
}

/// What `run` is given besides the settings.
pub struct Runtime<'a> {
    pub env: &'a Env,
    pub config: Config,
    pub paas: &'a Paas,
    pub clock: Clock,
    pub store: Arc<crate::store::Store>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// `releasebot` with `DISCORD_TOKEN` set: the bot on Discord until SIGTERM or Ctrl-C.
/// Unfinished jobs resume at once (they only need the REST API to keep editing their
/// messages); the HTTP endpoints serve probes, metrics and the webhook.
pub async fn run(settings: Settings, rt: Runtime<'_>) -> Result<(), StartError> {
    let source = rt.config.source.clone();
    let (env, paas) = (rt.env, rt.paas);
    let mut bot = start(settings, |chat| {
        crate::bot::engine(rt.config, paas, env, chat, rt.clock, rt.store, rt.metrics)
    })
    .await?;
    let http = crate::bot::serve_http(env, bot.engine())
        .await
        .map_err(StartError::runtime)?;
    let resumed = bot
        .engine()
        .resume()
        .map_err(|e| StartError::runtime(e.to_string()))?;
    eprintln!(
        "releasebot {} on Discord as {}: {source}, {}, HTTP on {http}, {resumed} unfinished job(s) resumed.",
        env!("CARGO_PKG_VERSION"),
        bot.name,
        paas.description
    );
    tokio::select! {
        ended = bot.wait() => ended,
        signal = crate::bot::stop_signal() => {
            eprintln!("releasebot: {signal}; stopping, unfinished jobs resume at the next start");
            bot.engine().shutdown(Duration::from_secs(5)).await;
            bot.stop().await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_asks_for_these_permissions_and_no_privileged_intent() {
        assert_eq!(PERMISSIONS.bits(), 309_237_712_960);
        assert!(!INTENTS.is_privileged());
    }

    #[test]
    fn settings_come_from_the_environment() {
        let env = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Env::from_lookup(move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        };
        assert!(Settings::from_env(&env(&[])).unwrap().is_none());
        let token = ("DISCORD_TOKEN", "MTIz.abc.def");
        let s = Settings::from_env(&env(&[
            token,
            ("DISCORD_GUILD_ID", "123456789012345678"),
            ("DISCORD_PROXY_URL", "http://127.0.0.1:3000/"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(s.guild, Some(GuildId::new(123456789012345678)));
        assert_eq!(s.proxy.as_deref(), Some("http://127.0.0.1:3000"));
        assert!(!format!("{s:?}").contains("MTIz"));

        let bad = |pairs: &[(&str, &str)]| Settings::from_env(&env(pairs)).unwrap_err().message;
        assert!(bad(&[("DISCORD_TOKEN", "nope")]).contains("does not look like a bot token"));
        assert!(bad(&[token, ("DISCORD_GUILD_ID", "releases")]).contains("is not a server id"));
        assert!(bad(&[token, ("DISCORD_GUILD_ID", "0")]).contains("is not a server id"));
        assert!(bad(&[token, ("DISCORD_PROXY_URL", "127.0.0.1:3000")]).contains("proxy address"));
        assert!(
            bad(&[token, ("DISCORD_PROXY_URL", "http://p:3000/api")]).contains("proxy address")
        );
    }
}
