//! Writing a job: its row, its approval and votes, and the audit entries not yet
//! stored, in one transaction that a fenced store begins by checking its lease.
//! Votes and audit entries are sent as arrays in one statement each, so a save is the
//! same handful of round trips however many there are.

use tokio_postgres::Client;

use super::failure::Failure;
use super::lease;
use crate::job::{Approval, JobRecord};
use crate::store::columns::decision;
use crate::store::stored;

/// Writes `r`; `skip` audit entries are known to be stored already. Entries carry
/// their place in the trail, and one already there is left alone, so a count that is
/// too low (another replica wrote the job since) only costs a few rows sent again.
pub(super) async fn save(
    client: &mut Client,
    r: &JobRecord,
    fence: Option<u64>,
    skip: usize,
) -> Result<(), Failure> {
    let tx = client.transaction().await?;
    lease::check(&tx, fence).await?;
    let id = r.id.0 as i64;
    let thread = r.messages.thread.as_ref();
    let execution = r
        .build
        .as_ref()
        .and_then(|b| b.execution.as_ref())
        .map(ToString::to_string);
    tx.execute(
        "INSERT INTO jobs (id, kind, state, requester_id, requester, channel, project, branch, app, tag,
                           execution, created_ms, updated_ms, ended_ms, thread_channel, thread_id,
                           summary_message, progress_message, approval_message, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, tag = excluded.tag,
             execution = excluded.execution, updated_ms = excluded.updated_ms,
             ended_ms = excluded.ended_ms, thread_channel = excluded.thread_channel,
             thread_id = excluded.thread_id, summary_message = excluded.summary_message,
             progress_message = excluded.progress_message,
             approval_message = excluded.approval_message, details = excluded.details",
        &[
            &id,
            &r.kind().as_str(),
            &r.state.as_str_snake(),
            &r.requester.id,
            &r.requester.name,
            &r.channel,
            &r.spec.project().map(|p| p.as_str()),
            &r.spec.branch().map(|b| b.as_str()),
            &r.spec.app().map(|a| a.as_str()),
            &r.deploy_tag().map(|t| t.as_str()),
            &execution,
            &r.created_ms,
            &r.updated_ms,
            &r.ended_ms,
            &thread.map(|t| t.channel.as_str()),
            &thread.map(|t| t.thread.as_str()),
            &thread.map(|t| t.summary.message.as_str()),
            &r.messages.progress.as_ref().map(|m| m.message.as_str()),
            &r.messages.approval.as_ref().map(|m| m.message.as_str()),
            &stored::encode(r),
        ],
    )
    .await?;
    if let Some(a) = &r.approval {
        approval(&tx, id, a).await?;
    }
    audit(&tx, r, skip).await?;
    tx.commit().await?;
    Ok(())
}

/// The approval's row, and its votes replaced by those it has now.
async fn approval(
    tx: &tokio_postgres::Transaction<'_>,
    id: i64,
    a: &Approval,
) -> Result<(), Failure> {
    let (decided_by, decided_ms) = decision(&a.status);
    tx.execute(
        "INSERT INTO approvals (job_id, app, tag, image, requester_id, requester, policy,
                                requested_ms, deadline_ms, status, decided_by, decided_ms, from_tag)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (job_id) DO UPDATE SET app = excluded.app, tag = excluded.tag,
             image = excluded.image, policy = excluded.policy,
             requested_ms = excluded.requested_ms, deadline_ms = excluded.deadline_ms,
             status = excluded.status, decided_by = excluded.decided_by,
             decided_ms = excluded.decided_ms, from_tag = excluded.from_tag",
        &[
            &id,
            &a.app.as_str(),
            &a.tag.as_str(),
            &a.image,
            &a.requester_id,
            &a.requester,
            &stored::encode_policy(&a.policy),
            &a.requested_ms,
            &a.deadline_ms,
            &stored::encode_status(&a.status),
            &decided_by,
            &decided_ms,
            &a.from_tag,
        ],
    )
    .await?;
    tx.execute("DELETE FROM votes WHERE job_id = $1", &[&id])
        .await?;
    if a.votes.is_empty() {
        return Ok(());
    }
    let seq: Vec<i64> = (0..a.votes.len() as i64).collect();
    let users: Vec<&str> = a.votes.iter().map(|v| v.user_id.as_str()).collect();
    let names: Vec<&str> = a.votes.iter().map(|v| v.name.as_str()).collect();
    let at: Vec<i64> = a.votes.iter().map(|v| v.at_ms).collect();
    let via: Vec<&str> = a.votes.iter().map(|v| v.via.as_str()).collect();
    tx.execute(
        "INSERT INTO votes (job_id, seq, user_id, name, at_ms, via)
         SELECT $1, v.seq, v.user_id, v.name, v.at_ms, v.via
         FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[])
             AS v (seq, user_id, name, at_ms, via)",
        &[&id, &seq, &users, &names, &at, &via],
    )
    .await?;
    Ok(())
}

/// The audit entries from `skip` on, each at its place in the trail.
async fn audit(
    tx: &tokio_postgres::Transaction<'_>,
    r: &JobRecord,
    skip: usize,
) -> Result<(), Failure> {
    let new = r.audit.iter().enumerate().skip(skip);
    let seq: Vec<i64> = new.clone().map(|(i, _)| i as i64).collect();
    if seq.is_empty() {
        return Ok(());
    }
    let at: Vec<i64> = new.clone().map(|(_, e)| e.at_ms).collect();
    let actors: Vec<Option<&str>> = new.clone().map(|(_, e)| e.actor.as_deref()).collect();
    let actions: Vec<&str> = new.clone().map(|(_, e)| e.action.as_str()).collect();
    let details: Vec<&str> = new.map(|(_, e)| e.detail.as_str()).collect();
    tx.execute(
        "INSERT INTO audit (job_id, seq, at_ms, actor, action, detail)
         SELECT $1, a.seq, a.at_ms, a.actor, a.action, a.detail
         FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[])
             AS a (seq, at_ms, actor, action, detail)
         ON CONFLICT (job_id, seq) DO NOTHING",
        &[&(r.id.0 as i64), &seq, &at, &actors, &actions, &details],
    )
    .await?;
    Ok(())
}
