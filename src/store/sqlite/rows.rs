//! A job as its rows hold it: the record assembled from the row's `details` and the
//! approval, votes and audit trail kept in tables of their own, so that votes and the
//! trail can be queried without decoding every job.

use rusqlite::{Connection, OptionalExtension, params};

use super::Sqlite;
use crate::job::{Approval, AuditAction, AuditEntry, JobRecord, Via, Vote};
use crate::names::JobId;
use crate::store::{StoreError, stored};

impl Sqlite {
    /// A job's record from its row's details, its approval and votes, and its audit.
    pub(super) fn assemble(
        &self,
        conn: &Connection,
        id: JobId,
        details: &str,
    ) -> Result<JobRecord, StoreError> {
        let parts = stored::Parts {
            approval: self.approval(conn, id)?,
            audit: self.audit(conn, id)?,
        };
        stored::decode(id, details, parts).map_err(|e| self.unreadable(id, e.to_string()))
    }

    fn approval(&self, conn: &Connection, id: JobId) -> Result<Option<Approval>, StoreError> {
        let row = conn
            .query_row(
                "SELECT app, tag, image, requester_id, requester, policy, requested_ms, deadline_ms, status, from_tag
                 FROM approvals WHERE job_id = ?1",
                params![id.0 as i64],
                |r| {
                    Ok((
                        (
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                        ),
                        (r.get::<_, String>(3)?, r.get::<_, String>(4)?),
                        r.get::<_, String>(5)?,
                        (r.get::<_, i64>(6)?, r.get::<_, i64>(7)?),
                        r.get::<_, String>(8)?,
                        r.get::<_, Option<String>>(9)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some(((app, tag, image), (requester_id, requester), policy, times, status, from_tag)) =
            row
        else {
            return Ok(None);
        };
        let mut stmt = conn
            .prepare(
                "SELECT user_id, name, at_ms, via FROM votes WHERE job_id = ?1 ORDER BY at_ms, rowid",
            )
            .map_err(|e| self.err(e))?;
        let votes = stmt
            .query_map(params![id.0 as i64], |r| {
                Ok(Vote {
                    user_id: r.get(0)?,
                    name: r.get(1)?,
                    at_ms: r.get(2)?,
                    via: Via::parse(r.get::<_, Option<String>>(3)?.as_deref()),
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let bad = |e: String| self.unreadable(id, e);
        Ok(Some(Approval {
            app: crate::names::AppName::parse(&app).map_err(|e| bad(e.0))?,
            tag: crate::names::VersionTag::parse(&tag).map_err(|e| bad(e.0))?,
            image,
            from_tag,
            requester_id,
            requester,
            policy: stored::decode_policy(&policy).map_err(|e| bad(e.to_string()))?,
            requested_ms: times.0,
            deadline_ms: times.1,
            votes,
            status: stored::decode_status(&status).map_err(|e| bad(e.to_string()))?,
        }))
    }

    fn audit(&self, conn: &Connection, id: JobId) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = conn
            .prepare("SELECT at_ms, actor, action, detail FROM audit WHERE job_id = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![id.0 as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(at_ms, actor, action, detail)| {
                Ok(AuditEntry {
                    at_ms,
                    actor,
                    action: AuditAction::parse(&action).ok_or_else(|| {
                        self.unreadable(id, format!("an unknown action {action:?}"))
                    })?,
                    detail,
                })
            })
            .collect()
    }
}
