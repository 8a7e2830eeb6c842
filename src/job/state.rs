//! Where a job stands.

/// Where a job stands; the last five are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for another deploy of the same app to finish.
    Queued,
    /// Sending the run request.
    Triggering,
    Building,
    AwaitingApproval,
    Deploying,
    FetchingLogs,
    Succeeded,
    Failed,
    /// Approval refused by an approver.
    Rejected,
    Cancelled,
    TimedOut,
}

impl JobState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded
                | JobState::Failed
                | JobState::Rejected
                | JobState::Cancelled
                | JobState::TimedOut
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Triggering => "triggering",
            JobState::Building => "building",
            JobState::AwaitingApproval => "awaiting approval",
            JobState::Deploying => "deploying",
            JobState::FetchingLogs => "fetching logs",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Rejected => "rejected",
            JobState::Cancelled => "cancelled",
            JobState::TimedOut => "timed out",
        }
    }

    /// The state as a label for metrics and the store: `awaiting_approval`.
    pub fn as_str_snake(self) -> &'static str {
        match self {
            JobState::AwaitingApproval => "awaiting_approval",
            JobState::FetchingLogs => "fetching_logs",
            JobState::TimedOut => "timed_out",
            other => other.as_str(),
        }
    }

    /// The inverse of [`Self::as_str_snake`].
    pub fn from_snake(s: &str) -> Option<Self> {
        const ALL: [JobState; 11] = [
            JobState::Queued,
            JobState::Triggering,
            JobState::Building,
            JobState::AwaitingApproval,
            JobState::Deploying,
            JobState::FetchingLogs,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Rejected,
            JobState::Cancelled,
            JobState::TimedOut,
        ];
        ALL.into_iter().find(|state| state.as_str_snake() == s)
    }
}
