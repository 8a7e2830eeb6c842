//! The schema's history, applied by sqlx's migrator: the SQL files under
//! `migrations/`, one list per database, since the two histories differ (PostgreSQL
//! came in at SQLite's fourth schema).
//!
//! Before sqlx kept the history (its `_sqlx_migrations` table), releasebot kept the
//! version itself: SQLite's `PRAGMA user_version`, PostgreSQL's `schema` row of `meta`.
//! A database that has only that is adopted: the migrations it already had are
//! recorded as applied, and the migrator goes on from there. Every migration still
//! writes those markers, so an older releasebot refuses a newer database as it always
//! did, and `releasebot check` reads the version without touching sqlx's table.

use std::borrow::Cow;

use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migrate, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{Connection, PgConnection, SqliteConnection};

use super::failure::Failure;

/// A migration: its version, its description and its SQL.
type Step = (i64, &'static str, &'static str);

const SQLITE: [Step; 6] = [
    (1, "jobs", include_str!("migrations/sqlite/0001_jobs.sql")),
    (
        2,
        "approval from tag",
        include_str!("migrations/sqlite/0002_approval_from_tag.sql"),
    ),
    (
        3,
        "vote via",
        include_str!("migrations/sqlite/0003_vote_via.sql"),
    ),
    (
        4,
        "freezes",
        include_str!("migrations/sqlite/0004_freezes.sql"),
    ),
    (
        5,
        "approval in details",
        include_str!("migrations/sqlite/0005_approval_in_details.sql"),
    ),
    (6, "locks", include_str!("migrations/sqlite/0006_locks.sql")),
];

const POSTGRES: [Step; 3] = [
    (1, "jobs", include_str!("migrations/postgres/0001_jobs.sql")),
    (
        2,
        "approval in details",
        include_str!("migrations/postgres/0002_approval_in_details.sql"),
    ),
    (
        3,
        "locks",
        include_str!("migrations/postgres/0003_locks.sql"),
    ),
];

/// The tables releasebot has ever created: a database without a version that holds one
/// of them belongs to another program.
const OURS: [&str; 8] = [
    "meta",
    "jobs",
    "approvals",
    "votes",
    "audit",
    "freezes",
    "lease",
    "_sqlx_migrations",
];

/// The advisory lock key replicas adopting a PostgreSQL schema take turns by ("rbot").
const ADOPTION_LOCK: i64 = 0x7262_6f74;

/// The newest SQLite schema this releasebot knows.
pub(super) const SQLITE_KNOWN: i64 = SQLITE.len() as i64;
/// The newest PostgreSQL schema this releasebot knows.
pub(super) const POSTGRES_KNOWN: i64 = POSTGRES.len() as i64;

/// Migrations compiled into the binary.
#[derive(Debug)]
struct Embedded(&'static [Step]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        let list = self
            .0
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(list)))
    }
}

/// What to do before the migrator runs.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// sqlx's history is there, or nothing is: the migrator knows what to do.
    Run,
    /// Record migrations 1 to this one as applied first.
    Adopt(i64),
}

/// Decides from the database's tables and its own version marker.
fn plan(tables: &[String], marker: i64, known: i64) -> Result<Plan, Failure> {
    if marker > known {
        return Err(Failure::Newer(marker));
    }
    if tables.iter().any(|t| t == "_sqlx_migrations") {
        return Ok(Plan::Run);
    }
    if marker > 0 {
        return Ok(Plan::Adopt(marker));
    }
    match tables.iter().find(|t| OURS.contains(&t.as_str())) {
        Some(t) => Err(Failure::Damaged(format!(
            "it already holds tables of another program (a table named {t:?} and no schema version)"
        ))),
        None => Ok(Plan::Run),
    }
}

/// The statement recording an adopted migration as applied.
const ADOPT: &str =
    "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                     VALUES ($1, $2, TRUE, $3, 0)";

async fn migrator(steps: &'static [Step]) -> Result<Migrator, Failure> {
    Ok(Migrator::new(Embedded(steps)).await?)
}

/// Where `plan` says to adopt a schema made before migrations were recorded, records
/// the migrations up to its version as applied, in the transaction `tx` (either
/// database's: the statements are the same).
macro_rules! adopt {
    ($tx:ident, $migrator:ident, $plan:expr) => {
        if let Plan::Adopt(upto) = $plan {
            $tx.ensure_migrations_table().await?;
            for m in $migrator.iter().filter(|m| m.version <= upto) {
                sqlx::query(ADOPT)
                    .bind(m.version)
                    .bind(m.description.as_ref())
                    .bind(m.checksum.as_ref())
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    };
}

/// Brings a SQLite file up to this build's schema; refuses a newer one (the migrator
/// refuses a history holding a version it does not know).
pub(super) async fn sqlite(c: &mut SqliteConnection) -> Result<(), Failure> {
    let migrator = migrator(&SQLITE).await?;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut *c)
            .await?;
    let marker = sqlite_version(c).await?;
    let mut tx = c.begin().await?;
    adopt!(tx, migrator, plan(&tables, marker, SQLITE_KNOWN)?);
    tx.commit().await?;
    migrator.run_direct(c).await?;
    Ok(())
}

/// Brings a PostgreSQL database up to this build's schema; refuses a newer one.
/// Replicas starting together take turns.
pub(super) async fn postgres(c: &mut PgConnection) -> Result<(), Failure> {
    let migrator = migrator(&POSTGRES).await?;
    let mut tx = c.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ADOPTION_LOCK)
        .execute(&mut *tx)
        .await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
    )
    .fetch_all(&mut *tx)
    .await?;
    let marker = postgres_version(&mut tx).await?;
    adopt!(tx, migrator, plan(&tables, marker, POSTGRES_KNOWN)?);
    tx.commit().await?;
    migrator.run_direct(c).await?;
    Ok(())
}

/// The version a SQLite file says it has (its header's `user_version`).
pub(super) async fn sqlite_version(c: &mut SqliteConnection) -> Result<i64, Failure> {
    Ok(sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *c)
        .await?)
}

/// The version a PostgreSQL database says it has: 0 without releasebot's tables.
pub(super) async fn postgres_version(c: &mut PgConnection) -> Result<i64, Failure> {
    let has_meta: bool = sqlx::query_scalar("SELECT to_regclass('meta') IS NOT NULL")
        .fetch_one(&mut *c)
        .await?;
    if !has_meta {
        return Ok(0);
    }
    let value: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'schema'")
        .fetch_optional(&mut *c)
        .await?;
    let value = value.ok_or_else(|| Failure::Damaged("its meta table has no schema".into()))?;
    value
        .parse()
        .map_err(|_| Failure::Damaged(format!("its schema version is {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_database_is_adopted_run_or_refused_by_what_it_holds() {
        assert_eq!(plan(&tables(&[]), 0, 5).unwrap(), Plan::Run);
        assert_eq!(
            plan(&tables(&["meta", "jobs"]), 4, 5).unwrap(),
            Plan::Adopt(4)
        );
        assert_eq!(
            plan(&tables(&["meta", "_sqlx_migrations"]), 5, 5).unwrap(),
            Plan::Run
        );
        assert!(matches!(
            plan(&tables(&["meta"]), 9, 5),
            Err(Failure::Newer(9))
        ));
        assert!(matches!(
            plan(&tables(&["jobs", "other"]), 0, 5),
            Err(Failure::Damaged(_))
        ));
        assert_eq!(plan(&tables(&["other"]), 0, 5).unwrap(), Plan::Run);
    }

    #[test]
    fn every_migration_keeps_the_version_marker_older_releasebots_read() {
        for (version, _, sql) in SQLITE {
            assert!(
                sql.contains(&format!("PRAGMA user_version = {version};")),
                "{version}"
            );
        }
        for (version, _, sql) in POSTGRES {
            assert!(
                sql.contains(&format!("'{version}'")),
                "PostgreSQL {version}"
            );
        }
    }
}
