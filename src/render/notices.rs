//! The short messages that notify the requester: an edit notifies nobody, so when a
//! job ends, or its approval is granted, one new message in the thread mentions them
//! (and, by its allowed mentions, only them).

use super::{View, outcome, state_symbol};
use crate::chat::Message;
use crate::job::{ApprovalStatus, JobRecord, JobState};

fn to_requester(r: &JobRecord, view: &View, text: String) -> Message {
    Message {
        text: format!("{} {text}", view.person(&r.requester.id, &r.requester.name)),
        mention_users: vec![r.requester.id.clone()],
        ..Message::default()
    }
}

/// "@alice ✅ #1 release web@master succeeded." (or how it ended, and why).
pub fn ended(r: &JobRecord, view: &View) -> Message {
    let head = format!(
        "{} {} {} {}",
        state_symbol(r.state),
        r.id,
        r.spec.verb(),
        view.text(&r.target())
    );
    let text = match (r.state, outcome(r, view)) {
        (JobState::Succeeded, _) | (_, None) => format!("{head} {}.", r.state.as_str()),
        (_, Some(why)) => format!("{head} {}: {why}", r.state.as_str()),
    };
    to_requester(r, view, text)
}

/// "@alice #1 is approved by @bob; deploying." once its approval is granted.
pub fn approved(r: &JobRecord, view: &View) -> Option<Message> {
    let a = r.approval.as_ref()?;
    let ApprovalStatus::Approved { .. } = a.status else {
        return None;
    };
    let by: Vec<String> = a
        .votes
        .iter()
        .map(|v| view.person(&v.user_id, &v.name))
        .collect();
    Some(to_requester(
        r,
        view,
        format!(
            "{} is approved by {}; deploying.",
            r.id,
            super::or_list(&by)
        ),
    ))
}
