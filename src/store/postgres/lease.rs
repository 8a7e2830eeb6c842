//! The leadership lease in PostgreSQL: one row of `lease`, changed by single
//! statements whose conditions read the database's clock (`now()`), never a replica's,
//! so replicas whose clocks disagree still agree on who leads.
//!
//! Fencing: a fenced write begins its transaction by reading the lease row `FOR SHARE`
//! with the term it was fenced with and an unexpired time. If the row does not match,
//! the transaction is rolled back and the write fails as deposed. If it matches, the
//! row stays locked until the write commits, so another replica's take-over (an
//! `UPDATE` of that row) waits for it: every write of a term commits before the next
//! term begins.

use std::time::Duration;

use tokio_postgres::{Client, Row, Transaction};

use super::failure::Failure;
use crate::store::Lease;

/// The columns a lease is read from.
const RETURNING: &str =
    "holder, term, (extract(epoch FROM expires_at) * 1000)::bigint AS expires_at_ms";

fn lease(row: &Row) -> Lease {
    Lease {
        holder: row.get("holder"),
        term: row.get::<_, i64>("term").max(0) as u64,
        expires_at_ms: row.get("expires_at_ms"),
    }
}

fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

/// Takes the lease if it expired (or was never held), with the next term.
pub(super) async fn acquire(
    client: &Client,
    holder: &str,
    ttl: Duration,
) -> Result<Option<Lease>, Failure> {
    let row = client
        .query_opt(
            &format!(
                "UPDATE lease SET holder = $1, term = term + 1,
                     expires_at = now() + $2::bigint * interval '1 millisecond'
                 WHERE name = 'leader' AND expires_at <= now()
                 RETURNING {RETURNING}"
            ),
            &[&holder, &millis(ttl)],
        )
        .await?;
    Ok(row.as_ref().map(lease))
}

/// Extends the lease if it is still this holder's, this term's and unexpired.
pub(super) async fn renew(client: &Client, held: &Lease, ttl: Duration) -> Result<bool, Failure> {
    let renewed = client
        .execute(
            "UPDATE lease SET expires_at = now() + $3::bigint * interval '1 millisecond'
             WHERE name = 'leader' AND holder = $1 AND term = $2 AND expires_at > now()",
            &[&held.holder, &(held.term as i64), &millis(ttl)],
        )
        .await?;
    Ok(renewed == 1)
}

/// Expires the lease now, if it is still this holder's and this term's.
pub(super) async fn release(client: &Client, held: &Lease) -> Result<(), Failure> {
    client
        .execute(
            "UPDATE lease SET expires_at = LEAST(expires_at, now())
             WHERE name = 'leader' AND holder = $1 AND term = $2",
            &[&held.holder, &(held.term as i64)],
        )
        .await?;
    Ok(())
}

/// The lease, while someone holds it.
pub(super) async fn leader(client: &Client) -> Result<Option<Lease>, Failure> {
    let row = client
        .query_opt(
            &format!("SELECT {RETURNING} FROM lease WHERE name = 'leader' AND expires_at > now()"),
            &[],
        )
        .await?;
    Ok(row.as_ref().map(lease))
}

/// For a fenced store (`Some(term)`), fails the transaction unless the lease still has
/// `term` and is unexpired, and keeps the lease row locked until it ends.
pub(super) async fn check(tx: &Transaction<'_>, fence: Option<u64>) -> Result<(), Failure> {
    let Some(term) = fence else {
        return Ok(());
    };
    let held = tx
        .query_opt(
            "SELECT 1 FROM lease WHERE name = 'leader' AND term = $1 AND expires_at > now()
             FOR SHARE",
            &[&(term as i64)],
        )
        .await?;
    match held {
        Some(_) => Ok(()),
        None => Err(Failure::Deposed(term)),
    }
}
