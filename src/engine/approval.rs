//! Approval of a deploy: who may vote, how many must, until when, and what each vote
//! does. Pure state; the job that owns it decides what happens next.

use serde::{Deserialize, Serialize};

use crate::chat::Actor;
use crate::clock::short_duration;
use crate::config::ApprovalPolicy;
use crate::names::JobId;

/// One approver's ✅.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub user_id: String,
    pub name: String,
    pub at_ms: i64,
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

    fn describe(&self) -> String {
        match self {
            ApprovalStatus::Pending => "still open".into(),
            ApprovalStatus::Approved { .. } => "already approved".into(),
            ApprovalStatus::Rejected { by, .. } => format!("rejected by {by}"),
            ApprovalStatus::Expired { .. } => "expired".into(),
            ApprovalStatus::Superseded { by, .. } => format!("superseded by {by}"),
            ApprovalStatus::Cancelled { by, .. } => format!("cancelled by {by}"),
        }
    }
}

/// A request for approval, bound to the exact artifact and target it would deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The app (as configured) and the version tag that would be deployed.
    pub app: String,
    pub tag: String,
    /// For a release, the image the build produced.
    pub image: Option<String>,
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
    Refused(String),
}

impl Approval {
    pub fn new(
        app: &str,
        tag: &str,
        image: Option<String>,
        requester: &Actor,
        policy: ApprovalPolicy,
        now_ms: i64,
    ) -> Self {
        let deadline_ms =
            now_ms.saturating_add(policy.timeout.as_millis().min(i64::MAX as u128) as i64);
        Approval {
            app: app.to_string(),
            tag: tag.to_string(),
            image,
            requester_id: requester.id.clone(),
            requester: requester.name.clone(),
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
    fn may_vote(&self, actor: &Actor, job: JobId) -> Result<(), String> {
        if !self.status.is_pending() {
            return Err(format!(
                "The approval of {job} is closed ({}).",
                self.status.describe()
            ));
        }
        if !actor.has_any_role(&self.policy.approvers) {
            return Err(format!(
                "Approving deploys of {} needs the role {}; your vote was not counted.",
                self.app,
                or_list(&self.policy.approvers)
            ));
        }
        Ok(())
    }

    pub fn approve(&mut self, actor: &Actor, job: JobId, now_ms: i64) -> VoteResult {
        if let Err(why) = self.may_vote(actor, job) {
            return VoteResult::Refused(why);
        }
        if actor.id == self.requester_id && !self.policy.allow_self_approval {
            return VoteResult::Refused(format!(
                "You requested {job}, so you cannot approve it; another approver must."
            ));
        }
        if self.votes.iter().any(|v| v.user_id == actor.id) {
            return VoteResult::Refused(format!(
                "You have already approved {job} ({} of {}).",
                self.votes.len(),
                self.need()
            ));
        }
        self.votes.push(Vote {
            user_id: actor.id.clone(),
            name: actor.name.clone(),
            at_ms: now_ms,
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
    pub fn reject(&mut self, actor: &Actor, job: JobId, now_ms: i64) -> VoteResult {
        if let Err(why) = self.may_vote(actor, job) {
            return VoteResult::Refused(why);
        }
        self.status = ApprovalStatus::Rejected {
            by: actor.name.clone(),
            at_ms: now_ms,
        };
        VoteResult::Rejected
    }

    /// Removing a ✅ before the quorum is reached withdraws that vote.
    pub fn withdraw(&mut self, actor: &Actor, job: JobId) -> VoteResult {
        if !self.status.is_pending() {
            return VoteResult::Refused(format!(
                "The approval of {job} is closed ({}); the vote stands.",
                self.status.describe()
            ));
        }
        let before = self.votes.len();
        self.votes.retain(|v| v.user_id != actor.id);
        if self.votes.len() == before {
            return VoteResult::Refused(format!("You had not approved {job}."));
        }
        VoteResult::Withdrawn {
            have: self.votes.len(),
            need: self.need(),
        }
    }

    pub fn close(&mut self, status: ApprovalStatus) {
        if self.status.is_pending() {
            self.status = status;
        }
    }

    /// Time left before the request expires.
    pub fn remaining_ms(&self, now_ms: i64) -> i64 {
        (self.deadline_ms - now_ms).max(0)
    }

    /// "needs 1 of lead" / "needs 2 of lead or admin".
    pub fn needs(&self) -> String {
        format!(
            "needs {} of {}",
            self.need(),
            or_list(&self.policy.approvers)
        )
    }

    pub fn timeout_text(&self) -> String {
        short_duration(self.policy.timeout)
    }
}

/// `a`, `a or b`, `a, b or c`.
pub fn or_list(items: &[String]) -> String {
    match items {
        [] => "nobody".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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

    const J: JobId = JobId(7);

    #[test]
    fn a_quorum_of_two_counts_distinct_approvers() {
        let mut a = Approval::new("web", "v1", None, &actor("alice", &[]), policy(2, false), 0);
        let bob = actor("bob", &["lead"]);
        let carol = actor("carol", &["Lead"]);
        assert_eq!(
            a.approve(&bob, J, 1),
            VoteResult::Counted { have: 1, need: 2 }
        );
        assert!(matches!(a.approve(&bob, J, 2), VoteResult::Refused(_)));
        assert_eq!(
            a.withdraw(&bob, J),
            VoteResult::Withdrawn { have: 0, need: 2 }
        );
        assert_eq!(
            a.approve(&bob, J, 3),
            VoteResult::Counted { have: 1, need: 2 }
        );
        assert_eq!(a.approve(&carol, J, 4), VoteResult::Approved);
        assert_eq!(a.status, ApprovalStatus::Approved { at_ms: 4 });
        assert!(matches!(a.withdraw(&carol, J), VoteResult::Refused(_)));
    }

    #[test]
    fn non_approvers_and_the_requester_do_not_count() {
        let alice = actor("alice", &["lead"]);
        let mut a = Approval::new("web", "v1", None, &alice, policy(1, false), 0);
        match a.approve(&actor("dave", &["developer"]), J, 1) {
            VoteResult::Refused(why) => assert!(why.contains("needs the role lead"), "{why}"),
            other => panic!("{other:?}"),
        }
        match a.approve(&alice, J, 1) {
            VoteResult::Refused(why) => assert!(why.contains("cannot approve"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(a.status.is_pending());
        let mut allowed = Approval::new("web", "v1", None, &alice, policy(1, true), 0);
        assert_eq!(allowed.approve(&alice, J, 1), VoteResult::Approved);
    }

    #[test]
    fn one_reject_closes_the_request() {
        let mut a = Approval::new("web", "v1", None, &actor("alice", &[]), policy(2, false), 0);
        assert_eq!(
            a.reject(&actor("bob", &["lead"]), J, 5),
            VoteResult::Rejected
        );
        assert!(matches!(
            a.approve(&actor("carol", &["lead"]), J, 6),
            VoteResult::Refused(_)
        ));
        assert_eq!(
            a.status,
            ApprovalStatus::Rejected {
                by: "bob".into(),
                at_ms: 5
            }
        );
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(or_list(&["a".into()]), "a");
        assert_eq!(or_list(&["a".into(), "b".into(), "c".into()]), "a, b or c");
    }
}
