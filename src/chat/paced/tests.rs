//! The limits held exactly, and waiting calls let go by value.

use super::*;
use crate::adapters::memory::{MemoryChat, Record};
use crate::lease::LeaseClock;

/// `memory` paced at `global` calls a second (Discord's per-channel limit).
pub(crate) fn paced_at(memory: &Arc<MemoryChat>, global: usize) -> Arc<PacedChat> {
    let limits = Limits {
        global,
        ..Limits::default()
    };
    Arc::new(PacedChat::with_limits(
        memory.clone(),
        limits,
        Arc::default(),
        Arc::default(),
    ))
}

#[tokio::test(start_paused = true)]
async fn never_more_than_five_calls_in_any_five_seconds_per_channel() {
    let memory = MemoryChat::new();
    let paced = Arc::new(PacedChat::new(
        memory.clone(),
        Arc::default(),
        Arc::default(),
    ));
    let target = paced.post("t1", &Message::text("x")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let paced = paced.clone();
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            paced
                .edit(&target, &Message::text(format!("{i}")))
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let times: Vec<Duration> = memory.records().iter().map(Record::at).collect();
    assert_eq!(times.len(), 21);
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .filter(|u| **u < *t + Duration::from_secs(5))
            .count();
        assert!(in_window <= 5, "{in_window} calls in the 5 s after {t:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_global_limit_holds_across_channels() {
    let memory = MemoryChat::new();
    let paced = paced_at(&memory, 10);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let paced = paced.clone();
        tasks.push(tokio::spawn(async move {
            paced
                .post(&format!("c{i}"), &Message::text("x"))
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let times: Vec<Duration> = memory.records().iter().map(Record::at).collect();
    for t in &times {
        let in_second = times
            .iter()
            .filter(|u| **u >= *t && **u < *t + Duration::from_secs(1))
            .count();
        assert!(in_second <= 10);
    }
    assert!(*times.last().unwrap() >= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn waiting_calls_go_by_value_not_by_arrival() {
    let memory = MemoryChat::new();
    let paced = paced_at(&memory, 1);
    // The window is full: everything from here on waits its turn.
    paced.post("c0", &Message::text("first")).await.unwrap();
    let start = Instant::now();
    let mut tasks = Vec::new();
    // Progress edits of messages out of date for 1, 2 … 5 s, the freshest first,
    // then one edit someone waits on.
    for i in 1..=5u64 {
        let paced = paced.clone();
        let since = start - Duration::from_secs(i);
        let target = memory
            .post(&format!("t{i}"), &Message::text("x"))
            .await
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let turn = paced.turn(&target.channel, Urgency::Stale(since)).await;
            turn.edit(&target, &Message::text(format!("stale {i}s")))
                .await
                .unwrap();
        }));
        tokio::task::yield_now().await;
    }
    let urgent = {
        let paced = paced.clone();
        let target = memory.post("t9", &Message::text("x")).await.unwrap();
        tokio::spawn(async move {
            paced
                .turn(&target.channel, Urgency::Decisive)
                .await
                .edit(&target, &Message::text("final"))
                .await
                .unwrap();
        })
    };
    tokio::task::yield_now().await;
    assert_eq!(paced.waiting(), 6);
    urgent.await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let order: Vec<String> = memory
        .records()
        .iter()
        .filter_map(|r| match r {
            Record::Edit { message, .. } => Some(message.text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        [
            "final", "stale 5s", "stale 4s", "stale 3s", "stale 2s", "stale 1s"
        ]
    );
    assert_eq!(paced.waiting(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_call_given_up_while_waiting_leaves_the_queue() {
    let memory = MemoryChat::new();
    let paced = paced_at(&memory, 1);
    paced.post("c0", &Message::text("first")).await.unwrap();
    let waiting = tokio::time::timeout(
        Duration::from_millis(100),
        paced.turn("t1", Urgency::Stale(Instant::now())),
    )
    .await;
    assert!(waiting.is_err(), "the window was full");
    assert_eq!(paced.waiting(), 0);
    // The next call goes as soon as the window has room.
    paced.post("c1", &Message::text("second")).await.unwrap();
    assert_eq!(memory.records().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_command_s_own_message_is_edited_outside_the_shared_budget() {
    let memory = MemoryChat::new();
    memory.use_interactions();
    let paced = paced_at(&memory, 2);
    let origin = memory.new_origin().unwrap();
    let job = Message::text("job");
    let opened = paced
        .open_thread_as(
            Some(&origin),
            "c0",
            &job,
            "#1",
            Duration::ZERO,
            Urgency::Now,
        )
        .await
        .unwrap();
    assert!(opened.own_message);
    let own = opened.thread.summary;
    assert!(paced.own_budget(&own));
    // The shared budget is spent, and more calls wait for it.
    let mut posts = Vec::new();
    for i in 1..8 {
        let paced = paced.clone();
        posts.push(tokio::spawn(async move {
            paced.post(&format!("c{i}"), &Message::text("x")).await
        }));
    }
    while paced.waiting() < 2 {
        tokio::task::yield_now().await;
    }
    assert!(paced.pressed());
    // The command's own message does not wait behind them: five edits at once ...
    let start = Instant::now();
    for i in 0..5 {
        paced
            .edit(&own, &Message::text(format!("{i}")))
            .await
            .unwrap();
    }
    assert_eq!(start.elapsed(), Duration::ZERO);
    // ... and then its own window: 5 in any 5.2 s.
    paced.edit(&own, &Message::text("5")).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(5_200));
    for p in posts {
        p.await.unwrap().unwrap();
    }
    // A message posted the usual way has no budget of its own.
    let usual = paced.post("c9", &Message::text("y")).await.unwrap();
    assert!(!paced.own_budget(&usual));
}

#[tokio::test(start_paused = true)]
async fn only_a_replica_that_may_act_reaches_the_platform() {
    let memory = MemoryChat::new();
    let lease = Arc::new(LeaseClock::new());
    let paced = PacedChat::new(memory.clone(), lease.clone(), Arc::default());
    let ttl = Duration::from_secs(15);
    lease.lead("me", 1, Instant::now(), ttl);
    let target = paced.post("t1", &Message::text("led")).await.unwrap();
    // Not renewed in time (the database is away): wait, do not give up.
    tokio::time::advance(ttl).await;
    let lapsed = paced.edit(&target, &Message::text("x")).await.unwrap_err();
    assert!(!lapsed.permanent);
    assert_eq!(lapsed.retry_after, Some(Duration::from_secs(1)));
    // Renewed: it goes again.
    lease.lead("me", 1, Instant::now(), ttl);
    paced
        .edit(&target, &Message::text("renewed"))
        .await
        .unwrap();
    // Deposed: nothing more, for good, whatever the call.
    lease.depose();
    let refused = paced.post("t1", &Message::text("y")).await.unwrap_err();
    assert!(refused.permanent);
    assert!(paced.react(&target, "✅").await.unwrap_err().permanent);
    let turn = paced.turn_for(&target, Urgency::Decisive).await;
    assert!(turn.edit(&target, &Message::text("z")).await.is_err());
    assert_eq!(memory.records().len(), 2, "{:?}", memory.records());
}
