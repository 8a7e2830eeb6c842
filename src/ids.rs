//! Typed Rancher ids, parsed once where they enter (configuration or PaaS JSON). They
//! name things in the job domain as much as in the PaaS client, so they live below
//! both.
//!
//! Rancher names objects `<namespace>:<name>` (`docs/paas.md#conventions`): a
//! project is addressed as `c-64wdm:p-5tfq9`, a pipeline as `p-5tfq9:p-tpk2x`, an
//! execution as `p-5tfq9:p-tpk2x-10` (pipeline name, then the run number). Every part is
//! a Kubernetes name, so the parsers accept lowercase letters, digits, `-` and `.` only,
//! which also keeps anything surprising out of the URLs the client builds.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// Why a string is not a valid Rancher id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(String);

/// Checks a Kubernetes-style name: 1 to 253 characters of `a-z`, `0-9`, `-` and `.`,
/// starting and ending with a letter or digit.
fn check_name(kind: &str, s: &str) -> Result<(), IdError> {
    let ok_edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if s.is_empty() || s.len() > 253 {
        return Err(IdError(format!(
            "a {kind} id must be 1 to 253 characters long"
        )));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err(IdError(format!(
            "a {kind} id may only hold lowercase letters, digits, '-' and '.', not {s:?}"
        )));
    }
    if !ok_edge(s.chars().next()) || !ok_edge(s.chars().last()) {
        return Err(IdError(format!(
            "a {kind} id must start and end with a letter or digit, not {s:?}"
        )));
    }
    Ok(())
}

macro_rules! name_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, IdError> {
                check_name($kind, s)?;
                Ok($name(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
    };
}

name_id!(
    /// A cluster id such as `c-64wdm` (or `local`).
    ClusterId,
    "cluster"
);
name_id!(
    /// A Rancher project id such as `p-5tfq9`.
    ProjectId,
    "project"
);
name_id!(
    /// A pipeline id such as `p-tpk2x` (the name part of `p-5tfq9:p-tpk2x`).
    PipelineId,
    "pipeline"
);
name_id!(
    /// An app (deployment) name such as `project-deploy`.
    AppId,
    "app"
);

/// A Rancher project within its cluster: the `c-64wdm:p-5tfq9` in every URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectRef {
    pub cluster: ClusterId,
    pub project: ProjectId,
}

impl ProjectRef {
    pub fn new(cluster: ClusterId, project: ProjectId) -> Self {
        ProjectRef { cluster, project }
    }

    /// Parses `c-64wdm:p-5tfq9`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let (c, p) = split_pair("project", s)?;
        Ok(ProjectRef::new(ClusterId::parse(c)?, ProjectId::parse(p)?))
    }
}

impl fmt::Display for ProjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.cluster, self.project)
    }
}

/// A pipeline within its project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PipelineRef {
    pub project: ProjectRef,
    pub pipeline: PipelineId,
}

impl PipelineRef {
    pub fn new(project: ProjectRef, pipeline: PipelineId) -> Self {
        PipelineRef { project, pipeline }
    }

    /// The pipeline's own id as Rancher writes it: `p-5tfq9:p-tpk2x`.
    pub fn rancher_id(&self) -> String {
        format!("{}:{}", self.project.project, self.pipeline)
    }
}

impl fmt::Display for PipelineRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.project, self.pipeline)
    }
}

/// An app within its project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppRef {
    pub project: ProjectRef,
    pub app: AppId,
}

impl AppRef {
    pub fn new(project: ProjectRef, app: AppId) -> Self {
        AppRef { project, app }
    }

    /// The app's own id as Rancher writes it: `p-5tfq9:project-deploy`.
    pub fn rancher_id(&self) -> String {
        format!("{}:{}", self.project.project, self.app)
    }
}

impl fmt::Display for AppRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.project, self.app)
    }
}

/// An execution id, `p-5tfq9:p-tpk2x-10`: the namespace (the project), the pipeline
/// and the run number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExecutionId {
    pub project: ProjectId,
    pub pipeline: PipelineId,
    pub run: u64,
}

impl ExecutionId {
    pub fn new(project: ProjectId, pipeline: PipelineId, run: u64) -> Self {
        ExecutionId {
            project,
            pipeline,
            run,
        }
    }

    pub fn parse(s: &str) -> Result<Self, IdError> {
        let (ns, name) = split_pair("execution", s)?;
        let (pipeline, run) = name
            .rsplit_once('-')
            .ok_or_else(|| IdError(format!("an execution name ends in -<run>, not {name:?}")))?;
        let run: u64 = run
            .parse()
            .map_err(|_| IdError(format!("an execution name ends in -<run>, not {name:?}")))?;
        Ok(ExecutionId::new(
            ProjectId::parse(ns)?,
            PipelineId::parse(pipeline)?,
            run,
        ))
    }

    /// The execution's name, `p-tpk2x-10`.
    pub fn name(&self) -> String {
        format!("{}-{}", self.pipeline, self.run)
    }
}

impl fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}-{}", self.project, self.pipeline, self.run)
    }
}

impl serde::Serialize for ExecutionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ExecutionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ExecutionId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An execution within its cluster project: everything needed to address it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExecutionRef {
    pub project: ProjectRef,
    pub execution: ExecutionId,
}

impl ExecutionRef {
    pub fn new(project: ProjectRef, execution: ExecutionId) -> Self {
        ExecutionRef { project, execution }
    }

    /// The pipeline this execution belongs to.
    pub fn pipeline(&self) -> PipelineRef {
        PipelineRef::new(self.project.clone(), self.execution.pipeline.clone())
    }
}

impl fmt::Display for ExecutionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.project.cluster, self.execution)
    }
}

fn split_pair<'a>(kind: &str, s: &'a str) -> Result<(&'a str, &'a str), IdError> {
    s.split_once(':').ok_or_else(|| {
        IdError(format!(
            "a {kind} id looks like <namespace>:<name>, not {s:?}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_ids_parse_with_their_run_number() {
        let id = ExecutionId::parse("p-5tfq9:p-tpk2x-10").unwrap();
        assert_eq!(id.project.as_str(), "p-5tfq9");
        assert_eq!(id.pipeline.as_str(), "p-tpk2x");
        assert_eq!(id.run, 10);
        assert_eq!(id.to_string(), "p-5tfq9:p-tpk2x-10");
        assert_eq!(id.name(), "p-tpk2x-10");
    }

    #[test]
    fn malformed_execution_ids_are_rejected() {
        for bad in [
            "",
            "p-5tfq9",
            "p-5tfq9:p-tpk2x",
            "p-5tfq9:p-tpk2x-",
            "p-5tfq9:-10",
            ":p-1",
            "P:p-1",
        ] {
            assert!(
                ExecutionId::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn names_reject_url_and_path_characters() {
        for bad in [
            "", "a/b", "a b", "a?b", "../x", "-a", "a-", "A", "a%2f", "a:b",
        ] {
            assert!(ProjectId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(ProjectId::parse(&"a".repeat(254)).is_err());
        assert!(ClusterId::parse("local").is_ok());
        assert!(AppId::parse("project-deploy").is_ok());
    }

    #[test]
    fn project_refs_parse_and_print_like_rancher() {
        let p = ProjectRef::parse("c-64wdm:p-5tfq9").unwrap();
        assert_eq!(p.to_string(), "c-64wdm:p-5tfq9");
        assert!(ProjectRef::parse("c-64wdm").is_err());
    }
}
