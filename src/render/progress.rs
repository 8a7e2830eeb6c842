//! The job's messages: the summary line in the channel, the progress message in the
//! thread, and the approval request.

use super::{View, elapsed, fit, or_list, state_symbol};
use crate::chat::{Button, ButtonAction, ButtonStyle, Message};
use crate::clock::short_duration;
use crate::job::{ApprovalStatus, DeployOrigin, JobKind, JobRecord, JobSpec, JobState, Phase};

/// The thread's name: `#12 web@master`.
pub fn thread_title(r: &JobRecord) -> String {
    // Thread names show no markdown, but a line break or a control character would.
    let title = format!("{} {}", r.id, super::escape::one_line(&r.target()));
    title.chars().take(100).collect()
}

/// The one line in the channel that the thread hangs from: what the job does, who
/// asked, and where it stands, so people scanning the channel see what waits for them.
pub fn summary(r: &JobRecord, view: &View) -> Message {
    let who = view.person(&r.requester.id, &r.requester.name);
    let head = format!("{} {} {}", r.id, r.spec.verb(), view.text(&r.target()));
    let text = if r.state.is_final() {
        format!(
            "{} {head} — requested by {who} — {} in {}",
            state_symbol(r.state),
            r.state.as_str(),
            elapsed(r)
        )
    } else {
        let status = match (&r.state, &r.approval) {
            (JobState::AwaitingApproval, Some(a)) if a.status.is_pending() => {
                let roles: Vec<String> = a
                    .policy
                    .approvers
                    .iter()
                    .map(|role| format!("@{role}"))
                    .collect();
                format!(
                    "awaiting approval from {} until {}",
                    or_list(&roles),
                    view.relative(a.deadline_ms)
                )
            }
            (state, _) => state.as_str().to_string(),
        };
        format!(
            "{} {head} — requested by {who} — {status}",
            state_symbol(r.state)
        )
    };
    Message::text(text)
}

/// `✅ #1 build web@master · <who> · succeeded · 1m42s`: the first line of a job's
/// message and its `/status` line.
pub(super) fn headline(r: &JobRecord, who: &str, view: &View) -> String {
    format!(
        "{} {} {} {} · {who} · {} · {}",
        state_symbol(r.state),
        r.id,
        r.spec.verb(),
        view.text(&r.target()),
        r.state.as_str(),
        elapsed(r)
    )
}

/// What the deploy changes: `web: v1.2.2 → v1.2.3`, or `web → v1.2.3` when what runs
/// now is unknown.
pub(super) fn change(r: &JobRecord, view: &View) -> Option<String> {
    if r.spec.has_legs() {
        let apps: Vec<_> = r.spec.apps().into_iter().cloned().collect();
        let tag = r.deploy_tag().map(|t| view.text(t.as_str()));
        return Some(format!(
            "{} → {}",
            super::outcome::names(&apps),
            tag.unwrap_or_else(|| "the tag it builds".into())
        ));
    }
    let app = r.spec.app()?;
    let tag = r.deploy_tag()?;
    let from = r
        .deploy
        .as_ref()
        .and_then(|d| d.from_tag.clone())
        .or_else(|| r.approval.as_ref().and_then(|a| a.from_tag.clone()));
    let tag = view.text(tag.as_str());
    let change = match from {
        Some(from) => format!("{app}: {} → {tag}", view.text(&from)),
        None => format!("{app} → {tag}"),
    };
    Some(match &r.spec {
        JobSpec::Deploy {
            origin: DeployOrigin::Rollback { .. },
            ..
        } => format!("{change}, rollback"),
        JobSpec::Deploy {
            origin: DeployOrigin::Promote { from, .. },
            ..
        } => format!("{change}, promoted from {from}"),
        _ => change,
    })
}

/// `c7f1f22 · Fix the login redirect loop — Alice`: what the build built.
fn build_commit(b: &crate::job::BuildProgress, view: &View) -> Option<String> {
    let mut parts: Vec<String> = b.commit.iter().map(|c| view.text(c)).collect();
    parts.extend(b.subject.iter().map(|s| view.text(s)));
    if parts.is_empty() {
        return None;
    }
    let mut text = parts.join(" · ");
    if let Some(author) = &b.author {
        text.push_str(&format!(" — {}", view.text(author)));
    }
    Some(text)
}

/// What the deploy changes, once the job drew the list.
fn change_list(r: &JobRecord, view: &View) -> Vec<String> {
    match (
        r.spec.app(),
        r.deploy.as_ref().and_then(|d| d.changes.as_ref()),
    ) {
        (Some(app), Some(c)) => super::changes(c, app.as_str(), view),
        _ => Vec::new(),
    }
}

/// The progress message: one message, edited in place, from request to result.
pub fn progress(r: &JobRecord, view: &View) -> Message {
    let who = view.person(&r.requester.id, &r.requester.name);
    let mut lines = vec![headline(r, &format!("requested by {who}"), view)];
    if let (JobState::Queued, Some(behind)) = (r.state, r.queue.and_then(|q| q.behind)) {
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
                    view.text(&s.name),
                    short_duration(std::time::Duration::from_secs(secs))
                ),
                None => format!("{} {}", s.mark.symbol(), view.text(&s.name)),
            })
            .collect();
        let name = b
            .execution
            .as_ref()
            .map_or_else(|| "starting".into(), |e| view.execution(e));
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
            lines.push(format!("image  {}", view.text(image)));
        }
        if let Some(commit) = build_commit(b, view) {
            lines.push(format!("commit  {commit}"));
        }
        let chart = b.chart.as_ref().map(|c| view.text(c));
        match (&b.tag, chart) {
            (Some(tag), Some(chart)) => {
                lines.push(format!("tag  {} · chart {chart}", view.text(tag)))
            }
            (Some(tag), None) => lines.push(format!("tag  {}", view.text(tag))),
            (None, chart) if b.finished => lines.push(format!(
                "tag  none: the PaaS reported no versionTag (a stock Rancher?){}",
                chart.map(|c| format!(" · chart {c}")).unwrap_or_default()
            )),
            (None, _) if b.succeeded_ms.is_some() => {
                lines.push("tag  waiting for the PaaS to report it".into())
            }
            _ => {}
        }
    }
    if let Some(a) = &r.approval {
        let votes: Vec<String> = a
            .votes
            .iter()
            .map(|v| {
                format!(
                    "✅ {} ({})",
                    view.person(&v.user_id, &v.name),
                    view.time(v.at_ms)
                )
            })
            .collect();
        let status = match &a.status {
            ApprovalStatus::Pending if votes.is_empty() => {
                format!("waiting until {}", view.time(a.deadline_ms))
            }
            ApprovalStatus::Pending => votes.join(", "),
            ApprovalStatus::Approved { .. } => format!("approved — {}", votes.join(", ")),
            ApprovalStatus::Rejected { by, at_ms } => {
                format!("❌ rejected by {} ({})", view.text(by), view.time(*at_ms))
            }
            ApprovalStatus::Expired { at_ms } => format!("⌛ expired at {}", view.time(*at_ms)),
            ApprovalStatus::Superseded { by, .. } => format!("superseded by {by}"),
            ApprovalStatus::Cancelled { by, .. } => format!("cancelled by {}", view.text(by)),
        };
        lines.push(format!(
            "approval  needs {} of {} — {status}",
            a.need(),
            or_list(&a.policy.approvers)
        ));
    }
    if let Some(d) = &r.deploy {
        let mut line = format!("deploy  {}", change(r, view).unwrap_or_default());
        line.push_str(&format!(" ({})", view.app(&d.app_id)));
        let mut phases: Vec<String> = d
            .rollout
            .phases
            .iter()
            .map(|p| p.as_str().to_string())
            .collect();
        if let Some(last) = phases.last_mut()
            && d.rollout.done
            && d.rollout.phases.last() == Some(&Phase::Active)
        {
            *last = "✅ active".into();
        }
        if !phases.is_empty() {
            line.push_str("  ");
            line.push_str(&phases.join(" → "));
        } else if d.sent_ms().is_some() {
            line.push_str("  upgrade accepted, waiting for the PaaS to pick it up");
        } else if d.intent_ms().is_some() {
            line.push_str("  upgrading");
        }
        let settling = d.rollout.active_since_ms.is_some() && !d.rollout.done;
        if settling {
            line.push_str(" (making sure it stays active)");
        } else if let Some(m) = d
            .rollout
            .message
            .as_ref()
            .filter(|_| !d.rollout.done || r.state == JobState::Failed)
        {
            line.push_str(&format!(" ({})", view.text(m)));
        }
        lines.push(line);
        lines.extend(change_list(r, view));
    }
    lines.extend(super::legs::lines(r, view));
    if let Some(resumed) = &r.resumed {
        let how = match &resumed.by_replica {
            Some(holder) => format!("taken over by replica {}", view.text(holder)),
            None => "resumed after a restart".to_string(),
        };
        lines.push(format!("↻ {how} at {}", view.time(resumed.at_ms)));
    }
    if let Some(n) = &r.notice {
        lines.push(format!("⚠️ {}", super::notice(n, view)));
    }
    if let Some(sentence) = super::outcome(r, view) {
        lines.push(format!("{} {sentence}", state_symbol(r.state)));
    }
    if let (Some(tag), Some(app)) = (rollback_offer(r), r.spec.app()) {
        lines.push(format!(
            "↩ /rollback {app} {} deploys what ran before.",
            view.text(&tag)
        ));
    }
    let undo = crate::job::legs::rollback_offer(r);
    if let (false, Some(project)) = (undo.is_empty(), r.spec.project()) {
        lines.push(format!(
            "↩ /rollback {project} rolls {} back to what ran before.",
            super::outcome::names(&undo)
        ));
    }
    let mut head = lines.join("\n");
    let room = view.style.max_chars.saturating_sub(head.chars().count()) * 3 / 4;
    for logs in super::legs::logs(r, view, room) {
        head = format!("{head}\n{logs}");
    }
    let text = match &r.logs {
        Some(l) if l.missing => format!("{head}\nlogs  no logs available"),
        Some(l) if l.error.is_some() => format!(
            "{head}\nlogs  could not be read. {}",
            view.text(l.error.as_deref().unwrap_or(""))
        ),
        Some(l) if !l.lines.is_empty() => {
            let max = view.style.max_chars;
            let room = max
                .saturating_sub(head.chars().count() + 60)
                .min(max.saturating_mul(3) / 4);
            let kept = log_block(&l.lines, room);
            if kept.is_empty() {
                format!("{head}\nlogs  too long to show here")
            } else {
                format!(
                    "{head}\nlogs (last {} lines, redacted)\n{}",
                    kept.len(),
                    view.block(&kept)
                )
            }
        }
        Some(_) => format!("{head}\nlogs  empty"),
        None => head,
    };
    let mut message = Message::text(fit(text, view.style.max_chars));
    if let Some(tag) = rollback_offer(r) {
        message.buttons.push(Button {
            action: ButtonAction::Rollback(r.id),
            label: super::escape::one_line(&format!("Roll back to {tag}")),
            style: ButtonStyle::Danger,
        });
    }
    if !undo.is_empty() {
        let label = format!("Roll back {}", super::outcome::names(&undo));
        message.buttons.push(Button {
            action: ButtonAction::Rollback(r.id),
            label: label.chars().take(80).collect(),
            style: ButtonStyle::Danger,
        });
    }
    message
}

/// The tag offered for a rollback under a deploy that went wrong after reaching its
/// app, as the job recorded it when it ended (where `/rollback` would go).
pub fn rollback_offer(r: &JobRecord) -> Option<String> {
    if !matches!(r.state, JobState::Failed | JobState::TimedOut) {
        return None;
    }
    let d = r.deploy.as_ref()?;
    d.rollback_to.as_ref().map(ToString::to_string)
}

/// The last lines that fit in `room` characters, each cut to 200 characters.
pub(super) fn log_block(lines: &[String], room: usize) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    let mut used = 0;
    for line in lines.iter().rev() {
        let mut l: String = line.chars().take(200).collect();
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
    kept
}

/// The approval message: what is asked, by whom, of whom, until when, and how to answer.
pub fn approval(r: &JobRecord, view: &View) -> Message {
    let Some(a) = &r.approval else {
        return Message::text(format!("{} needs no approval.", r.id));
    };
    let verb = match r.kind() {
        JobKind::Release => "release",
        _ => "deploy",
    };
    let what = format!("{verb} {}", change(r, view).unwrap_or_default());
    let mentions: Vec<String> = a
        .policy
        .approvers
        .iter()
        .map(|role| format!("@{role}"))
        .collect();
    let mut lines = vec![format!(
        "✋ Approval needed for {}: {what}, requested by {}",
        r.id,
        view.person(&a.requester_id, &a.requester)
    )];
    if let Some(image) = &a.image {
        lines.push(format!("image  {}", view.text(image)));
    }
    lines.extend(change_list(r, view));
    lines.push(format!(
        "needs {} approval{} from {} · expires {}",
        a.need(),
        if a.need() == 1 { "" } else { "s" },
        or_list(&mentions),
        view.relative(a.deadline_ms)
    ));
    if !a.votes.is_empty() {
        let votes: Vec<String> = a
            .votes
            .iter()
            .map(|v| {
                format!(
                    "✅ {} ({})",
                    view.person(&v.user_id, &v.name),
                    view.time(v.at_ms)
                )
            })
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
            lines.push(format!("✅ Approved at {}.", view.time(*at_ms)))
        }
        ApprovalStatus::Rejected { by, at_ms } => lines.push(format!(
            "❌ Rejected by {} at {}; nothing was deployed.",
            view.text(by),
            view.time(*at_ms)
        )),
        ApprovalStatus::Expired { at_ms } => lines.push(format!(
            "⌛ Expired at {}; nothing was deployed.",
            view.time(*at_ms)
        )),
        ApprovalStatus::Superseded { by, .. } => lines.push(format!(
            "Superseded by {by}; this request can no longer be approved."
        )),
        ApprovalStatus::Cancelled { by, .. } => lines.push(format!(
            "🚫 Cancelled by {}; nothing was deployed.",
            view.text(by)
        )),
    }
    Message {
        text: fit(lines.join("\n"), view.style.max_chars),
        mention_roles: if pending {
            a.policy.approvers.clone()
        } else {
            Vec::new()
        },
        files: Vec::new(),
        mention_users: Vec::new(),
        buttons: if pending {
            vec![
                Button {
                    action: ButtonAction::Approve(r.id),
                    label: "Approve".into(),
                    style: ButtonStyle::Success,
                },
                Button {
                    action: ButtonAction::Reject(r.id),
                    label: "Reject".into(),
                    style: ButtonStyle::Danger,
                },
            ]
        } else {
            Vec::new()
        },
    }
}
