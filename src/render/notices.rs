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

/// The line a job's end posts in the app's announcement channels, notifying nobody:
/// "✅ deploy web v1.2.2 → v1.2.3 succeeded · asked by alice · approved by bob · 3m 12s
/// · #12 thread" (the thread linked where the chat allows). One app of a release to
/// several names the approvers and the thread of its `release`.
pub fn announcement(
    r: &JobRecord,
    release: Option<&JobRecord>,
    thread_link: Option<String>,
    view: &View,
) -> Message {
    let shown = release.unwrap_or(r);
    let app = r.spec.app().map(|a| a.to_string()).unwrap_or_default();
    let from = r.deploy.as_ref().and_then(|d| d.from_tag.clone());
    let to = r.deploy_tag().map(ToString::to_string);
    let change = match (from, to) {
        (Some(from), Some(to)) => format!(" {} → {}", view.text(&from), view.text(&to)),
        (None, Some(to)) => format!(" → {}", view.text(&to)),
        _ => String::new(),
    };
    let approvers: Vec<String> = shown.approvers().iter().map(|a| view.text(a)).collect();
    let approved = match approvers.as_slice() {
        [] => "no approval".to_string(),
        names => format!("approved by {}", names.join(", ")),
    };
    let thread = view.link(&format!("{} thread", shown.id), thread_link);
    Message::text(format!(
        "{} {} {app}{change} {} · asked by {} · {approved} · {} · {thread}",
        state_symbol(r.state),
        r.spec.verb(),
        r.state.as_str(),
        view.text(&r.requester.name),
        super::elapsed(r),
    ))
}
