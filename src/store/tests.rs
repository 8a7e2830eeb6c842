use std::time::Duration;

use rusqlite::Connection;

use super::*;
use crate::chat::{Actor, MessageRef, ThreadRef};
use crate::job::approval::Request;
use crate::job::{
    Approval, ApprovalPolicy, AuditAction, DeployProgress, JobSpec, JobState, Person, RunIntent,
    Via,
};
use crate::names::{AppName, Branch, ProjectName, VersionTag};
use crate::paas::{AppId, ExecutionId};

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "releasebot-store-{name}-{}-{}.db",
        std::process::id(),
        fastrand::u64(..)
    ))
}

fn record(id: u64) -> JobRecord {
    let spec = JobSpec::Release {
        project: ProjectName::parse("web").unwrap(),
        branch: Branch::parse("master").unwrap(),
        app: AppName::parse("web").unwrap(),
    };
    let requester = Person {
        id: "u1".into(),
        name: "alice".into(),
    };
    let mut r = JobRecord::new(JobId(id), spec, requester, "releases", 1000);
    r.state = JobState::AwaitingApproval;
    r.updated_ms = 2000;
    r.messages.thread = Some(ThreadRef {
        channel: "releases".into(),
        thread: "t1".into(),
        summary: MessageRef {
            channel: "releases".into(),
            message: "m1".into(),
        },
    });
    r.messages.progress = Some(MessageRef {
        channel: "t1".into(),
        message: "m2".into(),
    });
    let build = r.build.as_mut().unwrap();
    build.execution = Some(ExecutionId::parse("p-5tfq9:p-tpk2x-1").unwrap());
    build.intent = Some(RunIntent {
        at_ms: 1500,
        next_run: Some(1),
    });
    build.tag = Some("master-1-abc".into());
    build.finished = true;
    let tag = VersionTag::parse("master-1-abc").unwrap();
    r.deploy = Some(DeployProgress::new(
        AppId::parse("project-deploy").unwrap(),
        tag.clone(),
    ));
    let policy = ApprovalPolicy {
        approvers: vec!["lead".into()],
        votes: 2,
        timeout: Duration::from_secs(3600),
        allow_self_approval: false,
    };
    let app = AppName::parse("web").unwrap();
    let mut a = Approval::new(
        Request {
            app: &app,
            tag: &tag,
            image: Some("img:master-1-abc".into()),
            from_tag: Some("master-0-fff".into()),
            requester_id: "u1",
            requester: "alice",
        },
        policy,
        1000,
    );
    a.approve(
        &Actor::new("u2", "bob", vec!["lead".into()]),
        1500,
        Via::Reaction,
    );
    r.approval = Some(a);
    r.audit(1500, Some("bob"), AuditAction::Vote, "approve (1 of 2)");
    r
}

#[test]
fn a_job_round_trips_with_its_approval_votes_and_audit() {
    let store = Store::open_in_memory().unwrap();
    let r = record(7);
    store.save(&r).unwrap();
    assert_eq!(store.load(JobId(7)).unwrap(), Some(r.clone()));
    // Saving again adds only the new audit entries and replaces the votes.
    let mut r2 = r.clone();
    r2.audit(1600, Some("carol"), AuditAction::Approve, "approved");
    r2.approval.as_mut().unwrap().approve(
        &Actor::new("u3", "carol", vec!["lead".into()]),
        1600,
        Via::Button,
    );
    store.save(&r2).unwrap();
    let loaded = store.load(JobId(7)).unwrap().unwrap();
    assert_eq!(loaded, r2);
    assert_eq!(loaded.audit.len(), 3);
    assert_eq!(loaded.approval.unwrap().votes.len(), 2);
    assert_eq!(store.next_job_id().unwrap(), 8);
}

#[test]
fn unfinished_history_and_claims_are_queried() {
    let store = Store::open_in_memory().unwrap();
    let mut done = record(1);
    done.ended_ms = Some(5000);
    done.state = JobState::Succeeded;
    store.save(&done).unwrap();
    let mut other = record(2);
    other.build.as_mut().unwrap().execution =
        Some(ExecutionId::parse("p-5tfq9:p-tpk2x-2").unwrap());
    store.save(&other).unwrap();
    assert_eq!(
        store
            .unfinished()
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [JobId(2)]
    );
    assert_eq!(
        store
            .history("web", 10)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [JobId(2), JobId(1)]
    );
    assert_eq!(store.history("web", 1).unwrap().len(), 1);
    assert!(store.history("api", 10).unwrap().is_empty());
    assert_eq!(store.finished(10).unwrap().len(), 1);
    assert_eq!(
        store.claimed_executions(JobId(2)).unwrap(),
        ["p-5tfq9:p-tpk2x-1"]
    );
}

#[test]
fn a_file_survives_reopening() {
    let path = temp_path("reopen");
    {
        let store = Store::open(&path).unwrap();
        store.save(&record(3)).unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.load(JobId(3)).unwrap(), Some(record(3)));
    assert_eq!(store.next_job_id().unwrap(), 4);
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[test]
fn a_second_releasebot_on_the_same_file_is_refused() {
    let path = temp_path("locked");
    let first = Store::open(&path).unwrap();
    let second = Store::open(&path).unwrap_err();
    assert!(matches!(second, StoreError::Locked { .. }), "{second}");
    drop(first);
    assert!(
        Store::open(&path).is_ok(),
        "the lock goes with the first process"
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[test]
fn a_damaged_or_foreign_file_is_refused_not_replaced() {
    let path = temp_path("corrupt");
    std::fs::write(
        &path,
        b"this is not an SQLite database, it is a text file that someone left here",
    )
    .unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::Damaged { .. }), "{e}");
    assert!(
        std::fs::read(&path).unwrap().starts_with(b"this is not"),
        "the file was left alone"
    );
    let _ = std::fs::remove_file(&path);

    let e = Store::open(std::path::Path::new("/nonexistent-dir/releasebot.db")).unwrap_err();
    assert!(matches!(e, StoreError::CannotOpen { .. }), "{e}");
}

#[test]
fn a_newer_schema_is_refused() {
    let path = temp_path("newer");
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::Newer { version: 99, .. }), "{e}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_finished_job_keeps_its_typed_outcome() {
    let store = Store::open_in_memory().unwrap();
    let mut r = record(4);
    r.end(
        crate::job::Outcome::NoSignOfUpgrade {
            app: AppName::parse("web").unwrap(),
            tag: VersionTag::parse("master-1-abc").unwrap(),
            shows: "active, tag master-1-abc".into(),
        },
        9000,
    );
    store.save(&r).unwrap();
    assert_eq!(store.load(JobId(4)).unwrap(), Some(r));
}

#[test]
fn freezes_are_kept_lifted_and_read_back() {
    use crate::freeze::{Freeze, Scope};
    let store = Store::open_in_memory().unwrap();
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
    };
    let web = Scope::App(AppName::parse("web").unwrap());
    let api = Scope::App(AppName::parse("api").unwrap());
    let first = store.add_freeze(&freeze(web.clone(), 1000)).unwrap();
    store.add_freeze(&freeze(api.clone(), 1000)).unwrap();
    store.add_freeze(&freeze(Scope::All, 500)).unwrap();
    let holding = store.holding_freezes(200).unwrap();
    assert_eq!(holding.len(), 3);
    assert_eq!(holding[0].id, first);
    assert_eq!(holding[0].scope, web);
    assert_eq!(holding[0].by, carol);
    assert_eq!(
        store.holding_freezes(600).unwrap().len(),
        2,
        "all ended at 500"
    );

    let lifted = store.lift_freezes(&web, &carol, 300).unwrap();
    assert_eq!(lifted.len(), 1);
    assert_eq!(lifted[0].lifted, Some((carol.clone(), 300)));
    let holding: Vec<Scope> = store
        .holding_freezes(400)
        .unwrap()
        .into_iter()
        .map(|f| f.scope)
        .collect();
    assert_eq!(holding, [api, Scope::All]);
    assert_eq!(
        store.lift_freezes(&Scope::All, &carol, 450).unwrap().len(),
        2
    );
    assert!(store.holding_freezes(460).unwrap().is_empty());

    // web's history: its own freeze and the one on all apps, newest first.
    let log = store.freeze_history("web", 10).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].scope, Scope::All);
    assert!(log.iter().all(|f| f.lifted.is_some()));
}
