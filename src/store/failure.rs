//! What can go wrong inside a store call, told as a [`StoreError`] once the call is
//! over, and the database's name as messages and logs show it: a file's path, or a
//! URL from its parts ([`PgUrl`](crate::location::PgUrl)'s display), so no
//! error, log line or `Debug` ever carries the password.

use sqlx::migrate::MigrateError;

use super::StoreError;
use crate::names::JobId;
use crate::secret::Secret;

/// Which database answered: their error codes are spelled differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Sqlite,
    Postgres,
}

/// The database as it is shown, and the password to keep out of every message.
#[derive(Debug, Clone)]
pub(super) struct Location {
    shown: String,
    password: Option<Secret>,
    kind: Kind,
}

impl Location {
    /// `shown` is the database as messages name it, never the URL as given.
    pub(super) fn new(shown: String, password: Option<Secret>, kind: Kind) -> Location {
        Location {
            shown,
            password,
            kind,
        }
    }

    pub(super) fn shown(&self) -> &str {
        &self.shown
    }

    /// `text` with the password replaced wherever it appears, for a driver's message.
    pub(super) fn scrub(&self, text: &str) -> String {
        let text = match &self.password {
            Some(p) => p.scrub(text),
            None => text.to_string(),
        };
        crate::redact::text(&text)
    }
}

/// A failure inside a store call, before it is told with the database's name.
#[derive(Debug)]
pub(super) enum Failure {
    Sql(sqlx::Error),
    Migrate(MigrateError),
    /// The fenced term is over.
    Deposed(u64),
    /// The fenced term's lease expired, and nobody took it since.
    Lapsed(u64),
    /// The schema is newer than this build knows.
    Newer(i64),
    /// The database holds something that is not releasebot's, or is damaged.
    Damaged(String),
    Unreadable(JobId, String),
    /// No answer in time.
    Unreachable(String),
    /// The database cannot be used as configured (a bad URL option, no WAL).
    CannotOpen(String),
    NoWal(String),
    /// A row holds a value this build cannot read.
    Bad(String),
    Closed,
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Sql(e)
    }
}

impl From<MigrateError> for Failure {
    fn from(e: MigrateError) -> Self {
        Failure::Migrate(e)
    }
}

impl Failure {
    /// The store problem an operator can act on.
    pub(super) fn told(self, at: &Location) -> StoreError {
        let path = at.shown().to_string();
        let scrub = |detail: &str| at.scrub(detail);
        match self {
            Failure::Sql(e) => sql_error(path, at, &e),
            Failure::Migrate(e) => migrate_error(path, at, e),
            Failure::Deposed(term) => StoreError::Deposed { term },
            Failure::Lapsed(term) => StoreError::Lapsed { term },
            Failure::Newer(version) => StoreError::Newer { path, version },
            Failure::Damaged(detail) => StoreError::Damaged {
                path,
                detail: scrub(&detail),
            },
            Failure::Unreadable(job, detail) => StoreError::Unreadable {
                path,
                job,
                detail: scrub(&detail),
            },
            Failure::Unreachable(detail) => StoreError::Unreachable {
                path,
                detail: scrub(&detail),
            },
            Failure::CannotOpen(detail) => StoreError::CannotOpen {
                path,
                detail: scrub(&detail),
            },
            Failure::NoWal(mode) => StoreError::NoWal { path, mode },
            Failure::Bad(detail) => StoreError::Failed {
                path,
                detail: scrub(&detail),
            },
            Failure::Closed => StoreError::Closed { path },
        }
    }
}

fn migrate_error(path: String, at: &Location, e: MigrateError) -> StoreError {
    match e {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => {
            match e.as_database_error().and_then(|d| d.code()).as_deref() {
                // A table releasebot creates already exists: someone else's.
                Some("42P07") => StoreError::Damaged {
                    path,
                    detail: format!(
                        "it already holds tables of another program ({})",
                        at.scrub(&e.to_string())
                    ),
                },
                _ => sql_error(path, at, &e),
            }
        }
        MigrateError::VersionMissing(version) => StoreError::Newer {
            path,
            version: version.max(0),
        },
        other => StoreError::Damaged {
            path,
            detail: at.scrub(&other.to_string()),
        },
    }
}

/// The store problem an operator can act on, by the database's error code.
fn sql_error(path: String, at: &Location, e: &sqlx::Error) -> StoreError {
    let detail = at.scrub(&with_causes(e));
    match e {
        sqlx::Error::Database(db) => {
            let detail = at.scrub(db.message());
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            match at.kind {
                Kind::Sqlite => sqlite_error(path, &code, detail),
                Kind::Postgres => postgres_error(path, &code, detail),
            }
        }
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => StoreError::Closed { path },
        sqlx::Error::PoolTimedOut => StoreError::Unreachable {
            path,
            detail: "no connection could be made in time".into(),
        },
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) if untrusted(&detail) => {
            StoreError::Untrusted { path, detail }
        }
        // A connection cut in the middle of the protocol (a server going away, a link
        // lost during a failover) shows as a broken exchange.
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) if at.kind == Kind::Postgres => {
            StoreError::Unreachable { path, detail }
        }
        sqlx::Error::Tls(_) | sqlx::Error::Configuration(_) | sqlx::Error::Io(_) => {
            StoreError::CannotOpen { path, detail }
        }
        _ => StoreError::Failed { path, detail },
    }
}

/// Whether TLS failed because the server's certificate was not trusted (by the roots,
/// by `sslrootcert`, or for the host name).
fn untrusted(detail: &str) -> bool {
    detail.contains("invalid peer certificate")
}

/// SQLite's result codes (the primary code, the low byte of the extended one).
fn sqlite_error(path: String, code: &str, detail: String) -> StoreError {
    match code.parse::<i64>().map(|c| c & 0xff) {
        // SQLITE_BUSY, SQLITE_LOCKED
        Ok(5 | 6) => StoreError::Locked { path },
        // SQLITE_CORRUPT, SQLITE_NOTADB
        Ok(11 | 26) => StoreError::Damaged { path, detail },
        // SQLITE_PERM, SQLITE_READONLY, SQLITE_CANTOPEN
        Ok(3 | 8 | 14) => StoreError::CannotOpen { path, detail },
        // SQLITE_FULL
        Ok(13) => StoreError::DiskFull { path, detail },
        _ => StoreError::Failed { path, detail },
    }
}

/// PostgreSQL's SQLSTATE codes.
fn postgres_error(path: String, code: &str, detail: String) -> StoreError {
    match code {
        "53100" => StoreError::DiskFull { path, detail },
        "28P01" | "28000" | "3D000" | "42501" | "25006" => StoreError::CannotOpen { path, detail },
        "57P01" | "57P02" | "57P03" | "53300" => StoreError::Unreachable { path, detail },
        c if c.starts_with("08") => StoreError::Unreachable { path, detail },
        _ => StoreError::Failed { path, detail },
    }
}

/// The driver's message and what caused it ("error communicating with database" says
/// little without "Connection refused").
fn with_causes(e: &sqlx::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drivers_message_loses_the_password() {
        let at = Location::new(
            "postgres://bot@db:5432/rb".into(),
            Some(Secret::new("s3cret-failure")),
            Kind::Postgres,
        );
        assert_eq!(at.shown(), "postgres://bot@db:5432/rb");
        assert_eq!(
            at.scrub("password s3cret-failure was refused"),
            "password [redacted] was refused"
        );
        assert!(!format!("{at:?}").contains("s3cret"));
    }

    #[test]
    fn sqlite_codes_are_told_by_their_primary_code() {
        let told = |code: &str| sqlite_error("f".into(), code, "d".into());
        // SQLITE_BUSY_SNAPSHOT (517) is busy.
        assert_eq!(told("517"), StoreError::Locked { path: "f".into() });
        assert!(matches!(told("26"), StoreError::Damaged { .. }));
        assert!(matches!(told("13"), StoreError::DiskFull { .. }));
        assert!(matches!(told("1"), StoreError::Failed { .. }));
    }
}
