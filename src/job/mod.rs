//! The job domain: what a job is asked to do ([`JobSpec`]), where it stands
//! ([`JobState`], [`JobRecord`]), and how it moves ([`machine`]): build progress, the
//! rollout decision, approvals and votes are pure transitions over the record. It does
//! no I/O: the engine performs the steps it asks for and feeds back what it saw.

pub mod approval;
pub mod audit;
pub mod build;
pub mod changes;
pub mod decisions;
pub mod digest;
pub mod ending;
pub mod incident;
pub mod legs;
pub mod machine;
pub mod outcome;
pub mod record;
pub mod rollout;
pub mod spec;
pub mod start;
pub mod state;
pub mod stats;
#[cfg(test)]
mod tests;

pub use approval::{Approval, ApprovalPolicy, ApprovalStatus, Via, Vote, VoteRefusal, VoteResult};
pub use audit::{AuditAction, AuditEntry};
pub use build::{BuildProgress, RunIntent, StageMark, StageView};
pub use machine::{Context, Event, FrozenNow, LogsRead, Settings, Step, StopResult};
pub use outcome::{Cancellation, ChatStep, Outcome, PaasStep, Timed};
pub use record::{
    CancelRequest, FreezeOverride, JobRecord, LogExcerpt, Messages, Notice, Person, QueuePlace,
    Resumed,
};
pub use rollout::{AppSnapshot, DeployProgress, Phase, Reading, Rollout, Upgrade, Verdict};
pub use spec::{DeployOrigin, JobKind, JobSpec};
pub use state::JobState;
