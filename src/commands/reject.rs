//! `/reject <#job>`: the same as reacting ❌ on the approval message.

use super::spec::{OptionSpec, Spec};
use super::suggest::JobsFor;
use super::{Args, Context, Handler, ParseError, Reply, job_id};
use crate::config::Config;
use crate::job::Via;
use crate::names::JobId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub job: JobId,
}

impl Handler for Reject {
    const SPEC: Spec = Spec {
        name: "reject",
        starts_job: false,
        usage: "/reject <#job>",
        help: "reject a deploy (the same as reacting ❌)",
        options: &[OptionSpec::job("the deploy to reject", JobsFor::Vote)],
    };

    fn parse(args: &Args, _config: &Config) -> Result<Self, ParseError> {
        Ok(Reject { job: job_id(args)? })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        Reply::Vote(cx.engine.vote(cx.actor, self.job, false, Via::Command).await)
    }
}
