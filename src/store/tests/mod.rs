//! The store's tests. Those in `jobs.rs` and `lease.rs` run on both backends: on SQLite
//! always, and on PostgreSQL when `RELEASEBOT_TEST_POSTGRES_URL` names a server (for
//! example `postgres://postgres@127.0.0.1:5432/postgres`), each in a database of its own
//! made for it and dropped after it; without the variable the PostgreSQL runs say they
//! were skipped. `sqlite.rs` and `postgres.rs` hold what only one backend has, `tls.rs`
//! PostgreSQL over TLS.

mod fixture;
mod golden;
mod jobs;
mod lease;
mod postgres;
mod sqlite;
mod tls;

use std::time::Duration;

use super::*;
use crate::chat::{Actor, MessageRef, ThreadRef};
use crate::job::approval::Request;
use crate::job::{
    Approval, ApprovalPolicy, AuditAction, DeployProgress, JobSpec, JobState, Person, RunIntent,
    Via,
};
use crate::names::{AppName, Branch, ProjectName, VersionTag};
use crate::paas::{AppId, ExecutionId};
pub(super) use fixture::{Fresh, temp_path};

/// Runs each named test (a `fn(&Fresh)`) on a fresh SQLite file, and on a fresh
/// PostgreSQL database when one is configured, as `<test>::sqlite` and
/// `<test>::postgres`.
macro_rules! on_both {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn sqlite() {
                super::$test(&super::Fresh::sqlite()).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = super::Fresh::postgres() {
                    super::$test(&db).await;
                }
            }
        }
    )*};
}
pub(super) use on_both;

/// A release job awaiting its second approval, with every part filled in.
pub(super) fn record(id: u64) -> JobRecord {
    let spec = JobSpec::Release {
        project: ProjectName::parse("web").unwrap(),
        branch: Branch::parse("master").unwrap(),
        app: AppName::parse("web").unwrap(),
        more: Vec::new(),
        parallel: false,
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
