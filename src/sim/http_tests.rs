//! The simulator over HTTP, as the bot's client sees it: status codes, norman error
//! bodies, what an action did and did not do.

use std::time::Duration;

use serde_json::{Value, json};

use super::{AppFlavour, Fault, InjectedFault, LogShape, Route, Scenario, SimHandle, spawn};
use crate::secret::Secret;

const TOKEN: &str = "token-sim00:0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij";
const PROJECT: &str = "/v3/project/c-64wdm:p-5tfq9";
const WEB_APP: &str = "/v3/project/c-64wdm:p-5tfq9/apps/p-5tfq9:project-deploy";
const WEB_PIPELINE: &str = "/v3/project/c-64wdm:p-5tfq9/pipelines/p-5tfq9:p-tpk2x";

/// A simulator and a client that speaks to it with the right token.
struct Paas {
    sim: SimHandle,
    http: reqwest::Client,
}

/// A status and the body, as JSON where it is JSON (`Value::Null` for an empty one,
/// the text as a JSON string otherwise).
struct Answer {
    status: u16,
    body: Value,
}

impl Paas {
    async fn start(scenario: Scenario) -> Paas {
        let sim = spawn(Secret::new(TOKEN), scenario)
            .await
            .expect("the simulator starts");
        Paas {
            sim,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.bearer_auth(TOKEN).send().await.expect("an answer");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer { status, body }
    }

    async fn get(&self, path: &str) -> Answer {
        let url = format!("{}{path}", self.sim.url());
        self.send(self.http.get(url)).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        let url = format!("{}{path}", self.sim.url());
        self.send(
            self.http
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    async fn run(&self) -> Answer {
        self.post(
            &format!("{WEB_PIPELINE}?action=run"),
            json!({"branch": "master"}),
        )
        .await
    }

    async fn upgrade(&self, tag: &str) -> Answer {
        self.post(
            &format!("{WEB_APP}?action=upgradeoutter"),
            json!({"versionTag": tag}),
        )
        .await
    }
}

fn inject(paas: &Paas, route: Route, fault: Fault) {
    paas.sim.inject(InjectedFault {
        route: Some(route),
        fault,
        times: 1,
    });
}

#[tokio::test]
async fn a_conflict_refuses_the_upgrade_and_applies_nothing() {
    let paas = Paas::start(Scenario::demo().with_app_flavour(AppFlavour::InHouse)).await;
    inject(&paas, Route::Upgrade, Fault::Conflict);
    let refused = paas.upgrade("v2").await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["type"], "error");
    assert_eq!(refused.body["status"], 409);
    assert_eq!(refused.body["code"], "Conflict");
    let message = refused.body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Operation cannot be fulfilled on apps.project.cattle.io \"project-deploy\": the object has been modified; please apply your changes to the latest version and try again"),
        "{message}"
    );
    assert!(paas.sim.stats().upgrades.is_empty());
    assert_eq!(
        paas.get(WEB_APP).await.body["answers"]["image.tag"],
        "master-56-9ae1b20"
    );

    assert_eq!(paas.upgrade("v2").await.status, 200);
    assert_eq!(paas.sim.stats().total_upgrades(), 1);
}

#[tokio::test]
async fn a_server_error_after_the_run_still_created_the_execution() {
    let paas = Paas::start(Scenario::demo().with_app_flavour(AppFlavour::InHouse)).await;
    inject(&paas, Route::Run, Fault::ServerErrorAfter);
    let answer = paas.run().await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.body["code"], "ServerError");
    assert_eq!(paas.sim.stats().total_runs(), 1);
    let execution = paas
        .get(&format!("{PROJECT}/pipelineExecutions/p-5tfq9:p-tpk2x-1"))
        .await;
    assert_eq!(execution.status, 200);
    assert_eq!(execution.body["run"], 1);
}

fn assert_invalid_action(answer: &Answer, action: &str) {
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.body["type"], "error");
    assert_eq!(answer.body["status"], 422);
    assert_eq!(answer.body["code"], "InvalidAction");
    assert_eq!(answer.body["message"], format!("Invalid action: {action}"));
}

#[tokio::test]
async fn an_app_without_upgradeoutter_neither_lists_nor_takes_it() {
    let mut scenario = Scenario::demo().with_app_flavour(AppFlavour::InHouse);
    scenario.apps[0].offers_upgradeoutter = false;
    let paas = Paas::start(scenario).await;
    let app = paas.get(WEB_APP).await.body;
    assert!(app["actions"].get("upgradeoutter").is_none(), "{app}");
    assert!(app["actions"].get("upgrade").is_some(), "{app}");
    assert_invalid_action(&paas.upgrade("v2").await, "upgradeoutter");
    assert!(paas.sim.stats().upgrades.is_empty());
    assert_eq!(paas.get(WEB_APP).await.body, app);
}

#[tokio::test]
async fn actions_an_object_does_not_offer_are_422_invalid_action() {
    let paas = Paas::start(Scenario::demo().with_app_flavour(AppFlavour::InHouse)).await;
    let app = paas
        .post(&format!("{WEB_APP}?action=frobnicate"), json!({}))
        .await;
    assert_invalid_action(&app, "frobnicate");
    let pipeline = paas
        .post(&format!("{WEB_PIPELINE}?action=frobnicate"), json!({}))
        .await;
    assert_invalid_action(&pipeline, "frobnicate");
    assert_eq!(paas.run().await.status, 200);
    let execution = format!("{PROJECT}/pipelineExecutions/p-5tfq9:p-tpk2x-1");
    let unknown = paas
        .post(&format!("{execution}?action=frobnicate"), json!({}))
        .await;
    assert_invalid_action(&unknown, "frobnicate");
    paas.sim.advance(Duration::from_secs(3600));
    // A finished execution offers no `stop`.
    let stop = paas
        .post(&format!("{execution}?action=stop"), json!({}))
        .await;
    assert_invalid_action(&stop, "stop");
    assert_eq!(paas.sim.stats().stops, 0);
}

fn stock_web() -> Scenario {
    let mut scenario = Scenario::demo().with_app_flavour(AppFlavour::InHouse);
    scenario.apps[0] = scenario.apps[0].clone().with_flavour(AppFlavour::Stock);
    scenario
}

#[tokio::test]
async fn a_stock_upgrade_answers_the_new_answers_with_the_old_status() {
    let paas = Paas::start(stock_web()).await;
    let answer = paas.upgrade("v2").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["state"], "active");
    assert_eq!(answer.body["answers"]["image.tag"], "v2");
    assert_eq!(answer.body["appRevisionId"], "apprevision-00001");
    assert!(answer.body.get("versionTag").is_none(), "{}", answer.body);
}

#[tokio::test]
async fn rollouts_and_log_reads_are_recorded_on_the_wall_clock() {
    let paas = Paas::start(stock_web()).await;
    let app = "p-5tfq9:project-deploy";
    let logs = format!("{PROJECT}/deployLogs/{app}");
    assert_eq!(paas.upgrade("v2").await.status, 200);
    assert_eq!(paas.get(&logs).await.status, 200);
    // Jump over the end of the rollout (stock: 3 + 6 + 1 + 14 s after the action).
    paas.sim.advance(Duration::from_secs(100));
    inject(&paas, Route::DeployLogs, Fault::ServerError);
    assert_eq!(paas.get(&logs).await.status, 500);
    assert!(paas.sim.log_reads("p-5tfq9:api-deploy").is_empty());

    let reads = paas.sim.log_reads(app);
    let rollouts = paas.sim.rollouts(app);
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert_eq!(rollouts.len(), 1);
    let rollout = &rollouts[0];
    assert_eq!(rollout.tag, "v2");
    assert!(!rollout.failed && !rollout.superseded);
    let done_sim = rollout.done_at_sim.expect("done");
    assert_eq!(
        done_sim.duration_since(rollout.upgraded_at_sim).ok(),
        Some(Duration::from_secs(24))
    );
    // On the wall clock, done when the advance jumped over it: after the first read,
    // before the second.
    let done = rollout.done_at.expect("done");
    assert!(rollout.upgraded_at <= reads[0], "{rollout:?} {reads:?}");
    assert!(
        reads[0] <= done && done <= reads[1],
        "{rollout:?} {reads:?}"
    );

    let timeline = paas.sim.timeline();
    let events = &timeline.upgrades[0].events;
    let shows: Vec<&str> = events.iter().map(|e| e.shows.as_str()).collect();
    assert_eq!(shows, ["installing", "deploying", "✅ active"]);
    assert_eq!(events[2].at_ms, crate::clock::to_ms(done));
}

#[tokio::test]
async fn logs_under_an_unknown_key_are_served_as_such() {
    let mut scenario = Scenario::demo().with_app_flavour(AppFlavour::InHouse);
    scenario.apps[0].logs = LogShape::JsonUnknownKey;
    scenario.apps[0].log_lines = Some(vec!["one".into(), "two".into()]);
    let paas = Paas::start(scenario).await;
    let logs = paas
        .get(&format!("{PROJECT}/deployLogs/p-5tfq9:project-deploy"))
        .await;
    assert_eq!(logs.body, json!({"podLogs": ["one", "two"]}));
}

#[tokio::test]
async fn the_pipeline_tells_the_number_of_the_next_run() {
    let paas = Paas::start(Scenario::demo().with_app_flavour(AppFlavour::InHouse)).await;
    assert_eq!(paas.get(WEB_PIPELINE).await.body["nextRun"], 1);
    assert_eq!(paas.run().await.body["run"], 1);
    assert_eq!(paas.get(WEB_PIPELINE).await.body["nextRun"], 2);
    paas.sim.set_next_run("c-64wdm:p-5tfq9", "p-tpk2x", 12);
    assert_eq!(paas.get(WEB_PIPELINE).await.body["nextRun"], 12);
    assert_eq!(paas.run().await.body["id"], "p-5tfq9:p-tpk2x-12");
    assert_eq!(paas.get(WEB_PIPELINE).await.body["nextRun"], 13);
}

#[tokio::test]
async fn a_run_that_fails_after_create_leaves_exactly_one_execution() {
    let mut scenario = Scenario::demo().with_app_flavour(AppFlavour::InHouse);
    scenario.pipelines[0].run_fails_after_create = true;
    let paas = Paas::start(scenario).await;
    paas.sim.set_next_run("c-64wdm:p-5tfq9", "p-tpk2x", 12);
    let answer = paas.run().await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.body["type"], "error");
    assert_eq!(answer.body["status"], 500);
    assert_eq!(answer.body["code"], "ServerError");
    assert_eq!(
        answer.body["message"],
        "pipelineexecutions.project.cattle.io \"p-tpk2x-12\" already exists"
    );
    assert_eq!(paas.sim.stats().total_runs(), 1);
    let listed = paas
        .get(&format!(
            "{PROJECT}/pipelineExecutions?pipelineId=p-5tfq9:p-tpk2x"
        ))
        .await;
    let data = listed.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["run"], 12);
    assert_eq!(paas.get(WEB_PIPELINE).await.body["nextRun"], 13);
}

#[tokio::test(start_paused = true)]
async fn a_slow_run_answers_late_but_its_execution_runs_from_the_request() {
    let mut scenario = Scenario::demo().with_app_flavour(AppFlavour::InHouse);
    scenario.pipelines[0].run_delay_seconds = 10.0;
    let paas = Paas::start(scenario).await;
    let asked = tokio::time::Instant::now();
    let answer = paas.run().await;
    assert!(
        asked.elapsed() >= Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(answer.status, 200);
    // The answer is the execution as created: still provisioning.
    assert_eq!(answer.body["executionState"], "Waiting");
    // Meanwhile it ran: 3 s provisioning and 4 s of Clone are over.
    let now = paas
        .get(&format!("{PROJECT}/pipelineExecutions/p-5tfq9:p-tpk2x-1"))
        .await;
    assert_eq!(now.body["executionState"], "Building");
    assert_eq!(
        now.body["conditions"][2]["message"],
        "Running 'Build' stage"
    );
}

#[tokio::test]
async fn next_links_may_carry_the_internal_url_with_the_right_path_and_query() {
    let list = format!("{PROJECT}/pipelineExecutions?pipelineId=p-5tfq9:p-tpk2x");
    for base in [None, Some("https://rancher.internal:8443")] {
        let scenario = Scenario {
            page_size: 2,
            next_base_url: base.map(str::to_string),
            ..Scenario::demo().with_app_flavour(AppFlavour::InHouse)
        };
        let paas = Paas::start(scenario).await;
        for _ in 0..3 {
            assert_eq!(paas.run().await.status, 200);
        }
        let first = paas.get(&list).await.body;
        assert_eq!(first["data"].as_array().map(Vec::len), Some(2));
        let next = first["pagination"]["next"].as_str().unwrap_or_default();
        let own = paas.sim.url().to_string();
        let base = base.unwrap_or(&own);
        let Some(path_and_query) = next.strip_prefix(base) else {
            panic!("{next} is not on {base}");
        };
        assert!(
            path_and_query.starts_with("/v3/project/c-64wdm:p-5tfq9/pipelineExecutions?"),
            "{next}"
        );
        // Followed on the client's own base URL, it is the second page.
        let second = paas.get(path_and_query).await.body;
        let runs: Vec<&Value> = second["data"]
            .as_array()
            .map(|d| d.iter().map(|e| &e["run"]).collect())
            .unwrap_or_default();
        assert_eq!(runs, [&json!(3)]);
        assert!(second["pagination"].get("next").is_none());
    }
}

#[tokio::test]
async fn the_new_faults_can_be_injected_through_the_admin_api() {
    let paas = Paas::start(Scenario::demo().with_app_flavour(AppFlavour::InHouse)).await;
    for fault in [
        json!({"route": "upgrade", "fault": {"kind": "conflict"}}),
        json!({"route": "run", "fault": {"kind": "server_error_after"}}),
    ] {
        assert_eq!(paas.post("/admin/faults", fault).await.status, 200);
    }
    assert_eq!(paas.upgrade("v2").await.status, 409);
    assert_eq!(paas.run().await.status, 500);
    let stats = paas.sim.stats();
    assert_eq!((stats.total_upgrades(), stats.total_runs()), (0, 1));
}
