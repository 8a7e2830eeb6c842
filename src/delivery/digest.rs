//! The weekly delivery digest (`[stats] digest`): `/stats`' answer and charts for every
//! app over the last 7 days, posted in a channel at a time of the week. Which slot is
//! due is the job domain's rule ([`crate::job::digest`]); the slot last sent is kept in
//! the store (`meta`), so no restart sends one twice or skips one, and only the replica
//! that leads sends (its chat calls and store writes are fenced by the lease).

use std::sync::Arc;
use std::time::Duration;

use crate::chat::{Chat, Message};
use crate::clock::Clock;
use crate::config::{Config, Digest};
use crate::job::digest::Due;
use crate::job::stats::PeriodLength;
use crate::lease::LeaseClock;
use crate::render::View;
use crate::shutdown::Shutdown;
use crate::store::{Store, StoreError};

/// What the digest is sent with: the chat the engine posts through (paced, and
/// acting only while the lease lets this replica), the store it reads and records in.
pub struct Digests {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub chat: Arc<dyn Chat>,
    pub view: View,
    pub lease: Arc<LeaseClock>,
    pub clock: Clock,
    /// Where the builds of tags built outside releasebot are read.
    pub paas: crate::paas::PaasClient,
}

/// The key in `meta` of the slot last sent (milliseconds since the epoch).
pub const SENT_KEY: &str = "stats_digest_sent";

/// The longest the digest task sleeps before looking again.
const LOOK_AGAIN: Duration = Duration::from_secs(3600);

impl Digests {
    /// Sends the digest at each slot until `shutdown`; nothing without `[stats] digest`.
    pub async fn run(self, shutdown: Shutdown) {
        let Some(digest) = self.config.digest.clone() else {
            return;
        };
        loop {
            let now = self.clock.now_ms();
            let wait = match self.digest_step(&digest, now).await {
                Ok(Some(next_ms)) => Duration::from_millis((next_ms - now).max(0) as u64),
                Ok(None) => LOOK_AGAIN,
                Err(e) => {
                    tracing::warn!(error = %e, "the delivery digest could not be read or recorded; trying again in a minute");
                    Duration::from_secs(60)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait.min(LOOK_AGAIN)) => {}
                () = shutdown.wait() => return,
            }
        }
    }

    /// Sends the digest if its slot is due and not yet sent; when to look next.
    async fn digest_step(&self, digest: &Digest, now: i64) -> Result<Option<i64>, StoreError> {
        if !self.lease.may_act() {
            return Ok(None);
        }
        let store = &self.store;
        let Some(latest) = digest.every.latest(now) else {
            return Ok(None);
        };
        // The first time, the latest slot passed is the starting point: nothing is sent
        // for it.
        let last = store.meta(SENT_KEY, || latest.to_string()).await?;
        let due = digest.every.due(now, last.parse().ok());
        let slot = match due {
            Some(Due::Send { slot_ms }) => slot_ms,
            Some(Due::Wait { next_ms }) => return Ok(Some(next_ms)),
            Some(Due::Start { .. }) | None => return Ok(None),
        };
        // Claimed before it is sent: a replica or a restart that finds it claimed does
        // not send it again.
        let kept = store.swap_meta(SENT_KEY, &last, &slot.to_string()).await?;
        if kept == slot.to_string() {
            self.send_digest(digest).await;
        }
        Ok(digest.every.next(now))
    }

    async fn send_digest(&self, digest: &Digest) {
        let apps: Vec<_> = self.config.apps.keys().cloned().collect();
        let now = self.clock.now_ms();
        let pipelines = super::Pipelines {
            config: &self.config,
            paas: &self.paas,
        };
        let week = PeriodLength::Week;
        let all = match super::figures(&self.store, &apps, week, now, Some(pipelines)).await {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!(error = %e, "the delivery digest was not sent: the history cannot be read");
                return;
            }
        };
        let title = "Weekly delivery digest: the last 7 days, against the 7 days before:";
        let message = Message {
            text: crate::render::fit(crate::render::stats(title, &all), self.view.style.max_chars),
            files: crate::render::chart::attachments(&all),
            ..Message::default()
        };
        let chat = self.chat.clone();
        let posted = crate::chat::retrying(|| chat.post(&digest.channel, &message)).await;
        match posted {
            Ok(_) => tracing::info!(channel = %digest.channel, "delivery digest sent"),
            Err(e) => {
                tracing::warn!(channel = %digest.channel, error = %e, "the delivery digest could not be posted")
            }
        }
    }
}
