use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::*;
use crate::sim::model::RenderContext;
use crate::sim::scenario::{AppFlavour, Scenario};

fn wall() -> SystemTime {
    SystemTime::UNIX_EPOCH
}

#[test]
fn an_upgrade_goes_installing_deploying_active() {
    let spec = Scenario::demo().with_app_flavour(AppFlavour::InHouse).apps[0].clone();
    let mut app = SimApp::new("c-64wdm:p-5tfq9", spec, Duration::ZERO);
    app.upgrade("v2", Duration::from_secs(10), wall());
    assert_eq!(app.phase(Duration::from_secs(11)), AppPhase::Installing);
    assert_eq!(app.phase(Duration::from_secs(17)), AppPhase::Deploying);
    assert_eq!(app.phase(Duration::from_secs(31)), AppPhase::Active);
    assert_eq!(app.live_tag(Duration::from_secs(11)), "master-56-9ae1b20");
    assert_eq!(app.live_tag(Duration::from_secs(31)), "v2");
}

const EPOCH_SECS: u64 = 1_700_000_000;
const OLD: &str = "master-56-9ae1b20";

fn ctx() -> RenderContext<'static> {
    RenderContext {
        base_url: "http://127.0.0.1:1",
        epoch: SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECS),
    }
}

fn at(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds)
}

/// The demo's `web` app (install 6 s, rollout 14 s) in a flavour.
fn web(flavour: AppFlavour) -> AppScenario {
    Scenario::demo().apps[0].clone().with_flavour(flavour)
}

/// What a client deciding "is my rollout done" looks at, in one line: state,
/// transitioning, the `Installed` and `Deployed` statuses, the `appRevisionId`, the
/// `image.tag` answer; `-` where the JSON does not have it.
fn summary(v: &Value) -> String {
    let condition = |kind: &str| {
        v["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
            .and_then(|c| c["status"].as_str())
            .unwrap_or("-")
            .to_string()
    };
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    format!(
        "{}/{} I={} D={} {} {}",
        text(&v["state"]),
        text(&v["transitioning"]),
        condition("Installed"),
        condition("Deployed"),
        text(&v["appRevisionId"]).replace("apprevision-0000", "rev"),
        text(&v["answers"]["image.tag"]).replace(OLD, "old"),
    )
}

/// Upgrades the app to `v2` at 10 s and renders it every half second up to 40 s:
/// each change of the summary, after when it happened.
fn walk(spec: AppScenario) -> Vec<String> {
    let mut app = SimApp::new("c-64wdm:p-5tfq9", spec, Duration::ZERO);
    let mut seen: Vec<String> = Vec::new();
    let mut last = String::new();
    for step in 0..=80 {
        let t = f64::from(step) / 2.0;
        if t == 10.0 {
            app.upgrade("v2", at(t), wall());
        }
        let now = summary(&app.render(&ctx(), at(t)));
        if now != last {
            seen.push(format!("{t}s {now}"));
            last = now;
        }
    }
    seen
}

fn failing(spec: AppScenario) -> AppScenario {
    AppScenario {
        fail: Some("Error: UPGRADE FAILED: boom".into()),
        ..spec
    }
}

#[test]
fn in_house_follows_the_action_at_once() {
    assert_eq!(
        walk(web(AppFlavour::InHouse)),
        [
            "0s active/no I=True D=True rev1 old",
            "10s installing/yes I=Unknown D=True rev2 v2",
            "16s deploying/yes I=True D=Unknown rev2 v2",
            "30s active/no I=True D=True rev2 v2",
        ]
    );
}

#[test]
fn stock_shows_the_old_status_then_active_before_the_workloads_roll() {
    assert_eq!(
        walk(web(AppFlavour::Stock)),
        [
            "0s active/no I=True D=True rev1 old",
            // The new answers at once, the old status for pickup_seconds (3).
            "10s active/no I=True D=True rev1 v2",
            "13s installing/yes I=Unknown D=True rev1 v2",
            // Helm ran: a new revision, and `active` for blip_seconds (1).
            "19s active/no I=True D=True rev2 v2",
            "20s deploying/yes I=True D=Unknown rev2 v2",
            "34s active/no I=True D=True rev2 v2",
        ]
    );
}

#[test]
fn conditions_only_has_state_and_conditions_and_in_house_timing() {
    assert_eq!(
        walk(web(AppFlavour::ConditionsOnly)),
        [
            "0s active/- I=True D=True - -",
            "10s installing/- I=Unknown D=True - -",
            "16s deploying/- I=True D=Unknown - -",
            "30s active/- I=True D=True - -",
        ]
    );
}

#[test]
fn a_stock_helm_error_is_retried_by_the_controller() {
    assert_eq!(
        walk(failing(web(AppFlavour::Stock))),
        [
            "0s active/no I=True D=True rev1 old",
            "10s active/no I=True D=True rev1 v2",
            "13s installing/yes I=Unknown D=True rev1 v2",
            "19s installing/error I=False D=True rev2 v2",
            "25s installing/yes I=Unknown D=True rev2 v2",
            "31s installing/error I=False D=True rev2 v2",
            "37s installing/yes I=Unknown D=True rev2 v2",
        ]
    );
}

#[test]
fn helm_errors_elsewhere_stay() {
    assert_eq!(
        walk(failing(web(AppFlavour::InHouse))),
        [
            "0s active/no I=True D=True rev1 old",
            "10s installing/yes I=Unknown D=True rev2 v2",
            "16s installing/error I=False D=True rev2 v2",
        ]
    );
    assert_eq!(
        walk(failing(web(AppFlavour::ConditionsOnly))),
        [
            "0s active/- I=True D=True - -",
            "10s installing/- I=Unknown D=True - -",
            "16s installing/- I=False D=True - -",
        ]
    );
}

#[test]
fn an_app_failed_before_shows_that_failure_until_the_upgrade_is_picked_up() {
    let message = "Error: UPGRADE FAILED: timed out waiting for the condition";
    assert_eq!(
        walk(web(AppFlavour::Stock).with_failed_before(message)),
        [
            "0s installing/error I=False D=True rev1 old",
            "10s installing/error I=False D=True rev1 v2",
            "13s installing/yes I=Unknown D=True rev1 v2",
            "19s active/no I=True D=True rev2 v2",
            "20s deploying/yes I=True D=Unknown rev2 v2",
            "34s active/no I=True D=True rev2 v2",
        ]
    );
    assert_eq!(
        walk(web(AppFlavour::InHouse).with_failed_before(message)),
        [
            "0s installing/error I=False D=True rev1 old",
            "10s installing/yes I=Unknown D=True rev2 v2",
            "16s deploying/yes I=True D=Unknown rev2 v2",
            "30s active/no I=True D=True rev2 v2",
        ]
    );
    assert_eq!(
        walk(web(AppFlavour::ConditionsOnly).with_failed_before(message)),
        [
            "0s installing/- I=False D=True - -",
            "10s installing/- I=Unknown D=True - -",
            "16s deploying/- I=True D=Unknown - -",
            "30s active/- I=True D=True - -",
        ]
    );
    let app = SimApp::new(
        "c-64wdm:p-5tfq9",
        web(AppFlavour::ConditionsOnly).with_failed_before(message),
        Duration::ZERO,
    );
    assert_eq!(
        app.render(&ctx(), at(1.0))["conditions"][1],
        json!({"type": "Installed", "status": "False", "reason": "Error", "message": message})
    );
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn conditions_only_json_has_nothing_else() {
    let mut app = SimApp::new(
        "c-64wdm:p-5tfq9",
        web(AppFlavour::ConditionsOnly),
        Duration::ZERO,
    );
    app.upgrade("v2", at(10.0), wall());
    let deploying = app.render(&ctx(), at(20.0));
    assert_eq!(
        keys(&deploying),
        [
            "actions",
            "baseType",
            "conditions",
            "id",
            "links",
            "name",
            "state",
            "type"
        ]
    );
    assert_eq!(
        deploying["conditions"],
        json!([
            {"type": "Migrated", "status": "True"},
            {"type": "Installed", "status": "True"},
            {"type": "Deployed", "status": "Unknown",
             "message": "workloads are updating: deployment:project-deploy:project-deploy"},
        ])
    );
    assert!(deploying["actions"]["upgradeoutter"].is_string());
}

#[test]
fn stock_keeps_the_old_installed_time_until_helm_ran_and_has_no_version_tag() {
    let mut app = SimApp::new("c-64wdm:p-5tfq9", web(AppFlavour::Stock), Duration::ZERO);
    app.upgrade("v2", at(10.0), wall());
    let installed_time =
        |t: f64| app.render(&ctx(), at(t))["conditions"][1]["lastUpdateTime"].clone();
    let stamp = |t: u64| json!(crate::clock::rfc3339(ctx().epoch + Duration::from_secs(t)));
    assert_eq!(installed_time(12.0), stamp(0));
    assert_eq!(installed_time(14.0), stamp(13));
    assert_eq!(installed_time(19.5), stamp(19));
    let v = app.render(&ctx(), at(40.0));
    assert!(v.get("versionTag").is_none(), "{v}");
    assert_eq!(v["answers"]["image.tag"], "v2");
    assert_eq!(v["conditions"][2]["lastUpdateTime"], stamp(34));
}

#[test]
fn the_upgrade_answer_is_what_each_paas_would_send() {
    let answer = |flavour| {
        let mut app = SimApp::new("c-64wdm:p-5tfq9", web(flavour), Duration::ZERO);
        app.upgrade("v2", at(10.0), wall());
        app.upgrade_answer(&ctx(), at(10.0))
    };
    assert_eq!(
        summary(&answer(AppFlavour::InHouse)),
        "installing/yes I=Unknown D=True rev2 v2"
    );
    assert_eq!(answer(AppFlavour::InHouse)["versionTag"], "v2");
    assert_eq!(
        summary(&answer(AppFlavour::Stock)),
        "active/no I=True D=True rev1 v2"
    );
    assert_eq!(
        summary(&answer(AppFlavour::ConditionsOnly)),
        "active/- I=True D=True - -"
    );
    // Even a stock app picked up at once answers the status from before.
    let mut spec = web(AppFlavour::Stock);
    spec.pickup_seconds = 0.0;
    let mut app = SimApp::new("c-64wdm:p-5tfq9", spec, Duration::ZERO);
    app.upgrade("v2", at(10.0), wall());
    assert_eq!(app.upgrade_answer(&ctx(), at(10.0))["state"], "active");
    assert_eq!(app.render(&ctx(), at(10.0))["state"], "installing");
}

#[test]
fn next_change_visits_every_stock_boundary() {
    let mut app = SimApp::new("c-64wdm:p-5tfq9", web(AppFlavour::Stock), Duration::ZERO);
    app.upgrade("v2", at(10.0), wall());
    let mut t = at(10.0);
    let mut seen = Vec::new();
    while let Some(next) = app.next_change(t) {
        seen.push(next.as_secs_f64());
        t = next;
    }
    assert_eq!(seen, [13.0, 19.0, 20.0, 34.0]);

    let mut failing = web(AppFlavour::Stock);
    failing.fail = Some("Error: boom".into());
    let mut app = SimApp::new("c-64wdm:p-5tfq9", failing, Duration::ZERO);
    app.upgrade("v2", at(10.0), wall());
    assert_eq!(app.next_change(at(19.0)), Some(at(25.0)));
    assert_eq!(app.next_change(at(26.0)), Some(at(31.0)));
}

#[test]
fn the_timeline_has_the_true_moments_of_each_flavour() {
    let events = |spec: AppScenario| {
        let mut app = SimApp::new("c-64wdm:p-5tfq9", spec, Duration::ZERO);
        app.upgrade("v2", at(10.0), wall());
        let (tag, events) = app.upgrade_events(at(60.0)).remove(0);
        assert_eq!(tag, "v2");
        events
            .into_iter()
            .map(|(t, shows)| (t.as_secs_f64(), shows))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        events(web(AppFlavour::Stock)),
        [
            (13.0, "installing"),
            (20.0, "deploying"),
            (34.0, "✅ active")
        ]
    );
    assert_eq!(
        events(web(AppFlavour::ConditionsOnly)),
        [
            (10.0, "installing"),
            (16.0, "deploying"),
            (30.0, "✅ active")
        ]
    );
    let mut failing = web(AppFlavour::Stock);
    failing.fail = Some("Error: boom".into());
    assert_eq!(events(failing), [(13.0, "installing")]);
}

#[test]
fn rollouts_record_when_each_upgrade_was_truly_done() {
    let epoch = ctx().epoch;
    // Wall-clock time runs at half the simulated pace here, to tell the two apart.
    let wall_of = |t: Duration| SystemTime::UNIX_EPOCH + t / 2;
    let mut spec = web(AppFlavour::Stock);
    let mut app = SimApp::new("c-64wdm:p-5tfq9", spec.clone(), Duration::ZERO);
    app.upgrade("v2", at(10.0), SystemTime::UNIX_EPOCH + at(5.0));
    let running = app.rollouts(at(33.0), epoch, wall_of);
    assert_eq!(running[0].done_at, None);
    let done = app.rollouts(at(60.0), epoch, wall_of);
    assert_eq!(
        done,
        [RolloutRecord {
            tag: "v2".into(),
            upgraded_at: SystemTime::UNIX_EPOCH + at(5.0),
            upgraded_at_sim: epoch + at(10.0),
            done_at: Some(SystemTime::UNIX_EPOCH + at(17.0)),
            done_at_sim: Some(epoch + at(34.0)),
            failed: false,
            superseded: false,
        }]
    );

    spec.fail = Some("Error: boom".into());
    app.spec = spec;
    app.upgrade("v3", at(70.0), wall());
    // Replaced while helm ran: never done.
    app.upgrade("v4", at(75.0), wall());
    let records = app.rollouts(at(100.0), epoch, wall_of);
    assert!(records[1].superseded && records[1].done_at.is_none() && !records[1].failed);
    assert_eq!(records[2].done_at_sim, Some(epoch + at(84.0)));
    assert!(records[2].failed);
}

#[test]
fn the_old_pods_serve_the_logs_until_the_rollout_is_truly_done() {
    let mut app = SimApp::new("c-64wdm:p-5tfq9", web(AppFlavour::Stock), Duration::ZERO);
    app.upgrade("v2", at(10.0), wall());
    let first = |t: f64| app.log_lines(&ctx(), at(t)).unwrap_or_default()[0].clone();
    // `active` at 19 s, but the workloads have not rolled.
    assert!(first(19.5).ends_with(&format!("starting, version {OLD}")));
    assert!(first(34.0).ends_with("starting, version v2"));
}

#[test]
fn growing_logs_appear_line_by_line_after_the_rollout() {
    let mut spec = web(AppFlavour::InHouse);
    spec.logs_grow = true;
    let mut app = SimApp::new("c-64wdm:p-5tfq9", spec, Duration::ZERO);
    app.upgrade("v2", at(10.0), wall());
    let count = |t: f64| app.log_lines(&ctx(), at(t)).unwrap_or_default().len();
    // Done at 30 s: lines at +0, +0, +1, +3, +3.
    assert_eq!(count(30.0), 2);
    assert_eq!(count(30.5), 2);
    assert_eq!(count(31.0), 3);
    assert_eq!(count(33.0), 5);
    let lines = app.log_lines(&ctx(), at(40.0)).unwrap_or_default();
    assert!(lines[0].ends_with("starting, version v2"), "{lines:?}");
    assert!(lines[0].starts_with(&crate::clock::rfc3339(ctx().epoch + at(30.0))));
    // Without logs_grow every line is there at once.
    let mut app = SimApp::new("c-64wdm:p-5tfq9", web(AppFlavour::InHouse), Duration::ZERO);
    app.upgrade("v2", at(10.0), wall());
    assert_eq!(app.log_lines(&ctx(), at(30.0)).unwrap_or_default().len(), 5);
}
