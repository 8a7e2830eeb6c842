//! Confirming a change the PaaS may or may not have made. The two calls that change
//! something, `run` and `upgradeoutter`, are never sent twice: after an ambiguous
//! failure the client looks at the PaaS, for `confirm_for` at most, to learn whether
//! the first request took effect (Rancher's `run` can fail after creating the
//! execution: `docs/paas.md#changes-never-sent-twice`).

use std::time::{Duration, SystemTime};

use super::{App, AppRef, Execution, PaasClient, PaasError, PipelineRef};
use crate::backoff::Backoff;
use crate::job::rollout::carried_out;

impl PaasClient {
    /// After an ambiguous `run`: looks for the execution the request started (see
    /// [`find_runs`](PaasClient::find_runs)) until one shows up or `confirm_for` ends.
    pub(super) async fn confirm_run(
        &self,
        pipeline: &PipelineRef,
        branch: &str,
        next_run: Option<u64>,
        since: SystemTime,
    ) -> Result<Execution, PaasError> {
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        while started.elapsed() < self.inner.config.confirm_for {
            attempt += 1;
            tokio::time::sleep(self.confirm_wait(attempt)).await;
            if let Ok(found) = self.find_runs(pipeline, branch, next_run, since).await
                && let Some(execution) = found.into_iter().next()
            {
                return Ok(execution);
            }
        }
        Err(PaasError::Unconfirmed { action: "run" })
    }

    /// After an ambiguous upgrade: reads the app again until it reports the tag or
    /// moved since `before`, or `confirm_for` ends.
    pub(super) async fn confirm_upgrade(
        &self,
        app: &AppRef,
        version_tag: &str,
        before: &App,
    ) -> Result<Option<App>, PaasError> {
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        while started.elapsed() < self.inner.config.confirm_for {
            attempt += 1;
            tokio::time::sleep(self.confirm_wait(attempt)).await;
            if let Ok(now) = self.get_app(app).await
                && carried_out(&before.snapshot(), &now.snapshot(), version_tag)
            {
                return Ok(None);
            }
        }
        Err(PaasError::Unconfirmed { action: "upgrade" })
    }

    /// The waits between looks at the PaaS after an ambiguous change: 1, 2, 4, 8 s…
    fn confirm_wait(&self, attempt: u32) -> Duration {
        Backoff {
            jitter: false,
            ..Backoff::new(Duration::from_secs(1), Duration::from_secs(15))
        }
        .delay(attempt)
    }
}

/// Whether a refused `run` may still have created its execution: a 500 that is not
/// one of Rancher's definitive refusals (no pipeline file in the branch, a branch the
/// pipeline excludes) can come after the execution was created: Rancher creates it,
/// then fails to read it back (`docs/paas.md#running-a-pipeline`).
pub(super) fn run_may_have_acted(e: &PaasError) -> bool {
    match e {
        PaasError::Server {
            status: 500,
            detail,
        } => {
            let detail = detail.to_ascii_lowercase();
            !(detail.contains("find no pipeline config")
                || detail.contains("condition is not match"))
        }
        _ => false,
    }
}
