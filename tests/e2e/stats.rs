//! `/stats`, the weekly digest and the delivery gauges, against the simulator with the
//! clock under control: a real history of releases, a failed deploy, a rollback and a
//! deploy of a tag no build made, across two weeks; each figure is worked out here by
//! hand from the jobs' own times. A tag built by a pipeline run outside releasebot gets
//! its lead time from the PaaS's builds.

use std::time::Duration;

use releasebot::clock::Clock;
use releasebot::commands::Reply;
use releasebot::job::stats::PeriodLength;
use releasebot::job::{JobRecord, JobState};
use releasebot::names::AppName;
use releasebot::render::chart::{HEIGHT, WIDTH};
use releasebot::render::stats::span;
use releasebot::sim::Scenario;

use crate::helpers::{TempDb, TestBot, demo_config, spawn_bot_at, spawn_bot_on};

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// The demo configuration, changed by `change`, with no push connections: their
/// checks twice a second would cost a minute of real time over two simulated weeks.
fn quiet(change: impl FnOnce(&mut releasebot::config::Config)) -> releasebot::config::Config {
    demo_config(|c| {
        c.paas.subscribe = false;
        change(c);
    })
}

/// Moves the clock (and everything that sleeps on it) by `by`.
async fn pass(by: Duration) {
    tokio::time::sleep(by).await;
}

/// Moves the clock on until the bot reads `at_ms`.
async fn until(bot: &TestBot, at_ms: i64) {
    let now = bot.clock.now_ms();
    assert!(at_ms >= now, "the history took longer than planned");
    pass(Duration::from_millis((at_ms - now) as u64)).await;
}

/// The build behind a release started when its run was asked for.
fn built_at(r: &JobRecord) -> i64 {
    r.build.as_ref().unwrap().intent.as_ref().unwrap().at_ms
}

fn ended(r: &JobRecord) -> i64 {
    r.ended_ms.unwrap()
}

/// Sets or clears the helm error the simulated `api` app fails its upgrades with.
fn api_fails(bot: &TestBot, message: Option<&str>) {
    let mut scenario = Scenario::demo();
    let mut app = scenario
        .apps
        .drain(..)
        .find(|a| a.app == "api-deploy")
        .unwrap();
    app.fail = message.map(str::to_string);
    app.current_tag = None;
    bot.sim.upsert_app(app).unwrap();
}

fn png_size_and_colour(bytes: &[u8]) -> ((u32, u32), usize) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let coloured = pixels
        .chunks(3)
        .filter(|p| p[0] != p[1] || p[1] != p[2])
        .count();
    ((info.width, info.height), coloured)
}

#[tokio::test(start_paused = true)]
async fn stats_of_two_weeks_match_the_figures_worked_out_by_hand() {
    let bot = spawn_bot_on(
        Scenario::demo(),
        quiet(|_| {}),
        std::sync::Arc::new(releasebot::store::Store::open_in_memory().await.unwrap()),
    )
    .await;
    let t0 = bot.clock.now_ms();
    let day = DAY.as_millis() as i64;
    let api = AppName::parse("api").unwrap();

    // The week before: a release; a deploy that fails; a release that restores.
    until(&bot, t0 + day).await;
    let r1 = bot.start("alice", "/release api").await;
    let r1 = bot.finished(r1).await;
    pass(HOUR).await;
    api_fails(&bot, Some("Error: UPGRADE FAILED: boom"));
    let f1 = bot.start("alice", "/deploy api hotfix-1").await;
    let f1 = bot.finished(f1).await;
    api_fails(&bot, None);
    pass(2 * HOUR).await;
    let r2 = bot.start("alice", "/release api").await;
    let r2 = bot.finished(r2).await;

    // This week: a release rolled back an hour later; a deploy of a tag no build made;
    // a release.
    until(&bot, t0 + 8 * day).await;
    let r3 = bot.start("alice", "/release api").await;
    let r3 = bot.finished(r3).await;
    pass(HOUR).await;
    let rb = bot.start("alice", "/rollback api").await;
    let rb = bot.finished(rb).await;
    pass(DAY).await;
    let u1 = bot.start("alice", "/deploy api hotfix-2").await;
    let u1 = bot.finished(u1).await;
    // A build, its tag deployed three hours later.
    pass(DAY).await;
    let b4 = bot.start("alice", "/build api").await;
    let b4 = bot.finished(b4).await;
    pass(3 * HOUR).await;
    let built = b4.build.as_ref().unwrap().tag.clone().unwrap();
    let r4 = bot.start("alice", &format!("/deploy api {built}")).await;
    let r4 = bot.finished(r4).await;
    until(&bot, t0 + 15 * day).await;

    for (r, want) in [
        (&r1, JobState::Succeeded),
        (&f1, JobState::Failed),
        (&r2, JobState::Succeeded),
        (&r3, JobState::Succeeded),
        (&rb, JobState::Succeeded),
        (&u1, JobState::Succeeded),
        (&b4, JobState::Succeeded),
        (&r4, JobState::Succeeded),
    ] {
        assert_eq!(r.state, want, "{}", r.target());
    }
    // The rollback went back from r3's tag to r2's.
    assert_eq!(rb.deploy_tag(), r2.deploy_tag());
    assert_eq!(
        rb.deploy.as_ref().unwrap().from_tag.as_deref(),
        r3.deploy_tag().map(|t| t.as_str())
    );

    // By hand. This week: r3, rb, u1, r4 reached the PaaS and succeeded.
    let (lead3, lead4) = (ended(&r3) - built_at(&r3), ended(&r4) - built_at(&b4));
    assert!(lead4 > lead3 + 2 * HOUR.as_millis() as i64);
    let (lead_low, lead_high) = (lead3.min(lead4), lead3.max(lead4));
    let restore_now = ended(&rb) - ended(&r3);
    // The week before: r1 and r2 succeeded, f1 failed and r2 restored it.
    let (lead1, lead2) = (ended(&r1) - built_at(&r1), ended(&r2) - built_at(&r2));
    let restore_before = ended(&r2) - ended(&f1);

    let (store, now) = (bot.engine.store(), bot.engine.clock().now_ms());
    let all = releasebot::delivery::figures(
        store,
        std::slice::from_ref(&api),
        PeriodLength::Week,
        now,
        None,
    )
    .await
    .unwrap();
    let now = &all[0].current;
    assert_eq!((now.deployments, now.succeeded, now.rollbacks), (4, 4, 1));
    assert!((now.per_week - 4.0).abs() < 1e-9);
    let lead = now.lead.unwrap();
    // Two leads: the median by nearest rank is the lower, the 90th the higher.
    assert_eq!(
        (lead.median_ms, lead.high_ms, lead.count),
        (lead_low, lead_high, 2)
    );
    assert_eq!(
        now.unknown_builds, 1,
        "u1's tag was built by no known build"
    );
    assert_eq!((now.failures, now.changes), (1, 3), "r3 was rolled back");
    let restore = now.restore.unwrap();
    assert_eq!(
        (restore.median_ms, restore.high_ms),
        (restore_now, restore_now)
    );
    let before = &all[0].previous;
    assert_eq!(
        (before.deployments, before.succeeded, before.rollbacks),
        (3, 2, 0)
    );
    let lead = before.lead.unwrap();
    assert_eq!(
        (lead.median_ms, lead.high_ms),
        (lead1.min(lead2), lead1.max(lead2))
    );
    assert_eq!(before.unknown_builds, 0);
    assert_eq!((before.failures, before.changes), (1, 3), "f1 failed");
    assert_eq!(before.restore.unwrap().median_ms, restore_before);

    // The answer says the same.
    let reply = bot.say("alice", "/stats api 7d").await;
    let Reply::Files { text, files } = &reply else {
        panic!("no chart: {reply:?}");
    };
    println!("{text}");
    for want in [
        "api (last 7 days)".to_string(),
        "deployments: 4 (4 succeeded, 1 rollback), 4.0 a week; before 3 (+1)".into(),
        format!(
            "lead time (build → live): median {}, p90 {} over 2 deploys; 1 deploy of a tag no known build made left out",
            span(lead_low),
            span(lead_high)
        ),
        "change failure rate: 33% (1 of 3); before 33% (1 of 3) (±0 points)".into(),
        format!(
            "time to restore: median {}, worst {}",
            span(restore_now),
            span(restore_now)
        ),
        format!(
            "before median {}, worst {}",
            span(restore_before),
            span(restore_before)
        ),
    ] {
        assert!(text.contains(&want), "{want:?} not in\n{text}");
    }
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, "stats-api.png");
    let (size, coloured) = png_size_and_colour(&files[0].bytes);
    assert_eq!(size, (WIDTH, HEIGHT));
    assert!(
        coloured > 2_000,
        "the chart is blank ({coloured} coloured pixels)"
    );
    if let Ok(dir) = std::env::var("RELEASEBOT_STATS_EXAMPLE") {
        // The README's example: `RELEASEBOT_STATS_EXAMPLE=docs` writes the chart, and the
        // text printed above is its answer.
        std::fs::write(format!("{dir}/stats-example.png"), &files[0].bytes).unwrap();
    }

    // The default period is 30 days, covering every app alice may deploy.
    let reply = bot.say("alice", "/stats").await;
    assert!(
        reply.text().contains("Delivery over the last 30 days"),
        "{}",
        reply.text()
    );
    assert!(
        reply
            .text()
            .contains("deployments: 7 (6 succeeded, 1 rollback)"),
        "{}",
        reply.text()
    );
    assert_eq!(reply.files().len(), bot.engine.config().apps.len());
    // A period that is not one is refused with the usage.
    let reply = bot.say("alice", "/stats api 8d").await;
    assert!(reply.is_refusal());
    assert!(
        reply.text().contains("\"8d\" is not a period"),
        "{}",
        reply.text()
    );

    // The gauges say the same, read from the store.
    let metrics = reqwest::get(format!("http://{}/metrics", bot.http_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "releasebot_deployments{app=\"api\",period=\"7d\"} 4".to_string(),
        format!(
            "releasebot_lead_time_seconds{{app=\"api\",period=\"7d\",quantile=\"0.9\"}} {}",
            lead_high as f64 / 1000.0
        ),
        "releasebot_change_failure_rate{app=\"api\",period=\"7d\"} 0.3333333333333333".into(),
        format!(
            "releasebot_time_to_restore_seconds{{app=\"api\",period=\"7d\",stat=\"worst\"}} {}",
            restore_now as f64 / 1000.0
        ),
        "releasebot_deployments{app=\"api\",period=\"30d\"} 7".into(),
    ] {
        assert!(metrics.contains(&want), "{want:?} not in\n{metrics}");
    }
}

#[tokio::test(start_paused = true)]
async fn stats_cover_only_apps_the_asker_may_deploy() {
    let bot = spawn_bot_on(
        Scenario::demo(),
        quiet(|c| {
            for app in c.apps.values_mut() {
                app.access.deploy = Some(vec!["developer".into()]);
            }
        }),
        std::sync::Arc::new(releasebot::store::Store::open_in_memory().await.unwrap()),
    )
    .await;
    let reply = bot.say("dave", "/stats").await;
    assert!(reply.is_refusal());
    assert!(
        reply.text().contains("You may deploy no app from here"),
        "{}",
        reply.text()
    );
    let reply = bot.say("dave", "/stats api").await;
    assert!(reply.is_refusal(), "{}", reply.text());
    let reply = bot.say("alice", "/stats api").await;
    assert!(!reply.is_refusal(), "{}", reply.text());
}

/// Monday 2026-12-07 08:00 UTC.
fn monday_morning() -> std::time::SystemTime {
    releasebot::clock::parse_rfc3339("2026-12-07T08:00:00Z").unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_digest_goes_once_a_week_across_a_restart() {
    let db = TempDb::new("digest");
    let config = quiet(|c| {
        c.digest = Some(releasebot::config::Digest {
            channel: "digests".into(),
            every: releasebot::job::digest::Weekly::parse("Mon 09:00", Some("Europe/Berlin"))
                .unwrap(),
        });
    });
    let clock = Clock::starting_at(monday_morning());
    let mut bot = spawn_bot_at(Scenario::demo(), config, db.open().await, false, clock).await;
    let digests = |bot: &TestBot| {
        bot.chat
            .records()
            .into_iter()
            .filter_map(|r| match r {
                releasebot::adapters::memory::Record::Post {
                    target, message, ..
                } if target.channel == "digests" => Some(message),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // Monday 09:00 in Berlin is 08:00 UTC: the slot that just passed is where the
    // digest starts from, so nothing goes now.
    pass(HOUR).await;
    assert_eq!(digests(&bot).len(), 0);
    // The next Monday it goes, once.
    pass(7 * DAY).await;
    assert_eq!(digests(&bot).len(), 1);
    let first = &digests(&bot)[0];
    assert!(
        first.text.starts_with("Weekly delivery digest"),
        "{}",
        first.text
    );
    assert_eq!(first.files.len(), bot.engine.config().apps.len());
    let (size, _) = png_size_and_colour(&first.files[0].bytes);
    assert_eq!(size, (WIDTH, HEIGHT));
    // A restart the same day sends nothing again.
    bot.restart(|| db.open()).await;
    pass(HOUR).await;
    assert_eq!(digests(&bot).len(), 1);
    // Down over the next Monday: sent once when back.
    bot.halt();
    pass(7 * DAY).await;
    bot.restart(|| db.open()).await;
    pass(Duration::from_secs(5)).await;
    assert_eq!(digests(&bot).len(), 2);
    pass(DAY).await;
    assert_eq!(digests(&bot).len(), 2);
}

#[tokio::test]
async fn the_terminal_writes_the_chart_to_a_file_and_prints_its_path() {
    let (dir, config) = crate::cli::with_fast_config("stats");
    let tmp = dir.0.join("tmp");
    let mut cli = crate::cli::spawn_cli(
        &["shell"],
        &[
            ("RELEASEBOT_CONFIG", config.as_str()),
            ("TMPDIR", tmp.to_str().unwrap()),
        ],
        dir,
    );
    cli.send("/stats web 7d").await;
    cli.expect(".png").await;
    // Read before the run ends: its directory goes with it.
    let out = cli.stdout();
    assert!(out.contains("Delivery over the last 7 days"), "{out}");
    let path = out
        .lines()
        .find_map(|l| l.strip_prefix("📎 "))
        .unwrap_or_else(|| panic!("no path in {out}"));
    assert!(
        path.starts_with(tmp.join("releasebot").to_str().unwrap()),
        "{path}"
    );
    assert!(path.ends_with(".png"), "{path}");
    let (size, coloured) = png_size_and_colour(&std::fs::read(path).unwrap());
    assert_eq!(size, (WIDTH, HEIGHT));
    assert!(coloured > 500);
    let (code, _, _) = cli.finish().await;
    assert_eq!(code, 0);
}

#[tokio::test(start_paused = true)]
async fn a_tag_built_outside_releasebot_has_its_lead_time_from_the_pipeline_run() {
    use releasebot::delivery::{Pipelines, figures};
    use releasebot::paas::{BuildStatus, ExecutionRef};
    let bot = spawn_bot_on(
        Scenario::demo(),
        quiet(|_| {}),
        std::sync::Arc::new(releasebot::store::Store::open_in_memory().await.unwrap()),
    )
    .await;
    let api = AppName::parse("api").unwrap();
    // Someone runs the pipeline from Rancher's own UI, and deploys what it built.
    let pipeline = bot
        .engine
        .config()
        .builder_of(&api)
        .unwrap()
        .pipeline
        .clone();
    let paas = bot.engine.paas();
    let run = paas
        .run_pipeline(&pipeline, "master", None, None)
        .await
        .unwrap();
    let target = ExecutionRef::new(pipeline.project.clone(), run.id.clone());
    let built = loop {
        let e = paas.get_execution(&target).await.unwrap();
        if e.status() == BuildStatus::Succeeded && e.deployable_tag().is_some() {
            break e;
        }
        pass(Duration::from_secs(10)).await;
    };
    let tag = built.deployable_tag().unwrap().to_string();
    let started = releasebot::clock::to_ms(built.started.unwrap());
    pass(HOUR).await;
    let job = bot.start("alice", &format!("/deploy api {tag}")).await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));

    let (store, now) = (bot.engine.store(), bot.clock.now_ms());
    let apps = std::slice::from_ref(&api);
    // History alone knows no build of it: counted, left out of lead time.
    let alone = figures(store, apps, PeriodLength::Week, now, None)
        .await
        .unwrap();
    assert_eq!(alone[0].current.unknown_builds, 1);
    assert!(alone[0].current.lead.is_none());
    // The pipeline's builds on the PaaS say when it started.
    let pipelines = Pipelines {
        config: bot.engine.config(),
        paas,
    };
    let read = figures(store, apps, PeriodLength::Week, now, Some(pipelines))
        .await
        .unwrap();
    let lead = read[0].current.lead.as_ref().expect("a lead time");
    assert_eq!(read[0].current.unknown_builds, 0);
    assert_eq!(lead.median_ms, ended(&r) - started);
    // So does the command.
    let Reply::Files { text, .. } = bot.say("alice", "/stats api 7d").await else {
        panic!("no answer");
    };
    assert!(
        text.contains(&format!("median {}", span(lead.median_ms))),
        "{text}"
    );
    assert!(!text.contains("no known build"), "{text}");
}
