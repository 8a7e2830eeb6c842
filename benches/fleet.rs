//! The fleet benchmark: releasebot following a thousand concurrent builds, deploys and
//! releases against the simulator over real loopback HTTP, side by side with the naive
//! design (one independent poll loop per request at a fixed interval, no sharing, every
//! change edited at once).
//!
//! `cargo bench --bench fleet` runs three modes, each in its own process (so memory and
//! CPU are its own) against its own simulator process: releasebot polling,
//! releasebot with push, and the naive design. It prints a table and writes
//! `target/bench/fleet.json` (`fleet-N.json` for other than a thousand commands).
//!
//! Options (after `--`): `--jobs N` (default 1000), `--poll 5s`, `--push on|off|both|only`
//! (default both), `--ramp 120s` (time over which commands arrive), `--scale X`
//! (stage durations × X; the default 1 is realistic), `--projects N` (default 50).
//!
//! At the limit: `-- --jobs 10000 --projects 1000 --ramp 15m --push off` wants several
//! times more progress edits than Discord's 50 calls a second allow; the run then
//! checks peak RSS, CPU, chat calls per second, how soon each job's end is shown
//! (p99 < 10 s) and how long any progress message lagged its job (p99 < 30 s).
//!
//! releasebot's commands come with a message of their own, as Discord's slash commands
//! do: calls through it (a job shown in its command's follow-up) are counted apart,
//! since Discord does not count interaction calls against the global limit, and each
//! such message is held to 5 edits in any 5 s of its own.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use releasebot::adapters::memory::{MemoryChat, Record};
use releasebot::chat::{Chat, Message, MessageRef};
use releasebot::clock::{Clock, to_ms};
use releasebot::commands::{EventSink, Reply};
use releasebot::config::Config;
use releasebot::engine::{Engine, EngineDeps};
use releasebot::job::{
    DeployOrigin, DeployProgress, JobRecord, JobSpec, JobState, LogExcerpt, Person, Phase, Reading,
    Upgrade,
};
use releasebot::metrics::Metrics;
use releasebot::names::{AppName, Branch, JobId, ProjectName, VersionTag};
use releasebot::paas::{BuildStatus, ClientConfig, ExecutionRef, PaasClient};
use releasebot::render;
use releasebot::secret::Secret;
use releasebot::sim::{
    AppScenario, Faults, LogShape, PipelineScenario, Scenario, SimStats, StageSpec, Timeline,
};
use releasebot::store::Store;
use serde::{Deserialize, Serialize};

const TOKEN: &str = "token-bench:benchmarksecretvalue0123456789abcdefghijklmnopqrstuvw";
const CHANNEL: &str = "releases";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Polling,
    Push,
    Naive,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Polling => "polling",
            Mode::Push => "push",
            Mode::Naive => "naive",
        }
    }

    fn parse(s: &str) -> Option<Mode> {
        [Mode::Polling, Mode::Push, Mode::Naive]
            .into_iter()
            .find(|m| m.arg() == s)
    }
}

#[derive(Debug, Clone)]
struct Options {
    jobs: usize,
    poll: Duration,
    push: String,
    ramp: Duration,
    scale: f64,
    projects: usize,
    /// `sqlite` (a file) or `postgres` (the server in `RELEASEBOT_TEST_POSTGRES_URL`,
    /// behind a proxy adding 2 ms each way, as a database in another zone).
    store: String,
    child: Option<Mode>,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            jobs: 1000,
            poll: Duration::from_secs(5),
            push: "both".into(),
            ramp: Duration::from_secs(120),
            scale: 1.0,
            projects: 50,
            store: "sqlite".into(),
            child: None,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .unwrap_or_else(|| panic!("{a} needs a value"))
            };
            match a.as_str() {
                "--jobs" => o.jobs = value().parse().expect("--jobs N"),
                "--poll" => o.poll = humantime::parse_duration(&value()).expect("--poll 5s"),
                "--push" => o.push = value(),
                "--ramp" => o.ramp = humantime::parse_duration(&value()).expect("--ramp 120s"),
                "--scale" => o.scale = value().parse().expect("--scale X"),
                "--projects" => o.projects = value().parse().expect("--projects N"),
                "--store" => o.store = value(),
                "--child" => {
                    o.child = Some(Mode::parse(&value()).expect("--child polling|push|naive"))
                }
                // Passed by `cargo bench`.
                "--bench" => {}
                _ => {}
            }
        }
        o
    }

    fn child_args(&self, mode: Mode) -> Vec<String> {
        vec![
            "--jobs".into(),
            self.jobs.to_string(),
            "--poll".into(),
            humantime::format_duration(self.poll).to_string(),
            "--ramp".into(),
            humantime::format_duration(self.ramp).to_string(),
            "--scale".into(),
            self.scale.to_string(),
            "--projects".into(),
            self.projects.to_string(),
            "--store".into(),
            self.store.clone(),
            "--child".into(),
            mode.arg().into(),
        ]
    }
}

/// What one mode measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Outcome {
    mode: String,
    commands: usize,
    jobs: usize,
    succeeded: usize,
    wall_seconds: f64,
    paas_requests: u64,
    paas_requests_per_command: f64,
    runs: u64,
    upgrades: u64,
    chat_edits: usize,
    chat_edits_per_job: f64,
    visible_states_per_job: f64,
    edits_per_visible_state: f64,
    max_edits_in_5s_per_thread: usize,
    max_chat_calls_per_second: usize,
    /// Calls through a command's own interaction, outside the global budget.
    #[serde(default)]
    interaction_calls: usize,
    #[serde(default)]
    max_interaction_calls_per_second: usize,
    /// Jobs whose message was their command's own.
    #[serde(default)]
    own_messages: usize,
    changes_measured: usize,
    changes_not_shown: usize,
    change_to_edit_p50_ms: f64,
    change_to_edit_p99_ms: f64,
    /// PaaS reads of a watched execution per poll interval it was watched.
    execution_polls_per_interval: f64,
    /// The same for apps: reads per interval while an upgrade was watched, the read
    /// it was judged against included (see `reads_per_interval`).
    app_reads_per_interval: f64,
    /// PaaS requests by route (`get_execution`, `get_app`, `deploy_logs`…), to say
    /// where they went.
    #[serde(default)]
    requests_by_route: std::collections::BTreeMap<String, u64>,
    /// From the PaaS showing a job's end (a rollout's: its last change and the settle
    /// window) to the job's message showing how it ended.
    final_p50_ms: f64,
    final_p99_ms: f64,
    /// How long each change waited until the message showed it or a later state.
    lag_p99_ms: f64,
    lag_max_ms: f64,
    ack_p50_ms: f64,
    ack_p99_ms: f64,
    peak_rss_mb: f64,
    cpu_seconds: f64,
    cpu_cores_average: f64,
    /// Writes of a job's state, per second of the run, and their latency.
    #[serde(default)]
    store_writes: u64,
    #[serde(default)]
    store_writes_per_second: f64,
    #[serde(default)]
    store_write_p50_ms: f64,
    #[serde(default)]
    store_write_p99_ms: f64,
}

fn main() {
    let options = Options::parse();
    match options.child {
        Some(mode) => {
            CHANNELS.get_or_init(|| channels(options.projects));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            let outcome = runtime.block_on(child(mode, &options));
            println!("RESULT {}", serde_json::to_string(&outcome).expect("json"));
        }
        None => parent(&options),
    }
}

fn parent(options: &Options) {
    let modes: Vec<Mode> = match options.push.as_str() {
        "only" => vec![Mode::Push],
        "polling" => vec![Mode::Polling],
        "naive" => vec![Mode::Naive],
        "on" => vec![Mode::Push, Mode::Naive],
        "off" => vec![Mode::Polling, Mode::Naive],
        _ => vec![Mode::Polling, Mode::Push, Mode::Naive],
    };
    eprintln!(
        "fleet: {} jobs over {} projects, poll {}, commands over {}, stage durations ×{}, store {}",
        options.jobs,
        options.projects,
        humantime::format_duration(options.poll),
        humantime::format_duration(options.ramp),
        options.scale,
        options.store
    );
    let exe = std::env::current_exe().expect("the bench binary");
    let mut outcomes: Vec<Outcome> = Vec::new();
    for mode in modes {
        eprintln!("fleet: running {} …", mode.arg());
        let output = Command::new(&exe)
            .args(options.child_args(mode))
            .stderr(Stdio::inherit())
            .output()
            .expect("the child runs");
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .unwrap_or_else(|| panic!("{} printed no result:\n{text}", mode.arg()));
        outcomes.push(serde_json::from_str(line).expect("a result"));
    }
    report(options, &outcomes);
}

fn report(options: &Options, outcomes: &[Outcome]) {
    let naive = outcomes.iter().find(|o| o.mode == "naive");
    type Cell = Box<dyn Fn(&Outcome) -> String>;
    let rows: Vec<(&str, Cell)> = vec![
        (
            "commands / jobs",
            Box::new(|o| format!("{} / {}", o.commands, o.jobs)),
        ),
        ("succeeded", Box::new(|o| o.succeeded.to_string())),
        (
            "wall time",
            Box::new(|o| format!("{:.0} s", o.wall_seconds)),
        ),
        ("PaaS requests", Box::new(|o| o.paas_requests.to_string())),
        (
            "PaaS requests / command",
            Box::new(|o| format!("{:.1}", o.paas_requests_per_command)),
        ),
        (
            "builds run / upgrades",
            Box::new(|o| format!("{} / {}", o.runs, o.upgrades)),
        ),
        (
            "chat edits / job",
            Box::new(|o| format!("{:.1}", o.chat_edits_per_job)),
        ),
        (
            "edits / visible state",
            Box::new(|o| format!("{:.2}", o.edits_per_visible_state)),
        ),
        (
            "max edits in 5 s, one thread",
            Box::new(|o| o.max_edits_in_5s_per_thread.to_string()),
        ),
        (
            "max chat calls in 1 s",
            Box::new(|o| o.max_chat_calls_per_second.to_string()),
        ),
        (
            "interaction calls / max in 1 s",
            Box::new(|o| {
                format!(
                    "{} / {}",
                    o.interaction_calls, o.max_interaction_calls_per_second
                )
            }),
        ),
        (
            "jobs in their command's message",
            Box::new(|o| o.own_messages.to_string()),
        ),
        (
            "change→edit p50 / p99",
            Box::new(|o| {
                format!(
                    "{:.0} / {:.0} ms",
                    o.change_to_edit_p50_ms, o.change_to_edit_p99_ms
                )
            }),
        ),
        (
            "changes measured / not shown",
            Box::new(|o| format!("{} / {}", o.changes_measured, o.changes_not_shown)),
        ),
        (
            "final state p50 / p99",
            Box::new(|o| format!("{:.0} / {:.0} ms", o.final_p50_ms, o.final_p99_ms)),
        ),
        (
            "store writes / s · p50 / p99",
            Box::new(|o| {
                format!(
                    "{:.1} · {:.2} / {:.2} ms",
                    o.store_writes_per_second, o.store_write_p50_ms, o.store_write_p99_ms
                )
            }),
        ),
        (
            "progress lag p99 / max",
            Box::new(|o| {
                format!(
                    "{:.1} / {:.1} s",
                    o.lag_p99_ms / 1000.0,
                    o.lag_max_ms / 1000.0
                )
            }),
        ),
        (
            "reads / object / interval",
            Box::new(|o| {
                format!(
                    "{:.2} exec · {:.2} app",
                    o.execution_polls_per_interval, o.app_reads_per_interval
                )
            }),
        ),
        (
            "reads: exec · app · logs / command",
            Box::new(|o| {
                let per = |route: &str| {
                    o.requests_by_route.get(route).copied().unwrap_or(0) as f64
                        / o.commands.max(1) as f64
                };
                format!(
                    "{:.1} · {:.1} · {:.1}",
                    per("get_execution"),
                    per("get_app"),
                    per("deploy_logs")
                )
            }),
        ),
        (
            "command ack p50 / p99",
            Box::new(|o| format!("{:.2} / {:.2} ms", o.ack_p50_ms, o.ack_p99_ms)),
        ),
        ("peak RSS", Box::new(|o| format!("{:.1} MB", o.peak_rss_mb))),
        (
            "CPU",
            Box::new(|o| format!("{:.1} s, {:.3} cores", o.cpu_seconds, o.cpu_cores_average)),
        ),
    ];
    let mut header = format!("{:<30}", "");
    for o in outcomes {
        header.push_str(&format!("{:>24}", o.mode));
    }
    println!("{header}");
    for (name, cell) in &rows {
        let mut line = format!("{name:<30}");
        for o in outcomes {
            line.push_str(&format!("{:>24}", cell(o)));
        }
        println!("{line}");
    }
    let mut ratios = BTreeMap::new();
    if let Some(naive) = naive {
        for o in outcomes.iter().filter(|o| o.mode != "naive") {
            let r = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
            let entry = serde_json::json!({
                "paas_requests_per_command": r(o.paas_requests_per_command, naive.paas_requests_per_command),
                "chat_edits_per_job": r(o.chat_edits_per_job, naive.chat_edits_per_job),
                "change_to_edit_p99": r(o.change_to_edit_p99_ms, naive.change_to_edit_p99_ms),
                "cpu_seconds": r(o.cpu_seconds, naive.cpu_seconds),
                "peak_rss": r(o.peak_rss_mb, naive.peak_rss_mb),
            });
            println!(
                "{} / naive: PaaS requests per command ×{:.3}, edits per job ×{:.2}, CPU ×{:.2}",
                o.mode,
                entry["paas_requests_per_command"].as_f64().unwrap_or(0.0),
                entry["chat_edits_per_job"].as_f64().unwrap_or(0.0),
                entry["cpu_seconds"].as_f64().unwrap_or(0.0),
            );
            ratios.insert(format!("{}/naive", o.mode), entry);
        }
    }
    let poll_ms = options.poll.as_secs_f64() * 1000.0;
    let at_the_limit = options.jobs > 2000;
    for o in outcomes.iter().filter(|o| o.mode != "naive") {
        let mut checks = vec![
            (
                "≤ 5 edits per 5 s in a thread",
                o.max_edits_in_5s_per_thread <= 5,
            ),
            (
                "≤ 50 chat calls per second",
                o.max_chat_calls_per_second <= 50,
            ),
        ];
        if at_the_limit {
            // Far more progress than the chat allows: what matters lands first.
            checks.extend([
                ("peak RSS < 150 MB", o.peak_rss_mb < 150.0),
                ("CPU < 0.5 cores", o.cpu_cores_average < 0.5),
                ("final state p99 < 10 s", o.final_p99_ms < 10_000.0),
                ("progress lag p99 < 30 s", o.lag_p99_ms < 30_000.0),
            ]);
        } else {
            checks.extend([
                ("peak RSS < 100 MB", o.peak_rss_mb < 100.0),
                ("command ack p99 < 20 ms", o.ack_p99_ms < 20.0),
                (
                    "edits per visible state ≤ 1.5",
                    o.edits_per_visible_state <= 1.5,
                ),
            ]);
        }
        if o.mode == "polling" {
            checks.push((
                "≤ 1.0 read per watched execution per interval",
                o.execution_polls_per_interval <= 1.0,
            ));
            if !at_the_limit {
                checks.push(("CPU < 0.2 cores", o.cpu_cores_average < 0.2));
                checks.push((
                    "change→edit p99 < 1.2 × poll",
                    o.change_to_edit_p99_ms < 1.2 * poll_ms,
                ));
            }
            if let Some(n) = naive {
                checks.push((
                    "PaaS requests ≤ ½ naive",
                    o.paas_requests_per_command <= n.paas_requests_per_command / 2.0,
                ));
            }
        } else {
            if !at_the_limit {
                // Pushed changes are shown at once, but a message is edited at most once
                // per edit window: a change right after an edit waits out the window.
                let window = config(options, true).jobs.edit_window;
                checks.push((
                    "change→edit p99 < the edit window",
                    o.change_to_edit_p99_ms < window.as_secs_f64() * 1000.0,
                ));
            }
            if let Some(n) = naive {
                checks.push((
                    "PaaS requests ≤ 1/20 naive",
                    o.paas_requests_per_command <= n.paas_requests_per_command / 20.0,
                ));
            }
        }
        for (what, ok) in checks {
            println!("{:<6} {} {what}", if ok { "met" } else { "MISSED" }, o.mode);
        }
    }
    let dir = PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("bench");
    let _ = std::fs::create_dir_all(&dir);
    let json = serde_json::json!({
        "command": format!("cargo bench --bench fleet -- --jobs {} --poll {} --push {} --ramp {} --scale {} --projects {} --store {}",
            options.jobs, humantime::format_duration(options.poll), options.push,
            humantime::format_duration(options.ramp), options.scale, options.projects, options.store),
        "machine": format!("{} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)),
        "results": outcomes,
        "ratios": ratios,
    });
    let store = match options.store.as_str() {
        "sqlite" => String::new(),
        other => format!("-{other}"),
    };
    let path = dir.join(if options.jobs == 1000 {
        format!("fleet{store}.json")
    } else {
        format!("fleet-{}{store}.json", options.jobs)
    });
    std::fs::write(&path, serde_json::to_string_pretty(&json).expect("json"))
        .expect("write fleet.json");
    println!("written to {}", path.display());
}

/// The workload's projects and apps: `p-b000`/`p-pl000`/`app-000`, …
fn scenario(options: &Options, push: bool) -> Scenario {
    let s = |secs: f64| secs * options.scale;
    Scenario {
        speed: 1.0,
        subscribe: push,
        pipelines: (0..options.projects)
            .map(|i| PipelineScenario {
                cluster: "c-bench".into(),
                project: format!("p-b{i:03}"),
                pipeline: format!("p-pl{i:03}"),
                image: Some(format!("harbor.example.com/bench/svc{i:03}")),
                stages: [
                    ("Test", 90.0),
                    ("Build", 120.0),
                    ("Publish Image", 45.0),
                    ("Chart", 10.0),
                ]
                .iter()
                .map(|(name, secs)| StageSpec {
                    name: (*name).into(),
                    seconds: s(*secs),
                    chart: *name == "Chart",
                })
                .collect(),
                clone_seconds: s(5.0),
                provision_seconds: s(3.0),
                fail_at: None,
                branches: Vec::new(),
                version_tags: true,
                faults: Faults::default(),
                ..PipelineScenario::default()
            })
            .collect(),
        apps: (0..options.projects)
            .map(|i| AppScenario {
                cluster: "c-bench".into(),
                project: format!("p-b{i:03}"),
                app: format!("app-{i:03}"),
                current_tag: Some("v0".into()),
                install_seconds: s(10.0),
                rollout_seconds: s(20.0),
                fail: None,
                logs: LogShape::Text,
                log_lines: None,
                faults: Faults::default(),
                ..AppScenario::default()
            })
            .collect(),
        ..Scenario::default()
    }
}

fn config(options: &Options, push: bool) -> Config {
    let mut text = format!(
        "[paas]\npoll_interval = \"{}\"\nsubscribe = {push}\n\n",
        humantime::format_duration(options.poll)
    );
    for i in 0..options.projects {
        text.push_str(&format!(
            "[projects.svc{i:03}]\ncluster = \"c-bench\"\nproject = \"p-b{i:03}\"\npipeline = \"p-pl{i:03}\"\ndeploys = \"svc{i:03}\"\n\n\
             [apps.svc{i:03}]\ncluster = \"c-bench\"\nproject = \"p-b{i:03}\"\napp = \"app-{i:03}\"\n\n"
        ));
    }
    Config::parse(&text, "the benchmark configuration").expect("a valid configuration")
}

/// Teams each have their channel: Discord allows 5 messages per 5 s in one channel,
/// so a thousand requests in two minutes cannot all come from one. A team has two or
/// three services: 20 channels for 50 projects, 400 for 1,000.
static CHANNELS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

fn channels(projects: usize) -> usize {
    (projects * 2 / 5).max(1)
}

/// The channel of a project's team.
fn channel_of(command: &str) -> String {
    let project: usize = command
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.trim_start_matches("svc").parse().ok())
        .unwrap_or(0);
    format!("team{}", project % CHANNELS.get().copied().unwrap_or(20))
}

/// The commands, in order: 70% builds on one of three branches, 15% deploys, 15%
/// releases, spread over the projects. The same seed gives the same workload.
fn workload(options: &Options) -> Vec<(String, String)> {
    let mut rng = fastrand::Rng::with_seed(7);
    let branches = ["master", "develop", "release-1.x"];
    (0..options.jobs)
        .map(|i| {
            let p = rng.usize(..options.projects);
            let user = format!("dev{}", rng.usize(..20));
            let roll = rng.f64();
            let command = if roll < 0.70 {
                format!("/build svc{p:03} {}", branches[rng.usize(..branches.len())])
            } else if roll < 0.85 {
                format!("/deploy svc{p:03} v1.{i}")
            } else {
                format!("/release svc{p:03} master")
            };
            (user, command)
        })
        .collect()
}

struct SimProcess {
    child: Child,
    url: String,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(scenario: &Scenario, dir: &std::path::Path) -> SimProcess {
    let path = dir.join("scenario.json");
    std::fs::write(&path, serde_json::to_string(scenario).expect("json"))
        .expect("write the scenario");
    let mut child = Command::new(env!("CARGO_BIN_EXE_releasebot"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--scenario",
        ])
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the simulator starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the simulator says where it serves");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("a URL")
        .to_string();
    SimProcess { child, url }
}

async fn admin<T: for<'de> Deserialize<'de>>(url: &str, path: &str) -> T {
    let body = reqwest::Client::new()
        .get(format!("{url}{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the simulator answers")
        .bytes()
        .await
        .expect("a body");
    serde_json::from_slice(&body).expect("admin JSON")
}

/// CPU seconds this process has used.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|f| f.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / 100.0
}

/// Peak resident memory of this process, in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let i = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[i.min(values.len() - 1)]
}

async fn child(mode: Mode, options: &Options) -> Outcome {
    let dir = std::env::temp_dir().join(format!(
        "releasebot-fleet-{}-{}",
        mode.arg(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let push = mode == Mode::Push;
    let sim = start_sim(&scenario(options, push), &dir);
    let config = Arc::new(config(options, push));
    let metrics = Arc::new(Metrics::default());
    let observer = metrics.clone();
    let mut settings = ClientConfig::new(sim.url.clone(), Secret::new(TOKEN));
    settings.request_timeout = Duration::from_secs(30);
    let paas = PaasClient::new(settings, Clock::new())
        .expect("a client")
        .with_observer(Arc::new(move |r| {
            observer.paas_request(r.operation.as_str(), r.status, r.elapsed)
        }));
    let chat = MemoryChat::new();
    if mode != Mode::Naive {
        // Commands come with a message of their own, as Discord's slash commands do.
        chat.use_interactions();
    }
    let remote = match options.store.as_str() {
        "postgres" => Some(RemoteDb::create().await),
        _ => None,
    };
    let chat_epoch = SystemTime::now();
    let commands = workload(options);
    let cpu_start = cpu_seconds();
    let started = Instant::now();
    let mut acks: Vec<f64> = Vec::new();

    let records: Vec<JobRecord> = match mode {
        Mode::Polling | Mode::Push => {
            let store = Arc::new(
                match &remote {
                    Some(db) => Store::open(std::path::Path::new(&db.url)).await,
                    None => Store::open(&dir.join("state.db")).await,
                }
                .expect("the store opens"),
            );
            let engine = Engine::new(EngineDeps {
                config: config.clone(),
                paas: paas.clone(),
                chat: chat.clone(),
                clock: Clock::new(),
                store,
                metrics: metrics.clone(),
                webhook_url: None,
                ui: None,
            })
            .await
            .expect("the engine starts");
            let sink: Arc<dyn EventSink> = Arc::new(engine.clone());
            chat.connect(Arc::downgrade(&sink));
            for (i, (user, command)) in commands.iter().enumerate() {
                tokio::time::sleep_until(tokio::time::Instant::from_std(
                    started + options.ramp.mul_f64(i as f64 / commands.len() as f64),
                ))
                .await;
                let t = Instant::now();
                let reply = chat.say(user, &channel_of(command), command).await;
                acks.push(t.elapsed().as_secs_f64() * 1000.0);
                if let Some(reply) = reply.filter(Reply::is_refusal) {
                    eprintln!("refused {command}: {}", reply.text());
                }
            }
            // Keep asking for /status while the jobs run: acknowledgements under load.
            while !engine.live_jobs().is_empty() {
                let t = Instant::now();
                let _ = chat.say("dev0", CHANNEL, "/status").await;
                acks.push(t.elapsed().as_secs_f64() * 1000.0);
                tokio::time::sleep(Duration::from_secs(1)).await;
                if started.elapsed() > Duration::from_secs(3600) {
                    panic!("the jobs did not finish within an hour");
                }
            }
            // Every job, from the store (the engine keeps only the latest at hand).
            let mut records = Vec::new();
            while let Some(r) = engine.job_record(JobId(records.len() as u64 + 1)).await {
                records.push(r);
            }
            records
        }
        Mode::Naive => {
            let mut tasks = Vec::new();
            for (i, (user, command)) in commands.iter().enumerate() {
                tokio::time::sleep_until(tokio::time::Instant::from_std(
                    started + options.ramp.mul_f64(i as f64 / commands.len() as f64),
                ))
                .await;
                let t = Instant::now();
                let job = naive::parse(i as u64 + 1, user, command, &config);
                let (paas, chat, config, poll) =
                    (paas.clone(), chat.clone(), config.clone(), options.poll);
                tasks.push(tokio::spawn(naive::run(job, paas, chat, config, poll)));
                acks.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let mut records = Vec::new();
            for task in tasks {
                records.push(task.await.expect("a naive job"));
            }
            records
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let stats: SimStats = admin(&sim.url, "/admin/stats").await;
    let timeline: Timeline = admin(&sim.url, "/admin/timeline").await;
    let mut outcome = measure(
        mode, options, &records, &chat, chat_epoch, &stats, &timeline, acks, wall, cpu,
    );
    let (writes, p50, p99) = metrics.store_writes();
    let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    outcome.store_writes = writes;
    outcome.store_writes_per_second = writes as f64 / wall;
    outcome.store_write_p50_ms = ms(p50);
    outcome.store_write_p99_ms = ms(p99);
    if let Some(db) = remote {
        db.drop_database().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// A fresh database on the PostgreSQL server in `RELEASEBOT_TEST_POSTGRES_URL`, reached
/// through a proxy that delays every packet by 2 ms each way.
struct RemoteDb {
    admin: String,
    name: String,
    url: String,
    _link: releasebot::sim::TcpProxy,
}

impl RemoteDb {
    async fn create() -> RemoteDb {
        use sqlx::{ConnectOptions, Executor};
        let admin = std::env::var("RELEASEBOT_TEST_POSTGRES_URL")
            .expect("--store postgres needs RELEASEBOT_TEST_POSTGRES_URL");
        let name = format!("releasebot_fleet_{}", std::process::id());
        let server: sqlx::postgres::PgConnectOptions = admin.parse().expect("a PostgreSQL URL");
        let mut c = server.connect().await.expect("the server answers");
        c.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("a database");
        let upstream = tokio::net::lookup_host((server.get_host(), server.get_port()))
            .await
            .expect("the server's address")
            .next()
            .expect("an address");
        let link = releasebot::sim::TcpProxy::start(upstream, Duration::from_millis(2))
            .await
            .expect("a proxy");
        let url = format!(
            "postgres://{}@{}/{name}",
            server.get_username(),
            link.addr()
        );
        RemoteDb {
            admin,
            name,
            url,
            _link: link,
        }
    }

    async fn drop_database(self) {
        use sqlx::{ConnectOptions, Executor};
        let server: sqlx::postgres::PgConnectOptions = self.admin.parse().expect("a URL");
        if let Ok(mut c) = server.connect().await {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = c.execute(sql.as_str()).await;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn measure(
    mode: Mode,
    options: &Options,
    records: &[JobRecord],
    chat: &MemoryChat,
    chat_epoch: SystemTime,
    stats: &SimStats,
    timeline: &Timeline,
    mut acks: Vec<f64>,
    wall: f64,
    cpu: f64,
) -> Outcome {
    let settle_ms = config(options, false).jobs.settle.as_secs_f64() * 1000.0;
    let epoch_ms = to_ms(chat_epoch) as f64;
    let all = chat.records();
    let wall_ms = |at: Duration| epoch_ms + at.as_secs_f64() * 1000.0;
    let executions: HashMap<&str, &Vec<releasebot::sim::TimedEvent>> = timeline
        .executions
        .iter()
        .map(|e| (e.id.as_str(), &e.events))
        .collect();
    let upgrades: HashMap<(&str, &str), &Vec<releasebot::sim::TimedEvent>> = timeline
        .upgrades
        .iter()
        .map(|u| ((u.id.as_str(), u.tag.as_deref().unwrap_or("")), &u.events))
        .collect();
    let mut delays = Vec::new();
    let mut finals = Vec::new();
    let mut lags = Vec::new();
    let mut not_shown = 0;
    let mut visible = 0usize;
    let mut edits = 0usize;
    let mut messages = 0usize;
    for r in records {
        let Some(progress) = &r.messages.progress else {
            continue;
        };
        messages += 1;
        let history: Vec<(f64, String)> = chat
            .history(progress)
            .into_iter()
            .map(|(at, text)| (wall_ms(at), text))
            .collect();
        edits += history.len().saturating_sub(1);
        let mut events: Vec<releasebot::sim::TimedEvent> = Vec::new();
        // When the PaaS showed the job's end as an end: a build's last change; a
        // rollout's last change plus the settle window, for which a new rollout must
        // keep reading `active` before anyone can call it done.
        let mut ended_on_paas: Option<f64> = None;
        if let Some(e) = r
            .build
            .as_ref()
            .and_then(|b| b.execution.as_ref())
            .and_then(|id| executions.get(id.to_string().as_str()))
        {
            events.extend(e.iter().cloned());
            ended_on_paas = e.last().map(|l| l.at_ms as f64);
        }
        if let (Some(d), Some(tag)) = (&r.deploy, r.deploy_tag()) {
            let app_id = format!("{}:{}", project_of(r), d.app_id);
            if let Some(e) = upgrades.get(&(app_id.as_str(), tag.as_str())) {
                events.extend(e.iter().map(|event| {
                    // releasebot shows a rollout done once it has kept reading
                    // `active` for the settle window (the naive design at once).
                    let mut event = event.clone();
                    if event.shows == "✅ active" && mode != Mode::Naive {
                        event.at_ms += settle_ms as i64;
                    }
                    event
                }));
                let settle = if mode == Mode::Naive { 0.0 } else { settle_ms };
                ended_on_paas = e.last().map(|l| l.at_ms as f64 + settle);
            }
        }
        // A job that joins a build already running sees its earlier changes when it
        // starts: those are neither delays nor states of its own. Only changes after
        // its message exists count.
        let posted = history.first().map_or(f64::MAX, |(t, _)| *t);
        events.retain(|e| e.at_ms as f64 >= posted);
        // Start and end are visible states of their own.
        visible += events.len() + 2;
        events.sort_by_key(|e| e.at_ms);
        // Each change was out of sight until the message showed it or a later state
        // (states that waited under chat pressure are folded into the next edit).
        for (k, e) in events.iter().enumerate() {
            let at = e.at_ms as f64;
            let later = &events[k..];
            if let Some((t, _)) = history
                .iter()
                .find(|(t, text)| *t >= at - 1.0 && later.iter().any(|l| text.contains(&l.shows)))
            {
                lags.push(t - at);
            }
        }
        // How it ended: from the PaaS showing it, to the message's last content.
        if let (Some(end), Some((t, _))) = (ended_on_paas, history.last())
            && *t >= posted
        {
            finals.push((t - end).max(0.0));
        }
        for event in events {
            let at = event.at_ms as f64;
            match history
                .iter()
                .find(|(t, text)| *t >= at - 1.0 && text.contains(&event.shows))
            {
                Some((t, _)) => {
                    delays.push(t - at);
                    if std::env::var_os("FLEET_DEBUG").is_some() && t - at > 5000.0 {
                        let before = history
                            .iter()
                            .rev()
                            .find(|(h, _)| *h < *t)
                            .map_or(0.0, |(h, _)| *h);
                        eprintln!(
                            "late: {} {} {:?} shown {:.0} ms after the change; posted {:.0} ms before it; the edit before came {:.0} ms before it; {} edits",
                            r.id,
                            r.kind().as_str(),
                            event.shows,
                            t - at,
                            at - posted,
                            at - before,
                            history.len()
                        );
                    }
                }
                None => not_shown += 1,
            }
        }
    }
    // Pacing: edits per thread in any 5 s, and chat calls in any 1 s.
    // A command's own message is edited through its interaction, outside the global
    // budget and in a bucket of its own, while the interaction lives.
    let mut per_channel: HashMap<String, Vec<Duration>> = HashMap::new();
    let mut calls: Vec<Duration> = Vec::new();
    let mut free_calls: Vec<Duration> = Vec::new();
    for rec in &all {
        match rec {
            Record::Edit { at, target, .. } if chat.outside_budget(*at, target) => {
                per_channel
                    .entry(target.message.clone())
                    .or_default()
                    .push(*at);
                free_calls.push(*at);
            }
            Record::Post { at, target, .. } if chat.outside_budget(*at, target) => {
                free_calls.push(*at)
            }
            Record::Edit { at, target, .. } => {
                per_channel
                    .entry(target.channel.clone())
                    .or_default()
                    .push(*at);
                calls.push(*at);
            }
            Record::Post { at, .. } | Record::Thread { at, .. } => calls.push(*at),
            Record::React { at, user, .. } if user == "releasebot" => calls.push(*at),
            _ => {}
        }
    }
    let max_in = |times: &mut Vec<Duration>, window: Duration| -> usize {
        times.sort();
        let mut best = 0;
        let mut j = 0;
        for i in 0..times.len() {
            while times[i] - times[j] >= window {
                j += 1;
            }
            best = best.max(i - j + 1);
        }
        best
    };
    let max_thread = per_channel
        .values_mut()
        .map(|t| max_in(t, Duration::from_secs(5)))
        .max()
        .unwrap_or(0);
    let max_global = max_in(&mut calls, Duration::from_secs(1));
    let max_free = max_in(&mut free_calls, Duration::from_secs(1));
    let own_messages = records
        .iter()
        .filter(|r| {
            r.messages.thread.as_ref().map(|t| &t.summary) == r.messages.progress.as_ref()
                && r.messages.progress.is_some()
        })
        .count();
    let paas_requests = stats.requests - stats.by_route.get("admin").copied().unwrap_or(0);
    // What watching cost per object: reads per poll interval it was watched (from its
    // first change to its last, rounded up to whole intervals).
    let poll_ms = options.poll.as_secs_f64() * 1000.0;
    let intervals = |objects: &[releasebot::sim::ObjectEvents]| -> f64 {
        objects
            .iter()
            .filter_map(|o| Some((o.events.first()?.at_ms, o.events.last()?.at_ms)))
            .map(|(a, b)| ((b - a) as f64 / poll_ms).ceil().max(1.0))
            .sum()
    };
    let per_interval = |route: &str, objects: &[releasebot::sim::ObjectEvents]| {
        let reads = stats.by_route.get(route).copied().unwrap_or(0) as f64;
        let n = intervals(objects);
        if n > 0.0 { reads / n } else { 0.0 }
    };
    let jobs = messages.max(1);
    Outcome {
        mode: mode.arg().into(),
        commands: options.jobs,
        jobs: messages,
        succeeded: records
            .iter()
            .filter(|r| r.state == JobState::Succeeded)
            .count(),
        wall_seconds: wall,
        paas_requests,
        paas_requests_per_command: paas_requests as f64 / options.jobs as f64,
        runs: stats.total_runs(),
        upgrades: stats.total_upgrades(),
        chat_edits: edits,
        chat_edits_per_job: edits as f64 / jobs as f64,
        visible_states_per_job: visible as f64 / jobs as f64,
        edits_per_visible_state: if visible > 0 {
            edits as f64 / visible as f64
        } else {
            0.0
        },
        max_edits_in_5s_per_thread: max_thread,
        max_chat_calls_per_second: max_global,
        interaction_calls: free_calls.len(),
        max_interaction_calls_per_second: max_free,
        own_messages,
        changes_measured: delays.len(),
        changes_not_shown: not_shown,
        change_to_edit_p50_ms: percentile(&mut delays, 0.50),
        change_to_edit_p99_ms: percentile(&mut delays, 0.99),
        execution_polls_per_interval: per_interval("get_execution", &timeline.executions),
        app_reads_per_interval: reads_per_interval(&timeline.upgrades, poll_ms),
        requests_by_route: stats
            .by_route
            .iter()
            .filter(|(route, _)| *route != "admin")
            .map(|(route, n)| (route.clone(), *n))
            .collect(),
        final_p50_ms: percentile(&mut finals, 0.50),
        final_p99_ms: percentile(&mut finals, 0.99),
        lag_p99_ms: percentile(&mut lags, 0.99),
        lag_max_ms: percentile(&mut lags, 1.0),
        ack_p50_ms: percentile(&mut acks, 0.50),
        ack_p99_ms: percentile(&mut acks, 0.99),
        peak_rss_mb: peak_rss_mb(),
        cpu_seconds: cpu,
        cpu_cores_average: cpu / wall.max(0.001),
        ..Outcome::default()
    }
}

/// The Rancher project of a job's app (`p-b007` for `svc007`).
fn project_of(r: &JobRecord) -> String {
    let name = r
        .spec
        .app()
        .map(|a| a.as_str())
        .or(r.spec.project().map(|p| p.as_str()))
        .unwrap_or("");
    format!("p-b{}", name.trim_start_matches("svc"))
}

/// What watching an app through its upgrades cost: its reads while it was watched (from
/// the read the upgrade was judged against to the last before the next upgrade), per
/// poll interval of that time. `n` reads an interval apart span `n - 1` intervals and
/// cost one read per interval, so a span counts one interval more than it covers; a
/// second reader, or a read made sooner than the interval, shows as more than 1.0.
/// (A build's watcher is measured by its changes instead: it is watched from the run
/// request to its last change, while an app is watched on through the settle window
/// after its last change.)
fn reads_per_interval(upgrades: &[releasebot::sim::ObjectEvents], poll_ms: f64) -> f64 {
    let (reads, intervals) = upgrades.iter().filter(|u| !u.reads_ms.is_empty()).fold(
        (0.0, 0.0),
        |(reads, intervals), u| {
            let first = u.reads_ms.first().copied().unwrap_or(0);
            let last = u.reads_ms.last().copied().unwrap_or(0);
            let span = ((last - first) as f64 / poll_ms).ceil() + 1.0;
            (reads + u.reads_ms.len() as f64, intervals + span)
        },
    );
    if intervals > 0.0 {
        reads / intervals
    } else {
        0.0
    }
}

/// The naive design: each request its own task and its own poll loop at a fixed
/// interval; every change it sees is edited into its message at once.
mod naive {
    use super::*;

    pub fn parse(id: u64, user: &str, command: &str, config: &Config) -> JobRecord {
        let words: Vec<&str> = command.split_whitespace().collect();
        let name = words[1];
        let branch = || Branch::parse(words.get(2).copied().unwrap_or("master")).expect("a branch");
        let spec = match words[0] {
            "/build" => JobSpec::Build {
                project: ProjectName::parse(name).expect("a project"),
                branch: branch(),
            },
            "/deploy" => JobSpec::Deploy {
                app: AppName::parse(name).expect("an app"),
                tag: VersionTag::parse(words[2]).expect("a tag"),
                origin: DeployOrigin::Request,
            },
            _ => JobSpec::Release {
                project: ProjectName::parse(name).expect("a project"),
                branch: branch(),
                app: AppName::parse(name).expect("an app"),
                more: Vec::new(),
                parallel: false,
            },
        };
        let _ = config;
        let requester = Person {
            id: user.into(),
            name: user.into(),
        };
        JobRecord::new(JobId(id), spec, requester, &channel_of(command), 0)
    }

    struct Shown {
        chat: Arc<MemoryChat>,
        target: MessageRef,
        last: Message,
    }

    impl Shown {
        async fn show(&mut self, r: &JobRecord) {
            let m = render::progress(r, &Default::default());
            if m != self.last {
                let _ = self.chat.edit(&self.target, &m).await;
                self.last = m;
            }
        }
    }

    pub async fn run(
        mut r: JobRecord,
        paas: PaasClient,
        chat: Arc<MemoryChat>,
        config: Arc<Config>,
        poll: Duration,
    ) -> JobRecord {
        let clock = Clock::new();
        r.created_ms = clock.now_ms();
        r.updated_ms = r.created_ms;
        let channel = r.channel.clone();
        let Ok(thread) = chat
            .open_thread(
                &channel,
                &render::summary(&r, &Default::default()),
                &render::thread_title(&r),
                Duration::from_secs(24 * 3600),
            )
            .await
        else {
            return r;
        };
        let first = render::progress(&r, &Default::default());
        let Ok(target) = chat.post(&thread.thread, &first).await else {
            return r;
        };
        r.messages.thread = Some(thread);
        r.messages.progress = Some(target.clone());
        let mut shown = Shown {
            chat,
            target,
            last: first,
        };
        let mut built_tag = None;
        if let Some(project) = r
            .spec
            .project()
            .and_then(|p| config.projects.get(p).cloned())
        {
            let branch = r.spec.branch().cloned().expect("a branch");
            let Ok(execution) = paas
                .run_pipeline(&project.pipeline, branch.as_str(), None, None)
                .await
            else {
                r.state = JobState::Failed;
                return r;
            };
            let target = ExecutionRef::new(project.pipeline.project.clone(), execution.id.clone());
            r.state = JobState::Building;
            r.build
                .get_or_insert_with(Default::default)
                .observe(&execution.reading());
            loop {
                tokio::time::sleep(poll).await;
                let Ok(e) = paas.get_execution(&target).await else {
                    continue;
                };
                r.build
                    .get_or_insert_with(Default::default)
                    .observe(&e.reading());
                r.updated_ms = clock.now_ms();
                shown.show(&r).await;
                match e.status() {
                    BuildStatus::Running { .. } => {}
                    BuildStatus::Succeeded => {
                        built_tag = e.deployable_tag().and_then(|t| VersionTag::parse(t).ok());
                        break;
                    }
                    _ => {
                        r.state = JobState::Failed;
                        return r;
                    }
                }
            }
        }
        let tag = r.deploy_tag().cloned().or(built_tag);
        if let (Some(app_name), Some(tag)) = (r.spec.app().cloned(), tag)
            && let Some(app) = config.apps.get(&app_name).cloned()
        {
            r.state = JobState::Deploying;
            let Ok(before) = paas.get_app(&app.rancher).await else {
                r.state = JobState::Failed;
                return r;
            };
            let mut deploy = DeployProgress::new(app.rancher.app.clone(), tag.clone());
            deploy.baseline = Some(before.snapshot());
            deploy.upgrade = Upgrade::Sent {
                intent_ms: clock.now_ms(),
                at_ms: clock.now_ms(),
            };
            if paas
                .upgrade_app(&app.rancher, tag.as_str(), &before)
                .await
                .is_err()
            {
                r.state = JobState::Failed;
                return r;
            }
            loop {
                tokio::time::sleep(poll).await;
                let Ok(now) = paas.get_app(&app.rancher).await else {
                    continue;
                };
                let (phase, done) = match now.snapshot().reading() {
                    Reading::Installing { .. } => (Phase::Installing, false),
                    Reading::Deploying { .. } => (Phase::Deploying, false),
                    Reading::Active => (Phase::Active, true),
                    _ => (Phase::Failed, true),
                };
                if deploy.rollout.phases.last() != Some(&phase) {
                    deploy.rollout.phases.push(phase);
                }
                deploy.rollout.done = done;
                r.deploy = Some(deploy.clone());
                r.updated_ms = clock.now_ms();
                shown.show(&r).await;
                if done {
                    break;
                }
            }
            if let Ok(Some(lines)) = paas.deploy_logs(&app.rancher).await {
                r.logs = Some(LogExcerpt {
                    lines: lines.into_iter().rev().take(10).rev().collect(),
                    ..LogExcerpt::default()
                });
            }
        }
        r.state = JobState::Succeeded;
        r.ended_ms = Some(clock.now_ms());
        shown.show(&r).await;
        r
    }
}
