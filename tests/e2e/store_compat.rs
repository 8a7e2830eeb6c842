//! State written by every earlier releasebot is read by this one: a state file of each
//! SQLite schema (1: releasebot 0.1.0; 4: the last before sqlx) and a PostgreSQL
//! database of its schema 1 migrate, and every job reads back with its approval, votes
//! and audit; the unfinished ones resume.

use std::time::Duration;

use releasebot::job::{ApprovalStatus, JobSpec, JobState, Outcome, Upgrade};
use releasebot::names::JobId;
use releasebot::paas::{PipelineId, PipelineRef, ProjectRef};
use releasebot::sim::Scenario;

use crate::helpers::{TempDb, demo_config, spawn_bot_on};

/// A copy of `tests/fixtures/<name>`, so the fixture itself is never written.
fn copy_of(name: &str) -> TempDb {
    let db = TempDb::new(name);
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::copy(&fixture, &db.0).expect("the fixture is there");
    db
}

fn old_state_file() -> TempDb {
    copy_of("store-v1.db")
}

/// Every job of `store`, by id.
async fn jobs(store: &releasebot::store::Store) -> Vec<releasebot::job::JobRecord> {
    let mut all = Vec::new();
    for n in 1..store.next_job_id().await.unwrap() {
        all.push(
            store
                .load(JobId(n))
                .await
                .unwrap()
                .expect("the job is there"),
        );
    }
    all
}

#[tokio::test]
async fn every_job_of_release_0_1_0_reads_as_it_was() {
    let db = old_state_file();
    let store = db.open().await;
    let all = jobs(&store).await;
    let job = |n: u64| all[n as usize - 1].clone();

    let build = job(1);
    assert!(matches!(build.spec, JobSpec::Build { .. }));
    assert_eq!(build.state, JobState::Succeeded);
    assert_eq!(build.outcome, Some(Outcome::Succeeded));
    let b = build.build.as_ref().unwrap();
    assert!(b.finished && b.execution.is_some() && b.tag.is_some());
    assert!(build.messages.progress.is_some() && build.messages.thread.is_some());

    let deploy = job(2);
    assert_eq!(deploy.state, JobState::Succeeded);
    let d = deploy.deploy.as_ref().unwrap();
    assert!(d.rollout.done, "{d:?}");
    assert!(!deploy.logs.as_ref().unwrap().lines.is_empty());

    let failed = job(3);
    assert_eq!(failed.state, JobState::Failed);
    match &failed.outcome {
        Some(Outcome::Recorded { text, .. }) => assert!(text.contains("UPGRADE FAILED"), "{text}"),
        other => panic!("{other:?}"),
    }

    let rejected = job(4);
    assert_eq!(rejected.state, JobState::Rejected);
    assert!(matches!(
        rejected.approval.as_ref().unwrap().status,
        ApprovalStatus::Rejected { .. }
    ));

    assert_eq!(job(5).state, JobState::Cancelled);

    let release = job(6);
    assert_eq!(release.state, JobState::AwaitingApproval);
    let a = release.approval.as_ref().unwrap();
    assert_eq!(a.votes.len(), 1, "bob's vote");
    assert_eq!(a.policy.votes, 2);
    assert!(release.messages.approval.is_some());
    assert!(release.build.as_ref().unwrap().finished);

    let building = job(7);
    assert_eq!(building.state, JobState::Building);
    assert!(building.build.as_ref().unwrap().intent.is_some());

    let upgrading = job(8);
    assert!(matches!(
        upgrading.deploy.as_ref().unwrap().upgrade,
        Upgrade::Intended { .. }
    ));
    let queued = job(9);
    assert_eq!(queued.queue.unwrap().behind, Some(JobId(8)));

    assert_eq!(store.unfinished().await.unwrap().len(), 4);
    assert_eq!(store.history("web", 10).await.unwrap().len(), 3);
    assert_eq!(store.next_job_id().await.unwrap(), 10);
    // Every job's audit trail came along.
    assert!(job(6).audit.len() >= 3);
}

#[tokio::test(start_paused = true)]
async fn jobs_left_unfinished_by_release_0_1_0_resume() {
    let db = old_state_file();
    // The fixture ages: move the pending approval's deadline to an hour from now, as
    // if releasebot had been down for minutes rather than since the fixture was made.
    {
        let store = db.open().await;
        let mut release = store.load(JobId(6)).await.unwrap().unwrap();
        let in_an_hour = releasebot::clock::Clock::new().now_ms() + 3_600_000;
        release.approval.as_mut().unwrap().deadline_ms = in_an_hour;
        store.save(&release).await.unwrap();
        store.close();
    }
    // The fixture's api app was in another simulator's state; without it configured
    // its two deploys end cleanly instead of judging a different world.
    let config = demo_config(|c| {
        // The build of job #7 was recorded when the fixture was made.
        c.jobs.build_timeout = Duration::from_secs(100 * 365 * 24 * 3600);
        c.apps.retain(|name, _| name.as_str() != "api");
        c.projects.retain(|name, _| name.as_str() != "api");
    });
    // The bot starts on an empty store; the old state file comes with the restart.
    let empty = std::sync::Arc::new(releasebot::store::Store::open_in_memory().await.unwrap());
    let mut bot = spawn_bot_on(Scenario::demo(), config, empty).await;
    // The worker build of job #7 was run 1 of its pipeline: this simulator runs it too.
    let worker = PipelineRef::new(
        ProjectRef::parse("c-64wdm:p-7hw3c").unwrap(),
        PipelineId::parse("p-w0rk1").unwrap(),
    );
    crate::helpers::client(&bot.sim)
        .run_pipeline(&worker, "master", None, None)
        .await
        .unwrap();
    assert_eq!(
        bot.restart(|| db.open()).await,
        4,
        "#6, #7, #8 and #9 resume"
    );

    // The release waiting for its second vote gets it and deploys, building nothing.
    bot.wait_for(JobId(6), "awaiting approval", |r| {
        r.state == JobState::AwaitingApproval
    })
    .await;
    bot.say("carol", "/approve 6").await;
    let release = bot.finished(JobId(6)).await;
    assert_eq!(release.state, JobState::Succeeded, "{:?}", release.outcome);
    assert_eq!(release.approvers(), ["bob", "carol"]);

    // The build half way is followed to its end, not started again.
    let build = bot.finished(JobId(7)).await;
    assert_eq!(build.state, JobState::Succeeded, "{:?}", build.outcome);
    assert_eq!(bot.sim.stats().total_runs(), 1);

    for id in [8, 9] {
        let r = bot.finished(JobId(id)).await;
        assert!(
            matches!(r.outcome, Some(Outcome::NotConfigured { .. })),
            "{r:?}"
        );
    }
    assert_eq!(bot.sim.stats().total_upgrades(), 1, "the release's");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The jobs and freezes the fixtures written since 0.1.0 hold (the generator beside
/// them made the same ones each time).
async fn reads_as_written(store: &releasebot::store::Store, freezes: bool) {
    let all = jobs(store).await;
    assert_eq!(all.len(), 9);
    let states: Vec<JobState> = all.iter().map(|r| r.state).collect();
    assert_eq!(
        states,
        [
            JobState::Succeeded,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Rejected,
            JobState::Cancelled,
            JobState::AwaitingApproval,
            JobState::Building,
            JobState::Deploying,
            JobState::Queued,
        ]
    );
    let release = &all[5];
    let a = release.approval.as_ref().expect("its approval");
    assert_eq!(a.votes.len(), 1, "bob's vote");
    assert_eq!(a.votes[0].via, releasebot::job::Via::Reaction);
    assert_eq!(a.policy.votes, 2);
    assert!(matches!(
        all[3].approval.as_ref().unwrap().status,
        ApprovalStatus::Rejected { .. }
    ));
    assert!(matches!(
        all[7].deploy.as_ref().unwrap().upgrade,
        Upgrade::Intended { .. }
    ));
    assert_eq!(all[8].queue.unwrap().behind, Some(JobId(8)));
    assert!(all.iter().all(|r| !r.audit.is_empty()), "every audit trail");
    assert_eq!(store.unfinished().await.unwrap().len(), 4);
    if !freezes {
        return;
    }
    let history = store.freeze_history("worker", 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].reason, "incident 4411");
    let web = store.freeze_history("web", 10).await.unwrap();
    assert!(web[0].lifted.is_some(), "web's freeze was lifted");
}

#[tokio::test]
async fn a_state_file_of_schema_3_migrates_and_reads_as_written() {
    let db = copy_of("store-v3.db");
    let store = db.open().await;
    reads_as_written(&store, false).await;
}

#[tokio::test]
async fn a_state_file_of_schema_4_migrates_and_reads_as_written() {
    let db = copy_of("store-v4.db");
    let store = db.open().await;
    reads_as_written(&store, true).await;
    // And it takes new writes in today's form.
    let mut release = store.load(JobId(6)).await.unwrap().unwrap();
    release.audit(1, None, releasebot::job::AuditAction::Vote, "one more");
    store.save(&release).await.unwrap();
    assert_eq!(store.load(JobId(6)).await.unwrap(), Some(release));
}

#[tokio::test]
async fn a_postgresql_database_of_schema_1_migrates_and_reads_as_written() {
    let Some(pg) = crate::ha::TempPg::new("a_postgresql_database_of_schema_1_migrates").await
    else {
        return;
    };
    let dump = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-pg-v1.sql"),
    )
    .unwrap();
    crate::ha::run_sql(&pg.url, &dump).await;
    let store = releasebot::store::Store::open(std::path::Path::new(&pg.url))
        .await
        .expect("it migrates");
    reads_as_written(&store, true).await;
    store.close();
}
