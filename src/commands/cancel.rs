//! `/cancel <#job>`: stop a running build, or withdraw a queued or pending request.

use super::access;
use super::{Context, arity, job_id};
use crate::chat::Reply;
use crate::names::JobId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancel {
    pub job: JobId,
}

impl Cancel {
    pub fn parse(args: &[&str]) -> Result<Self, String> {
        arity("cancel", args, 1, 1)?;
        Ok(Cancel {
            job: job_id("cancel", args[0])?,
        })
    }

    pub fn apply(self, cx: &Context<'_>) -> Reply {
        let Some(record) = cx.engine.job_record(self.job) else {
            return Reply::Refused(format!("There is no job {}.", self.job));
        };
        if let Err(why) = may_cancel(cx, &record) {
            return Reply::Refused(why);
        }
        match cx.engine.cancel(cx.actor, self.job) {
            Ok(state) => Reply::Info(crate::render::cancelling(self.job, state)),
            Err(e) => Reply::Refused(crate::render::cancel_refusal(&e)),
        }
    }
}

/// The requester, an approver of the app, an admin, or a holder of a `cancel` role.
fn may_cancel(cx: &Context<'_>, r: &crate::job::JobRecord) -> Result<(), String> {
    let config = cx.engine.config();
    if r.requester.id == cx.actor.id || access::is_admin(config, cx.actor) {
        return Ok(());
    }
    let app = r.spec.app().and_then(|a| config.apps.get(a));
    if app.is_some_and(|a| cx.actor.has_any_role(&a.policy.approvers)) {
        return Ok(());
    }
    let project = r.spec.project().and_then(|p| config.projects.get(p));
    let role_list = app
        .map(|a| a.access.or(&config.access))
        .or_else(|| project.map(|p| p.access.or(&config.access)))
        .and_then(|a| a.cancel);
    if let Some(roles) = &role_list
        && cx.actor.has_any_role(roles)
    {
        return Ok(());
    }
    Err(format!(
        "Only {} (who asked), an approver of its app or an admin may cancel {}.",
        r.requester.name, r.id
    ))
}
