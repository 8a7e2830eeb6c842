//! A release to several apps in its message: a line per app (from → to, where its leg
//! stands, how it ended), each app's log excerpt, and the rollback offered for the
//! apps it changed when it failed.

use super::{View, state_symbol};
use crate::job::legs::Leg;
use crate::job::{JobRecord, JobState};

/// `✅ web-api: v1.2.2 → v1.2.3 (#13) succeeded`, one per app, in the order deployed.
pub(super) fn lines(r: &JobRecord, view: &View) -> Vec<String> {
    let Some(l) = &r.legs else {
        return Vec::new();
    };
    let tag = view.text(l.tag.as_str());
    l.apps
        .iter()
        .map(|leg| {
            let change = match &leg.from_tag {
                Some(from) => format!("{}: {} → {tag}", leg.app, view.text(from)),
                None => format!("{} → {tag}", leg.app),
            };
            let job = leg.job.map(|j| format!(" ({j})")).unwrap_or_default();
            format!("{} {change}{job} {}", symbol(leg), status(leg))
        })
        .collect()
}

fn symbol(leg: &Leg) -> &'static str {
    match (&leg.state, leg.job) {
        (_, None) => "·",
        (Some(state), _) => state_symbol(*state),
        (None, _) => state_symbol(JobState::Queued),
    }
}

fn status(leg: &Leg) -> String {
    match (leg.job, leg.state, leg.behind) {
        (None, ..) => "not started".into(),
        (_, Some(JobState::Queued), Some(behind)) => format!("queued behind {behind}"),
        (_, Some(state), _) => state.as_str().into(),
        (_, None, _) => "starting".into(),
    }
}

/// Each app's log excerpt, sharing `room` characters.
pub(super) fn logs(r: &JobRecord, view: &View, room: usize) -> Vec<String> {
    let Some(l) = &r.legs else {
        return Vec::new();
    };
    let with_logs: Vec<&Leg> = l.apps.iter().filter(|leg| !leg.logs.is_empty()).collect();
    let each = room / with_logs.len().max(1);
    let mut out = Vec::new();
    for leg in with_logs {
        let kept = super::progress::log_block(&leg.logs, each.saturating_sub(60));
        if kept.is_empty() {
            continue;
        }
        out.push(format!(
            "logs {} (last {} lines, redacted)\n{}",
            leg.app,
            kept.len(),
            view.block(&kept)
        ));
    }
    out
}
