//! The delivery figures, computed by hand over small histories.

use std::collections::HashMap;

use crate::ids::AppId;
use crate::job::stats::{
    AppStats, Period, PeriodLength, Trace, app_stats, build_starts, percentile,
};
use crate::job::{
    BuildProgress, DeployOrigin, DeployProgress, JobRecord, JobSpec, JobState, Outcome, Person,
    RunIntent, Upgrade,
};
use crate::names::{AppName, Branch, JobId, ProjectName, VersionTag};

const H: i64 = 60 * 60 * 1000;
const D: i64 = 24 * H;

fn app() -> AppName {
    AppName::parse("web").unwrap()
}

fn person() -> Person {
    Person {
        id: "u".into(),
        name: "ann".into(),
    }
}

/// A job of `web` deploying `tag`, its upgrade sent at `sent`, ended at `end`.
fn deployment(
    id: u64,
    origin: DeployOrigin,
    tag: &str,
    from: Option<&str>,
    sent: i64,
    end: i64,
    ok: bool,
) -> JobRecord {
    let spec = JobSpec::Deploy {
        app: app(),
        tag: VersionTag::parse(tag).unwrap(),
        origin,
    };
    let mut r = JobRecord::new(JobId(id), spec, person(), "c", sent - H);
    let mut d = DeployProgress::new(
        AppId::parse("web").unwrap(),
        VersionTag::parse(tag).unwrap(),
    );
    d.from_tag = from.map(str::to_string);
    d.upgrade = Upgrade::Sent {
        intent_ms: sent,
        at_ms: sent,
    };
    r.deploy = Some(d);
    let outcome = match ok {
        true => Outcome::Succeeded,
        false => Outcome::DeployFailed {
            app: app(),
            tag: VersionTag::parse(tag).unwrap(),
            message: "boom".into(),
        },
    };
    r.end(outcome, end);
    r
}

fn deploy(id: u64, tag: &str, end: i64, ok: bool) -> JobRecord {
    deployment(id, DeployOrigin::Request, tag, None, end - H, end, ok)
}

fn rollback(id: u64, to: &str, from: &str, end: i64) -> JobRecord {
    let origin = DeployOrigin::Rollback { waived: true };
    deployment(id, origin, to, Some(from), end - H, end, true)
}

/// A build of `tag` whose run was asked for at `start`.
fn build(id: u64, tag: &str, start: i64) -> JobRecord {
    let spec = JobSpec::Build {
        project: ProjectName::parse("web").unwrap(),
        branch: Branch::parse("main").unwrap(),
    };
    let mut r = JobRecord::new(JobId(id), spec, person(), "c", start - 1000);
    r.build = Some(BuildProgress {
        intent: Some(RunIntent {
            at_ms: start,
            next_run: None,
        }),
        started_here: true,
        tag: Some(tag.into()),
        succeeded_ms: Some(start + H),
        ..BuildProgress::default()
    });
    r.end(Outcome::Succeeded, start + H);
    r
}

fn stats(records: &[JobRecord], now: i64) -> AppStats {
    let traces: Vec<Trace> = records.iter().map(Trace::from).collect();
    let builds = build_starts(&traces);
    let (current, previous) = PeriodLength::Week.periods(now);
    app_stats(&app(), &traces, &builds, current, previous)
}

#[test]
fn percentiles_by_nearest_rank() {
    let cases: &[(&[i64], usize, Option<i64>)] = &[
        (&[], 50, None),
        (&[5], 50, Some(5)),
        (&[1, 2], 50, Some(1)),
        (&[1, 2, 3], 50, Some(2)),
        (&[1, 2, 3, 4], 50, Some(2)),
        (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, Some(9)),
        (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90, Some(10)),
        (&[1, 2, 3], 100, Some(3)),
    ];
    for (values, p, want) in cases {
        assert_eq!(percentile(values, *p), *want, "{values:?} p{p}");
    }
}

#[test]
fn periods_are_of_equal_length_back_to_back() {
    let (current, previous) = PeriodLength::Month.periods(100 * D);
    assert_eq!(
        current,
        Period {
            start_ms: 70 * D,
            end_ms: 100 * D
        }
    );
    assert_eq!(
        previous,
        Period {
            start_ms: 40 * D,
            end_ms: 70 * D
        }
    );
    assert_eq!(PeriodLength::parse("90D"), Some(PeriodLength::Quarter));
    assert_eq!(PeriodLength::parse("8d"), None);
}

/// The history of the e2e test in small: now is day 14; the week before is days 0–7.
#[test]
fn the_four_figures_of_two_periods() {
    let now = 14 * D;
    let records = vec![
        // Previous week: v1 built at day 1, live 2 h after; v2 fails at day 3, v3
        // (an unknown build) restores it 5 h later.
        build(1, "v1", D),
        deploy(2, "v1", D + 2 * H, true),
        build(3, "v2", 3 * D),
        deploy(4, "v2", 3 * D + 3 * H, false),
        deploy(5, "v3", 3 * D + 8 * H, true),
        // This week: v4 built at day 8, live at +4 h, then rolled back to v3 2 h
        // later; v5 built at day 10, live at +6 h; v6 built at day 11, live at +10 h.
        build(6, "v4", 8 * D),
        deploy(7, "v4", 8 * D + 4 * H, true),
        rollback(8, "v3", "v4", 8 * D + 6 * H),
        build(9, "v5", 10 * D),
        deploy(10, "v5", 10 * D + 6 * H, true),
        build(11, "v6", 11 * D),
        deploy(12, "v6", 11 * D + 10 * H, true),
    ];
    let s = stats(&records, now);
    let c = &s.current;
    assert_eq!((c.deployments, c.succeeded, c.rollbacks), (4, 4, 1));
    assert!((c.per_week - 4.0).abs() < 1e-9);
    let lead = c.lead.unwrap();
    // Leads 4 h, 6 h, 10 h: median 6 h, p90 (rank 3) 10 h.
    assert_eq!(
        (lead.median_ms, lead.high_ms, lead.count),
        (6 * H, 10 * H, 3)
    );
    assert_eq!(c.unknown_builds, 0);
    // Three changes, one rolled back.
    assert_eq!((c.failures, c.changes), (1, 3));
    // v4 ended at 8d+4h; the rollback succeeded at 8d+6h.
    let restore = c.restore.unwrap();
    assert_eq!((restore.median_ms, restore.high_ms), (2 * H, 2 * H));
    assert_eq!(c.unrestored, 0);

    let p = &s.previous;
    assert_eq!((p.deployments, p.succeeded, p.rollbacks), (3, 2, 0));
    // v1 2 h; v3 no known build.
    let lead = p.lead.unwrap();
    assert_eq!(
        (lead.median_ms, lead.high_ms, lead.count),
        (2 * H, 2 * H, 1)
    );
    assert_eq!(p.unknown_builds, 1);
    assert_eq!((p.failures, p.changes), (1, 3));
    assert_eq!(p.restore.unwrap().median_ms, 5 * H);

    // The chart's days: day 8 (index 1) one rolled back and one rollback.
    assert_eq!(s.days.len(), 7);
    assert_eq!(
        (s.days[1].succeeded, s.days[1].rolled_back, s.days[1].failed),
        (1, 1, 0)
    );
    assert_eq!(s.days[1].lead_median_ms, Some(4 * H));
    assert_eq!(s.days[3].lead_median_ms, Some(6 * H));
}

#[test]
fn a_rollback_marks_only_the_deploy_it_moved_away_from() {
    let now = 14 * D;
    let cases: &[(&str, bool)] = &[("v2", true), ("v9", false)];
    for (from, marked) in cases {
        let records = vec![
            deploy(1, "v1", 8 * D, true),
            deploy(2, "v2", 9 * D, true),
            rollback(3, "v1", from, 10 * D),
        ];
        let c = stats(&records, now).current;
        assert_eq!(c.failures, usize::from(*marked), "from {from}");
        assert_eq!(c.changes, 2);
    }
}

#[test]
fn a_failure_not_restored_yet_is_said_and_not_timed() {
    let records = vec![deploy(1, "v1", 8 * D, true), deploy(2, "v2", 9 * D, false)];
    let c = stats(&records, 14 * D).current;
    assert_eq!((c.failures, c.unrestored), (1, 1));
    assert_eq!(c.restore, None);
}

#[test]
fn jobs_that_never_reached_the_paas_or_other_apps_do_not_count() {
    let mut unsent = deploy(1, "v1", 8 * D, false);
    unsent.deploy.as_mut().unwrap().upgrade = Upgrade::Intended { at_ms: 8 * D };
    let mut other = deploy(2, "v1", 8 * D, true);
    other.spec = JobSpec::Deploy {
        app: AppName::parse("api").unwrap(),
        tag: VersionTag::parse("v1").unwrap(),
        origin: DeployOrigin::Request,
    };
    let mut running = deploy(3, "v1", 8 * D, true);
    running.ended_ms = None;
    running.state = JobState::Deploying;
    let c = stats(&[unsent, other, running, build(4, "v1", D)], 14 * D).current;
    assert_eq!(c.deployments, 0);
    assert_eq!(c.failure_rate(), None);
    let _ = HashMap::<String, i64>::new();
}

/// A release to several apps deploys through a deploy job per app (a leg): each leg is
/// a deployment of its app, and the release itself, of no one app, is none; its build
/// is the build behind the legs' lead time.
#[test]
fn each_app_of_a_release_to_several_counts_by_its_leg() {
    let mut parent = build(1, "v1", 8 * D);
    parent.spec = JobSpec::Release {
        project: ProjectName::parse("web").unwrap(),
        branch: Branch::parse("main").unwrap(),
        app: AppName::parse("api").unwrap(),
        more: vec![app()],
        parallel: false,
    };
    let origin = DeployOrigin::Release {
        release: JobId(1),
        project: ProjectName::parse("web").unwrap(),
        image: None,
    };
    let leg = deployment(2, origin, "v1", None, 8 * D + H, 8 * D + 3 * H, true);
    let c = stats(&[parent, leg], 14 * D).current;
    assert_eq!((c.deployments, c.succeeded), (1, 1));
    assert_eq!(c.lead.unwrap().median_ms, 3 * H);
}
