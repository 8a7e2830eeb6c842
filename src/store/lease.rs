//! The leadership lease: which of the replicas sharing a database may act, for how
//! long, and under which term. A term only grows, so a write checked against the term
//! it was fenced with tells a leader from one that was deposed while it was not
//! looking (a long pause, a lost network).

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::db::Db;
use super::{Store, StoreError};
use postgres_lease as postgres;

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

/// The lease on SQLite is granted trivially: one process holds the file's exclusive
/// lock for its whole life, so no other releasebot can write the same state and there
/// is nobody to hand over to. It is always granted with term 1 and never lost, and
/// fencing has nothing to check.
const SQLITE_TERM: u64 = 1;

impl Store {
    /// Takes the leadership lease for `holder` (unique to this process) if nobody holds
    /// it or its holder let it expire, for `ttl` by the database's clock, with a term
    /// one higher than the last; `None` while it is held (by this holder too: a held
    /// lease is renewed, not taken again). The store is fenced with the new term (see
    /// [`fence`](Store::fence)). On SQLite the lease is always granted with term 1.
    pub async fn acquire_lease(
        &self,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let lease = match &self.db {
            Db::Sqlite(slot) => {
                Db::sqlite_conn(slot).map_err(|f| f.told(&self.at))?;
                let lease = Lease {
                    holder: holder.to_string(),
                    term: SQLITE_TERM,
                    expires_at_ms: i64::MAX,
                };
                *self.granted.lock().unwrap_or_else(|e| e.into_inner()) = Some(lease.clone());
                Some(lease)
            }
            Db::Postgres(pool) => {
                self.call(async {
                    postgres::acquire(&mut *pool.acquire().await?, holder, ttl).await
                })
                .await?
            }
        };
        if let Some(l) = &lease {
            self.fence(l.term);
        }
        Ok(lease)
    }

    /// Extends `lease` to `ttl` from now (the database's now); `false` if it was lost
    /// (expired, or taken by another), and then it cannot be renewed again.
    pub async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool, StoreError> {
        match &self.db {
            Db::Sqlite(slot) => {
                Db::sqlite_conn(slot).map_err(|f| f.told(&self.at))?;
                Ok(lease.term == SQLITE_TERM)
            }
            Db::Postgres(pool) => {
                self.call(async { postgres::renew(&mut *pool.acquire().await?, lease, ttl).await })
                    .await
            }
        }
    }

    /// After an outage in which `held` could not be renewed and expired: takes it again,
    /// under the next term, if no other replica took it meanwhile (its holder and term
    /// are still in the row), and fences the store with the new term; `None` if another
    /// replica took it. On SQLite there is nobody else: `held` stands.
    pub async fn retake_lease(
        &self,
        held: &Lease,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let lease = match &self.db {
            Db::Sqlite(slot) => {
                Db::sqlite_conn(slot).map_err(|f| f.told(&self.at))?;
                Some(held.clone())
            }
            Db::Postgres(pool) => {
                self.call(async { postgres::retake(&mut *pool.acquire().await?, held, ttl).await })
                    .await?
            }
        };
        if let Some(l) = &lease {
            self.fence(l.term);
        }
        Ok(lease)
    }

    /// Hands the lease over at once (it expires now), for a graceful stop; a lease
    /// already lost is left alone. The store stays fenced, so it writes no more.
    pub async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(_) => {
                let mut held = self.granted.lock().unwrap_or_else(|e| e.into_inner());
                if held.as_ref().is_some_and(|h| h.holder == lease.holder) {
                    *held = None;
                }
                Ok(())
            }
            Db::Postgres(pool) => {
                self.call(async { postgres::release(&mut *pool.acquire().await?, lease).await })
                    .await
            }
        }
    }

    /// Who holds the lease now (unexpired by the database's clock), for `/readyz` and
    /// `check`.
    pub async fn leader(&self) -> Result<Option<Lease>, StoreError> {
        match &self.db {
            Db::Sqlite(slot) => {
                Db::sqlite_conn(slot).map_err(|f| f.told(&self.at))?;
                Ok(self
                    .granted
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone())
            }
            Db::Postgres(pool) => {
                self.call(async { postgres::leader(&mut *pool.acquire().await?).await })
                    .await
            }
        }
    }

    /// From now on, every write (a job, a freeze, a new `meta` value) checks, in its own
    /// transaction, that the lease still has `term` and is unexpired by the database's
    /// clock, and otherwise fails with [`StoreError::Deposed`] and changes nothing.
    /// [`acquire_lease`](Store::acquire_lease) fences with the term it got. Reads are
    /// never fenced. On SQLite fencing changes nothing: the file lock already keeps
    /// every other writer out.
    pub fn fence(&self, term: u64) {
        self.fenced.store(term, Ordering::SeqCst);
    }

    /// The PostgreSQL schema's version (`releasebot check`).
    pub(super) async fn postgres_version(&self) -> Result<i64, StoreError> {
        match &self.db {
            Db::Sqlite(_) => Ok(0),
            Db::Postgres(pool) => {
                self.call(async {
                    crate::store::migrate::postgres_version(&mut *pool.acquire().await?).await
                })
                .await
            }
        }
    }
}

/// The leadership lease in PostgreSQL: one row of `lease`, changed by single statements
/// whose conditions read the database's clock (`now()`), never a replica's, so replicas
/// whose clocks disagree still agree on who leads. (On SQLite, whose file lock already
/// keeps other processes out, the store grants it itself: `mod.rs`.)
///
/// Fencing: a fenced write begins its transaction by reading the lease row `FOR SHARE`
/// with the term it was fenced with and an unexpired time. If the row does not match,
/// the transaction is rolled back and the write fails as deposed. If it matches, the
/// row stays locked until the write commits, so another replica's take-over (an
/// `UPDATE` of that row) waits for it: every write of a term commits before the next
/// term begins.
pub(super) mod postgres_lease {
    use std::time::Duration;

    use sqlx::PgConnection;

    use super::Lease;
    use crate::store::failure::Failure;

    /// The columns a lease is read from.
    type Row = (String, i64, i64);

    fn lease((holder, term, expires_at_ms): Row) -> Lease {
        Lease {
            holder,
            term: term.max(0) as u64,
            expires_at_ms,
        }
    }

    fn millis(ttl: Duration) -> i64 {
        i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// Takes the lease if it expired (or was never held), with the next term.
    pub async fn acquire(
        c: &mut PgConnection,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, Failure> {
        let row: Option<Row> = sqlx::query_as(
            "UPDATE lease SET holder = $1, term = term + 1,
                 expires_at = now() + $2::bigint * interval '1 millisecond'
             WHERE name = 'leader' AND expires_at <= now()
             RETURNING holder, term, (extract(epoch FROM expires_at) * 1000)::bigint",
        )
        .bind(holder)
        .bind(millis(ttl))
        .fetch_optional(c)
        .await?;
        Ok(row.map(lease))
    }

    /// Extends the lease if it is still this holder's, this term's and unexpired.
    pub async fn renew(c: &mut PgConnection, held: &Lease, ttl: Duration) -> Result<bool, Failure> {
        let renewed = sqlx::query(
            "UPDATE lease SET expires_at = now() + $3::bigint * interval '1 millisecond'
             WHERE name = 'leader' AND holder = $1 AND term = $2 AND expires_at > now()",
        )
        .bind(&held.holder)
        .bind(held.term as i64)
        .bind(millis(ttl))
        .execute(c)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Expires the lease now, if it is still this holder's and this term's.
    pub async fn release(c: &mut PgConnection, held: &Lease) -> Result<(), Failure> {
        sqlx::query(
            "UPDATE lease SET expires_at = LEAST(expires_at, now())
             WHERE name = 'leader' AND holder = $1 AND term = $2",
        )
        .bind(&held.holder)
        .bind(held.term as i64)
        .execute(c)
        .await?;
        Ok(())
    }

    /// The lease, while someone holds it.
    pub async fn leader(c: &mut PgConnection) -> Result<Option<Lease>, Failure> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT holder, term, (extract(epoch FROM expires_at) * 1000)::bigint
             FROM lease WHERE name = 'leader' AND expires_at > now()",
        )
        .fetch_optional(c)
        .await?;
        Ok(row.map(lease))
    }

    /// For a fenced store (`Some(term)`), fails the transaction unless the lease still
    /// has `term` and is unexpired, and keeps the lease row locked until it ends.
    pub async fn check(c: &mut PgConnection, fence: Option<u64>) -> Result<(), Failure> {
        let Some(term) = fence else {
            return Ok(());
        };
        let held: Option<(bool,)> = sqlx::query_as(
            "SELECT expires_at > now() FROM lease WHERE name = 'leader' AND term = $1
             FOR SHARE",
        )
        .bind(term as i64)
        .fetch_optional(c)
        .await?;
        match held {
            Some((true,)) => Ok(()),
            // Still this term's, but expired: nobody took it (yet).
            Some((false,)) => Err(Failure::Lapsed(term)),
            None => Err(Failure::Deposed(term)),
        }
    }

    /// Takes the lease again under the next term if nobody took it since `held`
    /// (expired or not): the same holder and term are still in the row.
    pub async fn retake(
        c: &mut PgConnection,
        held: &Lease,
        ttl: Duration,
    ) -> Result<Option<Lease>, Failure> {
        let row: Option<Row> = sqlx::query_as(
            "UPDATE lease SET term = term + 1,
                 expires_at = now() + $3::bigint * interval '1 millisecond'
             WHERE name = 'leader' AND holder = $1 AND term = $2
             RETURNING holder, term, (extract(epoch FROM expires_at) * 1000)::bigint",
        )
        .bind(&held.holder)
        .bind(held.term as i64)
        .bind(millis(ttl))
        .fetch_optional(c)
        .await?;
        Ok(row.map(lease))
    }
}
