//! The stored form of a job: versioned serde structs and the conversions between them
//! and the domain types. A row's `details` says its version (`"v": 2`; version 1 had
//! no `v`), and every version ever written keeps a reader here, so a newer releasebot
//! resumes what an older one left unfinished (`tests/e2e/store_compat.rs` reads a state
//! file written by releasebot 0.1.0).
//!
//! This file is the way in (encode, decode whatever version, the approval's columns);
//! `v1.rs` and `v2.rs` hold each version's form, `convert.rs` and `outcome.rs` the
//! conversions between today's form and the domain.

mod convert;
mod outcome;
mod v1;
mod v2;

use std::time::Duration;

use crate::job::{Approval, ApprovalPolicy, ApprovalStatus, AuditEntry, JobRecord};
use crate::names::{JobId, NameError};
use crate::paas::IdError;
use convert::{from_v2, to_v2};

/// Why a stored job cannot be read back. `Display` is the detail the store's
/// [`Unreadable`](super::StoreError::Unreadable) error shows after the job's id.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The JSON does not have the shape of the version it claims.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Written by a releasebot newer than this one.
    #[error("stored form version {0} is newer than this releasebot")]
    Newer(u64),
    /// A name or tag that no longer passes its rules.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A Rancher id that no longer passes its rules.
    #[error(transparent)]
    Id(#[from] IdError),
    #[error("an unknown state {0:?}")]
    UnknownState(String),
    /// The state of an outcome recorded as text (by releasebot 0.1.0) is not one this
    /// releasebot knows; the message has never named it.
    #[error("an unknown state")]
    UnknownRecordedState,
    /// A version 1 row whose kind needs a field it lacks.
    #[error("a {kind} job without its {what}")]
    Missing { kind: String, what: &'static str },
    #[error("an unknown kind {0:?}")]
    UnknownKind(String),
}

/// What the other tables hold for a job.
pub struct Parts {
    pub approval: Option<Approval>,
    pub audit: Vec<AuditEntry>,
}

/// A job's `details`, in today's stored form.
pub fn encode(r: &JobRecord) -> String {
    serde_json::to_string(&to_v2(r)).unwrap_or_default()
}

/// A job from its row's `details` and the other tables, whatever version wrote it.
pub fn decode(id: JobId, details: &str, parts: Parts) -> Result<JobRecord, DecodeError> {
    let value: serde_json::Value = serde_json::from_str(details)?;
    match value.get("v").and_then(serde_json::Value::as_u64) {
        None => {
            let job: v1::Job = serde_json::from_value(value)?;
            v1::convert(id, job, parts)
        }
        Some(2) => {
            let job: v2::Job = serde_json::from_value(value)?;
            from_v2(id, job, parts)
        }
        Some(v) => Err(DecodeError::Newer(v)),
    }
}

pub fn encode_policy(p: &ApprovalPolicy) -> String {
    serde_json::to_string(&v2::Policy {
        approvers: p.approvers.clone(),
        votes: p.votes,
        timeout: p.timeout.as_secs(),
        allow_self_approval: p.allow_self_approval,
    })
    .unwrap_or_default()
}

pub fn decode_policy(s: &str) -> Result<ApprovalPolicy, DecodeError> {
    let p: v2::Policy = serde_json::from_str(s)?;
    Ok(ApprovalPolicy {
        approvers: p.approvers,
        votes: p.votes,
        timeout: Duration::from_secs(p.timeout),
        allow_self_approval: p.allow_self_approval,
    })
}

pub fn encode_status(s: &ApprovalStatus) -> String {
    let stored = match s.clone() {
        ApprovalStatus::Pending => v2::ApprovalStatus::Pending,
        ApprovalStatus::Approved { at_ms } => v2::ApprovalStatus::Approved { at_ms },
        ApprovalStatus::Rejected { by, at_ms } => v2::ApprovalStatus::Rejected { by, at_ms },
        ApprovalStatus::Expired { at_ms } => v2::ApprovalStatus::Expired { at_ms },
        ApprovalStatus::Superseded { by, at_ms } => {
            v2::ApprovalStatus::Superseded { by: by.0, at_ms }
        }
        ApprovalStatus::Cancelled { by, at_ms } => v2::ApprovalStatus::Cancelled { by, at_ms },
    };
    serde_json::to_string(&stored).unwrap_or_default()
}

pub fn decode_status(s: &str) -> Result<ApprovalStatus, DecodeError> {
    let stored: v2::ApprovalStatus = serde_json::from_str(s)?;
    Ok(match stored {
        v2::ApprovalStatus::Pending => ApprovalStatus::Pending,
        v2::ApprovalStatus::Approved { at_ms } => ApprovalStatus::Approved { at_ms },
        v2::ApprovalStatus::Rejected { by, at_ms } => ApprovalStatus::Rejected { by, at_ms },
        v2::ApprovalStatus::Expired { at_ms } => ApprovalStatus::Expired { at_ms },
        v2::ApprovalStatus::Superseded { by, at_ms } => ApprovalStatus::Superseded {
            by: JobId(by),
            at_ms,
        },
        v2::ApprovalStatus::Cancelled { by, at_ms } => ApprovalStatus::Cancelled { by, at_ms },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::AppName;

    fn refusal(details: &str) -> String {
        let parts = Parts {
            approval: None,
            audit: Vec::new(),
        };
        decode(JobId(7), details, parts).unwrap_err().to_string()
    }

    /// A version 1 row, with `fields` changed.
    fn v1(fields: &str) -> String {
        format!(
            r#"{{"requester_id": "1", "requester": "ann", "channel": "c", "created_ms": 1,
                "updated_ms": 1, {fields}}}"#
        )
    }

    #[test]
    fn an_unreadable_job_says_why() {
        assert_eq!(
            refusal(r#"{"v": 3}"#),
            "stored form version 3 is newer than this releasebot"
        );
        assert_eq!(
            refusal(&v1(r#""kind": "build", "state": "building""#)),
            "a build job without its project"
        );
        assert_eq!(
            refusal(&v1(r#""kind": "purge", "state": "building""#)),
            "an unknown kind \"purge\""
        );
        assert_eq!(
            refusal(&v1(r#""kind": "build", "state": "asleep""#)),
            "an unknown state \"asleep\""
        );
        assert_eq!(
            refusal(&v1(
                r#""kind": "deploy", "state": "queued", "app": "Web", "tag": "t-1""#
            )),
            AppName::parse("Web").unwrap_err().to_string()
        );
        assert!(refusal("not json").starts_with("expected ident"));
    }
}
