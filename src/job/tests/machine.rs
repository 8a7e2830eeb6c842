//! A job's life through `next` and `apply`, without I/O: each test plays the engine.

use std::time::Duration;

use crate::chat::{Actor, MessageRef, ThreadRef};
use crate::ids::{AppId, ExecutionId};
use crate::job::build::{BuildReading, BuildVerdict};
use crate::job::decisions;
use crate::job::machine::{Context, Event, LogsRead, Settings, Step, apply, next};
use crate::job::rollout::{Cond, CondStatus};
use crate::job::{
    AppSnapshot, ApprovalPolicy, Cancellation, DeployOrigin, JobRecord, JobSpec, JobState, Outcome,
    Person, RunIntent, Timed, Via, VoteResult,
};
use crate::names::{AppName, Branch, JobId, ProjectName, VersionTag};

fn cx(approval: bool) -> Context {
    Context {
        settings: Settings::default(),
        project_configured: true,
        app_id: Some(AppId::parse("project-deploy").unwrap()),
        approval: approval.then(|| ApprovalPolicy {
            approvers: vec!["lead".into()],
            votes: 1,
            timeout: Duration::from_secs(600),
            allow_self_approval: false,
        }),
        frozen: Vec::new(),
    }
}

fn release() -> JobRecord {
    let spec = JobSpec::Release {
        project: ProjectName::parse("web").unwrap(),
        branch: Branch::parse("master").unwrap(),
        app: AppName::parse("web").unwrap(),
        more: Vec::new(),
        parallel: false,
    };
    with_messages(JobRecord::new(JobId(1), spec, alice(), "releases", 0))
}

fn deploy() -> JobRecord {
    let spec = JobSpec::Deploy {
        app: AppName::parse("web").unwrap(),
        tag: VersionTag::parse("v2").unwrap(),
        origin: DeployOrigin::Request,
    };
    with_messages(JobRecord::new(JobId(1), spec, alice(), "releases", 0))
}

fn alice() -> Person {
    Person {
        id: "alice".into(),
        name: "alice".into(),
    }
}

fn with_messages(mut r: JobRecord) -> JobRecord {
    let m = |id: &str| MessageRef {
        channel: "t".into(),
        message: id.into(),
    };
    r.messages.thread = Some(ThreadRef {
        channel: "releases".into(),
        thread: "t".into(),
        summary: m("s"),
    });
    r.messages.progress = Some(m("p"));
    r
}

/// A reading of run 7: `state` is what the build shows (`Waiting`, `Building`,
/// `Success`), with the tag the PaaS reported, if any.
fn execution(state: &str, tag: Option<&str>) -> BuildReading {
    let verdict = match (state, tag) {
        ("Success", Some(_)) => BuildVerdict::Succeeded,
        ("Success", None) => BuildVerdict::SucceededWithoutTag,
        _ => BuildVerdict::Running,
    };
    BuildReading {
        id: ExecutionId::parse("p-5tfq9:p-tpk2x-7").unwrap(),
        stages: Vec::new(),
        image: tag.map(|t| format!("harbor/web:{t}")),
        tag: tag.map(str::to_string),
        chart: None,
        commit: None,
        message: None,
        author: None,
        verdict,
    }
}

/// The app in `state` at `revision`, its conditions as that state has them.
fn app(state: &str, revision: u32) -> AppSnapshot {
    let cond = |pending: bool| {
        Some(Cond {
            status: if pending {
                CondStatus::Unknown
            } else {
                CondStatus::True
            },
            updated_ms: None,
            message: None,
        })
    };
    AppSnapshot {
        state: Some(state.to_string()),
        revision: Some(format!("apprevision-{revision}")),
        installed: cond(state == "installing"),
        deployed: cond(state == "deploying"),
        ..AppSnapshot::default()
    }
}

/// Plays a deploy from `Upgrade` to the end of its logs; returns the steps seen.
fn roll_out(r: &mut JobRecord, cx: &Context, mut now: i64) -> (Vec<Step>, i64) {
    let mut steps = Vec::new();
    loop {
        let step = next(r, now, cx);
        steps.push(step.clone());
        match step {
            Step::Upgrade => {
                apply(
                    r,
                    Event::UpgradeIntended {
                        baseline: app("active", 1),
                    },
                    now,
                    cx,
                );
                apply(r, Event::UpgradeSent { answer: None }, now, cx);
            }
            Step::FollowRollout { .. } => {
                now += 5_000;
                let reading = if now <= 5_000 {
                    app("active", 1)
                } else if now <= 10_000 {
                    app("installing", 1)
                } else if now <= 15_000 {
                    app("deploying", 2)
                } else {
                    app("active", 2)
                };
                apply(r, Event::AppSeen(reading), now, cx);
            }
            Step::FetchLogs { at_ms } => {
                now = now.max(at_ms);
                apply(
                    r,
                    Event::LogsRead(LogsRead::Lines(vec!["ready".into()])),
                    now,
                    cx,
                );
            }
            Step::Finish => return (steps, now),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn a_release_builds_then_deploys_its_tag_then_reads_the_logs() {
    let cx = cx(false);
    let mut r = release();
    assert_eq!(next(&mut r, 0, &cx), Step::StartBuild);
    apply(
        &mut r,
        Event::RunIntended(RunIntent {
            at_ms: 0,
            next_run: Some(7),
        }),
        0,
        &cx,
    );
    apply(
        &mut r,
        Event::RunStarted {
            execution: execution("Waiting", None),
            found: false,
        },
        0,
        &cx,
    );
    assert!(matches!(next(&mut r, 1, &cx), Step::FollowBuild { .. }));
    assert_eq!(r.state, JobState::Building);
    apply(
        &mut r,
        Event::ExecutionSeen(execution("Success", Some("master-7-abc"))),
        2,
        &cx,
    );
    assert_eq!(next(&mut r, 3, &cx), Step::LookUpCurrent);
    apply(&mut r, Event::CurrentFound(Some("v1".into())), 3, &cx);
    assert_eq!(next(&mut r, 3, &cx), Step::AwaitTurn);
    apply(&mut r, Event::QueueAhead(None), 3, &cx);
    let (steps, _) = roll_out(&mut r, &cx, 3);
    assert_eq!(r.state, JobState::Succeeded, "{steps:?}");
    assert_eq!(r.deploy_tag().unwrap().as_str(), "master-7-abc");
    assert_eq!(r.deploy.as_ref().unwrap().from_tag.as_deref(), Some("v1"));
    assert!(
        steps
            .iter()
            .filter(|s| matches!(s, Step::FetchLogs { .. }))
            .count()
            >= 2,
        "read until quiet"
    );
}

#[test]
fn a_tag_filled_after_success_is_waited_for_then_given_up_on() {
    let cx = cx(false);
    let mut r = release();
    next(&mut r, 0, &cx);
    apply(
        &mut r,
        Event::RunStarted {
            execution: execution("Success", None),
            found: false,
        },
        0,
        &cx,
    );
    match next(&mut r, 1_000, &cx) {
        Step::FollowBuild { wake_ms, .. } => {
            assert_eq!(wake_ms, 60_000, "woken when the wait ends")
        }
        other => panic!("{other:?}"),
    }
    apply(
        &mut r,
        Event::ExecutionSeen(execution("Success", Some("master-7-abc"))),
        20_000,
        &cx,
    );
    assert_eq!(
        next(&mut r, 20_000, &cx),
        Step::LookUpCurrent,
        "the tag came"
    );

    let mut r = release();
    next(&mut r, 0, &cx);
    apply(
        &mut r,
        Event::RunStarted {
            execution: execution("Success", None),
            found: false,
        },
        0,
        &cx,
    );
    assert_eq!(next(&mut r, 60_000, &cx), Step::Finish);
    assert!(
        matches!(r.outcome, Some(Outcome::NoVersionTag { .. })),
        "{:?}",
        r.outcome
    );
}

#[test]
fn an_upgrade_the_paas_never_takes_up_ends_saying_so() {
    let cx = cx(false);
    let mut r = deploy();
    next(&mut r, 0, &cx);
    apply(&mut r, Event::CurrentFound(None), 0, &cx);
    next(&mut r, 0, &cx);
    apply(&mut r, Event::QueueAhead(None), 0, &cx);
    assert_eq!(next(&mut r, 0, &cx), Step::Upgrade);
    apply(
        &mut r,
        Event::UpgradeIntended {
            baseline: app("active", 1),
        },
        0,
        &cx,
    );
    apply(&mut r, Event::UpgradeSent { answer: None }, 0, &cx);
    for t in (5_000..120_000).step_by(5_000) {
        assert!(matches!(next(&mut r, t, &cx), Step::FollowRollout { .. }));
        apply(&mut r, Event::AppSeen(app("active", 1)), t, &cx);
    }
    assert_eq!(next(&mut r, 120_000, &cx), Step::Finish);
    match &r.outcome {
        Some(Outcome::NoSignOfUpgrade { shows, .. }) => {
            assert!(shows.contains("active"), "{shows}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.state, JobState::Failed);
}

#[test]
fn a_rollout_past_its_deadline_times_out() {
    let cx = cx(false);
    let mut r = deploy();
    next(&mut r, 0, &cx);
    apply(&mut r, Event::CurrentFound(None), 0, &cx);
    next(&mut r, 0, &cx);
    apply(&mut r, Event::QueueAhead(None), 0, &cx);
    next(&mut r, 0, &cx);
    apply(
        &mut r,
        Event::UpgradeIntended {
            baseline: app("active", 1),
        },
        0,
        &cx,
    );
    apply(&mut r, Event::UpgradeSent { answer: None }, 0, &cx);
    apply(&mut r, Event::AppSeen(app("installing", 1)), 1_000, &cx);
    assert_eq!(next(&mut r, 30 * 60_000, &cx), Step::Finish);
    assert!(matches!(
        r.outcome,
        Some(Outcome::TimedOut {
            step: Timed::Rollout,
            ..
        })
    ));
}

#[test]
fn an_approval_is_asked_for_granted_and_the_deploy_goes_on() {
    let cx = cx(true);
    let mut r = deploy();
    assert_eq!(next(&mut r, 0, &cx), Step::LookUpCurrent);
    apply(&mut r, Event::CurrentFound(Some("v1".into())), 0, &cx);
    assert_eq!(next(&mut r, 0, &cx), Step::RequestApproval);
    assert_eq!(r.state, JobState::AwaitingApproval);
    assert_eq!(r.approval.as_ref().unwrap().from_tag.as_deref(), Some("v1"));
    apply(
        &mut r,
        Event::ApprovalPosted(MessageRef {
            channel: "t".into(),
            message: "a".into(),
        }),
        0,
        &cx,
    );
    assert_eq!(
        next(&mut r, 1, &cx),
        Step::AwaitApproval {
            deadline_ms: 600_000
        }
    );
    let alice = Actor::new("alice", "alice", vec!["lead".into()]);
    assert!(matches!(
        decisions::vote(&mut r, &alice, true, Via::Reaction, 2),
        VoteResult::Refused(_)
    ));
    let bob = Actor::new("bob", "bob", vec!["lead".into()]);
    assert_eq!(
        decisions::vote(&mut r, &bob, true, Via::Reaction, 3),
        VoteResult::Approved
    );
    assert_eq!(next(&mut r, 4, &cx), Step::AwaitTurn);
}

#[test]
fn an_unanswered_approval_expires_and_nothing_is_deployed() {
    let cx = cx(true);
    let mut r = deploy();
    next(&mut r, 0, &cx);
    apply(&mut r, Event::CurrentFound(None), 0, &cx);
    next(&mut r, 0, &cx);
    apply(
        &mut r,
        Event::ApprovalPosted(MessageRef {
            channel: "t".into(),
            message: "a".into(),
        }),
        0,
        &cx,
    );
    assert_eq!(next(&mut r, 600_000, &cx), Step::Finish);
    assert_eq!(r.state, JobState::TimedOut);
    assert!(r.deploy.as_ref().unwrap().intent_ms().is_none());
}

#[test]
fn a_cancel_stops_a_build_this_job_started_and_withdraws_a_waiting_deploy() {
    let cx = cx(false);
    let mut r = release();
    next(&mut r, 0, &cx);
    apply(
        &mut r,
        Event::RunStarted {
            execution: execution("Building", None),
            found: false,
        },
        0,
        &cx,
    );
    decisions::cancel(&mut r, "alice", 1).unwrap();
    let Step::StopBuild { .. } = next(&mut r, 1, &cx) else {
        panic!()
    };
    apply(
        &mut r,
        Event::BuildStopped(crate::job::StopResult::Stopped),
        2,
        &cx,
    );
    assert_eq!(next(&mut r, 2, &cx), Step::Finish);
    assert!(matches!(
        r.outcome,
        Some(Outcome::Cancelled {
            detail: Cancellation::BuildStopped { .. },
            ..
        })
    ));

    let mut r = deploy();
    next(&mut r, 0, &cx);
    apply(&mut r, Event::CurrentFound(None), 0, &cx);
    next(&mut r, 0, &cx);
    apply(&mut r, Event::QueueAhead(Some(JobId(9))), 0, &cx);
    decisions::cancel(&mut r, "alice", 1).unwrap();
    assert_eq!(next(&mut r, 1, &cx), Step::Finish);
    assert!(matches!(
        r.outcome,
        Some(Outcome::Cancelled {
            detail: Cancellation::WhileQueued,
            ..
        })
    ));

    // Once the upgrade is on its way, a rollout cannot be stopped half way.
    let mut r = deploy();
    next(&mut r, 0, &cx);
    apply(&mut r, Event::CurrentFound(None), 0, &cx);
    next(&mut r, 0, &cx);
    apply(&mut r, Event::QueueAhead(None), 0, &cx);
    next(&mut r, 0, &cx);
    apply(
        &mut r,
        Event::UpgradeIntended {
            baseline: app("active", 1),
        },
        0,
        &cx,
    );
    assert!(decisions::cancel(&mut r, "alice", 1).is_err());
}

#[test]
fn a_restart_between_the_intent_and_the_answer_finds_what_happened() {
    let cx = cx(false);
    let mut r = release();
    apply(
        &mut r,
        Event::RunIntended(RunIntent {
            at_ms: 0,
            next_run: Some(7),
        }),
        0,
        &cx,
    );
    let Step::RecoverRun { intent } = next(&mut r, 1, &cx) else {
        panic!()
    };
    assert_eq!(intent.next_run, Some(7));
    apply(&mut r, Event::RunNotFound, 2, &cx);
    assert_eq!(
        next(&mut r, 2, &cx),
        Step::StartBuild,
        "never sent, so it is sent now"
    );

    let mut r = deploy();
    next(&mut r, 0, &cx);
    apply(&mut r, Event::CurrentFound(None), 0, &cx);
    next(&mut r, 0, &cx);
    apply(&mut r, Event::QueueAhead(None), 0, &cx);
    next(&mut r, 0, &cx);
    apply(
        &mut r,
        Event::UpgradeIntended {
            baseline: app("active", 1),
        },
        0,
        &cx,
    );
    assert_eq!(next(&mut r, 1, &cx), Step::RecoverUpgrade);
    apply(&mut r, Event::UpgradeChecked(app("installing", 1)), 2, &cx);
    assert!(
        matches!(next(&mut r, 2, &cx), Step::FollowRollout { .. }),
        "it was carried out"
    );
}
