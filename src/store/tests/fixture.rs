//! Fresh databases for the tests: a SQLite file under the temp dir, or a PostgreSQL
//! database created on the server `RELEASEBOT_TEST_POSTGRES_URL` names; each removed
//! when dropped.

use std::path::PathBuf;

use crate::store::Store;

/// The variable naming the PostgreSQL server the tests may create databases on.
const SERVER: &str = "RELEASEBOT_TEST_POSTGRES_URL";

pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "releasebot-store-{name}-{}-{}.db",
        std::process::id(),
        fastrand::u64(..)
    ))
}

/// An empty database of one backend, for the stores a test opens on it.
pub enum Fresh {
    Sqlite(PathBuf),
    Postgres(Database),
}

impl Fresh {
    pub fn sqlite() -> Fresh {
        Fresh::Sqlite(temp_path("fresh"))
    }

    /// A new database on the configured server; `None` (and a line saying the test was
    /// skipped) when no server is configured.
    pub fn postgres() -> Option<Fresh> {
        match std::env::var(SERVER).ok().filter(|u| !u.trim().is_empty()) {
            Some(server) => Some(Fresh::Postgres(Database::create(&server))),
            None => {
                eprintln!("skipped on PostgreSQL: {SERVER} is not set");
                None
            }
        }
    }

    /// What `Store::open` is given: the file's path or the database's URL.
    pub fn location(&self) -> PathBuf {
        match self {
            Fresh::Sqlite(path) => path.clone(),
            Fresh::Postgres(db) => PathBuf::from(&db.url),
        }
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.location())
            .await
            .expect("the store opens")
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        if let Fresh::Sqlite(path) = self {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

/// A database of its own on the test server, dropped with it.
pub struct Database {
    server: String,
    name: String,
    pub url: String,
}

impl Database {
    fn create(server: &str) -> Database {
        let name = format!("releasebot_test_{:016x}", fastrand::u64(..));
        run(server, &format!("CREATE DATABASE {name}")).unwrap_or_else(|e| panic!("{e}"));
        Database {
            server: server.to_string(),
            url: with_database(server, &name),
            name,
        }
    }

    /// Runs `sql` on this database, as a person with `psql` would.
    pub fn execute(&self, sql: &str) {
        run(&self.url, sql).unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = run(&self.server, &drop) {
            eprintln!("the test database {} is left behind: {e}", self.name);
        }
    }
}

/// `url` naming the database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let query = tail
        .split_once('?')
        .map_or(String::new(), |(_, q)| format!("?{q}"));
    format!("{scheme}://{authority}/{name}{query}")
}

/// Why a statement on the test server failed.
#[derive(Debug, thiserror::Error)]
enum SqlError {
    #[error("cannot start a runtime for the statement: {0}")]
    Runtime(std::io::Error),
    #[error("cannot connect to the test server: {0}")]
    Connect(sqlx::Error),
    #[error("{sql}: {error}")]
    Statement { sql: String, error: sqlx::Error },
    #[error("the statement's thread panicked")]
    Panicked,
}

/// Runs `sql` on its own thread and runtime, so it works from a test's runtime too
/// (and from a synchronous `Drop`).
fn run(url: &str, sql: &str) -> Result<(), SqlError> {
    use sqlx::{ConnectOptions, Connection, Executor};
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SqlError::Runtime)?;
        rt.block_on(async {
            let options: sqlx::postgres::PgConnectOptions =
                url.parse().map_err(SqlError::Connect)?;
            let mut c = options
                .disable_statement_logging()
                .connect()
                .await
                .map_err(SqlError::Connect)?;
            let done = c.execute(sqlx::raw_sql(&sql)).await;
            let _ = c.close().await;
            done.map(|_| ())
                .map_err(|error| SqlError::Statement { sql, error })
        })
    })
    .join()
    .map_err(|_| SqlError::Panicked)?
}
