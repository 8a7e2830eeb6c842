//! Writes tests/fixtures/store-v1.db with jobs in many states (run once, by hand).

use std::time::Duration;

use releasebot::chat::APPROVE;
use releasebot::engine::job::JobState;
use releasebot::sim::{Fault, InjectedFault, Route, Scenario};

use crate::helpers::{demo_config, spawn_bot_on};

#[tokio::test(start_paused = true)]
async fn generate_store_v1_fixture() {
    let Ok(path) = std::env::var("RELEASEBOT_WRITE_V1_FIXTURE") else {
        return;
    };
    let _ = std::fs::remove_file(&path);
    let open = || std::sync::Arc::new(releasebot::store::Store::open(std::path::Path::new(&path)).unwrap());
    let config = demo_config(|c| {
        let web = c.apps.get_mut(&releasebot::names::AppName::parse("web").unwrap()).unwrap();
        web.policy.votes = 2;
    });
    let mut scenario = Scenario::demo();
    scenario.apps[2].fail = Some("Error: UPGRADE FAILED: timed out waiting for the condition".into());
    let bot = spawn_bot_on(scenario, config, open()).await;
    // #1 a finished build
    let b = bot.start("alice", "/build web").await;
    bot.finished(b).await;
    // #2 a finished deploy with logs
    let d = bot.start("alice", "/deploy api v1.2.3").await;
    assert_eq!(bot.finished(d).await.state, JobState::Succeeded);
    // #3 a failed deploy (helm error)
    let f = bot.start("alice", "/deploy worker v2").await;
    assert_eq!(bot.finished(f).await.state, JobState::Failed);
    // #4 a rejected deploy
    let r = bot.start("alice", "/deploy web v9").await;
    bot.wait_for(r, "awaiting", |r| r.approval_message.is_some()).await;
    bot.say("bob", &format!("/reject {}", r.0)).await;
    bot.finished(r).await;
    // #5 a cancelled build
    let c = bot.start("alice", "/build api feature/x").await;
    bot.wait_for(c, "building", |r| r.state == JobState::Building).await;
    bot.say("alice", &format!("/cancel {}", c.0)).await;
    bot.finished(c).await;
    // #6 a release waiting for its second approval (one vote in)
    let rel = bot.start("alice", "/release web master").await;
    bot.wait_for(rel, "awaiting", |r| r.approval_message.is_some()).await;
    let approval = bot.approval_ref(rel);
    bot.chat.react_as("bob", &approval, APPROVE).await;
    // #7 a build in the middle of building
    let mid = bot.start("alice", "/build worker").await;
    bot.wait_for(mid, "building", |r| r.state == JobState::Building && r.build.as_ref().is_some_and(|b| !b.stages.is_empty())).await;
    // #8 a deploy whose upgrade is recorded but unanswered (slow upgrade)
    bot.sim.inject(InjectedFault { route: Some(Route::Upgrade), fault: Fault::Unavailable, times: 100_000 });
    let up = bot.start("alice", "/deploy api v1.2.4").await;
    // #9 a deploy queued behind #8
    let q = bot.start("alice", "/deploy api v1.2.5").await;
    bot.wait_for(q, "queued", |r| r.queued_behind.is_some()).await;
    bot.wait_for(up, "upgrading", |r| r.deploy.as_ref().is_some_and(|d| d.upgrade_intent_ms.is_some())).await;
    assert!(!bot.record(up).deploy.unwrap().upgraded);
    let _ = Duration::ZERO;
    bot.engine.halt();
}
