//! The body of a webhook call from the PaaS: only a hint of which build to look at.

use serde_json::Value;

use super::ExecutionId;

/// Execution ids named anywhere in a webhook call's body (JSON, a few levels deep, or
/// plain text). The body's format is not specified by the PaaS, and nothing else in it
/// is believed: it only says which builds to look at now.
pub fn webhook_execution_ids(body: &[u8]) -> Vec<ExecutionId> {
    fn walk(v: &Value, depth: usize, out: &mut Vec<ExecutionId>) {
        if depth > 4 || out.len() >= 16 {
            return;
        }
        match v {
            Value::String(s) => {
                if let Ok(id) = ExecutionId::parse(s.trim()) {
                    out.push(id);
                }
            }
            Value::Array(items) => items.iter().take(64).for_each(|i| walk(i, depth + 1, out)),
            Value::Object(map) => map.values().take(64).for_each(|i| walk(i, depth + 1, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => walk(&v, 0, &mut out),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            out.extend(
                text.split_whitespace()
                    .take(64)
                    .filter_map(|w| ExecutionId::parse(w).ok()),
            );
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_ids_are_found_in_any_body() {
        let ids =
            webhook_execution_ids(br#"{"id":"p-5tfq9:p-tpk2x-10","executionState":"Success"}"#);
        assert_eq!(ids, [ExecutionId::parse("p-5tfq9:p-tpk2x-10").unwrap()]);
        assert_eq!(
            webhook_execution_ids(br#"{"data":{"pipelineExecution":{"id":"p-1:p-2-3"}}}"#).len(),
            1
        );
        assert_eq!(webhook_execution_ids(b"p-1:p-2-3 changed").len(), 1);
        assert!(webhook_execution_ids(b"").is_empty());
        assert!(webhook_execution_ids(br#"{"id": "../../etc/passwd"}"#).is_empty());
    }
}
