//! The takeover benchmark: two real `releasebot` processes on one PostgreSQL database.
//! The leader is killed (SIGKILL, as a lost node) again and again and the time until a
//! standby leads is measured; then the leader is stopped gracefully (SIGTERM, a rolling
//! update) and the hand-over timed; then, with one leader and one standby idle, the
//! database's transactions per second are counted: the lease's whole cost.
//!
//! `cargo bench --bench takeover` with `RELEASEBOT_TEST_POSTGRES_URL` set (as `.ci/run`
//! sets it). Options (after `--`): `--kills N` (default 10), `--ttl 15s` (the lease's
//! time to live, `[ha] lease_ttl`), `--handovers N` (default 5). Each replica runs in
//! the terminal against its own built-in simulator: only the lease is measured.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Options {
    kills: usize,
    handovers: usize,
    ttl: Duration,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    Options {
        kills: value("--kills").and_then(|v| v.parse().ok()).unwrap_or(10),
        handovers: value("--handovers")
            .and_then(|v| v.parse().ok())
            .unwrap_or(5),
        ttl: value("--ttl")
            .and_then(|v| humantime::parse_duration(&v).ok())
            .unwrap_or(Duration::from_secs(15)),
    }
}

/// A replica and what it has said on stderr.
struct Replica {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Replica {
    fn start(name: &str, db: &str, config: &std::path::Path) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_releasebot"))
            .arg("shell")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("USER", "bench")
            .env("RELEASEBOT_CONFIG", config)
            .env("RELEASEBOT_DB", db)
            .env("RELEASEBOT_REPLICA", name)
            .env("RELEASEBOT_HTTP_ADDR", "127.0.0.1:0")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr is piped");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Replica { child, stderr }
    }

    /// Waits until it has said `needle`; when it did.
    fn wait(&self, needle: &str, limit: Duration) -> Instant {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.stderr.lock().unwrap().contains(needle) {
                return Instant::now();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!(
            "never said {needle:?} within {limit:?}:\n{}",
            self.stderr.lock().unwrap()
        );
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn reap(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sql(url: &str, statement: &str) -> Vec<String> {
    let out = Command::new("psql")
        .args(["-X", "-A", "-t", "-d", url, "-c", statement])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let Ok(admin) = std::env::var("RELEASEBOT_TEST_POSTGRES_URL") else {
        println!("takeover benchmark skipped: set RELEASEBOT_TEST_POSTGRES_URL");
        return;
    };
    let o = options();
    let name = format!("releasebot_bench_{}", std::process::id());
    sql(&admin, &format!("CREATE DATABASE {name}"));
    let db = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("{admin} names no database"),
    };
    let dir =
        std::env::temp_dir().join(format!("releasebot-bench-takeover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("releasebot.toml");
    let ttl = humantime::format_duration(o.ttl).to_string();
    std::fs::write(
        &config,
        format!(
            "{}\n[ha]\nlease_ttl = \"{ttl}\"\n",
            releasebot::config::DEMO_CONFIG
        ),
    )
    .unwrap();
    let limit = o.ttl * 3 + Duration::from_secs(30);
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("r{n}")
    };

    let mut leader = Replica::start(&next(), &db, &config);
    leader.wait("leads (term", limit);
    let mut standby = Replica::start(&next(), &db, &config);
    standby.wait("stands by", limit);

    // Crashes: from SIGKILL to the standby leading.
    let mut crashes = Vec::new();
    for i in 0..o.kills {
        // Not in step with the renewals: kill at a random point of the lease.
        std::thread::sleep(o.ttl.mul_f64(fastrand::f64() / 3.0) + Duration::from_millis(200));
        let killed = Instant::now();
        leader.signal("KILL");
        let led = standby.wait("leads (term", limit);
        crashes.push((led - killed).as_secs_f64());
        eprintln!("kill {}: {:.2} s", i + 1, crashes.last().unwrap());
        leader.reap();
        leader = standby;
        standby = Replica::start(&next(), &db, &config);
        standby.wait("stands by", limit);
    }

    // Graceful hand-overs: from SIGTERM to the standby leading.
    let mut handovers = Vec::new();
    for i in 0..o.handovers {
        std::thread::sleep(Duration::from_millis(500));
        let stopped = Instant::now();
        leader.signal("TERM");
        let led = standby.wait("leads (term", limit);
        handovers.push((led - stopped).as_secs_f64());
        eprintln!("hand-over {}: {:.2} s", i + 1, handovers.last().unwrap());
        leader.reap();
        leader = standby;
        standby = Replica::start(&next(), &db, &config);
        standby.wait("stands by", limit);
    }

    // The lease's cost: transactions on the database with one leader and one standby
    // idle (no jobs), over a window of a few renewals.
    let commits = |db: &str| -> f64 {
        sql(
            db,
            &format!(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{name}'"
            ),
        )[0]
        .trim()
        .parse()
        .unwrap()
    };
    let window = (o.ttl * 2).max(Duration::from_secs(20));
    let before = commits(&admin);
    std::thread::sleep(window);
    let after = commits(&admin);
    // psql's own query counts once in each reading.
    let per_second = (after - before - 1.0).max(0.0) / window.as_secs_f64();

    leader.reap();
    standby.reap();
    sql(
        &admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    let _ = std::fs::remove_dir_all(&dir);

    crashes.sort_by(f64::total_cmp);
    handovers.sort_by(f64::total_cmp);
    println!("takeover with [ha] lease_ttl = \"{ttl}\" (PostgreSQL on 127.0.0.1)");
    println!("| measure | runs | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    for (what, xs) in [
        ("leader killed (SIGKILL) → standby leads", &crashes),
        ("leader stopped (SIGTERM) → standby leads", &handovers),
    ] {
        if xs.is_empty() {
            continue;
        }
        println!(
            "| {what} | {} | {:.2} s | {:.2} s | {:.2} s |",
            xs.len(),
            percentile(xs, 0.5),
            percentile(xs, 0.99),
            xs[xs.len() - 1]
        );
    }
    println!(
        "lease cost: {per_second:.2} transactions/s on the database with one leader and one standby idle"
    );
}
