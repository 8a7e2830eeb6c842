//! Secrets stay secret: full flows at `RUST_LOG=trace` never show either token in
//! stdout, stderr, the chat transcript or the state file, and deploy logs holding
//! secrets in many shapes are redacted before they are posted.

use releasebot::sim::Scenario;

use crate::cli::{TempDir, fast_config, spawn_cli};
use crate::helpers::{TOKEN, spawn_sim};

const DISCORD: &str = "MTE5ODc2NTQzMjEwOTg3NjU0.GdiscordBotTokenSecretPart.x9y8z7w6v5u4t3s2r1";

/// Log lines an application might print, each hiding a secret.
fn leaky_log_lines() -> (Vec<String>, Vec<&'static str>) {
    let secrets = vec![
        "hunter2-secret-1",
        "eyJsecret2.part.x",
        "s3cret-3",
        "secret-4-json",
        "MIIsecret5",
        "secret-6-apikey",
        "secret-7-aws",
        "secret-8-client",
        "ghp_secret9abcdef",
        "c2VjcmV0LTEw",
    ];
    let lines = vec![
        "INFO starting".to_string(),
        "connecting with password=hunter2-secret-1 to db".into(),
        "GET / Authorization: Bearer eyJsecret2.part.x".into(),
        "db url postgres://admin:s3cret-3@db:5432/app".into(),
        r#"config {"token": "secret-4-json", "user": "x"}"#.into(),
        "-----BEGIN RSA PRIVATE KEY-----".into(),
        "MIIsecret5".into(),
        "-----END RSA PRIVATE KEY-----".into(),
        "api_key: secret-6-apikey".into(),
        "aws_secret_access_key=secret-7-aws".into(),
        "client_secret='secret-8-client'".into(),
        "GITHUB_TOKEN=ghp_secret9abcdef".into(),
        "proxy sends Basic c2VjcmV0LTEw".into(),
        format!("env RANCHER_TOKEN={TOKEN}"),
        format!("discord {DISCORD}"),
        "INFO ready".into(),
    ];
    (lines, secrets)
}

#[tokio::test]
async fn no_token_appears_anywhere_and_logs_are_redacted() {
    let (lines, hidden) = leaky_log_lines();
    let mut scenario = Scenario::demo();
    scenario.speed = 60.0;
    scenario.apps[1].log_lines = Some(lines);
    let sim = spawn_sim(scenario).await;
    let dir = TempDir::new("secrets");
    let config = fast_config().replace("[jobs]\n", "[jobs]\nlog_lines = 30\n");
    let config = dir.write("releasebot.toml", &config).display().to_string();
    let db = dir.0.join("state.db");
    let db_text = db.display().to_string();
    let env = [
        ("RELEASEBOT_CONFIG", config.as_str()),
        ("RELEASEBOT_DB", db_text.as_str()),
        ("RANCHER_URL", sim.url()),
        ("RANCHER_TOKEN", TOKEN),
        ("DISCORD_TOKEN", DISCORD),
        ("RUST_LOG", "trace"),
    ];
    let mut cli = spawn_cli(&["shell"], &env, TempDir::new("secrets-run"));
    cli.send("/release api").await;
    cli.send("@alice /deploy web v1.2.3").await;
    cli.expect("✋ Approval needed for #2").await;
    cli.send("@bob /approve 2").await;
    cli.expect("✅ #1 release api@master · requested by alice · succeeded")
        .await;
    cli.send("/logs api").await;
    cli.send("/history api").await;
    let (code, out, err) = cli.finish().await;
    assert_eq!(code, 0);
    assert!(err.contains("TRACE"), "trace logging was on");

    let token_secret = TOKEN.split_once(':').unwrap().1;
    let mut files = vec![
        ("stdout (the chat transcript)", out.clone()),
        ("stderr (the logs)", err.clone()),
    ];
    for suffix in ["", "-wal"] {
        let path = format!("{db_text}{suffix}");
        if let Ok(bytes) = std::fs::read(&path) {
            files.push((
                if suffix.is_empty() {
                    "the state file"
                } else {
                    "its WAL"
                },
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    for (what, text) in &files {
        for secret in [TOKEN, token_secret, DISCORD, "GdiscordBotTokenSecretPart"] {
            assert!(!text.contains(secret), "a token is in {what}");
        }
    }
    // Every secret the application printed is redacted in what people see.
    assert!(out.contains("INFO ready"), "the logs were posted:\n{out}");
    for secret in hidden {
        assert!(!out.contains(secret), "{secret:?} was posted:\n{out}");
    }
    for shown in [
        "password=[redacted]",
        "Authorization: Bearer [redacted]",
        "postgres://admin:[redacted]@db:5432/app",
        "[redacted private key]",
        "RANCHER_TOKEN=[redacted]",
    ] {
        assert!(out.contains(shown), "missing {shown:?}:\n{out}");
    }
    let stats = sim.stats();
    assert_eq!(stats.total_runs(), 1);
    assert_eq!(stats.total_upgrades(), 2);
}
