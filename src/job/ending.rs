//! What a job's end sets off beyond its own messages: one line in the announcement
//! channels of the app it deployed to, and, after a rollback of an app that asks for
//! it (`lock_after_rollback`), a lock for whoever rolled it back.

use super::outcome::Outcome;
use super::record::{JobRecord, Person};
use super::rollout::Upgrade;
use super::spec::{DeployOrigin, JobSpec};
use super::state::JobState;
use crate::names::AppName;

/// Whether the end of `r` is announced (and not yet): a job that deploys to an app (a
/// deploy, a release, a promotion, a rollback) once it has ended, succeeded or not —
/// unless a person's or a rule's word stopped it before it sent anything to the app
/// (its approval rejected, expired or superseded, a freeze or a lock, a cancel before
/// the upgrade): nothing changed then, and its thread says why.
pub fn announces(r: &JobRecord) -> bool {
    if r.announced || r.spec.app().is_none() || !r.state.is_final() {
        return false;
    }
    let sent = r
        .deploy
        .as_ref()
        .is_some_and(|d| d.upgrade != Upgrade::NotSent);
    match &r.outcome {
        Some(
            Outcome::Rejected { .. }
            | Outcome::ApprovalExpired { .. }
            | Outcome::Superseded { .. }
            | Outcome::Frozen { .. }
            | Outcome::Locked { .. },
        ) => false,
        Some(Outcome::Cancelled { .. }) => sent,
        _ => true,
    }
}

/// A lock the engine puts on at a job's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockAfter {
    pub app: AppName,
    pub holder: Person,
    pub reason: String,
}

/// After a successful rollback of an app whose `lock_after_rollback` is set
/// (`enabled`), the lock its requester holds, so nobody redeploys the bad version by
/// accident: "rolled back from v1.2.3 to v1.2.2".
pub fn lock_after_rollback(r: &JobRecord, enabled: bool) -> Option<LockAfter> {
    let JobSpec::Deploy {
        app,
        tag,
        origin: DeployOrigin::Rollback { .. },
    } = &r.spec
    else {
        return None;
    };
    if !enabled || r.state != JobState::Succeeded {
        return None;
    }
    let from = r.deploy.as_ref().and_then(|d| d.from_tag.clone());
    let reason = match from {
        Some(from) => format!("rolled back from {from} to {tag}"),
        None => format!("rolled back to {tag}"),
    };
    Some(LockAfter {
        app: app.clone(),
        holder: r.requester.clone(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AppId;
    use crate::job::{Cancellation, DeployProgress};
    use crate::names::{JobId, VersionTag};

    fn job(origin: DeployOrigin) -> JobRecord {
        let spec = JobSpec::Deploy {
            app: AppName::parse("web").unwrap(),
            tag: VersionTag::parse("v1.2.2").unwrap(),
            origin,
        };
        let alice = Person {
            id: "1".into(),
            name: "alice".into(),
        };
        let mut r = JobRecord::new(JobId(4), spec, alice, "c", 0);
        let mut d = DeployProgress::new(
            AppId::parse("web").unwrap(),
            VersionTag::parse("v1.2.2").unwrap(),
        );
        d.from_tag = Some("v1.2.3".into());
        r.deploy = Some(d);
        r
    }

    #[test]
    fn an_ending_is_announced_once_unless_the_job_was_stopped_before_it_deployed() {
        let mut r = job(DeployOrigin::Request);
        assert!(!announces(&r), "not ended yet");
        r.end(Outcome::Rejected { by: "bob".into() }, 5);
        assert!(!announces(&r));
        let cancelled = Outcome::Cancelled {
            by: "bob".into(),
            detail: Cancellation::BeforeDeploy,
        };
        let mut r = job(DeployOrigin::Request);
        r.end(cancelled.clone(), 5);
        assert!(!announces(&r), "cancelled before the upgrade");
        let mut r = job(DeployOrigin::Request);
        r.deploy.as_mut().unwrap().upgrade = Upgrade::Sent {
            intent_ms: 1,
            at_ms: 2,
        };
        r.end(cancelled, 5);
        assert!(announces(&r), "cancelled after the upgrade");
        let mut r = job(DeployOrigin::Request);
        r.end(
            Outcome::DeployFailed {
                app: AppName::parse("web").unwrap(),
                tag: VersionTag::parse("v1.2.2").unwrap(),
                message: "helm".into(),
            },
            5,
        );
        assert!(announces(&r), "failures too");
        r.announced = true;
        assert!(!announces(&r), "once");
    }

    #[test]
    fn a_successful_rollback_locks_the_app_for_its_requester_when_asked() {
        let mut r = job(DeployOrigin::Rollback { waived: false });
        r.end(Outcome::Succeeded, 5);
        assert_eq!(lock_after_rollback(&r, false), None);
        let lock = lock_after_rollback(&r, true).unwrap();
        assert_eq!(lock.reason, "rolled back from v1.2.3 to v1.2.2");
        assert_eq!(lock.holder.name, "alice");
        let mut deploy = job(DeployOrigin::Request);
        deploy.end(Outcome::Succeeded, 5);
        assert_eq!(lock_after_rollback(&deploy, true), None);
        let mut failed = job(DeployOrigin::Rollback { waived: false });
        failed.end(
            Outcome::TimedOut {
                step: crate::job::Timed::Rollout,
                limit_ms: 1,
            },
            5,
        );
        assert_eq!(lock_after_rollback(&failed, true), None);
    }
}
