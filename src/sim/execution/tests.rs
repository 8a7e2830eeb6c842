use std::time::{Duration, SystemTime};

use super::*;
use crate::sim::model::RenderContext;
use crate::sim::scenario::Scenario;
use serde_json::Value;

fn ctx() -> RenderContext<'static> {
    RenderContext {
        base_url: "http://127.0.0.1:1",
        epoch: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    }
}

fn web_run() -> SimExecution {
    let spec = &Scenario::demo().pipelines[0];
    SimExecution::new("c-64wdm:p-5tfq9", spec, 57, "master", Duration::ZERO)
}

#[test]
fn a_run_walks_through_its_stages_by_time() {
    let e = web_run();
    assert_eq!(e.phase(Duration::from_secs(1)), RunPhase::Provisioning);
    assert_eq!(e.phase(Duration::from_secs(5)), RunPhase::Running(0));
    assert_eq!(e.phase(Duration::from_secs(8)), RunPhase::Running(1));
    // 3 provisioning + 4 + 51 + 22 + 6 = 86
    assert_eq!(e.phase(Duration::from_secs(85)), RunPhase::Running(3));
    assert_eq!(e.phase(Duration::from_secs(86)), RunPhase::Succeeded);
    let v = e.render(&ctx(), Duration::from_secs(90), true);
    assert_eq!(v["executionState"], "Success");
    assert_eq!(v["versionTag"], e.version_tag());
    assert!(
        v["dockerImage"]
            .as_str()
            .unwrap()
            .ends_with(&e.version_tag())
    );
}

#[test]
fn a_failed_run_drops_the_state_of_later_stages() {
    let mut e = web_run();
    e.fail_at = Some(1);
    let v = e.render(&ctx(), Duration::from_secs(200), true);
    assert_eq!(v["executionState"], "Failed");
    assert_eq!(v["state"], "building");
    assert_eq!(v["transitioning"], "error");
    assert!(v["stages"][2].get("state").is_none());
    assert_eq!(
        v["conditions"][2]["message"],
        "Got FAILED status in 'Build' stage"
    );
    assert!(v.get("versionTag").is_none());
}

#[test]
fn next_change_visits_every_boundary_then_stops() {
    let e = web_run();
    let mut t = Duration::ZERO;
    let mut seen = 0;
    while let Some(next) = e.next_change(t) {
        assert!(next > t);
        t = next;
        seen += 1;
    }
    assert_eq!(e.phase(t), RunPhase::Succeeded);
    assert_eq!(seen, 5);
}

fn run_of(spec: PipelineScenario) -> SimExecution {
    SimExecution::new("c-64wdm:p-5tfq9", &spec, 57, "master", Duration::ZERO)
}

#[test]
fn the_image_and_tag_can_come_after_success() {
    let spec = PipelineScenario {
        fields_delay_seconds: 5.0,
        ..Scenario::demo().pipelines[0].clone()
    };
    let e = run_of(spec);
    let at = Duration::from_secs_f64;
    for t in [86.0, 90.9] {
        let v = e.render(&ctx(), at(t), true);
        assert_eq!(v["executionState"], "Success");
        assert!(v.get("versionTag").is_none() && v.get("dockerImage").is_none());
    }
    let v = e.render(&ctx(), at(91.0), true);
    assert_eq!(v["versionTag"], e.version_tag());
    assert!(v["dockerImage"].is_string());
    assert_eq!(e.next_change(at(86.0)), Some(at(91.0)));
    assert_eq!(e.next_change(at(91.0)), None);
    // A failed run never gets them.
    let mut failed = e.clone();
    failed.fail_at = Some(1);
    assert_eq!(failed.next_change(at(200.0)), None);
}

#[test]
fn a_run_may_show_an_unknown_state_while_it_builds() {
    let spec = PipelineScenario {
        unknown_state: Some("Running".into()),
        ..Scenario::demo().pipelines[0].clone()
    };
    let e = run_of(spec);
    let building = e.render(&ctx(), Duration::from_secs(10), true);
    assert_eq!(building["executionState"], "Running");
    assert_eq!(building["stages"][1]["state"], "Building");
    assert_eq!(building["conditions"][2]["status"], "Unknown");
    assert_eq!(
        building["conditions"][2]["message"],
        "Running 'Build' stage"
    );
    let waiting = e.render(&ctx(), Duration::from_secs(1), true);
    assert_eq!(waiting["executionState"], "Waiting");
    let done = e.render(&ctx(), Duration::from_secs(90), true);
    assert_eq!(done["executionState"], "Success");
}

#[test]
fn runs_carry_the_commits_people_write_in_turn() {
    let spec = &Scenario::demo().pipelines[0];
    let rendered: Vec<Value> = (1..=5)
        .map(|run| {
            SimExecution::new("c-64wdm:p-5tfq9", spec, run, "master", Duration::ZERO).render(
                &ctx(),
                Duration::from_secs(900),
                true,
            )
        })
        .collect();
    let messages: Vec<&str> = rendered
        .iter()
        .map(|v| v["message"].as_str().unwrap())
        .collect();
    assert!(
        messages[0].contains('\n'),
        "a multi-line message: {messages:?}"
    );
    assert!(messages[1].contains("**"), "markdown: {messages:?}");
    assert!(messages[2].contains("@everyone"), "a ping: {messages:?}");
    assert_eq!(messages[4], messages[0], "the set repeats");
    assert_eq!(rendered[0]["author"], "Alice Example");
    assert_eq!(rendered[0]["email"], "alice@example.com");
    assert!(
        rendered[2].get("email").is_none(),
        "some providers leave it out"
    );
    let commit = rendered[1]["commit"].as_str().unwrap();
    assert!(rendered[1]["htmlLink"].as_str().unwrap().ends_with(commit));
}
