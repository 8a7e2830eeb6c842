//! The REST API under `/api/v10`, answering as Discord does: permissions, thread state
//! and validation included, with Discord's error bodies.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use serenity::all::Permissions;
use tokio::time::Instant;

use super::world::{ARCHIVE_DURATIONS, Channel, ThreadState, World, has, thread_json};
use super::{APP, BOT, Call, FakeState, Posted, Shared, error, ok, react_event};

pub(super) async fn rest(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = uri.path().strip_prefix("/api/v10").unwrap_or(uri.path());
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let path = decode(raw);
    let query: HashMap<String, String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(super::multipart::boundary);
    let (body, files) = match form {
        // A message with files: its JSON is the `payload_json` part.
        Some(boundary) => {
            super::multipart::parse(&body, &boundary).unwrap_or((Value::Null, Vec::new()))
        }
        None => (
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            Vec::new(),
        ),
    };
    let method = method.as_str().to_string();
    // One lock for the answer and its record: a test that sees a change also sees
    // the call that made it.
    let mut state = shared.state();
    let found = state
        .failures
        .iter()
        .position(|f| f.method == method && path.starts_with(&f.path_prefix));
    let response = match found.map(|i| state.failures.remove(i)) {
        Some(f) => failed(f.status, f.retry_after, f.header),
        None => {
            let request = Request {
                method: &method,
                path: &path,
                query: &query,
                body: &body,
            };
            answer(&shared, &mut state, &request).unwrap_or_else(|refused| *refused)
        }
    };
    state.calls.push(Call {
        method,
        path,
        body,
        files,
        status: response.status().as_u16(),
        at: Instant::now(),
    });
    response
}

fn failed(status: u16, retry_after: Option<f64>, header: bool) -> Response {
    match retry_after {
        Some(after) => {
            let body = json!({"message": "You are being rate limited.", "retry_after": after, "global": false});
            let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
            let headers = response.headers_mut();
            if header {
                headers.insert("retry-after", after.to_string().parse().unwrap());
            }
            headers.insert("x-ratelimit-scope", "user".parse().unwrap());
            response
        }
        None => error(status, "Injected failure", 0),
    }
}

struct Request<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a HashMap<String, String>,
    body: &'a Value,
}

/// A refusal is an `Err`, so checks read as `?`.
type Answer = Result<Response, Refusal>;

/// Boxed, as a `Response` is large.
type Refusal = Box<Response>;

fn refuse(status: u16, message: &str, code: u64) -> Refusal {
    Box::new(error(status, message, code))
}

fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn number(s: &str) -> Result<u64, Refusal> {
    s.parse().map_err(|_| refuse(404, "404: Not Found", 0))
}

/// 400 Invalid Form Body, with Discord's nested `errors`.
fn invalid(field: &str, code: &str, message: &str) -> Refusal {
    let body = json!({"message": "Invalid Form Body", "code": 50035,
                      "errors": {field: {"_errors": [{"code": code, "message": message}]}}});
    Box::new((StatusCode::BAD_REQUEST, axum::Json(body)).into_response())
}

fn archived() -> Refusal {
    refuse(400, "Thread is archived", 50083)
}

fn missing_permissions() -> Refusal {
    refuse(403, "Missing Permissions", 50013)
}

/// The bot may see `channel` and do `wanted` there.
fn allowed(world: &World, channel: u64, wanted: Permissions) -> Result<(), Refusal> {
    let perms = world.permissions_in(channel);
    if !has(perms, Permissions::VIEW_CHANNEL) {
        return Err(refuse(403, "Missing Access", 50001));
    }
    if !has(perms, wanted) {
        return Err(missing_permissions());
    }
    Ok(())
}

/// Editing or reacting in a thread: not while it is archived.
fn not_archived(world: &World, channel: u64) -> Result<(), Refusal> {
    match world.thread(channel) {
        Some(t) if t.archived => Err(archived()),
        _ => Ok(()),
    }
}

fn channel_of(world: &World, channel: &str) -> Result<u64, Refusal> {
    let id = number(channel)?;
    if world.channels.contains_key(&id) {
        Ok(id)
    } else {
        Err(refuse(404, "Unknown Channel", 10003))
    }
}

/// A message the fake knows, in the channel the route names.
fn message_in(state: &FakeState, channel: &str, message: &str) -> Result<(u64, Posted), Refusal> {
    let channel = channel_of(&state.world, channel)?;
    match state.messages.get(&number(message)?) {
        Some(p) if p.channel == channel => Ok((channel, p.clone())),
        _ => Err(refuse(404, "Unknown Message", 10008)),
    }
}

fn check_content(content: &str) -> Result<(), Refusal> {
    if content.is_empty() {
        return Err(refuse(400, "Cannot send an empty message", 50006));
    }
    if content.chars().count() > 2000 {
        return Err(invalid(
            "content",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 2000 or fewer in length.",
        ));
    }
    Ok(())
}

/// `parse` with "users" (or "roles") and a non-empty `users` (or `roles`) list together
/// are refused, as are lists of more than 100.
fn check_allowed_mentions(allowed: &Value) -> Result<(), Refusal> {
    for kind in ["users", "roles"] {
        let parsed = allowed["parse"]
            .as_array()
            .is_some_and(|p| p.iter().any(|v| v == kind));
        let listed = allowed[kind].as_array().map_or(0, Vec::len);
        if parsed && listed > 0 {
            return Err(invalid(
                "allowed_mentions",
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                &format!("parse:[\"{kind}\"] and {kind}: [ids...] are mutually exclusive."),
            ));
        }
        if listed > 100 {
            return Err(invalid(
                "allowed_mentions",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 100 or fewer in length.",
            ));
        }
    }
    Ok(())
}

fn check_duration(body: &Value) -> Result<Option<u64>, Refusal> {
    match body.get("auto_archive_duration") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(d) if ARCHIVE_DURATIONS.contains(&d) => Ok(Some(d)),
            _ => Err(invalid(
                "auto_archive_duration",
                "BASE_TYPE_CHOICES",
                "Value must be one of {60, 1440, 4320, 10080}.",
            )),
        },
    }
}

/// The application in a route is the bot's.
fn our_app(app: &str) -> Result<(), Refusal> {
    if app == APP.to_string() {
        Ok(())
    } else {
        Err(refuse(403, "Missing Access", 50001))
    }
}

fn answer(shared: &Shared, state: &mut FakeState, r: &Request) -> Answer {
    let parts: Vec<&str> = r.path.trim_matches('/').split('/').collect();
    let body = r.body;
    match (r.method, parts.as_slice()) {
        ("GET", ["gateway"]) => Ok(ok(json!({"url": shared.ws_url.lock().unwrap().clone()}))),
        ("GET", ["users", "@me"]) => Ok(ok(super::checked::<serenity::model::user::CurrentUser>(
            "current user",
            super::world::user_json("releasebot", BOT),
        ))),
        ("GET", ["users", "@me", "guilds"]) => Ok(ok(state.world.guilds_json())),
        ("GET", ["oauth2", "applications", "@me"] | ["applications", "@me"]) => {
            Ok(ok(state.world.application_json()))
        }
        ("GET" | "PUT" | "POST" | "DELETE", ["applications", app, rest @ ..]) => {
            our_app(app)?;
            commands(shared, state, r.method, rest, body)
        }
        ("POST", ["interactions", _, token, "callback"]) => {
            // An answer given at once (type 4), rather than deferred then edited.
            if body["type"] == 4 {
                let content = body["data"]["content"].as_str().unwrap_or("").to_string();
                state.answers.insert(token.to_string(), content);
            }
            no_content()
        }
        ("PATCH", ["webhooks", _, token, "messages", "@original"]) => {
            let content = body["content"].as_str().unwrap_or("").to_string();
            state.answers.insert(token.to_string(), content.clone());
            let posted = Posted {
                id: shared.id(),
                channel: state
                    .interactions
                    .get(*token)
                    .copied()
                    .unwrap_or(super::CHANNEL),
                content,
                components: json!([]),
                allowed_mentions: body["allowed_mentions"].clone(),
                versions: Vec::new(),
                notified_users: Vec::new(),
                notified_roles: Vec::new(),
            };
            Ok(ok(state.world.message_json(&posted, 64)))
        }
        ("POST", ["webhooks", app, token]) => {
            our_app(app)?;
            followup(shared, state, token, body)
        }
        ("PATCH", ["webhooks", app, token, "messages", message]) => {
            our_app(app)?;
            // Only the interaction's own follow-ups, in its channel.
            let mine = number(message)
                .is_ok_and(|m| state.followups.get(&m).map(String::as_str) == Some(*token));
            if !mine {
                return Err(refuse(404, "Unknown Message", 10008));
            }
            let channel = state.interactions[*token].to_string();
            edit(state, &channel, message, body)
        }
        ("GET", ["guilds", guild]) => state
            .world
            .guild_json(number(guild)?)
            .map(ok)
            .ok_or_else(unknown_guild),
        ("GET", ["guilds", guild, "roles"]) => state
            .world
            .roles_json(number(guild)?)
            .map(ok)
            .ok_or_else(unknown_guild),
        ("GET", ["guilds", guild, "members", user]) => {
            let guild = number(guild)?;
            if !state.world.guilds.contains_key(&guild) {
                return Err(unknown_guild());
            }
            // (`/guilds/{g}/members/@me` is only for PATCH: the bot asks by its id.)
            let user = number(user)?;
            match state.world.members_of(guild).iter().find(|m| m.1 == user) {
                Some((name, _, _)) => Ok(ok(state.world.member_json(guild, name))),
                None => Err(refuse(404, "Unknown Member", 10007)),
            }
        }
        ("GET", ["channels", channel]) => {
            let channel = channel_of(&state.world, channel)?;
            allowed(&state.world, channel, Permissions::VIEW_CHANNEL)?;
            Ok(ok(state.world.channel_json(channel).unwrap_or_default()))
        }
        ("PATCH", ["channels", channel]) => edit_thread(state, channel, body),
        ("POST", ["channels", channel, "messages"]) => post(shared, state, channel, body),
        ("GET", ["channels", channel, "messages", message]) => {
            let (channel, posted) = message_in(state, channel, message)?;
            allowed(&state.world, channel, Permissions::READ_MESSAGE_HISTORY)?;
            Ok(ok(state.world.message_json(&posted, 0)))
        }
        ("PATCH", ["channels", channel, "messages", message]) => {
            edit(state, channel, message, body)
        }
        ("DELETE", ["channels", channel, "messages", message]) => {
            let (_, posted) = message_in(state, channel, message)?;
            state.messages.remove(&posted.id);
            state.world.reactions.remove(&posted.id);
            no_content()
        }
        ("POST", ["channels", channel, "messages", message, "threads"]) => {
            start_thread(state, channel, message, body)
        }
        ("GET", ["channels", channel, "messages", message, "reactions", emoji]) => {
            let (channel, posted) = message_in(state, channel, message)?;
            allowed(&state.world, channel, Permissions::READ_MESSAGE_HISTORY)?;
            reactors(&state.world, posted.id, emoji, r.query)
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
            let (channel, posted) = message_in(state, channel, message)?;
            not_archived(&state.world, channel)?;
            let new_emoji = !state
                .world
                .reactions
                .get(&posted.id)
                .is_some_and(|all| all.iter().any(|(e, _)| e == emoji));
            let wanted = if new_emoji {
                Permissions::READ_MESSAGE_HISTORY | Permissions::ADD_REACTIONS
            } else {
                Permissions::READ_MESSAGE_HISTORY
            };
            allowed(&state.world, channel, wanted)?;
            // Discord tells the bot of its own reactions, which it must ignore.
            if state.world.set_reaction(posted.id, emoji, BOT, true) {
                react_event(shared, &state.world, BOT, channel, posted.id, emoji, true);
            }
            no_content()
        }
        (
            "DELETE",
            [
                "channels",
                channel,
                "messages",
                message,
                "reactions",
                emoji,
                user,
            ],
        ) => {
            let (channel, posted) = message_in(state, channel, message)?;
            let user = if *user == "@me" {
                BOT
            } else {
                // Removing someone else's reaction needs Manage Messages, which the
                // documented permissions leave out.
                allowed(&state.world, channel, Permissions::MANAGE_MESSAGES)?;
                number(user)?
            };
            not_archived(&state.world, channel)?;
            if state.world.set_reaction(posted.id, emoji, user, false) {
                react_event(shared, &state.world, user, channel, posted.id, emoji, false);
            }
            no_content()
        }
        ("PUT", ["channels", channel, "thread-members", user]) => {
            add_thread_member(state, channel, user)
        }
        _ => Err(refuse(404, "404: Not Found", 0)),
    }
}

fn unknown_guild() -> Refusal {
    refuse(404, "Unknown Guild", 10004)
}

/// `/applications/{app}/…commands…`: what is registered, globally or in a guild.
fn commands(
    shared: &Shared,
    state: &mut FakeState,
    method: &str,
    rest: &[&str],
    body: &Value,
) -> Answer {
    let (guild, rest) = match rest {
        ["guilds", guild, rest @ ..] => {
            let guild = number(guild)?;
            // Only where the application was installed.
            if !state.world.guilds.contains_key(&guild) {
                return Err(refuse(403, "Missing Access", 50001));
            }
            (Some(guild), rest)
        }
        rest => (None, rest),
    };
    let world = &mut state.world;
    match (method, rest) {
        ("GET", ["commands"]) => Ok(ok(json!(world.commands(guild)))),
        ("PUT", ["commands"]) => {
            let wanted = body.as_array().cloned().unwrap_or_default();
            world.register(guild, &wanted, || shared.id());
            Ok(ok(json!(world.commands(guild))))
        }
        ("POST", ["commands"]) => {
            let mut all = world.commands(guild);
            all.retain(|c| c["name"] != body["name"]);
            all.push(body.clone());
            world.register(guild, &all, || shared.id());
            let made = world
                .commands(guild)
                .into_iter()
                .find(|c| c["name"] == body["name"]);
            Ok(ok(made.unwrap_or_default()))
        }
        ("DELETE", ["commands", id]) => {
            let mut all = world.commands(guild);
            let before = all.len();
            all.retain(|c| c["id"] != json!(id));
            if all.len() == before {
                return Err(refuse(404, "Unknown application command", 10063));
            }
            world.commands.insert(guild.unwrap_or(0), all);
            no_content()
        }
        _ => Err(refuse(404, "404: Not Found", 0)),
    }
}

fn post(shared: &Shared, state: &mut FakeState, channel: &str, body: &Value) -> Answer {
    let posted = post_message(shared, state, channel, body)?;
    Ok(ok(state.world.message_json(&posted, 0)))
}

/// Posts a message as the bot, as Discord checks it.
fn post_message(
    shared: &Shared,
    state: &mut FakeState,
    channel: &str,
    body: &Value,
) -> Result<Posted, Refusal> {
    let channel = channel_of(&state.world, channel)?;
    let content = body["content"].as_str().unwrap_or("").to_string();
    check_content(&content)?;
    let allowed_mentions = body.get("allowed_mentions").cloned().unwrap_or(Value::Null);
    check_allowed_mentions(&allowed_mentions)?;
    let thread = state.world.thread(channel).cloned();
    let wanted = match &thread {
        Some(t) => {
            // Sending into an archived thread reopens it, unless it is locked and the
            // bot may not manage threads.
            if t.archived && t.locked && !state.world.manages_threads(t) {
                return Err(archived());
            }
            Permissions::SEND_MESSAGES_IN_THREADS
        }
        None => Permissions::SEND_MESSAGES,
    };
    allowed(&state.world, channel, wanted)?;
    if let Some(t) = state.world.thread_mut(channel) {
        t.archived = false;
    }
    let (notified_users, notified_roles) =
        state.world.notified(channel, &content, &allowed_mentions);
    let posted = Posted {
        id: shared.id(),
        channel,
        content: content.clone(),
        components: body.get("components").cloned().unwrap_or(json!([])),
        allowed_mentions,
        versions: vec![content],
        notified_users,
        notified_roles,
    };
    state.messages.insert(posted.id, posted.clone());
    Ok(posted)
}

/// A follow-up of an interaction: a message in its channel, posted as the bot. Before
/// the deferred answer is in place, Discord makes the first follow-up that answer
/// instead (ephemeral, and no message of the channel).
fn followup(shared: &Shared, state: &mut FakeState, token: &str, body: &Value) -> Answer {
    let Some(channel) = state.interactions.get(token).copied() else {
        return Err(refuse(404, "Unknown Webhook", 10015));
    };
    if !state.answers.contains_key(token) {
        let content = body["content"].as_str().unwrap_or("").to_string();
        state.answers.insert(token.to_string(), content.clone());
        let answer = Posted {
            id: shared.id(),
            channel,
            content: content.clone(),
            components: json!([]),
            allowed_mentions: Value::Null,
            versions: vec![content],
            notified_users: Vec::new(),
            notified_roles: Vec::new(),
        };
        return Ok(ok(state.world.message_json(&answer, 64)));
    }
    let posted = post_message(shared, state, &channel.to_string(), body)?;
    state.followups.insert(posted.id, token.to_string());
    Ok(ok(state.world.message_json(&posted, 0)))
}

fn edit(state: &mut FakeState, channel: &str, message: &str, body: &Value) -> Answer {
    let (channel, _) = message_in(state, channel, message)?;
    if let Some(t) = state.world.thread(channel) {
        if t.archived {
            return Err(archived());
        }
        if t.locked && !state.world.manages_threads(t) {
            return Err(missing_permissions());
        }
    }
    let allowed_mentions = body.get("allowed_mentions").cloned().unwrap_or(Value::Null);
    check_allowed_mentions(&allowed_mentions)?;
    if let Some(content) = body["content"].as_str() {
        check_content(content)?;
    }
    let Some(posted) = number(message)
        .ok()
        .and_then(|m| state.messages.get_mut(&m))
    else {
        return Err(refuse(404, "Unknown Message", 10008));
    };
    if let Some(content) = body["content"].as_str() {
        posted.content = content.to_string();
        posted.versions.push(content.to_string());
    }
    if let Some(components) = body.get("components") {
        posted.components = components.clone();
    }
    // An edit never notifies anyone: what it would have notified stays as it was.
    posted.allowed_mentions = allowed_mentions;
    let posted = posted.clone();
    Ok(ok(state.world.message_json(&posted, 0)))
}

fn start_thread(state: &mut FakeState, channel: &str, message: &str, body: &Value) -> Answer {
    let (channel, posted) = message_in(state, channel, message)?;
    let guild = match state.world.channels.get(&channel) {
        Some(Channel::Text { guild, .. }) => *guild,
        _ => {
            return Err(refuse(
                400,
                "Cannot execute action on this channel type",
                50024,
            ));
        }
    };
    let name = body["name"].as_str().unwrap_or("");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid(
            "name",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    let duration = check_duration(body)?;
    allowed(&state.world, channel, Permissions::CREATE_PUBLIC_THREADS)?;
    // A thread started from a message has the message's id: one per message.
    if state.world.channels.contains_key(&posted.id) {
        return Err(refuse(
            400,
            "A thread has already been created for this message",
            160004,
        ));
    }
    let thread = ThreadState {
        guild,
        parent: channel,
        name: name.to_string(),
        owner: BOT,
        archived: false,
        locked: false,
        auto_archive_duration: duration.unwrap_or(1440),
        members: vec![BOT],
    };
    let json = thread_json(posted.id, &thread);
    state
        .world
        .channels
        .insert(posted.id, Channel::Thread(thread));
    Ok(ok(json))
}

/// `PATCH /channels/{thread}`: reopen, archive, lock, rename or change the archive time,
/// as the thread's creator or with Manage Threads.
fn edit_thread(state: &mut FakeState, channel: &str, body: &Value) -> Answer {
    let channel = channel_of(&state.world, channel)?;
    let Some(t) = state.world.thread(channel).cloned() else {
        allowed(&state.world, channel, Permissions::MANAGE_CHANNELS)?;
        return Ok(ok(state.world.channel_json(channel).unwrap_or_default()));
    };
    allowed(&state.world, channel, Permissions::VIEW_CHANNEL)?;
    let manage = state.world.manages_threads(&t);
    let duration = check_duration(body)?;
    let archived_to = body["archived"].as_bool();
    let locked_to = body["locked"].as_bool();
    if locked_to.is_some() && !manage {
        return Err(missing_permissions());
    }
    if t.archived && archived_to != Some(false) {
        return Err(archived());
    }
    if archived_to == Some(false) && t.archived && t.locked && !manage {
        return Err(missing_permissions());
    }
    let changes_more = body.get("name").is_some() || duration.is_some() || archived_to.is_some();
    if changes_more && t.owner != BOT && !manage {
        return Err(missing_permissions());
    }
    let Some(thread) = state.world.thread_mut(channel) else {
        return Err(refuse(404, "Unknown Channel", 10003));
    };
    if let Some(name) = body["name"].as_str() {
        thread.name = name.to_string();
    }
    if let Some(d) = duration {
        thread.auto_archive_duration = d;
    }
    if let Some(a) = archived_to {
        thread.archived = a;
    }
    if let Some(l) = locked_to {
        thread.locked = l;
    }
    Ok(ok(thread_json(channel, thread)))
}

fn add_thread_member(state: &mut FakeState, channel: &str, user: &str) -> Answer {
    let channel = channel_of(&state.world, channel)?;
    let Some(t) = state.world.thread(channel) else {
        return Err(refuse(
            400,
            "Cannot execute action on this channel type",
            50024,
        ));
    };
    let user = if user == "@me" { BOT } else { number(user)? };
    if super::world::user_name(user).is_none() {
        return Err(refuse(404, "Unknown User", 10013));
    }
    if !state.world.members_of(t.guild).iter().any(|m| m.1 == user) {
        return Err(refuse(404, "Unknown Member", 10007));
    }
    if t.archived {
        return Err(archived());
    }
    allowed(&state.world, channel, Permissions::SEND_MESSAGES_IN_THREADS)?;
    if let Some(t) = state.world.thread_mut(channel)
        && !t.members.contains(&user)
    {
        t.members.push(user);
    }
    no_content()
}

/// `GET …/reactions/{emoji}?limit=&after=`: who reacted, by ascending id, after
/// `after`, at most `limit` (1–100, 25 unless asked).
fn reactors(world: &World, message: u64, emoji: &str, query: &HashMap<String, String>) -> Answer {
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 25,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        Some(_) => {
            return Err(invalid(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 100.",
            ));
        }
    };
    let after = match query.get("after").map(|a| a.parse::<u64>()) {
        None => 0,
        Some(Ok(a)) => a,
        Some(Err(_)) => {
            return Err(invalid(
                "after",
                "NUMBER_TYPE_COERCE",
                "Value is not snowflake.",
            ));
        }
    };
    let users: Vec<Value> = world
        .reactors(message, emoji)
        .into_iter()
        .filter(|id| *id > after)
        .take(limit)
        .map(super::world::user_json_by_id)
        .collect();
    Ok(ok(super::checked::<Vec<serenity::model::user::User>>(
        "users",
        json!(users),
    )))
}

/// Serves TLS as `discord.com` with a self-signed certificate, passing the bytes on to
/// the plain server.
pub(super) async fn tls_front(plain: SocketAddr) -> SocketAddr {
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
