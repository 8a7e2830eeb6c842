//! What the PaaS sends, decoded leniently into releasebot's own types.
//!
//! The in-house PaaS is still changing (`docs/paas.md#flavours`), and
//! stock Rancher sends `null` for missing references, omits empty fields, and adds
//! fields we do not know. So each object is first read as JSON and then picked apart
//! field by field: unknown fields are ignored, a `null` or a value of the wrong type
//! counts as absent, and only a missing id makes an object undecodable. Nothing here
//! can panic on any input.
//!
//! This file holds what every object shares (the lenient `Fields` reader, the
//! [`DecodeError`], `conditions`); each kind of object has its own file.

mod app;
mod collection;
mod execution;
mod logs;
mod output;

use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::clock::parse_rfc3339;

pub use app::App;
pub use collection::ErrorBody;
pub(crate) use collection::Page;
pub use execution::{BuildStatus, Execution, ExecutionState, Stage};
pub use logs::decode_logs;

/// Why a PaaS body could not be decoded into the object expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub what: &'static str,
    pub problem: String,
}

/// Read access to one JSON object that treats `null` and wrong types as absent.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn of(v: &'a Value) -> Option<Self> {
        v.as_object().map(Fields)
    }

    fn str(&self, key: &str) -> Option<&'a str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// A text field, redacted: everything the PaaS says passes the redactor here,
    /// before any of it is stored, shown or logged.
    fn string(&self, key: &str) -> Option<String> {
        self.str(key)
            .filter(|s| !s.is_empty())
            .map(crate::redact::text)
    }

    /// A value for machines, not people (a link to follow), exactly as sent.
    fn plain(&self, key: &str) -> Option<String> {
        self.str(key).filter(|s| !s.is_empty()).map(str::to_string)
    }

    fn u64(&self, key: &str) -> Option<u64> {
        match self.0.get(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn time(&self, key: &str) -> Option<SystemTime> {
        self.str(key).and_then(parse_rfc3339)
    }

    fn array(&self, key: &str) -> &'a [Value] {
        self.0
            .get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
}

/// `True`, `False` or `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// One entry of an object's `conditions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub kind: String,
    pub status: ConditionStatus,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_update: Option<SystemTime>,
}

impl Condition {
    fn decode(v: &Value) -> Option<Self> {
        let f = Fields::of(v)?;
        let status = match f.str("status").map(str::to_ascii_lowercase).as_deref() {
            Some("true") => ConditionStatus::True,
            Some("false") => ConditionStatus::False,
            _ => ConditionStatus::Unknown,
        };
        Some(Condition {
            kind: f.string("type")?,
            status,
            reason: f.string("reason"),
            message: f.string("message"),
            last_update: f.time("lastUpdateTime"),
        })
    }
}

fn decode_conditions(f: &Fields<'_>) -> Vec<Condition> {
    f.array("conditions")
        .iter()
        .filter_map(Condition::decode)
        .collect()
}

fn find_condition<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    conditions
        .iter()
        .find(|c| c.kind.eq_ignore_ascii_case(kind))
}

/// A pipeline's `nextRun`: the run number its next execution gets.
pub fn next_run(v: &Value) -> Result<Option<u64>, DecodeError> {
    let f = Fields::of(v).ok_or(DecodeError {
        what: "pipeline",
        problem: "it is not a JSON object".into(),
    })?;
    Ok(f.u64("nextRun").filter(|n| *n > 0))
}
