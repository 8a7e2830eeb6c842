//! A job's build: what it shows of the execution it follows, and what an observed
//! execution means for the job.

use serde::{Deserialize, Serialize};

use crate::ids::ExecutionId;

/// The run request, written before it is sent: after a restart it says a build may
/// have started, and how to recognise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunIntent {
    pub at_ms: i64,
    /// The pipeline's `nextRun` read just before sending: an execution of the branch
    /// with a run number at least this is the one the request started
    /// (`docs/paas.md#running-a-pipeline`). `None` where the PaaS did not say.
    pub next_run: Option<u64>,
}

/// The build part of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildProgress {
    pub intent: Option<RunIntent>,
    /// The execution followed, once known.
    pub execution: Option<ExecutionId>,
    /// Whether this job started the execution (false: it follows another job's).
    pub started_here: bool,
    pub stages: Vec<StageView>,
    pub image: Option<String>,
    /// The tag as the PaaS reported it; checked as a version tag before it is deployed.
    pub tag: Option<String>,
    pub chart: Option<String>,
    pub commit: Option<String>,
    /// The first line of the commit's message, length-capped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Who wrote the commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// When the execution was first seen succeeded; the tag may follow a moment later.
    pub succeeded_ms: Option<i64>,
    pub finished: bool,
}

/// A stage as the progress message shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageView {
    pub name: String,
    pub mark: StageMark,
    pub seconds: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "&'static str")]
pub enum StageMark {
    Waiting,
    Running,
    Succeeded,
    Failed,
    Aborted,
    /// Rancher dropped the state (the stages after a failure).
    NotRun,
}

/// A mark read back that this releasebot does not know is shown as waiting.
impl From<String> for StageMark {
    fn from(s: String) -> Self {
        StageMark::parse(&s).unwrap_or(StageMark::Waiting)
    }
}

impl From<StageMark> for &'static str {
    fn from(m: StageMark) -> Self {
        m.as_str()
    }
}

impl StageMark {
    pub fn symbol(self) -> &'static str {
        match self {
            StageMark::Waiting => "⏸",
            StageMark::Running => "🔄",
            StageMark::Succeeded => "✅",
            StageMark::Failed => "❌",
            StageMark::Aborted => "🚫",
            StageMark::NotRun => "➖",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StageMark::Waiting => "waiting",
            StageMark::Running => "running",
            StageMark::Succeeded => "succeeded",
            StageMark::Failed => "failed",
            StageMark::Aborted => "aborted",
            StageMark::NotRun => "not_run",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            StageMark::Waiting,
            StageMark::Running,
            StageMark::Succeeded,
            StageMark::Failed,
            StageMark::Aborted,
            StageMark::NotRun,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// What one look at a build showed, as the job needs it: the PaaS client makes it
/// from the execution it read, so how the PaaS spells a field never reaches here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReading {
    pub id: ExecutionId,
    pub stages: Vec<StageView>,
    /// The image built, when the PaaS says.
    pub image: Option<String>,
    /// The tag to deploy, when the PaaS says.
    pub tag: Option<String>,
    pub chart: Option<String>,
    pub commit: Option<String>,
    /// The commit's message and author, redacted.
    pub message: Option<String>,
    pub author: Option<String>,
    pub verdict: BuildVerdict,
}

impl BuildProgress {
    /// Takes what the progress message shows from a reading of the build.
    pub fn observe(&mut self, e: &BuildReading) {
        self.execution = Some(e.id.clone());
        self.stages = e.stages.clone();
        // A later reading without a field keeps what an earlier one showed.
        if let Some(image) = &e.image {
            self.image = Some(image.clone());
        }
        if let Some(tag) = &e.tag {
            self.tag = Some(tag.clone());
        }
        if let Some(chart) = &e.chart {
            self.chart = Some(chart.clone());
        }
        if let Some(commit) = &e.commit {
            self.commit = Some(commit.chars().take(7).collect());
        }
        if let Some(message) = &e.message {
            self.subject = Some(crate::job::changes::subject(message)).filter(|s| !s.is_empty());
        }
        if let Some(author) = &e.author {
            self.author = Some(crate::job::changes::author(author)).filter(|a| !a.is_empty());
        }
    }

    /// The execution's short name, `p-tpk2x-57`.
    pub fn execution_name(&self) -> Option<String> {
        self.execution.as_ref().map(ExecutionId::name)
    }
}

/// What an observed execution means for the job following it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildVerdict {
    Running,
    /// Succeeded with everything there is to wait for.
    Succeeded,
    /// Succeeded, but the tag is not there yet (it may be filled a moment later).
    SucceededWithoutTag,
    Failed {
        stage: Option<String>,
        message: String,
    },
    Aborted {
        message: String,
    },
}
