//! How the team delivers, from the job history: deployments, lead time, change failure
//! rate and time to restore, per app and period. Pure: it is handed the job records and
//! the period's bounds, and does no I/O. The definitions are the README's ("Delivery
//! stats"); each rule below is one of them.

use std::collections::HashMap;

use serde::Deserialize;

use super::record::JobRecord;
use super::rollout::Upgrade;
use super::spec::{DeployOrigin, JobSpec};
use super::state::JobState;
use crate::names::{AppName, JobId};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The length of a period `/stats` reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PeriodLength {
    Week,
    #[default]
    Month,
    Quarter,
}

impl PeriodLength {
    pub const ALL: [PeriodLength; 3] = [
        PeriodLength::Week,
        PeriodLength::Month,
        PeriodLength::Quarter,
    ];

    /// `7d`, `30d` or `90d`.
    pub fn parse(text: &str) -> Option<PeriodLength> {
        PeriodLength::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodLength::Week => "7d",
            PeriodLength::Month => "30d",
            PeriodLength::Quarter => "90d",
        }
    }

    pub fn days(self) -> i64 {
        match self {
            PeriodLength::Week => 7,
            PeriodLength::Month => 30,
            PeriodLength::Quarter => 90,
        }
    }

    /// The period of this length ending at `now_ms`, and the one of equal length
    /// before it.
    pub fn periods(self, now_ms: i64) -> (Period, Period) {
        let len = self.days() * DAY_MS;
        let current = Period {
            start_ms: now_ms - len,
            end_ms: now_ms,
        };
        let previous = Period {
            start_ms: now_ms - 2 * len,
            end_ms: now_ms - len,
        };
        (current, previous)
    }
}

/// A span of time, its start included and its end not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Period {
    pub fn holds(&self, at_ms: i64) -> bool {
        self.start_ms <= at_ms && at_ms < self.end_ms
    }

    pub fn days(&self) -> usize {
        ((self.end_ms - self.start_ms + DAY_MS - 1) / DAY_MS).max(0) as usize
    }
}

/// What kind of deployment a job was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentKind {
    Deploy,
    Release,
    Promotion,
    Rollback,
}

/// What the figures need of a job record: its stored form read without the rest
/// (stages, logs, approvals), by the record's own field names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Trace {
    #[serde(skip, default = "unnumbered")]
    pub id: JobId,
    pub spec: JobSpec,
    pub state: JobState,
    pub created_ms: i64,
    pub ended_ms: Option<i64>,
    pub build: Option<BuildTrace>,
    pub deploy: Option<DeployTrace>,
}

fn unnumbered() -> JobId {
    JobId(0)
}

/// What the figures need of a job's build.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BuildTrace {
    pub intent: Option<super::build::RunIntent>,
    #[serde(default)]
    pub started_here: bool,
    pub tag: Option<String>,
}

/// What the figures need of a job's deploy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeployTrace {
    pub tag: crate::names::VersionTag,
    pub from_tag: Option<String>,
    pub upgrade: Upgrade,
}

impl From<&JobRecord> for Trace {
    fn from(r: &JobRecord) -> Trace {
        Trace {
            id: r.id,
            spec: r.spec.clone(),
            state: r.state,
            created_ms: r.created_ms,
            ended_ms: r.ended_ms,
            build: r.build.as_ref().map(|b| BuildTrace {
                intent: b.intent,
                started_here: b.started_here,
                tag: b.tag.clone(),
            }),
            deploy: r.deploy.as_ref().map(|d| DeployTrace {
                tag: d.tag.clone(),
                from_tag: d.from_tag.clone(),
                upgrade: d.upgrade,
            }),
        }
    }
}

/// A job that reached the PaaS: its upgrade was sent, and it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub job: JobId,
    pub kind: DeploymentKind,
    pub tag: String,
    /// When the upgrade was sent.
    pub sent_ms: i64,
    pub ended_ms: i64,
    pub succeeded: bool,
    /// The tag live before, as the deploy recorded it.
    pub from_tag: Option<String>,
}

impl Deployment {
    /// The deployment `r` of `app`, if it is one.
    pub fn of(r: &Trace, app: &AppName) -> Option<Deployment> {
        if r.spec.app() != Some(app) {
            return None;
        }
        let deploy = r.deploy.as_ref()?;
        let Upgrade::Sent { at_ms: sent_ms, .. } = deploy.upgrade else {
            return None;
        };
        let kind = match &r.spec {
            JobSpec::Release { .. } => DeploymentKind::Release,
            JobSpec::Deploy { origin, .. } => match origin {
                DeployOrigin::Request => DeploymentKind::Deploy,
                DeployOrigin::Rollback { .. } => DeploymentKind::Rollback,
                DeployOrigin::Promote { .. } => DeploymentKind::Promotion,
                // One app's deploy within a release to several.
                DeployOrigin::Release { .. } => DeploymentKind::Release,
            },
            JobSpec::Build { .. } => return None,
        };
        Some(Deployment {
            job: r.id,
            kind,
            tag: deploy.tag.to_string(),
            sent_ms,
            ended_ms: r.ended_ms?,
            succeeded: r.state == JobState::Succeeded,
            from_tag: deploy.from_tag.clone(),
        })
    }

    fn is_rollback(&self) -> bool {
        self.kind == DeploymentKind::Rollback
    }
}

/// When the pipeline execution that built each tag started, as history knows it: for
/// each build or release that produced a tag, its run request's recorded intent (the
/// job that started the execution), else the job's creation; the earliest per tag.
pub fn build_starts<'a>(records: impl IntoIterator<Item = &'a Trace>) -> HashMap<String, i64> {
    let mut starts: HashMap<String, i64> = HashMap::new();
    for r in records {
        let Some(build) = r.build.as_ref() else {
            continue;
        };
        // A tag is reported only by an execution that built it.
        let Some(tag) = build.tag.as_ref() else {
            continue;
        };
        let start = match (build.started_here, build.intent.as_ref()) {
            (true, Some(intent)) => intent.at_ms,
            _ => r.created_ms,
        };
        starts
            .entry(tag.clone())
            .and_modify(|s| *s = (*s).min(start))
            .or_insert(start);
    }
    starts
}

/// A spread of durations: the median and the 90th percentile (nearest rank), or the
/// median and the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    pub median_ms: i64,
    /// The 90th percentile (lead time) or the worst (time to restore).
    pub high_ms: i64,
    pub count: usize,
}

/// The value at `p` percent of `sorted` by nearest rank: rank ⌈p·n/100⌉, from 1.
pub fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

fn spread(mut values: Vec<i64>, high: usize) -> Option<Spread> {
    values.sort_unstable();
    Some(Spread {
        median_ms: percentile(&values, 50)?,
        high_ms: percentile(&values, high)?,
        count: values.len(),
    })
}

/// The four figures of one app over one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Deployments that reached the PaaS and ended in the period, rollbacks included.
    pub deployments: usize,
    pub succeeded: usize,
    pub rollbacks: usize,
    /// Deployments per week.
    pub per_week: f64,
    /// From the start of the build of the deployed tag to the deploy's success, over
    /// the successful deployments (rollbacks excluded) whose tag a known build made.
    pub lead: Option<Spread>,
    /// Successful deployments left out of lead time: no known build made their tag.
    pub unknown_builds: usize,
    /// Deployments (rollbacks excluded) that failed or were rolled back afterwards.
    pub failures: usize,
    /// Deployments, rollbacks excluded: what the change failure rate is a share of.
    pub changes: usize,
    /// From a failure's end to the next successful deployment of the app: the median
    /// and the worst.
    pub restore: Option<Spread>,
    /// Failures not followed by a successful deployment yet.
    pub unrestored: usize,
}

impl Figures {
    /// The change failure rate, as a share from 0 to 1.
    pub fn failure_rate(&self) -> Option<f64> {
        (self.changes > 0).then(|| self.failures as f64 / self.changes as f64)
    }
}

/// One day of the chart: deployments by result, and the median lead time of the day's
/// successful deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Day {
    pub start_ms: i64,
    pub succeeded: usize,
    pub failed: usize,
    pub rolled_back: usize,
    pub lead_median_ms: Option<i64>,
}

/// One app's figures over a period and the one before, and its days.
#[derive(Debug, Clone, PartialEq)]
pub struct AppStats {
    pub app: AppName,
    pub period: Period,
    pub current: Figures,
    pub previous: Figures,
    pub days: Vec<Day>,
}

/// A deployment with what the rest of the history says of it.
struct Judged {
    d: Deployment,
    /// A later rollback undid it.
    rolled_back: bool,
    lead_ms: Option<i64>,
    restore_ms: Option<i64>,
}

/// Judges every deployment of one app (in any order): which rollback undid which
/// deploy, each one's lead time, each failure's time to restore.
fn judge(mut all: Vec<Deployment>, builds: &HashMap<String, i64>) -> Vec<Judged> {
    all.sort_by_key(|d| (d.ended_ms, d.job));
    let mut undone = vec![false; all.len()];
    for (i, rollback) in all.iter().enumerate() {
        if !rollback.is_rollback() {
            continue;
        }
        // The newest successful non-rollback deployment that ended before the
        // rollback's upgrade was sent, if it is what the rollback moved away from.
        let undid = all[..i]
            .iter()
            .rposition(|d| d.succeeded && !d.is_rollback() && d.ended_ms <= rollback.sent_ms);
        if let Some(j) = undid
            && rollback
                .from_tag
                .as_ref()
                .is_none_or(|from| *from == all[j].tag)
        {
            undone[j] = true;
        }
    }
    let judged: Vec<(Deployment, bool)> = all.into_iter().zip(undone).collect();
    judged
        .iter()
        .enumerate()
        .map(|(i, (d, rolled_back))| {
            let lead_ms = match d.succeeded && !d.is_rollback() {
                true => builds.get(&d.tag).map(|start| d.ended_ms - start),
                false => None,
            };
            let failure = !d.is_rollback() && (!d.succeeded || *rolled_back);
            let restore_ms = match failure {
                true => judged[i + 1..]
                    .iter()
                    .find(|(n, _)| n.succeeded && n.ended_ms > d.ended_ms)
                    .map(|(n, _)| n.ended_ms - d.ended_ms),
                false => None,
            };
            Judged {
                d: d.clone(),
                rolled_back: *rolled_back,
                lead_ms,
                restore_ms,
            }
        })
        .collect()
}

fn figures(judged: &[Judged], period: Period) -> Figures {
    let inside: Vec<&Judged> = judged
        .iter()
        .filter(|j| period.holds(j.d.ended_ms))
        .collect();
    let changes: Vec<&&Judged> = inside.iter().filter(|j| !j.d.is_rollback()).collect();
    let failed: Vec<&&&Judged> = changes
        .iter()
        .filter(|j| !j.d.succeeded || j.rolled_back)
        .collect();
    let successes = changes.iter().filter(|j| j.d.succeeded);
    let weeks = (period.end_ms - period.start_ms) as f64 / (7 * DAY_MS) as f64;
    Figures {
        deployments: inside.len(),
        succeeded: inside.iter().filter(|j| j.d.succeeded).count(),
        rollbacks: inside.len() - changes.len(),
        per_week: match weeks > 0.0 {
            true => inside.len() as f64 / weeks,
            false => 0.0,
        },
        lead: spread(successes.clone().filter_map(|j| j.lead_ms).collect(), 90),
        unknown_builds: successes.filter(|j| j.lead_ms.is_none()).count(),
        failures: failed.len(),
        changes: changes.len(),
        restore: spread(failed.iter().filter_map(|j| j.restore_ms).collect(), 100),
        unrestored: failed.iter().filter(|j| j.restore_ms.is_none()).count(),
    }
}

fn days(judged: &[Judged], period: Period) -> Vec<Day> {
    let mut days: Vec<Day> = (0..period.days())
        .map(|i| Day {
            start_ms: period.start_ms + i as i64 * DAY_MS,
            ..Day::default()
        })
        .collect();
    let mut leads: Vec<Vec<i64>> = vec![Vec::new(); days.len()];
    for j in judged.iter().filter(|j| period.holds(j.d.ended_ms)) {
        let i = ((j.d.ended_ms - period.start_ms) / DAY_MS) as usize;
        let Some(day) = days.get_mut(i) else { continue };
        match (j.d.succeeded, j.rolled_back) {
            (false, _) => day.failed += 1,
            (true, true) => day.rolled_back += 1,
            (true, false) => day.succeeded += 1,
        }
        leads[i].extend(j.lead_ms);
    }
    for (day, mut lead) in days.iter_mut().zip(leads) {
        lead.sort_unstable();
        day.lead_median_ms = percentile(&lead, 50);
    }
    days
}

/// `app`'s figures over `current` and `previous` from `records` (every job of the app
/// that ended from the previous period's start on, in any order: a rollback after the
/// period still marks a deploy inside it) and the start of each known build.
pub fn app_stats(
    app: &AppName,
    records: &[Trace],
    builds: &HashMap<String, i64>,
    current: Period,
    previous: Period,
) -> AppStats {
    let all = records
        .iter()
        .filter_map(|r| Deployment::of(r, app))
        .collect();
    let judged = judge(all, builds);
    AppStats {
        app: app.clone(),
        period: current,
        current: figures(&judged, current),
        previous: figures(&judged, previous),
        days: days(&judged, current),
    }
}
