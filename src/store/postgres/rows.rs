//! Jobs as their rows hold them: the record assembled from the row's `details` and the
//! approval, votes and audit trail kept in tables of their own. Jobs are read in one
//! read-only snapshot, their other rows fetched for all of them at once.

use std::collections::HashMap;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, IsolationLevel, Row, Transaction};

use super::failure::Failure;
use crate::job::{Approval, AuditAction, AuditEntry, JobRecord, Via, Vote};
use crate::names::{AppName, JobId, VersionTag};
use crate::store::stored;

/// The jobs that `sql` selects (`id, details`), assembled, in its order.
pub(super) async fn jobs(
    client: &mut Client,
    sql: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<JobRecord>, Failure> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let rows: Vec<(i64, String)> = tx
        .query(sql, args)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let jobs = assemble(&tx, rows).await?;
    tx.commit().await?;
    Ok(jobs)
}

async fn assemble(
    tx: &Transaction<'_>,
    rows: Vec<(i64, String)>,
) -> Result<Vec<JobRecord>, Failure> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    let mut approvals = by_job(
        tx.query(
            "SELECT job_id, app, tag, image, requester_id, requester, policy, requested_ms,
                    deadline_ms, status, from_tag
             FROM approvals WHERE job_id = ANY($1)",
            &[&ids],
        )
        .await?,
    );
    let mut votes = by_job(
        tx.query(
            "SELECT job_id, user_id, name, at_ms, via FROM votes WHERE job_id = ANY($1)
             ORDER BY job_id, at_ms, seq",
            &[&ids],
        )
        .await?,
    );
    let mut audits = by_job(
        tx.query(
            "SELECT job_id, at_ms, actor, action, detail FROM audit WHERE job_id = ANY($1)
             ORDER BY job_id, seq",
            &[&ids],
        )
        .await?,
    );
    rows.into_iter()
        .map(|(id, details)| {
            let job = JobId(id as u64);
            let approval = match approvals.remove(&id).and_then(|mut a| a.pop()) {
                Some(row) => Some(approval(job, &row, votes.remove(&id).unwrap_or_default())?),
                None => None,
            };
            let audit = audits
                .remove(&id)
                .unwrap_or_default()
                .iter()
                .map(|row| entry(job, row))
                .collect::<Result<_, _>>()?;
            stored::decode(job, &details, stored::Parts { approval, audit })
                .map_err(|e| Failure::Unreadable(job, e.to_string()))
        })
        .collect()
}

/// Rows grouped by their first column, the job's id, keeping their order.
fn by_job(rows: Vec<Row>) -> HashMap<i64, Vec<Row>> {
    let mut grouped: HashMap<i64, Vec<Row>> = HashMap::new();
    for row in rows {
        grouped.entry(row.get(0)).or_default().push(row);
    }
    grouped
}

fn approval(job: JobId, row: &Row, votes: Vec<Row>) -> Result<Approval, Failure> {
    let bad = |detail: String| Failure::Unreadable(job, detail);
    let votes = votes
        .iter()
        .map(|v| Vote {
            user_id: v.get(1),
            name: v.get(2),
            at_ms: v.get(3),
            via: Via::parse(v.get::<_, Option<&str>>(4)),
        })
        .collect();
    Ok(Approval {
        app: AppName::parse(row.get(1)).map_err(|e| bad(e.0))?,
        tag: VersionTag::parse(row.get(2)).map_err(|e| bad(e.0))?,
        image: row.get(3),
        from_tag: row.get(10),
        requester_id: row.get(4),
        requester: row.get(5),
        policy: stored::decode_policy(row.get(6)).map_err(|e| bad(e.to_string()))?,
        requested_ms: row.get(7),
        deadline_ms: row.get(8),
        votes,
        status: stored::decode_status(row.get(9)).map_err(|e| bad(e.to_string()))?,
    })
}

fn entry(job: JobId, row: &Row) -> Result<AuditEntry, Failure> {
    let action: &str = row.get(3);
    Ok(AuditEntry {
        at_ms: row.get(1),
        actor: row.get(2),
        action: AuditAction::parse(action)
            .ok_or_else(|| Failure::Unreadable(job, format!("an unknown action {action:?}")))?,
        detail: row.get(4),
    })
}
