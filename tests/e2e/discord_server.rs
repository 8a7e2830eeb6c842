//! releasebot in a real Discord server: only the configured server may act, no vote is
//! lost to a restart or a new gateway session, every result lands (even in an archived
//! or locked thread) and reaches its requester, and what the bot cannot do is said
//! where the person asking sees it.

use std::sync::{Arc, Mutex};

use serde_json::json;
use serenity::all::Permissions;

use releasebot::adapters::Adapter;
use releasebot::chat::{Button, ButtonAction, ButtonStyle, Chat, Message};
use releasebot::discord::DiscordAdapter;
use releasebot::job::{ApprovalStatus, JobState, Via};
use releasebot::names::JobId;
use releasebot::store::Store;

use releasebot::config::Config;
use releasebot::sim::{Scenario, SimHandle};

use crate::cli::TempDir;
use crate::discord::{OnDiscord, on_discord, route, start_bot, start_bot_on, web_app};
use crate::fake_discord::{
    APP, CHANNEL, FakeDiscord, OTHER, OTHER_CHANNEL, OTHER_GUILD, default_bot_permissions,
};
use crate::helpers::{demo_config, spawn_sim};

/// A store on disk that a restarted bot reopens, in its own directory.
async fn store_in(dir: &TempDir) -> Arc<Store> {
    Arc::new(
        Store::open(&dir.0.join("state.db"))
            .await
            .expect("the store opens"),
    )
}

/// Stops the bot as a crash would, and waits until Discord sees it gone.
async fn kill(t: OnDiscord) -> (FakeDiscord, SimHandle) {
    let OnDiscord { fake, sim, bot, .. } = t;
    bot.halt();
    fake.wait_disconnected().await;
    (fake, sim)
}

/// Starts the bot again on `store`; returns once its new session is ready.
async fn restart(
    fake: FakeDiscord,
    sim: SimHandle,
    store: Arc<Store>,
    change: impl FnOnce(&mut Config),
) -> OnDiscord {
    let sessions = fake.gateway_counts().1;
    let bot = start_bot_on(&sim, store, fake.settings(), change, |_| {}).await;
    fake.wait_for("identify again", |f| {
        (f.gateway_counts().1 > sessions).then_some(())
    })
    .await;
    OnDiscord {
        fake,
        sim,
        bot,
        commands: Vec::new(),
    }
}

/// A new fake Discord and simulator, and the bot on them recording into `store`.
async fn on_store(store: Arc<Store>, change: impl FnOnce(&mut Config)) -> OnDiscord {
    let fake = FakeDiscord::start().await;
    let sim = spawn_sim(Scenario::demo()).await;
    let bot = start_bot_on(&sim, store, fake.settings(), change, |_| {}).await;
    let commands = fake.wait_ready().await;
    OnDiscord {
        fake,
        sim,
        bot,
        commands,
    }
}

/// alice asks to deploy `tag` to web; the thread and the approval request, once voting
/// is open.
async fn deploy_asking(t: &OnDiscord, tag: &str) -> (u64, crate::fake_discord::Posted) {
    let token = t.fake.command(
        "alice",
        "deploy",
        &[("app", json!("web")), ("version", json!(tag))],
    );
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let approval = t.approval_request(thread).await;
    (thread, approval)
}

/// Starts the bot, keeping its chat so a test can post as the bot.
pub(crate) async fn with_chat(fake: FakeDiscord) -> (OnDiscord, Arc<dyn Chat>) {
    let kept: Arc<Mutex<Option<Arc<dyn Chat>>>> = Arc::default();
    let slot = kept.clone();
    let (sim, bot) = start_bot(
        fake.settings(),
        |_| {},
        move |chat| *slot.lock().unwrap() = Some(chat),
    )
    .await;
    let commands = fake.wait_ready().await;
    let chat = kept.lock().unwrap().clone().unwrap();
    let t = OnDiscord {
        fake,
        sim,
        bot,
        commands,
    };
    (t, chat)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_server_with_roles_named_like_ours_changes_nothing() {
    let fake = FakeDiscord::start().await;
    // Commands an earlier setup registered in that server, so its members can type them.
    fake.seed_commands(Some(OTHER_GUILD), &["deploy", "approve", "cancel", "build"]);
    // And global ones, offered in every server and in DMs: the bot removes those.
    fake.seed_commands(None, &["deploy", "build"]);
    let (t, chat) = with_chat(fake).await;
    let cleared = format!("/applications/{APP}/commands");
    t.fake
        .wait_call("remove the global commands", |c| c.is("PUT", &cleared))
        .await;
    assert!(t.fake.commands(None).is_empty());
    let token = t.fake.command(
        "alice",
        "deploy",
        &[("app", json!("web")), ("version", json!("v1.2.3"))],
    );
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    t.approval_request(thread).await;
    let before = t.record(1);

    // mallory is `lead` and trent `admin` in their own server, which invited the bot.
    let refused = |text: &str| text.contains("only the servers it was set up for");
    let deploy = t.fake.command_in(
        OTHER,
        "mallory",
        "deploy",
        &[("app", json!("web")), ("version", json!("v6.6.6"))],
    );
    assert!(refused(&t.fake.answer(&deploy).await));
    let approve = t
        .fake
        .command_in(OTHER, "trent", "approve", &[("job", json!(1))]);
    assert!(refused(&t.fake.answer(&approve).await));
    // bob is a lead here, but a command from the other server is the other server's.
    let cancel = t
        .fake
        .command_in(OTHER, "bob", "cancel", &[("job", json!(1))]);
    assert!(refused(&t.fake.answer(&cancel).await));

    // An approval message left in that server (say, before the bot was made private):
    // its button and reactions there count for nothing.
    let old = chat
        .post(
            &OTHER_CHANNEL.to_string(),
            &Message {
                text: "🚀 #1 deploy web v1.2.3 · needs 1 approval from lead".into(),
                buttons: vec![Button {
                    action: ButtonAction::Approve(JobId(1)),
                    label: "Approve".into(),
                    style: ButtonStyle::Success,
                }],
                ..Message::default()
            },
        )
        .await
        .expect("the bot may post there");
    let old: u64 = old.message.parse().unwrap();
    let press = t.fake.press("mallory", old, "approve:1");
    assert!(refused(&t.fake.answer(&press).await));
    t.fake.react("trent", old, "✅", true);
    t.fake.react("mallory", old, "✅", true);

    // Something from home goes through after all of it, so all of it was handled.
    let status = t.fake.command("bob", "status", &[("job", json!(1))]);
    t.fake.answer(&status).await;
    let after = t.record(1);
    assert_eq!(after.state, JobState::AwaitingApproval);
    assert_eq!(after.approval, before.approval, "no vote counted");
    assert!(
        t.bot.engine().job_in_memory(JobId(2)).is_none(),
        "no job started"
    );
    assert!(
        t.fake.messages_in(OTHER_CHANNEL).len() == 1,
        "nothing posted there but the old message"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_given_while_the_bot_was_away_count_when_it_is_back() {
    let dir = TempDir::new("away-votes");
    let store = store_in(&dir).await;
    let three_votes = |c: &mut Config| web_app(c).policy.votes = 3;
    let t = on_store(store.clone(), three_votes).await;
    let (thread, approval) = deploy_asking(&t, "v1.2.3").await;
    // carol approves by reacting, erin with the button.
    t.fake.react("carol", approval.id, "✅", true);
    let press = t.fake.press("erin", approval.id, "approve:1");
    t.fake.answer(&press).await;
    t.wait_job(1, "count two votes", |r| {
        r.approval.as_ref().is_some_and(|a| a.votes.len() == 2)
    })
    .await;

    // The bot is killed. Meanwhile carol takes her ✅ back, dave (no role) adds one.
    let (fake, sim) = kill(t).await;
    fake.react_offline("carol", approval.id, "✅", false).await;
    fake.react_offline("dave", approval.id, "✅", true).await;
    drop(store);
    let t = restart(fake, sim, store_in(&dir).await, three_votes).await;
    t.wait_job(1, "withdraw carol's vote", |r| {
        r.approval.as_ref().is_some_and(|a| a.votes.len() == 1)
    })
    .await;
    let a = t.record(1).approval.unwrap();
    assert_eq!(
        a.votes[0].name, "erin",
        "a button vote has no reaction to lose"
    );
    assert_eq!(a.votes[0].via, Via::Button);
    // dave is told once why his ✅ changed nothing.
    t.fake
        .wait_for("tell dave his vote did not count", |f| {
            f.messages_in(thread)
                .into_iter()
                .find(|m| m.content.starts_with("<@4> your ✅ changed nothing"))
        })
        .await;

    // A new gateway session (not a resume): the events meanwhile are never sent.
    t.fake.invalidate_session();
    t.fake.react("carol", approval.id, "✅", true);
    t.fake.react("bob", approval.id, "✅", true);
    t.wait_job(1, "count the votes the new session missed", |r| {
        r.approval.as_ref().is_some_and(|a| !a.status.is_pending())
    })
    .await;
    let r = t.record(1);
    let a = r.approval.as_ref().unwrap();
    assert!(matches!(a.status, ApprovalStatus::Approved { .. }), "{a:?}");
    let mut voters: Vec<&str> = a.votes.iter().map(|v| v.name.as_str()).collect();
    voters.sort();
    assert_eq!(voters, ["bob", "carol", "erin"]);
    let dave_told = t
        .fake
        .messages_in(thread)
        .iter()
        .filter(|m| m.content.starts_with("<@4>"))
        .count();
    assert_eq!(dave_told, 1, "a refused ✅ is explained once per job");

    t.roll_out_for(1, 60).await;
    t.wait_job(1, "finish the deploy", |r| r.state.is_final())
        .await;
    assert_eq!(t.record(1).state, JobState::Succeeded);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_archived_mid_build_still_gets_the_result_and_the_requester_is_told_once() {
    let t = on_discord(FakeDiscord::start().await, |_| {}).await;
    let token = t
        .fake
        .command("alice", "build", &[("project", json!("web"))]);
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;
    assert_eq!(t.fake.thread_members(thread)[1..], [1], "alice is added");
    t.build_for(1, 10).await;
    t.fake
        .wait_message(progress.id, "show the clone done", |c| {
            c.contains("✅ Clone")
        })
        .await;
    // A moderator archives the thread while it builds.
    t.fake.archive_thread(thread);
    t.advance(200);
    let done = t
        .fake
        .wait_message(progress.id, "land the final result", |c| {
            c.contains("succeeded")
        })
        .await;
    assert!(
        done.contains("image  harbor.example.com/team/web:"),
        "{done}"
    );
    assert!(!t.fake.thread(thread).archived, "reopened by the bot");

    // One message tells alice, and only alice, that it ended.
    let notice = t
        .fake
        .wait_for("tell the requester", |f| {
            f.messages_in(thread)
                .into_iter()
                .find(|m| m.content.starts_with("<@1>"))
        })
        .await;
    assert_eq!(
        notice.allowed_mentions,
        json!({"parse": [], "users": ["1"], "roles": []})
    );
    t.bot.engine().wait_idle().await;
    let rang: Vec<Vec<String>> = t
        .fake
        .messages_in(thread)
        .iter()
        .chain(t.fake.messages_in(CHANNEL).iter())
        .map(|m| t.fake.pinged(m.id))
        .filter(|p| !p.is_empty())
        .collect();
    assert_eq!(rang, [vec!["alice".to_string()]], "one ping, at the end");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_thread_gets_its_result_in_the_channel_instead() {
    let t = on_discord(FakeDiscord::start().await, |_| {}).await;
    let token = t
        .fake
        .command("alice", "build", &[("project", json!("web"))]);
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;
    t.build_for(1, 10).await;
    t.fake
        .wait_message(progress.id, "show the clone done", |c| {
            c.contains("✅ Clone")
        })
        .await;
    // Locked and archived by a moderator: the bot cannot reopen it.
    t.fake.lock_thread(thread);
    t.fake.archive_thread(thread);
    t.advance(200);
    let result = t
        .fake
        .wait_for("post the result in the channel", |f| {
            f.messages_in(CHANNEL)
                .into_iter()
                .find(|m| m.id != thread && m.content.contains("succeeded"))
        })
        .await;
    assert!(result.content.contains("<@1>"), "{}", result.content);
    assert!(
        result.content.contains("harbor.example.com/team/web:"),
        "{}",
        result.content
    );
    assert_eq!(t.fake.pinged(result.id), ["alice"]);
    assert!(
        t.fake.thread(thread).archived,
        "left as the moderator left it"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_permission_is_named_before_anything_starts() {
    let t = on_discord(FakeDiscord::start().await, |_| {}).await;
    t.fake.set_bot_permissions(
        CHANNEL,
        default_bot_permissions() - Permissions::CREATE_PUBLIC_THREADS,
    );
    let token = t
        .fake
        .command("alice", "release", &[("project", json!("web"))]);
    let answer = t.fake.answer(&token).await;
    assert!(answer.contains("Create Public Threads"), "{answer}");
    assert!(t.bot.engine().job_in_memory(JobId(1)).is_none());
    assert!(t.fake.messages_in(CHANNEL).is_empty());
    // What starts nothing still works.
    let help = t.fake.command("alice", "help", &[]);
    assert!(t.fake.answer(&help).await.contains("/build"));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_on_a_stale_message_changes_nothing() {
    // The first bot's job #1 asks for approval; then its state is lost, and job #1 of
    // the next bot is another deploy: the old message's button names the same number.
    let dir = TempDir::new("stale-button");
    let t = on_store(store_in(&dir).await, |_| {}).await;
    let (_, old) = deploy_asking(&t, "v1.0.0").await;
    let (fake, sim) = kill(t).await;
    let lost = TempDir::new("stale-button-new");
    let t = restart(fake, sim, store_in(&lost).await, |_| {}).await;
    let token = t.fake.command(
        "alice",
        "deploy",
        &[("app", json!("web")), ("version", json!("v2.0.0"))],
    );
    t.fake.answer(&token).await;
    t.wait_job(1, "ask for approval", |r| r.messages.approval.is_some())
        .await;

    let press = t.fake.press("bob", old.id, "approve:1");
    let answer = t.fake.answer(&press).await;
    assert!(answer.contains("older message"), "{answer}");
    let r = t.record(1);
    assert_eq!(r.state, JobState::AwaitingApproval);
    assert!(r.approval.unwrap().votes.is_empty());
    t.stop().await;
}

#[tokio::test]
async fn check_fails_while_the_bot_is_public() {
    let fake = FakeDiscord::start().await;
    fake.set_bot_public(true);
    let rows = DiscordAdapter::new(fake.settings())
        .check(&demo_config(|_| {}))
        .await;
    let public = rows
        .iter()
        .find(|r| r.what == "discord application")
        .expect("the application is checked");
    assert!(!public.ok, "{rows:?}");
    assert!(public.detail.contains("Public Bot"), "{rows:?}");
    // An approver role nobody can ping is a warning.
    fake.set_bot_public(false);
    fake.set_mentionable(crate::fake_discord::GUILD, crate::fake_discord::LEAD, false);
    let rows = DiscordAdapter::new(fake.settings())
        .check(&demo_config(|_| {}))
        .await;
    let lead = rows
        .iter()
        .find(|r| r.what == "approver role lead")
        .expect("the role is checked");
    assert!(lead.ok && lead.warning, "{rows:?}");
    assert!(lead.detail.contains("mentionable"), "{rows:?}");
}

/// The REST calls of one `/release` whose approval is given while the bot restarts
/// (printed for the note).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_calls_of_a_release_approved_while_the_bot_restarts() {
    let dir = TempDir::new("release-restart");
    let store = store_in(&dir).await;
    let t = on_store(store.clone(), |_| {}).await;
    let start = t.fake.calls().len();
    let token = t
        .fake
        .command("alice", "release", &[("project", json!("web"))]);
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;
    t.build_for(1, 200).await;
    let approval = t.approval_request(thread).await;
    let OnDiscord { fake, sim, bot, .. } = t;
    bot.stop().await;
    drop(store);
    let restarted = fake.calls().len();
    fake.react_offline("bob", approval.id, "✅", true).await;
    let t = restart(fake, sim, store_in(&dir).await, |_| {}).await;
    t.roll_out_for(1, 60).await;
    t.wait_job(1, "finish the release", |r| r.state.is_final())
        .await;
    t.bot.engine().wait_idle().await;
    assert_eq!(t.record(1).state, JobState::Succeeded);

    let calls = t.fake.calls();
    let show = |from: usize, to: usize| {
        let mut routes: Vec<String> = calls[from..to]
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c.status,
                    route(c, thread, progress.id, approval.id)
                )
            })
            .collect();
        routes.dedup();
        routes
    };
    let before = show(start, restarted);
    let after = show(restarted, calls.len());
    println!(
        "Before the restart:\n{}\n\nAfter it:\n{}",
        before.join("\n"),
        after.join("\n")
    );
    // After the restart: a new session, the reactions read back, and no message
    // posted twice.
    let reads = "200 GET /channels/{thread}/messages/{approval}/reactions/✅";
    assert!(after.iter().any(|r| r.starts_with(reads)), "{after:#?}");
    let reposted = after
        .iter()
        .filter(|r| {
            r.contains("(progress)") || r.contains("(approval request)") || r.contains("(summary)")
        })
        .count();
    assert_eq!(reposted, 0, "{after:#?}");
    let vote = t.record(1).approval.unwrap().votes;
    assert_eq!(vote[0].name, "bob");
    t.stop().await;
}
