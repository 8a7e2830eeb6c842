//! Opening the SQLite file: created owner-only (`private.rs`), in WAL mode with an
//! exclusive lock held for the life of the process, checked, migrated, and locked at
//! once, so a second releasebot on the same file is refused at its start rather than in
//! the middle of a job.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use super::failure::{Failure, Kind, Location};

/// How long a statement waits for the file's lock (another process holding it).
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// The file at `path` (or a database in memory, for `None`), opened, checked and
/// migrated, its lock taken.
pub(super) async fn open(path: Option<&Path>) -> Result<SqliteConnection, Failure> {
    let options = match path {
        Some(path) => {
            super::private::make_private(path);
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
        }
        None => SqliteConnectOptions::from_str("sqlite::memory:")?,
    };
    let options = options
        .busy_timeout(BUSY_TIMEOUT)
        // The exclusive lock is taken by the first write below and kept until exit.
        .locking_mode(SqliteLockingMode::Exclusive)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .disable_statement_logging();
    let mut conn = options.connect().await?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await?;
    if path.is_some() && !mode.eq_ignore_ascii_case("wal") {
        return Err(Failure::NoWal(mode));
    }
    let check: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&mut conn)
        .await?;
    if check != "ok" {
        return Err(Failure::Damaged(check));
    }
    super::migrate::sqlite(&mut conn).await?;
    // Take the lock now: a second process fails here, not in the middle of a job.
    sqlx::query("UPDATE meta SET value = value WHERE key = 'schema'")
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// The schema version of the file at `path`, read without changing anything (a missing
/// file is schema 0: it is created at the first start).
pub(super) async fn inspect(path: &Path) -> Result<i64, Failure> {
    if !path.exists() {
        return Ok(0);
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .disable_statement_logging()
        .connect()
        .await?;
    let version = super::migrate::sqlite_version(&mut conn).await;
    let _ = conn.close().await;
    version
}

/// Where the file is, as messages name it.
pub(super) fn location(path: Option<&Path>) -> Location {
    let shown = path.map_or(":memory:".to_string(), |p| p.display().to_string());
    Location::new(shown, None, Kind::Sqlite)
}
