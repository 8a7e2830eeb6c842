//! What can go wrong on the database thread, told as [`StoreError`]s by the caller,
//! and the database's name as messages and logs show it: the URL from its parts
//! ([`PgUrl`](crate::config::location::PgUrl)'s display), so no error, log line or
//! `Debug` ever carries its password.

use tokio_postgres::error::SqlState;

use crate::names::JobId;
use crate::secret::Secret;
use crate::store::StoreError;

/// The database as it is shown, and the password to keep out of every message.
#[derive(Debug, Clone)]
pub(in crate::store) struct Location {
    shown: String,
    password: Option<Secret>,
}

impl Location {
    /// `shown` is the database as messages name it, never the URL as given.
    pub(in crate::store) fn new(shown: String, password: Option<Secret>) -> Location {
        Location { shown, password }
    }

    pub(super) fn shown(&self) -> &str {
        &self.shown
    }

    /// `text` with the password replaced wherever it appears, for a driver's message.
    pub(super) fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(p) => p.scrub(text),
            None => text.to_string(),
        }
    }
}

/// A failure on the database thread, before it is told with the database's name.
#[derive(Debug)]
pub(super) enum Failure {
    Sql(tokio_postgres::Error),
    /// The fenced term is over.
    Deposed(u64),
    /// The schema is newer than this build knows.
    Newer(i64),
    /// The database holds something that is not releasebot's.
    Damaged(String),
    Unreadable(JobId, String),
    /// The database answered nothing in time, or the connection is gone.
    Unreachable(String),
    /// The database cannot be used as configured (a bad URL, TLS asked for).
    CannotOpen(String),
    /// A row holds a value this build cannot read.
    Bad(String),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Sql(e)
    }
}

impl Failure {
    /// The store problem an operator can act on, by the database's error code.
    pub(super) fn told(self, at: &Location) -> StoreError {
        let path = at.shown().to_string();
        match self {
            Failure::Sql(e) => sql_error(path, at, &e),
            Failure::Deposed(term) => StoreError::Deposed { term },
            Failure::Newer(version) => StoreError::Newer { path, version },
            Failure::Damaged(detail) => StoreError::Damaged {
                path,
                detail: at.scrub(&detail),
            },
            Failure::Unreadable(job, detail) => StoreError::Unreadable {
                path,
                job,
                detail: at.scrub(&detail),
            },
            Failure::Unreachable(detail) => StoreError::Unreachable {
                path,
                detail: at.scrub(&detail),
            },
            Failure::CannotOpen(detail) => StoreError::CannotOpen {
                path,
                detail: at.scrub(&detail),
            },
            Failure::Bad(detail) => StoreError::Failed {
                path,
                detail: at.scrub(&detail),
            },
        }
    }

    /// Whether the connection should be dropped and made anew before the next call.
    pub(super) fn breaks_connection(&self) -> bool {
        match self {
            Failure::Sql(e) => e.is_closed() || e.as_db_error().is_none() && io_cause(e),
            Failure::Unreachable(_) => true,
            _ => false,
        }
    }
}

fn sql_error(path: String, at: &Location, e: &tokio_postgres::Error) -> StoreError {
    let detail = at.scrub(&match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => with_causes(e),
    });
    let Some(code) = e.code() else {
        return if e.is_closed() || io_cause(e) {
            StoreError::Unreachable { path, detail }
        } else {
            StoreError::Failed { path, detail }
        };
    };
    if *code == SqlState::DISK_FULL {
        StoreError::DiskFull { path, detail }
    } else if [
        SqlState::INVALID_PASSWORD,
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
        SqlState::INVALID_CATALOG_NAME,
        SqlState::INSUFFICIENT_PRIVILEGE,
        SqlState::READ_ONLY_SQL_TRANSACTION,
    ]
    .contains(code)
    {
        StoreError::CannotOpen { path, detail }
    } else if code.code().starts_with("08")
        || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
        ]
        .contains(code)
    {
        StoreError::Unreachable { path, detail }
    } else {
        StoreError::Failed { path, detail }
    }
}

/// The driver's message and what caused it ("error connecting to server" says
/// little without "Connection refused").
fn with_causes(e: &tokio_postgres::Error) -> String {
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

/// Whether the driver's error came from the network.
fn io_cause(e: &tokio_postgres::Error) -> bool {
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drivers_message_loses_the_password() {
        let at = Location::new(
            "postgres://bot@db:5432/rb".into(),
            Some(Secret::new("s3cret-failure")),
        );
        assert_eq!(at.shown(), "postgres://bot@db:5432/rb");
        assert_eq!(
            at.scrub("password s3cret-failure was refused"),
            "password [redacted] was refused"
        );
        assert!(!format!("{at:?}").contains("s3cret"));
    }
}
