//! A restart loses nothing and starts nothing twice: in-process restarts at each step,
//! a crash between recording the intent and sending the run, and the real binary
//! killed with SIGKILL in the middle of a build.

use std::time::Duration;

use releasebot::chat::APPROVE;
use releasebot::commands::Reply;
use releasebot::job::{AuditAction, JobState};
use releasebot::names::JobId;
use releasebot::sim::{Fault, InjectedFault, Route, Scenario};

use crate::cli::{TempDir, against_sim, fast_config, spawn_cli};
use crate::helpers::{TempDb, demo_config, spawn_bot_on, spawn_sim};

/// The job's thread holds exactly these many messages, and the channel one summary.
fn assert_one_thread(bot: &crate::helpers::TestBot, job: JobId, messages: usize) {
    let r = bot.record(job);
    let thread = r.messages.thread.expect("a thread");
    assert_eq!(bot.chat.threads().len(), 1, "no second thread");
    assert_eq!(
        bot.chat.messages_in(&thread.thread).len(),
        messages,
        "no second progress message"
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_during_a_build_keeps_following_it_in_the_same_message() {
    let db = TempDb::new("restart-build");
    let mut bot = spawn_bot_on(Scenario::demo(), demo_config(|_| {}), db.open().await).await;
    let job = bot.start("alice", "/build web").await;
    bot.wait_for(job, "building", |r| {
        r.state == JobState::Building && r.messages.progress.is_some()
    })
    .await;
    let message = bot.progress_ref(job);
    tokio::time::sleep(Duration::from_secs(20)).await;

    assert_eq!(bot.restart(|| db.open()).await, 1);
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded);
    assert_eq!(bot.progress_ref(job), message, "the same message");
    let text = bot.progress(job);
    assert!(text.contains("✅ #1 build web@master"), "{text}");
    assert!(text.contains("↻ resumed after a restart at"), "{text}");
    assert!(
        text.contains("image  harbor.example.com/team/web:"),
        "{text}"
    );
    assert_one_thread(&bot, job, 1);
    assert_eq!(bot.sim.stats().total_runs(), 1, "one build, not two");
    assert!(r.audit.iter().any(|a| a.action == AuditAction::Resume));

    // Job numbers go on from where they were, and history survives the restart.
    let next = bot.start("bob", "/build api").await;
    assert_eq!(next, JobId(2));
    let history = bot.say("dave", "/history web").await;
    assert!(
        history.text().contains("#1 build web@master · by alice"),
        "{}",
        history.text()
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_during_a_pending_approval_keeps_the_request_and_its_votes() {
    let db = TempDb::new("restart-approval");
    let config = demo_config(|c| {
        let web = c
            .apps
            .get_mut(&releasebot::names::AppName::parse("web").unwrap())
            .unwrap();
        web.policy.votes = 2;
    });
    let mut bot = spawn_bot_on(Scenario::demo(), config, db.open().await).await;
    let job = bot.start("alice", "/deploy web v1.2.3").await;
    bot.wait_for(job, "awaiting approval", |r| r.messages.approval.is_some())
        .await;
    let approval = bot.approval_ref(job);
    bot.chat.react_as("bob", &approval, APPROVE).await;
    tokio::time::sleep(Duration::from_secs(30)).await;

    bot.restart(|| db.open()).await;
    let r = bot
        .wait_for(job, "waiting again", |r| {
            r.state == JobState::AwaitingApproval
        })
        .await;
    assert_eq!(
        r.approval.as_ref().unwrap().votes.len(),
        1,
        "bob's vote survived"
    );
    // The vote completing the quorum arrives on the same approval message.
    assert_eq!(
        bot.chat.react_as("carol", &approval, APPROVE).await,
        Some(Reply::Vote(releasebot::job::decisions::VoteOutcome::Voted(
            JobId(1),
            releasebot::job::VoteResult::Approved
        )))
    );
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    assert_eq!(bot.approval_ref(job), approval);
    assert_one_thread(&bot, job, 2);
    assert_eq!(bot.sim.stats().total_upgrades(), 1);
    assert_eq!(r.approvers(), ["bob", "carol"]);
}

#[tokio::test(start_paused = true)]
async fn an_approval_deadline_runs_on_through_a_restart() {
    let db = TempDb::new("restart-expiry");
    let config = demo_config(|c| {
        let web = c
            .apps
            .get_mut(&releasebot::names::AppName::parse("web").unwrap())
            .unwrap();
        web.policy.timeout = Duration::from_secs(600);
    });
    let mut bot = spawn_bot_on(Scenario::demo(), config, db.open().await).await;
    let job = bot.start("alice", "/deploy web v1").await;
    bot.wait_for(job, "awaiting approval", |r| r.messages.approval.is_some())
        .await;
    let deadline = bot.record(job).approval.unwrap().deadline_ms;
    tokio::time::sleep(Duration::from_secs(400)).await;
    bot.restart(|| db.open()).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::TimedOut);
    assert_eq!(
        r.approval.unwrap().deadline_ms,
        deadline,
        "the deadline was not reset"
    );
    let expired_at = r.ended_ms.unwrap();
    assert!(
        expired_at >= deadline && expired_at < deadline + 5_000,
        "it expired on time"
    );
    assert_eq!(bot.sim.stats().total_upgrades(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_restart_during_a_deploy_follows_the_rollout_without_upgrading_again() {
    let db = TempDb::new("restart-deploy");
    let mut bot = spawn_bot_on(Scenario::demo(), demo_config(|_| {}), db.open().await).await;
    let job = bot.start("alice", "/deploy api v2").await;
    bot.wait_for(job, "deploying", |r| {
        r.deploy.as_ref().is_some_and(|d| d.sent_ms().is_some())
    })
    .await;
    let message = bot.progress_ref(job);
    bot.restart(|| db.open()).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    assert_eq!(bot.progress_ref(job), message);
    assert!(
        bot.progress(job).contains("✅ active"),
        "{}",
        bot.progress(job)
    );
    assert!(
        bot.progress(job)
            .contains("api-deploy starting, version v2"),
        "{}",
        bot.progress(job)
    );
    assert_eq!(bot.sim.stats().total_upgrades(), 1, "one upgrade, not two");
    assert_one_thread(&bot, job, 1);
}

#[tokio::test(start_paused = true)]
async fn deploys_queued_behind_one_keep_their_order_through_a_restart() {
    let db = TempDb::new("restart-queue");
    let mut bot = spawn_bot_on(Scenario::demo(), demo_config(|_| {}), db.open().await).await;
    let first = bot.start("alice", "/deploy api v1").await;
    let second = bot.start("alice", "/deploy api v2").await;
    let third = bot.start("alice", "/deploy api v3").await;
    bot.wait_for(third, "queued", |r| {
        r.queue.and_then(|q| q.behind) == Some(second)
    })
    .await;
    bot.restart(|| db.open()).await;
    for job in [first, second, third] {
        assert_eq!(bot.finished(job).await.state, JobState::Succeeded);
    }
    let ends: Vec<i64> = [first, second, third]
        .iter()
        .map(|j| bot.record(*j).ended_ms.unwrap())
        .collect();
    assert!(
        ends[0] <= ends[1] && ends[1] <= ends[2],
        "they finished in order: {ends:?}"
    );
    let app = bot
        .engine
        .paas()
        .get_app(&crate::helpers::api_app())
        .await
        .unwrap();
    assert_eq!(app.version_tag.as_deref(), Some("v3"));
    assert_eq!(bot.sim.stats().total_upgrades(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_crash_after_the_run_request_left_adopts_the_build_it_started() {
    let db = TempDb::new("crash-after-run");
    let mut bot = spawn_bot_on(Scenario::demo(), demo_config(|_| {}), db.open().await).await;
    // The PaaS starts the build but its answer never arrives before the crash.
    bot.sim.inject(InjectedFault {
        route: Some(Route::Run),
        fault: Fault::Slow { ms: 60_000 },
        times: 1,
    });
    let job = bot.start("alice", "/build web").await;
    bot.wait_for(job, "the run sent", |_| bot.sim.stats().total_runs() == 1)
        .await;
    let r = bot.record(job);
    assert!(
        r.build.as_ref().unwrap().intent.is_some(),
        "the intent was recorded first"
    );
    assert!(
        r.build.as_ref().unwrap().execution.is_none(),
        "the crash comes before the answer"
    );

    bot.restart(|| db.open()).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    assert_eq!(
        bot.sim.stats().total_runs(),
        1,
        "the build it had started was adopted"
    );
    assert!(
        r.audit
            .iter()
            .any(|a| a.detail.contains("sent before a restart")),
        "{:?}",
        r.audit
    );
}

#[tokio::test(start_paused = true)]
async fn a_crash_before_the_run_request_left_runs_it_once() {
    let db = TempDb::new("crash-before-run");
    let mut bot = spawn_bot_on(Scenario::demo(), demo_config(|_| {}), db.open().await).await;
    // The PaaS turns the request away before acting on it and asks to come back in
    // a minute; the bot dies while it waits.
    bot.sim.inject(InjectedFault {
        route: Some(Route::Run),
        fault: Fault::RateLimited {
            retry_after_seconds: 3600.0,
        },
        times: 1,
    });
    let job = bot.start("alice", "/build web").await;
    bot.wait_for(job, "the intent recorded", |r| {
        r.build.as_ref().is_some_and(|b| b.intent.is_some())
    })
    .await;
    assert_eq!(bot.sim.stats().total_runs(), 0);
    bot.restart(|| db.open()).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    assert_eq!(bot.sim.stats().total_runs(), 1);
}

#[tokio::test]
async fn the_real_binary_killed_mid_build_resumes_and_follows_the_build_to_its_image() {
    // The PaaS runs outside the bot, so the kill does not stop it.
    let mut scenario = Scenario::demo();
    scenario.speed = 60.0;
    let sim = spawn_sim(scenario).await;
    let dir = TempDir::new("sigkill");
    let env = against_sim(sim.url(), &dir, &fast_config());
    let mut first = spawn_cli(&["shell"], &env, TempDir::new("sigkill-a"));
    first.send("/build web").await;
    first.expect("🔄 Build").await;
    first.kill().await;
    assert_eq!(sim.stats().total_runs(), 1);

    let second = spawn_cli(&["shell"], &env, TempDir::new("sigkill-b"));
    let (code, out, err) = second.finish().await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("resuming 1 unfinished job"), "{out}");
    assert!(out.contains("↻ resumed after a restart"), "{out}");
    assert!(
        out.contains("✅ #1 build web@master · requested by alice · succeeded"),
        "{out}"
    );
    assert!(
        out.contains("image  harbor.example.com/team/web:master-1-"),
        "{out}"
    );
    assert_eq!(sim.stats().total_runs(), 1, "the PaaS saw one run");

    // A third start has nothing left to do, and numbers new jobs after #1.
    let mut third = spawn_cli(&["shell"], &env, TempDir::new("sigkill-c"));
    third.send("/status 1").await;
    third.send("/build api").await;
    let (_, out, _) = third.finish().await;
    assert!(!out.contains("resuming"), "{out}");
    assert!(out.contains("→ alice: ✅ #1 build web@master"), "{out}");
    assert!(out.contains("Started #2: build api@master"), "{out}");
}

#[tokio::test]
async fn a_state_file_that_is_locked_or_damaged_stops_the_start() {
    let dir = TempDir::new("db-faults");
    let config = dir
        .write("releasebot.toml", &fast_config())
        .display()
        .to_string();
    let db = dir.0.join("state.db").display().to_string();
    let env = [
        ("RELEASEBOT_CONFIG", config.as_str()),
        ("RELEASEBOT_DB", db.as_str()),
    ];
    let mut running = spawn_cli(&["shell"], &env, TempDir::new("db-a"));
    running.send("/status").await;
    running.expect("Nothing is running.").await;
    let second = spawn_cli(&["shell"], &env, TempDir::new("db-b"));
    let (code, _, err) = second.finish().await;
    assert_eq!(code, 1);
    assert!(
        err.contains("is in use by another running releasebot"),
        "{err}"
    );
    running.finish().await;

    let garbage = dir
        .write("garbage.db", &"not a database ".repeat(100))
        .display()
        .to_string();
    let env = [
        ("RELEASEBOT_CONFIG", config.as_str()),
        ("RELEASEBOT_DB", garbage.as_str()),
    ];
    let (code, _, err) = spawn_cli(&["shell"], &env, TempDir::new("db-c"))
        .finish()
        .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("is not a releasebot database or is damaged"),
        "{err}"
    );
    assert!(
        std::fs::read(&garbage)
            .unwrap()
            .starts_with(b"not a database"),
        "left as it was"
    );
}

#[tokio::test(start_paused = true)]
async fn a_store_that_fails_is_reported_and_starts_nothing_new() {
    let store = std::sync::Arc::new(releasebot::store::Store::open_in_memory().await.unwrap());
    let bot = spawn_bot_on(Scenario::demo(), demo_config(|_| {}), store.clone()).await;
    let job = bot.start("alice", "/build web").await;
    bot.wait_for(job, "building", |r| r.state == JobState::Building)
        .await;
    store.close();
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "the build itself goes on");
    let text = bot.progress(job);
    assert!(
        text.contains(
            "⚠️ releasebot could not save this job's state, so it may not resume after a restart"
        ),
        "{text}"
    );
    let reply = bot.say("alice", "/build api").await;
    assert!(
        reply
            .text()
            .starts_with("releasebot cannot record new jobs right now, so it started nothing"),
        "{reply:?}"
    );
    assert_eq!(bot.sim.stats().total_runs(), 1);
}

#[tokio::test(start_paused = true)]
async fn jobs_finished_before_a_restart_are_still_suggested_and_shown() {
    let db = TempDb::new("restart-recent");
    let mut bot = spawn_bot_on(Scenario::demo(), demo_config(|_| {}), db.open().await).await;
    let job = bot.start("alice", "/build web").await;
    let tag = bot.finished(job).await.build.unwrap().tag.unwrap();
    assert_eq!(bot.restart(|| db.open()).await, 0);
    // Read once at start, so autocomplete and /status need no store read.
    let recent = bot.engine.recent_jobs();
    assert_eq!(recent.len(), 1);
    assert_eq!(
        recent[0].build.as_ref().unwrap().tag.as_deref(),
        Some(tag.as_str())
    );
    let status = bot.say("dave", "/status").await;
    assert!(
        status
            .text()
            .starts_with("Nothing is running. Last: ✅ #1 build web@master"),
        "{status:?}"
    );
}
