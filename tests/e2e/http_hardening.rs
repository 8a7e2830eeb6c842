//! The bot's HTTP surface under abuse: connections that stall, headers too big, more
//! connections than the limit, `/readyz` telling no error text, a flood of webhook
//! calls, and the webhook secret's making and rotation.

use std::sync::Arc;
use std::time::Duration;

use releasebot::job::JobState;
use releasebot::sim::Scenario;
use releasebot::store::Store;

use crate::helpers::{TestBot, WEBHOOK_SECRET, demo_config, spawn_bot_with};

/// `get_execution` requests the simulator has answered so far.
fn execution_polls(bot: &TestBot) -> u64 {
    bot.sim
        .stats()
        .by_route
        .get("get_execution")
        .copied()
        .unwrap_or(0)
}

async fn post(client: &reqwest::Client, bot: &TestBot, path: &str, body: &str) -> u16 {
    client
        .post(format!("http://{}{path}", bot.http_addr))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(start_paused = true)]
async fn a_webhook_flood_costs_at_most_one_poll_per_floor_per_build() {
    // Polls every 2 s: the floor a webhook call may bring a poll to is 1 s after the
    // last one.
    let config = demo_config(|c| {
        c.paas.subscribe = false;
        c.jobs.poll_interval = Duration::from_secs(2);
    });
    let bot = spawn_bot_with(
        Scenario::demo(),
        config,
        Arc::new(Store::open_in_memory().unwrap()),
        true,
    )
    .await;
    let jobs = [
        bot.start("alice", "/build web").await,
        bot.start("alice", "/build api").await,
    ];
    let mut executions = Vec::new();
    for job in jobs {
        let r = bot
            .wait_for(job, "building", |r| r.state == JobState::Building)
            .await;
        executions.push(r.build.unwrap().execution.unwrap());
    }
    let client = reqwest::Client::new();
    let webhook = format!("/webhook/{WEBHOOK_SECRET}");
    let before = execution_polls(&bot);
    let start = tokio::time::Instant::now();
    // 100 calls in 5 s (within the rate limit): half name a build, half none.
    let mut accepted = 0;
    for i in 0..100 {
        let body = match i % 2 {
            0 => format!(r#"{{"id":"{}"}}"#, executions[i / 2 % 2]),
            _ => "{}".to_string(),
        };
        if post(&client, &bot, &webhook, &body).await == 202 {
            accepted += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let window = start.elapsed();
    let polls = execution_polls(&bot) - before;
    assert!(accepted >= 90, "{accepted} calls accepted");
    for job in jobs {
        assert_eq!(bot.record(job).state, JobState::Building, "still building");
    }
    // At most one poll per floor per build, and one more for where the window began.
    let floor = Duration::from_secs(1);
    let bound = (window.as_secs_f64() / floor.as_secs_f64()).floor() as u64 + 1;
    assert!(
        polls <= bound * 2,
        "{polls} polls of 2 builds in {window:?} for {accepted} webhook calls (at most {bound} each)"
    );
    // The calls did bring polls forward: unhurried, 2 s apart, there would be 2 or 3.
    assert!(
        polls >= 4 * 2,
        "{polls} polls of 2 builds in {window:?}: the calls did not hurry them"
    );
}
