//! `/cancel <#job>`: stop a running build, or withdraw a queued or pending request.

use super::access;
use super::spec::{OptionSpec, Spec};
use super::suggest::JobsFor;
use super::{Args, Context, Denied, Handler, ParseError, Refusal, Reply, job_id};
use crate::config::Config;
use crate::job::JobRecord;
use crate::names::JobId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancel {
    pub job: JobId,
}

impl Handler for Cancel {
    const SPEC: Spec = Spec {
        name: "cancel",
        starts_job: false,
        usage: "/cancel <#job>",
        help: "stop a build, or withdraw a queued or pending request",
        options: &[OptionSpec::job("the job to cancel", JobsFor::Cancel)],
    };

    fn parse(args: &Args, _config: &Config) -> Result<Self, ParseError> {
        Ok(Cancel { job: job_id(args)? })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        let Some(record) = cx.engine.job_record(self.job).await else {
            return Reply::Refused(Refusal::NoSuchJob(self.job));
        };
        if let Err(denied) = may_cancel(cx, &record) {
            return Reply::Refused(Refusal::Denied(denied));
        }
        match cx.engine.cancel(cx.actor, self.job).await {
            Ok(state) => Reply::Cancelling {
                job: self.job,
                state,
            },
            Err(e) => Reply::Refused(Refusal::Cancel(e)),
        }
    }
}

/// The requester, an approver of the app, an admin, or a holder of a `cancel` role.
fn may_cancel(cx: &Context<'_>, r: &JobRecord) -> Result<(), Denied> {
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
    Err(Denied::NotYours {
        job: r.id,
        requester: r.requester.name.clone(),
    })
}
