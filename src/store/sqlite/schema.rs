//! The schema and its migrations, applied in order on open (`PRAGMA user_version`).

use rusqlite::Connection;

pub(super) enum MigrateError {
    Sql(rusqlite::Error),
    /// The file has a schema newer than this build knows.
    Newer(i64),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sql(e)
    }
}

/// Each migration takes the schema from its index to the next version.
const MIGRATIONS: [&str; 4] = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     INSERT INTO meta (key, value) VALUES ('schema', '1');
     CREATE TABLE jobs (
         id INTEGER PRIMARY KEY,
         kind TEXT NOT NULL,
         state TEXT NOT NULL,
         requester_id TEXT NOT NULL,
         requester TEXT NOT NULL,
         channel TEXT NOT NULL,
         project TEXT,
         branch TEXT,
         app TEXT,
         tag TEXT,
         execution TEXT,
         created_ms INTEGER NOT NULL,
         updated_ms INTEGER NOT NULL,
         ended_ms INTEGER,
         thread_channel TEXT,
         thread_id TEXT,
         summary_message TEXT,
         progress_message TEXT,
         approval_message TEXT,
         details TEXT NOT NULL
     );
     CREATE INDEX jobs_unfinished ON jobs (id) WHERE ended_ms IS NULL;
     CREATE INDEX jobs_project ON jobs (project, id);
     CREATE INDEX jobs_app ON jobs (app, id);
     CREATE TABLE approvals (
         job_id INTEGER PRIMARY KEY REFERENCES jobs (id),
         app TEXT NOT NULL,
         tag TEXT NOT NULL,
         image TEXT,
         requester_id TEXT NOT NULL,
         requester TEXT NOT NULL,
         policy TEXT NOT NULL,
         requested_ms INTEGER NOT NULL,
         deadline_ms INTEGER NOT NULL,
         status TEXT NOT NULL,
         decided_by TEXT,
         decided_ms INTEGER
     );
     CREATE TABLE votes (
         job_id INTEGER NOT NULL REFERENCES jobs (id),
         user_id TEXT NOT NULL,
         name TEXT NOT NULL,
         at_ms INTEGER NOT NULL,
         PRIMARY KEY (job_id, user_id)
     );
     CREATE TABLE audit (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         job_id INTEGER NOT NULL REFERENCES jobs (id),
         at_ms INTEGER NOT NULL,
         actor TEXT,
         action TEXT NOT NULL,
         detail TEXT NOT NULL
     );
     CREATE INDEX audit_job ON audit (job_id, id);",
    // Version 2: the job's details carry a versioned stored form (`stored.rs`); the
    // approval remembers the tag that was live when it was asked for.
    "ALTER TABLE approvals ADD COLUMN from_tag TEXT;
     UPDATE meta SET value = '2' WHERE key = 'schema';",
    // How each vote was given: a vote given by reacting is taken back by removing the
    // reaction, even while releasebot was away. Older votes read as not by reaction.
    "ALTER TABLE votes ADD COLUMN via TEXT;
     UPDATE meta SET value = '3' WHERE key = 'schema';",
    // Freezes people put on (`/freeze`), kept once lifted for the history.
    "CREATE TABLE freezes (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         scope TEXT NOT NULL,
         by_id TEXT NOT NULL,
         by_name TEXT NOT NULL,
         reason TEXT NOT NULL,
         at_ms INTEGER NOT NULL,
         until_ms INTEGER NOT NULL,
         lifted_by_id TEXT,
         lifted_by_name TEXT,
         lifted_ms INTEGER
     );
     CREATE INDEX freezes_until ON freezes (until_ms);
     CREATE INDEX freezes_scope ON freezes (scope, id);
     UPDATE meta SET value = '4' WHERE key = 'schema';",
];

pub(super) fn migrate(conn: &Connection) -> Result<(), MigrateError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(MigrateError::Newer(version));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The newest schema this releasebot knows.
pub(super) fn known() -> i64 {
    MIGRATIONS.len() as i64
}
