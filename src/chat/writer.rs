//! Keeps one chat message showing the latest state of something (a job), without
//! flooding the channel: it edits only when the content changed, at most once per
//! window per message (bursts are coalesced into the last state), retries failed edits,
//! and always delivers the final content.
//!
//! It is handed states, not texts, and renders a state only when it is about to edit:
//! whatever the job went through while the edit waited costs one rendering and one
//! edit, and nobody renders while holding the job's lock. Under chat pressure its edit
//! waits its turn in the [`PacedChat`]'s queue: as urgent when the state is a final
//! one, a failure or an approval request, else ranked by how long the message has been
//! out of date.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::chat::paced::{PacedChat, Urgency};
use crate::chat::{Message, MessageRef};

/// How a state reads in the message.
pub type Render<T> = Arc<dyn Fn(&T) -> Message + Send + Sync>;

/// What a writer is asked to show.
struct Wanted<T> {
    /// `None` until a state is asked for: the message shows what it showed.
    state: Option<Arc<T>>,
    /// Someone waits on it: it goes before progress when edits must wait their turn.
    urgent: bool,
}

/// How long a change waits for the rest of its burst before it is shown.
const SETTLE: Duration = Duration::from_millis(25);

/// A handle on the task that keeps one message up to date.
pub struct ProgressWriter<T> {
    tx: watch::Sender<Wanted<T>>,
    /// How many states were asked for, and how many of them the task has dealt with.
    asked: Arc<AtomicU64>,
    settled: watch::Receiver<u64>,
    task: JoinHandle<bool>,
}

impl<T: PartialEq + Send + Sync + 'static> ProgressWriter<T> {
    /// Starts keeping `target` (which shows `shown` now) up to date, each state read
    /// through `render`.
    pub fn spawn(
        chat: Arc<PacedChat>,
        target: MessageRef,
        shown: Message,
        window: Duration,
        render: Render<T>,
    ) -> Self {
        let (tx, rx) = watch::channel(Wanted {
            state: None,
            urgent: false,
        });
        let asked = Arc::new(AtomicU64::new(0));
        let (settled_tx, settled) = watch::channel(0);
        let task = tokio::spawn(write(
            Edits {
                chat,
                target,
                window,
                render,
            },
            shown,
            rx,
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

    /// Asks for `state` (progress) to be shown; returns at once.
    pub fn show(&self, state: Arc<T>) {
        self.show_as(state, false);
    }

    /// Asks for `state` to be shown; `urgent` when someone waits on it (a final
    /// state, a failure, an approval request). Returns at once.
    pub fn show_as(&self, state: Arc<T>, urgent: bool) {
        self.tx.send_if_modified(|current| {
            if current.state.as_deref() == Some(&*state) {
                // Urgency can rise while the same state waits.
                let rises = urgent && !current.urgent;
                current.urgent |= urgent;
                rises
            } else {
                *current = Wanted {
                    state: Some(state),
                    urgent,
                };
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

    /// Shows `state` and waits until it is delivered; false if the message can no
    /// longer be edited (deleted, or in a thread the bot cannot reopen).
    pub async fn finish(self, state: Arc<T>) -> bool {
        self.show_as(state, true);
        drop(self.tx);
        self.task.await.unwrap_or(false)
    }
}

/// Where a writer's edits go, and how it reads a state.
struct Edits<T> {
    chat: Arc<PacedChat>,
    target: MessageRef,
    window: Duration,
    render: Render<T>,
}

impl<T> Edits<T> {
    /// The content wanted now: the latest state, rendered; what is shown if none.
    fn wanted(&self, rx: &mut watch::Receiver<Wanted<T>>, shown: &Message) -> (Message, bool) {
        let (state, urgent) = {
            let want = rx.borrow_and_update();
            (want.state.clone(), want.urgent)
        };
        let message = match state {
            Some(state) => (self.render)(&state),
            None => shown.clone(),
        };
        (message, urgent)
    }
}

async fn write<T>(
    edits: Edits<T>,
    mut shown: Message,
    mut rx: watch::Receiver<Wanted<T>>,
    asked: Arc<AtomicU64>,
    settled: watch::Sender<u64>,
) -> bool {
    let Edits {
        chat,
        target,
        window,
        ..
    } = &edits;
    let (chat, target, window) = (chat.clone(), target.clone(), *window);
    let backoff = crate::backoff::Backoff::chat();
    let mut last_edit: Option<Instant> = None;
    let mut closed = false;
    loop {
        if !closed {
            closed = rx.changed().await.is_err();
        }
        // The message is out of date from now until an edit lands.
        let stale_since = Instant::now();
        if !closed {
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
            let (want, urgent) = edits.wanted(&mut rx, &shown);
            let urgent = urgent || closed;
            if want == shown {
                settled.send_replace(version);
                break;
            }
            let urgency = if urgent {
                Urgency::Decisive
            } else {
                Urgency::Stale(stale_since)
            };
            let turn = tokio::select! {
                turn = chat.turn_for(&target, urgency) => turn,
                // What is wanted may turn urgent while it waits: rank it again.
                changed = rx.changed(), if !urgent => {
                    closed = changed.is_err();
                    continue;
                }
            };
            // The content is chosen now: every state since the wait began is folded.
            let version = asked.load(Ordering::SeqCst);
            let (want, _) = edits.wanted(&mut rx, &shown);
            if want == shown {
                settled.send_replace(version);
                break;
            }
            match turn.edit(&target, &want).await {
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
                    // The platform's word (a 429's Retry-After) is kept however long:
                    // an edit sent sooner would only be refused again. Otherwise the
                    // chat back-off, which stops growing at 30 s.
                    let wait = e.retry_after.unwrap_or_else(|| backoff.delay(failures));
                    tracing::debug!(message = %target.message, error = %e, ?wait, "edit failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
        if closed {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryChat;
    use crate::chat::paced::Urgency;
    use crate::chat::paced::tests::paced_at;
    use crate::chat::{Chat, ChatError};

    /// Texts shown as they are.
    fn as_is() -> Render<Message> {
        Arc::new(Message::clone)
    }

    fn paced(chat: &Arc<MemoryChat>) -> Arc<PacedChat> {
        Arc::new(PacedChat::new(chat.clone(), Arc::default(), Arc::default()))
    }

    #[tokio::test(start_paused = true)]
    async fn bursts_are_coalesced_and_the_final_state_is_delivered() {
        let chat = MemoryChat::new();
        let target = chat.post("t", &Message::text("0")).await.unwrap();
        let writer = ProgressWriter::spawn(
            paced(&chat),
            target.clone(),
            Message::text("0"),
            Duration::from_secs(1),
            as_is(),
        );
        for i in 1..=50 {
            writer.show(Arc::new(Message::text(format!("{i}"))));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        writer.finish(Arc::new(Message::text("done"))).await;
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
        chat.fail_next_edits(3, ChatError::rate_limited("429", Duration::from_secs(2)));
        chat.fail_next_edits(2, ChatError::transient("502"));
        let writer = ProgressWriter::spawn(
            paced(&chat),
            target.clone(),
            Message::text("0"),
            Duration::from_secs(1),
            as_is(),
        );
        writer.finish(Arc::new(Message::text("final"))).await;
        assert_eq!(chat.message(&target).unwrap().text, "final");
    }

    #[tokio::test(start_paused = true)]
    async fn an_edit_waits_as_long_as_the_platform_asks_however_long() {
        let chat = MemoryChat::new();
        let target = chat.post("t", &Message::text("0")).await.unwrap();
        chat.fail_next_edits(1, ChatError::rate_limited("429", Duration::from_secs(45)));
        let start = Instant::now();
        let writer = ProgressWriter::spawn(
            paced(&chat),
            target.clone(),
            Message::text("0"),
            Duration::from_secs(1),
            as_is(),
        );
        writer.finish(Arc::new(Message::text("final"))).await;
        assert!(
            start.elapsed() >= Duration::from_secs(45),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(chat.message(&target).unwrap().text, "final");
    }

    #[tokio::test(start_paused = true)]
    async fn unchanged_content_is_not_edited() {
        let chat = MemoryChat::new();
        let target = chat.post("t", &Message::text("same")).await.unwrap();
        let writer = ProgressWriter::spawn(
            paced(&chat),
            target.clone(),
            Message::text("same"),
            Duration::from_secs(1),
            as_is(),
        );
        writer.show(Arc::new(Message::text("other")));
        writer.show(Arc::new(Message::text("same")));
        writer.finish(Arc::new(Message::text("same"))).await;
        assert_eq!(chat.edit_count(&target), 0);
    }

    /// A writer of a message showing "0", on a chat allowed one call a second (which
    /// posting the message spent).
    async fn writer_at_one_call_a_second(
        chat: &Arc<MemoryChat>,
    ) -> (Arc<PacedChat>, MessageRef, ProgressWriter<Message>) {
        let paced = paced_at(chat, 1);
        let target = paced.post("t", &Message::text("0")).await.unwrap();
        let writer = ProgressWriter::spawn(
            paced.clone(),
            target.clone(),
            Message::text("0"),
            Duration::from_millis(10),
            as_is(),
        );
        (paced, target, writer)
    }

    #[tokio::test(start_paused = true)]
    async fn under_pressure_the_states_a_message_went_through_while_waiting_cost_one_edit() {
        let chat = MemoryChat::new();
        let (_, target, writer) = writer_at_one_call_a_second(&chat).await;
        // The second's one call is spent: these wait, and only the last is shown.
        for i in 1..=3 {
            writer.show(Arc::new(Message::text(format!("{i}"))));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        writer.finish(Arc::new(Message::text("done"))).await;
        let shown: Vec<String> = chat.history(&target).into_iter().map(|(_, t)| t).collect();
        assert_eq!(shown, ["0", "3", "done"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_state_overtakes_progress_that_waited_longer() {
        let chat = MemoryChat::new();
        let (paced, target, writer) = writer_at_one_call_a_second(&chat).await;
        // Three other messages have been out of date for a minute.
        let long_ago = Instant::now() - Duration::from_secs(60);
        let mut others = Vec::new();
        for i in 1..=3 {
            let paced = paced.clone();
            let other = chat
                .post(&format!("o{i}"), &Message::text("x"))
                .await
                .unwrap();
            others.push(tokio::spawn(async move {
                let turn = paced.turn(&other.channel, Urgency::Stale(long_ago)).await;
                turn.edit(&other, &Message::text(format!("other {i}")))
                    .await
                    .unwrap();
            }));
        }
        tokio::task::yield_now().await;
        writer.show(Arc::new(Message::text("progress")));
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The job ends while its progress edit waits behind the others.
        writer.finish(Arc::new(Message::text("done"))).await;
        let edits: Vec<String> = chat
            .records()
            .iter()
            .filter_map(|r| match r {
                crate::adapters::memory::Record::Edit { message, .. } => Some(message.text.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(edits, ["done"], "the final state went first");
        for o in others {
            o.await.unwrap();
        }
        assert_eq!(chat.history(&target).last().unwrap().1, "done");
    }
}
