//! Two real `releasebot` processes sharing one PostgreSQL database, the simulator and
//! the fake Discord: one leads, the other stands by and takes over when the leader is
//! killed (during a build, during an approval, while an upgrade's answer is on its way),
//! a leader stopped and resumed after losing the lease changes nothing, and a rolling
//! restart loses no command.
//!
//! These need PostgreSQL: `RELEASEBOT_TEST_POSTGRES_URL` (which `.ci/run` always sets);
//! without it they say they were skipped.

use std::time::Duration;

use serde_json::json;

use releasebot::sim::{Fault, InjectedFault, Route, Scenario, SimHandle, TcpProxy};
use releasebot::store::Store;

use crate::cli::{Cli, TempDir, fast_config, spawn_cli};
use crate::fake_discord::{CHANNEL, FakeDiscord, GUILD, Posted, TOKEN};
use crate::helpers::{TOKEN as PAAS_TOKEN, spawn_sim};

const WEB: &str = "p-5tfq9:project-deploy";

/// A fresh database on the test server, dropped at the end; `None` (and a line saying
/// the test was skipped) without `RELEASEBOT_TEST_POSTGRES_URL`.
pub struct TempPg {
    admin: String,
    pub name: String,
    pub url: String,
}

impl TempPg {
    pub async fn new(test: &str) -> Option<TempPg> {
        let Ok(admin) = std::env::var("RELEASEBOT_TEST_POSTGRES_URL") else {
            println!("skipped {test}: set RELEASEBOT_TEST_POSTGRES_URL to run it");
            return None;
        };
        let name = format!("releasebot_ha_{}", fastrand::u64(..) % 1_000_000_000);
        run_sql(&admin, &format!("CREATE DATABASE {name}")).await;
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("{admin} names no database"),
        };
        Some(TempPg { admin, name, url })
    }
}

pub async fn run_sql(url: &str, sql: &str) {
    use sqlx::{ConnectOptions, Connection, Executor};
    let options: sqlx::postgres::PgConnectOptions = url.parse().expect("a test database URL");
    let mut c = options
        .connect()
        .await
        .expect("the test database server answers");
    c.execute(sqlx::raw_sql(sql))
        .await
        .expect("the statement runs");
    let _ = c.close().await;
}

impl Drop for TempPg {
    fn drop(&mut self) {
        let (admin, sql) = (
            self.admin.clone(),
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(run_sql(&admin, &sql));
        })
        .join();
    }
}

/// The world the replicas share.
struct World {
    pg: TempPg,
    fake: FakeDiscord,
    sim: SimHandle,
    /// Between the replicas and the database, when the test cuts it.
    link: Option<TcpProxy>,
}

impl World {
    /// `user` types the slash command `name` with `options`; it is answered.
    async fn ask(&self, user: &str, name: &str, options: &[(&str, serde_json::Value)]) {
        let token = self.fake.command(user, name, options);
        self.fake.answer(&token).await;
    }

    async fn new(test: &str) -> Option<World> {
        let pg = TempPg::new(test).await?;
        Some(World {
            pg,
            fake: FakeDiscord::start().await,
            sim: spawn_sim(Scenario::demo()).await,
            link: None,
        })
    }

    /// A world whose replicas reach the database through a link the test can cut.
    async fn with_link(test: &str) -> Option<World> {
        let mut w = World::new(test).await?;
        let server: sqlx::postgres::PgConnectOptions = w.pg.url.parse().expect("a URL");
        let upstream = tokio::net::lookup_host((server.get_host(), server.get_port()))
            .await
            .expect("the database's address")
            .next()
            .expect("an address");
        w.link = Some(
            TcpProxy::start(upstream, Duration::ZERO)
                .await
                .expect("a proxy"),
        );
        Some(w)
    }

    /// The database as the replicas reach it.
    fn db_url(&self) -> String {
        let Some(link) = &self.link else {
            return self.pg.url.clone();
        };
        let server: sqlx::postgres::PgConnectOptions = self.pg.url.parse().expect("a URL");
        format!(
            "postgres://{}@{}/{}",
            server.get_username(),
            link.addr(),
            self.pg.name
        )
    }

    fn link(&self) -> &TcpProxy {
        self.link.as_ref().expect("a world with a link")
    }

    /// A replica named `name`, on Discord, the simulator and the shared database, with
    /// a lease of one second.
    fn replica(&self, name: &str) -> Cli {
        self.replica_with(name, &fast_config())
    }

    /// A replica as [`World::replica`], with the configuration `config` (plus the lease).
    fn replica_with(&self, name: &str, config: &str) -> Cli {
        let dir = TempDir::new(&format!("ha-{name}"));
        let config = config.to_string() + "\n[ha]\nlease_ttl = \"1s\"\n";
        let config = dir.write("releasebot.toml", &config).display().to_string();
        let proxy = self
            .fake
            .settings()
            .proxy
            .expect("the plain fake is a proxy");
        spawn_cli(
            &[],
            &[
                ("RELEASEBOT_CONFIG", config.as_str()),
                ("RELEASEBOT_DB", &self.db_url()),
                ("RELEASEBOT_REPLICA", name),
                ("RANCHER_URL", self.sim.url()),
                ("RANCHER_TOKEN", PAAS_TOKEN),
                ("DISCORD_TOKEN", TOKEN),
                ("DISCORD_GUILD_ID", &GUILD.to_string()),
                ("DISCORD_PROXY_URL", &proxy),
            ],
            dir,
        )
    }

    /// Starts replica `a`, which leads, then `b`, which stands by.
    async fn pair(&self) -> (Cli, Cli) {
        self.pair_with(&fast_config()).await
    }

    /// [`World::pair`], both replicas with the configuration `config`.
    async fn pair_with(&self, config: &str) -> (Cli, Cli) {
        let a = self.replica_with("a", config);
        said(&a, "replica a-").await;
        said(&a, "leads (term").await;
        self.fake.wait_ready().await;
        let b = self.replica_with("b", config);
        said(&b, "stands by").await;
        (a, b)
    }

    /// Job `#n`'s thread (its summary message's id), once it is open.
    async fn thread(&self, n: u64) -> u64 {
        let prefix = format!("#{n} ");
        self.fake
            .wait_for("post the summary", |f| {
                f.messages_in(CHANNEL)
                    .into_iter()
                    .find(|m| {
                        m.versions[0]
                            .split_once(' ')
                            .is_some_and(|(_, rest)| rest.starts_with(&prefix))
                    })
                    .map(|m| m.id)
            })
            .await
    }

    /// The approval request in a thread, once voting is open.
    async fn approval(&self, thread: u64) -> Posted {
        let approval = self
            .fake
            .wait_for("ask for approval", |f| {
                f.messages_in(thread)
                    .into_iter()
                    .find(|m| m.content.starts_with("✋ Approval needed"))
            })
            .await;
        self.fake
            .wait_for("offer the votes", |f| {
                (f.reactions(approval.id, "❌")
                    .contains(&crate::fake_discord::BOT))
                .then_some(())
            })
            .await;
        approval
    }

    /// Waits until the progress message of the job in `thread` says `what`.
    async fn progress_says(&self, thread: u64, what: &str) -> String {
        self.fake
            .wait_for(what, |f| {
                let progress = f.messages_in(thread).into_iter().next()?;
                progress.content.contains(what).then_some(progress.content)
            })
            .await
    }

    /// Waits until the new leader's gateway session is up (its `n`th IDENTIFY): Discord
    /// delivers commands only to a connected bot.
    async fn connected(&self, n: u32) {
        self.fake
            .wait_for("connect to the gateway", |f| {
                (f.gateway_counts().1 >= n && f.connected()).then_some(())
            })
            .await;
    }

    fn advance(&self, seconds: u64) {
        self.sim.simulator().advance(Duration::from_secs(seconds));
    }

    async fn until(&self, what: &str, check: impl Fn(&SimHandle) -> bool) {
        self.fake
            .wait_for(what, |_| check(&self.sim).then_some(()))
            .await;
    }
}

/// Waits until a replica's stderr says `needle`.
async fn said(cli: &Cli, needle: &str) {
    for _ in 0..600 {
        if cli.stderr().contains(needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never said {needle:?}:\n{}", cli.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_during_a_build_is_taken_over_and_the_release_runs_once() {
    let Some(w) = World::new("a_leader_killed_during_a_build").await else {
        return;
    };
    let (a, b) = w.pair().await;
    w.ask("alice", "release", &[("project", json!("web"))])
        .await;
    let thread = w.thread(1).await;
    w.until("start the build", |s| s.stats().total_runs() == 1)
        .await;
    a.kill().await;
    said(&b, "replica b-").await;
    said(&b, "leads (term 2)").await;
    w.advance(200);
    let approval = w.approval(thread).await;
    w.fake.react("bob", approval.id, "✅", true);
    w.until("upgrade the app", |s| s.stats().total_upgrades() == 1)
        .await;
    w.advance(120);
    let done = w.progress_says(thread, "succeeded").await;
    assert!(done.contains("taken over by replica b-"), "{done}");
    let stats = w.sim.stats();
    assert_eq!(
        (stats.total_runs(), stats.total_upgrades()),
        (1, 1),
        "{stats:?}"
    );
    b.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_given_while_the_leader_is_dead_counts_with_the_new_one() {
    let Some(w) = World::new("a_vote_given_while_the_leader_is_dead").await else {
        return;
    };
    let (a, b) = w.pair().await;
    w.ask(
        "alice",
        "deploy",
        &[("app", json!("web")), ("version", json!("v2.0.0"))],
    )
    .await;
    let thread = w.thread(1).await;
    let approval = w.approval(thread).await;
    a.kill().await;
    w.fake.react_offline("bob", approval.id, "✅", true).await;
    said(&b, "leads (term 2)").await;
    w.until("upgrade the app", |s| s.stats().total_upgrades() == 1)
        .await;
    w.advance(120);
    let done = w.progress_says(thread, "succeeded").await;
    assert!(done.contains("✅ <@2>"), "bob's vote counted: {done}");
    assert_eq!(w.sim.stats().total_upgrades(), 1);
    b.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_while_its_upgrade_is_answered_upgrades_at_most_once() {
    let Some(w) = World::new("a_leader_killed_while_its_upgrade").await else {
        return;
    };
    let (a, b) = w.pair().await;
    // The upgrade is carried out, and its answer held back: the leader recorded its
    // intent and sent it, and dies before it learns how it went.
    w.sim.inject(InjectedFault {
        route: Some(Route::Upgrade),
        fault: Fault::Slow { ms: 60_000 },
        times: 1,
    });
    w.ask(
        "alice",
        "deploy",
        &[("app", json!("api")), ("version", json!("v3.1.4"))],
    )
    .await;
    let thread = w.thread(1).await;
    w.until("carry the upgrade out", |s| {
        s.rollouts("p-5tfq9:api-deploy").len() == 1
    })
    .await;
    a.kill().await;
    said(&b, "leads (term 2)").await;
    w.advance(120);
    let done = w.progress_says(thread, "succeeded").await;
    assert!(done.contains("taken over by replica b-"), "{done}");
    assert_eq!(w.sim.rollouts("p-5tfq9:api-deploy").len(), 1, "one upgrade");
    assert!(w.sim.rollouts(WEB).is_empty());
    b.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_paused_past_its_lease_changes_nothing_when_it_wakes() {
    let Some(w) = World::new("a_leader_paused_past_its_lease").await else {
        return;
    };
    // A request held by the PaaS is not given up while the leader sleeps: when it wakes,
    // the answer is there and its job is due to upgrade at once.
    let config = fast_config().replace("[paas]\n", "[paas]\nrequest_timeout = \"60s\"\n");
    let (a, b) = w.pair_with(&config).await;
    // #1 builds; #2 waits for a vote.
    w.ask("alice", "build", &[("project", json!("api"))]).await;
    w.ask(
        "alice",
        "deploy",
        &[("app", json!("web")), ("version", json!("v2.0.0"))],
    )
    .await;
    let build = w.thread(1).await;
    let pending = w.thread(2).await;
    w.approval(pending).await;
    w.until("start the build", |s| s.stats().total_runs() == 1)
        .await;
    // #3 needs no approval: it reads what api runs and upgrades it from that reading.
    // The read is answered two seconds late, and the leader is paused while it is on
    // its way: it wakes with its answer in hand and the upgrade as its next move.
    w.sim.inject(InjectedFault {
        route: Some(Route::GetApp),
        fault: Fault::Slow { ms: 2_000 },
        times: 1,
    });
    w.ask(
        "alice",
        "deploy",
        &[("app", json!("api")), ("version", json!("v3.1.4"))],
    )
    .await;
    let upgrading = w.thread(3).await;
    w.until("read api before upgrading it", |s| s.stats().faults == 1)
        .await;
    a.signal("STOP");
    said(&b, "leads (term 2)").await;
    // While a sleeps, b follows the build to its end and carries out #3's upgrade.
    w.until("upgrade api", |s| s.stats().total_upgrades() == 1)
        .await;
    w.advance(200);
    w.progress_says(build, "succeeded").await;
    w.progress_says(upgrading, "succeeded").await;
    // b is idle now: #2 waits for a vote. Whatever happens from here is a's doing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let calls = w.fake.calls().len();
    let changes = |s: &releasebot::sim::SimStats| (s.total_runs(), s.total_upgrades(), s.stops);
    let before = changes(&w.sim.stats());
    assert_eq!(before, (1, 1, 0), "b built once and upgraded once");
    let store = Store::open(std::path::Path::new(&w.pg.url))
        .await
        .expect("the database opens");
    let recorded = rows(&store).await;
    a.signal("CONT");
    let (code, _, err) = a.finish().await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("lost the lease"), "{err}");
    assert_eq!(
        changes(&w.sim.stats()),
        before,
        "the deposed leader ran, upgraded or stopped something on the PaaS"
    );
    let writes: Vec<_> = w.fake.calls()[calls..]
        .iter()
        .filter(|c| c.method != "GET")
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert!(
        writes.is_empty(),
        "the deposed leader wrote to Discord: {writes:?}"
    );
    let rewritten: Vec<String> = rows(&store)
        .await
        .iter()
        .zip(&recorded)
        .filter(|(now, then)| now != then)
        .map(|(now, then)| format!("{}: {:?} → {:?}", now.id, then.state, now.state))
        .collect();
    assert!(
        rewritten.is_empty(),
        "the deposed leader wrote to the database: {rewritten:?}"
    );
    b.kill().await;
}

/// Jobs #1 to #3 as the database holds them.
async fn rows(store: &Store) -> Vec<releasebot::job::JobRecord> {
    let mut rows = Vec::new();
    for n in 1..=3 {
        rows.push(
            store
                .load(releasebot::names::JobId(n))
                .await
                .unwrap()
                .expect("the job is recorded"),
        );
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_both_replicas_loses_no_command() {
    let Some(w) = World::new("a_rolling_restart").await else {
        return;
    };
    let (a, b) = w.pair().await;
    let answered = |token: String| {
        let fake = &w.fake;
        async move { fake.answer(&token).await }
    };
    let t1 = w
        .fake
        .command("alice", "build", &[("project", json!("api"))]);
    assert!(answered(t1).await.starts_with("Started #1"));
    // a is replaced: it hands over at once on SIGTERM, and b answers the next command.
    a.signal("TERM");
    said(&b, "leads (term 2)").await;
    let (code, _, stderr) = a.finish().await;
    assert_eq!(code, 0);
    // Handed over, not left to expire.
    assert!(!stderr.contains("cannot hand the lease over"), "{stderr}");
    w.connected(2).await;
    let t2 = w
        .fake
        .command("alice", "build", &[("project", json!("worker"))]);
    assert!(answered(t2).await.starts_with("Started #2"));
    let c = w.replica("c");
    said(&c, "stands by").await;
    // Then b.
    b.signal("TERM");
    said(&c, "leads (term 3)").await;
    let (code, _, _) = b.finish().await;
    assert_eq!(code, 0);
    w.connected(3).await;
    let t3 = w.fake.command("alice", "status", &[]);
    let status = answered(t3).await;
    assert!(status.contains("#1") && status.contains("#2"), "{status}");
    w.until("start both builds", |s| s.stats().total_runs() == 2)
        .await;
    w.advance(300);
    for n in [1, 2] {
        let thread = w.thread(n).await;
        w.progress_says(thread, "succeeded").await;
    }
    assert_eq!(w.sim.stats().total_runs(), 2);
    c.kill().await;
}

/// #1 builds api and #2 deploys it (no approval needed): once the build runs and the
/// upgrade is sent, their threads.
async fn build_and_deploy_api(w: &World) -> (u64, u64) {
    w.ask("alice", "build", &[("project", json!("api"))]).await;
    w.ask(
        "alice",
        "deploy",
        &[("app", json!("api")), ("version", json!("v3.1.4"))],
    )
    .await;
    let (build, deploy) = (w.thread(1).await, w.thread(2).await);
    w.until("start the build and the upgrade", |s| {
        s.stats().total_runs() == 1 && s.stats().total_upgrades() == 1
    })
    .await;
    (build, deploy)
}

/// Cuts the database away for longer than the lease (one second), then brings it back.
async fn outage(w: &World, replicas: &[&Cli]) {
    w.link().cut();
    for r in replicas {
        said(r, "cannot renew the lease").await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    w.link().restore();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_rides_out_a_database_outage_mid_build_and_mid_rollout() {
    let Some(w) = World::with_link("one_replica_rides_out_an_outage").await else {
        return;
    };
    let mut a = w.replica("a");
    said(&a, "leads (term 1)").await;
    w.fake.wait_ready().await;
    let (build, deploy) = build_and_deploy_api(&w).await;
    // Both end on the PaaS while the database is away.
    w.advance(300);
    outage(&w, &[&a]).await;
    said(&a, "leads again").await;
    w.advance(300);
    // Each ends in its own message, which stops saying it waits for the database.
    for thread in [build, deploy] {
        w.fake
            .wait_for("end the job once the database is back", |f| {
                let progress = f.messages_in(thread).into_iter().next()?;
                let said_it = progress
                    .versions
                    .iter()
                    .any(|v| v.contains("waiting for its database"));
                (said_it
                    && progress.content.contains("succeeded")
                    && !progress.content.contains("database"))
                .then_some(())
            })
            .await;
    }
    let stats = w.sim.stats();
    assert_eq!((stats.total_runs(), stats.total_upgrades()), (1, 1));
    assert!(a.running(), "the replica stays up:\n{}", a.stderr());
    assert!(!a.stderr().contains("lost the lease"), "{}", a.stderr());
    // What it saw while the database was away is recorded.
    let store = Store::open(std::path::Path::new(&w.pg.url))
        .await
        .expect("the database opens");
    for n in [1, 2] {
        let r = store
            .load(releasebot::names::JobId(n))
            .await
            .unwrap()
            .expect("the job is recorded");
        assert!(r.state.is_final(), "#{n} is recorded as {:?}", r.state);
        assert_eq!(r.notice, None, "#{n}");
    }
    a.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_ride_out_a_database_outage_and_one_of_them_ends_the_jobs() {
    let Some(w) = World::with_link("two_replicas_ride_out_an_outage").await else {
        return;
    };
    let (a, b) = w.pair().await;
    let (build, deploy) = build_and_deploy_api(&w).await;
    w.advance(300);
    outage(&w, &[&a]).await;
    w.advance(300);
    w.progress_says(build, "succeeded").await;
    w.progress_says(deploy, "succeeded").await;
    let stats = w.sim.stats();
    assert_eq!((stats.total_runs(), stats.total_upgrades()), (1, 1));
    // One leads on: a took the lease again, or b took it and a stood down (read once
    // what each said has reached the test: the pipes lag on a loaded machine).
    let said_either = || {
        (
            a.stderr().contains("leads again"),
            b.stderr().contains("leads (term 2)"),
        )
    };
    for _ in 0..600 {
        if said_either() != (false, false) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (leads_again, took_over) = said_either();
    assert!(
        leads_again != took_over,
        "a:\n{}\nb:\n{}",
        a.stderr(),
        b.stderr()
    );
    a.kill().await;
    b.kill().await;
}
