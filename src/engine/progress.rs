//! Keeps one chat message showing the latest rendering of a job, without flooding the
//! channel: it edits only when the content changed, at most once per window per
//! message (bursts are coalesced into the last state), retries failed edits, and
//! always delivers the final content.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::chat::{Chat, Message, MessageRef};

/// How long a change waits for the rest of its burst before it is shown.
const SETTLE: Duration = Duration::from_millis(25);

/// The longest wait between retries of a failed edit.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// A handle on the task that keeps one message up to date.
pub struct ProgressWriter {
    tx: watch::Sender<Message>,
    /// How many contents were asked for, and how many of them the task has dealt with.
    asked: Arc<AtomicU64>,
    settled: watch::Receiver<u64>,
    task: JoinHandle<bool>,
}

impl ProgressWriter {
    /// Starts keeping `target` (which shows `shown` now) up to date.
    pub fn spawn(
        chat: Arc<dyn Chat>,
        target: MessageRef,
        shown: Message,
        window: Duration,
    ) -> Self {
        let (tx, rx) = watch::channel(shown.clone());
        let asked = Arc::new(AtomicU64::new(0));
        let (settled_tx, settled) = watch::channel(0);
        let task = tokio::spawn(write(
            chat,
            target,
            shown,
            rx,
            window,
            asked.clone(),
            settled_tx,
        ));
        ProgressWriter {
            tx,
            asked,
            settled,
            task,
        }
    }

    /// Asks for `content` to be shown; returns at once.
    pub fn show(&self, content: Message) {
        self.tx.send_if_modified(|current| {
            if *current == content {
                false
            } else {
                *current = content;
                self.asked.fetch_add(1, Ordering::SeqCst);
                true
            }
        });
    }

    /// Stops the writer where it stands (a crash, in tests), delivering nothing more.
    pub fn abort(self) {
        self.task.abort();
    }

    /// How many contents have been asked for so far.
    pub fn asked_now(&self) -> u64 {
        self.asked.load(Ordering::SeqCst)
    }

    /// Counts the contents dealt with; wait on it for [`Self::asked_now`].
    pub fn settled_rx(&self) -> watch::Receiver<u64> {
        self.settled.clone()
    }

    /// Shows `content` and waits until it is delivered; false if the message can no
    /// longer be edited (deleted, or in a thread the bot cannot reopen).
    pub async fn finish(self, content: Message) -> bool {
        self.show(content);
        drop(self.tx);
        self.task.await.unwrap_or(false)
    }
}

async fn write(
    chat: Arc<dyn Chat>,
    target: MessageRef,
    mut shown: Message,
    mut rx: watch::Receiver<Message>,
    window: Duration,
    asked: Arc<AtomicU64>,
    settled: watch::Sender<u64>,
) -> bool {
    let backoff = crate::backoff::Backoff::chat();
    let mut last_edit: Option<Instant> = None;
    loop {
        let open = rx.changed().await.is_ok();
        if open {
            // Changes come in bursts (a build ends and the deploy starts a few
            // milliseconds later): wait a moment so one edit shows them all, and keep
            // to one edit per window.
            let settle = Instant::now() + SETTLE.min(window);
            let spaced = last_edit.map_or(settle, |at| (at + window).max(settle));
            tokio::time::sleep_until(spaced).await;
        }

        let mut failures = 0u32;
        loop {
            let version = asked.load(Ordering::SeqCst);
            let want = rx.borrow_and_update().clone();
            if want == shown {
                settled.send_replace(version);
                break;
            }
            match chat.edit(&target, &want).await {
                Ok(()) => {
                    shown = want;
                    last_edit = Some(Instant::now());
                    settled.send_replace(version);
                    break;
                }
                Err(e) if e.permanent => {
                    tracing::warn!(message = %target.message, error = %e, "cannot edit the progress message");
                    settled.send_replace(u64::MAX);
                    return false;
                }
                Err(e) => {
                    failures += 1;
                    let wait = e.retry_after.unwrap_or_else(|| backoff.delay(failures));
                    tracing::debug!(message = %target.message, error = %e, ?wait, "edit failed; retrying");
                    tokio::time::sleep(wait.min(MAX_RETRY_WAIT)).await;
                }
            }
        }
        if !open {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryChat;
    use crate::chat::ChatError;

    #[tokio::test(start_paused = true)]
    async fn bursts_are_coalesced_and_the_final_state_is_delivered() {
        let chat = MemoryChat::new();
        let target = chat.post("t", &Message::text("0")).await.unwrap();
        let writer = ProgressWriter::spawn(
            chat.clone(),
            target.clone(),
            Message::text("0"),
            Duration::from_secs(1),
        );
        for i in 1..=50 {
            writer.show(Message::text(format!("{i}")));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        writer.finish(Message::text("done")).await;
        let history = chat.history(&target);
        assert_eq!(history.last().unwrap().1, "done");
        // 1 s of updates plus the final: a handful of edits, at least 1 s apart.
        assert!(chat.edit_count(&target) <= 3, "{history:?}");
        for pair in history[1..].windows(2) {
            assert!(
                pair[1].0 - pair[0].0 >= Duration::from_secs(1),
                "{history:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failed_edits_are_retried_until_delivered() {
        let chat = MemoryChat::new();
        let target = chat.post("t", &Message::text("0")).await.unwrap();
        chat.fail_next_edits(
            3,
            ChatError {
                message: "429".into(),
                retry_after: Some(Duration::from_secs(2)),
                permanent: false,
            },
        );
        chat.fail_next_edits(2, ChatError::transient("502"));
        let writer = ProgressWriter::spawn(
            chat.clone(),
            target.clone(),
            Message::text("0"),
            Duration::from_secs(1),
        );
        writer.finish(Message::text("final")).await;
        assert_eq!(chat.message(&target).unwrap().text, "final");
    }

    #[tokio::test(start_paused = true)]
    async fn unchanged_content_is_not_edited() {
        let chat = MemoryChat::new();
        let target = chat.post("t", &Message::text("same")).await.unwrap();
        let writer = ProgressWriter::spawn(
            chat.clone(),
            target.clone(),
            Message::text("same"),
            Duration::from_secs(1),
        );
        writer.show(Message::text("other"));
        writer.show(Message::text("same"));
        writer.finish(Message::text("same")).await;
        assert_eq!(chat.edit_count(&target), 0);
    }
}
