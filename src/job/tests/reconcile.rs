//! Votes read back from an approval message's reactions after releasebot was not
//! listening: what the missed reactions do, under the rules live ones follow.

use std::time::Duration;

use crate::chat::Actor;
use crate::job::approval::Request;
use crate::job::decisions::{self, reconcile};
use crate::job::{
    Approval, ApprovalPolicy, ApprovalStatus, DeployOrigin, JobRecord, JobSpec, Person, Via,
    VoteRefusal, VoteResult,
};
use crate::names::{AppName, JobId, VersionTag};

fn pending(votes: u32) -> JobRecord {
    let app = AppName::parse("web").unwrap();
    let tag = VersionTag::parse("v2").unwrap();
    let spec = JobSpec::Deploy {
        app: app.clone(),
        tag: tag.clone(),
        origin: DeployOrigin::Request,
    };
    let alice = Person {
        id: "alice".into(),
        name: "alice".into(),
    };
    let mut r = JobRecord::new(JobId(1), spec, alice, "releases", 0);
    let policy = ApprovalPolicy {
        approvers: vec!["lead".into()],
        votes,
        timeout: Duration::from_secs(600),
        allow_self_approval: false,
    };
    let request = Request {
        app: &app,
        tag: &tag,
        image: None,
        from_tag: None,
        requester_id: "alice",
        requester: "alice",
    };
    r.approval = Some(Approval::new(request, policy, 0));
    r
}

fn lead(name: &str) -> Actor {
    Actor::new(name, name, vec!["lead".into()])
}

fn votes(r: &JobRecord) -> Vec<&str> {
    let a = r.approval.as_ref().unwrap();
    a.votes.iter().map(|v| v.user_id.as_str()).collect()
}

#[test]
fn a_missed_approval_counts_and_a_missed_removal_withdraws() {
    let mut r = pending(3);
    decisions::vote(&mut r, &lead("bob"), true, Via::Reaction, 1);
    decisions::vote(&mut r, &lead("carol"), true, Via::Button, 2);
    // While away: bob took his ✅ back, dave added one. carol voted by button, so
    // her vote has no reaction to lose.
    let done = reconcile(&mut r, &[lead("dave")], &[], 5);
    let results: Vec<_> = done
        .iter()
        .map(|(a, v)| (a.id.as_str(), v.clone()))
        .collect();
    assert_eq!(
        results,
        [
            ("bob", VoteResult::Withdrawn { have: 1, need: 3 }),
            ("dave", VoteResult::Counted { have: 2, need: 3 }),
        ]
    );
    assert_eq!(votes(&r), ["carol", "dave"]);
    // Read again: nothing more to do, and nothing is counted twice.
    assert!(reconcile(&mut r, &[lead("dave")], &[], 6).is_empty());
    // Bob reacts again while away: the quorum is reached.
    let done = reconcile(&mut r, &[lead("dave"), lead("bob")], &[], 7);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1, VoteResult::Approved);
    assert_eq!(
        r.approval.as_ref().unwrap().status,
        ApprovalStatus::Approved { at_ms: 7 }
    );
}

#[test]
fn missed_reactions_follow_the_rules_of_live_ones() {
    let mut r = pending(1);
    let alice = lead("alice");
    let dave = Actor::new("dave", "dave", vec!["developer".into()]);
    let done = reconcile(&mut r, &[alice, dave.clone()], &[dave], 5);
    let refusals: Vec<_> = done
        .iter()
        .map(|(a, v)| match v {
            VoteResult::Refused(why) => (a.id.as_str(), why.clone()),
            other => panic!("{other:?} counted"),
        })
        .collect();
    assert!(matches!(
        refusals[0],
        ("dave", VoteRefusal::NotAnApprover { .. })
    ));
    assert_eq!(refusals[1], ("alice", VoteRefusal::OwnRequest));
    assert!(matches!(
        refusals[2],
        ("dave", VoteRefusal::NotAnApprover { .. })
    ));
    assert!(r.approval.as_ref().unwrap().status.is_pending());
    assert!(votes(&r).is_empty());
}

#[test]
fn a_missed_rejection_wins_over_missed_approvals() {
    let mut r = pending(1);
    let done = reconcile(&mut r, &[lead("bob")], &[lead("carol")], 5);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1, VoteResult::Rejected);
    assert!(matches!(
        r.approval.as_ref().unwrap().status,
        ApprovalStatus::Rejected { .. }
    ));
    assert!(votes(&r).is_empty());
}

#[test]
fn a_closed_request_is_left_alone() {
    let mut r = pending(1);
    decisions::vote(&mut r, &lead("bob"), true, Via::Command, 1);
    assert!(reconcile(&mut r, &[], &[lead("carol")], 5).is_empty());
    assert_eq!(votes(&r), ["bob"]);
}
