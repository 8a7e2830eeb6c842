//! What a vote, a withdrawal or a cancel did, told to the person who made it.

use crate::job::decisions::{CancelError, CancelRefusal, VoteOutcome};
use crate::job::{ApprovalStatus, JobState, VoteRefusal, VoteResult};
use crate::names::JobId;

/// The answer to a vote: whether it changed something, and the sentence.
pub fn vote(outcome: &VoteOutcome) -> (bool, String) {
    match outcome {
        VoteOutcome::NoSuchJob(id) => (false, format!("There is no job {id}.")),
        VoteOutcome::Ended(id, state) => (
            false,
            format!("{id} has already ended ({}).", state.as_str()),
        ),
        VoteOutcome::NotThisMessage(id) => (
            false,
            format!(
                "That button belongs to an older message, so it changed nothing; vote on the approval request of {id} in its thread."
            ),
        ),
        VoteOutcome::Voted(id, result) => match result {
            VoteResult::Counted { have, need } => (
                true,
                format!("Your approval of {id} counts ({have} of {need})."),
            ),
            VoteResult::Approved => (true, format!("{id} is approved; deploying.")),
            VoteResult::Rejected => (true, format!("{id} is rejected; nothing will be deployed.")),
            VoteResult::Withdrawn { have, need } => (
                true,
                format!("Your approval of {id} is withdrawn ({have} of {need})."),
            ),
            VoteResult::Refused(why) => (false, vote_refusal(*id, why)),
        },
    }
}

/// Why a vote on job `id` changed nothing.
pub fn vote_refusal(id: JobId, why: &VoteRefusal) -> String {
    match why {
        VoteRefusal::Closed(status) => {
            format!("The approval of {id} is closed ({}).", closed(status))
        }
        VoteRefusal::NotAnApprover { app, roles } => format!(
            "Approving deploys of {app} needs the role {}; your vote was not counted.",
            super::or_list(roles)
        ),
        VoteRefusal::OwnRequest => {
            format!("You requested {id}, so you cannot approve it; another approver must.")
        }
        VoteRefusal::AlreadyApproved { have, need } => {
            format!("You have already approved {id} ({have} of {need}).")
        }
        VoteRefusal::NotApproved => format!("You had not approved {id}."),
        VoteRefusal::NotWaiting => format!("{id} is not waiting for an approval."),
    }
}

fn closed(status: &ApprovalStatus) -> String {
    match status {
        ApprovalStatus::Pending => "still open".into(),
        ApprovalStatus::Approved { .. } => "already approved".into(),
        ApprovalStatus::Rejected { by, .. } => format!("rejected by {by}"),
        ApprovalStatus::Expired { .. } => "expired".into(),
        ApprovalStatus::Superseded { by, .. } => format!("superseded by {by}"),
        ApprovalStatus::Cancelled { by, .. } => format!("cancelled by {by}"),
    }
}

/// The answer to a cancel that was taken.
pub fn cancelling(id: JobId, state: JobState) -> String {
    format!("Cancelling {id} ({}).", state.as_str())
}

/// Why a cancel changed nothing.
pub fn cancel_refusal(e: &CancelError) -> String {
    match e {
        CancelError::NoSuchJob(id) => format!("There is no job {id}."),
        CancelError::Refused(id, why) => match why {
            CancelRefusal::Ended(state) => format!("{id} has already ended ({}).", state.as_str()),
            CancelRefusal::RollingOut => format!(
                "{id} is already rolling out and cannot be stopped half way; deploy another version instead."
            ),
            CancelRefusal::AlreadyCancelling => format!("{id} is already being cancelled."),
        },
    }
}
