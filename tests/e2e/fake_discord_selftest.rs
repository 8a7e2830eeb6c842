//! The fake Discord of `fake_discord/` on its own, without the bot: its REST routes
//! called with reqwest (and with serenity's `Http`, decoding into serenity's types, as
//! the bot will), and its gateway driven by a bare WebSocket client. These pin what the
//! fake does where a real server is less kind than a test would like.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use serenity::all::{
    ApplicationId, Channel, ChannelId, CommandInteraction, EditThread, GuildId, Http, HttpBuilder,
    Interaction, InteractionContext, MessageId, Permissions, Reaction, ReactionType, RoleId,
    UserId,
};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::fake_discord::{
    ADMIN, APP, BOT, BOT_ROLE, CHANNEL, FakeDiscord, GUILD, HOME, LEAD, OTHER, OTHER_ADMIN,
    OTHER_CHANNEL, OTHER_GUILD, OTHER_LEAD, Place, TOKEN, default_bot_permissions, dm_channel,
};

/// Plain REST calls: (status, JSON body or `Null`).
struct Rest {
    client: reqwest::Client,
    root: String,
}

impl Rest {
    fn new(fake: &FakeDiscord) -> Rest {
        Rest {
            client: reqwest::Client::new(),
            root: fake.rest_url(),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.root))
            .header("Authorization", format!("Bot {TOKEN}"));
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the fake answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    /// Posts a message as the bot; its id.
    async fn post_message(&self, channel: u64, body: Value) -> u64 {
        let (status, message) = self
            .call("POST", &format!("/channels/{channel}/messages"), Some(body))
            .await;
        assert_eq!(status, 200, "{message}");
        message["id"].as_str().unwrap().parse().unwrap()
    }

    async fn say(&self, channel: u64, content: &str) -> u64 {
        self.post_message(channel, json!({"content": content}))
            .await
    }

    /// A thread started from a new message in #releases; its id.
    async fn thread(&self) -> u64 {
        let start = self.say(CHANNEL, "🚀 #1 build web@master").await;
        let (status, thread) = self
            .call(
                "POST",
                &format!("/channels/{CHANNEL}/messages/{start}/threads"),
                Some(json!({"name": "#1 web@master", "auto_archive_duration": 1440})),
            )
            .await;
        assert_eq!(status, 200, "{thread}");
        start
    }
}

/// The error code of a Discord error body.
fn code(body: &Value) -> u64 {
    body["code"].as_u64().unwrap_or_default()
}

/// serenity's own client, pointed at the fake as the bot's is.
fn plain_http(fake: &FakeDiscord) -> Http {
    let proxy = fake.settings().proxy.expect("the plain fake is a proxy");
    HttpBuilder::new(TOKEN)
        .proxy(proxy)
        .ratelimiter_disabled(true)
        .application_id(ApplicationId::new(APP))
        .build()
}

fn serenity_http(fake: &FakeDiscord) -> Arc<Http> {
    Arc::new(plain_http(fake))
}

fn check() -> ReactionType {
    ReactionType::Unicode("✅".into())
}

/// A bare gateway client.
struct Session {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Session {
    /// Connects and reads HELLO.
    async fn connect(fake: &FakeDiscord) -> Session {
        let (_, gateway) = Rest::new(fake).get("/gateway").await;
        let url = format!("{}?v=10", gateway["url"].as_str().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut session = Session { ws };
        let hello = session.frame().await;
        assert_eq!(hello["op"], 10, "{hello}");
        session
    }

    async fn try_frame(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let next = tokio::time::timeout(wait, self.ws.next()).await.ok()??;
            if let Ok(WsMessage::Text(text)) = next {
                return serde_json::from_str(text.as_str()).ok();
            }
        }
    }

    async fn frame(&mut self) -> Value {
        self.try_frame(Duration::from_secs(5))
            .await
            .expect("a gateway frame")
    }

    async fn send(&mut self, frame: Value) {
        self.ws
            .send(WsMessage::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// IDENTIFY; READY's `d`.
    async fn identify(&mut self) -> Value {
        self.send(json!({"op": 2, "d": {"token": TOKEN, "intents": 1 << 10,
                                        "properties": {"os": "linux", "browser": "t", "device": "t"}}}))
            .await;
        let ready = self.frame().await;
        assert_eq!(ready["t"], "READY", "{ready}");
        ready["d"].clone()
    }

    async fn resume(&mut self, session: &str) -> Value {
        self.send(json!({"op": 6, "d": {"token": TOKEN, "session_id": session, "seq": 0}}))
            .await;
        self.frame().await
    }

    /// The next dispatch: (`t`, `d`).
    async fn dispatch(&mut self) -> (String, Value) {
        let event = self.frame().await;
        assert_eq!(event["op"], 0, "{event}");
        (event["t"].as_str().unwrap().to_string(), event["d"].clone())
    }

    /// No dispatch arrives for a while.
    async fn quiet(&mut self) {
        if let Some(event) = self.try_frame(Duration::from_millis(300)).await {
            panic!("nothing was due, yet: {event}");
        }
    }

    async fn close(mut self, fake: &FakeDiscord) {
        let _ = self.ws.close(None).await;
        fake.wait_disconnected().await;
    }
}

async fn interaction(session: &mut Session) -> CommandInteraction {
    let (t, d) = session.dispatch().await;
    assert_eq!(t, "INTERACTION_CREATE");
    match serde_json::from_value::<Interaction>(d).unwrap() {
        Interaction::Command(c) | Interaction::Autocomplete(c) => c,
        other => panic!("not a command: {other:?}"),
    }
}

async fn reaction(session: &mut Session) -> (String, Reaction) {
    let (t, d) = session.dispatch().await;
    (t, serde_json::from_value(d).unwrap())
}

#[tokio::test]
async fn people_of_another_server_and_in_dms_run_commands_press_and_react() {
    let fake = FakeDiscord::start().await;
    let rest = Rest::new(&fake);
    let http = serenity_http(&fake);
    fake.seed_commands(Some(GUILD), &["build"]);
    fake.seed_commands(None, &["status"]);
    let mut session = Session::connect(&fake).await;
    let ready = session.identify().await;
    assert_eq!(
        ready["guilds"],
        json!([{"id": GUILD.to_string(), "unavailable": true},
               {"id": OTHER_GUILD.to_string(), "unavailable": true}])
    );

    // A global command in the other server: its guild, its member, its roles.
    fake.command_in(OTHER, "mallory", "status", &[("job", json!(1))]);
    let status = interaction(&mut session).await;
    assert_eq!(status.guild_id, Some(GuildId::new(OTHER_GUILD)));
    assert_eq!(status.channel_id, ChannelId::new(OTHER_CHANNEL));
    assert_eq!(status.user.name, "mallory");
    let member = status.member.as_ref().expect("a member");
    assert_eq!(member.roles, [RoleId::new(OTHER_LEAD)]);
    assert_eq!(
        status.data.id,
        fake.commands(None)[0]["id"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    );
    assert_eq!(status.app_permissions, Some(default_bot_permissions()));
    // bob is a lead at home, nothing there.
    fake.command_in(OTHER, "bob", "status", &[]);
    let bob = interaction(&mut session).await;
    assert!(bob.member.unwrap().roles.is_empty());
    fake.command("bob", "build", &[("project", json!("web"))]);
    let home = interaction(&mut session).await;
    assert_eq!(home.guild_id, Some(GuildId::new(GUILD)));
    assert_eq!(home.member.unwrap().roles, [RoleId::new(LEAD)]);

    // A DM: no guild, a user and no member.
    fake.command_in(Place::Dm, "alice", "status", &[]);
    let dm = interaction(&mut session).await;
    assert_eq!(dm.guild_id, None);
    assert!(dm.member.is_none());
    assert_eq!(dm.user.name, "alice");
    assert_eq!(dm.channel_id, ChannelId::new(dm_channel("alice")));
    assert_eq!(dm.context, Some(InteractionContext::BotDm));

    // A button and a reaction on a message in the other server.
    let old = rest
        .post_message(
            OTHER_CHANNEL,
            json!({"content": "approve?", "components": [{"type": 1, "components": [
                {"type": 2, "style": 3, "label": "Approve", "custom_id": "approve:1"}]}]}),
        )
        .await;
    for _ in 0..3 {
        rest.say(OTHER_CHANNEL, "later").await;
    }
    fake.press("mallory", old, "approve:1");
    let (t, d) = session.dispatch().await;
    assert_eq!(t, "INTERACTION_CREATE");
    let Interaction::Component(press) = serde_json::from_value::<Interaction>(d).unwrap() else {
        panic!("not a button press");
    };
    assert_eq!(press.guild_id, Some(GuildId::new(OTHER_GUILD)));
    assert_eq!(press.message.id, MessageId::new(old));
    assert_eq!(press.member.unwrap().roles, [RoleId::new(OTHER_LEAD)]);
    fake.react("trent", old, "✅", true);
    let (t, added) = reaction(&mut session).await;
    assert_eq!(t, "MESSAGE_REACTION_ADD");
    assert_eq!(added.guild_id, Some(GuildId::new(OTHER_GUILD)));
    assert_eq!(added.member.unwrap().roles, [RoleId::new(OTHER_ADMIN)]);

    // Its roles and members over REST.
    let roles = http
        .get_guild_roles(GuildId::new(OTHER_GUILD))
        .await
        .unwrap();
    let named = |name: &str| roles.iter().find(|r| r.name == name).map(|r| r.id.get());
    assert_eq!(named("lead"), Some(OTHER_LEAD));
    assert_eq!(named("admin"), Some(OTHER_ADMIN));
    assert_eq!(named("@everyone"), Some(OTHER_GUILD));
    let mallory = http
        .get_member(GuildId::new(OTHER_GUILD), UserId::new(11))
        .await
        .unwrap();
    assert_eq!(mallory.roles, [RoleId::new(OTHER_LEAD)]);
    let (status, body) = rest.get(&format!("/guilds/{OTHER_GUILD}/members/1")).await;
    assert_eq!((status, code(&body)), (404, 10007), "alice is not there");
    let guild = http.get_guild(GuildId::new(OTHER_GUILD)).await.unwrap();
    assert_eq!(guild.name, "Elsewhere");
    let home_roles = http.get_guild_roles(GuildId::new(GUILD)).await.unwrap();
    assert!(
        home_roles
            .iter()
            .any(|r| r.id.get() == ADMIN && r.name == "admin")
    );
    let (status, body) = rest.get("/guilds/999/roles").await;
    assert_eq!((status, code(&body)), (404, 10004));
}

#[tokio::test]
#[should_panic(expected = "mallory is not a member of guild 800")]
async fn a_stranger_cannot_act_in_a_server() {
    let fake = FakeDiscord::start().await;
    fake.seed_commands(None, &["status"]);
    fake.command_in(HOME, "mallory", "status", &[]);
}

#[tokio::test]
#[should_panic(expected = "cannot run /build")]
async fn a_guild_command_is_not_offered_in_a_dm() {
    let fake = FakeDiscord::start().await;
    fake.seed_commands(Some(GUILD), &["build"]);
    fake.command_in(Place::Dm, "alice", "build", &[]);
}

#[tokio::test]
async fn reactions_stay_on_the_message_and_are_listed_by_page() {
    let fake = FakeDiscord::start().await;
    let rest = Rest::new(&fake);
    let http = serenity_http(&fake);
    let message = rest.say(CHANNEL, "vote").await;
    let (channel, id) = (ChannelId::new(CHANNEL), MessageId::new(message));
    channel.create_reaction(&*http, id, check()).await.unwrap();
    for who in ["erin", "alice", "dave", "carol", "bob"] {
        fake.react(who, message, "✅", true);
    }
    fake.react("carol", message, "❌", true);
    assert_eq!(fake.reactions(message, "✅"), [1, 2, 3, 4, 5, BOT]);

    // Pages by ascending user id, `after` the last one seen.
    let page = |limit: u8, after: Option<u64>| {
        let http = http.clone();
        async move {
            let users = http
                .get_reaction_users(channel, id, &check(), limit, after)
                .await
                .unwrap();
            users.iter().map(|u| u.id.get()).collect::<Vec<u64>>()
        }
    };
    assert_eq!(page(2, None).await, [1, 2]);
    assert_eq!(page(2, Some(2)).await, [3, 4]);
    assert_eq!(page(100, Some(4)).await, [5, BOT]);
    let path = format!("/channels/{CHANNEL}/messages/{message}/reactions/%E2%9C%85");
    let (status, all) = rest.get(&path).await;
    assert_eq!(status, 200);
    assert_eq!(all.as_array().unwrap().len(), 6, "25 by default");
    assert_eq!(all[0]["username"], "alice");
    let (status, body) = rest.get(&format!("{path}?limit=101")).await;
    assert_eq!((status, code(&body)), (400, 50035));

    // Someone else's needs Manage Messages; the bot's own does not.
    let (status, body) = rest.call("DELETE", &format!("{path}/4"), None).await;
    assert_eq!((status, code(&body)), (403, 50013));
    fake.set_bot_permissions(
        CHANNEL,
        default_bot_permissions() | Permissions::MANAGE_MESSAGES,
    );
    channel
        .delete_reaction(&*http, id, Some(UserId::new(4)), check())
        .await
        .unwrap();
    channel
        .delete_reaction(&*http, id, None, check())
        .await
        .unwrap();
    assert_eq!(fake.reactions(message, "✅"), [1, 2, 3, 5]);
    fake.react("alice", message, "✅", false);
    let read = channel.message(&*http, id).await.unwrap();
    let counts: Vec<(u64, bool)> = read.reactions.iter().map(|r| (r.count, r.me)).collect();
    assert_eq!(counts, [(3, false), (1, false)]);
}

#[tokio::test]
async fn a_new_session_hears_nothing_of_the_old_one_and_a_resumed_one_everything() {
    let fake = FakeDiscord::start().await;
    let rest = Rest::new(&fake);
    let message = rest.say(CHANNEL, "vote").await;

    let mut first = Session::connect(&fake).await;
    let ready = first.identify().await;
    let session_id = ready["session_id"].as_str().unwrap().to_string();
    assert!(fake.connected());
    fake.react("alice", message, "✅", true);
    let (_, seen) = reaction(&mut first).await;
    assert_eq!(seen.user_id, Some(UserId::new(1)));
    first.close(&fake).await;

    // While it is away, bob reacts: a RESUME gets it.
    fake.react("bob", message, "✅", true);
    let mut resumed = Session::connect(&fake).await;
    assert_eq!(resumed.resume(&session_id).await["t"], "RESUMED");
    let (_, seen) = reaction(&mut resumed).await;
    assert_eq!(seen.user_id, Some(UserId::new(2)));
    resumed.close(&fake).await;

    // carol reacts while it is away, dave while it is down: a new session hears
    // neither, though both reactions are on the message.
    fake.react("carol", message, "✅", true);
    fake.react_offline("dave", message, "✅", true).await;
    let mut fresh = Session::connect(&fake).await;
    let ready = fresh.identify().await;
    assert_ne!(ready["session_id"], json!(session_id));
    fresh.quiet().await;
    assert_eq!(fake.reactions(message, "✅"), [1, 2, 3, 4]);
    fake.react("erin", message, "✅", true);
    let (_, seen) = reaction(&mut fresh).await;
    assert_eq!(seen.user_id, Some(UserId::new(5)));

    // The old session is gone for good; an invalidated one too.
    let mut stale = Session::connect(&fake).await;
    assert_eq!(
        stale.resume(&session_id).await,
        json!({"op": 9, "d": false})
    );
    fake.invalidate_session();
    assert_eq!(fresh.frame().await, json!({"op": 9, "d": false}));
    fake.react("erin", message, "✅", false);
    let mut again = Session::connect(&fake).await;
    again.identify().await;
    again.quiet().await;
    assert_eq!(fake.gateway_counts(), (5, 3, 1));
}

#[tokio::test]
async fn archived_threads_refuse_edits_and_reactions_until_reopened() {
    let fake = FakeDiscord::start().await;
    let rest = Rest::new(&fake);
    let http = serenity_http(&fake);

    // Only Discord's durations, recorded as asked; one thread per message.
    let start = rest.say(CHANNEL, "🚀 #1").await;
    let threads = format!("/channels/{CHANNEL}/messages/{start}/threads");
    let (status, body) = rest
        .call(
            "POST",
            &threads,
            Some(json!({"name": "#1", "auto_archive_duration": 30})),
        )
        .await;
    assert_eq!((status, code(&body)), (400, 50035), "{body}");
    let (status, _) = rest
        .call(
            "POST",
            &threads,
            Some(json!({"name": "#1", "auto_archive_duration": 4320})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(fake.thread(start).auto_archive_duration, 4320);
    let (status, body) = rest
        .call("POST", &threads, Some(json!({"name": "#1"})))
        .await;
    assert_eq!((status, code(&body)), (400, 160004));
    let thread = start;

    let progress = rest.say(thread, "🔨 #1").await;
    let edit = format!("/channels/{thread}/messages/{progress}");
    let react = format!("{edit}/reactions/%E2%9C%85/@me");
    fake.archive_thread(thread);
    let (status, body) = rest
        .call("PATCH", &edit, Some(json!({"content": "🔨 #1 · more"})))
        .await;
    assert_eq!(
        (status, body),
        (400, json!({"message": "Thread is archived", "code": 50083}))
    );
    let (status, body) = rest.call("PUT", &react, None).await;
    assert_eq!((status, code(&body)), (400, 50083));
    let Channel::Guild(seen) = http.get_channel(ChannelId::new(thread)).await.unwrap() else {
        panic!("a thread is a guild channel");
    };
    let metadata = seen.thread_metadata.unwrap();
    assert!(metadata.archived && !metadata.locked);
    assert_eq!(seen.parent_id, Some(ChannelId::new(CHANNEL)));

    // Posting reopens an archived, unlocked thread; so does the bot as its creator.
    rest.say(thread, "still here").await;
    assert!(!fake.thread(thread).archived);
    fake.archive_thread(thread);
    let reopened = ChannelId::new(thread)
        .edit_thread(&*http, EditThread::new().archived(false))
        .await
        .unwrap();
    assert!(!reopened.thread_metadata.unwrap().archived);
    let (status, _) = rest.call("PUT", &react, None).await;
    assert_eq!(status, 204);

    // Locked: no posts or edits, reactions still; locked and archived: closed.
    fake.lock_thread(thread);
    let (status, body) = rest
        .call(
            "POST",
            &format!("/channels/{thread}/messages"),
            Some(json!({"content": "x"})),
        )
        .await;
    assert_eq!((status, code(&body)), (403, 50013));
    let (status, body) = rest
        .call("PATCH", &edit, Some(json!({"content": "y"})))
        .await;
    assert_eq!((status, code(&body)), (403, 50013));
    assert!(
        !fake
            .bot_permissions(thread)
            .contains(Permissions::SEND_MESSAGES_IN_THREADS)
    );
    let (status, _) = rest.call("DELETE", &react, None).await;
    assert_eq!(status, 204);
    fake.archive_thread(thread);
    let (status, body) = rest
        .call(
            "POST",
            &format!("/channels/{thread}/messages"),
            Some(json!({"content": "x"})),
        )
        .await;
    assert_eq!((status, code(&body)), (400, 50083));
    let (status, body) = rest
        .call(
            "PATCH",
            &format!("/channels/{thread}"),
            Some(json!({"archived": false})),
        )
        .await;
    assert_eq!((status, code(&body)), (403, 50013));

    // Manage Threads opens it.
    fake.set_bot_permissions(
        CHANNEL,
        default_bot_permissions() | Permissions::MANAGE_THREADS,
    );
    let (status, body) = rest
        .call(
            "PATCH",
            &format!("/channels/{thread}"),
            Some(json!({"archived": false})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["thread_metadata"]["locked"], true);
    rest.say(thread, "moderated").await;
}

#[tokio::test]
async fn people_added_to_a_thread_are_recorded() {
    let fake = FakeDiscord::start().await;
    let rest = Rest::new(&fake);
    let http = serenity_http(&fake);
    let thread = rest.thread().await;
    ChannelId::new(thread)
        .add_thread_member(&*http, UserId::new(2))
        .await
        .unwrap();
    let path = |user: u64| format!("/channels/{thread}/thread-members/{user}");
    assert_eq!(rest.call("PUT", &path(3), None).await.0, 204);
    assert_eq!(
        rest.call("PUT", &path(2), None).await.0,
        204,
        "twice is fine"
    );
    assert_eq!(fake.thread_members(thread), [BOT, 2, 3]);
    let (status, body) = rest.call("PUT", &path(11), None).await;
    assert_eq!(
        (status, code(&body)),
        (404, 10007),
        "mallory is not in this server"
    );
    let (status, body) = rest
        .call(
            "PUT",
            &format!("/channels/{CHANNEL}/thread-members/2"),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (400, 50024));
    fake.archive_thread(thread);
    let (status, body) = rest.call("PUT", &path(4), None).await;
    assert_eq!((status, code(&body)), (400, 50083));
}

#[tokio::test]
async fn only_allowed_mentions_ring_and_edits_never_do() {
    let fake = FakeDiscord::start().await;
    let rest = Rest::new(&fake);
    let post = |content: &str, allowed: Option<Value>| {
        let mut body = json!({"content": content});
        if let Some(allowed) = allowed {
            body["allowed_mentions"] = allowed;
        }
        rest.post_message(CHANNEL, body)
    };
    let lead = format!("<@&{LEAD}>");
    let message = post(
        &format!("<@4> {lead} <@5>"),
        Some(json!({"parse": [], "users": ["4"], "roles": [LEAD.to_string()]})),
    )
    .await;
    let posted = fake.message(message);
    assert_eq!(
        (posted.notified_users, posted.notified_roles),
        (vec![4], vec![LEAD])
    );
    assert_eq!(fake.pinged(message), ["bob", "carol", "dave", "erin"]);

    // No allowed_mentions at all: everything in the content rings.
    let all = post(&format!("<@!1> {lead}"), None).await;
    assert_eq!(fake.message(all).notified_users, [1]);
    assert_eq!(fake.message(all).notified_roles, [LEAD]);
    let none = post(&format!("<@1> {lead}"), Some(json!({"parse": []}))).await;
    assert!(fake.pinged(none).is_empty());

    // An unmentionable role rings only with Mention Everyone; another server's never.
    fake.set_mentionable(GUILD, LEAD, false);
    let (_, roles) = rest.get(&format!("/guilds/{GUILD}/roles")).await;
    let lead_role = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "lead")
        .unwrap();
    assert_eq!(lead_role["mentionable"], false);
    let quiet = post(&lead, Some(json!({"parse": ["roles"]}))).await;
    assert!(fake.message(quiet).notified_roles.is_empty());
    fake.set_bot_permissions(
        CHANNEL,
        default_bot_permissions() | Permissions::MENTION_EVERYONE,
    );
    let loud = post(
        &format!("{lead} <@&{OTHER_LEAD}>"),
        Some(json!({"parse": ["roles"]})),
    )
    .await;
    assert_eq!(fake.message(loud).notified_roles, [LEAD]);

    // An edit adds nobody; parse and a list of the same kind are refused.
    let (status, _) = rest
        .call(
            "PATCH",
            &format!("/channels/{CHANNEL}/messages/{none}"),
            Some(json!({"content": "<@2>", "allowed_mentions": {"parse": ["users"]}})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(fake.pinged(none).is_empty());
    let (status, body) = rest
        .call(
            "POST",
            &format!("/channels/{CHANNEL}/messages"),
            Some(json!({"content": "<@2>", "allowed_mentions": {"parse": ["users"], "users": ["2"]}})),
        )
        .await;
    assert_eq!((status, code(&body)), (400, 50035));
}

#[tokio::test]
async fn the_application_and_the_bots_permissions_per_channel() {
    let fake = FakeDiscord::start().await;
    let rest = Rest::new(&fake);
    let http = serenity_http(&fake);
    let app = http.get_current_application_info().await.unwrap();
    assert_eq!(app.id, ApplicationId::new(APP));
    assert!(app.bot_public, "a new application is public");
    fake.set_bot_public(false);
    assert!(
        !http
            .get_current_application_info()
            .await
            .unwrap()
            .bot_public
    );
    let guilds = http.get_guilds(None, None).await.unwrap();
    assert_eq!(guilds.len(), 2);

    // What an interaction says, and what serenity computes from the guild, the
    // channel and the bot's member, agree.
    let narrow = Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY;
    fake.set_bot_permissions(OTHER_CHANNEL, narrow);
    fake.seed_commands(None, &["status"]);
    let mut session = Session::connect(&fake).await;
    session.identify().await;
    fake.command_in(OTHER, "trent", "status", &[]);
    assert_eq!(
        interaction(&mut session).await.app_permissions,
        Some(narrow)
    );
    fake.command("alice", "status", &[]);
    assert_eq!(
        interaction(&mut session).await.app_permissions,
        Some(default_bot_permissions())
    );
    for (guild, channel, wanted) in [
        (OTHER_GUILD, OTHER_CHANNEL, narrow),
        (GUILD, CHANNEL, default_bot_permissions()),
    ] {
        let partial = http.get_guild(GuildId::new(guild)).await.unwrap();
        let Channel::Guild(text) = http.get_channel(ChannelId::new(channel)).await.unwrap() else {
            panic!("a guild text channel");
        };
        let me = http
            .get_member(GuildId::new(guild), UserId::new(BOT))
            .await
            .unwrap();
        assert_eq!(partial.user_permissions_in(&text, &me), wanted);
    }
    let me = http
        .get_member(GuildId::new(GUILD), UserId::new(BOT))
        .await
        .unwrap();
    assert_eq!(me.roles, [RoleId::new(BOT_ROLE)]);

    // Without Send Messages the channel refuses posts.
    let (status, body) = rest
        .call(
            "POST",
            &format!("/channels/{OTHER_CHANNEL}/messages"),
            Some(json!({"content": "hello"})),
        )
        .await;
    assert_eq!((status, code(&body)), (403, 50013));
    let (status, body) = rest.get("/channels/12345").await;
    assert_eq!((status, code(&body)), (404, 10003));
}

#[tokio::test]
async fn registered_commands_are_kept_globally_and_per_guild() {
    let fake = FakeDiscord::start().await;
    let rest = Rest::new(&fake);
    let http = serenity_http(&fake);
    fake.seed_commands(None, &["build", "deploy"]);
    let stale = http.get_global_commands().await.unwrap();
    let names: Vec<&str> = stale.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["build", "deploy"]);

    let guild = format!("/applications/{APP}/guilds/{GUILD}/commands");
    let wanted = json!([{"name": "build", "description": "Build", "options": []},
                        {"name": "status", "description": "Status", "options": []}]);
    let (status, first) = rest.call("PUT", &guild, Some(wanted.clone())).await;
    assert_eq!(status, 200);
    let (_, again) = rest.call("PUT", &guild, Some(wanted)).await;
    assert_eq!(first[0]["id"], again[0]["id"], "the same name keeps its id");
    let (status, _) = rest
        .call(
            "PUT",
            &format!("/applications/{APP}/commands"),
            Some(json!([])),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        fake.commands(None).is_empty(),
        "the stale global ones are gone"
    );
    let kept = http.get_guild_commands(GuildId::new(GUILD)).await.unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].guild_id, Some(GuildId::new(GUILD)));
    assert!(fake.commands(Some(OTHER_GUILD)).is_empty());

    let (status, body) = rest
        .call(
            "PUT",
            &format!("/applications/{APP}/guilds/999/commands"),
            Some(json!([])),
        )
        .await;
    assert_eq!((status, code(&body)), (403, 50001), "not installed there");
}

/// What serenity's own client saw: READY, RESUMED and reactions, in order.
#[derive(Default, Clone)]
struct Seen(Arc<std::sync::Mutex<Vec<String>>>);

#[serenity::async_trait]
impl serenity::all::EventHandler for Seen {
    async fn ready(&self, _: serenity::all::Context, ready: serenity::all::Ready) {
        self.0
            .lock()
            .unwrap()
            .push(format!("ready {}", ready.session_id));
    }

    async fn resume(&self, _: serenity::all::Context, _: serenity::all::ResumedEvent) {
        self.0.lock().unwrap().push("resumed".into());
    }

    async fn reaction_add(&self, _: serenity::all::Context, reaction: Reaction) {
        let who = reaction.user_id.map_or(0, |u| u.get());
        self.0.lock().unwrap().push(format!("reaction {who}"));
    }
}

impl Seen {
    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_resumes_after_a_reconnect_and_starts_over_after_an_invalid_session() {
    let fake = FakeDiscord::start().await;
    let message = Rest::new(&fake).say(CHANNEL, "vote").await;
    let seen = Seen::default();
    let intents = serenity::all::GatewayIntents::GUILD_MESSAGE_REACTIONS;
    let mut client = serenity::all::ClientBuilder::new_with_http(plain_http(&fake), intents)
        .event_handler(seen.clone())
        .await
        .unwrap();
    let shards = client.shard_manager.clone();
    let task = tokio::spawn(async move { client.start().await });
    let events = |n: usize| {
        let seen = seen.clone();
        fake.wait_for("serenity sees the events", move |_| {
            let events = seen.events();
            (events.len() >= n).then_some(events)
        })
    };
    events(1).await;

    fake.ask_to_reconnect();
    events(2).await;
    fake.react("alice", message, "✅", true);
    let seen_so_far = events(3).await;
    assert_eq!(seen_so_far[1..], ["resumed", "reaction 1"]);

    fake.invalidate_session();
    fake.react("bob", message, "✅", true);
    let all = events(4).await;
    assert!(all[3].starts_with("ready fake-session-2"), "{all:?}");
    fake.react("carol", message, "✅", true);
    let all = events(5).await;
    assert_eq!(
        all[4], "reaction 3",
        "bob's, sent to no session, never came: {all:?}"
    );
    assert_eq!(fake.reactions(message, "✅"), [1, 2, 3]);
    shards.shutdown_all().await;
    let _ = task.await;
}
