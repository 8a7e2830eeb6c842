//! What every backend must keep and give back the same way: jobs with their approval,
//! votes and audit, the queries over them, freezes and `meta`.

use super::*;
use crate::freeze::{Freeze, Scope};

on_both!(
    a_job_round_trips_with_its_approval_votes_and_audit,
    unfinished_history_and_claims_are_queried,
    a_job_survives_reopening,
    a_finished_job_keeps_its_typed_outcome,
    freezes_are_kept_lifted_and_read_back,
    deployed_lists_succeeded_deploys_newest_first,
    a_meta_value_is_made_once_and_kept,
    a_meta_value_is_swapped_only_from_what_it_is,
    an_empty_store_starts_at_job_one,
);

async fn a_job_round_trips_with_its_approval_votes_and_audit(db: &Fresh) {
    let store = db.open().await;
    let r = record(7);
    store.save(&r).await.unwrap();
    assert_eq!(store.load(JobId(7)).await.unwrap(), Some(r.clone()));
    // Saving again adds only the new audit entries and replaces the votes.
    let mut r2 = r.clone();
    r2.audit(1600, Some("carol"), AuditAction::Approve, "approved");
    r2.approval.as_mut().unwrap().approve(
        &Actor::new("u3", "carol", vec!["lead".into()]),
        1600,
        Via::Button,
    );
    store.save(&r2).await.unwrap();
    let loaded = store.load(JobId(7)).await.unwrap().unwrap();
    assert_eq!(loaded, r2);
    assert_eq!(loaded.audit.len(), 3);
    assert_eq!(loaded.approval.unwrap().votes.len(), 2);
    assert_eq!(store.next_job_id().await.unwrap(), 8);
}

async fn unfinished_history_and_claims_are_queried(db: &Fresh) {
    let store = db.open().await;
    let mut done = record(1);
    done.ended_ms = Some(5000);
    done.state = JobState::Succeeded;
    store.save(&done).await.unwrap();
    let mut other = record(2);
    other.build.as_mut().unwrap().execution =
        Some(ExecutionId::parse("p-5tfq9:p-tpk2x-2").unwrap());
    store.save(&other).await.unwrap();
    assert_eq!(
        store
            .unfinished()
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [JobId(2)]
    );
    assert_eq!(
        store
            .history("web", 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [JobId(2), JobId(1)]
    );
    assert_eq!(store.history("web", 1).await.unwrap().len(), 1);
    assert!(store.history("api", 10).await.unwrap().is_empty());
    assert_eq!(store.finished(10).await.unwrap().len(), 1);
    assert_eq!(
        store.claimed_executions(JobId(2)).await.unwrap(),
        ["p-5tfq9:p-tpk2x-1"]
    );
}

async fn a_job_survives_reopening(db: &Fresh) {
    {
        let store = db.open().await;
        store.save(&record(3)).await.unwrap();
    }
    let store = db.open().await;
    assert_eq!(store.load(JobId(3)).await.unwrap(), Some(record(3)));
    assert_eq!(store.next_job_id().await.unwrap(), 4);
}

async fn a_finished_job_keeps_its_typed_outcome(db: &Fresh) {
    let store = db.open().await;
    let mut r = record(4);
    r.end(
        crate::job::Outcome::NoSignOfUpgrade {
            app: AppName::parse("web").unwrap(),
            tag: VersionTag::parse("master-1-abc").unwrap(),
            shows: "active, tag master-1-abc".into(),
        },
        9000,
    );
    store.save(&r).await.unwrap();
    assert_eq!(store.load(JobId(4)).await.unwrap(), Some(r));
}

async fn freezes_are_kept_lifted_and_read_back(db: &Fresh) {
    let store = db.open().await;
    let carol = Person {
        id: "3".into(),
        name: "carol".into(),
    };
    let freeze = |scope: Scope, until_ms: i64| Freeze {
        id: 0,
        scope,
        by: carol.clone(),
        reason: "incident 4411".into(),
        at_ms: 100,
        until_ms,
        lifted: None,
        holder: None,
    };
    let web = Scope::App(AppName::parse("web").unwrap());
    let api = Scope::App(AppName::parse("api").unwrap());
    let first = store.add_freeze(&freeze(web.clone(), 1000)).await.unwrap();
    store.add_freeze(&freeze(api.clone(), 1000)).await.unwrap();
    store.add_freeze(&freeze(Scope::All, 500)).await.unwrap();
    let holding = store.holding_freezes(200).await.unwrap();
    assert_eq!(holding.len(), 3);
    assert_eq!(holding[0].id, first);
    assert_eq!(holding[0].scope, web);
    assert_eq!(holding[0].by, carol);
    assert_eq!(
        store.holding_freezes(600).await.unwrap().len(),
        2,
        "all ended at 500"
    );

    let lifted = store.lift_freezes(&web, false, &carol, 300).await.unwrap();
    assert_eq!(lifted.len(), 1);
    assert_eq!(lifted[0].lifted, Some((carol.clone(), 300)));
    let holding: Vec<Scope> = store
        .holding_freezes(400)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.scope)
        .collect();
    assert_eq!(holding, [api, Scope::All]);
    assert_eq!(
        store
            .lift_freezes(&Scope::All, false, &carol, 450)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(store.holding_freezes(460).await.unwrap().is_empty());

    // A lock: its holder is kept; lifting freezes leaves it, lifting locks lifts it.
    let dave = Person {
        id: "4".into(),
        name: "dave".into(),
    };
    let lock = Freeze {
        by: dave.clone(),
        holder: Some(dave.clone()),
        at_ms: 470,
        until_ms: i64::MAX,
        ..freeze(web.clone(), 0)
    };
    store.add_freeze(&lock).await.unwrap();
    store.add_freeze(&freeze(web.clone(), 2000)).await.unwrap();
    let lifted = store.lift_freezes(&web, false, &carol, 480).await.unwrap();
    assert_eq!(lifted.len(), 1);
    assert_eq!(lifted[0].holder, None);
    let holding = store.holding_freezes(490).await.unwrap();
    assert_eq!(holding.len(), 1);
    assert_eq!(holding[0].holder, Some(dave.clone()));
    assert_eq!(holding[0].until_ms, i64::MAX);
    let lifted = store.lift_freezes(&web, true, &carol, 495).await.unwrap();
    assert_eq!(lifted.len(), 1);
    assert_eq!(lifted[0].holder, Some(dave));
    assert!(store.holding_freezes(500).await.unwrap().is_empty());

    // web's history: its own freezes and lock and the one on all apps, newest first.
    let log = store.freeze_history("web", 10).await.unwrap();
    assert_eq!(log.len(), 4);
    assert_eq!(log[3].scope, web);
    assert_eq!(log[2].scope, Scope::All);
    assert!(log.iter().all(|f| f.lifted.is_some()));
}

async fn deployed_lists_succeeded_deploys_newest_first(db: &Fresh) {
    let store = db.open().await;
    for (id, ended, state) in [
        (1, 5000, JobState::Succeeded),
        (2, 7000, JobState::Succeeded),
        (3, 8000, JobState::Failed),
        (4, 6000, JobState::Succeeded),
    ] {
        let mut r = record(id);
        r.state = state;
        r.ended_ms = Some(ended);
        store.save(&r).await.unwrap();
    }
    let ids = |jobs: Vec<JobRecord>| -> Vec<JobId> { jobs.iter().map(|r| r.id).collect() };
    assert_eq!(
        ids(store.deployed("web", 10).await.unwrap()),
        [JobId(2), JobId(4), JobId(1)]
    );
    assert_eq!(ids(store.deployed("web", 1).await.unwrap()), [JobId(2)]);
    assert!(store.deployed("api", 10).await.unwrap().is_empty());
}

async fn a_meta_value_is_made_once_and_kept(db: &Fresh) {
    {
        let store = db.open().await;
        assert_eq!(
            store
                .meta("webhook_secret", || "first".into())
                .await
                .unwrap(),
            "first"
        );
        assert_eq!(
            store
                .meta("webhook_secret", || unreachable!("already made"))
                .await
                .unwrap(),
            "first"
        );
    }
    let store = db.open().await;
    assert_eq!(
        store
            .meta("webhook_secret", || "second".into())
            .await
            .unwrap(),
        "first"
    );
    store.ping().await.unwrap();
}

async fn a_meta_value_is_swapped_only_from_what_it_is(db: &Fresh) {
    let store = db.open().await;
    store
        .meta("webhook_secret", || "first".into())
        .await
        .unwrap();
    assert_eq!(
        store
            .swap_meta("webhook_secret", "first", "second")
            .await
            .unwrap(),
        "second"
    );
    // Someone else swapped it first: theirs stays.
    assert_eq!(
        store
            .swap_meta("webhook_secret", "first", "third")
            .await
            .unwrap(),
        "second"
    );
    drop(store);
    let store = db.open().await;
    assert_eq!(
        store
            .meta("webhook_secret", || unreachable!("kept"))
            .await
            .unwrap(),
        "second"
    );
}

async fn an_empty_store_starts_at_job_one(db: &Fresh) {
    let store = db.open().await;
    assert_eq!(store.next_job_id().await.unwrap(), 1);
    assert_eq!(store.load(JobId(1)).await.unwrap(), None);
    assert!(store.unfinished().await.unwrap().is_empty());
    assert!(store.finished(10).await.unwrap().is_empty());
    assert!(store.claimed_executions(JobId(1)).await.unwrap().is_empty());
    assert!(store.holding_freezes(0).await.unwrap().is_empty());
    assert!(store.freeze_history("web", 10).await.unwrap().is_empty());
}
