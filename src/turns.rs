//! Taking turns: the per-app deploy queues. At most one deploy per app at a time, the
//! others wait in order of arrival and can see who is ahead of them; a ticket dropped
//! lets the next one go. A foundation the engine holds its jobs' places in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::names::{AppName, JobId};

/// All app queues.
#[derive(Default)]
pub struct AppQueues {
    queues: Mutex<HashMap<AppName, watch::Sender<Vec<JobId>>>>,
}

/// A place in an app's queue; leaving it (dropping the ticket) lets the next one go.
pub struct QueueTicket {
    queues: Arc<AppQueues>,
    app: AppName,
    job: JobId,
    rx: watch::Receiver<Vec<JobId>>,
}

impl AppQueues {
    /// Joins the back of `app`'s queue.
    pub fn join(self: &Arc<Self>, app: &AppName, job: JobId) -> QueueTicket {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let tx = queues
            .entry(app.clone())
            .or_insert_with(|| watch::channel(Vec::new()).0);
        tx.send_modify(|q| {
            if !q.contains(&job) {
                q.push(job)
            }
        });
        QueueTicket {
            queues: self.clone(),
            app: app.clone(),
            job,
            rx: tx.subscribe(),
        }
    }

    /// The job that has `app`'s turn now, if any.
    pub fn front(&self, app: &AppName) -> Option<JobId> {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.get(app).and_then(|tx| tx.borrow().first().copied())
    }

    /// Jobs waiting behind the one deploying, over all apps.
    pub fn waiting(&self) -> usize {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues
            .values()
            .map(|tx| tx.borrow().len().saturating_sub(1))
            .sum()
    }

    fn leave(&self, app: &AppName, job: JobId) {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let empty = match queues.get(app) {
            Some(tx) => {
                tx.send_modify(|q| q.retain(|j| *j != job));
                tx.borrow().is_empty()
            }
            None => false,
        };
        if empty {
            queues.remove(app);
        }
    }
}

impl QueueTicket {
    /// The job right ahead, or `None` when this one may go.
    pub fn ahead(&mut self) -> Option<JobId> {
        let q = self.rx.borrow_and_update();
        let at = q.iter().position(|j| *j == self.job)?;
        at.checked_sub(1).map(|i| q[i])
    }

    /// Waits until the queue changes.
    pub async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for QueueTicket {
    fn drop(&mut self) {
        self.queues.leave(&self.app, self.job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_go_in_order_of_arrival() {
        let queues = Arc::new(AppQueues::default());
        let web = AppName::parse("web").unwrap();
        let mut a = queues.join(&web, JobId(1));
        let mut b = queues.join(&web, JobId(2));
        let mut c = queues.join(&web, JobId(3));
        assert_eq!(a.ahead(), None);
        assert_eq!(b.ahead(), Some(JobId(1)));
        assert_eq!(c.ahead(), Some(JobId(2)));
        assert_eq!(queues.waiting(), 2);
        drop(b);
        assert_eq!(c.ahead(), Some(JobId(1)));
        drop(a);
        assert_eq!(c.ahead(), None);
        drop(c);
        assert_eq!(queues.waiting(), 0);
        assert!(queues.queues.lock().unwrap().is_empty());
    }
}
