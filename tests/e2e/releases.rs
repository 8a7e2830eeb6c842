//! A release to several apps, as a team with an API and a worker built from one
//! repository uses it: built once, approved once under the strictest of the apps'
//! policies, the exact built tag rolled out to each app (one after another, or all at
//! once), each app's line in the one message; a failing app stops the release there
//! and its message offers to roll back what it changed.

use std::time::Duration;

use releasebot::chat::APPROVE;
use releasebot::commands::Reply;
use releasebot::config::{Config, Rollout};
use releasebot::job::{DeployOrigin, JobRecord, JobSpec, JobState, Outcome};
use releasebot::names::{AppName, JobId, ProjectName};
use releasebot::sim::Scenario;

use crate::helpers::{TempDb, TestBot, demo_config, spawn_bot, spawn_bot_on};

const API: &str = "p-5tfq9:api-deploy";
const WORKER: &str = "p-7hw3c:worker-deploy";
const HELM_ERROR: &str = "Error: UPGRADE FAILED: container worker: crash loop back-off";

fn name(s: &str) -> AppName {
    AppName::parse(s).unwrap()
}

/// The `api` project releases to `apps`, rolled out as `rollout` says.
fn releasing(apps: &[&str], rollout: Rollout) -> impl FnOnce(&mut Config) {
    let apps: Vec<AppName> = apps.iter().map(|a| name(a)).collect();
    move |c: &mut Config| {
        let p = c
            .projects
            .get_mut(&ProjectName::parse("api").unwrap())
            .unwrap();
        p.deploys = apps;
        p.rollout = rollout;
    }
}

/// Makes every later upgrade of the worker fail (or succeed again) in the simulator.
fn worker_fails(bot: &TestBot, fail: bool) {
    crate::helpers::upgrades_fail(bot, "worker-deploy", fail.then_some(HELM_ERROR));
}

/// The legs of release `job`, in the order of its apps, as their records stand.
async fn legs(bot: &TestBot, job: JobId) -> Vec<JobRecord> {
    let r = bot.engine.job_record(job).await.unwrap();
    let mut out = Vec::new();
    for leg in r.legs.unwrap().apps {
        out.push(bot.engine.job_record(leg.job.unwrap()).await.unwrap());
    }
    out
}

fn tags(bot: &TestBot, app: &str) -> Vec<String> {
    bot.sim.rollouts(app).into_iter().map(|r| r.tag).collect()
}

fn built(r: &JobRecord) -> String {
    r.build.as_ref().and_then(|b| b.tag.clone()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn one_release_rolls_the_built_tag_out_to_each_app_one_after_another() {
    let config = demo_config(releasing(&["api", "worker"], Rollout::Sequential));
    let bot = spawn_bot(Scenario::demo(), config).await;
    let reply = bot.say("alice", "/release api").await;
    let Reply::Started { job, text } = reply else {
        panic!("not started: {reply:?}");
    };
    assert!(
        text.contains("release api@master to api and worker"),
        "{text}"
    );
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    let tag = built(&r);
    // One build, one upgrade of each app, to exactly the built tag.
    assert_eq!(bot.sim.stats().total_runs(), 1);
    assert_eq!(tags(&bot, API), std::slice::from_ref(&tag));
    assert_eq!(tags(&bot, WORKER), std::slice::from_ref(&tag));
    let legs = legs(&bot, job).await;
    assert_eq!(legs.len(), 2);
    for (leg, app) in legs.iter().zip(["api", "worker"]) {
        assert_eq!(leg.spec.app(), Some(&name(app)));
        assert_eq!(leg.state, JobState::Succeeded);
        assert!(matches!(
            &leg.spec,
            JobSpec::Deploy { origin: DeployOrigin::Release { release, .. }, .. } if *release == job
        ));
        // A leg has no thread of its own: its release's message shows it.
        assert!(leg.messages.thread.is_none());
    }
    // The worker started once the api's rollout had succeeded.
    assert!(legs[1].created_ms >= legs[0].ended_ms.unwrap());
    let api = bot.sim.rollouts(API)[0].done_at.unwrap();
    let worker = bot.sim.rollouts(WORKER)[0].upgraded_at;
    assert!(
        worker >= api,
        "the worker was upgraded before the api was done"
    );
    let text = bot.progress(job);
    for app in ["api", "worker"] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!(" {app}")) && l.contains(&format!("→ {tag} (#")))
            .unwrap_or_else(|| panic!("no line for {app}: {text}"));
        assert!(
            line.starts_with('✅') && line.ends_with("succeeded"),
            "{line}"
        );
    }
    // Each app's history shows its own deploy, as any deploy.
    let history = bot.engine.store().history("worker", 5).await.unwrap();
    assert_eq!(history[0].id, legs[1].id);
}

#[tokio::test(start_paused = true)]
async fn a_parallel_release_rolls_every_app_out_at_once() {
    let config = demo_config(releasing(&["api", "worker"], Rollout::Parallel));
    let bot = spawn_bot(Scenario::demo(), config).await;
    let job = bot.start("alice", "/release api").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    let tag = built(&r);
    assert_eq!(tags(&bot, API), std::slice::from_ref(&tag));
    assert_eq!(tags(&bot, WORKER), [tag]);
    let api = &bot.sim.rollouts(API)[0];
    let worker = &bot.sim.rollouts(WORKER)[0];
    assert!(
        worker.upgraded_at < api.done_at.unwrap() && api.upgraded_at < worker.done_at.unwrap(),
        "the two rollouts did not overlap"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_app_stops_the_release_there_and_the_rest_is_untouched() {
    let config = demo_config(releasing(&["worker", "api"], Rollout::Sequential));
    let bot = spawn_bot(Scenario::demo(), config).await;
    worker_fails(&bot, true);
    let job = bot.start("alice", "/release api").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Failed);
    let Some(Outcome::LegFailed { app, job: leg, .. }) = &r.outcome else {
        panic!("not a failed leg: {:?}", r.outcome);
    };
    assert_eq!(app, &name("worker"));
    assert!(leg.is_some());
    assert_eq!(tags(&bot, WORKER).len(), 1);
    assert!(tags(&bot, API).is_empty(), "the api was touched");
    let text = bot.progress(job);
    println!("{text}");
    assert!(text.contains("worker"), "{text}");
    assert!(
        text.contains(HELM_ERROR),
        "the worker's error is not named: {text}"
    );
    assert!(text.contains("· api → "), "{text}");
    assert!(text.contains("not started"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_release_offers_rolling_back_what_it_changed_and_the_button_does_it() {
    let config = demo_config(releasing(&["api", "worker"], Rollout::Sequential));
    let bot = spawn_bot(Scenario::demo(), config).await;
    let good = bot.start("alice", "/release api").await;
    let first = built(&bot.finished(good).await);
    worker_fails(&bot, true);
    let bad = bot.start("alice", "/release api").await;
    let r = bot.finished(bad).await;
    assert_eq!(r.state, JobState::Failed, "{}", bot.progress(bad));
    let second = built(&r);
    assert_ne!(first, second);
    assert_eq!(tags(&bot, API), [first.clone(), second.clone()]);
    let message = bot.chat.message(&bot.progress_ref(bad)).unwrap();
    assert!(
        message
            .text
            .contains("/rollback api rolls api and worker back"),
        "{}",
        message.text
    );
    let button = message.buttons.last().expect("a rollback button");
    assert_eq!(button.label, "Roll back api and worker");
    worker_fails(&bot, false);

    let reply = bot
        .chat
        .press("bob", &bot.progress_ref(bad), &button.action.id())
        .await
        .expect("the button answers");
    let Reply::Started { text, .. } = reply else {
        panic!("no rollback: {reply:?}");
    };
    assert!(
        text.contains(&format!("rollback of api to {first}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("rollback of worker to {first}")),
        "{text}"
    );
    bot.engine.wait_idle().await;
    for app in [API, WORKER] {
        assert_eq!(tags(&bot, app).last(), Some(&first), "{app}");
    }
    // One upgrade each way, nothing more.
    assert_eq!(tags(&bot, API).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn rolling_back_a_release_by_its_project_name_undoes_every_app() {
    let config = demo_config(releasing(&["api", "worker"], Rollout::Parallel));
    let bot = spawn_bot(Scenario::demo(), config).await;
    let one = bot.start("alice", "/release api").await;
    let first = built(&bot.finished(one).await);
    let two = bot.start("alice", "/release api").await;
    bot.finished(two).await;
    let reply = bot.say("alice", "/rollback api").await;
    assert!(matches!(reply, Reply::Started { .. }), "{reply:?}");
    bot.engine.wait_idle().await;
    assert_eq!(tags(&bot, API).last(), Some(&first));
    assert_eq!(tags(&bot, WORKER).last(), Some(&first));
}

#[tokio::test(start_paused = true)]
async fn one_approval_covers_the_release_under_the_strictest_policy_of_its_apps() {
    let config = demo_config(|c| {
        releasing(&["web", "api"], Rollout::Sequential)(c);
        // web: one vote from a lead; api: two votes from a lead or an admin.
        let api = c.apps.get_mut(&name("api")).unwrap();
        api.policy.approvers = vec!["admin".into()];
        api.policy.votes = 2;
    });
    let bot = spawn_bot(Scenario::demo(), config).await;
    let job = bot.start("alice", "/release api").await;
    bot.wait_for(job, "asking for approval", |r| r.waits_on_people())
        .await;
    let r = bot.record(job);
    let a = r.approval.as_ref().unwrap();
    assert_eq!(a.policy.approvers, ["lead", "admin"]);
    assert_eq!(a.need(), 2);
    let text = bot.approval_text(job);
    assert!(text.contains("web and api"), "{text}");
    // One vote is not enough, nor is a vote from someone with no approver role.
    let approval = bot.approval_ref(job);
    bot.chat.react_as("bob", &approval, APPROVE).await;
    bot.chat.react_as("dave", &approval, APPROVE).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(bot.record(job).state, JobState::AwaitingApproval);
    assert!(tags(&bot, API).is_empty());
    // An admin's vote completes it; neither app asks again.
    bot.chat.react_as("root", &approval, APPROVE).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    assert_eq!(tags(&bot, API), [built(&r)]);
    assert_eq!(tags(&bot, "p-5tfq9:project-deploy"), [built(&r)]);
    for leg in legs(&bot, job).await {
        assert!(leg.messages.approval.is_none(), "a leg asked again");
    }
}

#[tokio::test(start_paused = true)]
async fn a_release_cut_by_a_restart_between_its_apps_goes_on_with_one_upgrade_each() {
    let db = TempDb::new("release-legs");
    let config = demo_config(releasing(&["api", "worker"], Rollout::Sequential));
    let mut bot = spawn_bot_on(Scenario::demo(), config, db.open().await).await;
    let job = bot.start("alice", "/release api").await;
    bot.wait_for(job, "rolling out its first app", |r| {
        r.legs.as_ref().is_some_and(|l| l.apps[0].reached)
    })
    .await;
    assert_eq!(
        bot.restart(|| db.open()).await,
        2,
        "the release and its leg"
    );
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    let tag = built(&r);
    assert_eq!(tags(&bot, API), std::slice::from_ref(&tag));
    assert_eq!(tags(&bot, WORKER), [tag]);
    assert_eq!(bot.sim.stats().total_runs(), 1);
    // Still one leg per app, each recorded once.
    let legs = legs(&bot, job).await;
    assert_eq!(legs[0].id, JobId(2));
    assert_eq!(legs[1].id, JobId(3));
    assert!(bot.engine.job_record(JobId(4)).await.is_none());
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_release_between_its_apps_starts_no_more_of_them() {
    let config = demo_config(releasing(&["api", "worker"], Rollout::Sequential));
    let bot = spawn_bot(Scenario::demo(), config).await;
    let job = bot.start("alice", "/release api").await;
    bot.wait_for(job, "rolling out its first app", |r| {
        r.legs.as_ref().is_some_and(|l| l.apps[0].reached)
    })
    .await;
    let reply = bot.say("alice", &format!("/cancel {job}")).await;
    assert!(matches!(reply, Reply::Cancelling { .. }), "{reply:?}");
    let r = bot.finished(job).await;
    // The app rolling out finishes; the next one is never started.
    let Some(Outcome::Cancelled { detail, .. }) = &r.outcome else {
        panic!("not cancelled: {:?}", r.outcome);
    };
    assert_eq!(
        detail,
        &releasebot::job::Cancellation::BetweenApps {
            deployed: vec![name("api")]
        }
    );
    assert_eq!(tags(&bot, API).len(), 1);
    assert!(tags(&bot, WORKER).is_empty());
    assert!(r.legs.unwrap().apps[1].job.is_none());
}
