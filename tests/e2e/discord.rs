//! releasebot on Discord, end to end: the real serenity client against the fake Discord
//! of `fake_discord.rs`, the engine against the PaaS simulator. Each test reads as what
//! people in #releases do and see.
//!
//! The simulator's clock runs at real speed and the tests move it on
//! (`Simulator::advance`) when they want a build or a rollout to progress, so what the
//! bot shows at each step is certain, and nothing waits for seconds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use releasebot::adapters::Adapter;
use releasebot::app::{App as Application, HttpSettings, Paas, Parts, Running};
use releasebot::chat::{Chat, Message, MessageRef};
use releasebot::clock::Clock;
use releasebot::config::{App, Config};
use releasebot::discord::{DiscordAdapter, Settings};
use releasebot::job::{AuditAction, JobRecord, JobState};
use releasebot::names::{AppName, JobId, ProjectName};
use releasebot::sim::{Scenario, SimHandle};
use releasebot::store::Store;

use crate::cli::{TempDir, fast_config, spawn_cli};
use crate::fake_discord::{APP, CHANNEL, Call, FakeDiscord, GUILD, LEAD, Posted};
use crate::helpers::{client, demo_config, spawn_sim};

/// The bot on Discord, with the fake Discord and the simulator it runs against.
pub(crate) struct OnDiscord {
    pub(crate) fake: FakeDiscord,
    pub(crate) sim: SimHandle,
    pub(crate) bot: Running,
    /// The slash commands the bot registered.
    pub(crate) commands: Vec<Value>,
}

pub(crate) fn web_app(c: &mut Config) -> &mut App {
    c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap()
}

/// Starts the bot against `fake` with the demo configuration, changed by `change`.
pub(crate) async fn on_discord(fake: FakeDiscord, change: impl FnOnce(&mut Config)) -> OnDiscord {
    let (sim, bot) = start_bot(fake.settings(), change, |_| {}).await;
    let commands = fake.wait_ready().await;
    OnDiscord {
        fake,
        sim,
        bot,
        commands,
    }
}

pub(crate) async fn start_bot(
    settings: Settings,
    change: impl FnOnce(&mut Config),
    keep_chat: impl FnOnce(Arc<dyn Chat>),
) -> (SimHandle, Running) {
    let sim = spawn_sim(Scenario::demo()).await;
    let store = Arc::new(Store::open_in_memory().await.expect("a store"));
    let bot = start_bot_on(&sim, store, settings, change, keep_chat).await;
    (sim, bot)
}

/// Starts the bot against the simulator `sim`, recording its jobs in `store` (which a
/// later start may resume from).
pub(crate) async fn start_bot_on(
    sim: &SimHandle,
    store: Arc<Store>,
    settings: Settings,
    change: impl FnOnce(&mut Config),
    keep_chat: impl FnOnce(Arc<dyn Chat>),
) -> Running {
    let config = demo_config(|c| {
        c.jobs.poll_interval = Duration::from_millis(20);
        c.jobs.push_poll_interval = Duration::from_millis(20);
        c.jobs.edit_window = Duration::from_millis(20);
        c.jobs.settle = Duration::from_millis(100);
        c.jobs.logs_window = Duration::from_millis(200);
        change(c);
    });
    let adapter = DiscordAdapter::new(settings);
    keep_chat(adapter.chat());
    Application::assemble(Parts {
        config,
        source: "the test configuration".into(),
        adapter: Box::new(adapter),
        paas: Paas::external(
            client(sim),
            releasebot::secret::Secret::new(crate::helpers::TOKEN),
        ),
        store,
        clock: Clock::new(),
        metrics: Arc::default(),
        webhook_url: None,
        http: HttpSettings::Off,
    })
    .await
    .expect("the bot assembles")
    .start()
    .await
    .expect("the bot connects to the fake Discord")
}

impl OnDiscord {
    /// Waits until job `#n` satisfies `check` (real time, bounded).
    pub(crate) async fn wait_job(&self, n: u64, what: &str, check: impl Fn(&JobRecord) -> bool) {
        let engine = self.bot.engine();
        self.fake
            .wait_for(what, |_| {
                engine
                    .job_in_memory(JobId(n))
                    .filter(|r| check(r))
                    .map(|_| ())
            })
            .await;
    }

    /// Once job `#n`'s build has started on the PaaS, moves the simulator's clock on.
    pub(crate) async fn build_for(&self, n: u64, seconds: u64) {
        self.wait_job(n, "start the build", |r| {
            r.build.as_ref().is_some_and(|b| b.execution.is_some())
        })
        .await;
        self.advance(seconds);
    }

    /// Once job `#n` has asked the PaaS to upgrade its app, moves the clock on.
    pub(crate) async fn roll_out_for(&self, n: u64, seconds: u64) {
        self.wait_job(n, "upgrade the app", |r| {
            r.deploy.as_ref().is_some_and(|d| d.sent_ms().is_some())
        })
        .await;
        self.advance(seconds);
    }

    pub(crate) fn advance(&self, seconds: u64) {
        self.sim.simulator().advance(Duration::from_secs(seconds));
    }

    /// The thread of job `#n` (its id is the summary message's), once it is open.
    pub(crate) async fn thread(&self, n: u64) -> u64 {
        let prefix = format!("#{n} ");
        let summary = self
            .fake
            .wait_for("post the summary in the channel", |f| {
                f.messages_in(CHANNEL).into_iter().find(|m| {
                    m.versions[0]
                        .split_once(' ')
                        .is_some_and(|(_, rest)| rest.starts_with(&prefix))
                })
            })
            .await;
        let path = format!("/channels/{CHANNEL}/messages/{}/threads", summary.id);
        self.fake
            .wait_call("open a thread on the summary", |c| c.is("POST", &path))
            .await;
        summary.id
    }

    /// The `n`th message the bot posted in a thread (0: the progress message).
    pub(crate) async fn posted_in(&self, thread: u64, n: usize) -> Posted {
        self.fake
            .wait_for("post in the thread", |f| {
                f.messages_in(thread).get(n).cloned()
            })
            .await
    }

    /// The approval request in a thread, once the bot has added its ✅ and ❌ (so
    /// people can vote: the bot knows the message by then).
    pub(crate) async fn approval_request(&self, thread: u64) -> Posted {
        let approval = self.posted_in(thread, 1).await;
        for emoji in ["✅", "❌"] {
            let path = format!(
                "/channels/{thread}/messages/{}/reactions/{emoji}/@me",
                approval.id
            );
            self.fake
                .wait_call("add the voting reactions", |c| c.is("PUT", &path))
                .await;
        }
        approval
    }

    pub(crate) fn record(&self, job: u64) -> JobRecord {
        self.bot
            .engine()
            .job_in_memory(JobId(job))
            .expect("the job exists")
    }

    pub(crate) async fn stop(self) {
        self.bot.stop().await;
    }
}

pub(crate) fn acknowledgement(fake: &FakeDiscord, token: &str) -> Option<(usize, Call)> {
    let suffix = format!("/{token}/callback");
    fake.calls()
        .into_iter()
        .enumerate()
        .find(|(_, c)| c.method == "POST" && c.path.ends_with(&suffix))
}

pub(crate) fn no_mentions() -> Value {
    json!({"parse": [], "users": [], "roles": []})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_is_acknowledged_then_followed_in_its_thread_to_the_image_and_tag() {
    let t = on_discord(FakeDiscord::start().await, |_| {}).await;
    let names: Vec<&str> = t
        .commands
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "build", "deploy", "release", "status", "history", "cancel", "approve", "reject",
            "rollback", "promote", "freeze", "unfreeze", "lock", "unlock", "logs", "changes",
            "stats", "help"
        ],
        "every command is a slash command"
    );

    let token = t
        .fake
        .command("alice", "build", &[("project", json!("web"))]);
    let (_, ack) = t
        .fake
        .wait_for("acknowledge the command", |f| acknowledgement(f, &token))
        .await;
    assert_eq!(ack.body["type"], 5, "deferred: {}", ack.body);
    assert_eq!(ack.body["data"]["flags"], 64, "ephemeral: {}", ack.body);
    assert_eq!(
        t.fake.answer(&token).await,
        "Started #1: build web@master; follow it in its thread."
    );

    let thread = t.thread(1).await;
    let summary = t.fake.message(thread);
    assert_eq!(
        summary.content,
        "🔨 #1 build web@master — requested by <@1> — triggering"
    );
    assert_eq!(summary.allowed_mentions, no_mentions());
    let opened = t
        .fake
        .calls()
        .into_iter()
        .find(|c| c.path.ends_with("/threads"))
        .unwrap();
    assert_eq!(opened.body["name"], "#1 web@master");
    assert_eq!(opened.body["auto_archive_duration"], 1440);

    let progress = t.posted_in(thread, 0).await;
    assert!(
        progress
            .content
            .starts_with("🔨 #1 build web@master · requested by <@1>"),
        "{}",
        progress.content
    );
    t.build_for(1, 10).await;
    t.fake
        .wait_message(progress.id, "show the clone done", |c| {
            c.contains("✅ Clone 4s") && c.contains("🔄 Build")
        })
        .await;
    t.advance(120);
    let done = t
        .fake
        .wait_message(progress.id, "show the build succeeded", |c| {
            c.contains("succeeded")
        })
        .await;
    let tag = done
        .lines()
        .find_map(|l| l.strip_prefix("tag  "))
        .and_then(|l| l.split(' ').next())
        .expect("a tag line")
        .to_string();
    assert!(tag.starts_with("master-1-"), "{done}");
    for want in [
        "✅ #1 build web@master · requested by <@1> · succeeded",
        "✅ Clone 4s",
        "✅ Build 51s",
        "✅ Publish Image 22s",
        "✅ Chart 6s",
        &format!("image  harbor.example.com/team/web:{tag}"),
    ] {
        assert!(done.contains(want), "missing {want:?} in:\n{done}");
    }
    let summary = t
        .fake
        .wait_message(thread, "say in the channel how it ended", |c| {
            c.starts_with("✅")
        })
        .await;
    assert!(
        summary.starts_with("✅ #1 build web@master — requested by <@1> — succeeded in"),
        "{summary}"
    );

    // One message in the thread, edited in place through the bot token; the
    // interaction token answered once, in the first moments.
    let progress = t.fake.message(progress.id);
    // The progress, and the one message that tells the requester it ended.
    let notice = t
        .fake
        .wait_for("tell the requester it ended", |f| {
            f.messages_in(thread).get(1).cloned()
        })
        .await;
    assert_eq!(t.fake.messages_in(thread).len(), 2);
    assert!(notice.content.starts_with("<@1> "), "{}", notice.content);
    assert_eq!(
        notice.allowed_mentions,
        json!({"parse": [], "users": ["1"], "roles": []})
    );
    assert!(progress.versions.len() >= 3, "{:?}", progress.versions);
    let calls = t.fake.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.path.starts_with("/webhooks/"))
            .count(),
        1
    );
    let notice_path = format!("/channels/{thread}/messages");
    let writes = calls.iter().filter(|c| {
        c.path.starts_with("/channels/")
            && !c.path.ends_with("/threads")
            && matches!(c.method.as_str(), "POST" | "PATCH")
            && !(c.path == notice_path
                && c.body["content"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("<@1>")))
    });
    for c in writes {
        assert_eq!(
            c.body["allowed_mentions"],
            no_mentions(),
            "{} {}",
            c.method,
            c.path
        );
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvers_vote_with_reactions_and_only_theirs_count() {
    let t = on_discord(FakeDiscord::start().await, |c| web_app(c).policy.votes = 2).await;
    // bob, a lead himself, asks.
    let token = t.fake.command(
        "bob",
        "deploy",
        &[("app", json!("web")), ("version", json!("v1.2.3"))],
    );
    assert_eq!(
        t.fake.answer(&token).await,
        "Started #1: deploy web v1.2.3; it needs 2 approvals from lead. releasebot cannot show what v1.2.3 contains: no known build of web produced it."
    );
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;
    let approval = t.approval_request(thread).await;
    assert!(
        approval
            .content
            .contains("needs 2 approvals from <@&102> · expires"),
        "{}",
        approval.content
    );
    // The approver role is notified, and nobody else can be.
    assert_eq!(
        approval.allowed_mentions,
        json!({"parse": [], "users": [], "roles": [LEAD.to_string()]})
    );
    let buttons = &approval.components[0]["components"];
    assert_eq!(buttons[0]["custom_id"], "approve:1");
    assert_eq!(buttons[1]["custom_id"], "reject:1");
    // Someone without the role: removed where possible, told why, nothing changes.
    t.fake.react("dave", approval.id, "✅", true);
    let notice = t
        .fake
        .wait_for("tell dave why his vote did not count", |f| {
            f.messages_in(thread)
                .into_iter()
                .find(|m| m.content.starts_with("<@4>"))
        })
        .await;
    assert_eq!(
        notice.content,
        "<@4> your ✅ changed nothing: Approving deploys of web needs the role lead; your vote was not counted."
    );
    assert_eq!(
        notice.allowed_mentions,
        json!({"parse": [], "users": ["4"], "roles": []})
    );
    let remove = format!("/channels/{thread}/messages/{}/reactions/✅/4", approval.id);
    t.fake
        .wait_call("try to remove dave's reaction", |c| c.is("DELETE", &remove))
        .await;

    // The requester's own ✅.
    t.fake.react("bob", approval.id, "✅", true);
    t.fake
        .wait_for("tell bob he cannot approve his own request", |f| {
            f.messages_in(thread).into_iter().find(|m| {
                m.content
                    == "<@2> your ✅ changed nothing: You requested #1, so you cannot approve it; another approver must."
            })
        })
        .await;
    let r = t.record(1);
    assert_eq!(r.state, JobState::AwaitingApproval);
    assert!(r.approval.unwrap().votes.is_empty());

    // carol approves, then takes it back before the quorum.
    t.fake.react("carol", approval.id, "✅", true);
    t.fake
        .wait_message(approval.id, "count carol's vote", |c| {
            c.contains("votes  ✅ <@3> (") && c.contains("— 1 of 2")
        })
        .await;
    t.fake.react("carol", approval.id, "✅", false);
    t.fake
        .wait_message(approval.id, "withdraw carol's vote", |c| {
            !c.contains("votes")
        })
        .await;
    assert!(
        t.record(1)
            .audit
            .iter()
            .any(|a| a.action == AuditAction::Withdraw && a.actor.as_deref() == Some("carol"))
    );

    // Two approvers: it deploys.
    t.fake.react("carol", approval.id, "✅", true);
    t.fake.react("erin", approval.id, "✅", true);
    let approved = t
        .fake
        .wait_message(approval.id, "close the approval", |c| {
            c.contains("✅ Approved at")
        })
        .await;
    assert!(approved.contains("✅ <@3> (") && approved.contains("✅ <@5> ("));
    t.fake
        .wait_for("remove the buttons", |f| {
            (f.message(approval.id).components == json!([])).then_some(())
        })
        .await;
    t.roll_out_for(1, 60).await;
    let done = t
        .fake
        .wait_message(progress.id, "finish the deploy", |c| {
            c.contains("succeeded")
        })
        .await;
    assert!(done.contains("✅ active"), "{done}");

    // A second request, and one ❌ rejects it.
    let token = t.fake.command(
        "alice",
        "deploy",
        &[("app", json!("web")), ("version", json!("v1.2.4"))],
    );
    t.fake.answer(&token).await;
    let thread = t.thread(2).await;
    let progress = t.posted_in(thread, 0).await;
    let approval = t.approval_request(thread).await;
    t.fake.react("carol", approval.id, "❌", true);
    let rejected = t
        .fake
        .wait_message(progress.id, "end the rejected deploy", |c| {
            c.contains("Rejected by carol; nothing was deployed.")
        })
        .await;
    assert!(
        rejected.starts_with("⛔ #2 deploy web v1.2.4"),
        "{rejected}"
    );
    t.fake
        .wait_message(approval.id, "show the rejection", |c| {
            c.contains("❌ Rejected by carol")
        })
        .await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approve_button_works_for_an_approver_role_given_by_id() {
    let t = on_discord(FakeDiscord::start().await, |c| {
        web_app(c).policy.approvers = vec![LEAD.to_string()]
    })
    .await;
    let token = t.fake.command(
        "alice",
        "deploy",
        &[("app", json!("web")), ("version", json!("v2.0.0"))],
    );
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;
    let approval = t.approval_request(thread).await;
    assert!(approval.content.contains("<@&102>"), "{}", approval.content);

    let press = t.fake.press("dave", approval.id, "approve:1");
    assert_eq!(
        t.fake.answer(&press).await,
        "Approving deploys of web needs the role 102; your vote was not counted."
    );
    let press = t.fake.press("bob", approval.id, "approve:1");
    let (_, ack) = t
        .fake
        .wait_for("acknowledge the button", |f| acknowledgement(f, &press))
        .await;
    assert_eq!(ack.body["data"]["flags"], 64);
    assert_eq!(t.fake.answer(&press).await, "#1 is approved; deploying.");
    t.fake
        .wait_for("remove the buttons", |f| {
            (f.message(approval.id).components == json!([])).then_some(())
        })
        .await;
    t.roll_out_for(1, 60).await;
    t.fake
        .wait_message(progress.id, "finish the deploy", |c| {
            c.contains("succeeded")
        })
        .await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_what_each_person_may_use() {
    let t = on_discord(FakeDiscord::start().await, |c| {
        let worker = c
            .projects
            .get_mut(&ProjectName::parse("worker").unwrap())
            .unwrap();
        worker.access.build = Some(vec!["lead".into()]);
    })
    .await;
    let names = |choices: Vec<(String, Value)>| -> Vec<Value> {
        choices.into_iter().map(|(_, v)| v).collect()
    };
    let alice = t
        .fake
        .autocomplete("alice", "build", &[], "project", "")
        .await;
    assert_eq!(names(alice), [json!("api"), json!("web")]);
    let bob = t
        .fake
        .autocomplete("bob", "build", &[], "project", "")
        .await;
    assert_eq!(names(bob), [json!("api"), json!("web"), json!("worker")]);
    let typed = t
        .fake
        .autocomplete("bob", "build", &[], "project", "wor")
        .await;
    assert_eq!(names(typed), [json!("worker")]);
    let branches = t
        .fake
        .autocomplete("alice", "build", &[("project", "web")], "branch", "")
        .await;
    assert_eq!(
        branches,
        [("master (default)".to_string(), json!("master"))]
    );

    // A successful build makes its tag worth deploying.
    let token = t
        .fake
        .command("alice", "build", &[("project", json!("web"))]);
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;
    t.build_for(1, 200).await;
    t.fake
        .wait_message(progress.id, "finish the build", |c| c.contains("succeeded"))
        .await;
    let tag = t.record(1).build.unwrap().tag.unwrap();
    let tags = t
        .fake
        .autocomplete("alice", "deploy", &[("app", "web")], "version", "")
        .await;
    assert_eq!(tags, [(format!("{tag} (master, build #1)"), json!(tag))]);
    let jobs = t.fake.autocomplete("alice", "status", &[], "job", "").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].1, json!(1), "a job number: {jobs:?}");
    assert!(jobs[0].0.starts_with("✅ #1 build web@master"), "{jobs:?}");
    assert!(
        t.fake
            .autocomplete("alice", "cancel", &[], "job", "")
            .await
            .is_empty()
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_project_is_answered_only_to_the_person_who_asked() {
    let t = on_discord(FakeDiscord::start().await, |_| {}).await;
    // Through the proxy serenity's limiter is off: releasebot retries the 429 itself.
    t.fake.fail_next("PATCH", "/webhooks/", 429, Some(0.05));
    let token = t
        .fake
        .command("alice", "build", &[("project", json!("nope"))]);
    let (_, ack) = t
        .fake
        .wait_for("acknowledge the command", |f| acknowledgement(f, &token))
        .await;
    assert_eq!(ack.body["data"]["flags"], 64);
    let answer = t.fake.answer(&token).await;
    assert!(
        answer.starts_with("There is no project \"nope\"")
            && answer.ends_with("Usage: /build <project> [branch]"),
        "{answer}"
    );
    let answers: Vec<u16> = t
        .fake
        .calls()
        .iter()
        .filter(|c| c.path.starts_with("/webhooks/"))
        .map(|c| c.status)
        .collect();
    assert_eq!(answers, [429, 200]);
    assert!(t.fake.messages_in(CHANNEL).is_empty(), "nothing public");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_thread_the_request_is_followed_in_the_channel() {
    let t = on_discord(FakeDiscord::start().await, |_| {}).await;
    // The bot lacks Create Public Threads.
    t.fake
        .fail_next("POST", &format!("/channels/{CHANNEL}/messages/"), 403, None);
    let token = t
        .fake
        .command("alice", "build", &[("project", json!("web"))]);
    t.fake.answer(&token).await;
    let progress = t
        .fake
        .wait_for("post the progress in the channel", |f| {
            f.messages_in(CHANNEL).get(1).cloned()
        })
        .await;
    assert!(
        progress.content.starts_with("🔨 #1 build web@master"),
        "{}",
        progress.content
    );
    t.build_for(1, 200).await;
    t.fake
        .wait_message(progress.id, "finish the build", |c| c.contains("succeeded"))
        .await;
    let posted = t
        .fake
        .wait_for("tell the requester in the channel", |f| {
            let all = f.messages_in(CHANNEL);
            (all.len() == 3).then_some(all)
        })
        .await;
    assert!(
        posted[2].content.starts_with("<@1> "),
        "{}",
        posted[2].content
    );
    t.stop().await;
}

/// Each call Discord answered 429, with how long after it the same call (method and
/// path) went again; panics if one never went again.
fn retries_of_429s(calls: &[Call]) -> Vec<(Call, Duration)> {
    calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.status == 429)
        .map(|(i, limited)| {
            let again = calls[i + 1..]
                .iter()
                .find(|c| c.method == limited.method && c.path == limited.path)
                .unwrap_or_else(|| panic!("{limited:?} was never tried again: {calls:#?}"));
            (limited.clone(), again.at - limited.at)
        })
        .collect()
}

/// Every rate-limited call was tried again `least` after it at the earliest.
fn retried_after(retried: &[(Call, Duration)], least: Duration) {
    for (limited, waited) in retried {
        assert!(
            *waited >= least,
            "{} {} retried after {waited:?}, before {least:?}",
            limited.method,
            limited.path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_edit_waits_and_still_delivers_the_final_state() {
    // Over TLS as discord.com, with serenity's own rate limiter, as in production.
    // serenity waits out a 429 that says how long in `Retry-After`; one that says so
    // only in its body serenity hands back, and releasebot waits it out. A 429 that
    // says nothing is retried after 20 ms in these settings, so a wait of 300 ms
    // shows Discord's word was heeded.
    let t = on_discord(FakeDiscord::start_tls().await, |_| {}).await;
    t.fake.fail_next("PATCH", "/channels/", 429, Some(0.3));
    t.fake
        .rate_limit_next_in_body_only("PATCH", "/channels/", 0.3);
    let token = t
        .fake
        .command("alice", "build", &[("project", json!("web"))]);
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;
    t.build_for(1, 200).await;
    let done = t
        .fake
        .wait_message(progress.id, "deliver the final state", |c| {
            c.contains("succeeded")
        })
        .await;
    assert!(done.contains("✅ Chart 6s"), "{done}");
    t.fake
        .wait_message(thread, "deliver the final summary", |c| c.starts_with("✅"))
        .await;
    let retried = retries_of_429s(&t.fake.calls());
    assert_eq!(retried.len(), 2, "{retried:#?}");
    retried_after(&retried, Duration::from_millis(300));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out_for_as_long_as_discord_asks() {
    // Through the proxy, where serenity's limiter is off and releasebot alone reads
    // Discord's Retry-After. Discord asks for 3 s, longer than any wait releasebot
    // would choose itself (20 ms here for a 429 that says nothing, 1 s for a failed
    // edit): a retry sooner than 3 s means Retry-After was ignored.
    let t = on_discord(FakeDiscord::start().await, |_| {}).await;
    let first = t
        .fake
        .command("alice", "build", &[("project", json!("web"))]);
    t.fake.answer(&first).await;
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;
    // The next edit of job #1's progress and the next post in the channel (job #2's
    // summary) are rate limited together, so the test waits 3 s once.
    let edit = format!("/channels/{thread}/messages/{}", progress.id);
    let post = format!("/channels/{CHANNEL}/messages");
    t.fake.fail_next("PATCH", &edit, 429, Some(3.0));
    t.fake.fail_next("POST", &post, 429, Some(3.0));
    let second = t
        .fake
        .command("alice", "build", &[("project", json!("api"))]);
    t.build_for(1, 200).await;
    let done = t
        .fake
        .wait_message(progress.id, "deliver the final state", |c| {
            c.contains("succeeded")
        })
        .await;
    assert!(done.contains("✅ Chart 6s"), "{done}");
    t.fake.answer(&second).await;
    let summary = t.thread(2).await;
    assert!(
        t.fake
            .message(summary)
            .content
            .starts_with("🔨 #2 build api@master — requested by <@1>"),
        "{:?}",
        t.fake.message(summary)
    );
    let retried = retries_of_429s(&t.fake.calls());
    let paths: Vec<(&str, &str)> = retried
        .iter()
        .map(|(c, _)| (c.method.as_str(), c.path.as_str()))
        .collect();
    assert!(
        paths.contains(&("PATCH", edit.as_str())) && paths.contains(&("POST", post.as_str())),
        "{paths:?}"
    );
    retried_after(&retried, Duration::from_secs(3));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_reconnect_mid_build_keeps_editing_the_same_message() {
    let t = on_discord(FakeDiscord::start().await, |_| {}).await;
    let token = t
        .fake
        .command("alice", "build", &[("project", json!("web"))]);
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;

    t.fake.ask_to_reconnect();
    t.fake
        .wait_for("resume the gateway session", |f| {
            (f.gateway_counts() == (2, 1, 1)).then_some(())
        })
        .await;
    // Events flow on the resumed connection.
    let status = t.fake.command("bob", "status", &[]);
    let running = t.fake.answer(&status).await;
    assert!(
        running.starts_with("1 running:\n🔨 #1 build web@master · alice"),
        "{running}"
    );

    t.build_for(1, 200).await;
    t.fake
        .wait_message(progress.id, "finish the build", |c| c.contains("succeeded"))
        .await;
    let progress_messages = t
        .fake
        .messages_in(thread)
        .into_iter()
        .filter(|m| !m.content.starts_with("<@"))
        .count();
    assert_eq!(progress_messages, 1, "still one message");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_a_message_is_edited_by_its_ids_alone() {
    let t = on_discord(FakeDiscord::start().await, |_| {}).await;
    let token = t
        .fake
        .command("alice", "build", &[("project", json!("web"))]);
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;
    let OnDiscord {
        fake,
        sim: _sim,
        bot,
        ..
    } = t;
    bot.stop().await;

    // A new process: no cache, no interaction, only the ids kept in the job's record.
    let kept: Arc<Mutex<Option<Arc<dyn Chat>>>> = Arc::default();
    let slot = kept.clone();
    let (_sim2, bot) = start_bot(
        fake.settings(),
        |_| {},
        move |chat| *slot.lock().unwrap() = Some(chat),
    )
    .await;
    fake.wait_for("connect again", |f| {
        (f.gateway_counts().1 == 2).then_some(())
    })
    .await;
    let before = fake.calls().len();
    let chat = kept.lock().unwrap().clone().unwrap();
    let target = MessageRef {
        channel: thread.to_string(),
        message: progress.id.to_string(),
    };
    chat.edit(&target, &Message::text("🔨 #1 build web@master · resumed"))
        .await
        .expect("the edit goes through");
    let after: Vec<Call> = fake.calls().split_off(before);
    let edit = format!("/channels/{thread}/messages/{}", progress.id);
    assert!(after.iter().any(|c| c.is("PATCH", &edit)), "{after:?}");
    assert!(
        after.iter().all(|c| c.method != "GET"),
        "nothing looked up first: {after:?}"
    );
    assert_eq!(
        fake.message(progress.id).content,
        "🔨 #1 build web@master · resumed"
    );
    bot.stop().await;
}

/// Names a call by its route, with the ids replaced by what they are.
pub(crate) fn route(c: &Call, thread: u64, progress: u64, approval: u64) -> String {
    let path = c
        .path
        .replace(
            &format!("/channels/{thread}/messages/{progress}"),
            "/channels/{thread}/messages/{progress}",
        )
        .replace(
            &format!("/channels/{thread}/messages/{approval}"),
            "/channels/{thread}/messages/{approval}",
        )
        .replace(
            &format!("/channels/{CHANNEL}/messages/{thread}"),
            "/channels/{channel}/messages/{summary}",
        )
        .replace(&format!("/channels/{thread}/"), "/channels/{thread}/")
        .replace(&format!("/channels/{CHANNEL}/"), "/channels/{channel}/")
        .replace(&format!("/guilds/{GUILD}/"), "/guilds/{guild}/")
        .replace(&format!("/webhooks/{APP}/"), "/webhooks/{application}/");
    let path = path
        .split('/')
        .map(|s| {
            if s.starts_with("interaction-token-") {
                "{token}"
            } else if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let what = match (c.method.as_str(), path.as_str()) {
        ("POST", "/channels/{channel}/messages") => " (summary)",
        ("POST", "/channels/{thread}/messages")
            if c.body["allowed_mentions"]["users"] != json!([]) =>
        {
            " (notice to the requester)"
        }
        ("POST", "/channels/{thread}/messages") if c.body["components"] == json!([]) => {
            " (progress)"
        }
        ("POST", "/channels/{thread}/messages") => " (approval request)",
        _ => "",
    };
    format!("{} {path}{what}", c.method)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_calls_of_one_release() {
    let t = on_discord(FakeDiscord::start().await, |_| {}).await;
    let start = t.fake.calls().len();
    let token = t
        .fake
        .command("alice", "release", &[("project", json!("web"))]);
    assert_eq!(
        t.fake.answer(&token).await,
        "Started #1: release web@master; follow it in its thread."
    );
    let thread = t.thread(1).await;
    let progress = t.posted_in(thread, 0).await;
    t.build_for(1, 200).await;
    let approval = t.approval_request(thread).await;
    t.fake.react("bob", approval.id, "✅", true);
    t.fake
        .wait_message(approval.id, "close the approval", |c| {
            c.contains("✅ Approved at")
        })
        .await;
    t.roll_out_for(1, 60).await;
    t.fake
        .wait_message(progress.id, "finish the release", |c| {
            c.contains("succeeded")
        })
        .await;
    t.fake
        .wait_message(thread, "say in the channel how it ended", |c| {
            c.starts_with("✅")
        })
        .await;
    t.fake
        .wait_for("tell the requester it ended", |f| {
            f.messages_in(thread)
                .into_iter()
                .find(|m| m.content.starts_with("<@1> ✅"))
        })
        .await;

    let mut routes: Vec<String> = t.fake.calls()[start..]
        .iter()
        .map(|c| route(c, thread, progress.id, approval.id))
        .collect();
    routes.dedup();
    println!("The REST calls of one /release:\n{}", routes.join("\n"));
    let skeleton = [
        "POST /interactions/{id}/{token}/callback",
        "GET /guilds/{guild}/roles",
        "POST /channels/{channel}/messages (summary)",
        "POST /channels/{channel}/messages/{summary}/threads",
        "PUT /channels/{thread}/thread-members/{id}",
        "POST /channels/{thread}/messages (progress)",
        // The progress edits of the build may land before or after the approval
        // request is posted: they are coalesced, the request is not.
        "POST /channels/{thread}/messages (approval request)",
        "PUT /channels/{thread}/messages/{approval}/reactions/✅/@me",
        "PUT /channels/{thread}/messages/{approval}/reactions/❌/@me",
        "POST /channels/{thread}/messages (notice to the requester)",
        "PATCH /channels/{thread}/messages/{progress}",
        "POST /channels/{thread}/messages (notice to the requester)",
    ];
    assert!(
        routes
            .iter()
            .any(|r| r == "PATCH /channels/{thread}/messages/{approval}")
    );
    let mut rest = routes.iter();
    for want in skeleton {
        assert!(
            rest.any(|r| r == want),
            "{want:?} missing or out of order in:\n{}",
            routes.join("\n")
        );
    }
    let answers = routes
        .iter()
        .filter(|r| r.starts_with("PATCH /webhooks/{application}/{token}/messages/@original"))
        .count();
    assert_eq!(answers, 1, "{routes:?}");
    let posts = routes
        .iter()
        .filter(|r| r.starts_with("POST /channels/"))
        .count();
    assert_eq!(
        posts, 6,
        "summary, thread, progress, approval, approved, ended: {routes:?}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_on_discord_when_a_token_is_set() {
    let fake = FakeDiscord::start().await;
    let proxy = fake.settings().proxy.expect("the plain fake is a proxy");
    let dir = TempDir::new("discord");
    let config = dir.write("releasebot.toml", &fast_config());
    let config = config.display().to_string();
    let cli = spawn_cli(
        &[],
        &[
            ("RELEASEBOT_CONFIG", config.as_str()),
            ("DISCORD_TOKEN", crate::fake_discord::TOKEN),
            ("DISCORD_GUILD_ID", &GUILD.to_string()),
            ("DISCORD_PROXY_URL", &proxy),
            // serenity logs each request's path, which holds an interaction's token.
            ("RUST_LOG", "trace"),
        ],
        dir,
    );
    fake.wait_ready().await;
    let token = fake.command("alice", "release", &[("project", json!("api"))]);
    assert_eq!(
        fake.answer(&token).await,
        "Started #1: release api@master; follow it in its thread."
    );
    // The summary, its thread and the progress message in it. (The release itself is
    // paced at Discord's 5 edits per 5 s per channel, which the tests above cover.)
    let summary = fake
        .wait_for("post the summary", |f| {
            f.messages_in(CHANNEL).first().cloned()
        })
        .await;
    assert_eq!(
        summary.content,
        "🔨 #1 release api@master — requested by <@1> — triggering"
    );
    let progress = fake
        .wait_for("post the progress in the thread", |f| {
            f.messages_in(summary.id).first().cloned()
        })
        .await;
    assert!(
        progress.content.starts_with("🔨 #1 release api@master"),
        "{}",
        progress.content
    );
    fake.wait_for("say it runs on Discord", |_| {
        cli.stderr()
            .contains("on Discord as releasebot")
            .then_some(())
    })
    .await;
    let logs = cli.stderr();
    assert!(logs.contains("TRACE"), "trace logging was on");
    assert!(!logs.contains(crate::fake_discord::TOKEN));
    assert!(
        logs.contains("InteractionResponse"),
        "the interaction's answer was logged"
    );
    assert!(!logs.contains(&token), "the interaction's token was logged");
}

#[tokio::test]
async fn a_malformed_discord_token_is_refused_before_anything_starts() {
    let cli = spawn_cli(
        &[],
        &[("DISCORD_TOKEN", "not-a-token")],
        TempDir::new("badtoken"),
    );
    let (code, _, err) = cli.finish().await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("DISCORD_TOKEN does not look like a bot token"),
        "{err}"
    );
}

#[tokio::test]
async fn check_confirms_the_token_and_the_server() {
    let fake = FakeDiscord::start().await;
    fake.set_bot_public(false);
    let rows = DiscordAdapter::new(fake.settings())
        .check(&demo_config(|_| {}))
        .await;
    assert!(rows.iter().all(|r| r.ok), "{rows:?}");
    assert!(
        rows[0]
            .detail
            .contains("the token is accepted (bot releasebot)"),
        "{rows:?}"
    );
    assert!(rows[1].detail.contains("the bot is private"), "{rows:?}");
    assert!(rows[2].detail.contains("is visible to the bot"), "{rows:?}");
}
