//! The SQLite backend of [`Store`](super::Store): one file opened in WAL mode with an
//! exclusive lock held for the life of the process, the schema and its migrations
//! (`sqlite/schema.rs`), the queries, and SQLite's error codes told as
//! [`StoreError`]s. Jobs are rows whose `details` hold the stored form
//! ([`stored`](super::stored)); approvals, votes and the audit trail have tables of
//! their own, read back into the record in `sqlite/rows.rs`.

mod freezes;
mod lease;
mod private;
mod rows;
mod schema;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::columns::decision;
use super::{Backend, Lease, StoreError, stored};
use crate::freeze::{Freeze, Scope};
use crate::job::{JobRecord, Person};
use crate::names::JobId;

/// A store in one SQLite file. Writes are serialised on one connection.
pub(super) struct Sqlite {
    /// `None` once closed.
    conn: Mutex<Option<Connection>>,
    path: String,
    /// How many audit entries of each job are stored, so a save appends only the new
    /// ones without counting them in the database each time.
    audited: Mutex<HashMap<JobId, usize>>,
    /// The lease this process took (`sqlite/lease.rs`: always granted).
    lease: Mutex<Option<Lease>>,
}

/// A locked, open connection.
struct ConnGuard<'a>(MutexGuard<'a, Option<Connection>>);

impl std::ops::Deref for ConnGuard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Checked when the guard was made.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("the connection is open"))
    }
}

impl std::ops::DerefMut for ConnGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.0
            .as_mut()
            .unwrap_or_else(|| unreachable!("the connection is open"))
    }
}

/// A SQLite failure as the store problem an operator can act on, by its error code.
fn sql_error(path: &str, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
        _ => None,
    };
    let path = path.to_string();
    let detail = e.to_string();
    match code {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked { path },
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::Damaged { path, detail }
        }
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            StoreError::CannotOpen { path, detail }
        }
        Some(ErrorCode::DiskFull) => StoreError::DiskFull { path, detail },
        _ => StoreError::Failed { path, detail },
    }
}

impl Sqlite {
    /// Opens (or creates) the store at `path`, migrates its schema and takes the
    /// exclusive lock. Refuses a file that is locked, damaged or from a newer version.
    pub(super) fn open(path: &Path) -> Result<Sqlite, StoreError> {
        let shown = path.display().to_string();
        private::make_private(path);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql_error(&shown, e))?;
        Self::prepare(conn, shown)
    }

    /// A store that lives in memory, for tests and benchmarks.
    pub(super) fn open_in_memory() -> Result<Sqlite, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| sql_error(":memory:", e))?;
        Self::prepare(conn, ":memory:".into())
    }

    fn prepare(conn: Connection, path: String) -> Result<Sqlite, StoreError> {
        let err = |e| sql_error(&path, e);
        conn.busy_timeout(std::time::Duration::from_millis(250))
            .map_err(err)?;
        // The exclusive lock is taken by the first write below and kept until exit.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(err)?;
        if path != ":memory:" && !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal { path, mode });
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(err)?;
        if check != "ok" {
            return Err(StoreError::Damaged {
                path,
                detail: check,
            });
        }
        schema::migrate(&conn).map_err(|e| match e {
            schema::MigrateError::Sql(e) => err(e),
            schema::MigrateError::Newer(version) => StoreError::Newer {
                path: path.clone(),
                version,
            },
        })?;
        // Take the lock now: a second process fails here, not in the middle of a job.
        conn.execute("UPDATE meta SET value = value WHERE key = 'schema'", [])
            .map_err(err)?;
        Ok(Sqlite {
            conn: Mutex::new(Some(conn)),
            path,
            audited: Mutex::new(HashMap::new()),
            lease: Mutex::new(None),
        })
    }

    /// The connection, unless the store was closed.
    fn conn(&self) -> Result<ConnGuard<'_>, StoreError> {
        let guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            return Err(StoreError::Closed {
                path: self.path.clone(),
            });
        }
        Ok(ConnGuard(guard))
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        sql_error(&self.path, e)
    }

    fn unreadable(&self, job: JobId, detail: impl Into<String>) -> StoreError {
        StoreError::Unreadable {
            path: self.path.clone(),
            job,
            detail: detail.into(),
        }
    }

    fn query(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<JobRecord>, StoreError> {
        let conn = self.conn()?;
        let rows: Vec<(i64, String)> = {
            let mut stmt = conn.prepare(sql).map_err(|e| self.err(e))?;
            let mapped = stmt
                .query_map(args, |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.err(e))?;
            mapped.collect::<Result<_, _>>().map_err(|e| self.err(e))?
        };
        rows.into_iter()
            .map(|(id, details)| self.assemble(&conn, JobId(id as u64), &details))
            .collect()
    }
}

impl Backend for Sqlite {
    fn add_freeze(&self, f: &Freeze) -> Result<i64, StoreError> {
        self.insert_freeze(f)
    }

    fn lift_freezes(
        &self,
        scope: &Scope,
        by: &Person,
        at_ms: i64,
    ) -> Result<Vec<Freeze>, StoreError> {
        self.lift(scope, by, at_ms)
    }

    fn holding_freezes(&self, now_ms: i64) -> Result<Vec<Freeze>, StoreError> {
        self.holding(now_ms)
    }

    fn freeze_history(&self, app: &str, n: usize) -> Result<Vec<Freeze>, StoreError> {
        self.freeze_log(app, n)
    }

    fn acquire_lease(
        &self,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>, StoreError> {
        self.grant(holder, ttl)
    }

    fn renew_lease(&self, lease: &Lease, _ttl: std::time::Duration) -> Result<bool, StoreError> {
        self.keep(lease)
    }

    fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        self.hand_over(lease)
    }

    fn leader(&self) -> Result<Option<Lease>, StoreError> {
        self.holder()
    }

    /// Nothing to check: the exclusive file lock keeps every other writer out.
    fn fence(&self, _term: u64) {}

    fn location(&self) -> &str {
        &self.path
    }

    fn shared(&self) -> bool {
        false
    }

    /// Closes the file and releases its lock; later calls fail.
    fn close(&self) {
        self.conn.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Checks that the store takes a write.
    fn ping(&self) -> Result<(), StoreError> {
        let conn = self.conn()?;
        conn.execute("UPDATE meta SET value = value WHERE key = 'schema'", [])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// A value kept in the store (created by `make` the first time).
    fn meta(
        &self,
        key: &str,
        make: Box<dyn FnOnce() -> String + '_>,
    ) -> Result<String, StoreError> {
        let conn = self.conn()?;
        let found: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        if let Some(v) = found {
            return Ok(v);
        }
        let value = make();
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )
        .map_err(|e| self.err(e))?;
        Ok(value)
    }

    /// Replaces a kept value if it still is `from`; the value kept.
    fn swap_meta(&self, key: &str, from: &str, to: &str) -> Result<String, StoreError> {
        let conn = self.conn()?;
        conn.execute(
            "UPDATE meta SET value = ?3 WHERE key = ?1 AND value = ?2",
            params![key, from, to],
        )
        .map_err(|e| self.err(e))?;
        conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
            r.get(0)
        })
        .map_err(|e| self.err(e))
    }

    /// The id the next job gets: one more than any job ever stored.
    fn next_job_id(&self) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let max: Option<i64> = conn
            .query_row("SELECT MAX(id) FROM jobs", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(max.map_or(1, |m| m as u64 + 1))
    }

    /// Writes a job: its row, its approval and votes, and audit entries not yet stored.
    fn save(&self, r: &JobRecord) -> Result<(), StoreError> {
        let details = stored::encode(r);
        let id = r.id.0 as i64;
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let thread = r.messages.thread.as_ref();
        tx.execute(
            "INSERT INTO jobs (id, kind, state, requester_id, requester, channel, project, branch, app, tag,
                               execution, created_ms, updated_ms, ended_ms, thread_channel, thread_id,
                               summary_message, progress_message, approval_message, details)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
             ON CONFLICT(id) DO UPDATE SET state = excluded.state, tag = excluded.tag,
                 execution = excluded.execution, updated_ms = excluded.updated_ms,
                 ended_ms = excluded.ended_ms, thread_channel = excluded.thread_channel,
                 thread_id = excluded.thread_id, summary_message = excluded.summary_message,
                 progress_message = excluded.progress_message,
                 approval_message = excluded.approval_message, details = excluded.details",
            params![
                id,
                r.kind().as_str(),
                r.state.as_str_snake(),
                r.requester.id,
                r.requester.name,
                r.channel,
                r.spec.project().map(|p| p.as_str()),
                r.spec.branch().map(|b| b.as_str()),
                r.spec.app().map(|a| a.as_str()),
                r.deploy_tag().map(|t| t.as_str()),
                r.build
                    .as_ref()
                    .and_then(|b| b.execution.as_ref())
                    .map(ToString::to_string),
                r.created_ms,
                r.updated_ms,
                r.ended_ms,
                thread.map(|t| t.channel.as_str()),
                thread.map(|t| t.thread.as_str()),
                thread.map(|t| t.summary.message.as_str()),
                r.messages.progress.as_ref().map(|m| m.message.as_str()),
                r.messages.approval.as_ref().map(|m| m.message.as_str()),
                details,
            ],
        )
        .map_err(|e| self.err(e))?;
        if let Some(a) = &r.approval {
            let (decided_by, decided_ms) = decision(&a.status);
            tx.execute(
                "INSERT INTO approvals (job_id, app, tag, image, requester_id, requester, policy,
                                        requested_ms, deadline_ms, status, decided_by, decided_ms, from_tag)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT(job_id) DO UPDATE SET app = excluded.app, tag = excluded.tag,
                     image = excluded.image, policy = excluded.policy,
                     requested_ms = excluded.requested_ms, deadline_ms = excluded.deadline_ms,
                     status = excluded.status, decided_by = excluded.decided_by,
                     decided_ms = excluded.decided_ms, from_tag = excluded.from_tag",
                params![
                    id,
                    a.app.as_str(),
                    a.tag.as_str(),
                    a.image,
                    a.requester_id,
                    a.requester,
                    stored::encode_policy(&a.policy),
                    a.requested_ms,
                    a.deadline_ms,
                    stored::encode_status(&a.status),
                    decided_by,
                    decided_ms,
                    a.from_tag,
                ],
            )
            .map_err(|e| self.err(e))?;
            tx.execute("DELETE FROM votes WHERE job_id = ?1", params![id])
                .map_err(|e| self.err(e))?;
            for v in &a.votes {
                tx.execute(
                    "INSERT INTO votes (job_id, user_id, name, at_ms, via) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, v.user_id, v.name, v.at_ms, v.via.as_str()],
                )
                .map_err(|e| self.err(e))?;
            }
        }
        let known = self
            .audited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&r.id)
            .copied();
        let stored = match known {
            Some(n) => n,
            None => tx
                .query_row(
                    "SELECT COUNT(*) FROM audit WHERE job_id = ?1",
                    params![id],
                    |row| row.get::<_, i64>(0),
                )
                .map_err(|e| self.err(e))?
                .max(0) as usize,
        };
        for entry in r.audit.iter().skip(stored) {
            tx.execute(
                "INSERT INTO audit (job_id, at_ms, actor, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, entry.at_ms, entry.actor, entry.action.as_str(), entry.detail],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        let mut audited = self.audited.lock().unwrap_or_else(|e| e.into_inner());
        if r.ended_ms.is_some() {
            // A finished job is not saved again in the normal course; forget it.
            audited.remove(&r.id);
        } else {
            audited.insert(r.id, r.audit.len().max(stored));
        }
        Ok(())
    }

    /// One job.
    fn load(&self, id: JobId) -> Result<Option<JobRecord>, StoreError> {
        let conn = self.conn()?;
        let details: Option<String> = conn
            .query_row(
                "SELECT details FROM jobs WHERE id = ?1",
                params![id.0 as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match details {
            Some(d) => self.assemble(&conn, id, &d).map(Some),
            None => Ok(None),
        }
    }

    /// Jobs that had not ended when the bot stopped, oldest first.
    fn unfinished(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.query(
            "SELECT id, details FROM jobs WHERE ended_ms IS NULL ORDER BY id",
            params![],
        )
    }

    /// The latest `n` jobs of a project or app (`name` as configured), newest first.
    fn history(&self, name: &str, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.query(
            "SELECT id, details FROM jobs WHERE project = ?1 OR app = ?1 ORDER BY id DESC LIMIT ?2",
            params![name, n as i64],
        )
    }

    /// The latest `n` finished jobs, newest first.
    fn finished(&self, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.query(
            "SELECT id, details FROM jobs WHERE ended_ms IS NOT NULL ORDER BY id DESC LIMIT ?1",
            params![n as i64],
        )
    }

    /// The latest `n` deploys and releases of `app` that succeeded, newest first.
    fn deployed(&self, app: &str, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.query(
            "SELECT id, details FROM jobs WHERE app = ?1 AND state = 'succeeded' AND tag IS NOT NULL
             ORDER BY ended_ms DESC, id DESC LIMIT ?2",
            params![app, n as i64],
        )
    }

    /// Execution ids that jobs other than `except` follow or followed.
    fn claimed_executions(&self, except: JobId) -> Result<Vec<String>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare("SELECT execution FROM jobs WHERE execution IS NOT NULL AND id != ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![except.0 as i64], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

/// What the file at `path` holds, opened read-only (a missing file is schema 0: it is
/// created at the first start).
pub(super) fn inspect(path: &Path) -> Result<super::Inspection, StoreError> {
    let location = path.display().to_string();
    let schema = match path.exists() {
        false => 0,
        true => {
            let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|e| sql_error(&location, e))?;
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| sql_error(&location, e))?
        }
    };
    Ok(super::Inspection {
        location,
        kind: "SQLite",
        schema,
        known: schema::known(),
        leader: None,
    })
}
