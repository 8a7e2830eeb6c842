//! One-line descriptions of jobs, for `/status` and `/history`.

use super::progress::headline;
use super::{View, date_time, elapsed, state_symbol};
use crate::job::{AuditAction, JobRecord, JobState};

/// One line for `/status`.
pub fn status_line(r: &JobRecord, view: &View) -> String {
    let mut line = headline(r, &view.text(&r.requester.name), view);
    if let (JobState::Queued, Some(b)) = (r.state, r.queue.and_then(|q| q.behind)) {
        line.push_str(&format!(" behind {b}"));
    }
    line
}

/// One line for `/history`: who asked, what ran, who approved, how it ended, how long.
pub fn history_line(r: &JobRecord, view: &View) -> String {
    let mut line = format!(
        "{} {} {} {} · by {} · {}",
        state_symbol(r.state),
        r.id,
        r.spec.verb(),
        view.text(&r.target()),
        view.text(&r.requester.name),
        date_time(r.created_ms)
    );
    let tag = r
        .deploy_tag()
        .map(ToString::to_string)
        .or_else(|| r.build.as_ref().and_then(|b| b.tag.clone()));
    if let Some(tag) = tag {
        line.push_str(&format!(" · tag {}", view.text(&tag)));
    }
    let approvers = r.approvers();
    if !approvers.is_empty() {
        let approvers: Vec<String> = approvers.iter().map(|a| view.text(a)).collect();
        line.push_str(&format!(" · approved by {}", approvers.join(", ")));
    }
    // Rules set aside: an approval waived for a rollback, a freeze passed.
    for waived in r.audit.iter().filter(|a| a.action == AuditAction::Waive) {
        line.push_str(&format!(" · {}", view.text(&waived.detail)));
    }
    if r.state.is_final() {
        line.push_str(&format!(" · {} in {}", r.state.as_str(), elapsed(r)));
    } else {
        line.push_str(&format!(" · {} for {}", r.state.as_str(), elapsed(r)));
    }
    if let Some(sentence) = super::outcome(r, view) {
        line.push_str(&format!(" — {sentence}"));
    }
    line
}
