//! Connection strings never show their passwords. The real binary, given a PostgreSQL
//! URL whose password holds `/`, `?`, `@`, `#`, `:` or `%` (written as it is or
//! percent-encoded, or given in `RELEASEBOT_DB_PASSWORD`), prints it nowhere at trace
//! level: not in `releasebot check`, not in the error it stops with, not in a run
//! against a real database, not in the chat reply that says the history cannot be read.
//! A plain `http://` PaaS URL to another machine is refused until allowed.

use futures_util::future::join_all;
use releasebot::sim::Scenario;

use crate::cli::{TempDir, fast_config, spawn_cli};
use crate::ha::TempPg;
use crate::helpers::{TOKEN, spawn_sim};

/// In every test password, on both sides of its special character: no piece of a
/// password, however the URL were cut, can appear without it.
const MARK: &str = "Zq9w";

/// A port on 127.0.0.1 nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Passwords holding each character that ends a part of a URL, and how each is given:
/// (`RELEASEBOT_DB` without the host part, `RELEASEBOT_DB_PASSWORD`).
fn givens() -> Vec<(String, Option<String>)> {
    let mut givens: Vec<(String, Option<String>)> = ['/', '?', '@', '#', ':', '%']
        .iter()
        .map(|c| (format!("postgres://bot:{MARK}{c}{MARK}"), None))
        .collect();
    // Percent-encoded, as a careful operator writes it.
    givens.push((format!("postgres://bot:{MARK}%2F%3F%40%23{MARK}"), None));
    // From its own variable, the URL holding none.
    givens.push(("postgres://bot".into(), Some(format!("{MARK}/?@#{MARK}"))));
    givens
}

/// Asserts no piece of a test password is in `text`.
fn no_password(what: &str, given: &str, text: &str) {
    assert!(
        !text.contains(MARK),
        "a password ({given}) shows in {what}:\n{text}"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_named_without_its_password() {
    let port = closed_port();
    let runs = givens().into_iter().map(|(url, variable)| async move {
        let db = format!("{url}@127.0.0.1:{port}/rb");
        let mut env = vec![
            ("RELEASEBOT_DB".to_string(), db.clone()),
            ("RUST_LOG".to_string(), "trace".to_string()),
        ];
        if let Some(v) = &variable {
            env.push(("RELEASEBOT_DB_PASSWORD".into(), v.clone()));
        }
        let shown = format!("cannot reach the database postgres://bot@127.0.0.1:{port}/rb (");

        let check = spawn_cli(&["check"], &env, TempDir::new("conn-check"));
        let (code, out, err) = check.finish().await;
        no_password("releasebot check's table", &db, &out);
        no_password("releasebot check's log", &db, &err);
        assert_eq!(code, 1, "{out}{err}");
        let store_row = out.lines().find(|l| l.contains(" store ")).unwrap_or("");
        assert!(store_row.starts_with("FAIL"), "{out}");
        assert!(store_row.contains(&shown), "{out}");

        let run = spawn_cli(&["shell"], &env, TempDir::new("conn-run"));
        let (code, out, err) = run.finish().await;
        no_password("the start's output", &db, &out);
        no_password("the start's log", &db, &err);
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains(&format!("releasebot: {shown}")), "{err}");
    });
    join_all(runs).await;
}

#[tokio::test]
async fn two_different_passwords_are_refused_naming_neither() {
    let env = [
        (
            "RELEASEBOT_DB",
            format!("postgres://bot:{MARK}-url@127.0.0.1:{}/rb", closed_port()),
        ),
        ("RELEASEBOT_DB_PASSWORD", format!("{MARK}-variable")),
        ("RUST_LOG", "trace".into()),
    ];
    let (code, out, err) = spawn_cli(&["shell"], &env, TempDir::new("conn-two"))
        .finish()
        .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("RELEASEBOT_DB holds a password and RELEASEBOT_DB_PASSWORD another one"),
        "{err}"
    );
    no_password("the start's log", "two passwords", &format!("{out}{err}"));
}

/// The URL of `pg` with `password` written into it as it is.
fn with_password(pg: &TempPg, password: &str) -> String {
    let (scheme, rest) = pg.url.split_once("://").expect("a URL");
    let (userinfo, hosts) = rest.rsplit_once('@').expect("the test URL names its user");
    let user = userinfo.split(':').next().unwrap_or(userinfo);
    format!("{scheme}://{user}:{password}@{hosts}")
}

#[tokio::test]
async fn a_run_on_a_real_database_never_shows_its_password() {
    let Some(pg) = TempPg::new("a_run_on_a_real_database_never_shows_its_password").await else {
        return;
    };
    // The test server trusts its clients: the password is sent and ignored.
    // No `@`: a URL the driver could always read, so what is tested is how it is shown.
    let db = with_password(&pg, &format!("{MARK}/?#:{MARK}"));
    let shown = format!("postgres://postgres@127.0.0.1:5432/{}", pg.name);
    let dir = TempDir::new("conn-real");
    let config = dir.write("releasebot.toml", &fast_config());
    let env = [
        ("RELEASEBOT_DB", db.as_str()),
        ("RELEASEBOT_CONFIG", config.to_str().unwrap()),
        ("RELEASEBOT_REPLICA", "a"),
        ("RUST_LOG", "trace"),
    ];
    let mut cli = spawn_cli(&["shell"], &env, TempDir::new("conn-real-run"));
    cli.send("/build web").await;
    cli.expect("#1 build web@master").await;
    cli.send("/history web").await;
    cli.expect("Latest for web").await;
    // The database goes away under the running bot: the reply says the history cannot
    // be read, and why, naming the database.
    crate::ha::run_sql(
        &pg.url.replace(&format!("/{}", pg.name), "/postgres"),
        &format!("DROP DATABASE {} WITH (FORCE)", pg.name),
    )
    .await;
    cli.send("/history web").await;
    cli.expect("The history cannot be read right now").await;
    let (_, out, err) = cli.finish().await;
    no_password("the chat transcript", &db, &out);
    no_password("the log", &db, &err);
    // How much is logged depends on how fast the machine is; that it was logged at
    // trace level does not.
    assert!(err.contains("TRACE"), "trace logging was on:\n{err}");
    assert!(
        err.contains(&format!("stands by for the lease on {shown}")),
        "{err}"
    );
    let unreadable = out
        .lines()
        .find(|l| l.contains("The history cannot be read right now"))
        .unwrap_or("");
    assert!(unreadable.contains(&shown), "{out}");
}

#[tokio::test]
async fn a_plain_http_paas_is_refused_until_allowed() {
    let sim = spawn_sim(Scenario::demo()).await;
    let port = sim.url().rsplit(':').next().unwrap().trim_end_matches('/');
    // 0.0.0.0 reaches this machine, yet it is not a loopback address: it stands for any
    // host the token would cross the network to.
    let remote = format!("http://0.0.0.0:{port}");
    let run = |config: String, args: &'static [&'static str]| {
        let dir = TempDir::new("conn-http");
        let config = dir.write("releasebot.toml", &config).display().to_string();
        let env = [
            ("RELEASEBOT_CONFIG", config),
            ("RANCHER_URL", remote.clone()),
            ("RANCHER_TOKEN", TOKEN.to_string()),
        ];
        spawn_cli(args, &env, dir).finish()
    };
    let (code, out, err) = run(fast_config(), &["check"]).await;
    assert_eq!(code, 1, "{out}{err}");
    let paas_row = out.lines().find(|l| l.contains(" paas ")).unwrap_or("");
    assert!(paas_row.starts_with("FAIL"), "{out}");
    let refusal = format!(
        "the PaaS URL {remote} is plain http, which would send the API token unencrypted; use https://, or allow it with [paas] allow_plain_http = true in the configuration file"
    );
    assert!(paas_row.contains(&refusal), "{out}");
    let (code, out, err) = run(fast_config(), &["shell"]).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains(&refusal), "{err}");
    assert_eq!(sim.stats().requests, 0, "the token was never sent");

    if cfg!(target_os = "linux") {
        let allowed = fast_config().replacen("[paas]\n", "[paas]\nallow_plain_http = true\n", 1);
        assert!(allowed.contains("allow_plain_http"));
        let (code, out, err) = run(allowed, &["check"]).await;
        let paas_row = out.lines().find(|l| l.contains(" paas ")).unwrap_or("");
        assert!(paas_row.starts_with("ok"), "{out}{err}");
        assert_eq!(code, 0, "{out}{err}");
    }
}
