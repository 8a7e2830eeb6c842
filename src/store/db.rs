//! The connection a store talks through, and how each statement reaches it once for
//! both databases.
//!
//! Statements are written once, with PostgreSQL's `$1` placeholders, which SQLite reads
//! as the same numbered parameters. [`on_db!`] runs one body of code against whichever
//! connection the store has: the body is expanded for each driver (sqlx's SQLite and
//! PostgreSQL connections), so it is written once and type-checked for both. sqlx's
//! `Any` driver would do the same at run time, but it builds its connections from a
//! URL's text, which would then hold the password; and it converts every row.
//!
//! Where the two databases truly differ, [`Dialect`] says how: fencing by the lease and
//! a read snapshot exist on PostgreSQL only (a SQLite file has one writer, this
//! process). The schema's history differs too (`migrate.rs`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool, SqliteConnection};

use super::failure::Failure;

/// How long one call (a transaction, or waiting for a connection) may wait for the
/// database before it is told unreachable: long enough for a busy server, short enough
/// that a leader notices an outage well within its lease.
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite file's one connection (it holds the file's exclusive lock), or a pool of
/// connections to PostgreSQL.
pub(super) enum Db {
    /// `None` once closed. In-flight calls keep their `Arc`, so closing never waits.
    Sqlite(std::sync::Mutex<Option<Arc<tokio::sync::Mutex<SqliteConnection>>>>),
    Postgres(PgPool),
}

impl Db {
    pub(super) fn sqlite(conn: SqliteConnection) -> Db {
        Db::Sqlite(std::sync::Mutex::new(Some(Arc::new(
            tokio::sync::Mutex::new(conn),
        ))))
    }

    /// The SQLite connection, unless the store was closed.
    pub(super) fn sqlite_conn(
        slot: &std::sync::Mutex<Option<Arc<tokio::sync::Mutex<SqliteConnection>>>>,
    ) -> Result<Arc<tokio::sync::Mutex<SqliteConnection>>, Failure> {
        slot.lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(Failure::Closed)
    }

    /// Later calls fail as closed; the SQLite file's lock goes with its connection, once
    /// calls under way are over.
    pub(super) fn close(&self) {
        match self {
            Db::Sqlite(slot) => {
                slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            }
            Db::Postgres(pool) => {
                // Marks the pool closed at once; its idle connections close in the
                // background when there is a runtime to do it.
                drop(pool.close());
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    let pool = pool.clone();
                    rt.spawn(async move { pool.close().await });
                }
            }
        }
    }
}

/// Runs `$body` with `$c` bound to the store's connection (`&mut SqliteConnection` or
/// `&mut PgConnection`); `$body` is an expression of type `Result<T, Failure>`.
macro_rules! on_db {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::store::db::Db::Sqlite(slot) => {
                let conn = $crate::store::db::Db::sqlite_conn(slot)?;
                let mut guard = conn.lock().await;
                let $c: &mut sqlx::SqliteConnection = &mut guard;
                let out: Result<_, $crate::store::failure::Failure> = $body;
                out
            }
            $crate::store::db::Db::Postgres(pool) => {
                let mut pooled = pool.acquire().await?;
                let $c: &mut sqlx::PgConnection = &mut pooled;
                let out: Result<_, $crate::store::failure::Failure> = $body;
                out
            }
        }
    };
}
pub(super) use on_db;

/// What only one of the databases has, for the bodies [`on_db!`] runs.
pub(super) trait Dialect: Connection {
    /// For a fenced store (`Some(term)`), fails the transaction unless the lease still
    /// has `term` and is unexpired, and keeps the lease row locked until it ends.
    fn check_fence(
        &mut self,
        fence: Option<u64>,
    ) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Makes the transaction just begun read one snapshot of the database.
    fn snapshot(&mut self) -> impl Future<Output = Result<(), Failure>> + Send;
}

impl Dialect for SqliteConnection {
    /// Nothing to check: the file's exclusive lock keeps every other writer out.
    async fn check_fence(&mut self, _fence: Option<u64>) -> Result<(), Failure> {
        Ok(())
    }

    /// A SQLite transaction reads one snapshot already.
    async fn snapshot(&mut self) -> Result<(), Failure> {
        Ok(())
    }
}

impl Dialect for PgConnection {
    async fn check_fence(&mut self, fence: Option<u64>) -> Result<(), Failure> {
        super::lease::postgres_lease::check(self, fence).await
    }

    async fn snapshot(&mut self) -> Result<(), Failure> {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(self)
            .await?;
        Ok(())
    }
}

/// Runs one store call: within [`CALL_TIMEOUT`], and without letting a paused test
/// clock jump while the database answers.
pub(super) async fn call<T>(work: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    let _hold = ClockHold::new();
    match tokio::time::timeout(CALL_TIMEOUT, work).await {
        Ok(result) => result,
        Err(_) => Err(Failure::Unreachable(format!(
            "no answer within {} seconds",
            CALL_TIMEOUT.as_secs()
        ))),
    }
}

/// Keeps tokio from advancing a paused clock while a store call waits on the database.
///
/// The database answers from another thread (SQLite's worker, PostgreSQL's socket),
/// and tokio advances a paused clock to the next timer whenever its runtime has
/// nothing to run, so in a test every write would let deadlines pass. tokio does not
/// advance it while blocking work runs, so on a current-thread runtime (the only kind a
/// clock can be paused on) the call holds a blocking task that waits for it to end. A
/// multi-thread runtime, as the bot runs on, pays nothing.
struct ClockHold(Option<std::sync::mpsc::Sender<()>>);

impl ClockHold {
    fn new() -> ClockHold {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return ClockHold(None);
        };
        if rt.runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread {
            return ClockHold(None);
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // Ends when the sender is dropped.
        drop(rt.spawn_blocking(move || {
            let _ = rx.recv();
        }));
        ClockHold(Some(tx))
    }
}

impl Drop for ClockHold {
    fn drop(&mut self) {
        self.0.take();
    }
}
