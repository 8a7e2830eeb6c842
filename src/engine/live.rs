//! A job while it runs: its record behind one lock, a bell that rings when something
//! outside its task changed it (a vote, a cancel), and the handles of what works for
//! it (its task, its message writers, its place in a deploy queue).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::chat::writer::ProgressWriter;
use crate::turns::QueueTicket;

/// A writer of one of a job's messages, rendering the job's record.
pub(super) type Writer = ProgressWriter<JobRecord>;
use crate::job::JobRecord;
use crate::names::JobId;

/// The tasks and places a running job holds.
#[derive(Default)]
pub(super) struct Handles {
    pub task: Option<tokio::task::AbortHandle>,
    pub progress: Option<Writer>,
    pub approval: Option<Writer>,
    /// The summary line in the channel, which shows where the job stands.
    pub summary: Option<Writer>,
    pub ticket: Option<QueueTicket>,
}

pub(super) struct LiveJob {
    pub id: JobId,
    record: Mutex<Arc<JobRecord>>,
    /// Rings when something outside the task changed the record.
    pub wake: Notify,
    handles: Mutex<Handles>,
    /// The people told why their reaction changed nothing.
    explained: Mutex<HashSet<String>>,
    /// True once the job's task has returned: finished, or stopped between two steps.
    left: tokio::sync::watch::Sender<bool>,
    /// The message of its own the command that started it came with (memory only:
    /// a resumed job has none).
    pub origin: Option<crate::chat::Origin>,
    /// How the last write retried after an outage ended; `None` while the job's
    /// latest state waits for the database to come back.
    pub unsaved: tokio::sync::watch::Sender<Option<Result<(), crate::store::StoreError>>>,
}

impl LiveJob {
    pub fn new(record: JobRecord) -> Self {
        LiveJob {
            id: record.id,
            record: Mutex::new(Arc::new(record)),
            wake: Notify::new(),
            handles: Mutex::new(Handles::default()),
            explained: Mutex::new(HashSet::new()),
            left: tokio::sync::watch::channel(false).0,
            origin: None,
            unsaved: tokio::sync::watch::channel(Some(Ok(()))).0,
        }
    }

    pub fn record(&self) -> JobRecord {
        (*self.lock()).clone()
    }

    pub fn lock(&self) -> RecordGuard<'_> {
        RecordGuard(self.record.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn handles(&self) -> MutexGuard<'_, Handles> {
        self.handles.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True the first time it is asked for `person`: whether they are still to be told
    /// why their reaction changed nothing.
    pub fn first_explanation_to(&self, person: &str) -> bool {
        let mut explained = self.explained.lock().unwrap_or_else(|e| e.into_inner());
        explained.insert(person.to_string())
    }

    /// Waits until the job's messages show its latest state.
    pub async fn settled(&self) {
        let writers: Vec<_> = {
            let h = self.handles();
            [&h.progress, &h.approval, &h.summary]
                .into_iter()
                .flatten()
                .map(|w| (w.asked_now(), w.settled_rx()))
                .collect()
        };
        for (asked, mut rx) in writers {
            let _ = rx.wait_for(|done| *done >= asked).await;
        }
    }

    /// Stops everything working for the job where it stands (a crash, a halt).
    /// Says the job's task has returned.
    pub fn mark_left(&self) {
        self.left.send_replace(true);
    }

    /// Waits until the job's task has returned.
    pub async fn left(&self) {
        let mut rx = self.left.subscribe();
        let _ = rx.wait_for(|left| *left).await;
    }

    pub fn abort(&self) {
        let mut h = self.handles();
        if let Some(task) = h.task.take() {
            task.abort();
        }
        let writers = [h.progress.take(), h.approval.take(), h.summary.take()];
        for writer in writers.into_iter().flatten() {
            writer.abort();
        }
        h.ticket.take();
    }
}

/// The job's record, locked. Reading goes through to the record; changing it copies it
/// first if a writer still holds the state it shows (`Arc::make_mut`).
pub(super) struct RecordGuard<'a>(MutexGuard<'a, Arc<JobRecord>>);

impl RecordGuard<'_> {
    /// Puts back `shared`, equal to the record, so the job and its writers hold one
    /// record again after a change that changed nothing.
    pub fn restore(&mut self, shared: Arc<JobRecord>) {
        *self.0 = shared;
    }

    /// The record as it stands, shared: the message writers hold it until they have
    /// shown it, and the next change copies it only if they still do.
    pub fn shared(&self) -> Arc<JobRecord> {
        self.0.clone()
    }
}

impl std::ops::Deref for RecordGuard<'_> {
    type Target = JobRecord;

    fn deref(&self) -> &JobRecord {
        &self.0
    }
}

impl std::ops::DerefMut for RecordGuard<'_> {
    fn deref_mut(&mut self) -> &mut JobRecord {
        Arc::make_mut(&mut self.0)
    }
}
