//! Approvals and access control: team leads approve deploys, only the right people act,
//! and every decision is audited.

use std::time::Duration;

use releasebot::adapters::memory::Record;
use releasebot::chat::{APPROVE, REJECT};
use releasebot::commands::{Denied, Refusal, Reply};
use releasebot::config::Config;
use releasebot::job::decisions::VoteOutcome;
use releasebot::job::{AuditAction, JobState};
use releasebot::job::{VoteRefusal, VoteResult};
use releasebot::names::{AppName, JobId, ProjectName};
use releasebot::sim::Scenario;

use crate::helpers::{TestBot, demo_config, spawn_bot};

fn web() -> AppName {
    AppName::parse("web").unwrap()
}

async fn bot_with(change: impl FnOnce(&mut Config)) -> TestBot {
    spawn_bot(Scenario::demo(), demo_config(change)).await
}

async fn pending(bot: &TestBot, job: JobId) {
    bot.wait_for(job, "awaiting approval", |r| {
        r.state == JobState::AwaitingApproval && r.messages.approval.is_some()
    })
    .await;
}

fn audit_actions(bot: &TestBot, job: JobId) -> Vec<(Option<String>, AuditAction)> {
    bot.record(job)
        .audit
        .iter()
        .map(|a| (a.actor.clone(), a.action))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_quorum_of_two_with_a_withdrawn_vote() {
    let bot = bot_with(|c| c.apps.get_mut(&web()).unwrap().policy.votes = 2).await;
    let job = bot.start("alice", "/deploy web v1.2.3").await;
    pending(&bot, job).await;
    let approval = bot.approval_ref(job);
    let message = bot.chat.message(&approval).unwrap();
    assert!(
        message.text.contains(
            "✋ Approval needed for #1: deploy web: master-56-9ae1b20 → v1.2.3, requested by alice"
        ),
        "{}",
        message.text
    );
    assert!(
        message.text.contains("needs 2 approvals from @lead"),
        "{}",
        message.text
    );
    assert!(
        message.text.contains("React ✅ to approve or ❌ to reject"),
        "{}",
        message.text
    );
    assert_eq!(
        message.mention_roles,
        ["lead"],
        "only the approver role is mentioned"
    );
    assert_eq!(message.buttons.len(), 2);
    let bot_reactions = bot.chat.reactions(&approval);
    assert!(bot_reactions.contains(&("releasebot".into(), APPROVE.into())));
    assert!(bot_reactions.contains(&("releasebot".into(), REJECT.into())));

    assert_eq!(
        bot.chat.react_as("bob", &approval, APPROVE).await,
        Some(Reply::Vote(VoteOutcome::Voted(
            JobId(1),
            VoteResult::Counted { have: 1, need: 2 }
        )))
    );
    // Edits are paced (at most 5 per 5 s in a thread): give it a moment.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let text = bot.approval_text(job);
    assert!(
        text.contains("votes  ✅ bob (") && text.contains("— 1 of 2"),
        "{text}"
    );
    assert_eq!(
        bot.chat.unreact_as("bob", &approval, APPROVE).await,
        Some(Reply::Vote(VoteOutcome::Voted(
            JobId(1),
            VoteResult::Withdrawn { have: 0, need: 2 }
        )))
    );
    bot.chat.react_as("bob", &approval, APPROVE).await;
    assert_eq!(
        bot.sim.stats().total_upgrades(),
        0,
        "one vote is not enough"
    );
    assert_eq!(
        bot.chat.react_as("carol", &approval, APPROVE).await,
        Some(Reply::Vote(VoteOutcome::Voted(
            JobId(1),
            VoteResult::Approved
        )))
    );
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    assert_eq!(bot.sim.stats().total_upgrades(), 1);
    assert!(
        bot.progress(job)
            .contains("approval  needs 2 of lead — approved — ✅ bob"),
        "{}",
        bot.progress(job)
    );
    assert!(
        bot.approval_text(job).contains("✅ Approved at"),
        "{}",
        bot.approval_text(job)
    );
    let message = bot.chat.message(&approval).unwrap();
    assert!(
        message.buttons.is_empty() && message.mention_roles.is_empty(),
        "a closed request asks nothing"
    );

    let actions = audit_actions(&bot, job);
    let expected = [
        (Some("alice".to_string()), AuditAction::Request),
        (Some("bob".into()), AuditAction::Vote),
        (Some("bob".into()), AuditAction::Withdraw),
        (Some("bob".into()), AuditAction::Vote),
        (Some("carol".into()), AuditAction::Approve),
        (None, AuditAction::DeployStart),
        (None, AuditAction::DeployEnd),
    ];
    assert_eq!(actions, expected);
    let history = bot.say("dave", "/history web").await;
    assert!(history.text().contains("by alice"), "{}", history.text());
    assert!(
        history.text().contains("approved by bob, carol"),
        "{}",
        history.text()
    );
}

#[tokio::test(start_paused = true)]
async fn reactions_of_people_without_the_role_change_nothing() {
    let bot = bot_with(|_| {}).await;
    let job = bot.start("alice", "/deploy web v1.2.3").await;
    pending(&bot, job).await;
    let approval = bot.approval_ref(job);
    let reply = bot.chat.react_as("dave", &approval, APPROVE).await.unwrap();
    assert!(
        matches!(
            &reply,
            Reply::Vote(VoteOutcome::Voted(
                _,
                VoteResult::Refused(VoteRefusal::NotAnApprover { .. })
            ))
        ),
        "{reply:?}"
    );
    assert_eq!(
        reply.text(),
        "Approving deploys of web needs the role lead; your vote was not counted."
    );
    // The refused reaction is removed and answered.
    assert!(
        bot.chat
            .records()
            .iter()
            .any(|r| matches!(r, Record::Refused { user, .. } if user == "dave"))
    );
    assert!(
        !bot.chat
            .reactions(&approval)
            .contains(&("dave".into(), APPROVE.into()))
    );
    // Reacting with something else is ignored.
    assert_eq!(bot.chat.react_as("bob", &approval, "🎉").await, None);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(bot.record(job).state, JobState::AwaitingApproval);
    assert_eq!(bot.sim.stats().total_upgrades(), 0);
}

#[tokio::test(start_paused = true)]
async fn requesters_cannot_approve_themselves_unless_allowed() {
    let bot = bot_with(|_| {}).await;
    let job = bot.start("bob", "/deploy web v1").await;
    pending(&bot, job).await;
    let reply = bot.say("bob", "/approve #1").await;
    assert_eq!(
        reply,
        Reply::Vote(VoteOutcome::Voted(
            JobId(1),
            VoteResult::Refused(VoteRefusal::OwnRequest)
        ))
    );
    assert_eq!(bot.record(job).state, JobState::AwaitingApproval);

    let bot = bot_with(|c| c.apps.get_mut(&web()).unwrap().policy.allow_self_approval = true).await;
    let job = bot.start("bob", "/deploy web v1").await;
    pending(&bot, job).await;
    assert_eq!(
        bot.say("bob", "/approve 1").await,
        Reply::Vote(VoteOutcome::Voted(JobId(1), VoteResult::Approved))
    );
    assert_eq!(bot.finished(job).await.state, JobState::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn one_reject_ends_the_request() {
    let bot = bot_with(|c| c.apps.get_mut(&web()).unwrap().policy.votes = 2).await;
    let job = bot.start("alice", "/deploy web v1").await;
    pending(&bot, job).await;
    bot.chat
        .react_as("bob", &bot.approval_ref(job), APPROVE)
        .await;
    bot.chat
        .react_as("carol", &bot.approval_ref(job), REJECT)
        .await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Rejected);
    assert!(
        bot.progress(job)
            .contains("⛔ Rejected by carol; nothing was deployed."),
        "{}",
        bot.progress(job)
    );
    assert!(
        bot.approval_text(job).contains("❌ Rejected by carol at"),
        "{}",
        bot.approval_text(job)
    );
    assert_eq!(bot.sim.stats().total_upgrades(), 0);
    assert!(audit_actions(&bot, job).contains(&(Some("carol".into()), AuditAction::Reject)));
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_request_expires_and_deploys_nothing() {
    let bot =
        bot_with(|c| c.apps.get_mut(&web()).unwrap().policy.timeout = Duration::from_secs(600))
            .await;
    let job = bot.start("alice", "/deploy web v1").await;
    pending(&bot, job).await;
    assert!(
        bot.approval_text(job).contains("expires"),
        "{}",
        bot.approval_text(job)
    );
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::TimedOut);
    assert!(
        bot.progress(job)
            .contains("⌛ The approval request expired after 10m00s; nothing was deployed."),
        "{}",
        bot.progress(job)
    );
    assert!(
        bot.approval_text(job).contains("⌛ Expired at"),
        "{}",
        bot.approval_text(job)
    );
    assert!(audit_actions(&bot, job).contains(&(None, AuditAction::Expire)));
    assert_eq!(
        bot.say("bob", "/approve 1").await,
        Reply::Vote(VoteOutcome::Ended(JobId(1), JobState::TimedOut))
    );
    assert_eq!(bot.sim.stats().total_upgrades(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_newer_request_supersedes_a_pending_one() {
    let bot = bot_with(|_| {}).await;
    let old = bot.start("alice", "/deploy web v1").await;
    pending(&bot, old).await;
    let old_message = bot.approval_ref(old);
    let new = bot.start("alice", "/deploy web v2").await;
    let r = bot.finished(old).await;
    assert_eq!(r.state, JobState::Cancelled);
    assert!(
        bot.progress(old)
            .contains("Superseded by #2; nothing was deployed."),
        "{}",
        bot.progress(old)
    );
    assert!(
        bot.chat
            .message(&old_message)
            .unwrap()
            .text
            .contains("Superseded by #2; this request can no longer be approved."),
    );
    // The old request can no longer be approved, the new one can.
    assert!(bot.say("bob", "/approve 1").await.is_refusal());
    pending(&bot, new).await;
    bot.say("bob", "/approve 2").await;
    assert_eq!(bot.finished(new).await.state, JobState::Succeeded);
    let app = bot
        .engine
        .paas()
        .get_app(&bot.engine.config().apps[&web()].rancher)
        .await
        .unwrap();
    assert_eq!(app.version_tag.as_deref(), Some("v2"));
    assert_eq!(bot.sim.stats().total_upgrades(), 1);
    assert!(audit_actions(&bot, old).contains(&(None, AuditAction::Supersede)));
}

#[tokio::test(start_paused = true)]
async fn a_release_asks_after_its_build_and_deploys_the_built_tag() {
    let bot = bot_with(|_| {}).await;
    let job = bot.start("alice", "/release web").await;
    pending(&bot, job).await;
    let r = bot.record(job);
    let tag = r.build.as_ref().and_then(|b| b.tag.clone()).unwrap();
    let image = r.build.as_ref().and_then(|b| b.image.clone()).unwrap();
    let text = bot.approval_text(job);
    assert!(
        text.contains(&format!(
            "Approval needed for #1: release web: master-56-9ae1b20 → {tag}, requested by alice"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("image  {image}")), "{text}");
    assert_eq!(
        bot.sim.stats().total_upgrades(),
        0,
        "nothing deploys before the approval"
    );
    bot.chat
        .press("bob", &bot.approval_ref(job), "approve:1")
        .await;
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Succeeded, "{}", bot.progress(job));
    let app = bot
        .engine
        .paas()
        .get_app(&bot.engine.config().apps[&web()].rancher)
        .await
        .unwrap();
    assert_eq!(app.version_tag.as_deref(), Some(tag.as_str()));
    let progress = bot.progress(job);
    assert!(
        progress.contains("approval  needs 1 of lead — approved — ✅ bob"),
        "{progress}"
    );
}

#[tokio::test(start_paused = true)]
async fn each_command_refuses_people_without_the_role() {
    let bot = bot_with(|c| {
        c.access.build = Some(vec!["developer".into()]);
        c.access.deploy = Some(vec!["deployer".into()]);
        c.access.release = Some(vec!["release-manager".into()]);
        c.projects
            .get_mut(&ProjectName::parse("worker").unwrap())
            .unwrap()
            .channels = vec!["ops".into()];
    })
    .await;
    let cases = [
        (
            "dave",
            "/build web",
            "Building web needs the role developer.",
        ),
        (
            "alice",
            "/deploy api v1",
            "Deploying api needs the role deployer.",
        ),
        (
            "alice",
            "/release api",
            "Releasing api needs the role release-manager.",
        ),
        (
            "alice",
            "/build worker",
            "worker can only be used from its own channels, not from here.",
        ),
        ("dave", "/approve 1", "There is no job #1."),
    ];
    for (user, line, want) in cases {
        // The wording of each refusal, as people read it.
        let reply = bot.say(user, line).await;
        assert!(reply.is_refusal(), "{user}: {line}: {reply:?}");
        assert_eq!(reply.text(), want, "{user}: {line}");
    }
    assert_eq!(bot.sim.stats().requests, 0, "nothing reached the PaaS");

    // alice may build; dave may neither cancel nor approve her job; an admin may cancel.
    let job = bot.start("alice", "/build web").await;
    assert_eq!(
        bot.say("dave", "/cancel 1").await,
        Reply::Refused(Refusal::Denied(Denied::NotYours {
            job: JobId(1),
            requester: "alice".into()
        }))
    );
    let reply = bot.say("root", "/cancel 1").await;
    assert!(reply.text().starts_with("Cancelling #1"), "{reply:?}");
    assert_eq!(bot.finished(job).await.state, JobState::Cancelled);

    // /help shows each person what they may do.
    let dave = bot.say("dave", "/help").await;
    assert!(!dave.text().contains("/build"), "{}", dave.text());
    assert!(dave.text().contains("/status"), "{}", dave.text());
    let alice = bot.say("alice", "/help").await;
    assert!(alice.text().contains("/build <project> [branch] — run the project's pipeline; report stages, image and tag (api, web)"), "{}", alice.text());
    assert!(!alice.text().contains("/deploy"), "{}", alice.text());
    let bob = bot.say("bob", "/help").await;
    assert!(
        bob.text().contains("You approve deploys of: web."),
        "{}",
        bob.text()
    );
}

#[tokio::test(start_paused = true)]
async fn approvers_of_the_app_may_cancel_a_pending_deploy() {
    let bot = bot_with(|_| {}).await;
    let job = bot.start("alice", "/deploy web v1").await;
    pending(&bot, job).await;
    assert!(
        bot.say("carol", "/cancel #1")
            .await
            .text()
            .starts_with("Cancelling #1")
    );
    let r = bot.finished(job).await;
    assert_eq!(r.state, JobState::Cancelled);
    assert!(
        bot.progress(job)
            .contains("Cancelled by carol; nothing was deployed."),
        "{}",
        bot.progress(job)
    );
    assert!(
        bot.approval_text(job)
            .contains("🚫 Cancelled by carol; nothing was deployed.")
    );
    assert!(audit_actions(&bot, job).contains(&(Some("carol".into()), AuditAction::Cancel)));
    assert_eq!(bot.sim.stats().total_upgrades(), 0);
}
