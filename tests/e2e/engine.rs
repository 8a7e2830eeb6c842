//! The release engine end to end: the in-memory chat, the simulator, a paused clock.
//! Each test asserts what a person would see in the job's thread.

use std::time::Duration;

use releasebot::commands::Reply;
use releasebot::job::JobState;
use releasebot::paas::PaasClient;
use releasebot::sim::{LogShape, Scenario, StageSpec};

use crate::helpers::{TestBot, demo_config, spawn_bot, web_pipeline};

async fn demo_bot() -> TestBot {
    spawn_bot(Scenario::demo(), demo_config(|_| {})).await
}

#[tokio::test(start_paused = true)]
async fn a_build_ends_with_its_stages_image_tag_and_chart() {
    let bot = demo_bot().await;
    let job = bot.start("alice", "/build web").await;
    let r = bot.finished(job).await;
    let thread = bot
        .chat
        .thread(&format!("{job} "))
        .expect("a thread for the job");
    assert_eq!(thread.title, "#1 web@master");
    assert_eq!(r.state, JobState::Succeeded);
    let text = bot.progress(job);
    let tag = r.build.as_ref().and_then(|b| b.tag.clone()).unwrap();
    for want in [
        "✅ #1 build web@master · requested by alice · succeeded",
        "✅ Clone 4s",
        "✅ Build 51s",
        "✅ Publish Image 22s",
        "✅ Chart 6s",
        &format!("image  harbor.example.com/team/web:{tag}"),
        &format!("tag  {tag} · chart 0.0.1"),
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // The one-line summary in the channel says how it ended.
    let summary = bot.chat.message(&thread.thread.summary).unwrap().text;
    assert!(
        summary.starts_with("✅ #1 build web@master — requested by alice — succeeded in"),
        "{summary}"
    );
    // Everything happened in one thread, in one progress message.
    assert_eq!(bot.chat.messages_in(&thread.thread.thread).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_ten_minute_five_stage_build_takes_few_edits() {
    let mut scenario = Scenario::demo();
    scenario.pipelines[0].stages = (1..=5)
        .map(|i| StageSpec {
            name: format!("Stage {i}"),
            seconds: 120.0,
            chart: false,
        })
        .collect();
    let bot = spawn_bot(scenario, demo_config(|_| {})).await;
    let job = bot.start("alice", "/build web").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded);
    let edits = bot.chat.edit_count(&bot.progress_ref(job));
    assert!(edits <= 20, "{edits} edits for a 10-minute build");
    assert!(edits >= 6, "every stage should have shown: {edits} edits");
    let history = bot.chat.history(&bot.progress_ref(job));
    assert!(
        history.iter().any(|(_, t)| t.contains("🔄 Stage 3")),
        "the running stage was shown"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_stage_is_named_with_rancher_message() {
    let mut scenario = Scenario::demo();
    scenario.pipelines[0].fail_at = Some("Publish Image".into());
    let bot = spawn_bot(scenario, demo_config(|_| {})).await;
    let job = bot.start("alice", "/build web").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Failed);
    let text = bot.progress(job);
    assert!(
        text.contains("❌ The build p-tpk2x-1 failed at stage Publish Image: Got FAILED status in 'Publish Image' stage."),
        "{text}"
    );
    assert!(
        text.contains("✅ Build 51s  ❌ Publish Image 22s  ➖ Chart"),
        "{text}"
    );
    assert!(
        !text.contains("image  "),
        "no image for a failed build:\n{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_build_stopped_on_the_paas_says_so() {
    let bot = demo_bot().await;
    let job = bot.start("alice", "/build web").await;
    bot.wait_for(job, "building", |r| {
        r.build.as_ref().is_some_and(|b| b.execution.is_some())
    })
    .await;
    // Someone presses stop in the Rancher UI.
    let paas: &PaasClient = bot.engine.paas();
    let target = releasebot::paas::ExecutionRef::new(
        web_pipeline().project,
        releasebot::paas::ExecutionId::parse("p-5tfq9:p-tpk2x-1").unwrap(),
    );
    paas.stop_execution(&target).await.unwrap();
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Failed);
    assert!(
        bot.progress(job)
            .contains("was stopped on the PaaS (aborted by user)"),
        "{}",
        bot.progress(job)
    );
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_running_build() {
    let bot = demo_bot().await;
    let job = bot.start("alice", "/build web").await;
    bot.wait_for(job, "building", |r| r.state == JobState::Building)
        .await;
    let reply = bot.say("alice", &format!("/cancel {}", job.0)).await;
    assert_eq!(
        reply,
        Reply::Cancelling {
            job: releasebot::names::JobId(1),
            state: JobState::Building
        }
    );
    assert_eq!(reply.text(), "Cancelling #1 (building).");
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Cancelled);
    assert!(
        bot.progress(job)
            .contains("🚫 Cancelled by alice; the build p-tpk2x-1 was stopped."),
        "{}",
        bot.progress(job)
    );
    assert_eq!(bot.sim.stats().stops, 1);
}

#[tokio::test(start_paused = true)]
async fn a_paas_outage_mid_build_is_shown_and_survived() {
    let bot = demo_bot().await;
    let job = bot.start("alice", "/build web").await;
    bot.wait_for(job, "building", |r| r.state == JobState::Building)
        .await;
    bot.sim.set_down(true);
    tokio::time::sleep(Duration::from_secs(120)).await;
    let during = bot.progress(job);
    assert!(
        during.contains("⚠️ PaaS unreachable, retrying."),
        "{during}"
    );
    bot.sim.set_down(false);
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded);
    let text = bot.progress(job);
    assert!(
        !text.contains("unreachable"),
        "the notice is gone once it recovers:\n{text}"
    );
    assert_eq!(bot.sim.stats().total_runs(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_build_past_its_deadline_times_out() {
    let bot = spawn_bot(
        Scenario::demo(),
        demo_config(|c| c.jobs.build_timeout = Duration::from_secs(30)),
    )
    .await;
    let job = bot.start("alice", "/build web").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::TimedOut);
    assert!(
        bot.progress(job).contains(
            "⌛ The build p-tpk2x-1 did not finish within 30s; it may still be running on the PaaS."
        ),
        "{}",
        bot.progress(job)
    );
}

#[tokio::test(start_paused = true)]
async fn a_deploy_shows_the_rollout_and_redacted_logs() {
    let bot = demo_bot().await;
    let job = bot.start("alice", "/deploy api v1.2.3").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    let text = bot.progress(job);
    for want in [
        "✅ #1 deploy api v1.2.3 · requested by alice · succeeded",
        "deploy  api: master-12-51c0d3e → v1.2.3 (api-deploy)  installing → deploying → ✅ active",
        "logs (last 5 lines, redacted)",
        "api-deploy starting, version v1.2.3",
        "password=[redacted]",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("s3cr3t"), "{text}");
    assert_eq!(bot.sim.stats().total_upgrades(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_helm_error_fails_the_deploy_with_its_message() {
    let mut scenario = Scenario::demo();
    scenario.apps[1].fail =
        Some("Error: UPGRADE FAILED: timed out waiting for the condition".into());
    let bot = spawn_bot(scenario, demo_config(|_| {})).await;
    let job = bot.start("alice", "/deploy api v2").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Failed);
    assert!(
        bot.progress(job)
            .contains("❌ The deploy of v2 to api failed: Error: UPGRADE FAILED: timed out waiting for the condition"),
        "{}",
        bot.progress(job)
    );
    assert!(r.logs.is_none(), "no logs are fetched for a failed deploy");
}

#[tokio::test(start_paused = true)]
async fn missing_logs_are_not_a_failed_deploy() {
    let mut scenario = Scenario::demo();
    scenario.apps[1].logs = LogShape::Missing;
    let bot = spawn_bot(scenario, demo_config(|_| {})).await;
    let job = bot.start("alice", "/deploy api v2").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded);
    assert!(
        bot.progress(job).contains("logs  no logs available"),
        "{}",
        bot.progress(job)
    );
}

#[tokio::test(start_paused = true)]
async fn two_deploys_to_one_app_go_one_after_the_other() {
    let bot = demo_bot().await;
    let first = bot.start("alice", "/deploy api v1").await;
    let second = bot.start("alice", "/deploy api v2").await;
    bot.wait_for(second, "queued", |r| {
        r.state == JobState::Queued && r.queue.and_then(|q| q.behind) == Some(first)
    })
    .await;
    assert!(
        bot.progress(second).contains("queued behind #1"),
        "{}",
        bot.progress(second)
    );
    assert_eq!(bot.finished(first).await.state, JobState::Succeeded);
    assert_eq!(bot.finished(second).await.state, JobState::Succeeded);
    assert_eq!(bot.sim.stats().total_upgrades(), 2);
    let app = bot
        .engine
        .paas()
        .get_app(&crate::helpers::api_app())
        .await
        .unwrap();
    assert_eq!(
        app.version_tag.as_deref(),
        Some("v2"),
        "the later request deployed last"
    );
}

#[tokio::test(start_paused = true)]
async fn cancel_withdraws_a_queued_deploy() {
    let bot = demo_bot().await;
    let first = bot.start("alice", "/deploy api v1").await;
    let second = bot.start("alice", "/deploy api v2").await;
    bot.wait_for(second, "queued", |r| r.state == JobState::Queued)
        .await;
    bot.say("alice", "/cancel #2").await;
    let r = bot.finished(second).await;
    assert_eq!(r.state, JobState::Cancelled);
    assert!(
        bot.progress(second)
            .contains("Withdrawn by alice while queued; nothing was deployed."),
        "{}",
        bot.progress(second)
    );
    assert_eq!(bot.finished(first).await.state, JobState::Succeeded);
    assert_eq!(bot.sim.stats().total_upgrades(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_second_build_of_the_same_branch_joins_the_first() {
    let bot = demo_bot().await;
    let job = bot.start("alice", "/build web").await;
    let reply = bot.say("bob", "/build web master").await;
    assert_eq!(
        reply,
        Reply::Info("web@master is already building as #1; follow it there.".into())
    );
    // Another branch is another build.
    let other = bot.start("bob", "/build web develop").await;
    bot.finished(job).await;
    bot.finished(other).await;
    assert_eq!(bot.sim.stats().total_runs(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_release_deploys_exactly_the_tag_its_build_produced() {
    let bot = demo_bot().await;
    let job = bot.start("alice", "/release api").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    println!("{}", bot.progress(job));
    let built = r.build.as_ref().and_then(|b| b.tag.clone()).unwrap();
    assert_eq!(r.deploy_tag().map(|t| t.to_string()), Some(built.clone()));
    let app = bot
        .engine
        .paas()
        .get_app(&crate::helpers::api_app())
        .await
        .unwrap();
    assert_eq!(app.version_tag.as_deref(), Some(built.as_str()));
    let text = bot.progress(job);
    assert!(
        text.contains(&format!(
            "deploy  api: master-12-51c0d3e → {built} (api-deploy)  installing → deploying → ✅ active"
        )),
        "{text}"
    );
    assert!(
        text.contains("✅ Test 40s  ✅ Build 35s  ✅ Publish Image 18s"),
        "{text}"
    );
    assert_eq!(bot.sim.stats().total_runs(), 1);
    assert_eq!(bot.sim.stats().total_upgrades(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_release_of_a_build_without_a_tag_deploys_nothing() {
    let mut scenario = Scenario::demo();
    scenario.pipelines[1].version_tags = false;
    let bot = spawn_bot(scenario, demo_config(|_| {})).await;
    let job = bot.start("alice", "/release api").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Failed);
    let text = bot.progress(job);
    assert!(
        text.contains("tag  none: the PaaS reported no versionTag"),
        "{text}"
    );
    assert!(text.contains("so there is nothing to deploy"), "{text}");
    assert_eq!(bot.sim.stats().total_upgrades(), 0);
}
