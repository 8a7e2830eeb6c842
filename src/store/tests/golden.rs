//! The stored form of a job, pinned: each record below is encoded and compared with its
//! golden file in `tests/fixtures/stored/`, and each golden file decodes to the record.
//! A renamed field or variant in `crate::job` fails here instead of leaving rows that no
//! longer read. A deliberate change of the form is a new version of it (`stored.rs`),
//! with its golden files added beside the old ones, which keep decoding.
//!
//! `RELEASEBOT_BLESS=1 cargo test --lib golden` writes a golden file that is missing.

use std::path::PathBuf;

use super::*;
use crate::job::{
    CancelRequest, Cancellation, DeployOrigin, FreezeOverride, LogExcerpt, Notice, Outcome, Phase,
    QueuePlace, Resumed, Upgrade,
};
use crate::store::stored;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stored")
        .join(format!("{name}.json"))
}

/// A rollback through a freeze, its approval waived, that failed after reaching the app
/// and offers where to go back to; resumed by another replica on the way.
fn failed_rollback() -> JobRecord {
    let spec = JobSpec::Deploy {
        app: AppName::parse("api").unwrap(),
        tag: VersionTag::parse("v1.0.1").unwrap(),
        origin: DeployOrigin::Rollback { waived: true },
    };
    let carol = Person {
        id: "u3".into(),
        name: "carol".into(),
    };
    let mut r = JobRecord::new(JobId(7), spec, carol, "ops", 10_000);
    r.freeze_override = Some(FreezeOverride {
        by: "carol".into(),
        reason: "incident 42".into(),
        at_ms: 10_000,
    });
    r.queue = Some(QueuePlace {
        joined_ms: 10_100,
        behind: None,
    });
    r.resumed = Some(Resumed {
        at_ms: 11_000,
        by_replica: Some("b-1-xyz".into()),
    });
    let mut d = DeployProgress::new(
        AppId::parse("api-deploy").unwrap(),
        VersionTag::parse("v1.0.1").unwrap(),
    );
    d.from_tag = Some("v1.0.2".into());
    d.looked_up = true;
    d.upgrade = Upgrade::Sent {
        intent_ms: 10_200,
        at_ms: 10_300,
    };
    d.rollout.picked_up_ms = Some(10_400);
    d.rollout.phases = vec![Phase::Installing, Phase::Failed];
    d.rollout.message = Some("helm: timed out".into());
    d.rollout.failed = true;
    d.rollback_to = Some(VersionTag::parse("v1.0.0").unwrap());
    d.waived.freeze = true;
    d.waived.approval = true;
    r.deploy = Some(d);
    r.logs = Some(LogExcerpt {
        lines: vec!["starting".into(), "panic: [redacted]".into()],
        missing: false,
        error: None,
        read_ms: 12_000,
        first_ms: 11_500,
        unchanged: 1,
        settled: true,
    });
    r.notice = Some(Notice::WaitingForDatabase);
    r.end(
        Outcome::DeployFailed {
            app: AppName::parse("api").unwrap(),
            tag: VersionTag::parse("v1.0.1").unwrap(),
            message: "helm: timed out".into(),
        },
        12_500,
    );
    r
}

/// A build cancelled while it ran, others following it.
fn cancelled_build() -> JobRecord {
    let spec = JobSpec::Build {
        project: ProjectName::parse("web").unwrap(),
        branch: Branch::parse("feature/x").unwrap(),
    };
    let dave = Person {
        id: "u4".into(),
        name: "dave".into(),
    };
    let mut r = JobRecord::new(JobId(3), spec, dave, "dev", 5_000);
    r.cancel = Some(CancelRequest {
        by: "dave".into(),
        at_ms: 6_000,
    });
    r.notice = Some(Notice::PaasUnreachable {
        error: "connection refused".into(),
    });
    let build = r.build.as_mut().unwrap();
    build.execution = Some(ExecutionId::parse("p-5tfq9:p-tpk2x-12").unwrap());
    r.end(
        Outcome::Cancelled {
            by: "dave".into(),
            detail: Cancellation::BuildGoesOn {
                build: "p-tpk2x-12".into(),
            },
        },
        6_100,
    );
    r
}

/// A release to two apps, all at once, that failed at the second; and its first leg.
fn failed_release_to_two_apps() -> (JobRecord, JobRecord) {
    let (api, worker) = (
        AppName::parse("api").unwrap(),
        AppName::parse("worker").unwrap(),
    );
    let tag = VersionTag::parse("master-4-abc1234").unwrap();
    let spec = JobSpec::Release {
        project: ProjectName::parse("shop").unwrap(),
        branch: Branch::parse("master").unwrap(),
        app: api.clone(),
        more: vec![worker.clone()],
        parallel: true,
    };
    let alice = Person {
        id: "u1".into(),
        name: "alice".into(),
    };
    let mut r = JobRecord::new(JobId(20), spec, alice.clone(), "releases", 20_000);
    let mut l = crate::job::legs::Legs::new(tag.clone(), &[&api, &worker]);
    l.apps[0].job = Some(JobId(21));
    l.apps[0].from_tag = Some("master-3-0aa0aa0".into());
    l.apps[0].state = Some(JobState::Succeeded);
    l.apps[0].reached = true;
    l.apps[0].outcome = Some(Outcome::Succeeded);
    l.apps[0].logs = vec!["api ready".into()];
    l.apps[1].job = Some(JobId(22));
    l.apps[1].state = Some(JobState::Queued);
    l.apps[1].behind = Some(JobId(19));
    r.legs = Some(l);
    r.end(
        Outcome::LegFailed {
            app: worker,
            job: Some(JobId(22)),
            outcome: Box::new(Outcome::ApprovalExpired { after_ms: 60_000 }),
        },
        30_000,
    );
    let leg = JobSpec::Deploy {
        app: api,
        tag,
        origin: DeployOrigin::Release {
            release: JobId(20),
            project: ProjectName::parse("shop").unwrap(),
            image: Some("harbor.example.com/shop:master-4-abc1234".into()),
        },
    };
    let leg = JobRecord::new(JobId(21), leg, alice, "releases", 21_000);
    (r, leg)
}

/// A deploy refused by another person's lock when it reached the app, its end
/// announced.
fn locked_deploy() -> JobRecord {
    let spec = JobSpec::Deploy {
        app: AppName::parse("web").unwrap(),
        tag: VersionTag::parse("v2.0.0").unwrap(),
        origin: DeployOrigin::Request,
    };
    let erin = Person {
        id: "u5".into(),
        name: "erin".into(),
    };
    let mut r = JobRecord::new(JobId(9), spec, erin, "ops", 20_000);
    r.end(
        Outcome::Locked {
            app: AppName::parse("web").unwrap(),
            holder: "carol".into(),
            reason: "verifying the fix".into(),
            since_ms: 19_000,
        },
        20_500,
    );
    r.announced = true;
    r
}

fn each() -> Vec<(&'static str, JobRecord)> {
    let (release, leg) = failed_release_to_two_apps();
    vec![
        ("v3-release-awaiting-approval", record(1)),
        ("v3-failed-rollback", failed_rollback()),
        ("v3-cancelled-build", cancelled_build()),
        ("v3-failed-release-to-two-apps", release),
        ("v3-leg-of-a-release", leg),
        ("v3-locked-deploy", locked_deploy()),
    ]
}

#[test]
fn each_job_is_stored_as_its_golden_file_says_and_read_back_from_it() {
    for (name, r) in each() {
        let path = golden(name);
        let encoded = stored::encode(&r);
        let pretty: serde_json::Value = serde_json::from_str(&encoded).unwrap();
        let pretty = serde_json::to_string_pretty(&pretty).unwrap() + "\n";
        if !path.exists() && std::env::var_os("RELEASEBOT_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &pretty).unwrap();
        }
        let kept = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (RELEASEBOT_BLESS=1 writes it)", path.display()));
        let want: serde_json::Value = serde_json::from_str(&kept).unwrap();
        let got: serde_json::Value = serde_json::from_str(&encoded).unwrap();
        assert_eq!(got, want, "{name}: the stored form changed");
        let read = stored::decode(r.id, &kept, r.audit.clone()).unwrap();
        assert_eq!(read, r, "{name}: the golden file reads back as the record");
    }
}
