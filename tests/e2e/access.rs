//! Least privilege, as people meet it: an app limited to a channel and to roles is read
//! (logs, history, status) only there and only by its readers; a freeze is lifted only
//! by whoever put it on or an admin; an admin role name that several roles bear makes
//! nobody admin; and `releasebot check` names each app that anyone may deploy.

use releasebot::chat::APPROVE;
use releasebot::commands::Reply;
use releasebot::config::Config;
use releasebot::names::{AppName, JobId};
use releasebot::sim::Scenario;

use releasebot::adapters::Adapter;
use releasebot::discord::DiscordAdapter;
use serde_json::json;

use crate::cli::{TempDir, against_sim, fast_config, spawn_cli};
use crate::discord::on_discord;
use crate::fake_discord::{ADMIN, FakeDiscord, GUILD};
use crate::helpers::{CHANNEL, TestBot, demo_config, spawn_bot, spawn_sim};

/// What web's deploys print: a reader sees it, nobody else may.
const WEB_LOG: &str = "web started with feature flags alpha-42";

fn web(c: &mut Config) -> &mut releasebot::config::App {
    c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap()
}

/// The demo, with web limited to #releases and deployed by developers (approved by
/// leads, as in the demo); its deploys print [`WEB_LOG`].
async fn restricted_bot() -> TestBot {
    let mut scenario = Scenario::demo();
    let web_app = scenario
        .apps
        .iter_mut()
        .find(|a| a.app == "project-deploy")
        .unwrap();
    web_app.log_lines = Some(vec!["booting".into(), WEB_LOG.into()]);
    spawn_bot(
        scenario,
        demo_config(|c| {
            let web = web(c);
            web.channels = vec![CHANNEL.to_string()];
            web.access.deploy = Some(vec!["developer".into()]);
        }),
    )
    .await
}

/// alice deploys `tag` to web and bob approves it; the finished job.
async fn deploy_web(bot: &TestBot, tag: &str) -> JobId {
    let job = bot.start("alice", &format!("/deploy web {tag}")).await;
    bot.wait_for(job, "asking for approval", |r| r.waits_on_people())
        .await;
    bot.chat
        .react_as("bob", &bot.approval_ref(job), APPROVE)
        .await;
    bot.finished(job).await;
    job
}

/// What `user` is answered in `channel`.
async fn say_in(bot: &TestBot, user: &str, channel: &str, text: &str) -> Reply {
    bot.chat
        .say(user, channel, text)
        .await
        .expect("the bot answers every command")
}

fn info(reply: &Reply) -> String {
    match reply {
        Reply::Info(text) => text.clone(),
        other => panic!("not information: {other:?}"),
    }
}

/// A refusal, one sentence, that shows nothing of web's jobs or logs.
fn refused(reply: &Reply, tag: &str) -> String {
    assert!(reply.is_refusal(), "not refused: {reply:?}");
    let text = reply.text();
    assert!(!text.contains('\n'), "one sentence: {text}");
    for secret in [WEB_LOG, "booting", tag, "alice", "bob"] {
        assert!(!text.contains(secret), "{secret:?} shown in {text:?}");
    }
    text
}

#[tokio::test(start_paused = true)]
async fn an_app_limited_to_a_channel_and_roles_is_read_only_there_and_by_its_readers() {
    let bot = restricted_bot().await;
    let tag = "v7.7.7";
    let job = deploy_web(&bot, tag).await;
    let n = job.0;

    // Its readers: the deployer, the approver, an admin, in #releases.
    for reader in ["alice", "bob", "root"] {
        let logs = info(&bot.say(reader, "/logs web").await);
        assert!(logs.contains(WEB_LOG), "{reader}: {logs}");
        let history = info(&bot.say(reader, "/history web").await);
        assert!(history.contains(tag), "{reader}: {history}");
        let status = info(&bot.say(reader, &format!("/status #{n}")).await);
        assert!(status.contains(tag), "{reader}: {status}");
        let all = info(&bot.say(reader, "/status").await);
        assert!(all.contains(tag), "{reader}: {all}");
    }

    // dave holds no role: refused, in one sentence, seeing nothing.
    let logs = refused(&bot.say("dave", "/logs web").await, tag);
    assert_eq!(
        logs,
        "Reading the logs, history and jobs of web needs the role developer or lead."
    );
    refused(&bot.say("dave", "/history web").await, tag);
    let status = refused(&bot.say("dave", &format!("/status #{n}")).await, tag);
    assert_eq!(
        status,
        format!("#{n} belongs to a project or app whose jobs you may not read from here.")
    );
    let all = info(&bot.say("dave", "/status").await);
    assert!(!all.contains(tag) && !all.contains("web"), "{all}");

    // From another channel, nobody: the readers and the admin neither.
    for reader in ["alice", "bob", "root"] {
        let logs = refused(&say_in(&bot, reader, "general", "/logs web").await, tag);
        assert_eq!(
            logs,
            "web can only be used from its own channels, not from here."
        );
        refused(&say_in(&bot, reader, "general", "/history web").await, tag);
        refused(
            &say_in(&bot, reader, "general", &format!("/status #{n}")).await,
            tag,
        );
        let all = info(&say_in(&bot, reader, "general", "/status").await);
        assert!(!all.contains(tag), "{reader}: {all}");
    }

    // A running job is listed only to those who may read it, where they may.
    let pending = bot.start("alice", "/deploy web v8.8.8").await;
    bot.wait_for(pending, "asking for approval", |r| r.waits_on_people())
        .await;
    let running = info(&bot.say("bob", "/status").await);
    assert!(running.contains("v8.8.8"), "{running}");
    // So is a freeze of web, with its reason.
    info(&bot.say("alice", "/freeze web 1h incident 4411").await);
    let running = info(&bot.say("bob", "/status").await);
    assert!(running.contains("incident 4411"), "{running}");
    for (who, channel) in [("dave", CHANNEL), ("bob", "general")] {
        let all = info(&say_in(&bot, who, channel, "/status").await);
        for hidden in ["v8.8.8", tag, "incident 4411"] {
            assert!(!all.contains(hidden), "{who} sees {hidden:?}: {all}");
        }
    }

    // api is open: anyone reads it, from anywhere.
    assert!(
        !say_in(&bot, "dave", "general", "/history api")
            .await
            .is_refusal()
    );
}

#[tokio::test(start_paused = true)]
async fn a_projects_history_hides_its_releases_into_an_app_one_may_not_read() {
    // site builds what api runs; api is deployed by developers only.
    let bot = spawn_bot(
        Scenario::demo(),
        demo_config(|c| {
            let api = releasebot::names::ProjectName::parse("api").unwrap();
            let mut site = c.projects[&api].clone();
            site.name = releasebot::names::ProjectName::parse("site").unwrap();
            c.projects.insert(site.name.clone(), site);
            let api = c.apps.get_mut(&AppName::parse("api").unwrap()).unwrap();
            api.access.deploy = Some(vec!["developer".into()]);
        }),
    )
    .await;
    let build = bot.start("alice", "/build site").await;
    let release = bot.start("alice", "/release site").await;
    let all = info(&bot.say("alice", "/history site").await);
    assert!(all.contains(&build.to_string()), "{all}");
    assert!(all.contains(&release.to_string()), "{all}");
    let builds = info(&bot.say("dave", "/history site").await);
    assert!(builds.contains(&build.to_string()), "{builds}");
    assert!(!builds.contains(&release.to_string()), "{builds}");
    assert!(bot.say("dave", "/history api").await.is_refusal());
}

#[tokio::test(start_paused = true)]
async fn read_roles_replace_the_default_readers() {
    let bot = spawn_bot(
        Scenario::demo(),
        demo_config(|c| {
            let web = web(c);
            web.access.deploy = Some(vec!["developer".into()]);
            web.access.read = Some(vec!["auditor".into()]);
        }),
    )
    .await;
    bot.chat.add_user("erin", &["auditor"]);
    let job = deploy_web(&bot, "v1.0.0").await;
    let history = info(&bot.say("erin", "/history web").await);
    assert!(history.contains("v1.0.0"), "{history}");
    assert!(
        !bot.say("erin", &format!("/status {}", job.0))
            .await
            .is_refusal()
    );
    // The read roles replace the default: the deployer no longer reads web.
    refused(&bot.say("alice", "/history web").await, "v1.0.0");
    refused(&bot.say("alice", "/logs web").await, "v1.0.0");
}

#[tokio::test(start_paused = true)]
async fn a_freeze_is_lifted_only_by_who_put_it_on_or_an_admin() {
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    let frozen = |bot: &TestBot| bot.engine.holds().frozen(&AppName::parse("web").unwrap());
    let froze = info(&bot.say("carol", "/freeze web 2h incident 4411").await);
    assert!(froze.contains("frozen by carol"), "{froze}");

    // bob may freeze too, but not lift carol's freeze.
    let reply = bot.say("bob", "/unfreeze web").await;
    assert!(reply.is_refusal(), "{reply:?}");
    assert_eq!(
        reply.text(),
        "carol froze web, so only carol or an admin may lift that freeze; nothing was lifted."
    );
    assert!(frozen(&bot).is_some(), "still frozen");

    // carol may; and an admin may lift anyone's.
    let lifted = info(&bot.say("carol", "/unfreeze web").await);
    assert!(lifted.contains("Lifted 1 freeze"), "{lifted}");
    assert!(frozen(&bot).is_none());
    info(&bot.say("carol", "/freeze web 2h incident 4412").await);
    let lifted = info(&bot.say("root", "/unfreeze web").await);
    assert!(lifted.contains("Lifted 1 freeze"), "{lifted}");
    assert!(frozen(&bot).is_none());

    // `all` likewise: it lifts nothing while one of the freezes is another's.
    info(
        &bot.say("carol", "/freeze all 1h release train stopped")
            .await,
    );
    info(&bot.say("bob", "/freeze api 1h bob's own").await);
    let reply = bot.say("bob", "/unfreeze all").await;
    assert_eq!(
        reply.text(),
        "carol froze all apps, so only carol or an admin may lift that freeze; nothing was lifted."
    );
    assert_eq!(bot.engine.holds().freezes().len(), 2, "nothing was lifted");
    let lifted = info(&bot.say("bob", "/unfreeze api").await);
    assert!(lifted.contains("Lifted 1 freeze"), "{lifted}");
    let lifted = info(&bot.say("carol", "/unfreeze all").await);
    assert!(lifted.contains("Lifted 1 freeze"), "{lifted}");
    assert!(bot.engine.holds().freezes().is_empty());
}

#[tokio::test]
async fn check_and_the_start_up_log_name_each_app_anyone_may_deploy() {
    let sim = spawn_sim(Scenario::demo()).await;
    // The demo names no deploy roles: every app is open. A warning, not a failure.
    let dir = TempDir::new("check-open");
    let env = against_sim(sim.url(), &dir, &fast_config());
    let (code, out, err) = spawn_cli(&["check"], &env, dir).finish().await;
    assert_eq!(code, 0, "{out}{err}");
    for app in ["api", "web", "worker"] {
        let want = format!(
            "anyone may deploy {app}: set [apps.{app}] deploy (or [access] deploy, for every app)"
        );
        let line = out.lines().find(|l| l.contains(&want));
        assert!(
            line.is_some_and(|l| l.starts_with("WARN  access ")),
            "missing {want:?}:\n{out}"
        );
    }
    assert!(out.contains("everything checked is in order"), "{out}");

    // Deploy roles for all, but an empty list for web: web alone stays open.
    let closed = format!(
        "{}\n[access]\ndeploy = [\"developer\"]\n",
        fast_config().replace(
            "app = \"project-deploy\"\n",
            "app = \"project-deploy\"\ndeploy = []\n"
        )
    );
    let dir = TempDir::new("check-closed");
    let env = against_sim(sim.url(), &dir, &closed);
    let (code, out, err) = spawn_cli(&["check"], &env, dir).finish().await;
    assert_eq!(code, 0, "{out}{err}");
    let open: Vec<&str> = out.lines().filter(|l| l.contains("anyone may")).collect();
    assert_eq!(open.len(), 1, "{out}");
    assert!(
        open[0].contains("anyone may deploy web: [apps.web] deploy is empty"),
        "{out}"
    );

    // The start-up log says the same, once per open app.
    let dir = TempDir::new("start-open");
    let env = against_sim(sim.url(), &dir, &closed);
    let mut cli = spawn_cli(&["shell"], &env, TempDir::new("start-open-run"));
    cli.send("/help").await;
    let (code, _, err) = cli.finish().await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("anyone may deploy").count(), 1, "{err}");
    assert!(
        err.contains("anyone may deploy web: [apps.web] deploy is empty"),
        "{err}"
    );
}

/// A second role named like the admin role, made by someone who may manage roles.
const SECOND_ADMIN: u64 = 105;

/// The fake Discord where carol holds the admin role and dave made a second role
/// called "Admin" and gave it to himself.
async fn two_admin_roles() -> FakeDiscord {
    let fake = FakeDiscord::start().await;
    fake.give_role(GUILD, "carol", ADMIN);
    fake.add_role(GUILD, SECOND_ADMIN, "Admin");
    fake.give_role(GUILD, "dave", SECOND_ADMIN);
    fake
}

/// `who` deploys api through a freeze, which only an admin may; the answer.
async fn override_as(fake: &FakeDiscord, who: &str) -> String {
    let token = fake.command(
        who,
        "deploy",
        &[
            ("app", json!("api")),
            ("version", json!("v1.0.0")),
            ("override", json!("hotfix")),
        ],
    );
    fake.answer(&token).await
}

const ADMIN_ONLY: &str = "Only an admin may override a freeze; nothing was started.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_discord_an_admin_role_name_that_several_roles_bear_makes_nobody_admin() {
    // [access] admin = ["admin"], the default: a name two roles now bear.
    let t = on_discord(two_admin_roles().await, |_| {}).await;
    for who in ["dave", "carol"] {
        assert_eq!(override_as(&t.fake, who).await, ADMIN_ONLY, "{who}");
    }
    let rows = DiscordAdapter::new(t.fake.settings())
        .check(&demo_config(|_| {}))
        .await;
    let admin = rows
        .iter()
        .find(|r| r.what == "role admin")
        .expect("the admin role is checked");
    assert!(!admin.ok, "{rows:?}");
    assert!(
        admin.detail.contains(
            "2 roles of server 800 bear this name (ids 103, 105): it grants admin to nobody"
        ),
        "{rows:?}"
    );
    // A name one role bears is shown with its id.
    let lead = rows.iter().find(|r| r.what == "role lead").unwrap();
    assert!(lead.ok && lead.detail.contains("role id 102"), "{rows:?}");
    t.stop().await;

    // By id: the real role's holder is admin, the other role's is not.
    let by_id = |c: &mut Config| c.admins = vec![ADMIN.to_string()];
    let t = on_discord(two_admin_roles().await, by_id).await;
    assert_eq!(override_as(&t.fake, "dave").await, ADMIN_ONLY);
    let carol = override_as(&t.fake, "carol").await;
    assert!(
        carol.starts_with("Started #1: deploy api v1.0.0"),
        "{carol}"
    );
    let rows = DiscordAdapter::new(t.fake.settings())
        .check(&demo_config(by_id))
        .await;
    assert!(
        !rows
            .iter()
            .any(|r| r.what.starts_with("role 103") || r.what == "role admin"),
        "an id needs no row: {rows:?}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_log_says_an_admin_name_grants_nothing() {
    let fake = two_admin_roles().await;
    let proxy = fake.settings().proxy.expect("the plain fake is a proxy");
    let dir = TempDir::new("ambiguous-admin");
    let config = dir.write("releasebot.toml", &fast_config());
    let config = config.display().to_string();
    let cli = spawn_cli(
        &[],
        &[
            ("RELEASEBOT_CONFIG", config.as_str()),
            ("DISCORD_TOKEN", crate::fake_discord::TOKEN),
            ("DISCORD_GUILD_ID", &GUILD.to_string()),
            ("DISCORD_PROXY_URL", &proxy),
        ],
        dir,
    );
    fake.wait_ready().await;
    let said = "[access] admin names admin, which 2 roles of server 800 bear (ids 103, 105): it grants admin to nobody there";
    fake.wait_for("say the admin name grants nothing", |_| {
        cli.stderr().contains(said).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_only_jobs_and_names_one_may_read() {
    let t = on_discord(FakeDiscord::start().await, |c| {
        let web = crate::discord::web_app(c);
        web.access.deploy = Some(vec!["developer".into()]);
    })
    .await;
    let token = t.fake.command(
        "alice",
        "deploy",
        &[("app", json!("web")), ("version", json!("v3.1.4"))],
    );
    t.fake.answer(&token).await;
    t.wait_job(1, "ask for approval", |r| r.messages.approval.is_some())
        .await;
    let values = |choices: Vec<(String, serde_json::Value)>| -> Vec<serde_json::Value> {
        choices.into_iter().map(|(_, v)| v).collect()
    };
    let bob = t.fake.autocomplete("bob", "status", &[], "job", "").await;
    assert_eq!(values(bob), [json!(1)]);
    let dave = t.fake.autocomplete("dave", "status", &[], "job", "").await;
    assert!(dave.is_empty(), "{dave:?}");
    let dave = t
        .fake
        .autocomplete("dave", "history", &[], "name", "")
        .await;
    assert_eq!(values(dave), [json!("api"), json!("worker")]);
    t.stop().await;
}
