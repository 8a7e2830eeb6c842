//! Values a stage's output reports (the Helm chart version, the docker image tag),
//! searched for in the stage's JSON however it is shaped, because no PaaS we know
//! documents the shape (`docs/paas.md#executions`).

use serde_json::Value;

/// Names under which a stage's output may report a value: normalised key names
/// (lowercase, letters and digits only) and the phrase used in free text.
pub(super) struct OutputName {
    keys: &'static [&'static str],
    phrases: &'static [&'static str],
}

pub(super) const CHART_VERSION: OutputName = OutputName {
    keys: &["chartversion", "helmchartversion"],
    phrases: &["chart version", "chartversion", "chart_version"],
};

pub(super) const IMAGE_TAG: OutputName = OutputName {
    keys: &["imagetag", "dockerimagetag"],
    phrases: &["docker imagetag", "imagetag", "image tag", "image_tag"],
};

/// Searches one stage's JSON (any depth, bounded) for a value named `name`: a field
/// such as `"chartVersion": "1.4.2"` or text such as `chart version: 1.4.2`. Stage
/// output is said to carry these, but in no documented shape, so both forms are
/// accepted.
pub(super) fn find_output(stage: &Value, name: &OutputName) -> Option<String> {
    fn walk(v: &Value, name: &OutputName, depth: usize) -> Option<String> {
        if depth > 8 {
            return None;
        }
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let key: String = k
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .map(|c| c.to_ascii_lowercase())
                        .collect();
                    if name.keys.contains(&key.as_str()) {
                        let found = match v {
                            Value::String(s) => token(s),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        };
                        if found.is_some() {
                            return found;
                        }
                    }
                }
                map.values().find_map(|v| walk(v, name, depth + 1))
            }
            Value::Array(items) => items.iter().find_map(|v| walk(v, name, depth + 1)),
            Value::String(s) => phrase_value(s, name.phrases),
            _ => None,
        }
    }
    walk(stage, name, 0)
}

/// The value after a phrase in free text: `... chart version: 1.4.2 ...` → `1.4.2`.
fn phrase_value(text: &str, phrases: &[&str]) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    phrases.iter().find_map(|p| {
        let at = lower.find(p)? + p.len();
        let rest = text.get(at..)?;
        let rest = rest.trim_start_matches([' ', ':', '=', '"', '\'', '\t']);
        token(rest)
    })
}

/// The leading version-like token of `s`, if any.
fn token(s: &str) -> Option<String> {
    let t: String = s
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
        .take(128)
        .collect();
    (!t.is_empty()).then_some(t)
}
