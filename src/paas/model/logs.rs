//! Deploy log lines from whatever shape of body the PaaS sends them in.

use serde_json::Value;

/// Deploy log lines from a body of any accepted shape: plain text, a JSON string, a
/// JSON array of lines, or an object holding the lines under a common key
/// (`docs/paas.md#deploy-logs`).
/// A body of any other shape (an object with none of the known keys) is shown as it
/// came, rather than as nothing.
pub fn decode_logs(body: &[u8]) -> Vec<String> {
    let raw = || split_lines(&String::from_utf8_lossy(body));
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) if !has_log_key(&v) => raw(),
        Ok(v @ (Value::String(_) | Value::Array(_) | Value::Object(_))) => log_lines(&v, 0),
        _ => raw(),
    }
}

const LOG_KEYS: [&str; 7] = [
    "data", "logs", "lines", "content", "log", "output", "message",
];

fn has_log_key(v: &Value) -> bool {
    v.as_object().is_some_and(|map| {
        LOG_KEYS
            .iter()
            .any(|k| map.get(*k).is_some_and(|v| !v.is_null()))
    })
}

fn log_lines(v: &Value, depth: usize) -> Vec<String> {
    if depth > 4 {
        return Vec::new();
    }
    match v {
        Value::String(s) => split_lines(s),
        Value::Array(items) => items
            .iter()
            .flat_map(|item| match item {
                Value::String(s) => split_lines(s),
                Value::Object(_) | Value::Array(_) => log_lines(item, depth + 1),
                Value::Null => Vec::new(),
                other => vec![other.to_string()],
            })
            .collect(),
        Value::Object(map) => LOG_KEYS
            .iter()
            .find_map(|k| map.get(*k).filter(|v| !v.is_null()))
            .map(|v| log_lines(v, depth + 1))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn split_lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_accepted_in_every_shape() {
        let want = vec!["a".to_string(), "b".to_string()];
        assert_eq!(decode_logs(b"a\nb\n"), want);
        assert_eq!(decode_logs(br#""a\nb""#), want);
        assert_eq!(decode_logs(br#"["a","b"]"#), want);
        assert_eq!(decode_logs(br#"{"data":["a","b"]}"#), want);
        assert_eq!(decode_logs(br#"{"logs":"a\nb"}"#), want);
        assert_eq!(decode_logs(br#"{"lines":["a","b"]}"#), want);
        assert_eq!(decode_logs(br#"{"content":"a\r\nb"}"#), want);
        assert_eq!(decode_logs(b"42"), vec!["42".to_string()]);
        // A shape with none of the known keys is shown as it came.
        assert_eq!(
            decode_logs(br#"{"podLogs":["a","b"]}"#),
            vec![r#"{"podLogs":["a","b"]}"#.to_string()]
        );
        assert!(decode_logs(b"").is_empty());
    }
}
