//! The real `releasebot` binary, driven through its stdin as a person would type, with
//! its output checked. These run in real time with short intervals and a fast
//! simulator clock, so each takes a second or two.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use releasebot::config::DEMO_CONFIG;
use releasebot::sim::Scenario;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::helpers::{TOKEN, spawn_sim};

/// A directory under the system's temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "releasebot-e2e-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The environment of runs against a simulator outside the binary: `config` and a
/// state file in `dir`, shared by every run given the same environment.
pub fn against_sim(sim_url: &str, dir: &TempDir, config: &str) -> Vec<(String, String)> {
    let config = dir.write("releasebot.toml", config).display().to_string();
    let db = dir.0.join("state.db").display().to_string();
    vec![
        ("RELEASEBOT_CONFIG".into(), config),
        ("RELEASEBOT_DB".into(), db),
        ("RANCHER_URL".into(), sim_url.into()),
        ("RANCHER_TOKEN".into(), crate::helpers::TOKEN.into()),
    ]
}

/// The demo configuration with short intervals and a fast simulator clock.
pub fn fast_config() -> String {
    DEMO_CONFIG
        .replace("poll_interval = \"5s\"", "poll_interval = \"100ms\"")
        .replace(
            "[jobs]\n",
            "[jobs]\nedit_window = \"20ms\"\nsettle = \"200ms\"\nlogs_window = \"500ms\"\n",
        )
        .replace("speed = 10 ", "speed = 200 ")
}

/// The running binary, its output collected as it comes.
pub struct Cli {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    /// The tasks reading stdout and stderr, done once the pipes close.
    readers: Vec<tokio::task::JoinHandle<()>>,
    _dir: TempDir,
}

/// Starts `releasebot` with `args` in a fresh directory, with only the environment
/// given (plus PATH), as user alice.
pub fn spawn_cli<K: AsRef<std::ffi::OsStr>, V: AsRef<std::ffi::OsStr>>(
    args: &[&str],
    env: &[(K, V)],
    dir: TempDir,
) -> Cli {
    let mut command = Command::new(env!("CARGO_BIN_EXE_releasebot"));
    command
        .args(args)
        .current_dir(&dir.0)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USER", "alice")
        .env("RELEASEBOT_DB", dir.0.join("releasebot.db"))
        .env("RELEASEBOT_HTTP_ADDR", "127.0.0.1:0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k.as_ref(), v.as_ref());
    }
    let mut child = command.spawn().expect("the binary starts");
    let stdout = Arc::new(Mutex::new(String::new()));
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut readers = Vec::new();
    for (pipe, sink) in [
        (
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            stdout.clone(),
        ),
        (
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            stderr.clone(),
        ),
    ] {
        let Some(pipe) = pipe else { continue };
        readers.push(tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        }));
    }
    Cli {
        stdin: child.stdin.take(),
        child,
        stdout,
        stderr,
        readers,
        _dir: dir,
    }
}

impl Cli {
    pub async fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stdout contains `needle` (at most 30 s).
    pub async fn expect(&self, needle: &str) {
        for _ in 0..600 {
            if self.stdout().contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "never printed {needle:?}; stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
    }

    /// Sends a signal (`TERM`, `INT`) to the process.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the process runs").to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether the process has not exited.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("the process can be killed");
    }

    /// Closes stdin and waits for the exit code (at most 60 s).
    pub async fn finish(mut self) -> (i32, String, String) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the binary exits after its input ends")
            .unwrap();
        // All the output, however long the readers lag behind a loaded machine: they end
        // when the pipes close.
        for reader in std::mem::take(&mut self.readers) {
            let _ = tokio::time::timeout(Duration::from_secs(10), reader).await;
        }
        (status.code().unwrap_or(-1), self.stdout(), self.stderr())
    }
}

pub(crate) fn with_fast_config(name: &str) -> (TempDir, String) {
    let dir = TempDir::new(name);
    let config = dir.write("releasebot.toml", &fast_config());
    (dir, config.display().to_string())
}

#[tokio::test]
async fn a_release_runs_in_the_terminal_against_the_built_in_simulator() {
    let (dir, config) = with_fast_config("release");
    let mut cli = spawn_cli(&[], &[("RELEASEBOT_CONFIG", config.as_str())], dir);
    cli.send("/release api master").await;
    let (code, out, err) = cli.finish().await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("terminal chat as alice"), "{err}");
    assert!(err.contains("the built-in PaaS simulator"), "{err}");
    for want in [
        "→ alice: Started #1: release api@master",
        "── thread \"#1 api@master\" · message",
        "✅ #1 release api@master · requested by alice · succeeded",
        "installing → deploying → ✅ active",
        "password=[redacted]",
        "✅ #1 release api@master — requested by alice — succeeded in",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[tokio::test]
async fn a_build_in_the_terminal_reports_its_image() {
    let (dir, config) = with_fast_config("build");
    let mut cli = spawn_cli(&["shell"], &[("RELEASEBOT_CONFIG", config.as_str())], dir);
    cli.send("/build web").await;
    let (code, out, _) = cli.finish().await;
    assert_eq!(code, 0);
    assert!(
        out.contains("✅ #1 build web@master · requested by alice · succeeded"),
        "{out}"
    );
    assert!(
        out.contains("image  harbor.example.com/team/web:master-1-"),
        "{out}"
    );
}

#[tokio::test]
async fn a_deploy_is_approved_by_a_second_user() {
    let (dir, config) = with_fast_config("approve");
    let mut cli = spawn_cli(&[], &[("RELEASEBOT_CONFIG", config.as_str())], dir);
    cli.send("@alice /deploy web v1.2.3").await;
    cli.expect(
        "✋ Approval needed for #1: deploy web: master-56-9ae1b20 → v1.2.3, requested by alice",
    )
    .await;
    cli.send("@alice /approve 1").await;
    cli.expect(
        "✋ alice: Approving deploys of web needs the role lead; your vote was not counted.",
    )
    .await;
    cli.send("@bob /approve 1").await;
    cli.expect("→ bob: #1 is approved; deploying.").await;
    let (code, out, _) = cli.finish().await;
    assert_eq!(code, 0);
    assert!(
        out.contains("✅ #1 deploy web v1.2.3 · requested by alice · succeeded"),
        "{out}"
    );
    assert!(
        out.contains("approval  needs 1 of lead — approved — ✅ bob"),
        "{out}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_reaches_the_paas() {
    let sim = spawn_sim(Scenario::demo()).await;
    let (dir, config) = with_fast_config("bad-input");
    let mut cli = spawn_cli(
        &["shell"],
        &[
            ("RELEASEBOT_CONFIG", config.as_str()),
            ("RANCHER_URL", sim.url()),
            ("RANCHER_TOKEN", TOKEN),
        ],
        dir,
    );
    let cases = [
        (
            "/build",
            "The project is missing. Usage: /build <project> [branch]",
        ),
        (
            "/build wbe",
            "There is no project \"wbe\"; did you mean web? Usage: /build <project> [branch]",
        ),
        (
            "/build web feature..x",
            "is not a valid branch name: it contains '..'.",
        ),
        (
            "/build web -rf",
            "is not a valid branch name: it starts with '-'.",
        ),
        ("/build web a~b", "it contains '~'"),
        ("/build web x.lock", "ends with '.lock'"),
        (
            "/build web master extra",
            "Too many arguments (from \"extra\").",
        ),
        ("/deploy web", "Usage: /deploy <app> <versionTag>"),
        ("/deploy web v1/2", "is not a valid version tag"),
        ("/deploy nope v1", "There is no app \"nope\""),
        ("/release worker develop extra", "Too many arguments"),
        ("/cancel", "Usage: /cancel <#job>"),
        ("/cancel abc", "\"abc\" is not a job number"),
        ("/approve #0", "is not a job number"),
        ("/history", "Usage: /history <project|app> [n]"),
        ("/logs", "Usage: /logs <app>"),
        ("/deplyo web v1", "Did you mean /deploy?"),
        ("hello there", "\"hello\" is not a command."),
        (
            "/build web \u{1b}[2J",
            "Commands cannot contain control characters.",
        ),
        ("@bad!user /status", "a user is written @name"),
    ];
    for (line, _) in &cases {
        cli.send(line).await;
    }
    let long = format!("/build web {}", "a".repeat(1200));
    cli.send(&long).await;
    let (code, out, err) = cli.finish().await;
    assert_eq!(code, 0, "{err}");
    for (line, want) in cases {
        assert!(
            out.contains(want),
            "{line:?} was not answered with {want:?}:\n{out}"
        );
    }
    assert!(
        out.contains("That command is too long (at most 1000 characters)."),
        "{out}"
    );
    assert!(!out.contains("Started"), "{out}");
    let stats = sim.stats();
    assert_eq!(stats.total_runs(), 0);
    assert_eq!(
        stats.requests,
        stats.by_route.get("root").copied().unwrap_or(0),
        "only the start-up token check: {stats:?}"
    );
}

#[tokio::test]
async fn a_bad_config_file_is_refused_before_connecting() {
    let sim = spawn_sim(Scenario::demo()).await;
    let dir = TempDir::new("bad-config");
    let bad = fast_config().replace("poll_interval = \"100ms\"", "poll_intervall = \"100ms\"");
    let config = dir.write("releasebot.toml", &bad);
    let cli = spawn_cli(
        &[],
        &[
            ("RELEASEBOT_CONFIG", config.display().to_string().as_str()),
            ("RANCHER_URL", sim.url()),
            ("RANCHER_TOKEN", TOKEN),
        ],
        dir,
    );
    let (code, out, err) = cli.finish().await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("poll_intervall"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
    assert_eq!(sim.stats().requests, 0, "nothing was contacted");

    let dir = TempDir::new("bad-value");
    let bad = fast_config().replace(
        "branch = \"master\"         # default branch",
        "branch = \"a..b\"",
    );
    let config = dir.write("releasebot.toml", &bad);
    let cli = spawn_cli(
        &[],
        &[("RELEASEBOT_CONFIG", &config.display().to_string())],
        dir,
    );
    let (code, _, err) = cli.finish().await;
    assert_eq!(code, 2);
    assert!(err.contains("projects.web.branch"), "{err}");

    let dir = TempDir::new("missing-config");
    let cli = spawn_cli(
        &[],
        &[("RELEASEBOT_CONFIG", "/nonexistent/releasebot.toml")],
        dir,
    );
    let (code, _, err) = cli.finish().await;
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read the configuration /nonexistent/releasebot.toml"),
        "{err}"
    );
}

#[tokio::test]
async fn a_rejected_paas_token_is_explained_without_printing_it() {
    let sim = spawn_sim(Scenario::demo()).await;
    let (dir, config) = with_fast_config("bad-token");
    let wrong = "token-wrong:k3y5ecr3tthatmustneverbeprinted0123456789abcdefghijkl";
    let cli = spawn_cli(
        &[],
        &[
            ("RELEASEBOT_CONFIG", config.as_str()),
            ("RANCHER_URL", sim.url()),
            ("RANCHER_TOKEN", wrong),
        ],
        dir,
    );
    let (code, out, err) = cli.finish().await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("The PaaS rejected releasebot's API token (401 Unauthorized)"),
        "{err}"
    );
    assert!(
        !out.contains("k3y5ecr3t") && !err.contains("k3y5ecr3t"),
        "the token was printed"
    );
    assert_eq!(sim.stats().unauthorized, 1);

    let (dir, config) = with_fast_config("no-token");
    let cli = spawn_cli(
        &[],
        &[
            ("RELEASEBOT_CONFIG", config.as_str()),
            ("RANCHER_URL", sim.url()),
        ],
        dir,
    );
    let (code, _, err) = cli.finish().await;
    assert_eq!(code, 2);
    assert!(err.contains("RANCHER_TOKEN is not set"), "{err}");
}
