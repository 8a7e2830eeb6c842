//! Whether a request becomes a job of its own: the rules of starting, over what runs
//! now. Who may ask was settled before (`commands::access`), and whether a freeze holds
//! on the app is looked up by the engine and handed in.

use super::record::{FreezeOverride, JobRecord};
use super::spec::{DeployOrigin, JobKind, JobSpec};
use crate::names::{Branch, ProjectName};

/// Why a deploy may go through a freeze that holds on its app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezePass {
    /// A rollback undoes harm, so a freeze never holds it back.
    Rollback,
    /// An admin said why it must go now.
    Overridden { by: String, reason: String },
}

/// How `spec` passes a freeze, if it may: a rollback always, any other deploy only
/// with an admin's override.
pub fn freeze_pass(spec: &JobSpec, freeze_override: Option<&FreezeOverride>) -> Option<FreezePass> {
    if let JobSpec::Deploy {
        origin: DeployOrigin::Rollback { .. },
        ..
    } = spec
    {
        return Some(FreezePass::Rollback);
    }
    freeze_override.map(|o| FreezePass::Overridden {
        by: o.by.clone(),
        reason: o.reason.clone(),
    })
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

    #[test]
    fn only_a_rollback_or_an_admins_word_passes_a_freeze() {
        assert_eq!(
            freeze_pass(&deploy(DeployOrigin::Rollback { waived: false }), None),
            Some(FreezePass::Rollback)
        );
        assert_eq!(freeze_pass(&deploy(DeployOrigin::Request), None), None);
        let word = FreezeOverride {
            by: "carol".into(),
            reason: "hotfix".into(),
            at_ms: 0,
        };
        assert_eq!(
            freeze_pass(&release("web", "master"), Some(&word)),
            Some(FreezePass::Overridden {
                by: "carol".into(),
                reason: "hotfix".into()
            })
        );
    }
}
