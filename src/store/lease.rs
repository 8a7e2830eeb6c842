//! The leadership lease: which of the replicas sharing a database may act, for how
//! long, and under which term. A term only grows, so a write checked against the term
//! it was fenced with tells a leader from one that was deposed while it was not
//! looking (a long pause, a lost network).

/// A held (or observed) lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it: a name unique to one running process (host, pid, a random part),
    /// never reused by a restart.
    pub holder: String,
    /// Raised by one each time the lease changes hands (or is taken again after it
    /// expired); never reused.
    pub term: u64,
    /// When it expires unless renewed, in milliseconds since the Unix epoch by the
    /// database's clock: for showing, not for deciding on this replica's clock.
    pub expires_at_ms: i64,
}
