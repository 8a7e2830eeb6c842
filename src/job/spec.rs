//! What a job was asked to do: exactly the typed fields each kind needs.

use serde::{Deserialize, Serialize};

use crate::names::{AppName, Branch, JobId, ProjectName, VersionTag};

/// What a job does, with exactly the fields that kind needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSpec {
    /// Run a project's pipeline on a branch and report the image and tag.
    Build {
        project: ProjectName,
        branch: Branch,
    },
    /// Build, then deploy exactly the tag the build produced to the project's app, or
    /// to each of its apps: `app` first, then `more` in the order listed, each by a
    /// deploy job of its own (a leg, [`DeployOrigin::Release`]) under one approval.
    Release {
        project: ProjectName,
        branch: Branch,
        app: AppName,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        more: Vec<AppName>,
        /// Several apps roll out all at once rather than one after another.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        parallel: bool,
    },
    /// Upgrade an app to a version tag and report the rollout and logs.
    Deploy {
        app: AppName,
        tag: VersionTag,
        #[serde(default)]
        origin: DeployOrigin,
    },
}

/// Why a deploy was asked for: a person naming a tag, or one of the incident commands.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeployOrigin {
    #[default]
    Request,
    /// Back to the tag that was live before (`/rollback`); `waived` when the app's
    /// policy lets rollbacks skip the approval.
    Rollback { waived: bool },
    /// The tag live on another app (`/promote`), with the image its build produced when
    /// history knows it.
    Promote {
        from: AppName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<String>,
    },
    /// One app of a release to several (`release`, a job of its own): approved with
    /// the release, shown in the release's message, deploying the tag it built.
    Release {
        release: JobId,
        project: ProjectName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<String>,
    },
}

/// The kind of a job, for labels, metrics and the store's index columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    Build,
    Deploy,
    Release,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Build => "build",
            JobKind::Deploy => "deploy",
            JobKind::Release => "release",
        }
    }
}

impl JobSpec {
    pub fn kind(&self) -> JobKind {
        match self {
            JobSpec::Build { .. } => JobKind::Build,
            JobSpec::Release { .. } => JobKind::Release,
            JobSpec::Deploy { .. } => JobKind::Deploy,
        }
    }

    /// The project built, for builds and releases.
    pub fn project(&self) -> Option<&ProjectName> {
        match self {
            JobSpec::Build { project, .. } | JobSpec::Release { project, .. } => Some(project),
            JobSpec::Deploy { .. } => None,
        }
    }

    pub fn branch(&self) -> Option<&Branch> {
        match self {
            JobSpec::Build { branch, .. } | JobSpec::Release { branch, .. } => Some(branch),
            JobSpec::Deploy { .. } => None,
        }
    }

    /// The app deployed, for deploys and releases to one app. A release to several
    /// deploys none itself: its legs do.
    pub fn app(&self) -> Option<&AppName> {
        match self {
            JobSpec::Release { app, more, .. } if more.is_empty() => Some(app),
            JobSpec::Deploy { app, .. } => Some(app),
            JobSpec::Release { .. } | JobSpec::Build { .. } => None,
        }
    }

    /// Every app the job deploys to, in order: a release's apps, a deploy's one.
    pub fn apps(&self) -> Vec<&AppName> {
        match self {
            JobSpec::Release { app, more, .. } => std::iter::once(app).chain(more).collect(),
            JobSpec::Deploy { app, .. } => vec![app],
            JobSpec::Build { .. } => Vec::new(),
        }
    }

    /// Whether the job is a release to several apps, deploying through legs.
    pub fn has_legs(&self) -> bool {
        matches!(self, JobSpec::Release { more, .. } if !more.is_empty())
    }

    /// The release a leg belongs to, for one app of a release to several.
    pub fn leg_of(&self) -> Option<JobId> {
        match self {
            JobSpec::Deploy {
                origin: DeployOrigin::Release { release, .. },
                ..
            } => Some(*release),
            _ => None,
        }
    }

    /// What the job does, as its messages name it: `build`, `release`, `deploy`, or for
    /// the incident commands' deploys `rollback` and `promote`.
    pub fn verb(&self) -> &'static str {
        match self {
            JobSpec::Deploy {
                origin: DeployOrigin::Rollback { .. },
                ..
            } => "rollback",
            JobSpec::Deploy {
                origin: DeployOrigin::Promote { .. },
                ..
            } => "promote",
            JobSpec::Deploy {
                origin: DeployOrigin::Release { .. },
                ..
            } => "release",
            other => other.kind().as_str(),
        }
    }

    /// Whether the job builds something first.
    pub fn builds(&self) -> bool {
        matches!(self, JobSpec::Build { .. } | JobSpec::Release { .. })
    }

    /// What the job acts on, as people write it: `web@master` or `web v1.2.3`.
    pub fn target(&self) -> String {
        match self {
            JobSpec::Build {
                project, branch, ..
            }
            | JobSpec::Release {
                project, branch, ..
            } => format!("{project}@{branch}"),
            JobSpec::Deploy { app, tag, .. } => format!("{app} {tag}"),
        }
    }
}
