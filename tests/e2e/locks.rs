//! Locks: `/lock web <reason> [duration]` holds an app for one person — their deploys
//! go, everyone else's are refused naming the holder, the reason and since when — until
//! they `/unlock` it, an admin does, or its time is up. A rollback passes a lock, and
//! `lock_after_rollback` locks the app for whoever rolled it back.

use std::time::Duration;

use releasebot::chat::APPROVE;
use releasebot::commands::Reply;
use releasebot::config::Config;
use releasebot::job::{AuditAction, JobState, Outcome};
use releasebot::names::{AppName, JobId};
use releasebot::sim::Scenario;

use crate::helpers::{TempDb, TestBot, demo_config, spawn_bot, spawn_bot_on};

/// The Rancher app behind `web` in the demo catalogue.
const WEB: &str = "p-5tfq9:project-deploy";

fn web(c: &mut Config) -> &mut releasebot::config::App {
    c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap()
}

/// `approver` approves job `job` with ✅ once it asks.
async fn approve_as(bot: &TestBot, approver: &str, job: JobId) {
    bot.wait_for(job, "asking for approval", |r| r.waits_on_people())
        .await;
    let approval = bot.approval_ref(job);
    bot.chat.react_as(approver, &approval, APPROVE).await;
}

/// `user` deploys `tag` to web, a lead other than them approves; the finished job.
async fn deploy(bot: &TestBot, user: &str, tag: &str) -> JobId {
    let job = bot.start(user, &format!("/deploy web {tag}")).await;
    approve_as(bot, if user == "bob" { "carol" } else { "bob" }, job).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    job
}

fn info(reply: Reply) -> String {
    match reply {
        Reply::Info(text) => text,
        other => panic!("not information: {other:?}"),
    }
}

/// A refusal, in one sentence.
fn refused(reply: Reply) -> String {
    assert!(reply.is_refusal(), "not refused: {reply:?}");
    let text = reply.text();
    assert!(!text.contains('\n'), "one sentence: {text}");
    text
}

fn last_tag(bot: &TestBot) -> String {
    bot.sim.rollouts(WEB).last().unwrap().tag.clone()
}

#[tokio::test(start_paused = true)]
async fn a_lock_refuses_others_lets_its_holder_deploy_survives_a_restart_and_ends_by_unlock() {
    let db = TempDb::new("lock");
    let mut bot = spawn_bot_on(Scenario::demo(), demo_config(|_| {}), db.open().await).await;
    deploy(&bot, "alice", "v1.2.2").await;

    let locked = info(
        bot.say("carol", "/lock web verifying the fix on staging")
            .await,
    );
    assert!(locked.contains("🔒 web locked by carol"), "{locked}");
    assert!(locked.contains("verifying the fix on staging"), "{locked}");
    // A restart keeps it.
    bot.restart(|| db.open()).await;
    let status = info(bot.say("alice", "/status").await);
    assert!(status.contains("🔒 web locked by carol"), "{status}");

    // Everyone else is refused, naming the holder, the reason and since when.
    let upgrades = bot.sim.rollouts(WEB).len();
    for command in ["/deploy web v1.2.3", "/release web"] {
        let text = refused(bot.say("alice", command).await);
        assert!(text.starts_with("web is locked by carol since "), "{text}");
        assert!(
            text.contains("UTC (verifying the fix on staging)"),
            "{text}"
        );
    }
    // An admin's override passes a freeze, not a lock.
    let text = refused(bot.say("root", "/deploy web v1.2.3 override: hotfix").await);
    assert!(text.contains("locked by carol"), "{text}");
    assert_eq!(bot.sim.rollouts(WEB).len(), upgrades, "nothing deployed");

    // The holder deploys.
    deploy(&bot, "carol", "v1.2.3").await;
    assert_eq!(last_tag(&bot), "v1.2.3");

    // A deploy waiting for its approval when someone else locks the app ends there.
    info(bot.say("carol", "/unlock web").await);
    let waiting = bot.start("alice", "/deploy web v1.2.4").await;
    bot.wait_for(waiting, "asking for approval", |r| r.waits_on_people())
        .await;
    info(bot.say("carol", "/lock web verifying again").await);
    approve_as(&bot, "bob", waiting).await;
    let r = bot.finished(waiting).await;
    assert!(
        matches!(&r.outcome, Some(Outcome::Locked { holder, .. }) if holder == "carol"),
        "{:?}",
        r.outcome
    );
    assert_ne!(last_tag(&bot), "v1.2.4");

    // Another lock, or another's unlock, is refused; the holder's unlock lifts it.
    let text = refused(bot.say("bob", "/lock web mine now").await);
    assert!(text.contains("locked by carol"), "{text}");
    let text = refused(bot.say("bob", "/unlock web").await);
    assert_eq!(
        text,
        "carol holds the lock on web, so only carol or an admin may unlock it; nothing was unlocked."
    );
    let unlocked = info(bot.say("carol", "/unlock web").await);
    assert!(
        unlocked.starts_with("Unlocked web (locked by carol"),
        "{unlocked}"
    );
    deploy(&bot, "alice", "v1.2.5").await;
    assert_eq!(last_tag(&bot), "v1.2.5");
    let text = refused(bot.say("carol", "/unlock web").await);
    assert!(text.contains("Nobody holds a lock on web"), "{text}");

    let history = info(bot.say("alice", "/history web 20").await);
    assert!(history.contains("🔒 web locked by carol"), "{history}");
    assert!(history.contains("lifted by carol"), "{history}");
}

#[tokio::test(start_paused = true)]
async fn an_admin_unlocks_another_persons_lock_and_a_duration_ends_it_by_itself() {
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    deploy(&bot, "alice", "v1.2.2").await;

    info(bot.say("carol", "/lock web verifying the fix").await);
    let unlocked = info(bot.say("root", "/unlock web").await);
    assert!(
        unlocked.starts_with("Unlocked web (locked by carol"),
        "{unlocked}"
    );
    // Kept with the lock: who lifted it.
    let history = info(bot.say("alice", "/history web 20").await);
    assert!(history.contains("lifted by root"), "{history}");

    // Typed as one line, a last word that is a duration is the duration.
    let locked = info(bot.say("carol", "/lock web verifying the fix 30m").await);
    assert!(locked.contains(": verifying the fix"), "{locked}");
    assert!(locked.contains(" until "), "{locked}");
    let text = refused(bot.say("alice", "/deploy web v1.2.3").await);
    assert!(text.contains("locked by carol"), "{text}");
    tokio::time::advance(Duration::from_secs(31 * 60)).await;
    deploy(&bot, "alice", "v1.2.3").await;
    assert_eq!(last_tag(&bot), "v1.2.3");
}

#[tokio::test(start_paused = true)]
async fn a_rollback_passes_a_lock_and_lock_after_rollback_holds_the_app_for_who_rolled_back() {
    let bot = spawn_bot(
        Scenario::demo(),
        demo_config(|c| web(c).lock_after_rollback = true),
    )
    .await;
    deploy(&bot, "alice", "v1.2.2").await;
    deploy(&bot, "alice", "v1.2.3").await;
    info(bot.say("carol", "/lock web verifying the fix").await);

    // alice may roll back through carol's lock: an incident beats a lock.
    let rollback = bot.start("alice", "/rollback web").await;
    approve_as(&bot, "bob", rollback).await;
    let r = bot.finished(rollback).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(rollback));
    assert_eq!(last_tag(&bot), "v1.2.2");
    let waived = r
        .audit
        .iter()
        .find(|a| a.action == AuditAction::Waive)
        .expect("the pass is audited");
    assert!(
        waived.detail.contains("through the lock by carol"),
        "{}",
        waived.detail
    );

    // The app is now alice's, so nobody redeploys the bad version by accident.
    let status = info(bot.say("bob", "/status").await);
    assert!(status.contains("🔒 web locked by alice"), "{status}");
    assert!(
        status.contains("rolled back from v1.2.3 to v1.2.2"),
        "{status}"
    );
    assert!(!status.contains("locked by carol"), "replaced: {status}");
    let text = refused(bot.say("carol", "/deploy web v1.2.3").await);
    assert!(text.starts_with("web is locked by alice since "), "{text}");
    assert!(
        text.contains("(rolled back from v1.2.3 to v1.2.2)"),
        "{text}"
    );
    deploy(&bot, "alice", "v1.2.4").await;
    assert_eq!(last_tag(&bot), "v1.2.4");
}

#[tokio::test(start_paused = true)]
async fn without_lock_after_rollback_a_rollback_leaves_the_app_unlocked() {
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    deploy(&bot, "alice", "v1.2.2").await;
    deploy(&bot, "alice", "v1.2.3").await;
    let rollback = bot.start("alice", "/rollback web").await;
    approve_as(&bot, "bob", rollback).await;
    bot.finished(rollback).await;
    assert!(bot.engine.holds().freezes().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_release_to_several_apps_is_refused_when_one_of_them_is_locked_by_someone_else() {
    let bot = spawn_bot(
        Scenario::demo(),
        demo_config(|c| {
            let shop = c
                .projects
                .get_mut(&releasebot::names::ProjectName::parse("api").unwrap())
                .unwrap();
            shop.deploys = vec![
                AppName::parse("api").unwrap(),
                AppName::parse("worker").unwrap(),
            ];
        }),
    )
    .await;
    info(
        bot.say("carol", "/lock worker checking the queue consumer")
            .await,
    );
    let text = refused(bot.say("alice", "/release api").await);
    assert!(
        text.starts_with("worker is locked by carol since "),
        "{text}"
    );
    // Its holder releases.
    let job = bot.start("carol", "/release api").await;
    assert_eq!(bot.finished(job).await.state, JobState::Succeeded);
}
