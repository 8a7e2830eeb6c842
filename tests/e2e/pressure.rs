//! At the limits: what watching costs the PaaS, and what the chat shows when jobs want
//! more edits than the platform allows.

use std::sync::Arc;
use std::time::Duration;

use releasebot::adapters::memory::{MemoryChat, Record};
use releasebot::chat::paced::Limits;
use releasebot::clock::Clock;
use releasebot::job::JobState;
use releasebot::sim::{Scenario, StageSpec};
use releasebot::store::Store;

use crate::helpers::{demo_config, spawn_bot, spawn_bot_in};

/// The demo's `web` pipeline with `stages` stages of `seconds` each: a change every
/// `seconds`.
fn busy_web(stages: usize, seconds: f64) -> Scenario {
    let mut scenario = Scenario::demo();
    scenario.pipelines[0].stages = (1..=stages)
        .map(|i| StageSpec {
            name: format!("Stage {i}"),
            seconds,
            chart: false,
        })
        .collect();
    scenario
}

/// A bot on the in-memory chat held to `global` calls a second, the builds of
/// [`busy_web`] (a change every 2 s), its jobs in `store`; with `interactions`, each
/// command comes with a message of its own, as a slash command does on Discord.
async fn pressed_bot(
    global: usize,
    interactions: bool,
    store: Arc<Store>,
    clock: Clock,
) -> (Arc<MemoryChat>, crate::helpers::TestBot) {
    let chat = MemoryChat::new();
    if interactions {
        chat.use_interactions();
    }
    chat.set_limits(Limits {
        global,
        ..Limits::default()
    });
    let bot = spawn_bot_in(
        busy_web(12, 2.0),
        demo_config(|_| {}),
        store,
        false,
        clock,
        chat.clone(),
    )
    .await;
    (chat, bot)
}

#[tokio::test(start_paused = true)]
async fn a_build_changing_faster_than_the_interval_costs_one_poll_per_interval_whoever_follows_it()
{
    // A change every 2 s, polled every 5 s, with a second and a third person joining.
    let bot = spawn_bot(busy_web(12, 2.0), demo_config(|_| {})).await;
    let interval = releasebot::config::Config::demo().jobs.poll_interval;
    let first = bot.start("alice", "/build web").await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    // They join the build that runs.
    assert!(!bot.say("bob", "/build web").await.is_refusal());
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert!(!bot.say("carol", "/build web").await.is_refusal());
    let r = bot.finished(first).await;
    assert_eq!(r.state, JobState::Succeeded);
    let stats = bot.sim.stats();
    assert_eq!(stats.total_runs(), 1, "the others joined the first build");
    let watched_ms = r.ended_ms.unwrap() - r.created_ms;
    let intervals = watched_ms as f64 / interval.as_millis() as f64;
    let polls = stats.by_route.get("get_execution").copied().unwrap_or(0);
    assert!(
        polls as f64 <= intervals.ceil() + 1.0,
        "{polls} polls in {intervals:.1} intervals"
    );
    // Each stage was still shown as it ran, though none lasted a whole interval.
    let history = bot.chat.history(&bot.progress_ref(first));
    let shown = (1..=12)
        .filter(|i| {
            history
                .iter()
                .any(|(_, t)| t.contains(&format!("🔄 Stage {i}")))
        })
        .count();
    assert!(shown >= 4, "{shown} of 12 running stages shown");
}

#[tokio::test(start_paused = true)]
async fn a_rollout_costs_one_app_read_per_interval_however_many_deploys_follow_the_app() {
    // One deploy rolls out; two more of the same app wait their turn behind it, each
    // learning what the app runs now as it starts.
    let bot = spawn_bot(
        Scenario::demo(),
        demo_config(|c| c.jobs.logs_window = Duration::from_secs(1)),
    )
    .await;
    let interval = releasebot::config::Config::demo().jobs.poll_interval;
    let first = bot.start("alice", "/deploy api v1.2.3").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    bot.start("bob", "/deploy api v1.2.4").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    bot.start("carol", "/deploy api v1.2.5").await;
    let r = bot
        .wait_for(first, "rolled out", |r| {
            r.deploy.as_ref().is_some_and(|d| d.rollout.done)
        })
        .await;
    let reads = bot
        .sim
        .stats()
        .by_route
        .get("get_app")
        .copied()
        .unwrap_or(0);
    let watched_ms = r.updated_ms - r.created_ms;
    let intervals = (watched_ms as f64 / interval.as_millis() as f64).ceil();
    assert!(
        reads as f64 <= intervals + 2.0,
        "{reads} reads of the app in {intervals} intervals"
    );
    assert_eq!(bot.finished(first).await.state, JobState::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn under_chat_pressure_final_states_go_first_and_every_last_state_lands() {
    // Four calls a second in all, and fifteen builds changing every two seconds: the
    // progress they want is twice what the chat allows.
    let clock = Clock::new();
    let (chat, bot) = pressed_bot(
        4,
        false,
        Arc::new(Store::open_in_memory().await.unwrap()),
        clock,
    )
    .await;
    let origin_ms = clock.now_ms() - chat.elapsed().as_millis() as i64;
    let mut jobs = Vec::new();
    for i in 0..15 {
        jobs.push(bot.start("alice", &format!("/build web b{i}")).await);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let mut changes = 0usize;
    let mut edits = 0usize;
    for job in &jobs {
        let r = bot.finished(*job).await;
        assert_eq!(r.state, JobState::Succeeded);
        let history = chat.history(&bot.progress_ref(*job));
        let (last_at, last) = history.last().unwrap().clone();
        // Nothing is dropped for good: the message ends showing how the job ended.
        assert!(last.contains("succeeded"), "{job}: {last}");
        assert!(last.contains("✅ Stage 12"), "{job}: {last}");
        // How it ended was shown soon after the bot knew, ahead of waiting progress.
        let late_ms = origin_ms + last_at.as_millis() as i64 - r.ended_ms.unwrap();
        assert!(
            late_ms <= 2_500,
            "{job}: its end was shown {late_ms} ms late"
        );
        edits += history.len() - 1;
        changes += 12 * 2;
    }
    // The states a message went through while it waited were folded.
    assert!(edits < changes / 2, "{edits} edits for {changes} changes");
    // And the chat's limit held throughout.
    let mut calls: Vec<Duration> = chat
        .records()
        .iter()
        .filter_map(|r| match r {
            Record::Thread { at, .. } | Record::Post { at, .. } | Record::Edit { at, .. } => {
                Some(*at)
            }
            _ => None,
        })
        .collect();
    calls.sort();
    for (i, t) in calls.iter().enumerate() {
        let within = calls[i..]
            .iter()
            .take_while(|u| **u < *t + Duration::from_secs(1))
            .count();
        if within > 4 {
            let around: Vec<_> = chat
                .records()
                .into_iter()
                .filter(|r| r.at() >= *t && r.at() < *t + Duration::from_secs(1))
                .collect();
            panic!("{within} calls in the second from {t:?}: {around:#?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn under_chat_pressure_a_command_s_job_shows_itself_in_the_command_s_own_message() {
    // The same load as above, but each command comes with a message of its own, as a
    // slash command does on Discord, whose edits the global budget does not count.
    let store = Arc::new(Store::open_in_memory().await.unwrap());
    let (chat, bot) = pressed_bot(4, true, store, Clock::new()).await;
    let mut jobs = Vec::new();
    for i in 0..15 {
        jobs.push(bot.start("alice", &format!("/build web b{i}")).await);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let mut own = 0;
    for job in &jobs {
        let r = bot.finished(*job).await;
        assert_eq!(r.state, JobState::Succeeded);
        let thread = r.messages.thread.clone().expect("a thread");
        let progress = bot.progress_ref(*job);
        let history = chat.history(&progress);
        let last = &history.last().unwrap().1;
        assert!(
            last.contains("succeeded") && last.contains("✅ Stage 12"),
            "{job}: {last}"
        );
        // Its requester follows its thread either way.
        let info = chat
            .threads()
            .into_iter()
            .find(|t| t.thread == thread)
            .unwrap();
        assert!(info.members.contains(&"alice".to_string()), "{job}");
        if progress != thread.summary {
            continue;
        }
        own += 1;
        // In its own message, the job's progress did not wait on the others: every
        // stage showed while it ran (stages change every 2 s).
        let shown = (1..=12)
            .filter(|i| {
                history
                    .iter()
                    .any(|(_, t)| t.contains(&format!("🔄 Stage {i}")))
            })
            .count();
        assert!(
            shown >= 11,
            "{job} showed {shown} of 12 stages: {history:#?}"
        );
    }
    // The first job came before any pressure and kept the usual layout; those that
    // came under pressure showed themselves in their commands' messages.
    assert_ne!(
        bot.progress_ref(jobs[0]),
        bot.record(jobs[0]).messages.thread.unwrap().summary
    );
    assert!(
        own >= 5,
        "only {own} of 15 jobs in their commands' own messages"
    );
    // The budget's limit held for every call it counts; a command's own message kept
    // a budget of its own, 5 edits in any 5 s.
    let records = chat.records();
    let mut counted: Vec<Duration> = Vec::new();
    let mut own_edits: std::collections::HashMap<String, Vec<Duration>> = Default::default();
    for r in &records {
        match r {
            Record::Edit { at, target, .. } | Record::Post { at, target, .. }
                if chat.outside_budget(*at, target) =>
            {
                own_edits
                    .entry(target.message.clone())
                    .or_default()
                    .push(*at)
            }
            Record::Thread { at, .. } | Record::Post { at, .. } | Record::Edit { at, .. } => {
                counted.push(*at)
            }
            _ => {}
        }
    }
    assert!(!own_edits.is_empty());
    let most_within = |times: &mut Vec<Duration>, window: Duration| {
        times.sort();
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|u| **u < times[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    };
    assert!(most_within(&mut counted, Duration::from_secs(1)) <= 4);
    for times in own_edits.values_mut() {
        assert!(most_within(times, Duration::from_secs(5)) <= 5);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_discord_under_pressure_a_job_shows_itself_in_its_slash_command_s_follow_up() {
    use crate::discord::start_bot;
    use crate::fake_discord::{APP, CHANNEL, FakeDiscord};
    use serde_json::json;

    let fake = FakeDiscord::start().await;
    let mut settings = fake.settings();
    // Three calls a second in all: six builds at once want far more.
    settings.limits = Limits {
        global: 3,
        ..Limits::default()
    };
    let (sim, bot) = start_bot(settings, |_| {}, |_| {}).await;
    fake.wait_ready().await;
    let mut tokens = Vec::new();
    for i in 0..6 {
        let branch = json!(format!("b{i}"));
        tokens.push(fake.command(
            "alice",
            "build",
            &[("project", json!("web")), ("branch", branch)],
        ));
    }
    // A job under pressure posts its message as its command's public follow-up ...
    let (at, followup) = fake
        .wait_for("a job's message posted as its command's follow-up", |f| {
            f.calls().into_iter().enumerate().find(|(_, c)| {
                c.method == "POST" && c.path.starts_with("/webhooks/") && c.status == 200
            })
        })
        .await;
    let token = followup.path.rsplit('/').next().unwrap().to_string();
    assert!(tokens.contains(&token));
    assert_ne!(followup.body["flags"], 64, "public: {}", followup.body);
    // ... only once the command's own answer is in place (the first follow-up of a
    // deferred command would replace it).
    let answered = fake.calls().iter().position(|c| {
        c.method == "PATCH" && c.path == format!("/webhooks/{APP}/{token}/messages/@original")
    });
    assert!(
        answered.is_some_and(|a| a < at),
        "answered at {answered:?}, followed up at {at}"
    );
    let content = followup.body["content"].as_str().unwrap().to_string();
    assert!(content.contains("requested by <@1>"), "{content}");
    let own = fake
        .wait_for("the follow-up in the channel", |f| {
            f.messages_in(CHANNEL)
                .into_iter()
                .find(|m| m.versions[0] == content)
        })
        .await;
    // The job's thread hangs on it.
    let threads = format!("/channels/{CHANNEL}/messages/{}/threads", own.id);
    fake.wait_call("open the thread on the follow-up", |c| {
        c.is("POST", &threads)
    })
    .await;
    // Its build runs to its end; the job's end shows in its own message, edited
    // through its command's interaction rather than the bot's shared budget.
    let engine = bot.engine();
    fake.wait_for("its build started", |_| {
        (1..=6)
            .filter_map(|n| engine.job_in_memory(releasebot::names::JobId(n)))
            .find(|r| {
                r.messages.progress.as_ref().map(|p| p.message.as_str())
                    == Some(&own.id.to_string())
            })
            .and_then(|r| r.build)
            .and_then(|b| b.execution)
    })
    .await;
    sim.simulator().advance(Duration::from_secs(200));
    fake.wait_message(own.id, "show how the job ended", |c| {
        c.contains("succeeded")
    })
    .await;
    let through_interaction = format!("/webhooks/{APP}/{token}/messages/{}", own.id);
    assert!(
        fake.calls()
            .iter()
            .any(|c| c.is("PATCH", &through_interaction) && c.status == 200),
        "edited through its interaction"
    );
    bot.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_job_in_its_command_s_own_message_resumes_there_after_a_restart() {
    let db = crate::helpers::TempDb::new("restart-own-message");
    let (chat, mut bot) = pressed_bot(1, true, db.open().await, Clock::new()).await;
    let mut jobs = Vec::new();
    for i in 0..6 {
        jobs.push(bot.start("alice", &format!("/build web b{i}")).await);
    }
    let own_message = |bot: &crate::helpers::TestBot| {
        jobs.iter().copied().find(|job| {
            let r = bot.record(*job);
            r.messages.progress.is_some()
                && r.messages.thread.map(|t| t.summary) == r.messages.progress
        })
    };
    let mut job = None;
    for _ in 0..60 {
        job = own_message(&bot);
        if job.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let job = job.expect("a job under pressure in its command's own message");
    let message = bot.progress_ref(job);
    tokio::time::sleep(Duration::from_secs(6)).await;

    bot.restart(|| db.open()).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded);
    assert_eq!(bot.progress_ref(job), message, "the same message");
    let text = chat.message(&message).unwrap().text;
    assert!(text.contains("↻ resumed after a restart at"), "{text}");
    assert!(
        text.contains("succeeded") && text.contains("✅ Stage 12"),
        "{text}"
    );
    // It showed the job's progress throughout: never the one-line summary, and no
    // second progress message in its thread.
    for (_, shown) in chat.history(&message) {
        assert!(shown.contains(" · requested by "), "{shown}");
    }
    let thread = r.messages.thread.unwrap();
    assert!(chat.messages_in(&thread.thread).is_empty());
}
