//! Writes of one job land in the order they were asked for.
//!
//! The engine takes a job's record out from under the job's lock and saves it after
//! releasing the lock, so two tasks changing one job one after the other could reach
//! the database in the other order, leaving the older state on disk. A save takes its
//! turn when it is asked for (synchronously, still under the lock), and writes only
//! once the save asked for before it has finished.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

use crate::names::JobId;

/// The last turn taken for each job with a write under way.
#[derive(Default)]
pub(super) struct Turns {
    last: Mutex<HashMap<JobId, (u64, oneshot::Receiver<()>)>>,
    next: AtomicU64,
}

/// One save's place among its job's writes; the next one waits until it is dropped.
pub(super) struct Turn {
    job: JobId,
    number: u64,
    before: Option<oneshot::Receiver<()>>,
    done: Option<oneshot::Sender<()>>,
}

impl Turns {
    /// The next turn for `job`, after every one taken before.
    pub(super) fn take(&self, job: JobId) -> Turn {
        let (done, after) = oneshot::channel();
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let before = self
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(job, (number, after))
            .map(|(_, before)| before);
        Turn {
            job,
            number,
            before,
            done: Some(done),
        }
    }

    /// The turn is over: the next write of its job may go (forgetting the job when no
    /// other write of it was asked for).
    pub(super) fn end(&self, mut turn: Turn) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.get(&turn.job).is_some_and(|(n, _)| *n == turn.number) {
            last.remove(&turn.job);
        }
        turn.done.take();
    }
}

impl Turn {
    /// Waits until the write asked for before this one has finished (or was given up).
    pub(super) async fn wait(&mut self) {
        if let Some(before) = self.before.as_mut() {
            let _ = before.await;
            self.before = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_later_turn_waits_for_the_earlier_one() {
        let turns = Turns::default();
        let first = turns.take(JobId(1));
        let mut second = turns.take(JobId(1));
        let mut other = turns.take(JobId(2));
        // Another job's turn does not wait.
        other.wait().await;
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), second.wait());
        assert!(waiting.await.is_err(), "waits while the first is under way");
        turns.end(first);
        second.wait().await;
        turns.end(second);
        turns.end(other);
        assert!(turns.last.lock().unwrap().is_empty(), "nothing kept");
    }
}
