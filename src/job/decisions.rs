//! Decisions people make about a job from outside its task: votes, withdrawals,
//! cancels, and a newer request superseding an older one. Each changes the record
//! (and its audit trail); the job's task then acts on it.

use super::approval::{ApprovalStatus, Via, VoteRefusal, VoteResult};
use super::audit::AuditAction;
use super::record::{CancelRequest, JobRecord};
use super::rollout::Upgrade;
use super::state::JobState;
use crate::chat::Actor;
use crate::names::JobId;

/// What a vote did, on which job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoteOutcome {
    Voted(JobId, VoteResult),
    NoSuchJob(JobId),
    Ended(JobId, JobState),
    /// A button pressed on a message that is not this job's approval request (an old
    /// message, or one whose job number now names another job).
    NotThisMessage(JobId),
}

/// Why a cancel changed nothing, for which job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelError {
    NoSuchJob(JobId),
    Refused(JobId, CancelRefusal),
}

/// An approver's ✅ (`approve`) or ❌, given `via` a reaction, a button or a command.
pub fn vote(r: &mut JobRecord, actor: &Actor, approve: bool, via: Via, now_ms: i64) -> VoteResult {
    let Some(approval) = r.approval.as_mut() else {
        return VoteResult::Refused(VoteRefusal::NotWaiting);
    };
    let result = if approve {
        approval.approve(actor, now_ms, via)
    } else {
        approval.reject(actor, now_ms)
    };
    let (action, detail) = match &result {
        VoteResult::Counted { have, need } => (
            AuditAction::Vote,
            format!("approve by {} ({have} of {need})", via.as_str()),
        ),
        VoteResult::Approved => (
            AuditAction::Approve,
            format!("approved by {}: quorum reached", via.as_str()),
        ),
        VoteResult::Rejected => (AuditAction::Reject, format!("rejected by {}", via.as_str())),
        _ => return result,
    };
    r.audit(now_ms, Some(&actor.name), action, detail);
    result
}

/// Brings a pending approval in line with the ✅ and ❌ reactions on its message, read
/// afresh after a time releasebot was not listening (a restart, a new gateway session):
/// a counted ✅ whose reaction is gone is withdrawn, a ❌ from an approver rejects, and
/// each ✅ not yet counted is counted, under the same rules as a live reaction. Votes
/// given by button or command stand: they have no reaction to lose. Returns what each
/// missed reaction did, for the person who gave it.
pub fn reconcile(
    r: &mut JobRecord,
    approving: &[Actor],
    rejecting: &[Actor],
    now_ms: i64,
) -> Vec<(Actor, VoteResult)> {
    let pending = |r: &JobRecord| r.approval.as_ref().is_some_and(|a| a.status.is_pending());
    if !pending(r) {
        return Vec::new();
    }
    let mut done = Vec::new();
    let gone: Vec<Actor> = r
        .approval
        .iter()
        .flat_map(|a| &a.votes)
        .filter(|v| v.via == Via::Reaction && !approving.iter().any(|p| p.id == v.user_id))
        .map(|v| Actor::new(v.user_id.clone(), v.name.clone(), Vec::new()))
        .collect();
    for actor in gone {
        let result = withdraw(r, &actor, now_ms);
        done.push((actor, result));
    }
    for actor in rejecting {
        if !pending(r) {
            return done;
        }
        let result = vote(r, actor, false, Via::Reaction, now_ms);
        done.push((actor.clone(), result));
    }
    for actor in approving {
        let counted = r
            .approval
            .as_ref()
            .is_some_and(|a| a.votes.iter().any(|v| v.user_id == actor.id));
        if counted {
            continue;
        }
        if !pending(r) {
            return done;
        }
        let result = vote(r, actor, true, Via::Reaction, now_ms);
        done.push((actor.clone(), result));
    }
    done
}

/// A ✅ removed.
pub fn withdraw(r: &mut JobRecord, actor: &Actor, now_ms: i64) -> VoteResult {
    let Some(approval) = r.approval.as_mut() else {
        return VoteResult::Refused(VoteRefusal::NotWaiting);
    };
    let result = approval.withdraw(actor);
    if let VoteResult::Withdrawn { have, need } = &result {
        r.audit(
            now_ms,
            Some(&actor.name),
            AuditAction::Withdraw,
            format!("({have} of {need})"),
        );
    }
    result
}

/// Why a cancel changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelRefusal {
    Ended(JobState),
    /// The upgrade was sent: a rollout cannot be stopped half way.
    RollingOut,
    AlreadyCancelling,
}

/// Asks a job to stop at its next safe point.
pub fn cancel(r: &mut JobRecord, by: &str, now_ms: i64) -> Result<JobState, CancelRefusal> {
    if r.state.is_final() {
        return Err(CancelRefusal::Ended(r.state));
    }
    if r.deploy
        .as_ref()
        .is_some_and(|d| d.upgrade != Upgrade::NotSent)
    {
        return Err(CancelRefusal::RollingOut);
    }
    if r.cancel.is_some() {
        return Err(CancelRefusal::AlreadyCancelling);
    }
    let state = r.state;
    r.cancel = Some(CancelRequest {
        by: by.to_string(),
        at_ms: now_ms,
    });
    r.audit(
        now_ms,
        Some(by),
        AuditAction::Cancel,
        format!("while {}", state.as_str()),
    );
    Ok(state)
}

/// Closes a pending approval because a newer request for the same app came; true if
/// it was pending.
/// A job picked up after a restart, or taken over by replica `by_replica`: it says so
/// (audited, and shown from `resumed`), and a note the shutdown left is over.
pub fn resume(r: &mut JobRecord, now_ms: i64, by_replica: Option<String>) {
    let detail = match &by_replica {
        Some(holder) => format!("taken over by replica {holder} while {}", r.state.as_str()),
        None => format!("resumed while {}", r.state.as_str()),
    };
    r.audit(now_ms, None, AuditAction::Resume, detail);
    r.resumed = Some(super::record::Resumed {
        at_ms: now_ms,
        by_replica,
    });
    r.notice = None;
}

/// The order resumed deploys take their apps' turns in: those whose upgrade was asked
/// for (each holds its app's turn), then the waiting ones in the order they joined.
pub fn queue_order(records: &[JobRecord]) -> Vec<JobId> {
    let mut queued: Vec<(bool, i64, JobId)> = records
        .iter()
        .filter_map(|r| {
            let place = r.queue?;
            let deploying = r
                .deploy
                .as_ref()
                .is_some_and(|d| d.upgrade != Upgrade::NotSent);
            Some((!deploying, place.joined_ms, r.id))
        })
        .collect();
    queued.sort();
    queued.into_iter().map(|(_, _, id)| id).collect()
}

pub fn supersede(r: &mut JobRecord, by: JobId, now_ms: i64) -> bool {
    let Some(a) = r.approval.as_mut().filter(|a| a.status.is_pending()) else {
        return false;
    };
    a.close(ApprovalStatus::Superseded { by, at_ms: now_ms });
    r.audit(
        now_ms,
        None,
        AuditAction::Supersede,
        format!("superseded by {by}"),
    );
    true
}
