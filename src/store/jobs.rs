//! Jobs in their rows: written (the row, and the audit entries not yet stored, in one
//! transaction a fenced store begins by checking its lease) and read back (the rows a
//! condition selects and their audit trails, in one snapshot). Each statement is
//! written once for both databases.

use std::collections::HashMap;

use sqlx::{Connection, QueryBuilder};

use super::db::{Dialect, on_db};
use super::failure::Failure;
use super::stored;
use crate::job::{AuditAction, AuditEntry, JobRecord};
use crate::names::JobId;

/// One argument of a selection, bound in order.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Int(i64),
    Text(String),
}

/// `query` with each of `args` bound in turn.
macro_rules! bound {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match a {
                $crate::store::jobs::Arg::Int(i) => q.bind(*i),
                $crate::store::jobs::Arg::Text(t) => q.bind(t.as_str()),
            };
        }
        q
    }};
}
pub(super) use bound;

/// Which jobs a read selects: a condition on `jobs` (with its order and limit) and its
/// arguments.
pub(super) struct Selection {
    pub condition: &'static str,
    pub args: Vec<Arg>,
}

const UPSERT: &str = "INSERT INTO jobs (id, kind, state, requester_id, requester, channel, project, branch, app, tag,
                       execution, created_ms, updated_ms, ended_ms, thread_channel, thread_id,
                       summary_message, progress_message, approval_message, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
     ON CONFLICT (id) DO UPDATE SET state = excluded.state, tag = excluded.tag,
         execution = excluded.execution, updated_ms = excluded.updated_ms,
         ended_ms = excluded.ended_ms, thread_channel = excluded.thread_channel,
         thread_id = excluded.thread_id, summary_message = excluded.summary_message,
         progress_message = excluded.progress_message,
         approval_message = excluded.approval_message, details = excluded.details";

/// Writes `r`, of whose audit trail the first `skip` entries are known to be stored.
/// Entries carry their place in the trail and one already there is left alone, so a
/// count that is too low (another replica wrote the job since) costs only a few rows
/// sent again; the trail is appended to, never rewritten.
pub(super) async fn save(
    db: &super::db::Db,
    r: &JobRecord,
    fence: Option<u64>,
    skip: usize,
) -> Result<(), Failure> {
    let thread = r.messages.thread.as_ref();
    let execution = r
        .build
        .as_ref()
        .and_then(|b| b.execution.as_ref())
        .map(ToString::to_string);
    let details = stored::encode(r);
    let id = r.id.0 as i64;
    on_db!(db, |c| {
        let mut tx = c.begin().await?;
        tx.check_fence(fence).await?;
        sqlx::query(UPSERT)
            .bind(id)
            .bind(r.kind().as_str())
            .bind(r.state.as_str_snake())
            .bind(&r.requester.id)
            .bind(&r.requester.name)
            .bind(&r.channel)
            .bind(r.spec.project().map(|p| p.as_str()))
            .bind(r.spec.branch().map(|b| b.as_str()))
            .bind(r.spec.app().map(|a| a.as_str()))
            .bind(r.deploy_tag().map(|t| t.as_str()))
            .bind(execution.as_deref())
            .bind(r.created_ms)
            .bind(r.updated_ms)
            .bind(r.ended_ms)
            .bind(thread.map(|t| t.channel.as_str()))
            .bind(thread.map(|t| t.thread.as_str()))
            .bind(thread.map(|t| t.summary.message.as_str()))
            .bind(r.messages.progress.as_ref().map(|m| m.message.as_str()))
            .bind(r.messages.approval.as_ref().map(|m| m.message.as_str()))
            .bind(details.as_str())
            .execute(&mut *tx)
            .await?;
        if r.audit.len() > skip {
            let mut insert =
                QueryBuilder::new("INSERT INTO audit (job_id, seq, at_ms, actor, action, detail) ");
            insert.push_values(
                r.audit.iter().enumerate().skip(skip),
                |mut row, (seq, e)| {
                    row.push_bind(id)
                        .push_bind(seq as i64)
                        .push_bind(e.at_ms)
                        .push_bind(e.actor.as_deref())
                        .push_bind(e.action.as_str())
                        .push_bind(e.detail.as_str());
                },
            );
            insert.push(" ON CONFLICT (job_id, seq) DO NOTHING");
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    })
}

/// A job's row as read: its id and details.
type JobRow = (i64, String);
/// An audit entry as read: its job, time, actor, action and detail.
type AuditRow = (i64, i64, Option<String>, String, String);

/// The jobs `selection` selects, in its order, each with its audit trail.
pub(super) async fn select(
    db: &super::db::Db,
    selection: &Selection,
) -> Result<Vec<JobRecord>, Failure> {
    let jobs = format!("SELECT id, details FROM jobs WHERE {}", selection.condition);
    let audit = format!(
        "SELECT job_id, at_ms, actor, action, detail FROM audit
         WHERE job_id IN (SELECT id FROM jobs WHERE {}) ORDER BY job_id, seq",
        selection.condition
    );
    let (rows, entries) = on_db!(db, |c| {
        let mut tx = c.begin().await?;
        tx.snapshot().await?;
        let q = bound!(sqlx::query_as::<_, JobRow>(&jobs), &selection.args);
        let rows = q.fetch_all(&mut *tx).await?;
        let entries = match rows.is_empty() {
            true => Vec::new(),
            false => {
                let q = bound!(sqlx::query_as::<_, AuditRow>(&audit), &selection.args);
                q.fetch_all(&mut *tx).await?
            }
        };
        tx.commit().await?;
        Ok((rows, entries))
    })?;
    assemble(rows, entries)
}

/// What the delivery figures need of the jobs `condition` selects (with its order),
/// without their audit trails.
pub(super) async fn select_traces(
    db: &super::db::Db,
    condition: &str,
    args: &[Arg],
) -> Result<Vec<crate::job::stats::Trace>, Failure> {
    let jobs = format!("SELECT id, details FROM jobs WHERE {condition}");
    let rows = on_db!(db, |c| {
        let q = bound!(sqlx::query_as::<_, JobRow>(&jobs), args);
        Ok(q.fetch_all(&mut *c).await?)
    })?;
    // Thousands of rows are decoded off the runtime's threads, a share on each core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = rows.len().div_ceil(cores).max(DECODED_TOGETHER);
    let mut rows = rows.into_iter();
    let mut decoding = Vec::new();
    loop {
        let chunk: Vec<JobRow> = rows.by_ref().take(share).collect();
        if chunk.is_empty() {
            break;
        }
        decoding.push(tokio::task::spawn_blocking(move || {
            chunk
                .into_iter()
                .map(|(id, details)| {
                    let job = JobId(id as u64);
                    stored::decode_trace(job, &details)
                        .map_err(|e| Failure::Unreadable(job, e.to_string()))
                })
                .collect::<Result<Vec<_>, Failure>>()
        }));
    }
    let mut traces = Vec::new();
    for chunk in decoding {
        let decoded = chunk
            .await
            .map_err(|e| Failure::Damaged(format!("decoding stopped: {e}")))?;
        traces.extend(decoded?);
    }
    Ok(traces)
}

/// Rows decoded on one thread at least, below which sharing them out costs more than
/// it saves.
const DECODED_TOGETHER: usize = 256;

fn assemble(rows: Vec<JobRow>, entries: Vec<AuditRow>) -> Result<Vec<JobRecord>, Failure> {
    let mut trails: HashMap<i64, Vec<AuditEntry>> = HashMap::new();
    for (job, at_ms, actor, action, detail) in entries {
        let action = AuditAction::parse(&action).ok_or_else(|| {
            Failure::Unreadable(JobId(job as u64), format!("an unknown action {action:?}"))
        })?;
        trails.entry(job).or_default().push(AuditEntry {
            at_ms,
            actor,
            action,
            detail,
        });
    }
    rows.into_iter()
        .map(|(id, details)| {
            let job = JobId(id as u64);
            let audit = trails.remove(&id).unwrap_or_default();
            stored::decode(job, &details, audit)
                .map_err(|e| Failure::Unreadable(job, e.to_string()))
        })
        .collect()
}
