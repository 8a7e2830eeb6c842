//! The durable store: every job (its approval and votes inside it) and its audit
//! trail, and the freezes, in one SQLite file or a PostgreSQL database
//! (`RELEASEBOT_DB`: a path, or a `postgres://` URL). The only module that touches the
//! database.
//!
//! A job is written before each thing it does to the world, so a restarted bot knows
//! what was in flight and resumes it: the intent to run a pipeline is recorded before
//! the run request, the execution id as soon as it is known, the chat message ids as
//! soon as they exist. A SQLite file is opened in WAL mode with an exclusive lock held for
//! the life of the process, so a second releasebot on the same file is refused instead
//! of both acting on the same jobs. A job is kept in the job record's own serde form
//! ([`stored`]), and every earlier form and schema is still read and migrated.
//!
//! PostgreSQL is for replicas sharing one database: only one of them may act, the one
//! holding the leadership [`Lease`], and a store fenced with its lease's term refuses
//! every write once that term is over ([`StoreError::Deposed`]), so a replica that
//! lost the lease without noticing cannot overwrite what the new leader does.
//!
//! Every call is async and holds no lock of the caller's: the database answers on its
//! own thread (SQLite's worker) or socket (PostgreSQL), never on a runtime thread.
//! Statements are written once for both databases (`db.rs` says how); `jobs.rs`,
//! `freezes.rs` and `lease.rs` hold them, `migrate.rs` the schema's history,
//! `sqlite.rs` and `postgres.rs` how each is opened.

mod db;
mod failure;
mod freezes;
mod jobs;
mod lease;
mod meta;
mod migrate;
mod order;
mod postgres;
mod private;
mod sqlite;
pub mod stored;
mod v1;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

pub use lease::Lease;

use crate::freeze::{Freeze, Scope};
use crate::job::{JobRecord, Person};
use crate::location::{Database, LocationError};
use crate::names::JobId;
use db::Db;
use failure::{Failure, Location};
use jobs::{Arg, Selection};
/// A store problem; `Display` is one sentence for an operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the state file {path} is in use by another running releasebot (database is locked)")]
    Locked { path: String },
    #[error(
        "the state file {path} is not a releasebot database or is damaged ({detail}); move it away to start afresh"
    )]
    Damaged { path: String, detail: String },
    #[error("cannot open the state file {path} ({detail})")]
    CannotOpen { path: String, detail: String },
    #[error("the disk holding {path} is full ({detail})")]
    DiskFull { path: String, detail: String },
    #[error("the state file {path} cannot use WAL mode (it is in {mode} mode)")]
    NoWal { path: String, mode: String },
    #[error(
        "the state file {path} was written by a newer releasebot (schema {version}); upgrade releasebot"
    )]
    Newer { path: String, version: i64 },
    #[error("the state file {path} is closed")]
    Closed { path: String },
    #[error("job {job} in {path} cannot be read ({detail})")]
    Unreadable {
        path: String,
        job: JobId,
        detail: String,
    },
    #[error("the state file {path} failed ({detail})")]
    Failed { path: String, detail: String },
    /// The database server cannot be reached (down, refused, no answer in time); the
    /// same call may work later.
    #[error("cannot reach the database {path} ({detail})")]
    Unreachable { path: String, detail: String },
    /// TLS to the database failed because its certificate is not trusted.
    #[error(
        "the database {path} showed a certificate that is not trusted ({detail}); name the authority that signed it in sslrootcert"
    )]
    Untrusted { path: String, detail: String },
    /// The store was fenced with a lease whose term is over: another replica leads, and
    /// this one must stop acting. Nothing was written.
    #[error(
        "this releasebot no longer holds the leadership lease of term {term}; another replica leads, nothing was written"
    )]
    Deposed { term: u64 },
    /// The lease of `term` expired while this replica could not renew it (the database
    /// was away) and nobody has taken it since: nothing was written, and the write can
    /// be made again once this replica has taken the lease again.
    #[error(
        "this releasebot's leadership lease of term {term} lapsed while the database was away; nothing was written"
    )]
    Lapsed { term: u64 },
}

impl StoreError {
    /// Whether the same call may work later without anyone doing anything: the
    /// database is away (down, failing over, unreachable) or the lease lapsed meanwhile.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            StoreError::Unreachable { .. } | StoreError::Lapsed { .. }
        )
    }
}

/// A `postgres://` URL that cannot be parsed, named by a placeholder and the reason.
fn unreadable(db: &Database, problem: &LocationError) -> StoreError {
    StoreError::CannotOpen {
        path: db.to_string(),
        detail: format!("not a usable PostgreSQL URL: {problem}"),
    }
}

/// What a store holds, looked at without changing anything (`releasebot check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Where (a file's path, or a URL shown from its parts: no password, no options).
    pub location: String,
    /// `SQLite` or `PostgreSQL`.
    pub kind: &'static str,
    /// Its schema version: 0 when releasebot has not created its tables yet.
    pub schema: i64,
    /// The newest schema this releasebot knows.
    pub known: i64,
    /// Who leads now (PostgreSQL only).
    pub leader: Option<Lease>,
}

/// The store. Cheap to share behind an `Arc`; every call may run alongside others.
pub struct Store {
    db: Db,
    at: Location,
    /// The term writes are fenced with; 0 while not fenced (terms start at 1).
    fenced: AtomicU64,
    /// How many audit entries of each unfinished job are stored, so a save sends only
    /// the new ones (`jobs.rs` says why a stale count is harmless).
    audited: Mutex<HashMap<JobId, usize>>,
    /// The order each job's writes were asked for in.
    turns: order::Turns,
    /// The lease this process took, on SQLite (`lease.rs`: always granted).
    granted: Mutex<Option<Lease>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.at.shown())
            .finish()
    }
}

impl Store {
    fn new(db: Db, at: Location) -> Store {
        Store {
            db,
            at,
            fenced: AtomicU64::new(0),
            audited: Mutex::new(HashMap::new()),
            turns: order::Turns::default(),
            granted: Mutex::new(None),
        }
    }

    /// Opens (or creates) the store at `path`, migrates its schema and takes the
    /// exclusive lock. Refuses a file that is locked, damaged or from a newer version.
    /// A `path` that is a `postgres://` or `postgresql://` URL opens that PostgreSQL
    /// database instead (connected and migrated, with no lock: replicas share it and
    /// take turns by the [`Lease`]).
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_at(&Self::database(path)).await
    }

    /// Opens the store `RELEASEBOT_DB` names (with its password from wherever it
    /// comes).
    pub async fn open_at(db: &Database) -> Result<Store, StoreError> {
        match db {
            Database::File(path) => {
                let at = sqlite::location(Some(path));
                let conn = db::call(sqlite::open(Some(path)))
                    .await
                    .map_err(|f| f.told(&at))?;
                Ok(Store::new(Db::sqlite(conn), at))
            }
            Database::Postgres(url) => {
                let (pool, at) = Self::connect(url, true).await?;
                Ok(Store::new(Db::Postgres(pool), at))
            }
            Database::Unreadable(problem) => Err(unreadable(db, problem)),
        }
    }

    /// A pool on the database at `url`, migrated when `migrate`.
    async fn connect(
        url: &crate::location::PgUrl,
        migrate: bool,
    ) -> Result<(sqlx::PgPool, Location), StoreError> {
        let password = url
            .password()
            .map_err(|e| Failure::CannotOpen(e.to_string()).told(&postgres::location(url, None)))?;
        let at = postgres::location(url, password.clone());
        let (hosts, timeout) =
            postgres::options(url, password.as_ref()).map_err(|f| f.told(&at))?;
        let pool = db::call(postgres::connect(hosts, timeout, migrate))
            .await
            .map_err(|f| f.told(&at))?;
        Ok((pool, at))
    }

    /// What the store at `path` (or PostgreSQL URL) holds, without creating, migrating
    /// or locking anything.
    pub async fn inspect(path: &Path) -> Result<Inspection, StoreError> {
        Self::inspect_at(&Self::database(path)).await
    }

    /// What the store `RELEASEBOT_DB` names holds, as [`inspect`](Store::inspect).
    pub async fn inspect_at(db: &Database) -> Result<Inspection, StoreError> {
        match db {
            Database::File(path) => {
                let at = sqlite::location(Some(path));
                let schema = db::call(sqlite::inspect(path))
                    .await
                    .map_err(|f| f.told(&at))?;
                Ok(Inspection {
                    location: at.shown().to_string(),
                    kind: "SQLite",
                    schema,
                    known: migrate::SQLITE_KNOWN,
                    leader: None,
                })
            }
            Database::Postgres(url) => {
                let (pool, at) = Self::connect(url, false).await?;
                let store = Store::new(Db::Postgres(pool), at);
                let schema = store.postgres_version().await?;
                let leader = match schema {
                    0 => None,
                    _ => store.leader().await?,
                };
                store.close();
                Ok(Inspection {
                    location: store.at.shown().to_string(),
                    kind: "PostgreSQL",
                    schema,
                    known: migrate::POSTGRES_KNOWN,
                    leader,
                })
            }
            Database::Unreadable(problem) => Err(unreadable(db, problem)),
        }
    }

    /// A path, or a PostgreSQL URL (with no password from elsewhere).
    fn database(path: &Path) -> Database {
        match path.to_str() {
            Some(text) => Database::parse(text),
            None => Database::File(path.to_path_buf()),
        }
    }

    /// A store that lives in memory, for tests and benchmarks.
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        let at = sqlite::location(None);
        let conn = db::call(sqlite::open(None))
            .await
            .map_err(|f| f.told(&at))?;
        Ok(Store::new(Db::sqlite(conn), at))
    }

    /// Runs one call on the database, telling its failure as a [`StoreError`].
    async fn call<T>(
        &self,
        work: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, StoreError> {
        db::call(work).await.map_err(|f| f.told(&self.at))
    }

    /// The term writes are fenced with, if any.
    pub fn fence_term(&self) -> Option<u64> {
        match self.fenced.load(Ordering::SeqCst) {
            0 => None,
            term => Some(term),
        }
    }

    /// Closes the store and, on SQLite, releases the file's lock once the calls under
    /// way are over; later calls fail.
    pub fn close(&self) {
        self.db.close();
    }

    /// Checks that the store takes a write (one that changes nothing, and so is not
    /// fenced).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.call(async {
            db::on_db!(&self.db, |c| {
                sqlx::query("UPDATE meta SET value = value WHERE key = 'schema'")
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// The id the next job gets: one more than any job ever stored. Under the lease,
    /// the leader alone saves jobs, and every write of an earlier term committed before
    /// its term began, so the id is unique across replicas as long as it is read after
    /// taking the lease.
    pub async fn next_job_id(&self) -> Result<u64, StoreError> {
        let max: Option<i64> = self
            .call(async {
                db::on_db!(&self.db, |c| {
                    Ok(sqlx::query_scalar("SELECT MAX(id) FROM jobs")
                        .fetch_one(&mut *c)
                        .await?)
                })
            })
            .await?;
        Ok(max.map_or(1, |m| m as u64 + 1))
    }

    /// Writes a job: its row (its approval and votes inside it) and the audit entries
    /// not yet stored, in one transaction.
    ///
    /// The record is taken now, and the write's place among the job's writes with it:
    /// call this while still holding whatever guards the record, release that, then
    /// await the write. Writes of one job land in the order they were asked for.
    pub fn save(
        &self,
        r: &JobRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + use<'_> {
        let record = r.clone();
        let turn = self.turns.take(r.id);
        async move {
            let mut turn = turn;
            turn.wait().await;
            let result = self.write(&record).await;
            self.turns.end(turn);
            result
        }
    }

    /// Writes a job the database did not take while it was away, once it is back:
    /// `write` makes each try (a [`Self::save`] of the job's state as it stands then),
    /// retried with back-off while the database stays away; gives up as `Deposed` once
    /// `lease` says this replica may no longer act.
    pub async fn save_when_back<W>(
        &self,
        lease: &crate::lease::LeaseClock,
        mut write: impl FnMut() -> W,
    ) -> Result<(), StoreError>
    where
        W: Future<Output = Result<(), StoreError>>,
    {
        let backoff = crate::backoff::Backoff::store();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            tokio::time::sleep(backoff.delay(attempt)).await;
            if !lease.acting().await {
                let term = self.fence_term().unwrap_or_default();
                return Err(StoreError::Deposed { term });
            }
            match write().await {
                Err(e) if e.is_outage() => {
                    tracing::debug!(error = %e, attempt, "the database is still away")
                }
                saved => return saved,
            }
        }
    }

    async fn write(&self, r: &JobRecord) -> Result<(), StoreError> {
        let skip = self
            .audited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&r.id)
            .copied()
            .unwrap_or(0);
        self.call(jobs::save(&self.db, r, self.fence_term(), skip))
            .await?;
        let mut audited = self.audited.lock().unwrap_or_else(|e| e.into_inner());
        if r.ended_ms.is_some() {
            // A finished job is not saved again in the normal course; forget it.
            audited.remove(&r.id);
        } else {
            audited.insert(r.id, r.audit.len().max(skip));
        }
        Ok(())
    }

    async fn jobs(
        &self,
        condition: &'static str,
        args: Vec<Arg>,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let selection = Selection { condition, args };
        self.call(jobs::select(&self.db, &selection)).await
    }

    /// One job.
    pub async fn load(&self, id: JobId) -> Result<Option<JobRecord>, StoreError> {
        let found = self.jobs("id = $1", vec![Arg::Int(id.0 as i64)]).await?;
        Ok(found.into_iter().next())
    }

    /// Jobs that had not ended when the bot stopped, oldest first.
    pub async fn unfinished(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs("ended_ms IS NULL ORDER BY id", Vec::new()).await
    }

    /// The latest `n` jobs of a project or app (`name` as configured), newest first.
    pub async fn history(&self, name: &str, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs(
            "project = $1 OR app = $1 ORDER BY id DESC LIMIT $2",
            vec![Arg::Text(name.to_string()), Arg::Int(n as i64)],
        )
        .await
    }

    /// The latest `n` finished jobs, newest first.
    pub async fn finished(&self, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs(
            "ended_ms IS NOT NULL ORDER BY id DESC LIMIT $1",
            vec![Arg::Int(n as i64)],
        )
        .await
    }

    /// The latest `n` deploys and releases of `app` that succeeded, newest first.
    pub async fn deployed(&self, app: &str, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs(
            "app = $1 AND state = 'succeeded' AND tag IS NOT NULL
             ORDER BY ended_ms DESC NULLS LAST, id DESC LIMIT $2",
            vec![Arg::Text(app.to_string()), Arg::Int(n as i64)],
        )
        .await
    }

    /// What the delivery figures need of the jobs of `app` that ended from `from_ms`
    /// on.
    pub async fn app_ended_since(
        &self,
        app: &str,
        from_ms: i64,
    ) -> Result<Vec<crate::job::stats::Trace>, StoreError> {
        let args = [Arg::Text(app.to_string()), Arg::Int(from_ms)];
        self.call(jobs::select_traces(
            &self.db,
            "app = $1 AND ended_ms >= $2 ORDER BY id",
            &args,
        ))
        .await
    }

    /// What the delivery figures need of the builds and releases that followed a
    /// pipeline execution and ended from `from_ms` on (the builds behind lead time).
    pub async fn builds_ended_since(
        &self,
        from_ms: i64,
    ) -> Result<Vec<crate::job::stats::Trace>, StoreError> {
        self.call(jobs::select_traces(
            &self.db,
            "kind != 'deploy' AND execution IS NOT NULL AND ended_ms >= $1 ORDER BY id",
            &[Arg::Int(from_ms)],
        ))
        .await
    }

    /// Execution ids that jobs other than `except` follow or followed.
    pub async fn claimed_executions(&self, except: JobId) -> Result<Vec<String>, StoreError> {
        self.call(async {
            db::on_db!(&self.db, |c| {
                Ok(sqlx::query_scalar(
                    "SELECT execution FROM jobs WHERE execution IS NOT NULL AND id != $1",
                )
                .bind(except.0 as i64)
                .fetch_all(&mut *c)
                .await?)
            })
        })
        .await
    }

    /// Records a freeze someone put on; its id.
    pub async fn add_freeze(&self, f: &Freeze) -> Result<i64, StoreError> {
        self.call(freezes::insert(&self.db, f, self.fence_term()))
            .await
    }

    /// Lifts the freezes (with `locks`: the locks) of `scope` that hold at `at_ms`
    /// (`all`: every one); those lifted.
    pub async fn lift_freezes(
        &self,
        scope: &Scope,
        locks: bool,
        by: &Person,
        at_ms: i64,
    ) -> Result<Vec<Freeze>, StoreError> {
        let lifting = freezes::lift(&self.db, scope, locks, by, at_ms, self.fence_term());
        self.call(lifting).await
    }

    /// The freezes that hold at `now_ms` (not lifted, not over), oldest first.
    pub async fn holding_freezes(&self, now_ms: i64) -> Result<Vec<Freeze>, StoreError> {
        self.call(freezes::select(
            &self.db,
            "lifted_ms IS NULL AND until_ms > $1 ORDER BY id",
            &[Arg::Int(now_ms)],
        ))
        .await
    }

    /// The latest `n` freezes and locks of `app` or of all apps, newest first.
    pub async fn freeze_history(&self, app: &str, n: usize) -> Result<Vec<Freeze>, StoreError> {
        self.call(freezes::select(
            &self.db,
            "scope IN ($1, 'all') ORDER BY id DESC LIMIT $2",
            &[Arg::Text(app.to_string()), Arg::Int(n as i64)],
        ))
        .await
    }

    /// Whether several replicas may share this store: then only the holder of the
    /// lease may act, and the others stand by.
    pub fn shared(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// Where the state is kept, as messages name it (a URL from its parts only).
    pub fn location(&self) -> &str {
        self.at.shown()
    }
}

#[cfg(test)]
mod tests;
