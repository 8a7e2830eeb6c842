//! `/approve <#job>`: the same as reacting ✅ on the approval message.

use super::{Context, arity, job_id};
use crate::chat::Reply;
use crate::names::JobId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approve {
    pub job: JobId,
}

impl Approve {
    pub fn parse(args: &[&str]) -> Result<Self, String> {
        arity("approve", args, 1, 1)?;
        Ok(Approve {
            job: job_id("approve", args[0])?,
        })
    }

    pub fn apply(self, cx: &Context<'_>) -> Reply {
        super::vote_reply(&cx.engine.vote(cx.actor, self.job, true))
    }
}
