//! Nothing secret leaves, nothing outside takes over the bot's voice. What the PaaS
//! says (stage names, helm errors, deploy logs) is hostile here: it carries secrets in
//! several shapes, markdown that would post a heading and a link in the bot's name, a
//! code fence that would close the log excerpt, and terminal escapes. The secrets must
//! reach no message, no answer, no log line and no byte of the state file; the rest
//! must show as text.

use std::time::Duration;

use serde_json::json;

use releasebot::sim::Scenario;

use crate::cli::{TempDir, fast_config, spawn_cli};
use crate::discord::start_bot_on;
use crate::fake_discord::{CHANNEL, FakeDiscord};
use crate::helpers::{TOKEN, spawn_sim};

/// What an attacker (or a careless hook job) makes the PaaS say: a stage name, a helm
/// error for a failed upgrade, and deploy log lines.
struct Hostile {
    stage: String,
    helm_error: String,
    logs: Vec<String>,
    /// The secrets hidden in them, none of which may be seen anywhere.
    secrets: Vec<&'static str>,
}

fn hostile() -> Hostile {
    let secrets = vec![
        "S3cr3tPw",
        "hunter2-helm",
        "stage-pass-77",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "xoxb-123456789012-abcdefghijklmnop",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "dozjgNryP4J3jVmNHl0w5N",
        "sess-cookie-991",
        "N8D7Jl3aZuAsig",
        "fe5f80f77d5fa3beca038a248ff027d0",
        "MwY3Ux8cDDzSvrHULDNqFZCmYQXQ5qb0Je8nqL9GvU",
        "hun\\\"ter2",
    ];
    let api_secret = TOKEN.split_once(':').map_or(TOKEN, |(_, s)| s);
    Hostile {
        stage: "Build password=stage-pass-77 # PWNED [click me](https://evil.example/login) \u{1b}]52;c;aGk=\u{7}".into(),
        helm_error: format!(
            "Error: UPGRADE FAILED: pre-upgrade hooks failed: job migrate: \
             dial postgres://app:S3cr3tPw@db/app failed password=hunter2-helm\n\
             # PWNED [click me](https://evil.example/login)\n\
             Authorization: Bearer {api_secret}\n\u{1b}[2J@everyone"
        ),
        logs: vec![
            "INFO starting".into(),
            "cloning https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/org/repo".into(),
            "slack xoxb-123456789012-abcdefghijklmnop stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc".into(),
            "id_token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9".into(),
            "> Cookie: sid=sess-cookie-991; theme=dark".into(),
            "GET /blob?sv=2021&sig=N8D7Jl3aZuAsig&sp=r".into(),
            "GET /k?X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0".into(),
            "MwY3Ux8cDDzSvrHULDNqFZCmYQXQ5qb0Je8nqL9GvU+DOyCv4K5rJYNl3TbSYZ+o".into(),
            "-----END PRIVATE KEY-----".into(),
            r#"{"msg":"{\"password\":\"hun\\\"ter2\"}"}"#.into(),
            "````".into(),
            "# PWNED [click me](https://evil.example/login)".into(),
            "``` closed? \u{1b}[31mred".into(),
            "INFO ready".into(),
        ],
        secrets,
    }
}

/// The demo with the hostile texts: `api`'s builds have the hostile stage and its app
/// fails with the hostile helm error; `worker`'s app succeeds and serves the logs.
fn hostile_scenario(h: &Hostile, speed: f64) -> Scenario {
    let mut scenario = Scenario::demo();
    scenario.speed = speed;
    scenario.pipelines[1].stages[1].name = h.stage.clone();
    scenario.apps[1].fail = Some(h.helm_error.clone());
    scenario.apps[2].log_lines = Some(h.logs.clone());
    scenario
}

#[track_caller]
fn none_of(secrets: &[&str], what: &str, text: &str) {
    for secret in secrets {
        assert!(!text.contains(secret), "{secret:?} is in {what}:\n{text}");
    }
}

/// Markdown in `content` that came from outside rather than from releasebot: a line
/// made a heading (or small text), a link to the attacker's site (masked or bare), a
/// code block closed early (a fence with more than three backticks, or an odd count).
fn markdown_hazards(content: &str) -> Vec<String> {
    let mut found = Vec::new();
    if content.contains("````") {
        found.push("a four-backtick fence".into());
    }
    if !content.matches("```").count().is_multiple_of(2) {
        found.push("a code block left open or closed early".into());
    }
    // Inside a code block markdown means nothing; outside it, nothing may be markup.
    let outside: String = content
        .split("```")
        .step_by(2)
        .collect::<Vec<_>>()
        .join("\n");
    let content = outside.as_str();
    for line in content.lines() {
        let t = line.trim_start();
        if t.starts_with("# ")
            || t.starts_with("## ")
            || t.starts_with("### ")
            || t.starts_with("-# ")
        {
            found.push(format!("a heading: {line}"));
        }
    }
    for link in ["](https://evil", "](<https://evil", "<https://evil"] {
        if content.contains(link) {
            found.push(format!("a masked link: {link}"));
        }
    }
    let mut rest = content;
    while let Some(i) = rest.find("https://evil") {
        if !rest[..i].ends_with('\\') {
            found.push("a bare link".into());
        }
        rest = &rest[i + 1..];
    }
    if content.contains("@everyone") {
        found.push("@everyone as a mention".into());
    }
    found
}

#[tokio::test]
async fn secrets_in_what_the_paas_says_reach_no_message_answer_log_or_state() {
    let h = hostile();
    let sim = spawn_sim(hostile_scenario(&h, 60.0)).await;
    let dir = TempDir::new("security");
    let config = fast_config().replace("[jobs]\n", "[jobs]\nlog_lines = 30\n");
    let config = dir.write("releasebot.toml", &config).display().to_string();
    let db = dir.0.join("state.db").display().to_string();
    let env = [
        ("RELEASEBOT_CONFIG", config.as_str()),
        ("RELEASEBOT_DB", db.as_str()),
        ("RANCHER_URL", sim.url()),
        ("RANCHER_TOKEN", TOKEN),
        ("RUST_LOG", "trace"),
    ];
    let mut cli = spawn_cli(&["shell"], &env, TempDir::new("security-run"));
    cli.send("/release api").await;
    cli.expect("#1 release api@master · requested by alice · failed")
        .await;
    cli.send("/release worker").await;
    cli.expect("#2 release worker@master · requested by alice · succeeded")
        .await;
    for line in [
        "/history api",
        "/history worker",
        "/status 1",
        "/logs worker",
    ] {
        cli.send(line).await;
    }
    let (code, out, err) = cli.finish().await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("TRACE"), "trace logging was on");

    let mut secrets = h.secrets.clone();
    let api_secret = TOKEN.split_once(':').map_or(TOKEN, |(_, s)| s);
    secrets.push(api_secret);
    none_of(&secrets, "the chat transcript", &out);
    none_of(&secrets, "the logs at trace level", &err);
    for suffix in ["", "-wal"] {
        if let Ok(bytes) = std::fs::read(format!("{db}{suffix}")) {
            none_of(&secrets, "the state file", &String::from_utf8_lossy(&bytes));
        }
    }
    // What is not secret is still shown, as text: the failure, the stage, the logs.
    for shown in [
        "postgres://app:[redacted]@db/app",
        "password=[redacted]",
        "Build password=[redacted] # PWNED",
        "INFO ready",
    ] {
        assert!(out.contains(shown), "{shown:?} is missing:\n{out}");
    }
    // Terminal escapes are shown, not obeyed: no escape or bell byte is printed.
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("\\u{1b}"), "the escapes are shown:\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_discord_what_the_paas_says_renders_as_text_and_cannot_close_the_log_block() {
    let h = hostile();
    let sim = spawn_sim(hostile_scenario(&h, 1.0)).await;
    let fake = FakeDiscord::start().await;
    let store = std::sync::Arc::new(releasebot::store::Store::open_in_memory().await.unwrap());
    let bot = start_bot_on(
        &sim,
        store,
        fake.settings(),
        |c| {
            c.jobs.log_lines = 30;
        },
        |_| {},
    )
    .await;
    fake.wait_ready().await;
    let engine = bot.engine().clone();
    let ended = |n: u64| {
        let engine = engine.clone();
        move |_: &FakeDiscord| {
            engine
                .job_in_memory(releasebot::names::JobId(n))
                .filter(|r| r.state.is_final() && !engine.is_live(r.id))
                .map(|_| ())
        }
    };

    fake.command("alice", "release", &[("project", json!("api"))]);
    fake.command("alice", "release", &[("project", json!("worker"))]);
    for _ in 0..40 {
        sim.simulator().advance(Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fake.wait_for("one release to end", ended(1)).await;
    fake.wait_for("the other release to end", ended(2)).await;
    let mut states: Vec<(String, releasebot::job::JobState)> = [1, 2]
        .map(|n| engine.job_in_memory(releasebot::names::JobId(n)).unwrap())
        .iter()
        .map(|r| (r.target(), r.state))
        .collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    use releasebot::job::JobState::{Failed, Succeeded};
    assert_eq!(
        states,
        [
            ("api@master".into(), Failed),
            ("worker@master".into(), Succeeded)
        ]
    );

    // Every version of every message the bot posted or edited, in every channel.
    let mut seen = 0;
    let mut threads: Vec<u64> = vec![CHANNEL];
    threads.extend(fake.messages_in(CHANNEL).iter().map(|m| m.id));
    for channel in threads {
        for message in fake.messages_in(channel) {
            for content in &message.versions {
                seen += 1;
                let hazards = markdown_hazards(content);
                assert!(hazards.is_empty(), "{hazards:?} in:\n{content}");
                none_of(&h.secrets, "a Discord message", content);
            }
        }
    }
    assert!(seen > 10, "the bot's messages were read ({seen})");
    // The hostile texts are there, shown as typed.
    let all: String = fake
        .messages_in(CHANNEL)
        .iter()
        .flat_map(|m| fake.messages_in(m.id))
        .flat_map(|m| m.versions)
        .collect::<Vec<_>>()
        .join("\n");
    for shown in [
        "\\# PWNED \\[click me\\]",
        "https\\://evil.example",
        "INFO ready",
    ] {
        assert!(all.contains(shown), "{shown:?} is not shown:\n{all}");
    }
    // The log excerpt is one block, closed by releasebot's own fence.
    let logs = fake
        .messages_in(CHANNEL)
        .iter()
        .flat_map(|m| fake.messages_in(m.id))
        .filter_map(|m| m.versions.last().cloned())
        .find(|c| c.contains("INFO ready"))
        .expect("the worker's logs were posted");
    let block = logs
        .split_once("```\n")
        .map(|(_, b)| b)
        .expect("a code block");
    assert!(block.trim_end().ends_with("INFO ready\n```"), "{logs}");
    bot.stop().await;
}
