//! The PaaS client against the simulator: every operation, every error class, and the
//! rule that one request never starts two builds.

use std::time::Duration;

use releasebot::clock::Clock;
use releasebot::job::Reading;
use releasebot::paas::{
    AppRef, BuildStatus, ExecutionRef, PaasClient, PaasError, PipelineId, PipelineRef, StopOutcome,
};
use releasebot::sim::{AppFlavour, Fault, InjectedFault, LogShape, Route, Scenario};

use crate::helpers::{TOKEN, client, spawn_sim, test_config, web_app, web_pipeline, web_project};

fn once(route: Route, fault: Fault) -> InjectedFault {
    InjectedFault {
        route: Some(route),
        fault,
        times: 1,
    }
}

fn always(route: Route, fault: Fault) -> InjectedFault {
    InjectedFault {
        route: Some(route),
        fault,
        times: 1000,
    }
}

fn exec_ref(id: &releasebot::paas::ExecutionId) -> ExecutionRef {
    ExecutionRef::new(web_project(), id.clone())
}

#[tokio::test(start_paused = true)]
async fn a_build_runs_to_success_with_its_image_tag_and_chart_version() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);

    let started = client
        .run_pipeline(&web_pipeline(), "master", None, None)
        .await
        .unwrap();
    assert_eq!(started.id.to_string(), "p-5tfq9:p-tpk2x-1");
    assert!(
        started.conditions.is_empty(),
        "the run response has no conditions yet"
    );
    assert!(matches!(started.status(), BuildStatus::Running { .. }));

    sim.advance(Duration::from_secs(30));
    let running = client.get_execution(&exec_ref(&started.id)).await.unwrap();
    assert_eq!(
        running.status(),
        BuildStatus::Running {
            stage: Some("Build".into())
        }
    );
    assert_eq!(running.stages[0].name, "Clone");

    sim.advance(Duration::from_secs(600));
    let done = client.get_execution(&exec_ref(&started.id)).await.unwrap();
    assert_eq!(done.status(), BuildStatus::Succeeded);
    let tag = done
        .version_tag
        .clone()
        .expect("the in-house PaaS reports a versionTag");
    assert!(tag.starts_with("master-1-"), "{tag}");
    assert_eq!(
        done.docker_image.as_deref(),
        Some(format!("harbor.example.com/team/web:{tag}").as_str())
    );
    assert_eq!(done.chart_version.as_deref(), Some("0.0.1"));
    let names: Vec<&str> = done.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Clone", "Build", "Publish Image", "Chart"]);
    assert_eq!(done.stages[1].duration(), Some(Duration::from_secs(51)));
}

#[tokio::test(start_paused = true)]
async fn a_failing_stage_is_named_with_rancher_message() {
    let mut scenario = Scenario::demo();
    scenario.pipelines[0].fail_at = Some("Publish Image".into());
    let sim = spawn_sim(scenario).await;
    let client = client(&sim);
    let started = client
        .run_pipeline(&web_pipeline(), "master", None, None)
        .await
        .unwrap();
    sim.advance(Duration::from_secs(600));
    let done = client.get_execution(&exec_ref(&started.id)).await.unwrap();
    assert_eq!(
        done.status(),
        BuildStatus::Failed {
            stage: Some("Publish Image".into()),
            message: "Got FAILED status in 'Publish Image' stage".into(),
        }
    );
    assert_eq!(
        done.stages[3].state, None,
        "later stages lose their state key"
    );
    assert_eq!(done.deployable_tag(), None);
}

#[tokio::test(start_paused = true)]
async fn a_running_build_can_be_stopped_once() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);
    let started = client
        .run_pipeline(&web_pipeline(), "master", None, None)
        .await
        .unwrap();
    sim.advance(Duration::from_secs(20));
    let id = exec_ref(&started.id);
    assert_eq!(
        client.stop_execution(&id).await.unwrap(),
        StopOutcome::Stopped
    );
    let stopped = client.get_execution(&id).await.unwrap();
    assert_eq!(
        stopped.status(),
        BuildStatus::Aborted {
            message: "aborted by user".into()
        }
    );
    assert_eq!(
        client.stop_execution(&id).await.unwrap(),
        StopOutcome::AlreadyFinished
    );
    assert_eq!(sim.stats().stops, 1);
}

#[tokio::test(start_paused = true)]
async fn listings_follow_pages_and_sort_runs_numerically() {
    let scenario = Scenario {
        page_size: 2,
        ..Scenario::demo()
    };
    let sim = spawn_sim(scenario).await;
    sim.set_next_run("c-64wdm:p-5tfq9", "p-tpk2x", 8);
    let client = client(&sim);
    for branch in ["master", "develop", "master", "master"] {
        client
            .run_pipeline(&web_pipeline(), branch, None, None)
            .await
            .unwrap();
    }
    // Another pipeline's runs in the same project are not listed.
    let api = PipelineRef::new(web_project(), PipelineId::parse("p-8kd2m").unwrap());
    client
        .run_pipeline(&api, "master", None, None)
        .await
        .unwrap();

    let runs: Vec<u64> = client
        .list_executions(&web_pipeline())
        .await
        .unwrap()
        .iter()
        .map(|e| e.run)
        .collect();
    assert_eq!(runs, [8, 9, 10, 11]);
    assert_eq!(
        sim.stats().by_route["list_executions"],
        2,
        "two pages of two"
    );
}

#[tokio::test(start_paused = true)]
async fn an_upgrade_goes_through_installing_and_deploying_to_active() {
    let sim = spawn_sim(Scenario::demo().with_app_flavour(AppFlavour::InHouse)).await;
    let client = client(&sim);
    let before = client.get_app(&web_app()).await.unwrap();
    assert_eq!(before.snapshot().reading(), Reading::Active);
    assert_eq!(before.version_tag.as_deref(), Some("master-56-9ae1b20"));

    client
        .upgrade_app(&web_app(), "v1.2.3", &before)
        .await
        .unwrap();
    let installing = client.get_app(&web_app()).await.unwrap();
    assert!(matches!(
        installing.snapshot().reading(),
        Reading::Installing { .. }
    ));
    assert!(installing.snapshot().moved_since(&before.snapshot()));

    sim.advance(Duration::from_secs(7));
    let deploying = client.get_app(&web_app()).await.unwrap();
    match deploying.snapshot().reading() {
        Reading::Deploying { message } => {
            assert!(message.unwrap().contains("workloads are updating"))
        }
        other => panic!("expected deploying, got {other:?}"),
    }
    sim.advance(Duration::from_secs(20));
    let active = client.get_app(&web_app()).await.unwrap();
    assert_eq!(active.snapshot().reading(), Reading::Active);
    assert_eq!(active.version_tag.as_deref(), Some("v1.2.3"));
    let logs = client.deploy_logs(&web_app()).await.unwrap().unwrap();
    assert!(logs[0].contains("version v1.2.3"), "{logs:?}");
    assert_eq!(sim.stats().upgrades["p-5tfq9:project-deploy"], 1);
}

#[tokio::test(start_paused = true)]
async fn a_helm_error_fails_the_rollout_with_its_message() {
    let mut scenario = Scenario::demo().with_app_flavour(AppFlavour::InHouse);
    scenario.apps[0].fail = Some("Error: UPGRADE FAILED: another operation is in progress".into());
    let sim = spawn_sim(scenario).await;
    let client = client(&sim);
    let before = client.get_app(&web_app()).await.unwrap();
    client.upgrade_app(&web_app(), "v2", &before).await.unwrap();
    sim.advance(Duration::from_secs(30));
    assert_eq!(
        client
            .get_app(&web_app())
            .await
            .unwrap()
            .snapshot()
            .reading(),
        Reading::Failed {
            message: "Error: UPGRADE FAILED: another operation is in progress".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn deploy_logs_are_read_in_every_shape_and_404_means_none() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);
    let lines = vec!["first line".to_string(), "second line".to_string()];
    for shape in [
        LogShape::Text,
        LogShape::JsonString,
        LogShape::JsonArray,
        LogShape::JsonObject,
    ] {
        let mut app = Scenario::demo().apps[0].clone();
        app.logs = shape;
        app.log_lines = Some(lines.clone());
        sim.upsert_app(app).unwrap();
        assert_eq!(
            client.deploy_logs(&web_app()).await.unwrap(),
            Some(lines.clone()),
            "{shape:?}"
        );
    }
    let mut app = Scenario::demo().apps[0].clone();
    app.logs = LogShape::Missing;
    sim.upsert_app(app).unwrap();
    assert_eq!(client.deploy_logs(&web_app()).await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn a_rejected_token_is_explained_without_showing_it() {
    let sim = spawn_sim(Scenario::demo()).await;
    let wrong = "token-wrong:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";
    let client = PaasClient::new(test_config(sim.url(), wrong), Clock::new()).unwrap();
    let err = client.get_app(&web_app()).await.unwrap_err();
    assert_eq!(err, PaasError::Unauthorized);
    assert!(err.to_string().contains("RANCHER_TOKEN"));
    for text in [
        err.to_string(),
        format!("{err:?}"),
        format!("{:?}", test_config(sim.url(), wrong)),
    ] {
        assert!(!text.contains("zzzzzzzz"), "{text}");
    }
    // A token revoked in the middle (the norman-shaped 401) reads the same.
    let good = crate::helpers::client(&sim);
    sim.inject(once(Route::GetApp, Fault::Unauthorized));
    assert_eq!(
        good.get_app(&web_app()).await.unwrap_err(),
        PaasError::Unauthorized
    );
}

#[tokio::test(start_paused = true)]
async fn each_http_error_class_becomes_its_typed_error() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);

    let missing = PipelineRef::new(web_project(), PipelineId::parse("p-nope").unwrap());
    match client
        .run_pipeline(&missing, "master", None, None)
        .await
        .unwrap_err()
    {
        PaasError::NotFound { code, message, .. } => {
            assert_eq!(code, "NotFound");
            assert!(message.contains("p-nope"));
        }
        other => panic!("expected not found, got {other:?}"),
    }

    match client
        .run_pipeline(&web_pipeline(), "", None, None)
        .await
        .unwrap_err()
    {
        PaasError::Invalid {
            status: 422, code, ..
        } => assert_eq!(code, "InvalidBodyContent"),
        other => panic!("expected 422, got {other:?}"),
    }

    let mut only_master = Scenario::demo().pipelines[0].clone();
    only_master.branches = vec!["master".into()];
    sim.upsert_pipeline(only_master).unwrap();
    match client
        .run_pipeline(&web_pipeline(), "feature-x", None, None)
        .await
        .unwrap_err()
    {
        PaasError::Server {
            status: 500,
            detail,
        } => {
            assert!(detail.contains("find no pipeline config"), "{detail}")
        }
        other => panic!("expected 500, got {other:?}"),
    }

    sim.inject(once(Route::GetApp, Fault::Forbidden));
    assert!(matches!(
        client.get_app(&web_app()).await.unwrap_err(),
        PaasError::Forbidden { .. }
    ));

    sim.inject(always(Route::GetApp, Fault::Html502));
    let err = client.get_app(&web_app()).await.unwrap_err();
    assert!(
        matches!(&err, PaasError::Server { status: 502, detail } if detail.contains("HTML error page")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("<html>"));
    assert_eq!(
        sim.stats().by_route["get_app"],
        5,
        "one try and three retries"
    );
    assert_eq!(sim.stats().stops, 0);
}

#[tokio::test(start_paused = true)]
async fn transient_read_failures_are_retried() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);
    sim.inject(once(Route::GetApp, Fault::Html502));
    sim.inject(once(Route::GetApp, Fault::Unavailable));
    assert!(client.get_app(&web_app()).await.is_ok());
    assert_eq!(sim.stats().by_route["get_app"], 3);
}

#[tokio::test(start_paused = true)]
async fn a_429_is_retried_after_its_retry_after() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);
    sim.inject(once(
        Route::GetApp,
        Fault::RateLimited {
            retry_after_seconds: 3.0,
        },
    ));
    let start = tokio::time::Instant::now();
    assert!(client.get_app(&web_app()).await.is_ok());
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "waited {:?}",
        start.elapsed()
    );

    sim.inject(always(
        Route::GetApp,
        Fault::RateLimited {
            retry_after_seconds: 2.0,
        },
    ));
    assert_eq!(
        client.get_app(&web_app()).await.unwrap_err(),
        PaasError::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
}

#[tokio::test(start_paused = true)]
async fn slow_truncated_and_unreachable_are_told_apart() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);

    sim.inject(always(Route::GetApp, Fault::Slow { ms: 10_000 }));
    assert_eq!(
        client.get_app(&web_app()).await.unwrap_err(),
        PaasError::Timeout {
            after: Duration::from_secs(2)
        }
    );
    sim.stats();

    let sim = spawn_sim(Scenario::demo()).await;
    let client = crate::helpers::client(&sim);
    sim.inject(always(Route::GetApp, Fault::Truncated));
    match client.get_app(&web_app()).await.unwrap_err() {
        PaasError::Undecodable { what, excerpt } => {
            assert_eq!(what, "app");
            assert!(excerpt.starts_with("\"{"), "{excerpt}");
        }
        other => panic!("expected undecodable, got {other:?}"),
    }

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let nowhere = PaasClient::new(
        test_config(&format!("http://{closed}"), TOKEN),
        Clock::new(),
    )
    .unwrap();
    match nowhere.get_app(&web_app()).await.unwrap_err() {
        PaasError::Unreachable { host, .. } => assert_eq!(host, closed.to_string()),
        other => panic!("expected unreachable, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_ambiguous_run_adopts_the_execution_it_started() {
    for fault in [Fault::Html502, Fault::Slow { ms: 10_000 }] {
        let sim = spawn_sim(Scenario::demo()).await;
        let client = client(&sim);
        sim.inject(once(Route::Run, fault.clone()));
        let execution = client
            .run_pipeline(&web_pipeline(), "master", None, None)
            .await
            .unwrap();
        assert_eq!(execution.run, 1, "{fault:?}");
        assert_eq!(sim.stats().total_runs(), 1, "{fault:?}: one build, not two");
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_refused_before_it_started_is_sent_again_but_a_500_is_never_resent() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);
    sim.inject(once(Route::Run, Fault::Unavailable));
    client
        .run_pipeline(&web_pipeline(), "master", None, None)
        .await
        .unwrap();
    assert_eq!(sim.stats().total_runs(), 1);

    // Rancher's `run` can answer 500 after creating the execution: the client looks
    // for run 2 (the pipeline's nextRun) for a minute and does not send it again.
    sim.inject(once(Route::Run, Fault::ServerError));
    let next_run = client.next_run(&web_pipeline()).await.unwrap();
    assert_eq!(next_run, Some(2));
    assert_eq!(
        client
            .run_pipeline(&web_pipeline(), "master", None, next_run)
            .await
            .unwrap_err(),
        PaasError::Unconfirmed { action: "run" }
    );
    assert_eq!(sim.stats().total_runs(), 1);
    assert_eq!(sim.stats().by_route["run"], 3);
}

#[tokio::test(start_paused = true)]
async fn a_run_that_cannot_be_confirmed_is_not_sent_twice() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);
    sim.inject(once(Route::Run, Fault::Html502));
    sim.inject(always(Route::ListExecutions, Fault::ServerError));
    assert_eq!(
        client
            .run_pipeline(&web_pipeline(), "master", None, None)
            .await
            .unwrap_err(),
        PaasError::Unconfirmed { action: "run" }
    );
    assert_eq!(
        sim.stats().by_route["run"],
        1,
        "the run request was sent once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_paas_that_is_down_gets_no_build() {
    let sim = spawn_sim(Scenario::demo()).await;
    sim.set_down(true);
    // Let the simulator close its socket.
    tokio::time::sleep(Duration::from_millis(50)).await;
    // A new connection is refused: the request never left, so it is retried, then
    // reported as unreachable.
    let fresh = client(&sim);
    assert!(matches!(
        fresh
            .run_pipeline(&web_pipeline(), "master", None, None)
            .await
            .unwrap_err(),
        PaasError::Unreachable { .. }
    ));
    sim.set_down(false);

    // A kept-alive connection that breaks after the request was written is ambiguous:
    // the client looks for the build instead of sending the run again.
    let warm = client(&sim);
    warm.get_app(&web_app()).await.unwrap();
    sim.set_down(true);
    let err = warm
        .run_pipeline(&web_pipeline(), "master", None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PaasError::Unconfirmed { .. } | PaasError::Unreachable { .. }
        ),
        "{err:?}"
    );
    sim.set_down(false);
    assert_eq!(sim.stats().total_runs(), 0);

    warm.run_pipeline(&web_pipeline(), "master", None, None)
        .await
        .unwrap();
    assert_eq!(sim.stats().total_runs(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_ambiguous_upgrade_is_confirmed_not_repeated() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);
    let before = client.get_app(&web_app()).await.unwrap();
    sim.inject(once(Route::Upgrade, Fault::Html502));
    client.upgrade_app(&web_app(), "v9", &before).await.unwrap();
    assert_eq!(sim.stats().total_upgrades(), 1);

    let app = AppRef::new(
        web_project(),
        releasebot::paas::AppId::parse("api-deploy").unwrap(),
    );
    let before = client.get_app(&app).await.unwrap();
    sim.inject(once(Route::Upgrade, Fault::Slow { ms: 10_000 }));
    client.upgrade_app(&app, "v10", &before).await.unwrap();
    assert_eq!(sim.stats().total_upgrades(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_upgrade_that_conflicts_with_a_controller_is_read_again_and_resent() {
    let sim = spawn_sim(Scenario::demo()).await;
    let client = client(&sim);
    let before = client.get_app(&crate::helpers::api_app()).await.unwrap();
    sim.inject(once(Route::Upgrade, Fault::Conflict));
    client
        .upgrade_app(&crate::helpers::api_app(), "v9", &before)
        .await
        .expect("the second try goes through");
    assert_eq!(sim.stats().by_route["upgrade"], 2);
    assert_eq!(sim.stats().total_upgrades(), 1, "the 409 applied nothing");
}

#[tokio::test(start_paused = true)]
async fn an_action_the_app_does_not_offer_is_refused_and_the_deploy_says_so() {
    let mut scenario = Scenario::demo();
    scenario.app_mut("api-deploy").unwrap().offers_upgradeoutter = false;
    let sim = spawn_sim(scenario.clone()).await;
    let client = client(&sim);
    let before = client.get_app(&crate::helpers::api_app()).await.unwrap();
    match client
        .upgrade_app(&crate::helpers::api_app(), "v9", &before)
        .await
    {
        Err(PaasError::Invalid {
            status: 422, code, ..
        }) => assert_eq!(code, "InvalidAction"),
        other => panic!("{other:?}"),
    }
    let bot = crate::helpers::spawn_bot(scenario, crate::helpers::demo_config(|_| {})).await;
    let job = bot.start("alice", "/deploy api v9").await;
    let r = bot.finished(job).await;
    assert!(
        matches!(
            r.outcome,
            Some(releasebot::job::Outcome::PaasFailed {
                step: releasebot::job::PaasStep::Upgrade,
                ..
            })
        ),
        "{:?}",
        r.outcome
    );
    assert!(
        bot.progress(job).contains("InvalidAction"),
        "{}",
        bot.progress(job)
    );
    assert_eq!(bot.sim.stats().total_upgrades(), 0);
}
