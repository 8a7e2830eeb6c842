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
use crate::names::JobId;
use convert::{from_v2, to_v2};

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
pub fn decode(id: JobId, details: &str, parts: Parts) -> Result<JobRecord, String> {
    let value: serde_json::Value = serde_json::from_str(details).map_err(|e| e.to_string())?;
    match value.get("v").and_then(serde_json::Value::as_u64) {
        None => {
            let job: v1::Job = serde_json::from_value(value).map_err(|e| e.to_string())?;
            v1::convert(id, job, parts)
        }
        Some(2) => {
            let job: v2::Job = serde_json::from_value(value).map_err(|e| e.to_string())?;
            from_v2(id, job, parts)
        }
        Some(v) => Err(format!(
            "stored form version {v} is newer than this releasebot"
        )),
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

pub fn decode_policy(s: &str) -> Result<ApprovalPolicy, String> {
    let p: v2::Policy = serde_json::from_str(s).map_err(|e| e.to_string())?;
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

pub fn decode_status(s: &str) -> Result<ApprovalStatus, String> {
    let stored: v2::ApprovalStatus = serde_json::from_str(s).map_err(|e| e.to_string())?;
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
