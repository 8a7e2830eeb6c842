//! Freezes and locks (a freeze with a holder) in their own table: put on and lifted (fenced writes), and read back (those
//! holding now, and an app's past ones for its history). Each statement is written once
//! for both databases.

use sqlx::Connection;

use super::db::{Db, Dialect, on_db};
use super::failure::Failure;
use super::jobs::{Arg, bound};
use crate::freeze::{Freeze, Scope};
use crate::job::Person;

const COLUMNS: &str = "id, scope, by_id, by_name, reason, at_ms, until_ms, lifted_by_id, lifted_by_name, lifted_ms, holder_id, holder_name";

/// A freeze's row, in [`COLUMNS`]' order.
type Row = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn freeze(r: Row) -> Result<Freeze, Failure> {
    let (
        id,
        scope,
        by_id,
        by_name,
        reason,
        at_ms,
        until_ms,
        lifted_id,
        lifted_name,
        lifted_ms,
        holder_id,
        holder_name,
    ) = r;
    let lifted = match (lifted_id, lifted_name, lifted_ms) {
        (Some(id), Some(name), Some(at)) => Some((Person { id, name }, at)),
        _ => None,
    };
    let holder = match (holder_id, holder_name) {
        (Some(id), Some(name)) => Some(Person { id, name }),
        _ => None,
    };
    Ok(Freeze {
        id,
        scope: Scope::parse(&scope)
            .ok_or_else(|| Failure::Bad(format!("freeze {id} names no app: {scope:?}")))?,
        by: Person {
            id: by_id,
            name: by_name,
        },
        reason,
        at_ms,
        until_ms,
        lifted,
        holder,
    })
}

/// Records a freeze; its id.
pub(super) async fn insert(db: &Db, f: &Freeze, fence: Option<u64>) -> Result<i64, Failure> {
    on_db!(db, |c| {
        let mut tx = c.begin().await?;
        tx.check_fence(fence).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO freezes (scope, by_id, by_name, reason, at_ms, until_ms, holder_id, holder_name)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(f.scope.as_str())
        .bind(&f.by.id)
        .bind(&f.by.name)
        .bind(&f.reason)
        .bind(f.at_ms)
        .bind(f.until_ms)
        .bind(f.holder.as_ref().map(|h| h.id.as_str()))
        .bind(f.holder.as_ref().map(|h| h.name.as_str()))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    })
}

/// Lifts the freezes (or, with `locks`, the locks) of `scope` (`all`: every one)
/// holding at `at_ms`; those lifted, oldest first.
pub(super) async fn lift(
    db: &Db,
    scope: &Scope,
    locks: bool,
    by: &Person,
    at_ms: i64,
    fence: Option<u64>,
) -> Result<Vec<Freeze>, Failure> {
    let kind = if locks { "IS NOT NULL" } else { "IS NULL" };
    let update = format!(
        "UPDATE freezes SET lifted_by_id = $1, lifted_by_name = $2, lifted_ms = $3
         WHERE lifted_ms IS NULL AND until_ms > $3 AND ($4 = 'all' OR scope = $4)
         AND holder_id {kind}
         RETURNING {COLUMNS}"
    );
    let rows: Vec<Row> = on_db!(db, |c| {
        let mut tx = c.begin().await?;
        tx.check_fence(fence).await?;
        let rows = sqlx::query_as(&update)
            .bind(&by.id)
            .bind(&by.name)
            .bind(at_ms)
            .bind(scope.as_str())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows)
    })?;
    let mut lifted = rows
        .into_iter()
        .map(freeze)
        .collect::<Result<Vec<_>, _>>()?;
    lifted.sort_by_key(|f| f.id);
    Ok(lifted)
}

/// The freezes `condition` selects, in its order, with its arguments.
pub(super) async fn select(db: &Db, condition: &str, args: &[Arg]) -> Result<Vec<Freeze>, Failure> {
    let sql = format!("SELECT {COLUMNS} FROM freezes WHERE {condition}");
    let rows: Vec<Row> = on_db!(db, |c| {
        let q = bound!(sqlx::query_as(&sql), args);
        Ok(q.fetch_all(&mut *c).await?)
    })?;
    rows.into_iter().map(freeze).collect()
}
