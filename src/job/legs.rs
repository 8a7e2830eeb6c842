//! A release to several apps: built once, approved once, then deployed to each app by
//! a deploy job of its own (a leg, [`DeployOrigin::Release`]) with its own queue,
//! freeze and rollout, one after another in the order configured or all at once. The
//! release follows its legs and shows each as a line of its own message.

use serde::{Deserialize, Serialize};

use super::approval::ApprovalPolicy;
use super::outcome::Outcome;
use super::record::JobRecord;
use super::rollout::Upgrade;
use super::spec::{DeployOrigin, JobSpec};
use super::state::JobState;
use crate::names::{AppName, JobId, ProjectName, VersionTag};

/// The legs of a release to several apps, once its build produced the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Legs {
    /// The tag every app gets: exactly the one the build produced.
    pub tag: VersionTag,
    pub apps: Vec<Leg>,
}

/// One app of the release, as its leg last showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub app: AppName,
    /// The deploy job doing it, once started.
    pub job: Option<JobId>,
    /// What the app ran before, once the leg looked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_tag: Option<String>,
    /// Where the leg stands; `None` until it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<JobState>,
    /// The job the leg waits behind in its app's deploy queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behind: Option<JobId>,
    /// The upgrade reached the app: it may need rolling back.
    #[serde(default)]
    pub reached: bool,
    /// How the leg ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The end of its deploy logs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
}

impl Leg {
    fn new(app: AppName) -> Self {
        Leg {
            app,
            job: None,
            from_tag: None,
            state: None,
            behind: None,
            reached: false,
            outcome: None,
            logs: Vec::new(),
        }
    }

    pub fn succeeded(&self) -> bool {
        self.outcome == Some(Outcome::Succeeded)
    }

    pub fn ended(&self) -> bool {
        self.outcome.is_some()
    }

    /// Started and not yet ended.
    pub fn running(&self) -> bool {
        self.job.is_some() && !self.ended()
    }

    /// Takes in what the leg's own record shows.
    fn seen(&mut self, leg: &JobRecord) {
        self.state = Some(leg.state);
        if let Some(d) = &leg.deploy {
            if d.looked_up {
                self.from_tag = d.from_tag.clone();
            }
            self.reached |= d.upgrade != Upgrade::NotSent;
        }
        self.behind = leg.queue.and_then(|q| q.behind);
        self.outcome = leg.outcome.clone();
        if let Some(l) = &leg.logs {
            self.logs = l.lines.clone();
        }
    }
}

impl Legs {
    pub fn new(tag: VersionTag, apps: &[&AppName]) -> Self {
        Legs {
            tag,
            apps: apps.iter().map(|a| Leg::new((*a).clone())).collect(),
        }
    }

    /// The apps a rollback offer covers: those the release changed.
    pub fn reached(&self) -> Vec<&AppName> {
        self.apps
            .iter()
            .filter(|l| l.reached)
            .map(|l| &l.app)
            .collect()
    }
}

/// The apps a release to several changed (its upgrade reached them): what
/// `/rollback <project>` rolls back.
pub fn changed(r: &JobRecord) -> Vec<AppName> {
    r.legs
        .as_ref()
        .map(|l| l.reached().into_iter().cloned().collect())
        .unwrap_or_default()
}

/// The apps a release to several offers to roll back once it failed: those it
/// changed.
pub fn rollback_offer(r: &JobRecord) -> Vec<AppName> {
    match r.state {
        JobState::Failed | JobState::TimedOut => changed(r),
        _ => Vec::new(),
    }
}

/// The next thing a release to several apps does once approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegsNext {
    /// Start the leg at this index.
    Start(usize),
    /// Wait for the running legs.
    Await,
    /// Every leg is over: the release's outcome.
    End(Outcome),
}

/// What comes next: in `parallel`, every leg starts at once and the release ends
/// once all have; else each starts once the one before it succeeded, and the first
/// that does not ends the release, the rest untouched. No new leg starts after a
/// cancel.
pub fn next(legs: &Legs, parallel: bool, cancelled_by: Option<&str>) -> LegsNext {
    let failed = legs.apps.iter().find(|l| l.ended() && !l.succeeded());
    let running = legs.apps.iter().any(Leg::running);
    let unstarted = legs.apps.iter().position(|l| l.job.is_none());
    let may_start = cancelled_by.is_none() && failed.is_none();
    match unstarted {
        Some(i) if may_start && (parallel || !running) => return LegsNext::Start(i),
        _ if running => return LegsNext::Await,
        _ => {}
    }
    if let Some(leg) = failed {
        return LegsNext::End(Outcome::LegFailed {
            app: leg.app.clone(),
            job: leg.job,
            outcome: Box::new(leg.outcome.clone().unwrap_or(Outcome::Succeeded)),
        });
    }
    match cancelled_by {
        Some(by) if unstarted.is_some() => LegsNext::End(Outcome::Cancelled {
            by: by.to_string(),
            detail: super::outcome::Cancellation::BetweenApps {
                deployed: legs
                    .apps
                    .iter()
                    .filter(|l| l.succeeded())
                    .map(|l| l.app.clone())
                    .collect(),
            },
        }),
        _ => LegsNext::End(Outcome::Succeeded),
    }
}

/// Takes in the legs' own records.
pub fn seen(legs: &mut Legs, records: &[JobRecord]) {
    for leg in &mut legs.apps {
        if let Some(r) = records.iter().find(|r| Some(r.id) == leg.job) {
            leg.seen(r);
        }
    }
}

/// The deploy job of one app of `release`: the built tag and image, the release's
/// project.
pub fn leg_spec(release: &JobRecord, app: &AppName, tag: &VersionTag) -> Option<JobSpec> {
    let project: ProjectName = release.spec.project()?.clone();
    Some(JobSpec::Deploy {
        app: app.clone(),
        tag: tag.clone(),
        origin: DeployOrigin::Release {
            release: release.id,
            project,
            image: release.image().map(str::to_string),
        },
    })
}

/// Whether `r` is the leg of `release` for `app` (a leg started before a restart that
/// the release did not yet record).
pub fn is_leg(r: &JobRecord, release: JobId, app: &AppName) -> bool {
    r.spec.leg_of() == Some(release) && r.spec.app() == Some(app)
}

/// The approval a release to several apps needs: one request under the strictest of
/// their policies — the most votes any app asks, from anyone holding an approver role
/// of any of them, within the shortest timeout, self-approval only where every app
/// allows it. `None` when no app asks for an approval.
pub fn approval_policy<'a>(
    policies: impl IntoIterator<Item = &'a ApprovalPolicy>,
) -> Option<ApprovalPolicy> {
    let mut out: Option<ApprovalPolicy> = None;
    for p in policies.into_iter().filter(|p| p.required()) {
        let Some(o) = out.as_mut() else {
            out = Some(p.clone());
            continue;
        };
        o.votes = o.votes.max(p.votes);
        o.timeout = o.timeout.min(p.timeout);
        o.allow_self_approval &= p.allow_self_approval;
        for role in &p.approvers {
            if !o.approvers.iter().any(|r| r.eq_ignore_ascii_case(role)) {
                o.approvers.push(role.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn legs(n: usize) -> Legs {
        let names: Vec<AppName> = (0..n)
            .map(|i| AppName::parse(&format!("app{i}")).unwrap())
            .collect();
        Legs::new(
            VersionTag::parse("v2").unwrap(),
            &names.iter().collect::<Vec<_>>(),
        )
    }

    fn start(l: &mut Legs, i: usize) {
        l.apps[i].job = Some(JobId(10 + i as u64));
    }

    fn end(l: &mut Legs, i: usize, outcome: Outcome) {
        start(l, i);
        l.apps[i].outcome = Some(outcome);
    }

    fn failed() -> Outcome {
        Outcome::ApprovalExpired { after_ms: 1 }
    }

    #[test]
    fn one_after_another_each_once_the_one_before_succeeded() {
        let mut l = legs(3);
        assert_eq!(next(&l, false, None), LegsNext::Start(0));
        start(&mut l, 0);
        assert_eq!(next(&l, false, None), LegsNext::Await);
        end(&mut l, 0, Outcome::Succeeded);
        assert_eq!(next(&l, false, None), LegsNext::Start(1));
        end(&mut l, 1, failed());
        let LegsNext::End(Outcome::LegFailed { app, job, .. }) = next(&l, false, None) else {
            panic!("a failed leg ends the release");
        };
        assert_eq!((app.as_str(), job), ("app1", Some(JobId(11))));
        assert!(l.apps[2].job.is_none(), "the rest untouched");
    }

    #[test]
    fn all_at_once_the_release_ends_when_every_leg_has() {
        let mut l = legs(2);
        assert_eq!(next(&l, true, None), LegsNext::Start(0));
        start(&mut l, 0);
        assert_eq!(next(&l, true, None), LegsNext::Start(1));
        start(&mut l, 1);
        end(&mut l, 1, failed());
        assert_eq!(
            next(&l, true, None),
            LegsNext::Await,
            "app0 still rolls out"
        );
        end(&mut l, 0, Outcome::Succeeded);
        assert!(matches!(
            next(&l, true, None),
            LegsNext::End(Outcome::LegFailed { .. })
        ));
        l.apps[1].outcome = Some(Outcome::Succeeded);
        assert_eq!(next(&l, true, None), LegsNext::End(Outcome::Succeeded));
    }

    #[test]
    fn a_cancel_starts_no_more_legs_and_waits_for_the_running_one() {
        let mut l = legs(2);
        start(&mut l, 0);
        assert_eq!(next(&l, false, Some("bob")), LegsNext::Await);
        end(&mut l, 0, Outcome::Succeeded);
        let LegsNext::End(Outcome::Cancelled { by, detail }) = next(&l, false, Some("bob")) else {
            panic!("cancelled");
        };
        assert_eq!(by, "bob");
        assert_eq!(
            detail,
            super::super::outcome::Cancellation::BetweenApps {
                deployed: vec![AppName::parse("app0").unwrap()]
            }
        );
    }

    fn policy(roles: &[&str], votes: u32, minutes: u64, own: bool) -> ApprovalPolicy {
        ApprovalPolicy {
            approvers: roles.iter().map(|r| r.to_string()).collect(),
            votes,
            timeout: Duration::from_secs(minutes * 60),
            allow_self_approval: own,
        }
    }

    #[test]
    fn one_approval_under_the_strictest_policy_from_the_union_of_approvers() {
        let staging = ApprovalPolicy::none();
        let api = policy(&["lead"], 1, 60, true);
        let worker = policy(&["ops", "Lead"], 2, 30, false);
        let both = approval_policy([&staging, &api, &worker]).unwrap();
        assert_eq!(both.approvers, ["lead", "ops"]);
        assert_eq!(both.votes, 2);
        assert_eq!(both.timeout, Duration::from_secs(30 * 60));
        assert!(!both.allow_self_approval);
        assert_eq!(approval_policy([&staging, &staging]), None);
        assert_eq!(approval_policy([&staging, &api]), Some(api.clone()));
    }
}
