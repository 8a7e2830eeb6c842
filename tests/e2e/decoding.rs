//! The client decodes real PaaS bodies unchanged, and no body can make it panic.

use proptest::prelude::*;
use releasebot::paas::model::{ErrorBody, decode_logs};
use releasebot::paas::{App, BuildStatus, Execution, ExecutionState};
use serde_json::Value;

use crate::helpers::fixture;

fn json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("fixtures are JSON")
}

#[test]
fn the_seed_run_response_decodes_as_a_running_build() {
    let e = Execution::decode(&json("seed-run-response.json")).unwrap();
    assert_eq!(e.id.to_string(), "p-5tfq9:p-tpk2x-10");
    assert_eq!(e.run, 10);
    assert_eq!(
        e.message.as_deref(),
        Some("chnage harbor refer & correct\n")
    );
    // `state: active` means nothing: no executionState and no conditions yet.
    assert_eq!(e.execution_state, None);
    assert!(matches!(e.status(), BuildStatus::Running { .. }));
    assert_eq!(e.deployable_tag(), None);
}

#[test]
fn a_stock_rancher_success_has_stages_but_no_version_tag() {
    let e = Execution::decode(&json("rancher-execution-success.json")).unwrap();
    assert_eq!(e.status(), BuildStatus::Succeeded);
    assert_eq!(e.execution_state, Some(ExecutionState::Success));
    let stages: Vec<(&str, u64)> = e
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.duration().unwrap().as_secs()))
        .collect();
    assert_eq!(stages, [("Clone", 10), ("Build", 74)]);
    assert_eq!(e.branch.as_deref(), Some("master"));
    // Stock Rancher has neither field: the result must say so, not invent a tag.
    assert_eq!(e.docker_image, None);
    assert_eq!(e.version_tag, None);
    assert_eq!(e.deployable_tag(), None);
    assert_eq!(e.chart_version, None);
}

#[test]
fn the_two_error_fixtures_decode() {
    let unauthorized = ErrorBody::decode(&fixture("rancher-401.json")).unwrap();
    assert_eq!(unauthorized.code, None);
    assert_eq!(
        unauthorized.message.as_deref(),
        Some("Unauthorized 401: must authenticate")
    );
    let not_found = ErrorBody::decode(&fixture("rancher-404.json")).unwrap();
    assert_eq!(not_found.code.as_deref(), Some("NotFound"));
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        // Values that look like the real thing, so decoding gets past the id.
        Just(Value::String("p-5tfq9:p-tpk2x-10".into())),
        Just(Value::String("Success".into())),
        Just(Value::String("2020-06-15T08:31:02Z".into())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let keys = prop_oneof![
            Just("id".to_string()),
            Just("stages".to_string()),
            Just("conditions".to_string()),
            Just("executionState".to_string()),
            Just("pipelineConfig".to_string()),
            Just("status".to_string()),
            Just("type".to_string()),
            Just("message".to_string()),
            Just("started".to_string()),
            Just("output".to_string()),
            Just("answers".to_string()),
            "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces one value somewhere in `v`, chosen by `path`, with `replacement`.
fn mutate(v: &mut Value, path: &[usize], replacement: Value) {
    let Some((&first, rest)) = path.split_first() else {
        *v = replacement;
        return;
    };
    match v {
        Value::Object(map) if !map.is_empty() => {
            let i = first % map.len();
            if let Some((_, child)) = map.iter_mut().nth(i) {
                mutate(child, rest, replacement);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = first % items.len();
            mutate(&mut items[i], rest, replacement);
        }
        _ => *v = replacement,
    }
}

proptest! {
    #[test]
    fn decoding_arbitrary_json_never_panics(v in arbitrary_json()) {
        if let Ok(e) = Execution::decode(&v) {
            let _ = e.status();
            let _ = e.deployable_tag();
            for s in &e.stages {
                let _ = s.duration();
            }
        }
        if let Ok(a) = App::decode(&v) {
            let _ = a.snapshot().reading();
        }
        let bytes = v.to_string().into_bytes();
        let _ = decode_logs(&bytes);
        let _ = ErrorBody::decode(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..2,
        path in prop::collection::vec(any::<usize>(), 0..5),
        replacement in arbitrary_json(),
    ) {
        let name = ["seed-run-response.json", "rancher-execution-success.json"][which];
        let mut v = json(name);
        mutate(&mut v, &path, replacement);
        if let Ok(e) = Execution::decode(&v) {
            let _ = e.status();
        }
        let _ = App::decode(&v).map(|a| a.snapshot().reading());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_logs(&bytes);
        let _ = ErrorBody::decode(&bytes);
    }
}
