//! What people see: pure functions from a job's record (and the other typed results of
//! the core) to message content. All the wording of job messages lives here, so a
//! sentence changes in one place and the rest of the code deals in types.
//!
//! Nothing here reads a clock: a message changes only when the job changes, so the
//! progress writer edits only then. What a platform allows (its content length) comes
//! in a [`Style`], so no platform's numbers are written into the core.

mod lines;
mod outcome;
mod progress;
mod votes;

pub use lines::{history_line, status_line};
pub use outcome::{notice, outcome};
pub use progress::{approval, progress, summary, thread_title};
pub use votes::{cancel_refusal, cancelling, vote, vote_refusal};

use crate::clock::{from_ms, short_duration};
use crate::job::{JobRecord, JobState};

pub use crate::chat::Style;

/// The most the log excerpt may take of a message.
fn max_log_excerpt(style: &Style) -> usize {
    style.max_chars.saturating_mul(3) / 4
}

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

/// Cuts text to `max` characters on a character boundary, keeping its start.
fn fit(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_naturally() {
        assert_eq!(or_list(&["a".into()]), "a");
        assert_eq!(or_list(&["a".into(), "b".into(), "c".into()]), "a, b or c");
    }
}
