//! The lease on SQLite, granted trivially: one process holds the file's exclusive lock
//! for its whole life, so no other releasebot can write the same state and there is
//! nobody to hand over to. The lease is always granted with term 1 and never lost, and
//! fencing has nothing to check.

use std::time::Duration;

use super::Sqlite;
use crate::store::{Lease, StoreError};

/// The only term there is on SQLite.
const TERM: u64 = 1;

impl Sqlite {
    /// Always granted: the file lock is the real leadership.
    pub(super) fn grant(&self, holder: &str, _ttl: Duration) -> Result<Option<Lease>, StoreError> {
        self.conn()?;
        let lease = Lease {
            holder: holder.to_string(),
            term: TERM,
            expires_at_ms: i64::MAX,
        };
        *self.lease.lock().unwrap_or_else(|e| e.into_inner()) = Some(lease.clone());
        Ok(Some(lease))
    }

    /// Never lost while the store is open.
    pub(super) fn keep(&self, lease: &Lease) -> Result<bool, StoreError> {
        self.conn()?;
        Ok(lease.term == TERM)
    }

    /// Forgets the holder, so `leader` says nobody leads.
    pub(super) fn hand_over(&self, lease: &Lease) -> Result<(), StoreError> {
        let mut held = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        if held.as_ref().is_some_and(|h| h.holder == lease.holder) {
            *held = None;
        }
        Ok(())
    }

    /// The process that took the lease, if it still holds it.
    pub(super) fn holder(&self) -> Result<Option<Lease>, StoreError> {
        self.conn()?;
        Ok(self.lease.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}
