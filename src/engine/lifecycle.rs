//! The engine's life: resuming the jobs a store holds at start, and stopping — for a
//! restart (noting it in each job's message first) or where everything stands.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Engine;
use super::live::LiveJob;
use crate::job::{JobRecord, Notice, decisions};
use crate::store::StoreError;

impl Engine {
    /// Resumes every job the store holds as unfinished: each continues from its last
    /// recorded step, editing the same messages. Deploys rejoin their app's queue in
    /// the order they had. Returns how many resumed.
    pub async fn resume(&self) -> Result<usize, StoreError> {
        let store = &self.inner.store;
        // Another replica may have led since this engine was built: read afresh.
        let (next_id, recent) = (store.next_job_id().await?, store.finished(256).await?);
        self.inner.jobs.catch_up(next_id, recent);
        let now = self.now();
        self.inner.holds.reload().await?;
        let took_over = match self.inner.lease.role() {
            crate::lease::Role::Leader { holder, term } if term > 1 => Some(holder),
            _ => None,
        };
        let records = store.unfinished().await?;
        let mut jobs = Vec::new();
        for mut record in records {
            if self.inner.jobs.contains(record.id) {
                continue;
            }
            decisions::resume(&mut record, now, took_over.clone());
            self.inner.store.save(&record).await?;
            jobs.push(Arc::new(LiveJob::new(record)));
        }
        let records: Vec<JobRecord> = jobs.iter().map(|j| j.record()).collect();
        for id in decisions::queue_order(&records) {
            let Some(job) = jobs.iter().find(|j| j.id == id) else {
                continue;
            };
            let app = job.lock().spec.app().cloned();
            if let Some(app) = app {
                job.handles().ticket = Some(self.inner.queues.join(&app, id));
            }
        }
        let count = jobs.len();
        for job in jobs {
            tracing::info!(job = %job.id, "resuming");
            self.launch(job);
        }
        Ok(count)
    }

    /// Whether the engine is shutting down (commands are refused).
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::Relaxed)
    }

    /// Stops for a restart: takes no more commands, notes in each running job's message
    /// that the bot is restarting and the job will resume, waits (at most `grace`) for
    /// each job to end the step it is in and for those notes and every pending write to
    /// be delivered, then stops every job where it stands and closes the store. The next start resumes them.
    pub async fn shutdown(&self, grace: Duration) {
        self.wind_down(grace).await;
        self.halt();
    }

    /// [`Self::shutdown`] but for closing the store: what is still to be written
    /// before it closes (a lease handed over) can be.
    pub async fn wind_down(&self, grace: Duration) {
        self.inner.stopping.store(true, Ordering::Relaxed);
        let jobs = self.inner.jobs.all();
        for job in &jobs {
            self.update(job, |r| r.notice = Some(Notice::Restarting))
                .await;
        }
        // Each job leaves between two steps (a step under way, such as a message being
        // posted, ends and is recorded first: the next start neither repeats nor loses
        // it), then its messages say it will resume.
        for job in &jobs {
            job.wake.notify_one();
        }
        let settled = async {
            for job in &jobs {
                job.left().await;
            }
            for job in &jobs {
                job.settled().await;
            }
        };
        if tokio::time::timeout(grace, settled).await.is_err() {
            tracing::warn!("some messages were not updated before the shutdown");
        }
        tracing::info!(
            jobs = jobs.len(),
            "stopped; unfinished jobs resume at the next start"
        );
        self.stop_jobs();
    }

    /// Stops every job where it stands, as a crash would, and closes the store. The
    /// next engine on the same store resumes them.
    pub fn halt(&self) {
        self.stop_jobs();
        self.inner.store.close();
    }

    /// Stops every job and the push connections where they stand.
    fn stop_jobs(&self) {
        for job in self.inner.jobs.all() {
            job.abort();
        }
        self.inner.jobs.clear();
        if let Some(task) = self
            .inner
            .push
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}
