//! The bot's HTTP surface under abuse: connections that stall, headers too big, more
//! connections than the limit, `/readyz` telling no error text, a flood of webhook
//! calls, and the webhook secret's making and rotation.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use releasebot::adapters::memory::MemoryChat;
use releasebot::clock::Clock;
use releasebot::http::{Limits, Options, PreviousSecret};
use releasebot::job::JobState;
use releasebot::secret::Secret;
use releasebot::sim::Scenario;
use releasebot::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::helpers::{TestBot, WEBHOOK_SECRET, demo_config, spawn_bot_serving, spawn_bot_with};

/// Limits short enough for a test to watch them act within a second.
fn short_limits() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(400),
        request_timeout: Duration::from_millis(800),
        max_connections: 64,
        max_header_bytes: 16 * 1024,
        max_headers: 64,
    }
}

/// The demo bot with its HTTP endpoints serving within `http`.
async fn bot_serving(http: Options, webhook: bool) -> TestBot {
    spawn_bot_serving(
        Scenario::demo(),
        demo_config(|_| {}),
        Arc::new(Store::open_in_memory().await.unwrap()),
        webhook,
        Clock::new(),
        MemoryChat::new(),
        http,
    )
    .await
}

/// Sends `request` on a new connection and reads until the server closes it or
/// `within` passes: what came back, and whether it closed.
async fn exchange(addr: SocketAddr, request: &[u8], within: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may close before reading it all (a refused connection).
    let _ = stream.write_all(request).await;
    read_until_closed(&mut stream, within).await
}

async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into(), false),
            Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&got).into(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// `GET path` on a new connection that closes after the answer: its status line.
async fn status_of(addr: SocketAddr, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n");
    let (answer, _) = exchange(addr, request.as_bytes(), Duration::from_secs(5)).await;
    answer.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn stalled_connections_are_closed_within_the_header_timeout_while_healthz_answers() {
    let limits = short_limits();
    let bot = bot_serving(
        Options {
            limits,
            ..Options::default()
        },
        false,
    )
    .await;
    let addr = bot.http_addr;
    // 300 connections (more than the limit of 64) each send half a header and stop.
    let mut stalled = Vec::new();
    for _ in 0..300 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nX-Half: abc")
            .await
            .unwrap();
        let slack = Duration::from_millis(600);
        stalled.push(tokio::spawn(async move {
            let opened = Instant::now();
            let (_, closed) = read_until_closed(&mut stream, limits.header_timeout + slack).await;
            (closed, opened.elapsed())
        }));
    }
    // Meanwhile the probe keeps being answered, on a new connection each time.
    let probing = Instant::now();
    let mut probes = 0;
    while probing.elapsed() < limits.header_timeout + Duration::from_millis(300) {
        assert_eq!(
            status_of(addr, "/healthz").await,
            "HTTP/1.1 200 OK",
            "probe {probes}"
        );
        probes += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(probes >= 10, "{probes} probes");
    for (n, task) in stalled.into_iter().enumerate() {
        let (closed, after) = task.await.unwrap();
        assert!(closed, "stalled connection {n} still open after {after:?}");
    }
    let metrics = bot.engine.metrics().render(&bot.engine.gauges());
    for want in [
        "releasebot_http_cut_total{limit=\"evicted\"}",
        "releasebot_http_cut_total{limit=\"header_timeout\"}",
    ] {
        assert!(metrics.contains(want), "missing {want}\n{metrics}");
    }
}

#[tokio::test]
async fn a_header_over_the_limit_is_refused() {
    let bot = bot_serving(
        Options {
            limits: short_limits(),
            ..Options::default()
        },
        false,
    )
    .await;
    let request = |extra: String| {
        format!("GET /healthz HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n{extra}\r\n")
    };
    let within = Duration::from_secs(5);
    let first_line = |answer: String| answer.lines().next().unwrap_or_default().to_string();
    // 10 KiB of header is taken; 20 KiB, or 100 fields, is not.
    let fits = request(format!("X-Pad: {}\r\n", "a".repeat(10 * 1024)));
    let (answer, _) = exchange(bot.http_addr, fits.as_bytes(), within).await;
    assert_eq!(first_line(answer), "HTTP/1.1 200 OK");
    let big = request(format!("X-Pad: {}\r\n", "a".repeat(20 * 1024)));
    let (answer, closed) = exchange(bot.http_addr, big.as_bytes(), within).await;
    assert_eq!(
        first_line(answer),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert!(closed);
    let many = request((0..100).map(|i| format!("X-F{i}: v\r\n")).collect());
    let (answer, _) = exchange(bot.http_addr, many.as_bytes(), within).await;
    assert_eq!(
        first_line(answer),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
}

#[tokio::test]
async fn when_every_connection_is_in_a_request_a_new_one_is_closed_at_once() {
    let limits = Limits {
        max_connections: 4,
        ..short_limits()
    };
    let bot = bot_serving(
        Options {
            limits,
            ..Options::default()
        },
        true,
    )
    .await;
    let addr = bot.http_addr;
    // Four webhook calls whose bodies never finish hold every connection in a request:
    // the server asks for each body (100 Continue) once the handler reads it.
    let slow = format!(
        "POST /webhook/{WEBHOOK_SECRET} HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n"
    );
    let mut busy = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(slow.as_bytes()).await.unwrap();
        let mut continued = Vec::new();
        while !continued.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte));
            assert_eq!(read.await.unwrap().unwrap(), 1, "no 100 Continue");
            continued.push(byte[0]);
        }
        assert!(continued.starts_with(b"HTTP/1.1 100 Continue"));
        stream.write_all(b"{").await.unwrap();
        busy.push(stream);
    }
    // A fifth, the probe, is closed at once, without an answer: not queued.
    let asked = Instant::now();
    let (answer, closed) = exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n",
        Duration::from_millis(400),
    )
    .await;
    assert!(closed && answer.is_empty(), "{answer:?} closed: {closed}");
    assert!(asked.elapsed() < Duration::from_millis(400));
    // The request timeout ends the slow calls, and the probe gets in again.
    for mut stream in busy {
        let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        assert!(closed);
    }
    assert_eq!(status_of(addr, "/healthz").await, "HTTP/1.1 200 OK");
    let metrics = bot.engine.metrics().render(&bot.engine.gauges());
    for want in [
        "releasebot_http_cut_total{limit=\"connection_limit\"} 1",
        "releasebot_http_cut_total{limit=\"request_timeout\"} 4",
    ] {
        assert!(metrics.contains(want), "missing {want}\n{metrics}");
    }
}

#[tokio::test(start_paused = true)]
async fn readyz_names_what_fails_and_never_why() {
    let bot = bot_serving(Options::default(), false).await;
    let ready = reqwest::get(format!("http://{}/readyz", bot.http_addr))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(ready.text().await.unwrap(), "chat ok\npaas ok\nstore ok\n");
    bot.sim.set_down(true);
    bot.engine.set_chat_connected(false);
    bot.engine.store().close();
    // Past the cached PaaS check.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let failing = reqwest::get(format!("http://{}/readyz", bot.http_addr))
        .await
        .unwrap();
    assert_eq!(failing.status().as_u16(), 503);
    assert_eq!(
        failing.text().await.unwrap(),
        "chat failing\npaas failing\nstore failing\n"
    );
}

#[tokio::test(start_paused = true)]
async fn the_previous_webhook_secret_is_taken_until_it_expires() {
    let previous = "p".repeat(64);
    let bot = bot_serving(
        Options {
            previous_secret: Some(PreviousSecret {
                secret: Secret::new(previous.clone()),
                until: Instant::now() + Duration::from_secs(60),
            }),
            ..Options::default()
        },
        true,
    )
    .await;
    let client = reqwest::Client::new();
    for (secret, want) in [
        (WEBHOOK_SECRET.to_string(), 202),
        (previous.clone(), 202),
        (previous[..63].to_string(), 404),
        (format!("{previous}p"), 404),
    ] {
        assert_eq!(
            post(&client, &bot, &format!("/webhook/{secret}"), "{}").await,
            want,
            "{secret}"
        );
    }
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(
        post(&client, &bot, &format!("/webhook/{previous}"), "{}").await,
        404,
        "expired"
    );
    assert_eq!(
        post(&client, &bot, &format!("/webhook/{WEBHOOK_SECRET}"), "{}").await,
        202
    );
}

/// `get_execution` requests the simulator has answered so far.
fn execution_polls(bot: &TestBot) -> u64 {
    bot.sim
        .stats()
        .by_route
        .get("get_execution")
        .copied()
        .unwrap_or(0)
}

async fn post(client: &reqwest::Client, bot: &TestBot, path: &str, body: &str) -> u16 {
    client
        .post(format!("http://{}{path}", bot.http_addr))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(start_paused = true)]
async fn a_webhook_flood_costs_at_most_one_poll_per_floor_per_build() {
    // Polls every 2 s: the floor a webhook call may bring a poll to is 1 s after the
    // last one.
    let config = demo_config(|c| {
        c.paas.subscribe = false;
        c.jobs.poll_interval = Duration::from_secs(2);
    });
    let bot = spawn_bot_with(
        Scenario::demo(),
        config,
        Arc::new(Store::open_in_memory().await.unwrap()),
        true,
    )
    .await;
    let jobs = [
        bot.start("alice", "/build web").await,
        bot.start("alice", "/build api").await,
    ];
    let mut executions = Vec::new();
    for job in jobs {
        let r = bot
            .wait_for(job, "building", |r| r.state == JobState::Building)
            .await;
        executions.push(r.build.unwrap().execution.unwrap());
    }
    let client = reqwest::Client::new();
    let webhook = format!("/webhook/{WEBHOOK_SECRET}");
    let before = execution_polls(&bot);
    let start = tokio::time::Instant::now();
    // 100 calls in 5 s (within the rate limit): half name a build, half none.
    let mut accepted = 0;
    for i in 0..100 {
        let body = match i % 2 {
            0 => format!(r#"{{"id":"{}"}}"#, executions[i / 2 % 2]),
            _ => "{}".to_string(),
        };
        if post(&client, &bot, &webhook, &body).await == 202 {
            accepted += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let window = start.elapsed();
    let polls = execution_polls(&bot) - before;
    assert!(accepted >= 90, "{accepted} calls accepted");
    for job in jobs {
        assert_eq!(bot.record(job).state, JobState::Building, "still building");
    }
    // At most one poll per floor per build, and one more for where the window began.
    let floor = Duration::from_secs(1);
    let bound = (window.as_secs_f64() / floor.as_secs_f64()).floor() as u64 + 1;
    assert!(
        polls <= bound * 2,
        "{polls} polls of 2 builds in {window:?} for {accepted} webhook calls (at most {bound} each)"
    );
    // The calls did bring polls forward: unhurried, 2 s apart, there would be 2 or 3.
    assert!(
        polls >= 4 * 2,
        "{polls} polls of 2 builds in {window:?}: the calls did not hurry them"
    );
}

#[tokio::test]
async fn in_the_terminal_the_endpoints_listen_on_this_machine_only() {
    assert_eq!(releasebot::app::default_http_addr(true), "0.0.0.0:8080");
    let dir = crate::cli::TempDir::new("bind");
    // Empty is unset: the default applies.
    let cli = crate::cli::spawn_cli(&[], &[("RELEASEBOT_HTTP_ADDR", "")], dir);
    let (code, out, err) = cli.finish().await;
    assert_eq!(code, 0, "{err}");
    // Listening, or noting the port is taken: either way, on the loopback address.
    let said = format!("{out}{err}");
    assert!(said.contains("127.0.0.1:8080"), "{said}");
    assert!(!said.contains("0.0.0.0"), "{said}");
}

/// Waits (at most 30 s) until the running binary says where its HTTP endpoints listen.
async fn http_addr_of(cli: &crate::cli::Cli) -> SocketAddr {
    for _ in 0..600 {
        let err = cli.stderr();
        let said = err.split("HTTP on ").nth(1).map(|rest| {
            let addr: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect();
            addr.trim_end_matches('.').to_string()
        });
        if let Some(addr) = said.and_then(|a| a.parse().ok()) {
            return addr;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never said where HTTP listens:\n{}", cli.stderr());
}

/// What the state file keeps under `key`.
async fn kept(db: &std::path::Path, key: &str) -> String {
    let store = Store::open(db).await.unwrap();
    store.meta(key, String::new).await.unwrap()
}

#[tokio::test]
async fn an_earlier_secret_is_replaced_by_a_random_one_and_accepted_for_a_while() {
    let keep = crate::cli::TempDir::new("secret-db");
    let db = keep.0.join("releasebot.db");
    // Made by an earlier releasebot: 40 letters and digits.
    let legacy = "Q7xk2Lm9Pz4Rt8Vw1Ny6Bc3Hd5Jf0Gs2Ka7Ue9Wi";
    Store::open(&db)
        .await
        .unwrap()
        .meta("webhook_secret", || legacy.into())
        .await
        .unwrap();
    let config = keep.write("releasebot.toml", &crate::cli::fast_config());
    let env = [
        ("RELEASEBOT_DB", db.to_str().unwrap()),
        ("RELEASEBOT_CONFIG", config.to_str().unwrap()),
        // Where nobody listens: the simulator's calls fail (and say so at debug).
        ("RELEASEBOT_PUBLIC_URL", "http://127.0.0.1:9"),
        ("RUST_LOG", "trace"),
    ];
    let mut cli = crate::cli::spawn_cli(&[], &env, crate::cli::TempDir::new("secret"));
    let addr = http_addr_of(&cli).await;
    let client = reqwest::Client::new();
    let call = |secret: String| {
        let client = client.clone();
        async move {
            client
                .post(format!("http://{addr}/webhook/{secret}"))
                .body("{}")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(call(legacy.to_string()).await, 202, "the one before");
    assert_eq!(call("x".repeat(64)).await, 404);
    // A build gives the PaaS the webhook URL, with the new secret in it.
    cli.send("/build web").await;
    let (code, out, err) = cli.finish().await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("succeeded"), "{out}");
    let current = kept(&db, "webhook_secret").await;
    assert_eq!(current.len(), 64, "{current}");
    assert!(current.bytes().all(|b| b.is_ascii_hexdigit()), "{current}");
    let previous = kept(&db, "webhook_secret_previous").await;
    assert!(previous.ends_with(&format!(" {legacy}")), "{previous}");
    assert!(err.contains("the webhook secret changed"), "{err}");
    for secret in [current.as_str(), legacy] {
        if let Some(line) = out.lines().chain(err.lines()).find(|l| l.contains(secret)) {
            panic!("a secret was shown: {line}");
        }
    }
}

#[tokio::test]
async fn a_pinned_secret_replaces_the_kept_one_and_a_weak_one_is_refused() {
    let keep = crate::cli::TempDir::new("pinned-db");
    let db = keep.0.join("releasebot.db");
    let made = {
        let store = Store::open(&db).await.unwrap();
        releasebot::app::webhook::settle(&store, None, 0, Duration::from_secs(3600))
            .await
            .unwrap()
            .current
    };
    let pinned = "0123456789abcdef".repeat(4);
    let public = ("RELEASEBOT_PUBLIC_URL", "https://bot.example.com");
    let state = ("RELEASEBOT_DB", db.to_str().unwrap());
    let env = [public, state, ("RELEASEBOT_WEBHOOK_SECRET", &pinned)];
    let cli = crate::cli::spawn_cli(&[], &env, crate::cli::TempDir::new("pinned"));
    let (code, _, err) = cli.finish().await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(kept(&db, "webhook_secret").await, pinned);
    assert!(
        kept(&db, "webhook_secret_previous")
            .await
            .ends_with(made.expose())
    );
    let dir = crate::cli::TempDir::new("weak");
    let cli = crate::cli::spawn_cli(
        &[],
        &[public, ("RELEASEBOT_WEBHOOK_SECRET", "hunter2")],
        dir,
    );
    let (code, _, err) = cli.finish().await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("RELEASEBOT_WEBHOOK_SECRET must be at least 43"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}
