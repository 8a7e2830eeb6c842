//! A job's chat messages: the thread and its summary line, the progress message and
//! the approval request, each kept up to date by its own writer; the short messages
//! that notify the requester; and the final delivery, which reaches the channel even
//! when the thread cannot be edited any more.

use std::sync::Arc;
use std::time::Duration;

use super::driver::Driver;
use crate::chat::paced::Urgency;
use crate::chat::retrying;
use crate::chat::writer::ProgressWriter;
use crate::chat::{Chat, Message, MessageRef, Opened};
use crate::job::machine::Event;
use crate::job::{ChatStep, JobRecord};
use crate::render;

/// Which of a job's messages a writer keeps up to date.
#[derive(Clone, Copy)]
pub(super) enum Kept {
    Progress,
    Approval,
    Summary,
}

impl Kept {
    /// How the job reads in this message.
    fn render(self, view: render::View) -> crate::chat::writer::Render<JobRecord> {
        match self {
            Kept::Progress => Arc::new(move |r| render::progress(r, &view)),
            Kept::Approval => Arc::new(move |r| render::approval(r, &view)),
            Kept::Summary => Arc::new(move |r| render::summary(r, &view)),
        }
    }
}

impl Driver {
    /// Starts keeping `target` (which shows `shown` now) up to date.
    pub(super) fn keep(&self, kept: Kept, target: MessageRef, shown: Message) {
        let writer = ProgressWriter::spawn(
            self.engine.inner.chat.clone(),
            target,
            shown,
            self.engine.inner.config.jobs.edit_window,
            kept.render(self.engine.inner.view.clone()),
        );
        writer.show(Arc::new(self.record()));
        let mut h = self.job.handles();
        match kept {
            Kept::Progress => h.progress = Some(writer),
            Kept::Approval => h.approval = Some(writer),
            Kept::Summary => h.summary = Some(writer),
        }
    }

    /// Starts the writers of the messages the job already has (a resumed job keeps
    /// editing them; their first edit brings them up to date).
    pub(super) fn attach_writers(&self) {
        let r = self.record();
        if let Some(thread) = r.messages.thread.clone()
            // The command's own message is the summary and the progress at once.
            && r.messages.progress.as_ref() != Some(&thread.summary)
        {
            self.keep(Kept::Summary, thread.summary, Message::default());
        }
        if let Some(progress) = r.messages.progress.clone() {
            self.keep(Kept::Progress, progress, Message::default());
        }
        if let Some(approval) = r.messages.approval.clone() {
            self.engine
                .inner
                .jobs
                .note_approval_message(&approval.message, r.id);
            self.keep(Kept::Approval, approval, Message::default());
        }
    }

    /// How long the job's thread must stay open without new messages: as long as its
    /// approval may wait (the platform archives quiet threads, and nobody can vote in
    /// an archived one).
    fn keep_open(&self) -> Duration {
        self.context()
            .approval
            .map_or(Duration::ZERO, |p| p.timeout)
    }

    /// A new job's messages rank among waiting progress by when they were asked for.
    fn asked_at(&self, r: &JobRecord) -> Urgency {
        let age = u64::try_from(self.now() - r.created_ms).unwrap_or(0);
        let now = tokio::time::Instant::now();
        Urgency::Stale(now.checked_sub(Duration::from_millis(age)).unwrap_or(now))
    }

    /// Opens the job's thread (with the requester in it) and posts its progress
    /// message, whichever is missing. Under chat pressure, a job whose command came
    /// with a message of its own shows its progress in that message, with the thread
    /// on it: its edits then cost the shared budget nothing.
    pub(super) async fn open_messages(&mut self) {
        let chat = self.engine.inner.chat.clone();
        let r = self.record();
        let thread = match r.messages.thread.clone() {
            Some(t) => t,
            None => {
                let title = render::thread_title(&r);
                let keep_open = self.keep_open();
                let asked = self.asked_at(&r);
                // Under pressure the command's own message shows the progress.
                let origin = self.job.origin.as_ref().filter(|_| chat.pressed());
                let shown = match origin {
                    Some(_) => render::progress(&r, &self.engine.inner.view),
                    None => render::summary(&r, &self.engine.inner.view),
                };
                let opened = retrying(|| {
                    chat.open_thread_as(origin, &r.channel, &shown, &title, keep_open, asked)
                })
                .await;
                match opened {
                    Ok(Opened {
                        thread,
                        own_message,
                    }) => {
                        self.apply(Event::ThreadOpened(thread.clone())).await;
                        let kept = if own_message {
                            self.apply(Event::ProgressPosted(thread.summary.clone()))
                                .await;
                            Kept::Progress
                        } else {
                            Kept::Summary
                        };
                        self.keep(kept, thread.summary.clone(), shown);
                        if let Err(e) = chat.add_to_thread(&thread.thread, &r.requester.id).await {
                            tracing::debug!(error = %e, "could not add the requester to the thread");
                        }
                        thread
                    }
                    Err(e) => return self.chat_failed(ChatStep::OpenThread, e).await,
                }
            }
        };
        if self.record().messages.progress.is_some() {
            // The command's own message shows the progress.
            return;
        }
        let content = render::progress(&self.record(), &self.engine.inner.view);
        let asked = self.asked_at(&r);
        match retrying(|| chat.post_as(&thread.thread, &content, asked)).await {
            Ok(posted) => {
                self.apply(Event::ProgressPosted(posted.clone())).await;
                self.keep(Kept::Progress, posted, content);
            }
            Err(e) => self.chat_failed(ChatStep::PostProgress, e).await,
        }
    }

    /// Tells the requester, once, that their deploy was approved (where a message can
    /// notify them; the terminal shows the progress to whoever watches it).
    pub(super) async fn tell_approved(&mut self) {
        let r = self.record();
        if r.messages.approval_told || !self.engine.inner.view.style.mentions {
            return;
        }
        let (Some(message), Some(thread)) = (
            render::approved(&r, &self.engine.inner.view),
            r.messages.thread.clone(),
        ) else {
            return;
        };
        let chat = self.engine.inner.chat.clone();
        if let Err(e) = retrying(|| chat.post(&thread.thread, &message)).await {
            tracing::warn!(job = %r.id, error = %e, "could not tell the requester of the approval");
        }
        self.engine
            .update(&self.job, |r| r.messages.approval_told = true)
            .await;
    }

    /// A deploy that went wrong after reaching its app offers the rollback `/rollback`
    /// would start.
    async fn offer_rollback(&mut self) {
        let r = self.record();
        if !crate::job::incident::offers_rollback(&r) {
            return;
        }
        if let Some(tag) = self.engine.rollback_offer(&r).await {
            self.apply(Event::RollbackFound(tag)).await;
        }
    }

    /// Delivers the job's final messages, tells the requester how it ended, and
    /// leaves the live set.
    pub(super) async fn finish(&mut self) {
        self.offer_rollback().await;
        // How it ended is told once it is recorded (or the write was given up).
        let _ = self.engine.recorded(&self.job).await;
        let record = self.record();
        let view = self.engine.inner.view.clone();
        tracing::info!(
            job = %record.id,
            kind = record.kind().as_str(),
            state = record.state.as_str(),
            outcome = render::outcome(&record, &render::View::default()).unwrap_or_default(),
            "job ended"
        );
        self.engine
            .inner
            .metrics
            .job_finished(record.kind().as_str(), record.state.as_str_snake());
        let (progress, approval, summary) = {
            let mut h = self.job.handles();
            h.ticket.take();
            (h.progress.take(), h.approval.take(), h.summary.take())
        };
        let last = Arc::new(record.clone());
        let delivered = match progress {
            Some(writer) => writer.finish(last.clone()).await,
            None => true,
        };
        if let Some(writer) = approval {
            writer.finish(last.clone()).await;
        }
        if let Some(writer) = summary {
            writer.finish(last).await;
        }
        self.lock_after_rollback().await;
        self.announce().await;
        // As announced.
        let record = self.record();
        if let Some(thread) = &record.messages.thread {
            let chat = self.engine.inner.chat.clone();
            // A thread the bot cannot reopen (locked): the result goes to the channel,
            // under the summary, rather than nowhere.
            let (channel, notice) = if delivered {
                if !view.style.mentions {
                    // Nobody to notify: the progress message says it all.
                    self.engine.inner.jobs.retire(record);
                    return;
                }
                (thread.thread.clone(), render::ended(&record, &view))
            } else {
                let mut result = render::progress(&record, &view);
                let told = render::ended(&record, &view);
                result.text = format!("{}\n{}", told.text, result.text);
                result.mention_users = told.mention_users;
                (thread.channel.clone(), result)
            };
            // How it ended goes before progress and new threads.
            let told = retrying(|| chat.post_as(&channel, &notice, Urgency::Decisive));
            if let Err(e) = told.await {
                tracing::warn!(job = %record.id, error = %e, "could not tell the requester how the job ended");
            }
        }
        self.engine.inner.jobs.retire(record);
    }
}
