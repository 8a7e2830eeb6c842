//! A fake Discord on 127.0.0.1 for the real serenity client: the REST API (plain HTTP
//! behind `DISCORD_PROXY_URL`, or TLS as `discord.com` for serenity's own rate limiter)
//! and a gateway WebSocket, as `docs/discord.md#testing-against-the-fake-discord`
//! describes.
//!
//! It records every REST call (method, route, body) so tests assert what people would
//! see and in which order, keeps the messages the bot posted, and lets a test act as
//! people in two servers and in DMs: run slash commands, type into autocomplete, press
//! buttons, add and remove reactions. It behaves as a real server does where that
//! matters to the bot: reactions stay on messages and events missed by a new session
//! are gone; threads archive and lock; mentions ring only as `allowed_mentions`, role
//! settings and permissions let them; the bot's permissions are per channel.
//! Every payload is checked against serenity's own model types first, so a missing
//! field fails loudly instead of being dropped.
//!
//! - [`world`]: servers, people, roles, channels, threads, reactions, commands, and
//!   their JSON.
//! - [`gateway`]: sessions and the dispatches queued for them.
//! - [`rest`]: the REST routes.

mod gateway;
pub mod multipart;
mod rest;
mod world;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use serenity::all::Permissions;
use tokio::sync::Notify;
use tokio::time::Instant;

use releasebot::chat::paced::Limits;
use releasebot::discord::Settings;
use releasebot::secret::Secret;

use world::{Channel, World, user_id, user_json};
pub use world::{ThreadState, default_bot_permissions, dm_channel};

/// Shaped like a bot token (three dot-separated parts) so serenity accepts it.
pub const TOKEN: &str = "OTAwMDAwMDAwMDAwMDAwOTAw.GfAkEd.fake-discord-bot-token-for-tests";
pub const BOT: u64 = 900;
pub const APP: u64 = 901;
pub const GUILD: u64 = 800;
/// The #releases channel.
pub const CHANNEL: u64 = 700;
/// The #announcements channel, where only the bot posts.
pub const ANNOUNCEMENTS: u64 = 720;
pub const DEVELOPER: u64 = 101;
pub const LEAD: u64 = 102;
pub const ADMIN: u64 = 103;
/// The bot's own (managed) role in [`GUILD`].
pub const BOT_ROLE: u64 = 104;

/// The members: alice (developer), bob, carol and erin (lead), dave (no role).
pub const MEMBERS: [(&str, u64, &[u64]); 5] = [
    ("alice", 1, &[DEVELOPER]),
    ("bob", 2, &[LEAD]),
    ("carol", 3, &[LEAD]),
    ("dave", 4, &[]),
    ("erin", 5, &[LEAD]),
];

/// Another server the bot was invited to, with roles of the same names as
/// [`GUILD`]'s but other ids.
pub const OTHER_GUILD: u64 = 810;
/// Its #deploys channel.
pub const OTHER_CHANNEL: u64 = 710;
pub const OTHER_LEAD: u64 = 112;
pub const OTHER_ADMIN: u64 = 113;
pub const OTHER_BOT_ROLE: u64 = 114;

/// Its members: mallory (lead there), trent (admin there), and bob, a lead in
/// [`GUILD`] but nothing here.
pub const OTHER_MEMBERS: [(&str, u64, &[u64]); 3] = [
    ("mallory", 11, &[OTHER_LEAD]),
    ("trent", 12, &[OTHER_ADMIN]),
    ("bob", 2, &[]),
];

/// Where someone acts: a server's channel (or thread), or their DM with the bot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Channel(u64),
    Dm,
}

/// #releases in [`GUILD`].
pub const HOME: Place = Place::Channel(CHANNEL);
/// #deploys in [`OTHER_GUILD`].
pub const OTHER: Place = Place::Channel(OTHER_CHANNEL);

/// How long a test waits for something the bot should do (real time).
const PATIENCE: Duration = Duration::from_secs(15);

/// One REST call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The route under `/api/v10`, percent-decoded: `/channels/700/messages`.
    pub path: String,
    pub body: Value,
    /// The files sent with it (a multipart form's `files[n]`).
    pub files: Vec<multipart::Upload>,
    pub status: u16,
    pub at: Instant,
}

impl Call {
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }
}

/// A message the bot posted, as it stands now.
#[derive(Debug, Clone)]
pub struct Posted {
    pub id: u64,
    pub channel: u64,
    pub content: String,
    pub components: Value,
    /// As last sent (`Null` when the request had none).
    pub allowed_mentions: Value,
    /// Each content it showed, the first one included.
    pub versions: Vec<String>,
    /// The users its mentions notified when it was posted (edits never notify).
    pub notified_users: Vec<u64>,
    /// The roles its mentions notified when it was posted.
    pub notified_roles: Vec<u64>,
}

struct Failure {
    method: String,
    path_prefix: String,
    status: u16,
    retry_after: Option<f64>,
    /// A 429 says how long in a `Retry-After` header as well as in its body.
    header: bool,
}

#[derive(Default)]
struct Gateway {
    connections: u32,
    identifies: u32,
    resumes: u32,
}

struct FakeState {
    calls: Vec<Call>,
    messages: HashMap<u64, Posted>,
    /// Interaction token → the content of its (ephemeral) answer.
    answers: HashMap<String, String>,
    /// Interaction token → the channel it came from.
    interactions: HashMap<String, u64>,
    /// Follow-up message id → the interaction token that posted it.
    followups: HashMap<u64, String>,
    failures: Vec<Failure>,
    gateway: Gateway,
    world: World,
}

struct Shared {
    state: Mutex<FakeState>,
    next_id: AtomicU64,
    seq: AtomicU64,
    ws_url: Mutex<String>,
    /// Dispatches waiting for the bot's current session.
    queue: Mutex<VecDeque<Value>>,
    queued: Notify,
    /// The connection whose session is live (IDENTIFY or RESUME done), 0 when none;
    /// only it takes dispatches, so none goes to a connection being dropped.
    live: AtomicU64,
    connections: AtomicU64,
    /// The current session's id: a RESUME must name it.
    session: Mutex<Option<String>>,
    sessions: AtomicU64,
    reconnect: Notify,
    invalidate: Notify,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }

    /// Queues a gateway dispatch (`t`, `d`) for the bot's session.
    fn dispatch(&self, t: &str, d: Value) {
        self.queue
            .lock()
            .unwrap()
            .push_back(json!({"op": 0, "t": t, "d": d}));
        self.queued.notify_waiters();
    }

    /// The next dispatch for connection `me`, once its session is the live one.
    async fn next_event(&self, me: u64) -> Value {
        loop {
            let notified = self.queued.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.live.load(Ordering::SeqCst) == me
                && let Some(event) = self.queue.lock().unwrap().pop_front()
            {
                return event;
            }
            notified.await;
        }
    }

    fn go_live(&self, me: u64) {
        self.live.store(me, Ordering::SeqCst);
        self.queued.notify_waiters();
    }
}

/// The fake Discord and a handle to act in it.
pub struct FakeDiscord {
    shared: Arc<Shared>,
    addr: SocketAddr,
    tls: Option<SocketAddr>,
}

/// Checks a payload against serenity's type for it, then hands it back unchanged.
fn checked<T: DeserializeOwned + Serialize>(what: &str, value: Value) -> Value {
    if let Err(e) = serde_json::from_value::<T>(value.clone()) {
        panic!("the fake's {what} is not what serenity expects: {e}\n{value:#}");
    }
    value
}

fn error(status: u16, message: &str, code: u64) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(json!({"message": message, "code": code})),
    )
        .into_response()
}

fn ok(value: Value) -> Response {
    axum::Json(value).into_response()
}

impl FakeDiscord {
    /// REST over plain HTTP, for `DISCORD_PROXY_URL` (serenity's limiter off).
    pub async fn start() -> FakeDiscord {
        Self::serve(false).await
    }

    /// REST over TLS as `discord.com` too, for serenity's own rate limiter.
    pub async fn start_tls() -> FakeDiscord {
        Self::serve(true).await
    }

    async fn serve(tls: bool) -> FakeDiscord {
        let shared = Arc::new(Shared {
            state: Mutex::new(FakeState {
                calls: Vec::new(),
                messages: HashMap::new(),
                answers: HashMap::new(),
                interactions: HashMap::new(),
                followups: HashMap::new(),
                failures: Vec::new(),
                gateway: Gateway::default(),
                world: World::new(),
            }),
            next_id: AtomicU64::new(10_000),
            seq: AtomicU64::new(0),
            ws_url: Mutex::new(String::new()),
            queue: Mutex::new(VecDeque::new()),
            queued: Notify::new(),
            live: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            session: Mutex::new(None),
            sessions: AtomicU64::new(0),
            reconnect: Notify::new(),
            invalidate: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        *shared.ws_url.lock().unwrap() = format!("ws://{addr}/ws");
        let app = Router::new()
            .route("/ws", get(gateway::gateway))
            .fallback(rest::rest)
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let tls = if tls {
            Some(rest::tls_front(addr).await)
        } else {
            None
        };
        FakeDiscord { shared, addr, tls }
    }

    /// Settings that point the bot here.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::new(Secret::new(TOKEN));
        settings.guilds = vec![serenity::all::GuildId::new(GUILD)];
        // The engine's pacing is tested on its own; here it would only slow things.
        settings.limits = Limits::unlimited();
        // A 429 that says how long to wait is waited out as long as it says; only one
        // that does not falls back to this, kept short so that a test can tell.
        settings.rate_limit_backoff = Duration::from_millis(20);
        match self.tls {
            None => {
                settings.proxy = Some(format!("http://{}", self.addr));
            }
            Some(tls) => {
                let client = reqwest::Client::builder()
                    .use_rustls_tls()
                    .resolve("discord.com", tls)
                    .danger_accept_invalid_certs(true)
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                settings.http_client = Some(client);
            }
        }
        settings
    }

    /// The REST API's root over plain HTTP: `http://127.0.0.1:P/api/v10`.
    pub fn rest_url(&self) -> String {
        format!("http://{}/api/v10", self.addr)
    }

    // ---- what the bot did ----

    pub fn calls(&self) -> Vec<Call> {
        self.shared.state().calls.clone()
    }

    pub fn message(&self, id: u64) -> Posted {
        self.shared
            .state()
            .messages
            .get(&id)
            .cloned()
            .unwrap_or_else(|| panic!("no message {id}"))
    }

    /// Messages posted in a channel or thread, oldest first.
    pub fn messages_in(&self, channel: u64) -> Vec<Posted> {
        let mut found: Vec<Posted> = self
            .shared
            .state()
            .messages
            .values()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect();
        found.sort_by_key(|m| m.id);
        found
    }

    /// Everyone a message rang when posted, by name: the users it mentioned and the
    /// members of the roles it mentioned (as [`Posted::notified_users`] and
    /// [`Posted::notified_roles`] say), the bot left out.
    pub fn pinged(&self, message: u64) -> Vec<String> {
        let posted = self.message(message);
        let state = self.shared.state();
        let world = &state.world;
        let members = world
            .guild_of(posted.channel)
            .map(|g| world.members_of(g))
            .unwrap_or_default();
        let mut ids = posted.notified_users.clone();
        for (_, id, roles) in members {
            if roles.iter().any(|r| posted.notified_roles.contains(r)) {
                ids.push(*id);
            }
        }
        let mut names: Vec<String> = ids
            .into_iter()
            .filter(|id| *id != BOT)
            .map(|id| world::user_name(id).unwrap_or("someone").to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Who reacted to a message with `emoji` (user ids, ascending; the bot's own
    /// reactions included).
    pub fn reactions(&self, message: u64, emoji: &str) -> Vec<u64> {
        self.shared.state().world.reactors(message, emoji)
    }

    /// A thread's state (its id is the message it was started from).
    pub fn thread(&self, id: u64) -> ThreadState {
        self.shared
            .state()
            .world
            .thread(id)
            .cloned()
            .unwrap_or_else(|| panic!("no thread {id}"))
    }

    /// Who is in a thread: its creator (the bot) first, then whoever was added.
    pub fn thread_members(&self, id: u64) -> Vec<u64> {
        self.thread(id).members
    }

    /// The commands registered globally (`None`) or in a guild.
    pub fn commands(&self, guild: Option<u64>) -> Vec<Value> {
        self.shared.state().world.commands(guild)
    }

    /// The bot's permissions in a channel, as an interaction there carries them.
    pub fn bot_permissions(&self, channel: u64) -> Permissions {
        Permissions::from_bits_truncate(self.shared.state().world.permissions_in(channel))
    }

    /// (connections, IDENTIFYs, RESUMEs) seen on the gateway.
    pub fn gateway_counts(&self) -> (u32, u32, u32) {
        let g = &self.shared.state().gateway;
        (g.connections, g.identifies, g.resumes)
    }

    /// Whether a gateway connection with a live session is open.
    pub fn connected(&self) -> bool {
        self.shared.live.load(Ordering::SeqCst) != 0
    }

    /// Waits until no gateway connection is live (the bot stopped, or lost it).
    pub async fn wait_disconnected(&self) {
        self.wait_for("disconnect from the gateway", |f| {
            (!f.connected()).then_some(())
        })
        .await
    }

    /// Waits until `check` finds something in the fake's state.
    pub async fn wait_for<T>(&self, what: &str, check: impl Fn(&FakeDiscord) -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(found) = check(self) {
                return found;
            }
            if Instant::now() > deadline {
                let calls: Vec<String> = self
                    .calls()
                    .iter()
                    .map(|c| format!("{} {} {} {}", c.status, c.method, c.path, c.body))
                    .collect();
                panic!(
                    "the bot never did this: {what}\ncalls:\n{}",
                    calls.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for a call; returns it and its position among all calls.
    pub async fn wait_call(&self, what: &str, check: impl Fn(&Call) -> bool) -> (usize, Call) {
        self.wait_for(what, |f| {
            f.calls().into_iter().enumerate().find(|(_, c)| check(c))
        })
        .await
    }

    /// Waits until the bot is connected and has registered its slash commands.
    pub async fn wait_ready(&self) -> Vec<Value> {
        let path = format!("/applications/{APP}/guilds/{GUILD}/commands");
        let (_, call) = self
            .wait_call("register the slash commands", |c| c.is("PUT", &path))
            .await;
        call.body.as_array().cloned().unwrap_or_default()
    }

    /// Waits until an interaction's ephemeral answer says something.
    pub async fn answer(&self, token: &str) -> String {
        self.wait_for("answer the interaction", |f| {
            f.shared.state().answers.get(token).cloned()
        })
        .await
    }

    /// Waits until a message shows what `check` wants; returns its content.
    pub async fn wait_message(&self, id: u64, what: &str, check: impl Fn(&str) -> bool) -> String {
        self.wait_for(what, |f| {
            let m = f.shared.state().messages.get(&id).cloned()?;
            check(&m.content).then_some(m.content)
        })
        .await
    }

    // ---- the world as a test sets it ----

    /// The next REST call matching `method` and starting with `path_prefix` fails;
    /// with `retry_after`, as a 429 saying so as Discord does (a `Retry-After` header
    /// and `retry_after` in the body).
    pub fn fail_next(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        retry_after: Option<f64>,
    ) {
        self.shared.state().failures.push(Failure {
            method: method.into(),
            path_prefix: path_prefix.into(),
            status,
            retry_after,
            header: true,
        });
    }

    /// The next matching REST call is answered 429 with `retry_after` in the body
    /// only, no `Retry-After` header: serenity's limiter then hands the 429 back
    /// rather than waiting it out.
    pub fn rate_limit_next_in_body_only(&self, method: &str, path_prefix: &str, retry_after: f64) {
        self.shared.state().failures.push(Failure {
            method: method.into(),
            path_prefix: path_prefix.into(),
            status: 429,
            retry_after: Some(retry_after),
            header: false,
        });
    }

    /// The bot's permissions in a guild text channel (its threads follow it). The
    /// default is [`default_bot_permissions`].
    pub fn set_bot_permissions(&self, channel: u64, permissions: Permissions) {
        self.shared
            .state()
            .world
            .permissions
            .insert(channel, permissions.bits());
    }

    /// Makes a role (un)mentionable: an unmentionable role's mention rings nobody
    /// unless the bot has Mention Everyone.
    pub fn set_mentionable(&self, guild: u64, role: u64, mentionable: bool) {
        let mut state = self.shared.state();
        let found = state
            .world
            .guilds
            .get_mut(&guild)
            .and_then(|g| g.roles.iter_mut().find(|r| r.id == role))
            .unwrap_or_else(|| panic!("no role {role} in guild {guild}"));
        found.mentionable = mentionable;
    }

    /// Someone who may manage roles adds a role to a server.
    pub fn add_role(&self, guild: u64, id: u64, name: &str) {
        let mut state = self.shared.state();
        let g = state
            .world
            .guilds
            .get_mut(&guild)
            .unwrap_or_else(|| panic!("no guild {guild}"));
        g.roles.push(world::Role {
            id,
            name: name.to_string(),
            mentionable: false,
            permissions: 0,
        });
    }

    /// Gives `who` a role in a server.
    pub fn give_role(&self, guild: u64, who: &str, role: u64) {
        let mut state = self.shared.state();
        let member = state
            .world
            .guilds
            .get_mut(&guild)
            .and_then(|g| g.members.iter_mut().find(|(n, _, _)| n == who))
            .unwrap_or_else(|| panic!("{who} is not a member of guild {guild}"));
        member.2.push(role);
    }

    /// Whether anyone may invite the bot (`bot_public`; true for a new application).
    pub fn set_bot_public(&self, public: bool) {
        self.shared.state().world.bot_public = public;
    }

    /// Registers commands by name (globally for `None`), as an earlier version of the
    /// bot would have left them.
    pub fn seed_commands(&self, guild: Option<u64>, names: &[&str]) {
        let wanted: Vec<Value> = names
            .iter()
            .map(|n| json!({"name": n, "description": format!("/{n}"), "options": []}))
            .collect();
        let shared = &self.shared;
        shared
            .state()
            .world
            .register(guild, &wanted, || shared.id());
    }

    /// A moderator archives a thread.
    pub fn archive_thread(&self, id: u64) {
        self.change_thread(id, |t| t.archived = true);
    }

    /// A moderator locks a thread (it stays open unless also archived).
    pub fn lock_thread(&self, id: u64) {
        self.change_thread(id, |t| t.locked = true);
    }

    fn change_thread(&self, id: u64, change: impl FnOnce(&mut ThreadState)) {
        let mut state = self.shared.state();
        let thread = state
            .world
            .thread_mut(id)
            .unwrap_or_else(|| panic!("no thread {id}"));
        change(thread);
    }

    // ---- the gateway ----

    /// Closes the gateway connection the way Discord asks a client to reconnect (op 7):
    /// the session resumes.
    pub fn ask_to_reconnect(&self) {
        self.shared.reconnect.notify_one();
    }

    /// Ends the bot's session (op 9, not resumable): it must IDENTIFY anew, and what
    /// was queued for the old session is never delivered.
    pub fn invalidate_session(&self) {
        // From now on the session is gone: nothing more is dispatched to it.
        self.shared.live.store(0, Ordering::SeqCst);
        self.shared.invalidate.notify_one();
    }

    // ---- acting in a server ----

    /// The channel of a place, for `who` (their DM channel is made on first use).
    fn channel_of(&self, place: Place, who: &str) -> u64 {
        match place {
            Place::Channel(channel) => channel,
            Place::Dm => {
                let channel = dm_channel(who);
                self.shared
                    .state()
                    .world
                    .channels
                    .entry(channel)
                    .or_insert(Channel::Dm { user: user_id(who) });
                channel
            }
        }
    }

    /// Sends an INTERACTION_CREATE from `who` in `channel`: with the guild, the member
    /// and its roles there and the bot's permissions in that channel, or, in a DM,
    /// with the user alone. Returns the interaction's id and token.
    fn interaction(
        &self,
        channel: u64,
        who: &str,
        kind: u8,
        data: Value,
        extra: Value,
    ) -> (u64, String) {
        let id = self.shared.id();
        let token = format!("interaction-token-{id}");
        let mut state = self.shared.state();
        let world = &state.world;
        let permissions = world.permissions_in(channel).to_string();
        let mut payload = json!({
            "id": id.to_string(), "application_id": APP.to_string(), "type": kind,
            "token": token, "version": 1, "data": data, "channel_id": channel.to_string(),
            "locale": "en-US", "entitlements": [], "attachment_size_limit": 8_388_608,
            "app_permissions": permissions
        });
        match world.channels.get(&channel) {
            Some(Channel::Dm { user }) => {
                assert_eq!(*user, user_id(who), "{who} acts in someone else's DM");
                payload["user"] = user_json(who, *user);
                payload["channel"] = json!({"id": channel.to_string(), "type": 1});
                // A guild install used in the DM with the bot: no guild, so "0".
                payload["authorizing_integration_owners"] = json!({"0": "0"});
                payload["context"] = json!(1);
            }
            Some(Channel::Text { .. } | Channel::Thread(_)) => {
                let guild = world.guild_of(channel).unwrap_or_default();
                let kind = if world.thread(channel).is_some() {
                    11
                } else {
                    0
                };
                payload["guild_id"] = json!(guild.to_string());
                payload["guild_locale"] = json!("en-US");
                payload["member"] = world.member_json(guild, who);
                payload["channel"] = json!({"id": channel.to_string(), "type": kind});
                payload["authorizing_integration_owners"] = json!({"0": guild.to_string()});
                payload["context"] = json!(0);
            }
            None => panic!("the fake knows no channel {channel}"),
        }
        if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        let payload = checked::<serenity::model::application::Interaction>("interaction", payload);
        state.interactions.insert(token.clone(), channel);
        drop(state);
        self.shared.dispatch("INTERACTION_CREATE", payload);
        (id, token)
    }

    /// The `data` of `/name` with `options`: Discord offers only the commands
    /// registered in that guild, or globally (the only ones in a DM).
    fn command_data(&self, channel: u64, who: &str, name: &str, options: Vec<Value>) -> Value {
        let state = self.shared.state();
        let world = &state.world;
        let guild = world.guild_of(channel);
        let found = guild
            .map(|g| world.commands(Some(g)))
            .unwrap_or_default()
            .into_iter()
            .chain(world.commands(None))
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| {
                panic!(
                    "{who} cannot run /{name} in channel {channel}: it is not registered \
                     in its server ({guild:?}) nor globally (see seed_commands)"
                )
            });
        json!({"id": found["id"], "name": name, "type": 1, "options": options})
    }

    /// `who` runs a slash command in #releases with string or integer options; returns
    /// its token.
    pub fn command(&self, who: &str, name: &str, options: &[(&str, Value)]) -> String {
        self.command_in(HOME, who, name, options)
    }

    /// `who` runs a slash command in a place (another server's channel, a thread, a
    /// DM); returns its token.
    pub fn command_in(
        &self,
        place: Place,
        who: &str,
        name: &str,
        options: &[(&str, Value)],
    ) -> String {
        let channel = self.channel_of(place, who);
        let options: Vec<Value> = options
            .iter()
            .map(|(n, v)| json!({"name": n, "type": if v.is_i64() { 4 } else { 3 }, "value": v}))
            .collect();
        let data = self.command_data(channel, who, name, options);
        self.interaction(channel, who, 2, data, json!({})).1
    }

    /// `who` types `typed` into option `focus` of `/name` in #releases, the others
    /// filled; the choices Discord would show.
    pub async fn autocomplete(
        &self,
        who: &str,
        name: &str,
        filled: &[(&str, &str)],
        focus: &str,
        typed: &str,
    ) -> Vec<(String, Value)> {
        self.autocomplete_in(HOME, who, name, filled, focus, typed)
            .await
    }

    /// As [`FakeDiscord::autocomplete`], in a place.
    pub async fn autocomplete_in(
        &self,
        place: Place,
        who: &str,
        name: &str,
        filled: &[(&str, &str)],
        focus: &str,
        typed: &str,
    ) -> Vec<(String, Value)> {
        let channel = self.channel_of(place, who);
        let mut options: Vec<Value> = filled
            .iter()
            .map(|(n, v)| json!({"name": n, "type": 3, "value": v}))
            .collect();
        let kind = if ["job", "count"].contains(&focus) {
            4
        } else {
            3
        };
        options.push(json!({"name": focus, "type": kind, "value": typed, "focused": true}));
        let data = self.command_data(channel, who, name, options);
        let (id, _) = self.interaction(channel, who, 4, data, json!({}));
        let path_start = format!("/interactions/{id}/");
        let (_, call) = self
            .wait_call("answer the autocomplete request", |c| {
                c.method == "POST" && c.path.starts_with(&path_start)
            })
            .await;
        assert_eq!(
            call.body["type"], 8,
            "an autocomplete answer: {}",
            call.body
        );
        call.body["data"]["choices"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or("").to_string(),
                    c["value"].clone(),
                )
            })
            .collect()
    }

    /// `who` presses the button `custom_id` under a message, in the server (or DM) the
    /// message is in, however old it is; returns the token.
    pub fn press(&self, who: &str, message: u64, custom_id: &str) -> String {
        let posted = self.message(message);
        let data = json!({"custom_id": custom_id, "component_type": 2});
        let json = self.shared.state().world.message_json(&posted, 0);
        let extra = json!({"message": json});
        self.interaction(posted.channel, who, 3, data, extra).1
    }

    /// `who` adds (or removes) a reaction on a message, as a member of the server the
    /// message is in. The reaction stays on the message; the event goes to the bot's
    /// session (and is lost if the bot's next session is a new one). Adding a
    /// reaction `who` already has (or removing one they do not) changes nothing and
    /// sends nothing, as on Discord.
    pub fn react(&self, who: &str, message: u64, emoji: &str, added: bool) {
        let mut state = self.shared.state();
        let (id, channel) = Self::reaction_target(&state, who, message, emoji, added);
        if state.world.set_reaction(message, emoji, id, added) {
            react_event(
                &self.shared,
                &state.world,
                id,
                channel,
                message,
                emoji,
                added,
            );
        }
    }

    /// `who` adds (or removes) a reaction while the bot is not connected, once no
    /// session is live: the message keeps it, and no event is ever sent (the bot's
    /// next session is a new one).
    pub async fn react_offline(&self, who: &str, message: u64, emoji: &str, added: bool) {
        self.wait_disconnected().await;
        let mut state = self.shared.state();
        let (id, _) = Self::reaction_target(&state, who, message, emoji, added);
        state.world.set_reaction(message, emoji, id, added);
    }

    /// `who`'s user id and the message's channel, when Discord would let them react.
    fn reaction_target(
        state: &FakeState,
        who: &str,
        message: u64,
        emoji: &str,
        added: bool,
    ) -> (u64, u64) {
        let channel = state
            .messages
            .get(&message)
            .unwrap_or_else(|| panic!("no message {message}"))
            .channel;
        let world = &state.world;
        let id = user_id(who);
        if let Some(guild) = world.guild_of(channel) {
            assert!(
                world.members_of(guild).iter().any(|m| m.1 == id),
                "{who} is not a member of guild {guild}, where message {message} is"
            );
        }
        if world.thread(channel).is_some_and(|t| t.archived) {
            let what = if added { "add" } else { "remove" };
            panic!("{who} cannot {what} {emoji} in archived thread {channel}: Discord refuses");
        }
        (id, channel)
    }
}

/// Dispatches MESSAGE_REACTION_ADD (with the member, in a server) or
/// MESSAGE_REACTION_REMOVE.
fn react_event(
    shared: &Shared,
    world: &World,
    user: u64,
    channel: u64,
    message: u64,
    emoji: &str,
    added: bool,
) {
    let mut d = json!({
        "user_id": user.to_string(), "channel_id": channel.to_string(),
        "message_id": message.to_string(),
        "emoji": {"id": null, "name": emoji}, "burst": false, "type": 0
    });
    if let Some(guild) = world.guild_of(channel) {
        d["guild_id"] = json!(guild.to_string());
        if added {
            let name = world::user_name(user).unwrap_or("someone");
            d["member"] = world.member_json(guild, name);
        }
    }
    if added {
        d["message_author_id"] = json!(BOT.to_string());
    }
    let d = checked::<serenity::model::channel::Reaction>("reaction", d);
    let t = if added {
        "MESSAGE_REACTION_ADD"
    } else {
        "MESSAGE_REACTION_REMOVE"
    };
    shared.dispatch(t, d);
}
