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
async fn under_chat_pressure_final_states_go_first_and_every_last_state_lands() {
    // Four calls a second in all, and fifteen builds changing every two seconds: the
    // progress they want is twice what the chat allows.
    let chat = MemoryChat::new();
    chat.set_limits(Limits {
        global: 4,
        ..Limits::default()
    });
    let clock = Clock::new();
    let bot = spawn_bot_in(
        busy_web(12, 2.0),
        demo_config(|_| {}),
        Arc::new(Store::open_in_memory().unwrap()),
        false,
        clock,
        chat.clone(),
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
