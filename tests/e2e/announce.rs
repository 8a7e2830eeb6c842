//! Announcements: the end of every deploy, release, promotion and rollback of an app
//! posts one line in the channels its `announce` (and its projects') name — success or
//! failure, notifying nobody — on the in-memory chat and through the fake Discord.

use serde_json::json;

use releasebot::chat::{APPROVE, REJECT};
use releasebot::config::Config;
use releasebot::job::JobState;
use releasebot::names::{AppName, JobId, ProjectName};
use releasebot::sim::Scenario;

use crate::discord::{no_mentions, on_discord, web_app};
use crate::fake_discord::{ANNOUNCEMENTS, FakeDiscord, GUILD};
use crate::helpers::{TestBot, demo_config, spawn_bot};

const HELM_ERROR: &str = "Error: UPGRADE FAILED: container web: image pull back-off";

fn web(c: &mut Config) -> &mut releasebot::config::App {
    c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap()
}

/// bob votes `emoji` on job `job` once it asks; the finished job's state.
async fn vote(bot: &TestBot, job: JobId, emoji: &str) -> JobState {
    bot.wait_for(job, "asking for approval", |r| r.waits_on_people())
        .await;
    bot.chat
        .react_as("bob", &bot.approval_ref(job), emoji)
        .await;
    bot.finished(job).await.state
}

/// The lines posted in `channel`, each checked to notify nobody.
fn lines(bot: &TestBot, channel: &str) -> Vec<String> {
    bot.chat
        .messages_in(channel)
        .into_iter()
        .map(|(_, m)| {
            assert!(
                m.mention_users.is_empty() && m.mention_roles.is_empty(),
                "{m:?}"
            );
            assert!(!m.text.contains("<@"), "{}", m.text);
            assert!(!m.text.contains('\n'), "one line: {}", m.text);
            m.text
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn each_deploy_that_ends_is_announced_once_in_the_app_and_project_channels() {
    let bot = spawn_bot(
        Scenario::demo(),
        demo_config(|c| {
            web(c).announce = vec!["web-news".into(), "everything".into()];
            let project = c.projects.get_mut(&ProjectName::parse("web").unwrap());
            project.unwrap().announce = vec!["everything".into(), "web-team".into()];
        }),
    )
    .await;
    let first = bot.start("alice", "/deploy web v1.2.2").await;
    assert_eq!(vote(&bot, first, APPROVE).await, JobState::Succeeded);
    let second = bot.start("alice", "/deploy web v1.2.3").await;
    assert_eq!(vote(&bot, second, APPROVE).await, JobState::Succeeded);
    for channel in ["web-news", "everything", "web-team"] {
        let lines = lines(&bot, channel);
        assert_eq!(
            lines.len(),
            2,
            "{channel}: one line per deploy, each once: {lines:?}"
        );
        assert!(
            lines[1].starts_with(
                "✅ deploy web v1.2.2 → v1.2.3 succeeded · asked by alice · approved by bob · "
            ),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].ends_with(&format!("{second} thread")),
            "{}",
            lines[1]
        );
    }
    assert!(
        lines(&bot, crate::helpers::CHANNEL)
            .iter()
            .all(|l| !l.contains("asked by"))
    );

    // Failures too.
    crate::helpers::upgrades_fail(&bot, "project-deploy", Some(HELM_ERROR));
    let failed = bot.start("alice", "/deploy web v1.2.4").await;
    assert_eq!(vote(&bot, failed, APPROVE).await, JobState::Failed);
    let news = lines(&bot, "web-news");
    assert_eq!(news.len(), 3);
    assert!(
        news[2].starts_with(
            "❌ deploy web v1.2.3 → v1.2.4 failed · asked by alice · approved by bob · "
        ),
        "{}",
        news[2]
    );

    // A request rejected before it touched the app changed nothing: not announced.
    let rejected = bot.start("alice", "/deploy web v1.2.5").await;
    assert_eq!(vote(&bot, rejected, REJECT).await, JobState::Rejected);
    assert_eq!(lines(&bot, "web-news").len(), 3);
    // Nor does an app without announce channels announce.
    let api = bot.start("alice", "/deploy api v1.0.0").await;
    assert_eq!(bot.finished(api).await.state, JobState::Succeeded);
    assert_eq!(lines(&bot, "web-news").len(), 3);
    assert!(bot.record(second).announced && !bot.record(rejected).announced);
}

#[tokio::test(start_paused = true)]
async fn a_release_to_several_apps_announces_each_app_with_the_releases_thread() {
    let bot = spawn_bot(
        Scenario::demo(),
        demo_config(|c| {
            let shop = c
                .projects
                .get_mut(&ProjectName::parse("api").unwrap())
                .unwrap();
            shop.deploys = vec![
                AppName::parse("api").unwrap(),
                AppName::parse("worker").unwrap(),
            ];
            shop.announce = vec!["shop-news".into()];
            let worker = c.apps.get_mut(&AppName::parse("worker").unwrap()).unwrap();
            worker.announce = vec!["worker-news".into()];
        }),
    )
    .await;
    let job = bot.start("alice", "/release api").await;
    assert_eq!(bot.finished(job).await.state, JobState::Succeeded);
    let shop = lines(&bot, "shop-news");
    assert_eq!(shop.len(), 2, "one line per app: {shop:?}");
    for (line, app) in shop.iter().zip(["api", "worker"]) {
        assert!(line.starts_with(&format!("✅ release {app} ")), "{line}");
        assert!(
            line.contains(" succeeded · asked by alice · no approval · "),
            "{line}"
        );
        assert!(line.ends_with(&format!("{job} thread")), "{line}");
    }
    let worker = lines(&bot, "worker-news");
    assert_eq!(worker.len(), 1);
    assert!(worker[0].starts_with("✅ release worker "), "{}", worker[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announcement_on_discord_links_the_thread_and_mentions_nobody() {
    let t = on_discord(FakeDiscord::start().await, |c| {
        web_app(c).announce = vec![ANNOUNCEMENTS.to_string()];
    })
    .await;
    let token = t.fake.command(
        "bob",
        "deploy",
        &[("app", json!("web")), ("version", json!("v1.2.3"))],
    );
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let approval = t.approval_request(thread).await;
    t.fake.react("carol", approval.id, "✅", true);
    t.roll_out_for(1, 60).await;
    let line = t
        .fake
        .wait_for("announce the deploy", |f| {
            f.messages_in(ANNOUNCEMENTS).into_iter().next()
        })
        .await;
    assert!(
        line.content.starts_with("✅ deploy web "),
        "{}",
        line.content
    );
    assert!(
        line.content
            .contains(" → v1.2.3 succeeded · asked by bob · approved by carol · "),
        "{}",
        line.content
    );
    assert!(
        line.content.ends_with(&format!(
            "[#1 thread](<https://discord.com/channels/{GUILD}/{thread}>)"
        )),
        "{}",
        line.content
    );
    assert!(!line.content.contains("<@"), "{}", line.content);
    // Sent with allowed mentions present and empty: nobody can be notified.
    assert_eq!(line.allowed_mentions, no_mentions());
    assert!(line.notified_users.is_empty() && line.notified_roles.is_empty());
    t.stop().await;
}
