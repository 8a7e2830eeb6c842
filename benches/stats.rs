//! The `/stats` benchmark: a store holding 10,000 jobs (three apps, 90 days of builds,
//! releases, deploys, failures and rollbacks), and `/stats` timed end to end as the
//! command does it: the store's reads, the figures, the text. The charts are timed
//! apart. The target: an answer in under 200 ms.
//!
//! `cargo bench --bench stats`. Options (after `--`): `--jobs N` (default 10000),
//! `--runs N` (default 20), `--postgres` (the database `RELEASEBOT_TEST_POSTGRES_URL`
//! names instead of a SQLite file; the jobs are added to what it holds, so give it a
//! database of its own).

use std::time::{Duration, Instant};

use releasebot::ids::AppId;
use releasebot::job::stats::PeriodLength;
use releasebot::job::{
    BuildProgress, DeployOrigin, DeployProgress, JobRecord, JobSpec, Outcome, Person, RunIntent,
    Upgrade,
};
use releasebot::names::{AppName, Branch, JobId, ProjectName, VersionTag};
use releasebot::store::Store;

const TARGET: Duration = Duration::from_millis(200);
const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn person() -> Person {
    Person {
        id: "1".into(),
        name: "alice".into(),
    }
}

/// Job `i` of `n`, spread over the 90 days before `now`: a build, a release, a deploy of
/// the tag before, a failed deploy or a rollback, in turn, for one of three apps.
fn job(i: u64, n: u64, now: i64) -> JobRecord {
    let apps = ["web", "api", "worker"];
    let app = AppName::parse(apps[(i % 3) as usize]).unwrap();
    let at = now - 90 * DAY + (i as i64) * (90 * DAY / n as i64);
    let tag = |k: u64| VersionTag::parse(&format!("master-{k}-abc{k:04}")).unwrap();
    let kind = (i / 3) % 6;
    let spec = match kind {
        0 | 1 => JobSpec::Release {
            project: ProjectName::parse(app.as_str()).unwrap(),
            branch: Branch::parse("master").unwrap(),
            app: app.clone(),
            more: Vec::new(),
            parallel: false,
        },
        2 => JobSpec::Build {
            project: ProjectName::parse(app.as_str()).unwrap(),
            branch: Branch::parse("master").unwrap(),
        },
        3 | 4 => JobSpec::Deploy {
            app: app.clone(),
            tag: tag(i.saturating_sub(9)),
            origin: DeployOrigin::Request,
        },
        _ => JobSpec::Deploy {
            app: app.clone(),
            tag: tag(i.saturating_sub(18)),
            origin: DeployOrigin::Rollback { waived: true },
        },
    };
    let mut r = JobRecord::new(JobId(i + 1), spec, person(), "releases", at);
    if r.spec.builds() {
        r.build = Some(BuildProgress {
            intent: Some(RunIntent {
                at_ms: at + 1000,
                next_run: Some(i),
            }),
            execution: Some(
                releasebot::ids::ExecutionId::parse(&format!("p-5tfq9:p-8kd2m-{}", i + 1)).unwrap(),
            ),
            started_here: true,
            tag: Some(tag(i).to_string()),
            finished: true,
            ..BuildProgress::default()
        });
    }
    if r.spec.app().is_some() {
        let deployed = r.deploy_tag().cloned().unwrap_or_else(|| tag(i));
        let mut d = DeployProgress::new(AppId::parse(&format!("{app}-deploy")).unwrap(), deployed);
        d.from_tag = Some(tag(i.saturating_sub(9)).to_string());
        d.upgrade = Upgrade::Sent {
            intent_ms: at + 5 * MINUTE,
            at_ms: at + 5 * MINUTE,
        };
        r.deploy = Some(d);
    }
    let outcome = match (kind, i % 7) {
        (4, 0) => Outcome::DeployFailed {
            app,
            tag: tag(i),
            message: "boom".into(),
        },
        _ => Outcome::Succeeded,
    };
    r.end(outcome, at + 8 * MINUTE);
    r
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[((p * sorted.len()).div_ceil(100)).max(1) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = arg("--jobs").and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let runs: usize = arg("--runs").and_then(|v| v.parse().ok()).unwrap_or(20);
    let postgres = std::env::args().any(|a| a == "--postgres");
    let file =
        std::env::temp_dir().join(format!("releasebot-bench-stats-{}.db", std::process::id()));
    let store = match postgres {
        true => {
            let url = std::env::var("RELEASEBOT_TEST_POSTGRES_URL")
                .expect("--postgres needs RELEASEBOT_TEST_POSTGRES_URL");
            Store::open(std::path::Path::new(&url)).await.unwrap()
        }
        false => Store::open(&file).await.unwrap(),
    };
    let now = releasebot::clock::Clock::new().now_ms();
    let filling = Instant::now();
    let first = store.next_job_id().await.unwrap();
    for i in 0..n {
        let mut r = job(i, n, now);
        r.id = JobId(first + i);
        store.save(&r).await.unwrap();
    }
    println!(
        "filled {} with {n} jobs in {:.1} s",
        if postgres {
            "PostgreSQL"
        } else {
            "a SQLite file"
        },
        filling.elapsed().as_secs_f64()
    );
    let apps: Vec<AppName> = ["web", "api", "worker"]
        .iter()
        .map(|a| AppName::parse(a).unwrap())
        .collect();
    let mut report = Vec::new();
    for length in [PeriodLength::Month, PeriodLength::Quarter] {
        let mut answers = Vec::new();
        let mut charts = Vec::new();
        let mut text = String::new();
        for _ in 0..runs {
            let t = Instant::now();
            let all = releasebot::delivery::figures(&store, &apps, length, now, None)
                .await
                .unwrap();
            text = releasebot::render::stats("Delivery", &all);
            answers.push(t.elapsed());
            let t = Instant::now();
            let files = releasebot::render::chart::attachments(&all);
            assert_eq!(files.len(), apps.len());
            charts.push(t.elapsed());
        }
        answers.sort();
        charts.sort();
        let (p50, worst) = (percentile(&answers, 50), *answers.last().unwrap());
        println!(
            "/stats {} over {n} jobs ({} apps): answer p50 {:.1} ms, worst {:.1} ms; charts p50 {:.1} ms ({} runs)",
            length.as_str(),
            apps.len(),
            p50.as_secs_f64() * 1000.0,
            worst.as_secs_f64() * 1000.0,
            percentile(&charts, 50).as_secs_f64() * 1000.0,
            runs
        );
        if length == PeriodLength::Month {
            println!("{text}");
        }
        report.push((length, worst));
    }
    for (length, worst) in report {
        println!(
            "{:<6} /stats {} answers in under {} ms (worst {:.1} ms)",
            if worst < TARGET { "met" } else { "MISSED" },
            length.as_str(),
            TARGET.as_millis(),
            worst.as_secs_f64() * 1000.0
        );
    }
    store.close();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}
