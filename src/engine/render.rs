//! What people see: pure functions from a job's record to message content, within
//! Discord's limits (2,000 characters). Nothing here reads a clock: a message changes
//! only when the job changes, so the progress writer edits only then.

use super::approval::{ApprovalStatus, or_list};
use super::job::{JobKind, JobRecord, JobState};
use crate::chat::{Button, ButtonStyle, Message};
use crate::clock::{from_ms, short_duration};

/// Discord's content limit.
pub const MAX_CONTENT: usize = 2000;
/// The most the log excerpt may take.
pub const MAX_LOG_EXCERPT: usize = 1500;

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

fn elapsed(r: &JobRecord) -> String {
    let end = r.ended_ms.unwrap_or(r.updated_ms);
    short_duration(std::time::Duration::from_millis(
        (end - r.created_ms).max(0) as u64,
    ))
}

/// The thread's name: `#12 web@master`.
pub fn thread_title(r: &JobRecord) -> String {
    let title = format!("{} {}", r.id, r.target());
    title.chars().take(100).collect()
}

/// The one line in the channel that the thread hangs from.
pub fn summary(r: &JobRecord) -> Message {
    let text = if r.state.is_final() {
        format!(
            "{} {} {} {} — requested by {} — {} in {}",
            state_symbol(r.state),
            r.id,
            r.kind.as_str(),
            r.target(),
            r.requester,
            r.state.as_str(),
            elapsed(r)
        )
    } else {
        format!(
            "🚀 {} {} {} — requested by {}",
            r.id,
            r.kind.as_str(),
            r.target(),
            r.requester
        )
    };
    Message::text(text)
}

/// `✅ #1 build web@master · <who> · succeeded · 1m42s`: the first line of a job's
/// message and its `/status` line.
fn headline(r: &JobRecord, who: &str) -> String {
    format!(
        "{} {} {} {} · {who} · {} · {}",
        state_symbol(r.state),
        r.id,
        r.kind.as_str(),
        r.target(),
        r.state.as_str(),
        elapsed(r)
    )
}

/// The progress message: one message, edited in place, from request to result.
pub fn progress(r: &JobRecord) -> Message {
    let mut lines = vec![headline(r, &format!("requested by {}", r.requester))];
    if let (JobState::Queued, Some(behind)) = (r.state, r.queued_behind) {
        lines.push(format!("queued behind {behind}"));
    }
    if let Some(b) = &r.build {
        let stages: Vec<String> = b
            .stages
            .iter()
            .map(|s| match s.seconds {
                Some(secs) => format!(
                    "{} {} {}",
                    s.mark.symbol(),
                    s.name,
                    short_duration(std::time::Duration::from_secs(secs))
                ),
                None => format!("{} {}", s.mark.symbol(), s.name),
            })
            .collect();
        let name = b.execution_name().unwrap_or("starting");
        let shared = if b.started_here || b.execution.is_none() {
            ""
        } else {
            " (shared)"
        };
        if stages.is_empty() {
            lines.push(format!("build  {name}{shared}"));
        } else {
            lines.push(format!("build  {name}{shared}  {}", stages.join("  ")));
        }
        if let Some(image) = &b.image {
            lines.push(format!("image  {image}"));
        }
        match (&b.tag, &b.chart) {
            (Some(tag), Some(chart)) => lines.push(format!("tag  {tag} · chart {chart}")),
            (Some(tag), None) => lines.push(format!("tag  {tag}")),
            (None, chart) if b.finished => lines.push(format!(
                "tag  none: the PaaS reported no versionTag (a stock Rancher?){}",
                chart
                    .as_ref()
                    .map(|c| format!(" · chart {c}"))
                    .unwrap_or_default()
            )),
            _ => {}
        }
    }
    if let Some(a) = &r.approval {
        let votes: Vec<String> = a
            .votes
            .iter()
            .map(|v| format!("✅ {} ({})", v.name, time_of_day(v.at_ms)))
            .collect();
        let status = match &a.status {
            ApprovalStatus::Pending if votes.is_empty() => {
                format!("waiting until {}", time_of_day(a.deadline_ms))
            }
            ApprovalStatus::Pending => votes.join(", "),
            ApprovalStatus::Approved { .. } => format!("approved — {}", votes.join(", ")),
            ApprovalStatus::Rejected { by, at_ms } => {
                format!("❌ rejected by {by} ({})", time_of_day(*at_ms))
            }
            ApprovalStatus::Expired { at_ms } => format!("⌛ expired at {}", time_of_day(*at_ms)),
            ApprovalStatus::Superseded { by, .. } => format!("superseded by {by}"),
            ApprovalStatus::Cancelled { by, .. } => format!("cancelled by {by}"),
        };
        lines.push(format!("approval  {} — {status}", a.needs()));
    }
    if let Some(d) = &r.deploy {
        let tag = r
            .tag
            .as_ref()
            .map(|t| format!(" → {t}"))
            .unwrap_or_default();
        let mut phases: Vec<String> = d.phases.clone();
        if let Some(last) = phases.last_mut()
            && d.finished
            && last == "active"
        {
            *last = "✅ active".into();
        }
        let mut line = format!("deploy  {}{tag}", d.app_id);
        if !phases.is_empty() {
            line.push_str("  ");
            line.push_str(&phases.join(" → "));
        } else if !d.upgraded {
            line.push_str("  upgrading");
        }
        if let Some(m) = d
            .message
            .as_ref()
            .filter(|_| !d.finished || r.state == JobState::Failed)
        {
            line.push_str(&format!(" ({m})"));
        }
        lines.push(line);
    }
    if let Some(resumed) = r
        .audit
        .iter()
        .rev()
        .find(|a| a.action == super::job::AuditAction::Resume)
    {
        lines.push(format!(
            "↻ resumed after a restart at {}",
            time_of_day(resumed.at_ms)
        ));
    }
    if let Some(notice) = &r.notice {
        lines.push(format!("⚠️ {notice}"));
    }
    if let Some(outcome) = &r.outcome {
        lines.push(format!("{} {outcome}", state_symbol(r.state)));
    }
    let head = lines.join("\n");
    let text = match &r.logs {
        Some(l) if l.missing => format!("{head}\nlogs  no logs available"),
        Some(l) if l.error.is_some() => {
            format!("{head}\nlogs  {}", l.error.as_deref().unwrap_or(""))
        }
        Some(l) if !l.lines.is_empty() => {
            let room = MAX_CONTENT
                .saturating_sub(head.chars().count() + 60)
                .min(MAX_LOG_EXCERPT);
            let (shown, body) = log_block(&l.lines, room);
            if shown == 0 {
                format!("{head}\nlogs  too long to show here")
            } else {
                format!("{head}\nlogs (last {shown} lines, redacted)\n```\n{body}\n```")
            }
        }
        Some(_) => format!("{head}\nlogs  empty"),
        None => head,
    };
    Message::text(fit(text))
}

/// The last lines that fit in `room` characters, each cut to 200 characters and unable
/// to close the code block.
fn log_block(lines: &[String], room: usize) -> (usize, String) {
    let mut kept: Vec<String> = Vec::new();
    let mut used = 0;
    for line in lines.iter().rev() {
        let mut l: String = line
            .replace("```", "`\u{200b}``")
            .chars()
            .take(200)
            .collect();
        if line.chars().count() > 200 {
            l.push('…');
        }
        let cost = l.chars().count() + 1;
        if used + cost > room {
            break;
        }
        used += cost;
        kept.push(l);
    }
    kept.reverse();
    (kept.len(), kept.join("\n"))
}

/// Cuts text to the content limit on a character boundary.
fn fit(text: String) -> String {
    if text.chars().count() <= MAX_CONTENT {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_CONTENT - 1).collect();
    cut.push('…');
    cut
}

/// The approval message: what is asked, by whom, of whom, until when, and how to answer.
pub fn approval(r: &JobRecord) -> Message {
    let Some(a) = &r.approval else {
        return Message::text(format!("{} needs no approval.", r.id));
    };
    let what = match r.kind {
        JobKind::Release => format!("release {} → {}", a.app, a.tag),
        _ => format!("deploy {} → {}", a.app, a.tag),
    };
    let mentions: Vec<String> = a
        .policy
        .approvers
        .iter()
        .map(|role| format!("@{role}"))
        .collect();
    let mut lines = vec![format!(
        "✋ Approval needed for {}: {what}, requested by {}",
        r.id, a.requester
    )];
    if let Some(image) = &a.image {
        lines.push(format!("image  {image}"));
    }
    lines.push(format!(
        "needs {} approval{} from {} · expires {}",
        a.need(),
        if a.need() == 1 { "" } else { "s" },
        or_list(&mentions),
        time_of_day(a.deadline_ms)
    ));
    if !a.votes.is_empty() {
        let votes: Vec<String> = a
            .votes
            .iter()
            .map(|v| format!("✅ {} ({})", v.name, time_of_day(v.at_ms)))
            .collect();
        lines.push(format!(
            "votes  {} — {} of {}",
            votes.join(", "),
            a.votes.len(),
            a.need()
        ));
    }
    let pending = a.status.is_pending();
    match &a.status {
        ApprovalStatus::Pending => lines.push(format!(
            "React ✅ to approve or ❌ to reject, or type /approve {0} or /reject {0}.",
            r.id.0
        )),
        ApprovalStatus::Approved { at_ms } => {
            lines.push(format!("✅ Approved at {}.", time_of_day(*at_ms)))
        }
        ApprovalStatus::Rejected { by, at_ms } => lines.push(format!(
            "❌ Rejected by {by} at {}; nothing was deployed.",
            time_of_day(*at_ms)
        )),
        ApprovalStatus::Expired { at_ms } => lines.push(format!(
            "⌛ Expired at {}; nothing was deployed.",
            time_of_day(*at_ms)
        )),
        ApprovalStatus::Superseded { by, .. } => lines.push(format!(
            "Superseded by {by}; this request can no longer be approved."
        )),
        ApprovalStatus::Cancelled { by, .. } => {
            lines.push(format!("🚫 Cancelled by {by}; nothing was deployed."))
        }
    }
    Message {
        text: fit(lines.join("\n")),
        mention_roles: if pending {
            a.policy.approvers.clone()
        } else {
            Vec::new()
        },
        buttons: if pending {
            vec![
                Button {
                    id: format!("approve:{}", r.id.0),
                    label: "Approve".into(),
                    style: ButtonStyle::Success,
                },
                Button {
                    id: format!("reject:{}", r.id.0),
                    label: "Reject".into(),
                    style: ButtonStyle::Danger,
                },
            ]
        } else {
            Vec::new()
        },
    }
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

/// One line for `/status`.
pub fn status_line(r: &JobRecord) -> String {
    let mut line = headline(r, &r.requester);
    if let (JobState::Queued, Some(b)) = (r.state, r.queued_behind) {
        line.push_str(&format!(" behind {b}"));
    }
    line
}

/// One line for `/history`: who asked, what ran, who approved, how it ended, how long.
pub fn history_line(r: &JobRecord) -> String {
    let mut line = format!(
        "{} {} {} {} · by {} · {}",
        state_symbol(r.state),
        r.id,
        r.kind.as_str(),
        r.target(),
        r.requester,
        date_time(r.created_ms)
    );
    let tag = r
        .build
        .as_ref()
        .and_then(|b| b.tag.clone())
        .or_else(|| r.tag.as_ref().map(|t| t.to_string()));
    if let Some(tag) = tag {
        line.push_str(&format!(" · tag {tag}"));
    }
    let approvers = r.approvers();
    if !approvers.is_empty() {
        line.push_str(&format!(" · approved by {}", approvers.join(", ")));
    }
    if r.state.is_final() {
        line.push_str(&format!(" · {} in {}", r.state.as_str(), elapsed(r)));
    } else {
        line.push_str(&format!(" · {} for {}", r.state.as_str(), elapsed(r)));
    }
    if let Some(outcome) = &r.outcome {
        line.push_str(&format!(" — {outcome}"));
    }
    line
}
