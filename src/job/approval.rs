//! Approval of a deploy: who may vote, how many must, until when, and what each vote
//! does. Pure state; the job that owns it decides what happens next.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::chat::Actor;
use crate::names::{AppName, JobId, VersionTag};

/// How approvals of an app's deploys work (`[apps.<name>]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    /// Roles whose votes count; empty means deploys need no approval.
    pub approvers: Vec<String>,
    /// How many distinct approvers must approve.
    pub votes: u32,
    /// How long a request waits for its votes (kept in whole seconds).
    #[serde(with = "seconds")]
    pub timeout: Duration,
    /// Whether the requester may approve their own request.
    pub allow_self_approval: bool,
}

impl ApprovalPolicy {
    pub fn none() -> Self {
        ApprovalPolicy {
            approvers: Vec::new(),
            votes: 1,
            timeout: Duration::from_secs(3600),
            allow_self_approval: false,
        }
    }

    pub fn required(&self) -> bool {
        !self.approvers.is_empty()
    }

    /// Whether a rollback of an app under this policy skips its approval: the app
    /// needs one and lets rollbacks go without (`rollback_approval = false`).
    pub fn waived_for_rollback(&self, rollback_approval: bool) -> bool {
        self.required() && !rollback_approval
    }

    /// The approval `spec` needs under this policy: none where the policy asks none,
    /// for a rollback whose approval was waived when it was asked for, or for one app
    /// of a release to several (the release was approved).
    pub fn for_job(&self, spec: &crate::job::JobSpec) -> Option<ApprovalPolicy> {
        // A leg of a release to several apps was approved with its release.
        let waived = matches!(
            spec,
            crate::job::JobSpec::Deploy {
                origin: crate::job::DeployOrigin::Rollback { waived: true }
                    | crate::job::DeployOrigin::Release { .. },
                ..
            }
        );
        (self.required() && !waived).then(|| self.clone())
    }
}

/// A duration as whole seconds, as the policy has always been kept.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// One approver's ✅.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub user_id: String,
    pub name: String,
    pub at_ms: i64,
    pub via: Via,
}

/// How a vote was given. A vote given by reacting is taken back by removing the
/// reaction, so the reactions on the approval message are the truth for those votes
/// (even for changes made while releasebot was not listening); the others stand
/// until withdrawn where they were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Reaction,
    Button,
    /// Last: a way this releasebot does not know stands like a command.
    #[serde(other)]
    Command,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Reaction => "reaction",
            Via::Button => "button",
            Via::Command => "command",
        }
    }

    /// The stored word; votes stored before it was kept are treated as not taken back
    /// by removing a reaction.
    pub fn parse(s: Option<&str>) -> Via {
        match s {
            Some("reaction") => Via::Reaction,
            Some("button") => Via::Button,
            _ => Via::Command,
        }
    }
}

/// Where an approval request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved { at_ms: i64 },
    Rejected { by: String, at_ms: i64 },
    Expired { at_ms: i64 },
    Superseded { by: JobId, at_ms: i64 },
    Cancelled { by: String, at_ms: i64 },
}

impl ApprovalStatus {
    pub fn is_pending(&self) -> bool {
        matches!(self, ApprovalStatus::Pending)
    }
}

/// A request for approval, bound to the exact artifact and target it would deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The app (as configured) and the version tag that would be deployed.
    pub app: AppName,
    pub tag: VersionTag,
    /// For a release, the image the build produced.
    pub image: Option<String>,
    /// The tag live when the request was made, when known ("v1.2.2 → v1.2.3").
    pub from_tag: Option<String>,
    pub requester_id: String,
    pub requester: String,
    pub policy: ApprovalPolicy,
    pub requested_ms: i64,
    pub deadline_ms: i64,
    pub votes: Vec<Vote>,
    pub status: ApprovalStatus,
}

/// What a vote did, for the person who cast it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoteResult {
    /// Counted; the quorum is not reached yet.
    Counted {
        have: usize,
        need: usize,
    },
    /// This vote completed the quorum.
    Approved,
    Rejected,
    Withdrawn {
        have: usize,
        need: usize,
    },
    /// Nothing changed, and why.
    Refused(VoteRefusal),
}

/// Why a vote changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoteRefusal {
    /// The request is no longer open.
    Closed(ApprovalStatus),
    /// The voter holds none of the approver roles.
    NotAnApprover {
        app: AppName,
        roles: Vec<String>,
    },
    /// The requester may not approve their own deploy.
    OwnRequest,
    AlreadyApproved {
        have: usize,
        need: usize,
    },
    /// A withdrawal by someone whose approval was not counted.
    NotApproved,
    /// The job is not waiting for an approval.
    NotWaiting,
}

/// Who asks for an approval, bound into the request.
pub struct Request<'a> {
    pub app: &'a AppName,
    pub tag: &'a VersionTag,
    pub image: Option<String>,
    pub from_tag: Option<String>,
    pub requester_id: &'a str,
    pub requester: &'a str,
}

impl Approval {
    pub fn new(request: Request<'_>, policy: ApprovalPolicy, now_ms: i64) -> Self {
        let deadline_ms =
            now_ms.saturating_add(policy.timeout.as_millis().min(i64::MAX as u128) as i64);
        Approval {
            app: request.app.clone(),
            tag: request.tag.clone(),
            image: request.image,
            from_tag: request.from_tag,
            requester_id: request.requester_id.to_string(),
            requester: request.requester.to_string(),
            policy,
            requested_ms: now_ms,
            deadline_ms,
            votes: Vec::new(),
            status: ApprovalStatus::Pending,
        }
    }

    pub fn need(&self) -> usize {
        self.policy.votes.max(1) as usize
    }

    /// Why `actor` may not vote on this request, if they may not.
    fn may_vote(&self, actor: &Actor) -> Result<(), VoteRefusal> {
        if !self.status.is_pending() {
            return Err(VoteRefusal::Closed(self.status.clone()));
        }
        if !actor.has_any_role(&self.policy.approvers) {
            return Err(VoteRefusal::NotAnApprover {
                app: self.app.clone(),
                roles: self.policy.approvers.clone(),
            });
        }
        Ok(())
    }

    pub fn approve(&mut self, actor: &Actor, now_ms: i64, via: Via) -> VoteResult {
        if let Err(why) = self.may_vote(actor) {
            return VoteResult::Refused(why);
        }
        if actor.id == self.requester_id && !self.policy.allow_self_approval {
            return VoteResult::Refused(VoteRefusal::OwnRequest);
        }
        if self.votes.iter().any(|v| v.user_id == actor.id) {
            return VoteResult::Refused(VoteRefusal::AlreadyApproved {
                have: self.votes.len(),
                need: self.need(),
            });
        }
        self.votes.push(Vote {
            user_id: actor.id.clone(),
            name: actor.name.clone(),
            at_ms: now_ms,
            via,
        });
        if self.votes.len() >= self.need() {
            self.status = ApprovalStatus::Approved { at_ms: now_ms };
            VoteResult::Approved
        } else {
            VoteResult::Counted {
                have: self.votes.len(),
                need: self.need(),
            }
        }
    }

    /// One ❌ from an approver rejects the request.
    pub fn reject(&mut self, actor: &Actor, now_ms: i64) -> VoteResult {
        if let Err(why) = self.may_vote(actor) {
            return VoteResult::Refused(why);
        }
        self.status = ApprovalStatus::Rejected {
            by: actor.name.clone(),
            at_ms: now_ms,
        };
        VoteResult::Rejected
    }

    /// Removing a ✅ before the quorum is reached withdraws that vote.
    pub fn withdraw(&mut self, actor: &Actor) -> VoteResult {
        if !self.status.is_pending() {
            return VoteResult::Refused(VoteRefusal::Closed(self.status.clone()));
        }
        let before = self.votes.len();
        self.votes.retain(|v| v.user_id != actor.id);
        if self.votes.len() == before {
            return VoteResult::Refused(VoteRefusal::NotApproved);
        }
        VoteResult::Withdrawn {
            have: self.votes.len(),
            need: self.need(),
        }
    }

    /// Closes a pending request; a decided one keeps its decision.
    pub fn close(&mut self, status: ApprovalStatus) {
        if self.status.is_pending() {
            self.status = status;
        }
    }

    /// Whether this request approves deploying `tag` (with `image`) to `app`.
    pub fn covers(&self, app: &AppName, tag: &VersionTag, image: Option<&str>) -> bool {
        self.app == *app && self.tag == *tag && self.image.as_deref() == image
    }

    /// Time left before the request expires.
    pub fn remaining_ms(&self, now_ms: i64) -> i64 {
        (self.deadline_ms - now_ms).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(votes: u32, self_ok: bool) -> ApprovalPolicy {
        ApprovalPolicy {
            approvers: vec!["lead".into()],
            votes,
            timeout: Duration::from_secs(3600),
            allow_self_approval: self_ok,
        }
    }

    fn actor(name: &str, roles: &[&str]) -> Actor {
        Actor::new(name, name, roles.iter().map(|r| r.to_string()).collect())
    }

    fn request(requester: &Actor, p: ApprovalPolicy) -> Approval {
        let app = AppName::parse("web").unwrap();
        let tag = VersionTag::parse("v1").unwrap();
        Approval::new(
            Request {
                app: &app,
                tag: &tag,
                image: None,
                from_tag: None,
                requester_id: &requester.id,
                requester: &requester.name,
            },
            p,
            0,
        )
    }

    #[test]
    fn a_quorum_of_two_counts_distinct_approvers() {
        let mut a = request(&actor("alice", &[]), policy(2, false));
        let bob = actor("bob", &["lead"]);
        let carol = actor("carol", &["Lead"]);
        assert_eq!(
            a.approve(&bob, 1, Via::Reaction),
            VoteResult::Counted { have: 1, need: 2 }
        );
        assert!(matches!(
            a.approve(&bob, 2, Via::Reaction),
            VoteResult::Refused(VoteRefusal::AlreadyApproved { .. })
        ));
        assert_eq!(a.withdraw(&bob), VoteResult::Withdrawn { have: 0, need: 2 });
        assert_eq!(
            a.approve(&bob, 3, Via::Reaction),
            VoteResult::Counted { have: 1, need: 2 }
        );
        assert_eq!(a.approve(&carol, 4, Via::Reaction), VoteResult::Approved);
        assert_eq!(a.status, ApprovalStatus::Approved { at_ms: 4 });
        assert!(matches!(
            a.withdraw(&carol),
            VoteResult::Refused(VoteRefusal::Closed(_))
        ));
    }

    #[test]
    fn non_approvers_and_the_requester_do_not_count() {
        let alice = actor("alice", &["lead"]);
        let mut a = request(&alice, policy(1, false));
        assert!(matches!(
            a.approve(&actor("dave", &["developer"]), 1, Via::Reaction),
            VoteResult::Refused(VoteRefusal::NotAnApprover { .. })
        ));
        assert_eq!(
            a.approve(&alice, 1, Via::Reaction),
            VoteResult::Refused(VoteRefusal::OwnRequest)
        );
        assert!(a.status.is_pending());
        let mut allowed = request(&alice, policy(1, true));
        assert_eq!(
            allowed.approve(&alice, 1, Via::Reaction),
            VoteResult::Approved
        );
    }

    #[test]
    fn one_reject_closes_the_request() {
        let mut a = request(&actor("alice", &[]), policy(2, false));
        assert_eq!(a.reject(&actor("bob", &["lead"]), 5), VoteResult::Rejected);
        assert!(matches!(
            a.approve(&actor("carol", &["lead"]), 6, Via::Reaction),
            VoteResult::Refused(VoteRefusal::Closed(_))
        ));
        assert_eq!(
            a.status,
            ApprovalStatus::Rejected {
                by: "bob".into(),
                at_ms: 5
            }
        );
    }
}
