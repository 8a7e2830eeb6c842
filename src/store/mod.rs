//! The durable store: every job, its approval and votes, and the audit trail, in one
//! SQLite file or a PostgreSQL database (`RELEASEBOT_DB`: a path, or a `postgres://`
//! URL). The only module that touches the database.
//!
//! A job is written before each thing it does to the world, so a restarted bot knows
//! what was in flight and resumes it: the intent to run a pipeline is recorded before
//! the run request, the execution id as soon as it is known, the chat message ids as
//! soon as they exist. A SQLite file is opened in WAL mode with an exclusive lock held for
//! the life of the process, so a second releasebot on the same file is refused instead
//! of both acting on the same jobs. A job's details are kept in a versioned stored
//! form ([`stored`]), so a newer releasebot reads what an older one wrote.
//!
//! PostgreSQL is for replicas sharing one database: only one of them may act, the one
//! holding the leadership [`Lease`], and a store fenced with its lease's term refuses
//! every write once that term is over ([`StoreError::Deposed`]), so a replica that
//! lost the lease without noticing cannot overwrite what the new leader does.
//!
//! [`Store`] is the face the rest of the bot sees; what it asks of a database is the
//! `Backend` trait, implemented for SQLite in `sqlite.rs` and for PostgreSQL in
//! `postgres.rs`.

mod columns;
mod lease;
mod postgres;
mod sqlite;
mod stored;

use std::path::Path;
use std::time::Duration;

pub use lease::Lease;

use crate::config::location::{Database, LocationError};
use crate::freeze::{Freeze, Scope};
use crate::job::{JobRecord, Person};
use crate::names::JobId;

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
    /// The store was fenced with a lease whose term is over: another replica leads, and
    /// this one must stop acting. Nothing was written.
    #[error(
        "this releasebot no longer holds the leadership lease of term {term}; another replica leads, nothing was written"
    )]
    Deposed { term: u64 },
}

/// A `postgres://` URL that cannot be parsed, named by a placeholder and the reason.
fn unreadable(db: &Database, problem: &LocationError) -> StoreError {
    StoreError::CannotOpen {
        path: db.to_string(),
        detail: format!("not a usable PostgreSQL URL: {problem}"),
    }
}

/// What a database must do to hold the bot's state; each method is documented on
/// [`Store`], which hands every call to its backend.
trait Backend: Send + Sync {
    /// Where the state is kept, as messages name it (the file's path).
    fn location(&self) -> &str;
    /// Whether several replicas may share it (and so must lead by the lease).
    fn shared(&self) -> bool;
    fn close(&self);
    fn ping(&self) -> Result<(), StoreError>;
    fn meta(&self, key: &str, make: Box<dyn FnOnce() -> String + '_>)
    -> Result<String, StoreError>;
    fn swap_meta(&self, key: &str, from: &str, to: &str) -> Result<String, StoreError>;
    fn next_job_id(&self) -> Result<u64, StoreError>;
    fn save(&self, r: &JobRecord) -> Result<(), StoreError>;
    fn load(&self, id: JobId) -> Result<Option<JobRecord>, StoreError>;
    fn unfinished(&self) -> Result<Vec<JobRecord>, StoreError>;
    fn history(&self, name: &str, n: usize) -> Result<Vec<JobRecord>, StoreError>;
    fn finished(&self, n: usize) -> Result<Vec<JobRecord>, StoreError>;
    fn deployed(&self, app: &str, n: usize) -> Result<Vec<JobRecord>, StoreError>;
    fn claimed_executions(&self, except: JobId) -> Result<Vec<String>, StoreError>;
    fn add_freeze(&self, f: &Freeze) -> Result<i64, StoreError>;
    fn lift_freezes(
        &self,
        scope: &Scope,
        by: &Person,
        at_ms: i64,
    ) -> Result<Vec<Freeze>, StoreError>;
    fn holding_freezes(&self, now_ms: i64) -> Result<Vec<Freeze>, StoreError>;
    fn freeze_history(&self, app: &str, n: usize) -> Result<Vec<Freeze>, StoreError>;
    fn acquire_lease(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>, StoreError>;
    fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool, StoreError>;
    fn release_lease(&self, lease: &Lease) -> Result<(), StoreError>;
    fn leader(&self) -> Result<Option<Lease>, StoreError>;
    fn fence(&self, term: u64);
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

/// The store.
pub struct Store {
    backend: Box<dyn Backend>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.backend.location())
            .finish()
    }
}

impl Store {
    /// Opens (or creates) the store at `path`, migrates its schema and takes the
    /// exclusive lock. Refuses a file that is locked, damaged or from a newer version.
    /// A `path` that is a `postgres://` or `postgresql://` URL opens that PostgreSQL
    /// database instead (connected and migrated, with no lock: replicas share it and
    /// take turns by the [`Lease`]).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_at(&Self::database(path))
    }

    /// Opens the store `RELEASEBOT_DB` (with its password from wherever it comes) names.
    pub fn open_at(db: &Database) -> Result<Store, StoreError> {
        let backend: Box<dyn Backend> = match db {
            Database::File(path) => Box::new(sqlite::Sqlite::open(path)?),
            Database::Postgres(url) => Box::new(postgres::Postgres::open(url)?),
            Database::Unreadable(problem) => return Err(unreadable(db, problem)),
        };
        Ok(Store { backend })
    }

    /// What the store at `path` (or PostgreSQL URL) holds, without creating, migrating
    /// or locking anything.
    pub fn inspect(path: &Path) -> Result<Inspection, StoreError> {
        Self::inspect_at(&Self::database(path))
    }

    /// What the store `RELEASEBOT_DB` names holds, as [`inspect`](Store::inspect).
    pub fn inspect_at(db: &Database) -> Result<Inspection, StoreError> {
        match db {
            Database::File(path) => sqlite::inspect(path),
            Database::Postgres(url) => postgres::Postgres::inspect(url),
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
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Ok(Store {
            backend: Box::new(sqlite::Sqlite::open_in_memory()?),
        })
    }

    /// Closes the file and releases its lock; later calls fail.
    pub fn close(&self) {
        self.backend.close();
    }

    /// Checks that the store takes a write.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.backend.ping()
    }

    /// A value kept in the store (created by `make` the first time).
    pub fn meta(&self, key: &str, make: impl FnOnce() -> String) -> Result<String, StoreError> {
        self.backend.meta(key, Box::new(make))
    }

    /// Replaces a kept value (made by [`Store::meta`]) with `to` if it still is `from`;
    /// the value kept afterwards, so replicas changing it at once agree on one.
    pub fn swap_meta(&self, key: &str, from: &str, to: &str) -> Result<String, StoreError> {
        self.backend.swap_meta(key, from, to)
    }

    /// The id the next job gets: one more than any job ever stored.
    pub fn next_job_id(&self) -> Result<u64, StoreError> {
        self.backend.next_job_id()
    }

    /// Writes a job: its row, its approval and votes, and audit entries not yet stored.
    pub fn save(&self, r: &JobRecord) -> Result<(), StoreError> {
        self.backend.save(r)
    }

    /// One job.
    pub fn load(&self, id: JobId) -> Result<Option<JobRecord>, StoreError> {
        self.backend.load(id)
    }

    /// Jobs that had not ended when the bot stopped, oldest first.
    pub fn unfinished(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.backend.unfinished()
    }

    /// The latest `n` jobs of a project or app (`name` as configured), newest first.
    pub fn history(&self, name: &str, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.backend.history(name, n)
    }

    /// The latest `n` finished jobs, newest first.
    pub fn finished(&self, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.backend.finished(n)
    }

    /// The latest `n` deploys and releases of `app` that succeeded, newest first.
    pub fn deployed(&self, app: &str, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.backend.deployed(app, n)
    }

    /// Execution ids that jobs other than `except` follow or followed.
    pub fn claimed_executions(&self, except: JobId) -> Result<Vec<String>, StoreError> {
        self.backend.claimed_executions(except)
    }

    /// Records a freeze someone put on; its id.
    pub fn add_freeze(&self, f: &Freeze) -> Result<i64, StoreError> {
        self.backend.add_freeze(f)
    }

    /// Lifts the freezes of `scope` that hold at `at_ms` (`all`: every freeze); those
    /// lifted.
    pub fn lift_freezes(
        &self,
        scope: &Scope,
        by: &Person,
        at_ms: i64,
    ) -> Result<Vec<Freeze>, StoreError> {
        self.backend.lift_freezes(scope, by, at_ms)
    }

    /// The freezes that hold at `now_ms` (not lifted, not over), oldest first.
    pub fn holding_freezes(&self, now_ms: i64) -> Result<Vec<Freeze>, StoreError> {
        self.backend.holding_freezes(now_ms)
    }

    /// The latest `n` freezes of `app` or of all apps, newest first.
    pub fn freeze_history(&self, app: &str, n: usize) -> Result<Vec<Freeze>, StoreError> {
        self.backend.freeze_history(app, n)
    }

    /// Takes the leadership lease for `holder` (unique to this process) if nobody holds
    /// it or its holder let it expire, for `ttl` by the database's clock, with a term
    /// one higher than the last; `None` while it is held (by this holder too: a held
    /// lease is renewed, not taken again). The store is fenced with the new term (see
    /// [`fence`](Store::fence)). On SQLite, whose file lock already keeps other
    /// processes out, the lease is always granted with term 1.
    pub fn acquire_lease(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        let lease = self.backend.acquire_lease(holder, ttl)?;
        if let Some(l) = &lease {
            self.backend.fence(l.term);
        }
        Ok(lease)
    }

    /// Extends `lease` to `ttl` from now (the database's now); `false` if it was lost
    /// (expired, or taken by another), and then it cannot be renewed again.
    pub fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool, StoreError> {
        self.backend.renew_lease(lease, ttl)
    }

    /// Hands the lease over at once (it expires now), for a graceful stop; a lease
    /// already lost is left alone. The store stays fenced, so it writes no more.
    pub fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        self.backend.release_lease(lease)
    }

    /// Who holds the lease now (unexpired by the database's clock), for `/readyz` and
    /// `check`.
    pub fn leader(&self) -> Result<Option<Lease>, StoreError> {
        self.backend.leader()
    }

    /// From now on, every write (a job, a freeze, a new `meta` value) checks, in its own
    /// transaction, that the lease still has `term` and is unexpired by the database's
    /// clock, and otherwise fails with [`StoreError::Deposed`] and changes nothing.
    /// [`acquire_lease`](Store::acquire_lease) fences with the term it got. Reads are
    /// never fenced. On SQLite fencing changes nothing: the file lock already keeps
    /// every other writer out.
    /// Whether several replicas may share this store: then only the holder of the
    /// lease may act, and the others stand by.
    pub fn shared(&self) -> bool {
        self.backend.shared()
    }

    /// Where the state is kept, as messages name it (a URL from its parts only).
    pub fn location(&self) -> &str {
        self.backend.location()
    }

    pub fn fence(&self, term: u64) {
        self.backend.fence(term);
    }
}

#[cfg(test)]
mod tests;
