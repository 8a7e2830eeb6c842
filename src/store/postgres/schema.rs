//! The PostgreSQL schema and its migrations, applied in order when a store opens. The
//! version is the `schema` row of `meta` (PostgreSQL's schema has versions of its own,
//! starting at 1, apart from the SQLite file's). Replicas starting together take turns
//! by an advisory lock held for the migration's transaction, and every migration is
//! transactional, so a half-applied schema is never seen.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::failure::Failure;

/// The advisory lock key the migrations hold ("rbot" in ASCII).
const MIGRATION_LOCK: i64 = 0x7262_6f74;

/// Each migration takes the schema from its index to the next version.
const MIGRATIONS: [&str; 1] = [
    // The same tables as SQLite's schema 4, and the leadership lease: one row, never
    // held to begin with (term 0, expired since ever).
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE jobs (
         id BIGINT PRIMARY KEY,
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
         created_ms BIGINT NOT NULL,
         updated_ms BIGINT NOT NULL,
         ended_ms BIGINT,
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
         job_id BIGINT PRIMARY KEY REFERENCES jobs (id),
         app TEXT NOT NULL,
         tag TEXT NOT NULL,
         image TEXT,
         requester_id TEXT NOT NULL,
         requester TEXT NOT NULL,
         policy TEXT NOT NULL,
         requested_ms BIGINT NOT NULL,
         deadline_ms BIGINT NOT NULL,
         status TEXT NOT NULL,
         decided_by TEXT,
         decided_ms BIGINT,
         from_tag TEXT
     );
     CREATE TABLE votes (
         job_id BIGINT NOT NULL REFERENCES jobs (id),
         seq BIGINT NOT NULL,
         user_id TEXT NOT NULL,
         name TEXT NOT NULL,
         at_ms BIGINT NOT NULL,
         via TEXT,
         PRIMARY KEY (job_id, user_id)
     );
     CREATE TABLE audit (
         job_id BIGINT NOT NULL REFERENCES jobs (id),
         seq BIGINT NOT NULL,
         at_ms BIGINT NOT NULL,
         actor TEXT,
         action TEXT NOT NULL,
         detail TEXT NOT NULL,
         PRIMARY KEY (job_id, seq)
     );
     CREATE TABLE freezes (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         scope TEXT NOT NULL,
         by_id TEXT NOT NULL,
         by_name TEXT NOT NULL,
         reason TEXT NOT NULL,
         at_ms BIGINT NOT NULL,
         until_ms BIGINT NOT NULL,
         lifted_by_id TEXT,
         lifted_by_name TEXT,
         lifted_ms BIGINT
     );
     CREATE INDEX freezes_until ON freezes (until_ms);
     CREATE INDEX freezes_scope ON freezes (scope, id);
     CREATE TABLE lease (
         name TEXT PRIMARY KEY,
         holder TEXT NOT NULL,
         term BIGINT NOT NULL,
         expires_at TIMESTAMPTZ NOT NULL
     );
     INSERT INTO lease (name, holder, term, expires_at) VALUES ('leader', '', 0, '-infinity');",
];

/// Brings the schema up to this build's version; refuses a newer one.
pub(super) async fn migrate(client: &mut Client) -> Result<(), Failure> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let version = version(&tx).await?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(Failure::Newer(version));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.batch_execute(sql).await.map_err(foreign)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&(i as i64 + 1).to_string()],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The schema's version and the newest this releasebot knows, read without changing
/// anything (`releasebot check`).
pub(super) async fn versions(client: &mut Client) -> Result<(i64, i64), Failure> {
    let tx = client.transaction().await?;
    let found = version(&tx).await?;
    tx.rollback().await?;
    Ok((found, MIGRATIONS.len() as i64))
}

/// The schema's version: 0 for a database without releasebot's tables.
async fn version(tx: &tokio_postgres::Transaction<'_>) -> Result<i64, Failure> {
    let has_meta: bool = tx
        .query_one("SELECT to_regclass('meta') IS NOT NULL", &[])
        .await?
        .get(0);
    if !has_meta {
        return Ok(0);
    }
    let value: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = 'schema'", &[])
        .await?
        .map(|r| r.get(0));
    let value = value.ok_or_else(|| Failure::Damaged("its meta table has no schema".into()))?;
    value
        .parse()
        .map_err(|_| Failure::Damaged(format!("its schema version is {value:?}")))
}

/// A table that already exists where releasebot creates its own: the database holds
/// something else.
fn foreign(e: tokio_postgres::Error) -> Failure {
    match e.code() {
        Some(code) if *code == SqlState::DUPLICATE_TABLE => Failure::Damaged(format!(
            "it already holds tables of another program ({})",
            e.as_db_error()
                .map_or(String::new(), |d| d.message().to_string())
        )),
        _ => Failure::Sql(e),
    }
}
