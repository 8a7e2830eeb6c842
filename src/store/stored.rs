//! A job's `details`: the job record's own serde form (field and variant names as
//! `crate::job` declares them, pinned by the golden files in `tests/fixtures/stored`),
//! with the form's version beside them. The id is the row's key and the audit trail a
//! table of its own, so neither is in it.
//!
//! Versions: 1 had no `v` (releasebot 0.1.0, read by `v1.rs`); 2 is today's form
//! without the approval, which was a table then and was moved into the details by the
//! migration that dropped it, so a version 2 row reads as version 3; 3 is today's.

use serde::Serialize;

use crate::job::stats::Trace;
use crate::job::{AuditEntry, JobRecord};
use crate::names::JobId;

/// The version written in `details.v`.
pub const VERSION: u64 = 3;

/// Why a stored job cannot be read back. `Display` is the detail the store's
/// [`Unreadable`](super::StoreError::Unreadable) error shows after the job's id.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The JSON does not have the shape of the version it claims (a name or tag that no
    /// longer passes its rules included).
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Written by a releasebot newer than this one.
    #[error("stored form version {0} is newer than this releasebot")]
    Newer(u64),
    /// A name or tag that no longer passes its rules.
    #[error(transparent)]
    Name(#[from] crate::names::NameError),
    /// A Rancher id that no longer passes its rules.
    #[error(transparent)]
    Id(#[from] crate::ids::IdError),
    #[error("an unknown state {0:?}")]
    UnknownState(String),
    /// A version 1 row whose kind needs a field it lacks.
    #[error("a {kind} job without its {what}")]
    Missing { kind: String, what: &'static str },
    #[error("an unknown kind {0:?}")]
    UnknownKind(String),
}

/// What the delivery figures need of a job (`crate::job::stats::Trace`), read from its
/// `details` without the rest; an older form is read whole and converted.
pub fn decode_trace(id: JobId, details: &str) -> Result<Trace, DecodeError> {
    if let Some(2 | VERSION) = version(details) {
        let mut t: Trace = serde_json::from_str(details)?;
        t.id = id;
        return Ok(t);
    }
    decode(id, details, Vec::new()).map(|r| Trace::from(&r))
}

/// The record with its version, as it is written.
#[derive(Serialize)]
struct Versioned<'a> {
    v: u64,
    #[serde(flatten)]
    job: &'a JobRecord,
}

/// A job's `details`, in today's stored form.
pub fn encode(r: &JobRecord) -> String {
    // Serialising plain data into a string cannot fail.
    serde_json::to_string(&Versioned { v: VERSION, job: r }).unwrap_or_default()
}

/// The version a `details` says it is in (none: version 1), read without the rest.
#[derive(serde::Deserialize)]
struct Peek {
    v: Option<u64>,
}

/// The version a `details` says it is in: read from its start, where it is written
/// first (`{"v":3,`, or PostgreSQL's `{"v": 3, `), else from the whole text.
fn version(details: &str) -> Option<u64> {
    let at_start = details
        .strip_prefix("{\"v\":")
        .map(str::trim_start)
        .and_then(|rest| {
            let end = rest.find(|c: char| !c.is_ascii_digit())?;
            rest[..end].parse().ok()
        });
    at_start.or_else(|| serde_json::from_str::<Peek>(details).ok().and_then(|p| p.v))
}

/// A job from its row's `details` and its audit trail, whatever version wrote it.
pub fn decode(id: JobId, details: &str, audit: Vec<AuditEntry>) -> Result<JobRecord, DecodeError> {
    // Today's form is read straight from the text (the version beside the record's
    // fields is ignored by the record's serde form); only an older one goes through a
    // JSON tree to be converted.
    if let Some(2 | VERSION) = version(details) {
        let mut r: JobRecord = serde_json::from_str(details)?;
        r.id = id;
        r.audit = audit;
        return Ok(r);
    }
    let value: serde_json::Value = serde_json::from_str(details)?;
    match value.get("v").and_then(serde_json::Value::as_u64) {
        None => {
            let job: super::v1::Job = serde_json::from_value(value)?;
            super::v1::convert(id, job, audit)
        }
        Some(2 | VERSION) => {
            let mut r: JobRecord = serde_json::from_value(value)?;
            r.id = id;
            r.audit = audit;
            Ok(r)
        }
        Some(v) => Err(DecodeError::Newer(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::AppName;

    fn refusal(details: &str) -> String {
        decode(JobId(7), details, Vec::new())
            .unwrap_err()
            .to_string()
    }

    /// A version 1 row, with `fields` changed.
    fn v1(fields: &str) -> String {
        format!(
            r#"{{"requester_id": "1", "requester": "ann", "channel": "c", "created_ms": 1,
                "updated_ms": 1, {fields}}}"#
        )
    }

    #[test]
    fn the_version_is_read_from_the_start_or_from_anywhere() {
        assert_eq!(version(r#"{"v":3,"spec":{}}"#), Some(3));
        assert_eq!(version(r#"{"v": 2, "spec": {}}"#), Some(2));
        assert_eq!(version(r#"{"spec": {}, "v": 3}"#), Some(3));
        assert_eq!(version(r#"{"spec": {}}"#), None);
        assert_eq!(version(r#"{"v":"x"}"#), None);
    }

    #[test]
    fn an_unreadable_job_says_why() {
        assert_eq!(
            refusal(r#"{"v": 4}"#),
            "stored form version 4 is newer than this releasebot"
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
        assert!(
            refusal(r#"{"v": 3, "state": "asleep"}"#).contains("asleep"),
            "today's form names what it cannot read"
        );
    }
}
