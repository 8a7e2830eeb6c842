//! The incident commands as a team uses them when a deploy went wrong: roll back,
//! promote what staging runs, freeze and unfreeze — each a deploy like any other
//! (queued, approved, followed to the true end), refused with a reason when it must
//! be, audited, and kept across a restart.

use std::time::{Duration, SystemTime};

use releasebot::chat::APPROVE;
use releasebot::clock::Clock;
use releasebot::commands::Reply;
use releasebot::config::Config;
use releasebot::job::{AuditAction, DeployOrigin, JobSpec, JobState, Outcome};
use releasebot::names::{AppName, JobId};
use releasebot::sim::Scenario;
use releasebot::store::Store;

use crate::helpers::{TempDb, TestBot, demo_config, spawn_bot, spawn_bot_at, spawn_bot_on};

/// The Rancher app behind `web` in the demo catalogue.
const WEB: &str = "p-5tfq9:project-deploy";
const HELM_ERROR: &str = "Error: UPGRADE FAILED: container web: image pull back-off";

fn web(c: &mut Config) -> &mut releasebot::config::App {
    c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap()
}

/// `user` deploys `tag` to web and bob approves it; the finished job.
async fn deploy(bot: &TestBot, user: &str, tag: &str) -> JobId {
    let job = bot.start(user, &format!("/deploy web {tag}")).await;
    approve(bot, job).await;
    bot.finished(job).await;
    job
}

/// bob approves job `job` with ✅ once it asks.
async fn approve(bot: &TestBot, job: JobId) {
    bot.wait_for(job, "asking for approval", |r| r.waits_on_people())
        .await;
    let approval = bot.approval_ref(job);
    bot.chat.react_as("bob", &approval, APPROVE).await;
}

/// Makes every later upgrade of web fail (or succeed again) in the simulator.
fn web_fails(bot: &TestBot, fail: bool) {
    crate::helpers::upgrades_fail(bot, "project-deploy", fail.then_some(HELM_ERROR));
}

fn info(reply: Reply) -> String {
    match reply {
        Reply::Info(text) => text,
        other => panic!("not information: {other:?}"),
    }
}

fn refused(reply: &Reply) -> String {
    assert!(reply.is_refusal(), "not refused: {reply:?}");
    reply.text()
}

#[tokio::test(start_paused = true)]
async fn a_bad_deploy_is_rolled_back_to_the_previous_tag_with_one_upgrade() {
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    let good = deploy(&bot, "alice", "v1.2.2").await;
    assert_eq!(bot.record(good).state, JobState::Succeeded);
    web_fails(&bot, true);
    let bad = deploy(&bot, "alice", "v1.2.3").await;
    assert_eq!(bot.record(bad).state, JobState::Failed);
    // Its final message says how to go back, and offers a button for it.
    let message = bot.chat.message(&bot.progress_ref(bad)).unwrap();
    assert!(
        message.text.contains("/rollback web v1.2.2"),
        "{}",
        message.text
    );
    assert_eq!(message.buttons[0].label, "Roll back to v1.2.2");
    web_fails(&bot, false);

    let upgrades_before = bot.sim.rollouts(WEB).len();
    let reply = bot.say("alice", "/rollback web").await;
    let Reply::Started { job, text } = reply else {
        panic!("no rollback: {reply:?}");
    };
    assert!(text.contains("rollback of web to v1.2.2"), "{text}");
    assert!(text.contains("needs 1 approval from lead"), "{text}");
    approve(&bot, job).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    assert!(matches!(
        r.spec,
        JobSpec::Deploy {
            origin: DeployOrigin::Rollback { waived: false },
            ..
        }
    ));
    let rollouts = bot.sim.rollouts(WEB);
    assert_eq!(rollouts.len(), upgrades_before + 1, "one upgrade");
    assert_eq!(rollouts.last().unwrap().tag, "v1.2.2");
    assert!(
        bot.progress(job).contains("web: v1.2.3 → v1.2.2, rollback"),
        "{}",
        bot.progress(job)
    );
    // A tag that never succeeded there is refused.
    let reply = bot.say("alice", "/rollback web v1.2.3").await;
    assert!(
        refused(&reply).contains("no successful deploy of v1.2.3"),
        "{reply:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn on_a_paas_that_shows_no_tag_a_bare_rollback_after_a_failed_deploy_goes_to_the_last_good_one()
 {
    // The app shows only state and conditions: what runs there is history's to say.
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    let with_flavour = |fail: bool| {
        let mut spec = Scenario::demo()
            .apps
            .into_iter()
            .find(|a| a.app == "project-deploy")
            .unwrap()
            .with_flavour(releasebot::sim::AppFlavour::ConditionsOnly);
        spec.fail = fail.then(|| HELM_ERROR.to_string());
        bot.sim.simulator().upsert_app(spec).unwrap();
    };
    with_flavour(false);
    let good = deploy(&bot, "alice", "v1.0.1").await;
    assert_eq!(bot.record(good).state, JobState::Succeeded);
    with_flavour(true);
    let bad = deploy(&bot, "alice", "v1.0.2").await;
    assert_eq!(bot.record(bad).state, JobState::Failed);
    let message = bot.chat.message(&bot.progress_ref(bad)).unwrap();
    assert!(
        message.text.contains("/rollback web v1.0.1"),
        "{}",
        message.text
    );
    with_flavour(false);
    // The first thing people type after a failed deploy does what the message said.
    let reply = bot.say("alice", "/rollback web").await;
    let Reply::Started { job, text } = reply else {
        panic!("no rollback: {reply:?}");
    };
    assert!(text.contains("rollback of web to v1.0.1"), "{text}");
    approve(&bot, job).await;
    assert_eq!(bot.finished(job).await.state, JobState::Succeeded);
    assert_eq!(bot.sim.rollouts(WEB).last().unwrap().tag, "v1.0.1");
}

#[tokio::test(start_paused = true)]
async fn a_rollback_with_the_approval_waived_needs_no_vote_and_history_says_so() {
    let config = demo_config(|c| web(c).rollback_approval = false);
    let bot = spawn_bot(Scenario::demo(), config).await;
    let good = deploy(&bot, "alice", "v1.2.2").await;
    web_fails(&bot, true);
    let bad = deploy(&bot, "alice", "v1.2.3").await;
    web_fails(&bot, false);

    // The button under the good deploy offers nothing: pressing it changes nothing.
    let stale = bot
        .chat
        .press(
            "carol",
            &bot.progress_ref(good),
            &format!("rollback:{}", good.0),
        )
        .await
        .unwrap();
    assert!(stale.is_refusal(), "{stale:?}");
    // carol presses "Roll back to v1.2.2" under the failed one.
    let reply = bot
        .chat
        .press(
            "carol",
            &bot.progress_ref(bad),
            &format!("rollback:{}", bad.0),
        )
        .await
        .unwrap();
    let Reply::Started { job, text } = reply else {
        panic!("no rollback: {reply:?}");
    };
    assert!(text.contains("approval is waived for rollbacks"), "{text}");
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded);
    assert!(r.approval.is_none(), "nobody was asked");
    assert_eq!(r.requester.name, "carol");
    assert_eq!(bot.sim.rollouts(WEB).last().unwrap().tag, "v1.2.2");
    let history = info(bot.say("bob", "/history web").await);
    let line = history
        .lines()
        .find(|l| l.contains(&format!("{job} rollback")))
        .unwrap_or_else(|| panic!("{history}"));
    assert!(line.contains("approval waived"), "{line}");
}

#[tokio::test(start_paused = true)]
async fn promote_deploys_exactly_what_runs_on_the_source_after_approval() {
    let config = demo_config(|c| web(c).promote_from = vec![AppName::parse("api").unwrap()]);
    let bot = spawn_bot(Scenario::demo(), config).await;
    // Nothing was deployed to api yet.
    let reply = bot.say("alice", "/promote api web").await;
    assert!(refused(&reply).contains("never deployed api"), "{reply:?}");
    // api is released (built, then deployed; it needs no approval).
    let release = bot.start("alice", "/release api").await;
    let released = bot.finished(release).await;
    assert_eq!(
        released.state,
        JobState::Succeeded,
        "{}",
        bot.progress(release)
    );
    let tag = released.deploy_tag().unwrap().to_string();
    let image = released.image().unwrap().to_string();

    let reply = bot.say("alice", "/promote api web").await;
    let Reply::Started { job, text } = reply else {
        panic!("no promotion: {reply:?}");
    };
    assert!(
        text.contains(&format!("promote {tag} from api ({release}) to web")),
        "{text}"
    );
    approve(&bot, job).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded);
    assert_eq!(r.deploy_tag().unwrap().as_str(), tag);
    assert_eq!(r.image(), Some(image.as_str()));
    let a = r.approval.as_ref().unwrap();
    assert_eq!(
        (a.tag.as_str(), a.image.as_deref()),
        (tag.as_str(), Some(image.as_str()))
    );
    assert_eq!(bot.sim.rollouts(WEB).last().unwrap().tag, tag);
    assert!(
        bot.progress(job).contains("promoted from api"),
        "{}",
        bot.progress(job)
    );

    // Only from the apps web lists, and not when the source's last deploy failed.
    let reply = bot.say("alice", "/promote worker web").await;
    assert!(
        refused(&reply).contains("does not take promotions from worker"),
        "{reply:?}"
    );
    let api = Scenario::demo()
        .apps
        .into_iter()
        .find(|a| a.app == "api-deploy")
        .unwrap();
    bot.sim
        .simulator()
        .upsert_app(releasebot::sim::AppScenario {
            fail: Some(HELM_ERROR.into()),
            ..api
        })
        .unwrap();
    let failed = bot.start("alice", "/deploy api v9.9.9").await;
    assert_eq!(bot.finished(failed).await.state, JobState::Failed);
    let before = bot.sim.rollouts(WEB).len();
    let reply = bot.say("alice", "/promote api web").await;
    assert!(refused(&reply).contains("not known good"), "{reply:?}");
    assert_eq!(bot.sim.rollouts(WEB).len(), before, "nothing deployed");
}

#[tokio::test(start_paused = true)]
async fn a_freeze_refuses_deploys_lets_rollbacks_and_an_admin_through_and_is_audited() {
    let db = TempDb::new("freeze");
    let mut bot = spawn_bot_on(Scenario::demo(), demo_config(|_| {}), db.open().await).await;
    deploy(&bot, "alice", "v1.2.2").await;
    deploy(&bot, "alice", "v1.2.3").await;

    let frozen = info(
        bot.say("bob", "/freeze web 2h incident 4411: checkout errors")
            .await,
    );
    assert!(frozen.contains("web frozen by bob"), "{frozen}");
    // A restart keeps it.
    bot.restart(|| db.open()).await;
    let status = info(bot.say("alice", "/status").await);
    assert!(status.contains("❄ web frozen by bob"), "{status}");
    assert!(status.contains("incident 4411"), "{status}");

    let upgrades = bot.sim.rollouts(WEB).len();
    for command in ["/deploy web v1.2.4", "/release web"] {
        let reply = bot.say("alice", command).await;
        let text = refused(&reply);
        assert!(text.contains("web is frozen until"), "{text}");
        assert!(
            text.contains("by bob: incident 4411: checkout errors"),
            "{text}"
        );
    }
    // A non-admin's override is refused.
    let reply = bot
        .say("bob", "/deploy web v1.2.4 override: I know what I'm doing")
        .await;
    assert!(refused(&reply).contains("Only an admin"), "{reply:?}");
    assert_eq!(bot.sim.rollouts(WEB).len(), upgrades, "nothing deployed");

    // A rollback goes through, and says so.
    let reply = bot.say("alice", "/rollback web").await;
    let Reply::Started { job: rollback, .. } = reply else {
        panic!("{reply:?}");
    };
    approve(&bot, rollback).await;
    let r = bot.finished(rollback).await;
    assert_eq!(r.state, JobState::Succeeded);
    let waived = r
        .audit
        .iter()
        .find(|a| a.action == AuditAction::Waive)
        .unwrap();
    assert!(
        waived.detail.contains("a rollback may"),
        "{}",
        waived.detail
    );

    // An admin overrides with a reason; it survives a restart while awaiting approval.
    let job = bot
        .start(
            "root",
            "/deploy web v1.2.5 override: hotfix for incident 4411",
        )
        .await;
    bot.wait_for(job, "asking for approval", |r| r.waits_on_people())
        .await;
    bot.restart(|| db.open()).await;
    approve(&bot, job).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    let waived = r
        .audit
        .iter()
        .find(|a| a.action == AuditAction::Waive)
        .unwrap();
    assert_eq!(waived.actor.as_deref(), Some("root"));
    assert!(
        waived
            .detail
            .contains("overridden by root: hotfix for incident 4411"),
        "{}",
        waived.detail
    );
    assert_eq!(bot.sim.rollouts(WEB).last().unwrap().tag, "v1.2.5");

    // A deploy waiting for its approval when a freeze begins ends without deploying.
    bot.say("bob", "/unfreeze web").await;
    let waiting = bot.start("alice", "/deploy web v1.2.6").await;
    bot.wait_for(waiting, "asking for approval", |r| r.waits_on_people())
        .await;
    info(
        bot.say("carol", "/freeze all 30m release train stopped")
            .await,
    );
    approve(&bot, waiting).await;
    let r = bot.finished(waiting).await;
    assert!(
        matches!(r.outcome, Some(Outcome::Frozen { .. })),
        "{:?}",
        r.outcome
    );
    assert_ne!(bot.sim.rollouts(WEB).last().unwrap().tag, "v1.2.6");

    // Unfrozen: deploys go again; the history shows the freezes.
    let lifted = info(bot.say("carol", "/unfreeze all").await);
    assert!(lifted.contains("Lifted 1 freeze"), "{lifted}");
    deploy(&bot, "alice", "v1.2.7").await;
    assert_eq!(bot.sim.rollouts(WEB).last().unwrap().tag, "v1.2.7");
    let history = info(bot.say("alice", "/history web 20").await);
    assert!(history.contains("❄ web frozen by bob"), "{history}");
    assert!(history.contains("lifted by bob"), "{history}");
    assert!(history.contains("❄ all apps frozen by carol"), "{history}");
    let reply = bot.say("alice", "/unfreeze web").await;
    assert!(
        refused(&reply).contains("Nobody has frozen web"),
        "{reply:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_weekend_window_holds_on_the_local_clock_across_daylight_saving() {
    // Friday 2026-03-27, 23:00 in Berlin (UTC+1); the clocks go forward on Sunday.
    let friday = "2026-03-27T22:00:00Z".parse::<jiff::Timestamp>().unwrap();
    let start = SystemTime::UNIX_EPOCH + Duration::from_millis(friday.as_millisecond() as u64);
    let config = demo_config(|c| {
        let window = releasebot::freeze::Window::parse("Sat 00:00-Mon 06:00").unwrap();
        web(c).freeze =
            releasebot::freeze::Schedule::new(vec![window], Some("Europe/Berlin")).unwrap();
    });
    let store = std::sync::Arc::new(Store::open_in_memory().await.unwrap());
    let bot = spawn_bot_at(
        Scenario::demo(),
        config,
        store,
        false,
        Clock::starting_at(start),
    )
    .await;
    deploy(&bot, "alice", "v1.0.0").await;
    assert!(
        bot.engine
            .holds()
            .frozen(&AppName::parse("web").unwrap())
            .is_none()
    );

    // Saturday 00:30 local: the window holds, until Monday 06:00 local = 04:00 UTC.
    let until = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_millisecond();
    let elapsed = |bot: &TestBot| bot.clock.now_ms() - friday.as_millisecond();
    tokio::time::advance(Duration::from_millis(
        (until("2026-03-27T23:30:00Z") - friday.as_millisecond()) as u64,
    ))
    .await;
    let reply = bot.say("alice", "/deploy web v2.0.0").await;
    let text = refused(&reply);
    assert!(
        text.contains("freeze window Sat 00:00-Mon 06:00 (Europe/Berlin)"),
        "{text}"
    );
    assert!(text.contains("until 2026-03-30 04:00 UTC"), "{text}");
    let status = info(bot.say("alice", "/status").await);
    assert!(status.contains("freeze window"), "{status}");

    // Monday 05:30 local (03:30 UTC): still frozen. In winter 06:00 local would be
    // 05:00 UTC; this week it is 04:00 UTC.
    let to = |bot: &TestBot, t: &str| {
        Duration::from_millis((until(t) - friday.as_millisecond() - elapsed(bot)) as u64)
    };
    tokio::time::advance(to(&bot, "2026-03-30T03:30:00Z")).await;
    assert!(bot.say("alice", "/deploy web v2.0.0").await.is_refusal());
    tokio::time::advance(to(&bot, "2026-03-30T04:00:00Z")).await;
    let job = bot.start("alice", "/deploy web v2.0.0").await;
    approve(&bot, job).await;
    assert_eq!(bot.finished(job).await.state, JobState::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn a_rollback_right_after_a_bad_deploy_goes_to_the_good_one_still_reading_its_logs() {
    // A PaaS that fails an upgrade within a second, before the good deploy's logs
    // are read again.
    let mut scenario = Scenario::demo();
    scenario.speed = 20.0;
    let bot = spawn_bot(
        scenario,
        demo_config(|c| c.jobs.logs_window = Duration::from_secs(600)),
    )
    .await;
    let good = bot.start("alice", "/deploy web v1.2.2").await;
    approve(&bot, good).await;
    bot.wait_for(good, "rolled out", |r| r.state == JobState::FetchingLogs)
        .await;
    web_fails(&bot, true);
    let bad = deploy(&bot, "alice", "v1.2.3").await;
    assert_eq!(bot.record(bad).state, JobState::Failed);
    assert_eq!(bot.record(good).state, JobState::FetchingLogs);
    web_fails(&bot, false);
    let rollback = bot.start("bob", "/rollback web").await;
    let r = bot.record(rollback);
    assert_eq!(r.deploy_tag().map(|t| t.as_str()), Some("v1.2.2"));
}
