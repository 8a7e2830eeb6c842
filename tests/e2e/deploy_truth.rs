//! Deploy truth (`docs/paas.md#deploy-truth`): against every kind of PaaS the simulator
//! can be — the in-house PaaS, stock Rancher's timing (new answers at once, the old
//! status for a while, `active` before the workloads roll), a PaaS showing only `state`
//! and `conditions`, and an app whose previous deploy failed — every deploy path
//! reports success only after the new rollout is truly done, reads the logs only after
//! that, upgrades once, and reports a new failure as this deploy's.

use std::time::{Duration, SystemTime};

use releasebot::clock::to_ms;
use releasebot::job::{AuditAction, JobRecord, JobState, Outcome};
use releasebot::names::JobId;
use releasebot::sim::{AppFlavour, Scenario};

use crate::helpers::{TempDb, TestBot, demo_config, spawn_bot, spawn_bot_on};

const API: &str = "p-5tfq9:api-deploy";
const WEB: &str = "p-5tfq9:project-deploy";
const OLD_FAILURE: &str = "Error: UPGRADE FAILED: an earlier deploy's image could not be pulled";

/// Every kind of PaaS, with and without a failed previous deploy.
fn worlds() -> Vec<(String, Scenario)> {
    let mut worlds = Vec::new();
    for flavour in AppFlavour::ALL {
        for failed_before in [false, true] {
            let mut scenario = Scenario::demo().with_app_flavour(flavour);
            if failed_before {
                for app in &mut scenario.apps {
                    app.failed_before = Some(OLD_FAILURE.into());
                }
            }
            let name = format!(
                "{}{}",
                flavour.name(),
                if failed_before { ", failed before" } else { "" }
            );
            worlds.push((name, scenario));
        }
    }
    worlds
}

fn ms(t: SystemTime) -> i64 {
    to_ms(t)
}

/// The job succeeded no sooner than the simulator's new rollout was done, read the
/// logs only after that, and the app was upgraded exactly once.
async fn truthful(world: &str, bot: &TestBot, job: JobId, app_id: &str) -> JobRecord {
    let r = bot.finished(job).await;
    assert_eq!(
        r.state,
        JobState::Succeeded,
        "{world}: {}",
        bot.progress(job)
    );
    let rollouts = bot.sim.rollouts(app_id);
    assert_eq!(rollouts.len(), 1, "{world}: one upgrade: {rollouts:?}");
    let rollout = &rollouts[0];
    let Some(done) = rollout.done_at else {
        panic!("{world}: success reported while the rollout was still going");
    };
    assert!(!rollout.failed, "{world}");
    let decided = r
        .audit
        .iter()
        .find(|a| a.action == AuditAction::DeployEnd)
        .expect("the deploy's end is audited")
        .at_ms;
    // The bot's clock and the simulator's are anchored a moment apart.
    let slack = 500;
    assert!(
        decided >= ms(done) - slack,
        "{world}: success {} ms before the rollout was done",
        ms(done) - decided
    );
    let reads = bot.sim.log_reads(app_id);
    assert!(!reads.is_empty(), "{world}: the logs were read");
    for read in reads {
        assert!(
            ms(read) >= ms(done) - slack,
            "{world}: logs read {} ms before the rollout was done",
            ms(done) - ms(read)
        );
    }
    assert!(
        r.logs.as_ref().is_some_and(|l| !l.lines.is_empty()),
        "{world}: {:?}",
        r.logs
    );
    r
}

#[tokio::test(start_paused = true)]
async fn a_deploy_succeeds_only_once_the_new_rollout_is_done() {
    for (world, scenario) in worlds() {
        let bot = spawn_bot(scenario, demo_config(|_| {})).await;
        let job = bot.start("alice", "/deploy api v2.0.0").await;
        let r = truthful(&world, &bot, job, API).await;
        let text = bot.progress(job);
        assert!(text.contains("→ v2.0.0"), "{world}: {text}");
        assert!(r.deploy.unwrap().rollout.picked_up_ms.is_some(), "{world}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_release_deploys_its_build_only_once_the_new_rollout_is_done() {
    for (world, scenario) in worlds() {
        let bot = spawn_bot(scenario, demo_config(|_| {})).await;
        let job = bot.start("alice", "/release api").await;
        let r = truthful(&world, &bot, job, API).await;
        assert_eq!(bot.sim.stats().total_runs(), 1, "{world}");
        assert_eq!(
            r.deploy_tag().map(|t| t.to_string()),
            r.build.unwrap().tag,
            "{world}: the built tag"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_approved_deploy_succeeds_only_once_the_new_rollout_is_done() {
    for (world, scenario) in worlds() {
        let bot = spawn_bot(scenario, demo_config(|_| {})).await;
        let job = bot.start("alice", "/deploy web v3.1.0").await;
        bot.wait_for(job, "awaiting approval", |r| r.messages.approval.is_some())
            .await;
        bot.say("bob", &format!("/approve {}", job.0)).await;
        truthful(&world, &bot, job, WEB).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_restart_between_the_upgrade_and_the_rollout_follows_the_same_rollout() {
    for (world, scenario) in worlds() {
        let db = TempDb::new("truth-restart");
        let mut bot = spawn_bot_on(scenario, demo_config(|_| {}), db.open().await).await;
        let job = bot.start("alice", "/deploy api v2.0.1").await;
        bot.wait_for(job, "upgraded", |r| {
            r.deploy.as_ref().is_some_and(|d| d.sent_ms().is_some())
        })
        .await;
        bot.restart(|| db.open()).await;
        truthful(&world, &bot, job, API).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_helm_failure_fails_the_deploy_with_its_message() {
    let new = "Error: UPGRADE FAILED: timed out waiting for the condition";
    for (world, mut scenario) in worlds() {
        scenario.app_mut("api-deploy").unwrap().fail = Some(new.into());
        let bot = spawn_bot(scenario, demo_config(|_| {})).await;
        let job = bot.start("alice", "/deploy api v2.0.2").await;
        let r = bot.finished(job).await;
        assert_eq!(r.state, JobState::Failed, "{world}: {}", bot.progress(job));
        match &r.outcome {
            Some(Outcome::DeployFailed { message, .. }) => {
                assert!(message.contains("timed out waiting"), "{world}: {message}")
            }
            other => panic!("{world}: {other:?}"),
        }
        let rollout = &bot.sim.rollouts(API)[0];
        assert!(rollout.failed, "{world}");
        let failed_at = r.ended_ms.unwrap();
        assert!(
            failed_at >= ms(rollout.done_at.unwrap()) - 500,
            "{world}: the failure reported before it happened"
        );
        assert!(
            bot.sim.log_reads(API).is_empty(),
            "{world}: no logs of a failed deploy"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_upgrade_the_paas_never_takes_up_is_reported_as_such() {
    let mut scenario = Scenario::demo().with_app_flavour(AppFlavour::Stock);
    // Stock Rancher's helm controller, stuck: the answers change, the status never.
    scenario.app_mut("api-deploy").unwrap().pickup_seconds = 100_000.0;
    let bot = spawn_bot(scenario, demo_config(|_| {})).await;
    let job = bot.start("alice", "/deploy api v2.0.3").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Failed);
    match &r.outcome {
        Some(Outcome::NoSignOfUpgrade { shows, .. }) => {
            assert!(shows.contains("active"), "{shows}");
            assert!(
                shows.contains("tag v2.0.3"),
                "it says what the PaaS shows: {shows}"
            );
        }
        other => panic!("{other:?}"),
    }
    let took = Duration::from_millis((r.ended_ms.unwrap() - r.created_ms) as u64);
    assert!(
        took >= Duration::from_secs(120) && took < Duration::from_secs(180),
        "the pickup window, not the deploy timeout: {took:?}"
    );
    assert!(
        bot.progress(job).contains("shows no sign"),
        "{}",
        bot.progress(job)
    );
}

/// The build side of the in-house PaaS as it changes: `run` answering 500 after it
/// created the execution, a slow `run`, the tag filled a moment after `Success`, an
/// `executionState` releasebot does not know, listings whose next links name another
/// host. Each release builds once and deploys the tag it built.
#[tokio::test(start_paused = true)]
async fn builds_are_followed_whatever_the_pipeline_does() {
    type Change = fn(&mut Scenario);
    let cases: [(&str, Change); 6] = [
        ("run answers 500 after acting", |s| {
            s.pipeline_mut("p-8kd2m").unwrap().run_fails_after_create = true
        }),
        ("a slow run", |s| {
            s.pipeline_mut("p-8kd2m").unwrap().run_delay_seconds = 30.0
        }),
        ("a run slower than its timeout", |s| {
            s.pipeline_mut("p-8kd2m").unwrap().run_delay_seconds = 90.0
        }),
        ("the tag comes after Success", |s| {
            s.pipeline_mut("p-8kd2m").unwrap().fields_delay_seconds = 20.0
        }),
        ("an executionState releasebot does not know", |s| {
            s.pipeline_mut("p-8kd2m").unwrap().unknown_state = Some("Running".into())
        }),
        ("next links on another host, after an ambiguous run", |s| {
            s.page_size = 1;
            s.next_base_url = Some("https://rancher.internal:8443".into());
            s.pipeline_mut("p-8kd2m").unwrap().run_fails_after_create = true;
        }),
    ];
    for (what, change) in cases {
        let mut scenario = Scenario::demo();
        change(&mut scenario);
        let bot = spawn_bot(scenario, demo_config(|_| {})).await;
        if what.starts_with("next links") {
            // Earlier runs, so the listing has pages to follow.
            for _ in 0..2 {
                let job = bot.start("alice", "/build api feature-x").await;
                bot.finished(job).await;
            }
        }
        let runs = bot.sim.stats().total_runs();
        let job = bot.start("alice", "/release api").await;
        let r = bot.finished(job).await;
        assert_eq!(
            r.state,
            JobState::Succeeded,
            "{what}: {}",
            bot.progress(job)
        );
        assert_eq!(bot.sim.stats().total_runs(), runs + 1, "{what}: one build");
        let built = r.build.as_ref().and_then(|b| b.tag.clone());
        assert!(built.is_some(), "{what}");
        assert_eq!(r.deploy_tag().map(|t| t.to_string()), built, "{what}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_tag_that_never_comes_fails_the_release_after_a_minute() {
    let mut scenario = Scenario::demo();
    scenario
        .pipeline_mut("p-8kd2m")
        .unwrap()
        .fields_delay_seconds = 600.0;
    let bot = spawn_bot(scenario, demo_config(|_| {})).await;
    let job = bot.start("alice", "/release api").await;
    let r = bot.finished(job).await;
    assert!(
        matches!(r.outcome, Some(Outcome::NoVersionTag { .. })),
        "{:?}",
        r.outcome
    );
    assert_eq!(bot.sim.stats().total_upgrades(), 0);
}

/// Deploys of one app back to back: the first keeps reading its logs for a while after
/// its rollout, but never once the next deploy has the app's turn, so its excerpt shows
/// its own pods only.
#[tokio::test(start_paused = true)]
async fn a_deploy_s_logs_are_its_own_even_when_the_next_deploy_follows_at_once() {
    for (world, scenario) in worlds() {
        let mut scenario = scenario;
        // Short rollouts, so the next one is done while the first still reads logs.
        for app in &mut scenario.apps {
            app.logs_grow = true;
            app.install_seconds = 1.0;
            app.rollout_seconds = 1.0;
            app.pickup_seconds = 0.5;
            app.blip_seconds = 0.2;
        }
        let bot = spawn_bot(scenario, demo_config(|_| {})).await;
        let first = bot.start("alice", "/deploy api v3.0.0").await;
        let second = bot.start("alice", "/deploy api v3.0.1").await;
        let (a, b) = (bot.finished(first).await, bot.finished(second).await);
        assert_eq!(
            (a.state, b.state),
            (JobState::Succeeded, JobState::Succeeded),
            "{world}"
        );
        let own = |r: &JobRecord, tag: &str, other: &str| {
            let lines = &r.logs.as_ref().expect("logs were read").lines;
            assert!(
                lines.iter().any(|l| l.contains(&format!("version {tag}"))),
                "{world}: {lines:?}"
            );
            assert!(
                !lines
                    .iter()
                    .any(|l| l.contains(&format!("version {other}"))),
                "{world}: {lines:?}"
            );
        };
        own(&a, "v3.0.0", "v3.0.1");
        own(&b, "v3.0.1", "v3.0.0");
    }
}
