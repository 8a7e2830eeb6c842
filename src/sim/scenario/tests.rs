use super::*;

#[test]
fn the_demo_catalogue_is_valid() {
    Scenario::demo().validate().unwrap();
}

#[test]
fn the_demo_shows_each_kind_of_app_and_a_kind_build() {
    let demo = Scenario::demo();
    assert_eq!(demo.next_base_url, None);
    let flavours: Vec<AppFlavour> = demo.apps.iter().map(|a| a.flavour).collect();
    assert_eq!(
        flavours,
        [
            AppFlavour::Stock,
            AppFlavour::InHouse,
            AppFlavour::ConditionsOnly
        ]
    );
    assert!(demo.apps[2].failed_before.is_some());
    for p in &demo.pipelines {
        assert!(!p.run_fails_after_create && p.unknown_state.is_none());
        assert_eq!((p.run_delay_seconds, p.fields_delay_seconds), (0.0, 0.0));
    }
}

#[test]
fn demo_apps_change_in_one_line() {
    let stock = Scenario::demo().with_app_flavour(AppFlavour::Stock);
    assert!(stock.apps.iter().all(|a| a.flavour == AppFlavour::Stock));
    let mut scenario = Scenario::demo();
    if let Some(api) = scenario.app_mut("api-deploy") {
        *api = api
            .clone()
            .with_flavour(AppFlavour::ConditionsOnly)
            .with_failed_before("Error: boom");
    }
    assert_eq!(scenario.apps[1].flavour, AppFlavour::ConditionsOnly);
    assert_eq!(
        scenario.apps[1].failed_before.as_deref(),
        Some("Error: boom")
    );
    assert!(scenario.pipeline_mut("p-8kd2m").is_some());
    assert!(scenario.app_mut("nope").is_none());
    scenario.validate().unwrap();
}

#[test]
fn scenarios_read_from_toml() {
    let s: Scenario = toml::from_str(
        r#"
        speed = 60.0
        [[pipelines]]
        cluster = "c-1"
        project = "p-1"
        pipeline = "p-2"
        fail_at = "Build"
        stages = [{ name = "Build", seconds = 30 }]
        faults = { html_502_rate = 0.5 }
        [[apps]]
        cluster = "c-1"
        project = "p-1"
        app = "web"
        logs = "json-array"
        "#,
    )
    .unwrap();
    s.validate().unwrap();
    assert_eq!(s.apps[0].logs, LogShape::JsonArray);
    assert_eq!(s.pipelines[0].faults.html_502_rate, 0.5);
}

#[test]
fn defaults_are_those_of_a_file_that_leaves_fields_out() {
    let app: AppScenario =
        toml::from_str("cluster = \"c-1\"\nproject = \"p-1\"\napp = \"web\"").unwrap();
    let want = AppScenario {
        cluster: "c-1".into(),
        project: "p-1".into(),
        app: "web".into(),
        ..AppScenario::default()
    };
    assert_eq!(app, want);
    let pipeline: PipelineScenario =
        toml::from_str("cluster = \"c-1\"\nproject = \"p-1\"\npipeline = \"p-2\"\nstages = []")
            .unwrap();
    let want = PipelineScenario {
        cluster: "c-1".into(),
        project: "p-1".into(),
        pipeline: "p-2".into(),
        ..PipelineScenario::default()
    };
    assert_eq!(pipeline, want);
}

#[test]
fn flavours_and_their_knobs_read_from_toml() {
    let s: Scenario = toml::from_str(
        r#"
        next_base_url = "https://rancher.internal:8443"
        [[pipelines]]
        cluster = "c-1"
        project = "p-1"
        pipeline = "p-2"
        stages = [{ name = "Build", seconds = 30 }]
        unknown_state = "Running"
        fields_delay_seconds = 4
        run_fails_after_create = true
        run_delay_seconds = 2.5
        [[apps]]
        cluster = "c-1"
        project = "p-1"
        app = "web"
        flavour = "stock"
        pickup_seconds = 5
        blip_seconds = 0.5
        failed_before = "Error: UPGRADE FAILED: boom"
        offers_upgradeoutter = false
        logs = "json-unknown-key"
        logs_grow = true
        "#,
    )
    .unwrap();
    s.validate().unwrap();
    let app = &s.apps[0];
    assert_eq!(app.flavour, AppFlavour::Stock);
    assert_eq!((app.pickup_seconds, app.blip_seconds), (5.0, 0.5));
    assert!(!app.offers_upgradeoutter && app.logs_grow);
    assert_eq!(app.logs, LogShape::JsonUnknownKey);
    let pipeline = &s.pipelines[0];
    assert_eq!(pipeline.unknown_state.as_deref(), Some("Running"));
    assert!(pipeline.run_fails_after_create);
    assert_eq!(
        s.next_base_url.as_deref(),
        Some("https://rancher.internal:8443")
    );
    for flavour in AppFlavour::ALL {
        let parsed: AppFlavour = serde_json::from_value(serde_json::json!(flavour.name())).unwrap();
        assert_eq!(parsed, flavour);
    }
}

#[test]
fn bad_knobs_are_refused() {
    let app = |change: fn(&mut AppScenario)| {
        let mut s = Scenario::demo();
        change(&mut s.apps[0]);
        s.validate()
    };
    assert!(app(|a| a.pickup_seconds = -1.0).is_err());
    assert!(app(|a| a.blip_seconds = f64::NAN).is_err());
    let pipeline = |change: fn(&mut PipelineScenario)| {
        let mut s = Scenario::demo();
        change(&mut s.pipelines[0]);
        s.validate()
    };
    assert!(pipeline(|p| p.run_delay_seconds = f64::INFINITY).is_err());
    assert!(pipeline(|p| p.fields_delay_seconds = -0.5).is_err());
    assert!(pipeline(|p| p.unknown_state = Some(" ".into())).is_err());
    for url in [
        "rancher.internal",
        "https://",
        "https://r.example/v3?x=1",
        "ftp://r",
    ] {
        let s = Scenario {
            next_base_url: Some(url.into()),
            ..Scenario::demo()
        };
        assert!(s.validate().is_err(), "{url}");
    }
}

#[test]
fn bad_scenarios_are_refused() {
    let mut s = Scenario::demo();
    s.pipelines[0].fail_at = Some("Nope".into());
    assert!(s.validate().is_err());
    let mut s = Scenario::demo();
    s.faults.error_rate = 2.0;
    assert!(s.validate().is_err());
    assert!(toml::from_str::<Scenario>("spede = 2").is_err());
}

#[test]
fn a_refused_scenario_says_where_and_why() {
    let refusal = |s: &Scenario| s.validate().unwrap_err().to_string();
    let mut s = Scenario::demo();
    s.speed = 0.0;
    assert_eq!(refusal(&s), "speed must be a positive number");
    let mut s = Scenario::demo();
    s.pipelines[0].fail_at = Some("Nope".into());
    let at = format!("pipeline {}", s.pipelines[0].pipeline);
    assert_eq!(
        refusal(&s),
        format!("{at}: fail_at names no stage (\"Nope\")")
    );
    let mut s = Scenario::demo();
    s.faults.error_rate = 2.0;
    assert_eq!(refusal(&s), "faults: error_rate must be between 0 and 1");
    let mut s = Scenario::demo();
    s.apps[0].cluster = "Not An Id".into();
    let id_error = crate::paas::ClusterId::parse("Not An Id").unwrap_err();
    assert_eq!(refusal(&s), format!("app {}: {id_error}", s.apps[0].app));

    let missing = std::path::Path::new("/nonexistent/scenario.toml");
    let e = Scenario::from_file(missing).unwrap_err().to_string();
    assert!(
        e.starts_with("cannot read the scenario /nonexistent/scenario.toml: "),
        "{e}"
    );
    let path =
        std::env::temp_dir().join(format!("releasebot-scenario-{}.toml", std::process::id()));
    std::fs::write(&path, "spede = 2").unwrap();
    let e = Scenario::from_file(&path).unwrap_err().to_string();
    let toml_error = toml::from_str::<Scenario>("spede = 2").unwrap_err();
    assert_eq!(e, format!("{}: {toml_error}", path.display()));
    let _ = std::fs::remove_file(&path);
}
