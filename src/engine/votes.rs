//! Votes on approval requests: from `/approve` and `/reject`, from the buttons under
//! an approval message, from ✅ and ❌ reactions as they happen, and from the reactions
//! read back after releasebot was not listening.

use super::Engine;
use crate::chat::{APPROVE, Actor, ButtonAction, Chat, MessageRef, REJECT};
use crate::job::decisions::{self, VoteOutcome};
use crate::job::{Via, VoteResult};
use crate::names::JobId;

/// An approval request that waits for votes, and the message that asks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingApproval {
    pub job: JobId,
    pub message: MessageRef,
}

impl Engine {
    /// An approver's vote on job `id`.
    pub async fn vote(&self, actor: &Actor, id: JobId, approve: bool, via: Via) -> VoteOutcome {
        let Some(job) = self.inner.jobs.get(id) else {
            return match self.job_record(id).await {
                Some(r) => VoteOutcome::Ended(id, r.state),
                None => VoteOutcome::NoSuchJob(id),
            };
        };
        let now = self.now();
        let result = self
            .update(&job, |r| decisions::vote(r, actor, approve, via, now))
            .await;
        job.wake.notify_one();
        VoteOutcome::Voted(id, result)
    }

    /// A button pressed under `target`. It acts only on the job whose approval message
    /// carries it: a button left on an older message changes nothing.
    pub async fn press(
        &self,
        actor: &Actor,
        target: &MessageRef,
        action: ButtonAction,
    ) -> VoteOutcome {
        let (id, approve) = match action {
            ButtonAction::Approve(id) => (id, true),
            ButtonAction::Reject(id) => (id, false),
            ButtonAction::Rollback(id) => return VoteOutcome::NotThisMessage(id),
        };
        let carries = self
            .job_record(id)
            .await
            .and_then(|r| r.messages.approval)
            .is_some_and(|m| m.message == target.message);
        if !carries {
            return VoteOutcome::NotThisMessage(id);
        }
        self.vote(actor, id, approve, Via::Button).await
    }

    /// A reaction on a message. Only ✅ and ❌ on approval messages mean anything.
    pub async fn on_reaction(
        &self,
        actor: &Actor,
        target: &MessageRef,
        emoji: &str,
        added: bool,
    ) -> Option<VoteOutcome> {
        let id = self.inner.jobs.by_approval_message(&target.message)?;
        let outcome = match (emoji, added) {
            (APPROVE, true) => self.vote(actor, id, true, Via::Reaction).await,
            (REJECT, true) => self.vote(actor, id, false, Via::Reaction).await,
            (APPROVE, false) => {
                let job = self.inner.jobs.get(id)?;
                let now = self.now();
                let result = self
                    .update(&job, |r| decisions::withdraw(r, actor, now))
                    .await;
                job.wake.notify_one();
                // Removing a reaction that never counted needs no answer.
                if let VoteResult::Refused(_) = result {
                    return None;
                }
                VoteOutcome::Voted(id, result)
            }
            _ => return None,
        };
        if let VoteOutcome::Voted(_, VoteResult::Refused(_)) = &outcome
            && added
        {
            self.explain(id, target, emoji, actor, &outcome).await;
        }
        Some(outcome)
    }

    /// The approval requests waiting for votes, with the messages that ask for them.
    pub fn pending_approvals(&self) -> Vec<PendingApproval> {
        let mut pending: Vec<PendingApproval> = self
            .inner
            .jobs
            .all()
            .iter()
            .filter_map(|job| {
                let r = job.lock();
                let waiting = r.approval.as_ref().is_some_and(|a| a.status.is_pending());
                let message = r.messages.approval.clone().filter(|_| waiting)?;
                Some(PendingApproval { job: r.id, message })
            })
            .collect();
        pending.sort_by_key(|p| p.job);
        pending
    }

    /// Counts what the reaction events missed while releasebot was not listening: the
    /// people whose ✅ (`approving`) and ❌ (`rejecting`) are on job `id`'s approval
    /// message now, as read from it. Refused reactions are explained to their people,
    /// once per job each.
    pub async fn reconcile_votes(
        &self,
        id: JobId,
        approving: &[Actor],
        rejecting: &[Actor],
    ) -> Vec<(Actor, VoteResult)> {
        let Some(job) = self.inner.jobs.get(id) else {
            return Vec::new();
        };
        let Some(target) = job.lock().messages.approval.clone() else {
            return Vec::new();
        };
        let now = self.now();
        let done = self
            .update(&job, |r| decisions::reconcile(r, approving, rejecting, now))
            .await;
        job.wake.notify_one();
        for (actor, result) in &done {
            if let VoteResult::Refused(_) = result {
                let emoji = if approving.iter().any(|a| a.id == actor.id) {
                    APPROVE
                } else {
                    REJECT
                };
                let outcome = VoteOutcome::Voted(id, result.clone());
                self.explain(id, &target, emoji, actor, &outcome).await;
            }
        }
        if !done.is_empty() {
            tracing::info!(job = %id, votes = done.len(), "counted reactions given while releasebot was away");
        }
        done
    }

    /// Tells `actor` why their reaction changed nothing: once per job, however many
    /// times they react.
    async fn explain(
        &self,
        id: JobId,
        target: &MessageRef,
        emoji: &str,
        actor: &Actor,
        outcome: &VoteOutcome,
    ) {
        let Some(job) = self.inner.jobs.get(id) else {
            return;
        };
        if !job.first_explanation_to(&actor.id) {
            return;
        }
        let text = crate::render::vote(outcome).1;
        if let Err(e) = self
            .inner
            .chat
            .refuse_reaction(target, emoji, actor, &text)
            .await
        {
            tracing::debug!(error = %e, "could not answer a refused reaction");
        }
    }
}
