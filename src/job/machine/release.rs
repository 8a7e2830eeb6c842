//! The deploy phase of a release to several apps ([`crate::job::legs`]): once its
//! build produced the tag, the one approval (under the strictest of the apps'
//! policies, [`crate::job::legs::approval_policy`]) and any freeze on one of the apps
//! are decided here, as for a deploy; then the legs, each a deploy job of its own.

use super::plan::{cancel_before_deploy, plan_approval, plan_freeze, tag_to_deploy};
use super::{Context, Step};
use crate::job::legs::{self, Legs, LegsNext};
use crate::job::outcome::Outcome;
use crate::job::record::JobRecord;
use crate::job::spec::JobSpec;

pub(super) fn plan(r: &mut JobRecord, now: i64, cx: &Context) -> Step {
    if cx.app_id.is_none() {
        let name = r
            .spec
            .apps()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        r.end(Outcome::NotConfigured { name }, now);
        return Step::Finish;
    }
    if r.legs.is_none() {
        let Some(tag) = tag_to_deploy(r, now) else {
            return Step::Finish;
        };
        r.legs = Some(Legs::new(tag, &r.spec.apps()));
    }
    let Some(l) = r.legs.clone() else {
        return Step::Finish;
    };
    if l.apps.iter().all(|leg| leg.job.is_none()) {
        if let Some(step) = cancel_before_deploy(r, now) {
            return step;
        }
        if let Some(step) = plan_freeze(r, cx, now) {
            return step;
        }
        let first = l.apps.first().map(|leg| leg.app.clone());
        if let Some(policy) = cx.approval.clone()
            && let Some(app) = first
            && let Some(step) = plan_approval(r, &app, &l.tag, None, policy, now)
        {
            return step;
        }
    }
    let parallel = matches!(r.spec, JobSpec::Release { parallel: true, .. });
    let cancelled_by = r.cancel.as_ref().map(|c| c.by.clone());
    match legs::next(&l, parallel, cancelled_by.as_deref()) {
        LegsNext::Start(index) => Step::StartLeg { index },
        LegsNext::Await => Step::AwaitLegs,
        LegsNext::End(outcome) => {
            r.end(outcome, now);
            Step::Finish
        }
    }
}
