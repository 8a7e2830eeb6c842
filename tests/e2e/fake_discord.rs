//! A fake Discord on 127.0.0.1 for the real serenity client: the REST API (plain HTTP
//! behind `DISCORD_PROXY_URL`, or TLS as `discord.com` for serenity's own rate limiter)
//! and a gateway WebSocket, as `discord-testing.md` describes.
//!
//! It records every REST call (method, route, body) so tests assert what people would
//! see and in which order, keeps the messages the bot posted, and lets a test act as
//! members of one server: run slash commands, type into autocomplete, press buttons,
//! add and remove reactions. Every gateway payload is checked against serenity's own
//! model types first, so a missing field fails loudly instead of being dropped.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use releasebot::chat::paced::Limits;
use releasebot::discord::Settings;
use releasebot::secret::Secret;

/// Shaped like a bot token (three dot-separated parts) so serenity accepts it.
pub const TOKEN: &str = "OTAwMDAwMDAwMDAwMDAwOTAw.GfAkEd.fake-discord-bot-token-for-tests";
pub const BOT: u64 = 900;
pub const APP: u64 = 901;
pub const GUILD: u64 = 800;
/// The #releases channel.
pub const CHANNEL: u64 = 700;
pub const DEVELOPER: u64 = 101;
pub const LEAD: u64 = 102;

/// The members: alice (developer), bob, carol and erin (lead), dave (no role).
pub const MEMBERS: [(&str, u64, &[u64]); 5] = [
    ("alice", 1, &[DEVELOPER]),
    ("bob", 2, &[LEAD]),
    ("carol", 3, &[LEAD]),
    ("dave", 4, &[]),
    ("erin", 5, &[LEAD]),
];

const ROLES: [(u64, &str); 3] = [(DEVELOPER, "developer"), (LEAD, "lead"), (103, "admin")];

/// How long a test waits for something the bot should do (real time).
const PATIENCE: Duration = Duration::from_secs(15);

/// One REST call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The route under `/api/v10`, percent-decoded: `/channels/700/messages`.
    pub path: String,
    pub body: Value,
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
    pub allowed_mentions: Value,
    /// Each content it showed, the first one included.
    pub versions: Vec<String>,
}

struct Failure {
    method: String,
    path_prefix: String,
    status: u16,
    retry_after: Option<f64>,
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
    failures: Vec<Failure>,
    gateway: Gateway,
}

struct Shared {
    state: Mutex<FakeState>,
    next_id: AtomicU64,
    seq: AtomicU64,
    ws_url: Mutex<String>,
    /// Dispatches waiting for the bot's current session.
    queue: Mutex<VecDeque<Value>>,
    queued: Notify,
    /// The connection whose session is live (IDENTIFY or RESUME done); only it
    /// takes dispatches, so none goes to a connection being dropped.
    live: AtomicU64,
    connections: AtomicU64,
    reconnect: Notify,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }

    /// Queues a gateway dispatch (`t`, `d`) for the connected bot.
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

fn user(name: &str, id: u64) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": null,
           "avatar": null, "bot": id == BOT})
}

fn member(name: &str) -> Value {
    let (_, id, roles) = MEMBERS
        .iter()
        .find(|(n, _, _)| *n == name)
        .copied()
        .unwrap_or((name, BOT, &[]));
    let roles: Vec<String> = roles.iter().map(u64::to_string).collect();
    checked::<serenity::model::guild::Member>(
        "member",
        json!({"user": user(name, id), "roles": roles, "deaf": false, "mute": false, "flags": 0,
               "joined_at": "2024-01-01T00:00:00.000000+00:00", "nick": null}),
    )
}

fn user_id(name: &str) -> u64 {
    MEMBERS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, id, _)| *id)
        .unwrap_or_else(|| panic!("no member {name}"))
}

fn message_json(p: &Posted, flags: u64) -> Value {
    checked::<serenity::model::channel::Message>(
        "message",
        json!({
            "id": p.id.to_string(), "channel_id": p.channel.to_string(),
            "author": user("releasebot", BOT), "content": p.content,
            "timestamp": "2024-01-01T00:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false, "type": 0,
            "components": p.components, "flags": flags
        }),
    )
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
                failures: Vec::new(),
                gateway: Gateway::default(),
            }),
            next_id: AtomicU64::new(10_000),
            seq: AtomicU64::new(0),
            ws_url: Mutex::new(String::new()),
            queue: Mutex::new(VecDeque::new()),
            queued: Notify::new(),
            live: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            reconnect: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        *shared.ws_url.lock().unwrap() = format!("ws://{addr}/ws");
        let app = Router::new()
            .route("/ws", get(gateway))
            .fallback(rest)
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let tls = if tls {
            Some(tls_front(addr).await)
        } else {
            None
        };
        FakeDiscord { shared, addr, tls }
    }

    /// Settings that point the bot here.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::new(Secret::new(TOKEN));
        settings.guild = Some(serenity::all::GuildId::new(GUILD));
        // The engine's pacing is tested on its own; here it would only slow things.
        settings.limits = Limits::unlimited();
        match self.tls {
            None => {
                settings.proxy = Some(format!("http://{}", self.addr));
                settings.proxy_backoff = Duration::from_millis(20);
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

    /// (connections, IDENTIFYs, RESUMEs) seen on the gateway.
    pub fn gateway_counts(&self) -> (u32, u32, u32) {
        let g = &self.shared.state().gateway;
        (g.connections, g.identifies, g.resumes)
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

    // ---- acting in the server ----

    /// The next REST call matching `method` and starting with `path_prefix` fails.
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
        });
    }

    /// Closes the gateway connection the way Discord asks a client to reconnect (op 7).
    pub fn ask_to_reconnect(&self) {
        self.shared.reconnect.notify_one();
    }

    /// Sends an INTERACTION_CREATE; returns the interaction's id and token.
    fn interaction(&self, who: &str, kind: u8, data: Value, extra: Value) -> (u64, String) {
        let id = self.shared.id();
        let token = format!("interaction-token-{id}");
        let mut payload = json!({
            "id": id.to_string(), "application_id": APP.to_string(), "type": kind,
            "token": token, "version": 1, "data": data,
            "guild_id": GUILD.to_string(), "channel_id": CHANNEL.to_string(),
            "member": member(who), "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "attachment_size_limit": 8_388_608,
            "authorizing_integration_owners": {"0": GUILD.to_string()}, "context": 0,
            "app_permissions": "0"
        });
        if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        let payload = checked::<serenity::model::application::Interaction>("interaction", payload);
        self.shared.dispatch("INTERACTION_CREATE", payload);
        (id, token)
    }

    /// `who` runs a slash command with string or integer options; returns its token.
    pub fn command(&self, who: &str, name: &str, options: &[(&str, Value)]) -> String {
        let options: Vec<Value> = options
            .iter()
            .map(|(n, v)| json!({"name": n, "type": if v.is_i64() { 4 } else { 3 }, "value": v}))
            .collect();
        let data = json!({"id": "5000", "name": name, "type": 1, "options": options});
        self.interaction(who, 2, data, json!({})).1
    }

    /// `who` types `typed` into option `focus` of `/name`, the others filled; the
    /// choices Discord would show.
    pub async fn autocomplete(
        &self,
        who: &str,
        name: &str,
        filled: &[(&str, &str)],
        focus: &str,
        typed: &str,
    ) -> Vec<(String, Value)> {
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
        let data = json!({"id": "5000", "name": name, "type": 1, "options": options});
        let (id, _) = self.interaction(who, 4, data, json!({}));
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

    /// `who` presses the button `custom_id` under a message; returns the token.
    pub fn press(&self, who: &str, message: u64, custom_id: &str) -> String {
        let posted = self.message(message);
        let data = json!({"custom_id": custom_id, "component_type": 2});
        let extra = json!({"message": message_json(&posted, 0),
                           "channel_id": posted.channel.to_string()});
        self.interaction(who, 3, data, extra).1
    }

    /// `who` adds (or removes) a reaction on a message.
    pub fn react(&self, who: &str, message: u64, emoji: &str, added: bool) {
        let channel = self.message(message).channel;
        react_event(&self.shared, who, channel, message, emoji, added);
    }
}

fn react_event(shared: &Shared, who: &str, channel: u64, message: u64, emoji: &str, added: bool) {
    let id = if who == "releasebot" {
        BOT
    } else {
        user_id(who)
    };
    let mut d = json!({
        "user_id": id.to_string(), "channel_id": channel.to_string(),
        "message_id": message.to_string(), "guild_id": GUILD.to_string(),
        "emoji": {"id": null, "name": emoji}, "burst": false, "type": 0
    });
    if added {
        d["member"] = member(who);
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

/// Serves TLS as `discord.com` with a self-signed certificate, passing the bytes on to
/// the plain server.
async fn tls_front(plain: SocketAddr) -> SocketAddr {
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let cert = rcgen::generate_simple_self_signed(vec!["discord.com".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(plain).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    addr
}

// ---- the gateway ----

async fn gateway(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |socket| connection(socket, shared))
}

async fn send(socket: &mut WebSocket, value: Value) -> bool {
    socket
        .send(WsMessage::Text(value.to_string().into()))
        .await
        .is_ok()
}

fn sequenced(shared: &Shared, mut event: Value) -> Value {
    event["s"] = json!(shared.seq.fetch_add(1, Ordering::SeqCst) + 1);
    event
}

/// What happened next on a gateway connection.
enum Step {
    Frame(Value),
    Event(Value),
    Reconnect,
    Closed,
    Nothing,
}

async fn connection(mut socket: WebSocket, shared: Arc<Shared>) {
    shared.state().gateway.connections += 1;
    let me = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    if !send(
        &mut socket,
        json!({"op": 10, "d": {"heartbeat_interval": 45_000}}),
    )
    .await
    {
        return;
    }
    loop {
        let step = tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    serde_json::from_str(&text).map_or(Step::Nothing, Step::Frame)
                }
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => Step::Closed,
                Some(Ok(_)) => Step::Nothing,
            },
            event = shared.next_event(me) => Step::Event(event),
            _ = shared.reconnect.notified() => Step::Reconnect,
        };
        match step {
            Step::Frame(frame) => match frame["op"].as_u64() {
                Some(1) => {
                    send(&mut socket, json!({"op": 11})).await;
                }
                Some(2) => {
                    shared.state().gateway.identifies += 1;
                    let url = shared.ws_url.lock().unwrap().clone();
                    let ready = checked::<serenity::model::gateway::Ready>(
                        "READY",
                        json!({
                            "v": 10, "user": user("releasebot", BOT),
                            "guilds": [{"id": GUILD.to_string(), "unavailable": true}],
                            "session_id": "fake-session", "resume_gateway_url": url,
                            "shard": [0, 1], "application": {"id": APP.to_string(), "flags": 0}
                        }),
                    );
                    let event = sequenced(&shared, json!({"op": 0, "t": "READY", "d": ready}));
                    send(&mut socket, event).await;
                    shared.go_live(me);
                }
                Some(6) => {
                    shared.state().gateway.resumes += 1;
                    let event = sequenced(&shared, json!({"op": 0, "t": "RESUMED", "d": {}}));
                    send(&mut socket, event).await;
                    shared.go_live(me);
                }
                _ => {}
            },
            Step::Event(event) => {
                let event = sequenced(&shared, event);
                if !send(&mut socket, event.clone()).await {
                    // Not delivered: it waits for the next session.
                    shared.queue.lock().unwrap().push_front(event);
                    return;
                }
            }
            Step::Reconnect => {
                send(&mut socket, json!({"op": 7, "d": null})).await;
                let _ = socket.send(WsMessage::Close(None)).await;
                return;
            }
            Step::Closed => return,
            Step::Nothing => {}
        }
    }
}

// ---- the REST API ----

async fn rest(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let raw = uri.path().strip_prefix("/api/v10").unwrap_or(uri.path());
    let path = percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let method = method.as_str().to_string();
    // One lock for the answer and its record: a test that sees a change also sees
    // the call that made it.
    let mut state = shared.state();
    let found = state
        .failures
        .iter()
        .position(|f| f.method == method && path.starts_with(&f.path_prefix));
    let response = match found.map(|i| state.failures.remove(i)) {
        Some(f) => failed(&f),
        None => answer(&shared, &mut state, &method, &path, &body),
    };
    state.calls.push(Call {
        method,
        path,
        body,
        status: response.status().as_u16(),
        at: Instant::now(),
    });
    response
}

fn failed(f: &Failure) -> Response {
    match f.retry_after {
        Some(after) => {
            let body = json!({"message": "You are being rate limited.", "retry_after": after, "global": false});
            let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
            let headers = response.headers_mut();
            headers.insert("retry-after", after.to_string().parse().unwrap());
            headers.insert("x-ratelimit-scope", "user".parse().unwrap());
            response
        }
        None => error(f.status, "Injected failure", 0),
    }
}

fn answer(
    shared: &Shared,
    state: &mut FakeState,
    method: &str,
    path: &str,
    body: &Value,
) -> Response {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let number = |s: &str| s.parse::<u64>().ok();
    match (method, parts.as_slice()) {
        ("GET", ["gateway"]) => ok(json!({"url": shared.ws_url.lock().unwrap().clone()})),
        ("GET", ["users", "@me"]) => ok(checked::<serenity::model::user::CurrentUser>(
            "current user",
            user("releasebot", BOT),
        )),
        ("PUT", ["applications", _, "guilds", _, "commands"] | ["applications", _, "commands"]) => {
            let commands: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut c| {
                    c["id"] = json!(shared.id().to_string());
                    c["application_id"] = json!(APP.to_string());
                    c["version"] = json!("1");
                    c["type"] = json!(1);
                    c["default_member_permissions"] = Value::Null;
                    c
                })
                .collect();
            ok(checked::<Vec<serenity::model::application::Command>>(
                "commands",
                json!(commands),
            ))
        }
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("PATCH", ["webhooks", _, token, "messages", "@original"]) => {
            let content = body["content"].as_str().unwrap_or("").to_string();
            state.answers.insert(token.to_string(), content.clone());
            let posted = Posted {
                id: shared.id(),
                channel: CHANNEL,
                content,
                components: json!([]),
                allowed_mentions: body["allowed_mentions"].clone(),
                versions: Vec::new(),
            };
            ok(message_json(&posted, 64))
        }
        ("GET", ["guilds", _, "roles"]) => {
            let roles: Vec<Value> = ROLES
                .iter()
                .enumerate()
                .map(|(i, (id, name))| {
                    json!({"id": id.to_string(), "name": name, "color": 0,
                           "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
                           "hoist": false, "managed": false, "mentionable": true,
                           "permissions": "0", "position": i + 1, "icon": null,
                           "unicode_emoji": null, "flags": 0})
                })
                .collect();
            ok(checked::<Vec<serenity::model::guild::Role>>(
                "roles",
                json!(roles),
            ))
        }
        ("GET", ["guilds", _, "members", user]) => {
            match MEMBERS.iter().find(|(_, id, _)| Some(*id) == number(user)) {
                Some((name, _, _)) => ok(member(name)),
                None => error(404, "Unknown Member", 10007),
            }
        }
        ("GET", ["channels", channel]) => ok(checked::<serenity::model::channel::GuildChannel>(
            "channel",
            json!({"id": channel, "type": 0, "guild_id": GUILD.to_string(), "name": "releases",
                   "position": 0, "permission_overwrites": [], "nsfw": false}),
        )),
        ("POST", ["channels", channel, "messages"]) => {
            let Some(channel) = number(channel) else {
                return error(404, "Unknown Channel", 10003);
            };
            let content = body["content"].as_str().unwrap_or("").to_string();
            if content.is_empty() || content.chars().count() > 2000 {
                return error(400, "Cannot send an empty message", 50006);
            }
            let posted = Posted {
                id: shared.id(),
                channel,
                content: content.clone(),
                components: body.get("components").cloned().unwrap_or(json!([])),
                allowed_mentions: body["allowed_mentions"].clone(),
                versions: vec![content],
            };
            state.messages.insert(posted.id, posted.clone());
            ok(message_json(&posted, 0))
        }
        ("PATCH", ["channels", _, "messages", message]) => {
            let Some(posted) = number(message).and_then(|m| state.messages.get_mut(&m)) else {
                return error(404, "Unknown Message", 10008);
            };
            if let Some(content) = body["content"].as_str() {
                if content.is_empty() || content.chars().count() > 2000 {
                    return error(400, "Cannot send an empty message", 50006);
                }
                posted.content = content.to_string();
                posted.versions.push(content.to_string());
            }
            if let Some(components) = body.get("components") {
                posted.components = components.clone();
            }
            posted.allowed_mentions = body["allowed_mentions"].clone();
            ok(message_json(posted, 0))
        }
        ("POST", ["channels", channel, "messages", message, "threads"]) => {
            // A thread started from a message has the message's id.
            ok(checked::<serenity::model::channel::GuildChannel>(
                "thread",
                json!({"id": message, "type": 11, "guild_id": GUILD.to_string(),
                       "parent_id": channel, "name": body["name"], "owner_id": BOT.to_string(),
                       "position": 0, "permission_overwrites": [], "nsfw": false,
                       "thread_metadata": {"archived": false, "auto_archive_duration": 1440,
                                           "archive_timestamp": "2024-01-01T00:00:00.000000+00:00",
                                           "locked": false}}),
            ))
        }
        (
            "PUT",
            [
                "channels",
                channel,
                "messages",
                message,
                "reactions",
                emoji,
                "@me",
            ],
        ) => {
            // Discord tells the bot of its own reactions, which it must ignore.
            if let (Some(channel), Some(message)) = (number(channel), number(message)) {
                react_event(shared, "releasebot", channel, message, emoji, true);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        // Removing someone else's reaction needs Manage Messages, which the documented
        // permissions leave out.
        ("DELETE", ["channels", _, "messages", _, "reactions", _, _]) => {
            error(403, "Missing Permissions", 50013)
        }
        ("DELETE", ["channels", _, "messages", message]) => {
            if let Some(m) = number(message) {
                state.messages.remove(&m);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(404, "404: Not Found", 0),
    }
}
