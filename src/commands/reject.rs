//! `/reject <#job>`: the same as reacting ❌ on the approval message.

use super::{Context, arity, job_id};
use crate::chat::Reply;
use crate::names::JobId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub job: JobId,
}

impl Reject {
    pub fn parse(args: &[&str]) -> Result<Self, String> {
        arity("reject", args, 1, 1)?;
        Ok(Reject {
            job: job_id("reject", args[0])?,
        })
    }

    pub fn apply(self, cx: &Context<'_>) -> Reply {
        super::vote_reply(&cx.engine.vote(cx.actor, self.job, false))
    }
}
