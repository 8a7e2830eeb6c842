//! Learning of changes at once: Rancher's subscribe WebSocket, the run request's
//! webhook, polling as the safety net; and the bot's HTTP surface.

use std::sync::Arc;
use std::time::Duration;

use releasebot::job::JobState;
use releasebot::sim::Scenario;
use releasebot::store::Store;

use crate::helpers::{TestBot, WEBHOOK_SECRET, demo_config, spawn_bot_with};

/// Polling so rare that only a push or a webhook can move a job along.
async fn bot(subscribe: bool, webhook: bool) -> TestBot {
    let config = demo_config(|c| {
        c.paas.subscribe = subscribe;
        c.jobs.poll_interval = Duration::from_secs(3600);
        c.jobs.push_poll_interval = Duration::from_secs(3600);
    });
    spawn_bot_with(
        Scenario::demo(),
        config,
        Arc::new(Store::open_in_memory().await.unwrap()),
        webhook,
    )
    .await
}

async fn get(bot: &TestBot, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("http://{}{path}", bot.http_addr))
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(bot: &TestBot, path: &str, body: Vec<u8>) -> u16 {
    reqwest::Client::new()
        .post(format!("http://{}{path}", bot.http_addr))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(start_paused = true)]
async fn pushed_changes_reach_the_message_without_waiting_for_a_poll() {
    let bot = bot(true, false).await;
    let job = bot.start("alice", "/build web").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    // 86 s of build, polled once an hour: every step came by push.
    let took = (r.ended_ms.unwrap() - r.created_ms) / 1000;
    assert!(took < 120, "took {took}s");
    let stats = bot.sim.stats();
    assert!(stats.pushed >= 5, "{stats:?}");
    assert!(
        stats.by_route.get("get_execution").copied().unwrap_or(0) <= 3,
        "a few polls at most: {stats:?}"
    );
    let history = bot.chat.history(&bot.progress_ref(job));
    assert!(
        history.iter().any(|(_, t)| t.contains("🔄 Publish Image")),
        "each stage was shown"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_subscription_falls_back_to_polling_and_reconnects() {
    let config = demo_config(|c| {
        c.jobs.poll_interval = Duration::from_secs(5);
        c.jobs.push_poll_interval = Duration::from_secs(3600);
    });
    let bot = spawn_bot_with(
        Scenario::demo(),
        config,
        Arc::new(Store::open_in_memory().await.unwrap()),
        false,
    )
    .await;
    let job = bot.start("alice", "/build web").await;
    bot.wait_for(job, "subscribed", |_| bot.sim.stats().subscriptions >= 1)
        .await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let polls_before = bot
        .sim
        .stats()
        .by_route
        .get("get_execution")
        .copied()
        .unwrap_or(0);
    bot.sim.drop_subscriptions();
    bot.wait_for(job, "subscribed again", |_| {
        bot.sim.stats().subscriptions >= 2
    })
    .await;
    let polls_after = bot
        .sim
        .stats()
        .by_route
        .get("get_execution")
        .copied()
        .unwrap_or(0);
    assert!(
        polls_after > polls_before,
        "the drop made it poll for what it missed"
    );
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded);
    let (_, metrics) = get(&bot, "/metrics").await;
    assert!(
        metrics.contains("releasebot_subscribe_connects_total 2"),
        "{metrics}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_paas_without_push_is_followed_by_polling() {
    let mut scenario = Scenario::demo();
    scenario.subscribe = false;
    let bot = spawn_bot_with(
        scenario,
        demo_config(|_| {}),
        Arc::new(Store::open_in_memory().await.unwrap()),
        false,
    )
    .await;
    let job = bot.start("alice", "/build web").await;
    assert_eq!(bot.finished(job).await.state, JobState::Succeeded);
    assert_eq!(bot.sim.stats().subscriptions, 0);
    assert!(
        bot.sim.stats().by_route["get_execution"] >= 10,
        "it polled every few seconds"
    );
}

#[tokio::test(start_paused = true)]
async fn a_webhook_call_makes_the_bot_poll_at_once() {
    let bot = bot(false, true).await;
    let job = bot.start("alice", "/build web").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    let took = (r.ended_ms.unwrap() - r.created_ms) / 1000;
    assert!(took < 120, "took {took}s: the webhook calls made it poll");
    let stats = bot.sim.stats();
    assert!(stats.webhook_calls >= 5, "{stats:?}");
    let (_, metrics) = get(&bot, "/metrics").await;
    assert!(
        metrics.contains("releasebot_webhook_calls_total{result=\"polled\"}"),
        "{metrics}"
    );
}

#[tokio::test(start_paused = true)]
async fn forged_webhook_calls_change_nothing() {
    let bot = bot(false, true).await;
    let job = bot.start("alice", "/build web").await;
    let r = bot
        .wait_for(job, "building", |r| r.state == JobState::Building)
        .await;
    let execution = r.build.unwrap().execution.unwrap();
    let forged =
        format!(r#"{{"id":"{execution}","executionState":"Success","versionTag":"evil"}}"#)
            .into_bytes();

    assert_eq!(
        post(&bot, "/webhook/not-the-secret", forged.clone()).await,
        404
    );
    assert_eq!(post(&bot, "/webhook/", forged.clone()).await, 404);
    assert_eq!(
        post(&bot, &format!("/webhook/{WEBHOOK_SECRET}"), forged.clone()).await,
        202
    );
    assert_eq!(
        post(
            &bot,
            &format!("/webhook/{WEBHOOK_SECRET}"),
            vec![b'x'; 70 * 1024]
        )
        .await,
        413
    );
    let mut limited = 0;
    for _ in 0..60 {
        if post(&bot, &format!("/webhook/{WEBHOOK_SECRET}"), b"{}".to_vec()).await == 429 {
            limited += 1;
        }
    }
    assert!(limited > 0, "a burst is rate limited");
    // The claim of success was not believed: the build is still running.
    let r = bot.record(job);
    assert_eq!(r.state, JobState::Building);
    assert!(
        !bot.progress(job).contains("succeeded"),
        "{}",
        bot.progress(job)
    );
    assert!(r.build.unwrap().tag.is_none());
    let (_, metrics) = get(&bot, "/metrics").await;
    for want in [
        "releasebot_webhook_calls_total{result=\"unknown_secret\"} 1",
        "releasebot_webhook_calls_total{result=\"too_large\"} 1",
        "releasebot_webhook_calls_total{result=\"rate_limited\"}",
    ] {
        assert!(metrics.contains(want), "missing {want}\n{metrics}");
    }
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded);
    assert_ne!(r.build.unwrap().tag.as_deref(), Some("evil"));
}

#[tokio::test(start_paused = true)]
async fn health_readiness_and_metrics_after_a_release() {
    let bot = bot(true, false).await;
    assert_eq!(get(&bot, "/healthz").await, (200, "ok\n".into()));
    let (status, body) = get(&bot, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "chat ok\npaas ok\nstore ok\n");

    let job = bot.start("alice", "/release api").await;
    assert_eq!(bot.finished(job).await.state, JobState::Succeeded);
    let (status, metrics) = get(&bot, "/metrics").await;
    assert_eq!(status, 200);
    for want in [
        "releasebot_jobs_finished_total{kind=\"release\",state=\"succeeded\"} 1",
        "releasebot_paas_requests_total{operation=\"run_pipeline\",status=\"200\"} 1",
        "releasebot_paas_requests_total{operation=\"upgrade_app\",status=\"200\"} 1",
        // Read until they stop growing: twice when they are complete at once.
        "releasebot_paas_requests_total{operation=\"deploy_logs\",status=\"200\"} 2",
        "releasebot_paas_request_duration_seconds_count{operation=\"run_pipeline\"} 1",
        "releasebot_chat_requests_total{kind=\"post\"} 2",
        "releasebot_deploy_queue_depth 0",
        "releasebot_approvals_pending 0",
        "releasebot_subscribe_connected{project=\"c-64wdm:p-5tfq9\"}",
    ] {
        assert!(metrics.contains(want), "missing {want}\n{metrics}");
    }
    let edits: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("releasebot_chat_requests_total{kind=\"edit\"} "))
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(edits >= 5, "{edits}");

    bot.sim.set_down(true);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (status, body) = get(&bot, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("paas failing"), "{body}");
    bot.sim.set_down(false);
}
