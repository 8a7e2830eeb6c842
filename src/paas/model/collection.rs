//! The envelopes norman (Rancher's API layer) wraps around objects: one page of a
//! collection, and an error body.

use serde_json::Value;

use super::{DecodeError, Fields};

/// One page of a norman collection.
pub(crate) struct Page {
    pub data: Vec<Value>,
    pub next: Option<String>,
}

impl Page {
    pub fn decode(v: &Value) -> Result<Self, DecodeError> {
        let f = Fields::of(v).ok_or(DecodeError {
            what: "collection",
            problem: "it is not a JSON object".into(),
        })?;
        let data = f.get("data").and_then(Value::as_array).ok_or(DecodeError {
            what: "collection",
            problem: "it has no data array".into(),
        })?;
        let next = f
            .get("pagination")
            .and_then(Fields::of)
            .and_then(|p| p.plain("next"));
        Ok(Page {
            data: data.clone(),
            next,
        })
    }
}

/// A norman error body. `status` is a number, except in the 401 that the auth layer
/// sends, where it is a string and there is no `code` (`docs/paas.md#errors`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub field_name: Option<String>,
}

impl ErrorBody {
    pub fn decode(body: &[u8]) -> Option<Self> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let f = Fields::of(&v)?;
        if f.str("type") != Some("error") && f.get("code").is_none() && f.get("message").is_none() {
            return None;
        }
        Some(ErrorBody {
            code: f.string("code"),
            message: f.string("message"),
            field_name: f.string("fieldName"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_decode_both_401_shapes() {
        let odd = ErrorBody::decode(
            br#"{"type":"error","status":"401","message":"Unauthorized 401: must authenticate"}"#,
        )
        .unwrap();
        assert_eq!(odd.code, None);
        let norman = ErrorBody::decode(
            br#"{"type":"error","status":401,"code":"Unauthorized","message":"x"}"#,
        )
        .unwrap();
        assert_eq!(norman.code.as_deref(), Some("Unauthorized"));
        assert!(ErrorBody::decode(b"<html>502</html>").is_none());
    }
}
