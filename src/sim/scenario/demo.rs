//! The demo catalogue.

use super::{AppFlavour, AppScenario, Faults, LogShape, PipelineScenario, Scenario, StageSpec};

impl Scenario {
    /// The demo catalogue: three projects and their apps, matching the bot's built-in
    /// demo configuration (`config::DEMO_CONFIG`). Stage durations are realistic; the
    /// demo runs the clock faster.
    pub fn demo() -> Self {
        let pipeline =
            |project: &str, pipeline: &str, image: &str, stages: &[(&str, f64, bool)]| {
                PipelineScenario {
                    cluster: "c-64wdm".into(),
                    project: project.into(),
                    pipeline: pipeline.into(),
                    image: Some(format!("harbor.example.com/team/{image}")),
                    stages: stages
                        .iter()
                        .map(|(name, seconds, chart)| StageSpec {
                            name: (*name).into(),
                            seconds: *seconds,
                            chart: *chart,
                        })
                        .collect(),
                    clone_seconds: 4.0,
                    provision_seconds: 3.0,
                    fail_at: None,
                    branches: Vec::new(),
                    version_tags: true,
                    faults: Faults::default(),
                    ..PipelineScenario::default()
                }
            };
        let app = |project: &str, app: &str, tag: &str| AppScenario {
            cluster: "c-64wdm".into(),
            project: project.into(),
            app: app.into(),
            current_tag: Some(tag.into()),
            install_seconds: 6.0,
            rollout_seconds: 14.0,
            fail: None,
            logs: LogShape::Text,
            log_lines: None,
            faults: Faults::default(),
            ..AppScenario::default()
        };
        Scenario {
            speed: 1.0,
            seed: 0,
            page_size: 1000,
            next_base_url: None,
            pipelines: vec![
                pipeline(
                    "p-5tfq9",
                    "p-tpk2x",
                    "web",
                    &[
                        ("Build", 51.0, false),
                        ("Publish Image", 22.0, false),
                        ("Chart", 6.0, true),
                    ],
                ),
                pipeline(
                    "p-5tfq9",
                    "p-8kd2m",
                    "api",
                    &[
                        ("Test", 40.0, false),
                        ("Build", 35.0, false),
                        ("Publish Image", 18.0, false),
                    ],
                ),
                pipeline(
                    "p-7hw3c",
                    "p-w0rk1",
                    "worker",
                    &[("Build", 30.0, false), ("Publish Image", 15.0, false)],
                ),
            ],
            // One app of each kind of PaaS releasebot must read truthfully: stock
            // Rancher's timing, the in-house PaaS, and one that shows only `state` and
            // `conditions` whose previous deploy failed.
            apps: vec![
                app("p-5tfq9", "project-deploy", "master-56-9ae1b20")
                    .with_flavour(AppFlavour::Stock),
                app("p-5tfq9", "api-deploy", "master-12-51c0d3e"),
                app("p-7hw3c", "worker-deploy", "master-7-0b8e4f1")
                    .with_flavour(AppFlavour::ConditionsOnly)
                    .with_failed_before(
                        "Error: UPGRADE FAILED: the previous image could not be pulled",
                    ),
            ],
            faults: Faults::default(),
            subscribe: true,
            subscribe_max_seconds: 1800.0,
        }
    }
}
