//! Approvers see what they approve: the builds between what runs on the app and the
//! tag deployed, newest first, with their commits and authors; what a rollback takes
//! away; what is known when a tag was built by no known build; and the pipeline read
//! across pages, once.

use std::time::Duration;

use serde_json::json;

use releasebot::chat::APPROVE;
use releasebot::job::JobState;
use releasebot::names::{JobId, ProjectName};
use releasebot::sim::Scenario;

use crate::discord::on_discord;
use crate::fake_discord::{FakeDiscord, LEAD};
use crate::helpers::{TestBot, client, demo_config, spawn_bot, web_app, web_pipeline};

/// Runs web's pipeline and waits for the build; its tag and short commit.
async fn build(bot: &TestBot) -> (String, String) {
    let job = bot.start("alice", "/build web").await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    let b = r.build.unwrap();
    let commit = b.commit.unwrap();
    // The build's own message says what it built: commit, subject and author.
    let progress = bot.progress(job);
    let built = progress.lines().find(|l| l.starts_with("commit  "));
    let subject = b.subject.unwrap();
    assert_eq!(
        built,
        Some(format!("commit  {commit} · {subject} — {}", b.author.unwrap()).as_str()),
        "{progress}"
    );
    assert!(!subject.contains('\n') && !subject.is_empty(), "{subject}");
    (b.tag.unwrap(), commit)
}

/// Three builds of web, oldest first.
async fn three_builds(bot: &TestBot) -> Vec<(String, String)> {
    let mut builds = Vec::new();
    for _ in 0..3 {
        builds.push(build(bot).await);
    }
    builds
}

/// Starts `command` and waits for its approval request; the job and the request.
async fn asked(bot: &TestBot, command: &str) -> (JobId, String) {
    let job = bot.start("alice", command).await;
    bot.wait_for(job, "asking for approval", |r| {
        r.waits_on_people() && r.messages.approval.is_some()
    })
    .await;
    (job, bot.approval_text(job))
}

/// bob approves; the job ends well.
async fn approved(bot: &TestBot, job: JobId) {
    bot.chat
        .react_as("bob", &bot.approval_ref(job), APPROVE)
        .await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
}

fn list_requests(bot: &TestBot) -> u64 {
    bot.sim
        .stats()
        .by_route
        .get("list_executions")
        .copied()
        .unwrap_or(0)
}

/// The lines of a message that name builds.
fn build_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("- #")).collect()
}

#[tokio::test(start_paused = true)]
async fn a_deploy_shows_the_builds_it_brings_and_a_rollback_what_it_takes_away() {
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    let builds = three_builds(&bot).await;
    let (first, third) = (&builds[0].0, &builds[2].0);

    // web runs a tag no build of its pipeline produced: what is known is said.
    let (job, text) = asked(&bot, &format!("/deploy web {first}")).await;
    assert!(
        text.contains(&format!(
            "changes  unknown: web runs master-56-9ae1b20, a tag no pipeline run of web produced; {first} is:"
        )),
        "{text}"
    );
    assert_eq!(build_lines(&text).len(), 1, "{text}");
    approved(&bot, job).await;

    // From the first to the third: exactly the second and the third, newest first.
    let reads = list_requests(&bot);
    let (job, text) = asked(&bot, &format!("/deploy web {third}")).await;
    assert!(
        text.contains(&format!("changes  2 builds since {first}:")),
        "{text}"
    );
    assert_eq!(
        build_lines(&text),
        [
            format!(
                "- #3 · {} · @everyone hotfix: retry payments on 502 — Carol <@111111111111111111>",
                builds[2].1
            ),
            format!(
                "- #2 · {} · **Speed up** `search` with an index <@&123456789012345678> — Bob Builder",
                builds[1].1
            ),
        ],
        "{text}"
    );
    assert_eq!(
        list_requests(&bot),
        reads,
        "both tags are settled builds read before: no request"
    );
    // The deploy's own message shows the same list.
    assert!(
        bot.progress(job)
            .contains(&format!("changes  2 builds since {first}:")),
        "{}",
        bot.progress(job)
    );
    approved(&bot, job).await;

    // A rollback says what it takes away.
    let (job, text) = asked(&bot, "/rollback web").await;
    assert!(
        text.contains("changes  rolling back takes away 2 builds:"),
        "{text}"
    );
    let runs: Vec<&str> = build_lines(&text)
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(runs, ["#3", "#2"], "{text}");
    approved(&bot, job).await;
}

#[tokio::test(start_paused = true)]
async fn a_tag_no_build_produced_is_deployable_and_says_its_contents_are_unknown() {
    let bot = spawn_bot(Scenario::demo(), demo_config(|_| {})).await;
    build(&bot).await;
    let reads = list_requests(&bot);
    let reply = bot.say("alice", "/deploy web v9.9.9").await;
    assert_eq!(
        reply.text(),
        "Started #2: deploy web v9.9.9; it needs 1 approval from lead. releasebot cannot show what v9.9.9 contains: no known build of web produced it."
    );
    let job = JobId(2);
    bot.wait_for(job, "asking for approval", |r| {
        r.waits_on_people() && r.messages.approval.is_some()
    })
    .await;
    let text = bot.approval_text(job);
    assert_eq!(
        list_requests(&bot),
        reads + 1,
        "the answer and the approval read the pipeline once"
    );
    assert!(
        text.contains(
            "changes  releasebot cannot show what v9.9.9 contains: no known build of web produced it"
        ),
        "{text}"
    );
    assert!(build_lines(&text).is_empty(), "{text}");
    approved(&bot, job).await;
}

#[tokio::test(start_paused = true)]
async fn a_pipeline_with_more_executions_than_a_page_is_read_across_pages_once() {
    let mut scenario = Scenario::demo();
    scenario.page_size = 2;
    let bot = spawn_bot(scenario, demo_config(|_| {})).await;
    let mut builds = three_builds(&bot).await;
    builds.extend(three_builds(&bot).await);
    let (first, last) = (&builds[0].0, &builds[5].0);
    let (job, _) = asked(&bot, &format!("/deploy web {first}")).await;
    approved(&bot, job).await;
    let (_, text) = asked(&bot, &format!("/deploy web {last}")).await;
    let runs: Vec<&str> = build_lines(&text)
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(runs, ["#6", "#5", "#4", "#3", "#2"], "{text}");
}

#[tokio::test(start_paused = true)]
async fn changes_shows_the_list_without_deploying_to_those_who_may_deploy() {
    let bot = spawn_bot(
        Scenario::demo(),
        demo_config(|c| c.access.deploy = Some(vec!["developer".into()])),
    )
    .await;
    let builds = three_builds(&bot).await;
    let (first, second, third) = (&builds[0].0, &builds[1].0, &builds[2].0);
    let (job, _) = asked(&bot, &format!("/deploy web {first}")).await;
    approved(&bot, job).await;
    let upgrades = bot.sim.stats().total_upgrades();

    // No tag: the newest build.
    let text = bot.say("alice", "/changes web").await.text();
    assert!(
        text.starts_with(&format!(
            "Deploying {third} to web would change:\nchanges  2 builds since {first}:\n- #3 · "
        )),
        "{text}"
    );
    assert_eq!(build_lines(&text).len(), 2, "{text}");
    let text = bot
        .say("alice", &format!("/changes web {second}"))
        .await
        .text();
    assert!(text.contains("changes  1 build since"), "{text}");
    assert_eq!(build_lines(&text).len(), 1, "{text}");
    let text = bot
        .say("alice", &format!("/changes web {first}"))
        .await
        .text();
    assert!(
        text.contains(&format!("changes  none: web already runs {first}")),
        "{text}"
    );
    assert_eq!(
        bot.sim.stats().total_upgrades(),
        upgrades,
        "nothing deployed"
    );

    let refused = bot.say("dave", "/changes web").await;
    assert!(refused.is_refusal(), "{refused:?}");
    assert_eq!(refused.text(), "Deploying web needs the role developer.");
}

/// On Discord the approval request links each build to the PaaS's UI and each commit
/// to the git provider as masked links, and the commit messages ping and format
/// nothing: only the approver role may be notified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_discord_builds_and_commits_are_masked_links_and_messages_ping_no_one() {
    let commit_url = "https://git.example.com/team/web/commit/{commit}";
    let t = on_discord(FakeDiscord::start().await, |c| {
        c.projects
            .get_mut(&ProjectName::parse("web").unwrap())
            .unwrap()
            .commit_url = Some(commit_url.into());
    })
    .await;
    let paas = client(&t.sim);
    for _ in 0..3 {
        paas.run_pipeline(&web_pipeline(), "master", None, None)
            .await
            .unwrap();
    }
    t.sim.simulator().advance(Duration::from_secs(600));
    let builds = paas.list_executions(&web_pipeline()).await.unwrap();
    let tags: Vec<String> = builds
        .iter()
        .map(|e| e.version_tag.clone().unwrap())
        .collect();
    // web runs the first build.
    let before = paas.get_app(&web_app()).await.unwrap();
    paas.upgrade_app(&web_app(), &tags[0], &before)
        .await
        .unwrap();
    t.sim.simulator().advance(Duration::from_secs(600));

    let token = t.fake.command(
        "alice",
        "deploy",
        &[("app", json!("web")), ("version", json!(tags[2]))],
    );
    t.fake.answer(&token).await;
    let thread = t.thread(1).await;
    let approval = t.approval_request(thread).await;
    let text = &approval.content;
    let ui = paas.ui_base_url();
    let commit = |run: usize| builds[run].commit.clone().unwrap();
    let line = |run: usize, rest: &str| {
        format!(
            "- [#{}](<{ui}/p/c-64wdm:p-5tfq9/pipeline/pipelines/p-5tfq9:p-tpk2x/run/{}>) · [{}](<{}>) · {rest}",
            run + 1,
            run + 1,
            &commit(run)[..7],
            commit_url.replace("{commit}", &commit(run)),
        )
    };
    assert!(
        text.contains(&line(
            2,
            "@\u{200B}everyone hotfix: retry payments on 502 — Carol \\<@111111111111111111\\>"
        )),
        "{text}"
    );
    assert!(
        text.contains(&line(
            1,
            "\\*\\*Speed up\\*\\* \\`search\\` with an index \\<@&123456789012345678\\> — Bob Builder"
        )),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("- [#")).count(),
        2,
        "exactly the second and the third: {text}"
    );
    assert_eq!(
        approval.allowed_mentions,
        json!({"parse": [], "users": [], "roles": [LEAD.to_string()]}),
        "only the approvers may be notified"
    );
    t.stop().await;
}
