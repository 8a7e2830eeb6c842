//! Faults injected with the simulator: each scenario runs a real release and checks
//! what the people in the thread see, and that nothing was started twice or lost.

use std::time::Duration;

use releasebot::chat::ChatError;
use releasebot::commands::Reply;
use releasebot::job::JobState;
use releasebot::names::JobId;
use releasebot::sim::{Fault, InjectedFault, Route, Scenario};

use crate::cli::{Cli, TempDir, against_sim, fast_config, spawn_cli};
use crate::helpers::{TestBot, demo_config, spawn_bot, spawn_sim};

fn storm(fault: Fault, times: u32) -> InjectedFault {
    InjectedFault {
        route: None,
        fault,
        times,
    }
}

/// Runs `/release api` to its end and checks it succeeded with one build and one upgrade.
async fn release_survives(bot: &TestBot, during_build: impl FnOnce(&TestBot)) {
    let job = bot.start("alice", "/release api").await;
    bot.wait_for(job, "building", |r| r.state == JobState::Building)
        .await;
    during_build(bot);
    let r = bot.finished(job).await;
    let text = bot.progress(job);
    assert_eq!(r.state, JobState::Succeeded, "{text}");
    assert!(text.contains("✅ active"), "{text}");
    assert!(
        !text.contains("unreachable"),
        "the outage notice is gone:\n{text}"
    );
    let stats = bot.sim.stats();
    assert_eq!(stats.total_runs(), 1, "one build: {stats:?}");
    assert_eq!(stats.total_upgrades(), 1, "one upgrade: {stats:?}");
    eprintln!("reliability: {} faults served and survived", stats.faults);
}

#[tokio::test(start_paused = true)]
async fn the_paas_refusing_connections_for_two_minutes_mid_build() {
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    let job = bot.start("alice", "/release api").await;
    bot.wait_for(job, "building", |r| r.state == JobState::Building)
        .await;
    eprintln!("reliability: 1 fault served and survived (two minutes of refused connections)");
    bot.sim.set_down(true);
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(
        bot.progress(job).contains("⚠️ PaaS unreachable, retrying."),
        "{}",
        bot.progress(job)
    );
    bot.sim.set_down(false);
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    assert_eq!(bot.sim.stats().total_runs(), 1);
    assert_eq!(bot.sim.stats().total_upgrades(), 1);
}

#[tokio::test(start_paused = true)]
async fn storms_of_429_502_slow_and_broken_answers_are_ridden_out() {
    let storms = [
        Fault::RateLimited {
            retry_after_seconds: 2.0,
        },
        Fault::Html502,
        Fault::Slow { ms: 10_000 },
        Fault::Truncated,
        Fault::ServerError,
        Fault::Unavailable,
    ];
    for fault in storms {
        let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
        let f = fault.clone();
        release_survives(&bot, move |bot| bot.sim.inject(storm(f, 12))).await;
        eprintln!("reliability: storm of {fault:?} survived");
    }
}

#[tokio::test(start_paused = true)]
async fn random_faults_on_every_request_from_the_start() {
    // A third of all requests fail, in four different orders: a fault may end a job
    // (a run or upgrade that cannot be confirmed is not sent again), never duplicate
    // one, and most jobs get through.
    let (mut succeeded, mut jobs_run, mut faults) = (0, 0, 0);
    for seed in [11, 12, 13, 14] {
        let mut scenario = Scenario::demo();
        scenario.seed = seed;
        scenario.faults.error_rate = 0.08;
        scenario.faults.html_502_rate = 0.08;
        scenario.faults.rate_limit_rate = 0.08;
        scenario.faults.truncated_rate = 0.08;
        // Polling only, so there are many requests to fail.
        let bot = spawn_bot(scenario, demo_config(|c| c.paas.subscribe = false)).await;
        let mut jobs = Vec::new();
        for (user, line) in [
            ("alice", "/release api"),
            ("bob", "/build web develop"),
            ("carol", "/build worker"),
        ] {
            jobs.push(bot.start(user, line).await);
        }
        for job in &jobs {
            let r = bot.finished(*job).await;
            jobs_run += 1;
            if r.state == JobState::Succeeded {
                succeeded += 1;
            } else {
                assert!(r.outcome.is_some(), "a failure says why");
            }
        }
        let stats = bot.sim.stats();
        assert!(
            stats.total_runs() <= 3,
            "never two builds for one request: {stats:?}"
        );
        assert!(stats.total_upgrades() <= 1, "{stats:?}");
        faults += stats.faults;
    }
    assert!(faults >= 20, "faults were served: {faults}");
    assert!(
        succeeded * 3 >= jobs_run * 2,
        "most jobs get through: {succeeded} of {jobs_run}"
    );
    eprintln!(
        "reliability: {faults} faults served and survived; {succeeded} of {jobs_run} jobs succeeded"
    );
}

#[tokio::test(start_paused = true)]
async fn a_token_revoked_mid_job_fails_it_once_and_clearly() {
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    let job = bot.start("alice", "/release api").await;
    bot.wait_for(job, "building", |r| r.state == JobState::Building)
        .await;
    bot.sim.inject(InjectedFault {
        route: None,
        fault: Fault::Unauthorized,
        times: 1_000_000,
    });
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Failed);
    let text = bot.progress(job);
    assert!(
        text.contains("The PaaS rejected releasebot's API token (401 Unauthorized)"),
        "{text}"
    );
    let refused = bot.sim.stats().unauthorized;
    tokio::time::sleep(Duration::from_secs(600)).await;
    let after = bot.sim.stats().unauthorized;
    assert!(refused <= 3, "no retry loop: {refused} refused requests");
    assert!(
        after - refused <= 3,
        "nothing keeps knocking: {} more",
        after - refused
    );
    assert_eq!(bot.sim.stats().total_upgrades(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_chat_refusing_edits_for_a_while_still_gets_the_final_state() {
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    let job = bot.start("alice", "/release api").await;
    bot.wait_for(job, "building", |r| r.state == JobState::Building)
        .await;
    bot.chat.fail_next_edits(
        15,
        ChatError::rate_limited("429 Too Many Requests", Duration::from_secs(3)),
    );
    bot.chat
        .fail_next_edits(15, ChatError::transient("502 Bad Gateway"));
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded);
    let text = bot.progress(job);
    assert!(text.starts_with("✅ #1 release api@master"), "{text}");
    assert!(text.contains("logs (last 5 lines, redacted)"), "{text}");
    eprintln!("reliability: 30 faults served and survived (chat edits refused)");
}

#[tokio::test(start_paused = true)]
async fn two_hundred_commands_from_twenty_users_in_one_burst() {
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    let lines: Vec<(String, String)> = (0..200)
        .map(|i| {
            let user = format!("user{}", i % 20);
            let line = match i % 4 {
                0 => format!("/build web b{}", i % 7),
                1 => format!("/deploy api v{i}"),
                2 => "/build api".to_string(),
                _ => "/status".to_string(),
            };
            (user, line)
        })
        .collect();
    let replies = futures_util::future::join_all(
        lines
            .iter()
            .map(|(u, l)| bot.chat.say(u, crate::helpers::CHANNEL, l)),
    )
    .await;
    let mut started = Vec::new();
    for ((user, line), reply) in lines.iter().zip(&replies) {
        match reply {
            Some(Reply::Started { job, .. }) => started.push(*job),
            Some(Reply::Info(_)) => {}
            other => panic!("{user}: {line} was answered {other:?}"),
        }
    }
    // 7 web branches + 1 api build + 50 deploys; the other builds joined running ones.
    assert_eq!(started.len(), 58, "{started:?}");
    for job in &started {
        assert!(bot.finished(*job).await.state.is_final());
    }
    let finished: Vec<JobId> = bot.engine.recent_jobs().iter().map(|r| r.id).collect();
    for job in &started {
        assert!(finished.contains(job), "{job} was lost");
    }
    assert_eq!(bot.sim.stats().total_runs(), 8);
    assert_eq!(bot.sim.stats().total_upgrades(), 50);
}

/// The real binary, killed with SIGKILL at one step of a release and started again:
/// exactly one run and at most one upgrade reach the PaaS, and the release ends well.
async fn killed_at(
    step: &str,
    project: &str,
    fault: Option<InjectedFault>,
    until: impl Fn(&Cli, &releasebot::sim::SimStats) -> bool,
    approve: bool,
) {
    let mut scenario = Scenario::demo();
    scenario.speed = 60.0;
    let sim = spawn_sim(scenario).await;
    let dir = TempDir::new(&format!("kill-{step}"));
    let env = against_sim(sim.url(), &dir, &fast_config());
    if let Some(f) = fault {
        sim.inject(f);
    }
    let mut first = spawn_cli(&["shell"], &env, TempDir::new("kill-a"));
    first.send(&format!("/release {project}")).await;
    for _ in 0..600 {
        if until(&first, &sim.stats()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        until(&first, &sim.stats()),
        "{step}: never reached the step:\n{}",
        first.stdout()
    );
    first.kill().await;
    let mut second = spawn_cli(&["shell"], &env, TempDir::new("kill-b"));
    if approve {
        second.expect("resuming 1 unfinished job").await;
        second.send("@bob /approve 1").await;
    }
    let (code, out, err) = second.finish().await;
    assert_eq!(code, 0, "{step}: {err}");
    assert!(
        out.contains(&format!(
            "✅ #1 release {project}@master · requested by alice · succeeded"
        )),
        "{step}:\n{out}"
    );
    let stats = sim.stats();
    assert_eq!(stats.total_runs(), 1, "{step}: one run: {stats:?}");
    assert_eq!(stats.total_upgrades(), 1, "{step}: one upgrade: {stats:?}");
    eprintln!("reliability: 1 kill survived ({step})");
}

#[tokio::test]
async fn killed_before_the_run_request() {
    let hold = InjectedFault {
        route: Some(Route::Run),
        fault: Fault::RateLimited {
            retry_after_seconds: 3600.0,
        },
        times: 1,
    };
    killed_at(
        "before the run",
        "api",
        Some(hold),
        // The run request was held (answered "retry in an hour"): killed before any
        // answer, and the next start's request is not held.
        |cli, stats| cli.stdout().contains("triggering") && stats.faults == 1,
        false,
    )
    .await;
}

#[tokio::test]
async fn killed_after_the_run_request() {
    let hold = InjectedFault {
        route: Some(Route::Run),
        fault: Fault::Slow { ms: 60_000 },
        times: 1,
    };
    killed_at(
        "after the run",
        "api",
        Some(hold),
        |_, stats| stats.total_runs() == 1,
        false,
    )
    .await;
}

#[tokio::test]
async fn killed_during_the_approval() {
    killed_at(
        "during approval",
        "web",
        None,
        |cli, _| cli.stdout().contains("✋ Approval needed for #1"),
        true,
    )
    .await;
}

#[tokio::test]
async fn killed_after_the_upgrade_request() {
    let hold = InjectedFault {
        route: Some(Route::Upgrade),
        fault: Fault::Slow { ms: 60_000 },
        times: 1,
    };
    killed_at(
        "after upgradeoutter",
        "api",
        Some(hold),
        |_, stats| stats.total_upgrades() == 1,
        false,
    )
    .await;
}

#[tokio::test]
async fn killed_while_fetching_the_logs() {
    let hold = InjectedFault {
        route: Some(Route::DeployLogs),
        fault: Fault::Slow { ms: 60_000 },
        times: 1,
    };
    killed_at(
        "while fetching logs",
        "api",
        Some(hold),
        |_, stats| stats.by_route.get("deploy_logs").copied().unwrap_or(0) >= 1,
        false,
    )
    .await;
}
