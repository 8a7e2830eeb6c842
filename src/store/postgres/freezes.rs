//! Freezes in their own table: put on and lifted (fenced writes), and read back.

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use super::failure::Failure;
use super::lease;
use crate::freeze::{Freeze, Scope};
use crate::job::Person;

const COLUMNS: &str =
    "id, scope, by_id, by_name, reason, at_ms, until_ms, lifted_by_id, lifted_by_name, lifted_ms";

fn freeze(r: &Row) -> Result<Freeze, Failure> {
    let scope: String = r.get(1);
    let id: i64 = r.get(0);
    let lifted = match (
        r.get::<_, Option<String>>(7),
        r.get::<_, Option<String>>(8),
        r.get::<_, Option<i64>>(9),
    ) {
        (Some(id), Some(name), Some(at)) => Some((Person { id, name }, at)),
        _ => None,
    };
    Ok(Freeze {
        id,
        scope: Scope::parse(&scope)
            .ok_or_else(|| Failure::Bad(format!("freeze {id} names no app: {scope:?}")))?,
        by: Person {
            id: r.get(2),
            name: r.get(3),
        },
        reason: r.get(4),
        at_ms: r.get(5),
        until_ms: r.get(6),
        lifted,
    })
}

/// The freezes matching `condition`, in its order.
pub(super) async fn select(
    client: &Client,
    condition: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Freeze>, Failure> {
    client
        .query(
            &format!("SELECT {COLUMNS} FROM freezes WHERE {condition}"),
            args,
        )
        .await?
        .iter()
        .map(freeze)
        .collect()
}

/// Records a freeze; its id.
pub(super) async fn insert(
    client: &mut Client,
    f: &Freeze,
    fence: Option<u64>,
) -> Result<i64, Failure> {
    let tx = client.transaction().await?;
    lease::check(&tx, fence).await?;
    let row = tx
        .query_one(
            "INSERT INTO freezes (scope, by_id, by_name, reason, at_ms, until_ms)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &f.scope.as_str(),
                &f.by.id,
                &f.by.name,
                &f.reason,
                &f.at_ms,
                &f.until_ms,
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(row.get(0))
}

/// Lifts the freezes of `scope` (`all`: every freeze) holding at `at_ms`; those lifted,
/// oldest first.
pub(super) async fn lift(
    client: &mut Client,
    scope: &Scope,
    by: &Person,
    at_ms: i64,
    fence: Option<u64>,
) -> Result<Vec<Freeze>, Failure> {
    let app = match scope {
        Scope::All => None,
        Scope::App(app) => Some(app.as_str()),
    };
    let tx = client.transaction().await?;
    lease::check(&tx, fence).await?;
    let mut lifted = tx
        .query(
            &format!(
                "UPDATE freezes SET lifted_by_id = $1, lifted_by_name = $2, lifted_ms = $3
                 WHERE lifted_ms IS NULL AND until_ms > $3 AND ($4::text IS NULL OR scope = $4)
                 RETURNING {COLUMNS}"
            ),
            &[&by.id, &by.name, &at_ms, &app],
        )
        .await?
        .iter()
        .map(freeze)
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit().await?;
    lifted.sort_by_key(|f| f.id);
    Ok(lifted)
}
