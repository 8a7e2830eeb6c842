//! What each kind of PaaS shows after an upgrade (`docs/paas.md#rollout-timing`), read
//! into snapshots and fed to the rollout decision, one reading every 5 s: the PaaS's
//! JSON and the job domain's rule, tested together.

use serde_json::{Value, json};

use crate::ids::AppId;
use crate::job::rollout::{AppSnapshot, DeployProgress, Upgrade, Verdict};
use crate::names::VersionTag;
use crate::paas::App;

const SETTLE_MS: i64 = 10_000;

fn cond(kind: &str, status: &str, updated: Option<&str>, message: Option<&str>) -> Value {
    let mut c = json!({"type": kind, "status": status});
    if let Some(t) = updated {
        c["lastUpdateTime"] = json!(t);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
        c["reason"] = json!("Error");
    }
    c
}

/// A stock Rancher app: revision, answers with the tag, conditions with times.
fn stock(state: &str, transitioning: &str, revision: u32, tag: &str, conds: Vec<Value>) -> Value {
    json!({
        "id": "p-5tfq9:project-deploy", "type": "app", "state": state,
        "transitioning": transitioning, "appRevisionId": format!("apprevision-{revision}"),
        "answers": {"image.tag": tag}, "conditions": conds,
    })
}

/// A conditions-only PaaS: `state` and `conditions`, nothing else
/// (`docs/paas.md#flavours`).
fn bare(state: &str, installed: &str, deployed: &str, message: Option<&str>) -> Value {
    json!({
        "id": "p-5tfq9:project-deploy", "state": state,
        "conditions": [cond("Installed", installed, None, message), cond("Deployed", deployed, None, None)],
    })
}

fn snapshot(v: &Value) -> AppSnapshot {
    App::decode(v).expect("an app").snapshot()
}

/// The deploy as it stands right after the upgrade was accepted, `before` read just
/// before it.
fn sent(before: &Value) -> DeployProgress {
    let mut d = DeployProgress::new(
        AppId::parse("project-deploy").unwrap(),
        VersionTag::parse("v2").unwrap(),
    );
    d.baseline = Some(snapshot(before));
    d.upgrade = Upgrade::Sent {
        intent_ms: 0,
        at_ms: 0,
    };
    d
}

/// Each reading's verdict, one reading every 5 s from t = 5 s.
fn verdicts(before: &Value, readings: &[Value]) -> Vec<Verdict> {
    let mut d = sent(before);
    readings
        .iter()
        .enumerate()
        .map(|(i, r)| d.observe(&snapshot(r), 5_000 * (i as i64 + 1), SETTLE_MS))
        .collect()
}

fn done_at(verdicts: &[Verdict]) -> Option<usize> {
    verdicts.iter().position(|v| *v == Verdict::Done)
}

const T0: &str = "2026-11-26T08:00:00Z";
const T1: &str = "2026-11-26T08:10:00Z";
const T2: &str = "2026-11-26T08:10:20Z";

#[test]
fn stock_rancher_old_status_then_helm_then_a_premature_active() {
    let old = || {
        vec![
            cond("Installed", "True", Some(T0), None),
            cond("Deployed", "True", Some(T0), None),
        ]
    };
    let before = stock("active", "no", 3, "v1", old());
    let readings = [
        // The action rewrote the answers; the status is the old rollout's.
        stock("active", "no", 3, "v2", old()),
        stock("active", "no", 3, "v2", old()),
        // The helm controller picked it up.
        stock(
            "installing",
            "yes",
            3,
            "v2",
            vec![
                cond("Installed", "Unknown", Some(T1), None),
                cond("Deployed", "True", Some(T0), None),
            ],
        ),
        // Helm ran: a new revision, and `active` before the workloads roll.
        stock(
            "active",
            "no",
            4,
            "v2",
            vec![
                cond("Installed", "True", Some(T1), None),
                cond("Deployed", "True", Some(T0), None),
            ],
        ),
        stock(
            "deploying",
            "yes",
            4,
            "v2",
            vec![
                cond("Installed", "True", Some(T1), None),
                cond("Deployed", "Unknown", Some(T2), None),
            ],
        ),
        stock(
            "active",
            "no",
            4,
            "v2",
            vec![
                cond("Installed", "True", Some(T1), None),
                cond("Deployed", "True", Some(T2), None),
            ],
        ),
        stock(
            "active",
            "no",
            4,
            "v2",
            vec![
                cond("Installed", "True", Some(T1), None),
                cond("Deployed", "True", Some(T2), None),
            ],
        ),
        stock(
            "active",
            "no",
            4,
            "v2",
            vec![
                cond("Installed", "True", Some(T1), None),
                cond("Deployed", "True", Some(T2), None),
            ],
        ),
    ];
    let v = verdicts(&before, &readings);
    assert_eq!(
        v[0],
        Verdict::NotPickedUp,
        "the new tag alone proves nothing"
    );
    assert_eq!(v[1], Verdict::NotPickedUp);
    assert_eq!(v[2], Verdict::Rolling);
    assert!(matches!(v[3], Verdict::Settling { .. }), "{v:?}");
    assert_eq!(v[4], Verdict::Rolling, "the premature active did not count");
    assert!(matches!(v[5], Verdict::Settling { .. }));
    assert!(
        matches!(v[6], Verdict::Settling { .. }),
        "seen again within the window"
    );
    assert_eq!(
        done_at(&v),
        Some(7),
        "done when still active a settle window later"
    );
}

#[test]
fn a_paas_showing_only_state_and_conditions() {
    let before = bare("active", "True", "True", None);
    let readings = [
        bare("installing", "Unknown", "True", None),
        bare("deploying", "True", "Unknown", None),
        bare("active", "True", "True", None),
        bare("active", "True", "True", None),
        bare("active", "True", "True", None),
    ];
    let v = verdicts(&before, &readings);
    assert_eq!(v[0], Verdict::Rolling, "a state change is a sign");
    assert_eq!(v[1], Verdict::Rolling);
    assert_eq!(done_at(&v), Some(4));
}

#[test]
fn an_old_failure_is_not_this_deploys_outcome() {
    let helm = "Error: UPGRADE FAILED: timed out waiting for the condition";
    let before = bare("error", "False", "True", Some(helm));
    let readings = [
        // The old failure, still showing.
        bare("error", "False", "True", Some(helm)),
        bare("installing", "Unknown", "True", None),
        bare("deploying", "True", "Unknown", None),
        bare("active", "True", "True", None),
        bare("active", "True", "True", None),
        bare("active", "True", "True", None),
    ];
    let v = verdicts(&before, &readings);
    assert_eq!(v[0], Verdict::NotPickedUp);
    assert_eq!(v[1], Verdict::Rolling);
    assert_eq!(done_at(&v), Some(5));
}

#[test]
fn a_new_helm_failure_fails_the_deploy_with_its_message() {
    let old = "Error: UPGRADE FAILED: an old problem";
    let new = "Error: UPGRADE FAILED: image pull back-off";
    let before = bare("error", "False", "True", Some(old));
    let v = verdicts(
        &before,
        &[
            bare("installing", "Unknown", "True", None),
            bare("error", "False", "True", Some(new)),
        ],
    );
    assert_eq!(
        v[1],
        Verdict::Failed {
            message: new.into()
        }
    );
    // Straight to a different failure, without an Unknown in between, is a new one too.
    let v = verdicts(&before, &[bare("error", "False", "True", Some(new))]);
    assert!(matches!(v[0], Verdict::Failed { .. }), "{v:?}");
}

#[test]
fn an_app_that_never_moves_is_never_done() {
    let before = stock(
        "active",
        "no",
        3,
        "v1",
        vec![
            cond("Installed", "True", Some(T0), None),
            cond("Deployed", "True", Some(T0), None),
        ],
    );
    let same = stock(
        "active",
        "no",
        3,
        "v2",
        vec![
            cond("Installed", "True", Some(T0), None),
            cond("Deployed", "True", Some(T0), None),
        ],
    );
    let v = verdicts(&before, &vec![same; 30]);
    assert!(v.iter().all(|v| *v == Verdict::NotPickedUp), "{v:?}");
    let mut d = sent(&before);
    d.observe(&snapshot(&before), 5_000, SETTLE_MS);
    assert!(d.shows().contains("active"), "{}", d.shows());
}

#[test]
fn a_restart_learns_whether_the_recorded_upgrade_was_carried_out() {
    let before = stock(
        "active",
        "no",
        3,
        "v1",
        vec![cond("Installed", "True", Some(T0), None)],
    );
    let d = sent(&before);
    // The answers moved to our tag: the request was carried out.
    let tag_moved = stock(
        "active",
        "no",
        3,
        "v2",
        vec![cond("Installed", "True", Some(T0), None)],
    );
    assert!(d.carried_out(&snapshot(&tag_moved)));
    // Nothing moved: it was not.
    assert!(!d.carried_out(&snapshot(&before)));
    // A conditions-only PaaS shows it by its state.
    let d = sent(&bare("active", "True", "True", None));
    assert!(d.carried_out(&snapshot(&bare("installing", "Unknown", "True", None))));
    assert!(!d.carried_out(&snapshot(&bare("active", "True", "True", None))));
}
