//! The audit trail: every decision about a job, who made it and when.

/// One decision, kept with the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// Who decided; `None` for releasebot itself (an expiry, a deploy's end).
    pub actor: Option<String>,
    pub action: AuditAction,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Request,
    Vote,
    Withdraw,
    Reject,
    Approve,
    Expire,
    Supersede,
    BuildStart,
    BuildEnd,
    DeployStart,
    DeployEnd,
    Cancel,
    Resume,
    /// An approval waived by policy (a rollback), or a freeze overridden by an admin.
    Waive,
}

impl AuditAction {
    const ALL: [AuditAction; 14] = [
        AuditAction::Request,
        AuditAction::Vote,
        AuditAction::Withdraw,
        AuditAction::Reject,
        AuditAction::Approve,
        AuditAction::Expire,
        AuditAction::Supersede,
        AuditAction::BuildStart,
        AuditAction::BuildEnd,
        AuditAction::DeployStart,
        AuditAction::DeployEnd,
        AuditAction::Cancel,
        AuditAction::Resume,
        AuditAction::Waive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Request => "request",
            AuditAction::Vote => "vote",
            AuditAction::Withdraw => "withdraw",
            AuditAction::Reject => "reject",
            AuditAction::Approve => "approve",
            AuditAction::Expire => "expire",
            AuditAction::Supersede => "supersede",
            AuditAction::BuildStart => "build_start",
            AuditAction::BuildEnd => "build_end",
            AuditAction::DeployStart => "deploy_start",
            AuditAction::DeployEnd => "deploy_end",
            AuditAction::Cancel => "cancel",
            AuditAction::Resume => "resume",
            AuditAction::Waive => "waive",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}
