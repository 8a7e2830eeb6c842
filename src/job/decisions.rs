//! Decisions people make about a job from outside its task: votes, withdrawals,
//! cancels, and a newer request superseding an older one. Each changes the record
//! (and its audit trail); the job's task then acts on it.

use super::approval::{ApprovalStatus, VoteRefusal, VoteResult};
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
}

/// Why a cancel changed nothing, for which job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelError {
    NoSuchJob(JobId),
    Refused(JobId, CancelRefusal),
}

/// An approver's ✅ (`approve`) or ❌.
pub fn vote(r: &mut JobRecord, actor: &Actor, approve: bool, now_ms: i64) -> VoteResult {
    let Some(approval) = r.approval.as_mut() else {
        return VoteResult::Refused(VoteRefusal::NotWaiting);
    };
    let result = if approve {
        approval.approve(actor, now_ms)
    } else {
        approval.reject(actor, now_ms)
    };
    let (action, detail) = match &result {
        VoteResult::Counted { have, need } => {
            (AuditAction::Vote, format!("approve ({have} of {need})"))
        }
        VoteResult::Approved => (AuditAction::Approve, "approved: quorum reached".to_string()),
        VoteResult::Rejected => (AuditAction::Reject, "rejected".to_string()),
        _ => return result,
    };
    r.audit(now_ms, Some(&actor.name), action, detail);
    result
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
