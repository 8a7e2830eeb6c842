//! Values both backends keep in columns of their own beside a job's stored form.

use crate::job::ApprovalStatus;

/// Who decided an approval and when, for its row.
pub(super) fn decision(status: &ApprovalStatus) -> (Option<String>, Option<i64>) {
    match status {
        ApprovalStatus::Pending => (None, None),
        ApprovalStatus::Approved { at_ms } | ApprovalStatus::Expired { at_ms } => {
            (None, Some(*at_ms))
        }
        ApprovalStatus::Rejected { by, at_ms } | ApprovalStatus::Cancelled { by, at_ms } => {
            (Some(by.clone()), Some(*at_ms))
        }
        ApprovalStatus::Superseded { by, at_ms } => (Some(by.to_string()), Some(*at_ms)),
    }
}
