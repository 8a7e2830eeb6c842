//! Whether a request becomes a job of its own: the rules of starting, over what runs
//! now. Who may ask was settled before (`commands::access`), and which freezes and
//! locks hold on the app is looked up by the engine and handed in.

use super::machine::FrozenNow;
use super::record::{FreezeOverride, JobRecord};
use super::spec::{DeployOrigin, JobKind, JobSpec};
use crate::names::{Branch, ProjectName};

/// Why a deploy may go through a freeze or lock that holds on its app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezePass {
    /// A rollback undoes harm, so neither a freeze nor a lock holds it back.
    Rollback,
    /// An admin said why it must go now (a freeze; a lock is lifted instead).
    Overridden { by: String, reason: String },
    /// The lock is the requester's own.
    Holder,
}

/// How a deploy of `spec` asked for by `requester` (a chat user id) passes `hold`, if
/// it may: a rollback always; a lock's holder their own lock; an admin's override a
/// freeze (not a lock: the holder or an admin lifts it with `/unlock`).
pub fn freeze_pass(
    spec: &JobSpec,
    requester: &str,
    freeze_override: Option<&FreezeOverride>,
    hold: &FrozenNow,
) -> Option<FreezePass> {
    if let JobSpec::Deploy {
        origin: DeployOrigin::Rollback { .. },
        ..
    } = spec
    {
        return Some(FreezePass::Rollback);
    }
    match &hold.holder {
        Some(holder) if holder.id == requester => Some(FreezePass::Holder),
        Some(_) => None,
        None => freeze_override.map(|o| FreezePass::Overridden {
            by: o.by.clone(),
            reason: o.reason.clone(),
        }),
    }
}

/// The first of `holds` a deploy of `spec` by `requester` may not pass, if any.
pub fn blocking<'h>(
    spec: &JobSpec,
    requester: &str,
    freeze_override: Option<&FreezeOverride>,
    holds: &'h [FrozenNow],
) -> Option<&'h FrozenNow> {
    holds
        .iter()
        .find(|h| freeze_pass(spec, requester, freeze_override, h).is_none())
}

/// Whether `running` answers a request for `spec` instead of a new job: a build is
/// answered by any live job building the same project and branch (a release too), a
/// release by a live release of them. A deploy is never folded into another.
pub fn answered_by(spec: &JobSpec, running: &JobRecord) -> bool {
    match spec {
        JobSpec::Build { project, branch } => builds(running, project, branch),
        JobSpec::Release {
            project, branch, ..
        } => {
            running.kind() == JobKind::Release
                && running.spec.project() == Some(project)
                && running.spec.branch() == Some(branch)
                && !running.state.is_final()
        }
        JobSpec::Deploy { .. } => false,
    }
}

/// Whether `r` is still building `project`@`branch`: its build phase is not over.
/// Such a job's execution is followed by a later build of the same, never run twice.
pub fn builds(r: &JobRecord, project: &ProjectName, branch: &Branch) -> bool {
    r.spec.project() == Some(project)
        && r.spec.branch() == Some(branch)
        && r.build.as_ref().is_some_and(|b| !b.finished)
        && !r.state.is_final()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Person;
    use crate::names::{AppName, JobId, VersionTag};

    fn record(id: u64, spec: JobSpec) -> JobRecord {
        let alice = Person {
            id: "1".into(),
            name: "alice".into(),
        };
        JobRecord::new(JobId(id), spec, alice, "c", 0)
    }

    fn build(project: &str, branch: &str) -> JobSpec {
        JobSpec::Build {
            project: ProjectName::parse(project).unwrap(),
            branch: Branch::parse(branch).unwrap(),
        }
    }

    fn release(project: &str, branch: &str) -> JobSpec {
        JobSpec::Release {
            project: ProjectName::parse(project).unwrap(),
            branch: Branch::parse(branch).unwrap(),
            app: AppName::parse(project).unwrap(),
            more: Vec::new(),
            parallel: false,
        }
    }

    fn deploy(origin: DeployOrigin) -> JobSpec {
        JobSpec::Deploy {
            app: AppName::parse("web").unwrap(),
            tag: VersionTag::parse("v1").unwrap(),
            origin,
        }
    }

    #[test]
    fn a_build_is_answered_by_whatever_builds_the_same_and_a_release_only_by_a_release() {
        let building = record(1, release("web", "master"));
        assert!(answered_by(&build("web", "master"), &building));
        assert!(answered_by(&release("web", "master"), &building));
        assert!(!answered_by(&build("web", "dev"), &building));
        let built = record(2, build("web", "master"));
        assert!(!answered_by(&release("web", "master"), &built));
        let mut finished = record(3, build("web", "master"));
        finished.build.as_mut().unwrap().finished = true;
        assert!(!answered_by(&build("web", "master"), &finished));
        assert!(!answered_by(&deploy(DeployOrigin::Request), &building));
    }

    fn hold(holder: Option<&str>) -> FrozenNow {
        FrozenNow {
            app: AppName::parse("web").unwrap(),
            by: "carol".into(),
            reason: "incident 4411".into(),
            until_ms: 10,
            since_ms: 0,
            holder: holder.map(|id| Person {
                id: id.into(),
                name: format!("user {id}"),
            }),
        }
    }

    #[test]
    fn only_a_rollback_or_an_admins_word_passes_a_freeze() {
        let freeze = hold(None);
        assert_eq!(
            freeze_pass(
                &deploy(DeployOrigin::Rollback { waived: false }),
                "1",
                None,
                &freeze
            ),
            Some(FreezePass::Rollback)
        );
        assert_eq!(
            freeze_pass(&deploy(DeployOrigin::Request), "1", None, &freeze),
            None
        );
        let word = FreezeOverride {
            by: "carol".into(),
            reason: "hotfix".into(),
            at_ms: 0,
        };
        assert_eq!(
            freeze_pass(&release("web", "master"), "1", Some(&word), &freeze),
            Some(FreezePass::Overridden {
                by: "carol".into(),
                reason: "hotfix".into()
            })
        );
    }

    #[test]
    fn a_lock_lets_its_holder_and_a_rollback_through_and_nobody_else() {
        let lock = hold(Some("7"));
        let word = FreezeOverride {
            by: "root".into(),
            reason: "hotfix".into(),
            at_ms: 0,
        };
        let request = deploy(DeployOrigin::Request);
        assert_eq!(
            freeze_pass(&request, "7", None, &lock),
            Some(FreezePass::Holder)
        );
        assert_eq!(freeze_pass(&request, "8", None, &lock), None);
        assert_eq!(freeze_pass(&request, "8", Some(&word), &lock), None);
        assert_eq!(
            freeze_pass(
                &deploy(DeployOrigin::Rollback { waived: true }),
                "8",
                None,
                &lock
            ),
            Some(FreezePass::Rollback)
        );
        // The holder still stops at a freeze beside their lock.
        let holds = [lock.clone(), hold(None)];
        assert_eq!(blocking(&request, "7", None, &holds), Some(&holds[1]));
        assert_eq!(blocking(&request, "7", None, &holds[..1]), None);
        assert_eq!(blocking(&request, "8", None, &holds), Some(&holds[0]));
    }
}
