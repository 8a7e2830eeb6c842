//! What people see: pure functions from a job's record (and the other typed results of
//! the core) to message content. All the wording of job messages lives here, so a
//! sentence changes in one place and the rest of the code deals in types.
//!
//! Nothing here reads a clock: a message changes only when the job changes, so the
//! progress writer edits only then. What a platform allows (its length, mentions,
//! timestamps, links) comes in a [`View`], so no platform's numbers or markup are
//! written into the core.

mod changes;
pub mod chart;
pub mod escape;
mod incident;
mod legs;
mod lines;
mod notices;
mod outcome;
mod progress;
pub mod stats;
mod view;
mod votes;

pub use changes::{changes, line as change_line};
pub use incident::{freeze_line, frozen, locked};
pub use lines::{history_line, status_line};
pub use notices::{announcement, approved, ended};
pub use outcome::{names as and_list, notice, outcome};
pub use progress::{approval, progress, rollback_offer, summary, thread_title};
pub use stats::stats;
pub use view::{Ui, View};
pub use votes::{cancel_refusal, cancelling, vote, vote_refusal};

use crate::clock::{from_ms, short_duration};
use crate::job::{JobRecord, JobState};

pub use crate::chat::Style;

fn state_symbol(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "⏳",
        JobState::Triggering | JobState::Building => "🔨",
        JobState::AwaitingApproval => "✋",
        JobState::Deploying => "🚚",
        JobState::FetchingLogs => "📜",
        JobState::Succeeded => "✅",
        JobState::Failed => "❌",
        JobState::Rejected => "⛔",
        JobState::Cancelled => "🚫",
        JobState::TimedOut => "⌛",
    }
}

/// `14:02 UTC`.
pub fn time_of_day(ms: i64) -> String {
    let t = crate::clock::rfc3339(from_ms(ms));
    format!("{} UTC", t.get(11..16).unwrap_or("?"))
}

/// `2026-11-26 14:02 UTC`.
fn date_time(ms: i64) -> String {
    let t = crate::clock::rfc3339(from_ms(ms));
    format!(
        "{} {} UTC",
        t.get(..10).unwrap_or("?"),
        t.get(11..16).unwrap_or("?")
    )
}

fn elapsed(r: &JobRecord) -> String {
    let end = r.ended_ms.unwrap_or(r.updated_ms);
    short_duration(std::time::Duration::from_millis(
        (end - r.created_ms).max(0) as u64,
    ))
}

/// `a`, `a or b`, `a, b or c`.
pub fn or_list(items: &[String]) -> String {
    match items {
        [] => "nobody".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Cuts text to `max` characters, from the middle: its start says what it is about
/// and its end how it ended (the outcome, the newest log lines).
pub fn fit(text: String, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text;
    }
    let marker = "\n…\n";
    let keep = max.saturating_sub(marker.chars().count());
    let head = keep / 2;
    let tail = keep - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}{marker}{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_from_the_middle() {
        let text = format!("start {} end", "x".repeat(100));
        let cut = fit(text, 30);
        assert!(cut.chars().count() <= 30, "{cut}");
        assert!(cut.starts_with("start") && cut.ends_with("end"), "{cut}");
        assert_eq!(fit("short".into(), 30), "short");
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(or_list(&["a".into()]), "a");
        assert_eq!(or_list(&["a".into(), "b".into(), "c".into()]), "a, b or c");
    }
}
