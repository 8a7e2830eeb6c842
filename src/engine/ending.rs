//! What a job's end sets off, as the job domain decides (`job::ending`): a lock after a
//! rollback of an app that asks for one, and the line in the app's announcement
//! channels.

use super::driver::Driver;
use crate::job::ending;

impl Driver {
    /// Locks the app for whoever rolled it back, where `lock_after_rollback` says so;
    /// the lock replaces one that held.
    pub(super) async fn lock_after_rollback(&self) {
        let r = self.record();
        let config = &self.engine.inner.config;
        let app = r.spec.app().and_then(|a| config.apps.get(a));
        let enabled = app.is_some_and(|a| a.lock_after_rollback);
        let Some(lock) = ending::lock_after_rollback(&r, enabled) else {
            return;
        };
        let locking =
            self.engine
                .inner
                .holds
                .lock(&lock.holder, &lock.app, None, &lock.reason, true);
        if let Err(e) = locking.await {
            tracing::warn!(job = %r.id, error = %e, "could not lock the app after its rollback");
        }
    }

    /// Posts how the job ended in its app's announcement channels, notifying nobody.
    /// That it was announced is recorded first, so a restart never posts it twice (a
    /// crash between the record and the posts loses the line instead).
    pub(super) async fn announce(&self) {
        let r = self.record();
        let channels = match r.spec.app() {
            Some(app) if ending::announces(&r) => self.engine.inner.config.announce_to(app),
            _ => return,
        };
        if channels.is_empty() {
            return;
        }
        let recorded = self
            .engine
            .update_durably(&self.job, |r| r.announced = true);
        if let Err(e) = recorded.await {
            tracing::warn!(job = %r.id, error = %e, "not announced: it could not be recorded");
            return;
        }
        // One app of a release to several: its release has the thread and the approval.
        let release = r
            .spec
            .leg_of()
            .and_then(|id| self.engine.inner.jobs.get(id));
        let release = release.map(|j| j.record());
        let chat: std::sync::Arc<dyn crate::chat::Chat> = self.engine.inner.chat.clone();
        let view = &self.engine.inner.view;
        crate::delivery::announce(&chat, &channels, view, &r, release.as_ref()).await;
    }
}
