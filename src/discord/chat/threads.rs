//! The threads releasebot opens on its messages, and reopens when they were archived.

use std::time::Duration;

use serenity::all::{ChannelId, CreateThread, EditThread};

use super::super::wire::{archive_after, channel_id, code, message_id, thread_name};
use super::{DiscordChat, THREAD_EXISTS, describe};
use crate::chat::{ChatError, MessageRef, ThreadRef};

impl DiscordChat {
    /// Starts a public thread on `posted`, archived after a day of silence, or after
    /// as long as `keep_open` (up to a week, Discord's longest).
    pub(super) async fn thread_on(
        &self,
        posted: MessageRef,
        title: &str,
        keep_open: Duration,
    ) -> Result<ThreadRef, ChatError> {
        const WHAT: &str = "open a thread";
        let rest = self.rest_for(WHAT)?;
        let channel_id = channel_id(&posted.channel)?;
        let message_id = message_id(&posted.message)?;
        let builder =
            CreateThread::new(thread_name(title)).auto_archive_duration(archive_after(keep_open));
        let thread = match rest
            .create_thread_from_message(channel_id, message_id, &builder)
            .await
        {
            Ok(thread) => thread.id,
            // An earlier attempt did create it; a thread started from a message has
            // the message's id.
            Err(e) if code(&e) == Some(THREAD_EXISTS) => ChannelId::new(message_id.get()),
            // No thread can be had here (the bot lacks Create Public Threads, or the
            // command came from a thread or a forum): the request is followed in the
            // channel itself rather than not at all.
            Err(e) if self.failed(&e, WHAT).permanent => {
                tracing::warn!(channel = %channel_id, error = %describe(&e, &self.token), "cannot open a thread; following the request in the channel");
                channel_id
            }
            Err(e) => {
                // Leave no summary without its thread: the engine tries the whole step
                // again.
                let _ = rest.delete_message(channel_id, message_id).await;
                return Err(self.failed(&e, WHAT));
            }
        };
        let guild = self
            .guilds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&channel_id)
            .copied();
        if let Some(guild) = guild {
            self.remember(thread, guild);
        }
        Ok(ThreadRef {
            channel: posted.channel.clone(),
            thread: thread.to_string(),
            summary: posted,
        })
    }

    /// Reopens an archived thread (the bot made it, so it may); a locked one the bot
    /// cannot reopen, which is a permanent refusal.
    pub(super) async fn reopen(&self, thread: ChannelId) -> Result<(), ChatError> {
        const WHAT: &str = "reopen an archived thread";
        let rest = self.rest_for(WHAT)?;
        match rest
            .edit_thread(thread, &EditThread::new().archived(false))
            .await
        {
            Ok(_) => {
                tracing::info!(thread = %thread, "reopened an archived thread");
                Ok(())
            }
            Err(e) => {
                let mut err = self.failed(&e, WHAT);
                err.permanent = true;
                Err(err)
            }
        }
    }
}
