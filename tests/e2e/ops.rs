//! Operations: `releasebot check`, SIGTERM and resume, JSON logs, the Helm chart.

use releasebot::sim::Scenario;
use serde_json::Value;

use crate::cli::{TempDir, against_sim, fast_config, spawn_cli};
use crate::helpers::spawn_sim;

#[tokio::test]
async fn check_passes_on_a_good_configuration() {
    let sim = spawn_sim(Scenario::demo()).await;
    let dir = TempDir::new("check-good");
    let env = against_sim(sim.url(), &dir, &fast_config());
    let (code, out, err) = spawn_cli(&["check"], &env, dir).finish().await;
    assert_eq!(code, 0, "{out}{err}");
    for want in [
        "ok    configuration",
        "3 projects, 3 apps",
        "accepts the token",
        "ok    project web     pipeline c-64wdm:p-5tfq9/p-tpk2x exists",
        "ok    app api         c-64wdm:p-5tfq9/api-deploy exists (active, master-12-51c0d3e)",
        "everything checked is in order",
    ] {
        assert!(out.contains(want), "missing {want:?}:\n{out}");
    }
    let stats = sim.stats();
    assert_eq!(
        stats.total_runs() + stats.total_upgrades() + stats.stops,
        0,
        "nothing was changed"
    );
}

#[tokio::test]
async fn check_lists_every_problem_and_fails() {
    let sim = spawn_sim(Scenario::demo()).await;
    let dir = TempDir::new("check-bad");
    let broken = fast_config()
        .replace("pipeline = \"p-8kd2m\"", "pipeline = \"p-gone1\"")
        .replace("app = \"worker-deploy\"", "app = \"worker-gone\"");
    let env = against_sim(sim.url(), &dir, &broken);
    let (code, out, _) = spawn_cli(&["check"], &env, dir).finish().await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  project api"), "{out}");
    assert!(
        out.contains("The PaaS has no such pipeline (404 NotFound"),
        "{out}"
    );
    assert!(out.contains("FAIL  app worker"), "{out}");
    assert!(out.contains("ok    project web"), "{out}");
    assert!(out.contains("2 problems found"), "{out}");

    let dir = TempDir::new("check-token");
    let config = dir
        .write("releasebot.toml", &fast_config())
        .display()
        .to_string();
    let env = [
        ("RELEASEBOT_CONFIG", config.as_str()),
        ("RANCHER_URL", sim.url()),
        ("RANCHER_TOKEN", "token-bad00:wrongwrongwrongwrongwrong"),
    ];
    let (code, out, err) = spawn_cli(&["check"], &env, dir).finish().await;
    assert_eq!(code, 1);
    assert!(out.contains("FAIL  paas"), "{out}");
    assert!(out.contains("401 Unauthorized"), "{out}");
    assert!(!out.contains("wrongwrong") && !err.contains("wrongwrong"));
}

#[tokio::test]
async fn sigterm_notes_the_restart_and_the_next_start_resumes() {
    let mut scenario = Scenario::demo();
    scenario.speed = 60.0;
    let sim = spawn_sim(scenario).await;
    let dir = TempDir::new("sigterm");
    let env = against_sim(sim.url(), &dir, &fast_config());
    let mut first = spawn_cli(&["shell"], &env, TempDir::new("sigterm-a"));
    first.send("/build web").await;
    first.expect("🔄 Build").await;
    let started = std::time::Instant::now();
    first.signal("TERM");
    let (code, out, _) = first.finish().await;
    assert_eq!(code, 0);
    assert!(
        started.elapsed().as_secs() < 10,
        "it stopped within a few seconds"
    );
    assert!(out.contains("SIGTERM: stopping"), "{out}");
    assert!(
        out.contains("⚠️ releasebot is restarting; this job resumes when it is back."),
        "{out}"
    );

    let (code, out, _) = spawn_cli(&["shell"], &env, TempDir::new("sigterm-b"))
        .finish()
        .await;
    assert_eq!(code, 0);
    assert!(out.contains("resuming 1 unfinished job"), "{out}");
    assert!(
        out.contains("✅ #1 build web@master · requested by alice · succeeded"),
        "{out}"
    );
    let last = out.rsplit("(edited) ──").next().unwrap_or("");
    assert!(
        !last.contains("restarting"),
        "the note is gone once resumed:\n{last}"
    );
    assert_eq!(sim.stats().total_runs(), 1);
}

#[tokio::test]
async fn json_logs_parse_and_carry_the_job() {
    let dir = TempDir::new("json-logs");
    let config = dir
        .write("releasebot.toml", &fast_config())
        .display()
        .to_string();
    let env = [
        ("RELEASEBOT_CONFIG", config.as_str()),
        ("RELEASEBOT_LOG_FORMAT", "json"),
        ("RUST_LOG", "releasebot=info"),
    ];
    let mut cli = spawn_cli(&["shell"], &env, dir);
    cli.send("/build web").await;
    let (code, _, err) = cli.finish().await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}")))
        .collect();
    assert!(!lines.is_empty(), "{err}");
    let ended = lines
        .iter()
        .find(|l| l["fields"]["message"] == "job ended")
        .unwrap_or_else(|| panic!("no job ended event:\n{err}"));
    assert_eq!(ended["span"]["id"], "#1");
    assert_eq!(ended["span"]["kind"], "build");
    assert_eq!(ended["fields"]["state"], "succeeded");
    assert_eq!(ended["level"], "INFO");
}
