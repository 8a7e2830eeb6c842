//! One app: its upgrades, each a plan fixed when the action is accepted, so the app
//! at any simulated time is a pure function of that time. What the plan shows at a
//! moment (the status) and how each flavour serialises it live in `status.rs`.

mod status;
#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime};

use super::model::{RenderContext, secs};
use super::scenario::{AppFlavour, AppScenario, LogShape};
pub(crate) use status::AppStatus;

/// How an app stands at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AppPhase {
    /// Stock: the helm controller has not picked the upgrade up yet; the status is
    /// the one from before the action.
    Pending,
    Installing,
    /// Stock: helm ran; `active` with a `Deployed` computed before the workloads
    /// changed.
    Settling,
    Deploying,
    Active,
    Failed(String),
    /// Stock: the controller retries the failed helm install (`Installed` Unknown).
    Retrying(String),
}

/// An upgrade in progress or done: its plan, fixed when the action was accepted.
#[derive(Debug, Clone)]
pub(crate) struct SimUpgrade {
    pub tag: String,
    pub at: Duration,
    /// The wall-clock time the action was accepted.
    pub at_wall: SystemTime,
    /// The tag the pods ran before.
    pub from: String,
    /// What the app showed just before the action.
    pub before: AppStatus,
    /// The revision helm writes.
    pub revision: u64,
    pub pickup: Duration,
    pub install: Duration,
    pub blip: Duration,
    pub rollout: Duration,
    pub fail: Option<String>,
    /// Whether the controller retries a failed install (stock).
    pub retries: bool,
    /// Whether `appRevisionId` waits for helm (stock) or follows the action at once.
    pub revision_waits_for_helm: bool,
    /// Whether `Deployed` keeps its condition from before while helm runs (stock) or
    /// shows the app's first one (in-house, as the simulator always did).
    pub deployed_kept: bool,
}

impl SimUpgrade {
    /// When the helm controller picked the change up.
    pub fn picked(&self) -> Duration {
        self.at + self.pickup
    }

    /// When helm ran (and wrote the new revision), or failed.
    pub fn installed(&self) -> Duration {
        self.picked() + self.install
    }

    /// When the workloads start rolling, as the app shows it.
    pub fn rolling(&self) -> Duration {
        self.installed() + self.blip
    }

    /// When the new rollout was truly done: the workloads finished, or helm failed.
    pub fn done(&self) -> Duration {
        match self.fail {
            Some(_) => self.installed(),
            None => self.rolling() + self.rollout,
        }
    }

    pub fn phase(&self, now: Duration) -> AppPhase {
        if now < self.picked() {
            AppPhase::Pending
        } else if now < self.installed() {
            AppPhase::Installing
        } else if let Some(message) = &self.fail {
            match self.retry_round(now) {
                Some((round, _)) if round % 2 == 1 => AppPhase::Retrying(message.clone()),
                _ => AppPhase::Failed(message.clone()),
            }
        } else if now < self.rolling() {
            AppPhase::Settling
        } else if now < self.done() {
            AppPhase::Deploying
        } else {
            AppPhase::Active
        }
    }

    /// After a helm error the controller retries every `install` (stock): which
    /// round of failed (even) or retrying (odd) `now` is in, and when it began.
    fn retry_round(&self, now: Duration) -> Option<(u64, Duration)> {
        if self.fail.is_none() || !self.retries || self.install.is_zero() || now < self.installed()
        {
            return None;
        }
        let round = ((now - self.installed()).as_secs_f64() / self.install.as_secs_f64()) as u64;
        let began = self.installed() + self.install.mul_f64(round as f64);
        Some((round, began))
    }

    /// The next simulated moment after `now` at which the app's JSON changes.
    pub fn next_change(&self, now: Duration) -> Option<Duration> {
        let mut moments = vec![self.picked(), self.installed()];
        match self.retry_round(now) {
            Some((_, began)) => moments.push(began + self.install),
            None if self.fail.is_none() => moments.extend([self.rolling(), self.done()]),
            None => {}
        }
        moments.into_iter().filter(|t| *t > now).min()
    }
}

/// One upgrade as it truly went, for tests to compare with what the bot reported.
/// Plain times are wall-clock: what a clock anchored when the simulator started and
/// advanced by tokio time (as the bot's `crate::clock::Clock` is) read when the moment
/// came; a moment a manual advance jumped over came at the advance. `_sim` times are
/// simulated, in the frame of the timestamps in the simulator's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutRecord {
    pub tag: String,
    /// When the upgrade action was accepted.
    pub upgraded_at: SystemTime,
    pub upgraded_at_sim: SystemTime,
    /// When the new rollout was truly done (workloads finished) or failed (helm
    /// error); `None` while it is still going, or if a later upgrade replaced it.
    pub done_at: Option<SystemTime>,
    pub done_at_sim: Option<SystemTime>,
    /// The upgrade failed (helm error), and `done_at` is when.
    pub failed: bool,
    /// A later upgrade replaced this one before it was done.
    pub superseded: bool,
}

/// One app.
#[derive(Debug, Clone)]
pub(crate) struct SimApp {
    pub project_ref: String,
    pub spec: AppScenario,
    /// The tag of the latest upgrade (or the initial one): the answers.
    pub tag: String,
    /// The revision of the latest upgrade (or the initial one).
    pub revision: u64,
    pub created: Duration,
    /// Every upgrade so far; the last is the one the app follows.
    pub history: Vec<SimUpgrade>,
    /// The wall-clock time of every deploy-log request.
    pub log_reads: Vec<SystemTime>,
    /// The simulated time of every read of the app.
    pub reads: Vec<Duration>,
}

impl SimApp {
    pub fn new(project_ref: &str, spec: AppScenario, created: Duration) -> Self {
        SimApp {
            project_ref: project_ref.to_string(),
            tag: spec.current_tag.clone().unwrap_or_else(|| "initial".into()),
            spec,
            revision: 1,
            created,
            history: Vec::new(),
            log_reads: Vec::new(),
            reads: Vec::new(),
        }
    }

    /// The reads that watched each upgrade: from the last read at or before the action
    /// (the one the upgrade was judged against) to the last before the next upgrade's.
    pub fn upgrade_reads(&self) -> Vec<Vec<Duration>> {
        let baseline = |at: Duration| self.reads.iter().rposition(|r| *r <= at);
        let starts: Vec<usize> = self
            .history
            .iter()
            .map(|u| baseline(u.at).unwrap_or(0))
            .collect();
        starts
            .iter()
            .enumerate()
            .map(|(i, &from)| {
                let to = starts.get(i + 1).copied().unwrap_or(self.reads.len());
                self.reads
                    .get(from..to.max(from))
                    .unwrap_or_default()
                    .to_vec()
            })
            .collect()
    }

    pub fn id(&self) -> String {
        format!("{}:{}", self.spec.project, self.spec.app)
    }

    /// The actions the app offers: stock Rancher's `upgrade` and `rollback`, and the
    /// in-house `upgradeoutter` unless the scenario takes it away.
    pub fn actions(&self) -> Vec<&'static str> {
        let mut actions = vec!["upgrade", "rollback"];
        if self.spec.offers_upgradeoutter {
            actions.push("upgradeoutter");
        }
        actions
    }

    /// The upgrade the app follows now.
    pub fn latest(&self) -> Option<&SimUpgrade> {
        self.history.last()
    }

    #[cfg(test)]
    pub fn phase(&self, now: Duration) -> AppPhase {
        match (self.latest(), &self.spec.failed_before) {
            (Some(u), _) => u.phase(now),
            (None, Some(message)) => AppPhase::Failed(message.clone()),
            (None, None) => AppPhase::Active,
        }
    }

    pub fn next_change(&self, now: Duration) -> Option<Duration> {
        self.latest()?.next_change(now)
    }

    /// Starts an upgrade to `tag` at `now`; a new one replaces one in progress.
    pub fn upgrade(&mut self, tag: &str, now: Duration, wall: SystemTime) {
        let stock = self.spec.flavour == AppFlavour::Stock;
        let upgrade = SimUpgrade {
            tag: tag.to_string(),
            at: now,
            at_wall: wall,
            from: self.live_tag(now),
            before: self.status(now),
            revision: self.revision + 1,
            pickup: if stock {
                secs(self.spec.pickup_seconds)
            } else {
                Duration::ZERO
            },
            install: secs(self.spec.install_seconds),
            blip: if stock {
                secs(self.spec.blip_seconds)
            } else {
                Duration::ZERO
            },
            rollout: secs(self.spec.rollout_seconds),
            fail: self.spec.fail.clone(),
            retries: stock,
            revision_waits_for_helm: stock,
            deployed_kept: stock,
        };
        self.tag = tag.to_string();
        self.revision = upgrade.revision;
        self.history.push(upgrade);
    }

    /// When each upgrade's successor replaced it (`None` for the latest).
    fn replaced_at(&self, i: usize) -> Option<Duration> {
        self.history.get(i + 1).map(|next| next.at)
    }

    /// What each upgrade went through up to `now`, as (time, what a progress message
    /// shows for it): `installing`, `deploying`, `✅ active`, at the moments the PaaS
    /// truly got there (stock's early `active` is not one). An upgrade replaced by a
    /// later one stops where it was.
    pub fn upgrade_events(&self, now: Duration) -> Vec<(String, Vec<(Duration, &'static str)>)> {
        self.history
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let until = self.replaced_at(i).map_or(now, |at| at.min(now));
                let mut events = vec![(u.picked(), "installing")];
                if u.fail.is_none() {
                    events.push((u.rolling(), "deploying"));
                    events.push((u.done(), "✅ active"));
                }
                events.retain(|(t, _)| *t <= until);
                (u.tag.clone(), events)
            })
            .collect()
    }

    /// How every upgrade truly went, up to `now`. `wall_of` turns a simulated moment
    /// into the wall-clock time it was reached; `epoch` is simulated time `0`.
    pub fn rollouts(
        &self,
        now: Duration,
        epoch: SystemTime,
        wall_of: impl Fn(Duration) -> SystemTime,
    ) -> Vec<RolloutRecord> {
        self.history
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let superseded = self.replaced_at(i).is_some_and(|at| at < u.done());
                let done = Some(u.done()).filter(|t| !superseded && *t <= now);
                RolloutRecord {
                    tag: u.tag.clone(),
                    upgraded_at: u.at_wall,
                    upgraded_at_sim: epoch + u.at,
                    done_at: done.map(&wall_of),
                    done_at_sim: done.map(|t| epoch + t),
                    failed: done.is_some() && u.fail.is_some(),
                    superseded,
                }
            })
            .collect()
    }

    /// The tag the running pods have: the new one once an upgrade truly succeeded.
    pub fn live_tag(&self, now: Duration) -> String {
        match self.latest() {
            Some(u) if u.phase(now) != AppPhase::Active => u.from.clone(),
            _ => self.tag.clone(),
        }
    }

    /// The deploy log lines of the running pods, or `None` where the endpoint is
    /// missing (the `missing` log shape). With `logs_grow`, the lines of the new
    /// pods are stamped from the moment the rollout was done and each is served only
    /// once simulated time has reached its stamp, so the excerpt grows for a few
    /// seconds after the rollout finished.
    pub fn log_lines(&self, ctx: &RenderContext<'_>, now: Duration) -> Option<Vec<String>> {
        if self.spec.logs == LogShape::Missing {
            return None;
        }
        if let Some(lines) = &self.spec.log_lines {
            return Some(lines.clone());
        }
        let grows = self.spec.logs_grow;
        let started = match self.latest() {
            Some(u) if u.phase(now) == AppPhase::Active && grows => u.done(),
            Some(u) if u.phase(now) == AppPhase::Active => u.installed(),
            _ => self.created,
        };
        let app = &self.spec.app;
        let tag = self.live_tag(now);
        let lines = [
            (0, format!("INFO  {app} starting, version {tag}")),
            (
                0,
                format!("INFO  loading configuration from /etc/{app}/config.yaml"),
            ),
            (
                1,
                format!(
                    "INFO  connecting to postgres host=db.internal user={app} password=s3cr3t-{app}-pw"
                ),
            ),
            (3, "WARN  cache warm-up took 2.1s".to_string()),
            (3, "INFO  ready: listening on :8080".to_string()),
        ];
        Some(
            lines
                .into_iter()
                .map(|(offset, line)| (started + Duration::from_secs(offset), line))
                .filter(|(t, _)| !grows || *t <= now)
                .map(|(t, line)| format!("{} {line}", ctx.time(t)))
                .collect(),
        )
    }
}
