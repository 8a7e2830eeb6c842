//! What shipped, where the rest of the company reads: when a deploy, release, promotion
//! or rollback to an app ends, one line in each of its announcement channels
//! (`[apps.<name>] announce`, `[projects.<name>] announce`), mentioning nobody. Whether
//! a job's end is announced is the job domain's rule (`job::ending`); the engine
//! records that it was before this posts it.

use std::sync::Arc;

use crate::chat::{Chat, retrying};
use crate::job::JobRecord;
use crate::render::{self, View};

/// Posts how `r` ended in `channels`; `release` is the release `r` is one app of, whose
/// thread and approval the line names.
pub async fn announce(
    chat: &Arc<dyn Chat>,
    channels: &[String],
    view: &View,
    r: &JobRecord,
    release: Option<&JobRecord>,
) {
    let link = match &release.unwrap_or(r).messages.thread {
        Some(thread) => chat.link(thread).await,
        None => None,
    };
    let line = render::announcement(r, release, link, view);
    for channel in channels {
        if let Err(e) = retrying(|| chat.post(channel, &line)).await {
            tracing::warn!(job = %r.id, %channel, error = %e, "could not announce the job's end");
        }
    }
}
