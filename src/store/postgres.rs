//! The PostgreSQL backend of [`Store`](super::Store), for replicas sharing one
//! database. Its parts: the connection's own thread that the synchronous calls are
//! sent to (`postgres/worker.rs`), the schema and its migrations (`schema.rs`), the
//! leadership lease and fencing (`lease.rs`), jobs written (`jobs.rs`) and read
//! (`rows.rs`), freezes (`freezes.rs`), the driver's settings made from the URL's
//! parts (`options.rs`), and the database's errors told as [`StoreError`]s with the
//! URL's password kept out (`failure.rs`).
//!
//! It keeps SQLite's guarantees: a save is one transaction, committed before the call
//! returns; jobs keep the same stored form ([`stored`](super::stored)); a schema
//! newer than this build is refused. What SQLite gets from its file lock, PostgreSQL
//! gets from the lease: a store fenced with a term writes only while that term holds.

mod failure;
mod freezes;
mod jobs;
mod lease;
mod options;
mod rows;
mod schema;
mod tls;
mod worker;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_postgres::Config;

use super::{Backend, Lease, StoreError};
use crate::config::location::PgUrl;
use crate::freeze::{Freeze, Scope};
use crate::job::{JobRecord, Person};
use crate::names::JobId;
use failure::{Failure, Location};
use worker::Worker;

/// How long a connection attempt may take, unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A store in a PostgreSQL database.
pub(super) struct Postgres {
    worker: Worker,
    at: Location,
    /// The term writes are fenced with; 0 while not fenced (terms start at 1).
    fenced: AtomicU64,
    /// How many audit entries of each job this store wrote, so a save sends only the
    /// new ones (`jobs.rs` says why a stale count is harmless).
    audited: Mutex<HashMap<JobId, usize>>,
}

impl Postgres {
    /// Connects to the database at `url` and migrates its schema. Refuses a database
    /// that cannot be reached, that holds something else, or is from a newer version.
    pub(super) fn open(url: &PgUrl) -> Result<Postgres, StoreError> {
        Self::connect(url, true)
    }

    /// What the database at `url` holds, read without changing anything: its schema
    /// version, the newest this releasebot knows, and who leads.
    pub(super) fn inspect(url: &PgUrl) -> Result<super::Inspection, StoreError> {
        let db = Self::connect(url, false)?;
        let (schema, known) = db
            .worker
            .call(|c| Box::pin(async move { schema::versions(c).await }))?;
        let leader = match schema {
            0 => None,
            _ => db
                .worker
                .call(|c| Box::pin(async move { lease::leader(c).await }))?,
        };
        db.worker.stop();
        Ok(super::Inspection {
            location: db.at.shown().to_string(),
            kind: "PostgreSQL",
            schema,
            known,
            leader,
        })
    }

    fn connect(url: &PgUrl, migrate: bool) -> Result<Postgres, StoreError> {
        let password = url.password().map_err(|e| {
            Failure::CannotOpen(e.to_string()).told(&Location::new(url.to_string(), None))
        })?;
        let at = Location::new(url.to_string(), password.clone());
        let mut config: Config =
            options::config(url, password.as_ref()).map_err(|f| f.told(&at))?;
        tls::check(&config).map_err(|f| f.told(&at))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("releasebot");
        }
        Ok(Postgres {
            worker: Worker::start_with(config, at.clone(), migrate)?,
            at,
            fenced: AtomicU64::new(0),
            audited: Mutex::new(HashMap::new()),
        })
    }

    fn fence_term(&self) -> Option<u64> {
        match self.fenced.load(Ordering::SeqCst) {
            0 => None,
            term => Some(term),
        }
    }

    /// The jobs `sql` selects (`id, details`) with the arguments `args` gives.
    fn jobs<A>(&self, sql: &'static str, args: A) -> Result<Vec<JobRecord>, StoreError>
    where
        A: Args,
    {
        self.worker
            .call(move |c| Box::pin(async move { rows::jobs(c, sql, &args.refs()).await }))
    }
}

/// Owned query arguments, lent to a query on the database thread.
trait Args: Send + 'static {
    fn refs(&self) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)>;
}

impl Args for () {
    fn refs(&self) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
        Vec::new()
    }
}

impl Args for (i64,) {
    fn refs(&self) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
        vec![&self.0]
    }
}

impl Args for (String, i64) {
    fn refs(&self) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
        vec![&self.0, &self.1]
    }
}

impl Backend for Postgres {
    fn location(&self) -> &str {
        self.at.shown()
    }

    fn shared(&self) -> bool {
        true
    }

    /// Closes the connection; later calls fail.
    fn close(&self) {
        self.worker.stop();
    }

    /// Checks that the database takes a write (one that changes nothing, and so is not
    /// fenced).
    fn ping(&self) -> Result<(), StoreError> {
        self.worker.call(|c| {
            Box::pin(async move {
                c.execute("UPDATE meta SET value = value WHERE key = 'schema'", &[])
                    .await?;
                Ok(())
            })
        })
    }

    /// A value kept in the store (created by `make` the first time). Replicas creating
    /// the same value at once agree on the first one written.
    fn meta(
        &self,
        key: &str,
        make: Box<dyn FnOnce() -> String + '_>,
    ) -> Result<String, StoreError> {
        let owned = key.to_string();
        let found: Option<String> = self.worker.call(move |c| {
            Box::pin(async move {
                let row = c
                    .query_opt("SELECT value FROM meta WHERE key = $1", &[&owned])
                    .await?;
                Ok(row.map(|r| r.get(0)))
            })
        })?;
        if let Some(v) = found {
            return Ok(v);
        }
        let (key, value, fence) = (key.to_string(), make(), self.fence_term());
        self.worker.call(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                lease::check(&tx, fence).await?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                    &[&key, &value],
                )
                .await?;
                let kept: String = tx
                    .query_one("SELECT value FROM meta WHERE key = $1", &[&key])
                    .await?
                    .get(0);
                tx.commit().await?;
                Ok(kept)
            })
        })
    }

    /// Replaces a kept value if it still is `from`; the value kept (another replica's,
    /// if it changed it first).
    fn swap_meta(&self, key: &str, from: &str, to: &str) -> Result<String, StoreError> {
        let (key, from, to, fence) = (
            key.to_string(),
            from.to_string(),
            to.to_string(),
            self.fence_term(),
        );
        self.worker.call(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                lease::check(&tx, fence).await?;
                tx.execute(
                    "UPDATE meta SET value = $3 WHERE key = $1 AND value = $2",
                    &[&key, &from, &to],
                )
                .await?;
                let kept: String = tx
                    .query_one("SELECT value FROM meta WHERE key = $1", &[&key])
                    .await?
                    .get(0);
                tx.commit().await?;
                Ok(kept)
            })
        })
    }

    /// One more than any job ever stored. Under the lease, the leader alone saves jobs,
    /// and every write of an earlier term committed before its term began, so the id is
    /// unique across replicas as long as it is read after taking the lease.
    fn next_job_id(&self) -> Result<u64, StoreError> {
        self.worker.call(|c| {
            Box::pin(async move {
                let max: Option<i64> = c.query_one("SELECT MAX(id) FROM jobs", &[]).await?.get(0);
                Ok(max.map_or(1, |m| m as u64 + 1))
            })
        })
    }

    /// Writes a job: its row, its approval and votes, and audit entries not yet stored.
    fn save(&self, r: &JobRecord) -> Result<(), StoreError> {
        let skip = self
            .audited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&r.id)
            .copied()
            .unwrap_or(0);
        let (record, fence) = (r.clone(), self.fence_term());
        self.worker
            .call(move |c| Box::pin(async move { jobs::save(c, &record, fence, skip).await }))?;
        let mut audited = self.audited.lock().unwrap_or_else(|e| e.into_inner());
        if r.ended_ms.is_some() {
            // A finished job is not saved again in the normal course; forget it.
            audited.remove(&r.id);
        } else {
            audited.insert(r.id, r.audit.len().max(skip));
        }
        Ok(())
    }

    fn load(&self, id: JobId) -> Result<Option<JobRecord>, StoreError> {
        let found = self.jobs("SELECT id, details FROM jobs WHERE id = $1", (id.0 as i64,))?;
        Ok(found.into_iter().next())
    }

    fn unfinished(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs(
            "SELECT id, details FROM jobs WHERE ended_ms IS NULL ORDER BY id",
            (),
        )
    }

    fn history(&self, name: &str, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs(
            "SELECT id, details FROM jobs WHERE project = $1 OR app = $1 ORDER BY id DESC LIMIT $2",
            (name.to_string(), n as i64),
        )
    }

    fn finished(&self, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs(
            "SELECT id, details FROM jobs WHERE ended_ms IS NOT NULL ORDER BY id DESC LIMIT $1",
            (n as i64,),
        )
    }

    fn deployed(&self, app: &str, n: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs(
            "SELECT id, details FROM jobs WHERE app = $1 AND state = 'succeeded' AND tag IS NOT NULL
             ORDER BY ended_ms DESC NULLS LAST, id DESC LIMIT $2",
            (app.to_string(), n as i64),
        )
    }

    fn claimed_executions(&self, except: JobId) -> Result<Vec<String>, StoreError> {
        let except = except.0 as i64;
        self.worker.call(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT execution FROM jobs WHERE execution IS NOT NULL AND id != $1",
                        &[&except],
                    )
                    .await?;
                Ok(rows.iter().map(|r| r.get(0)).collect())
            })
        })
    }

    fn add_freeze(&self, f: &Freeze) -> Result<i64, StoreError> {
        let (f, fence) = (f.clone(), self.fence_term());
        self.worker
            .call(move |c| Box::pin(async move { freezes::insert(c, &f, fence).await }))
    }

    fn lift_freezes(
        &self,
        scope: &Scope,
        by: &Person,
        at_ms: i64,
    ) -> Result<Vec<Freeze>, StoreError> {
        let (scope, by, fence) = (scope.clone(), by.clone(), self.fence_term());
        self.worker.call(move |c| {
            Box::pin(async move { freezes::lift(c, &scope, &by, at_ms, fence).await })
        })
    }

    fn holding_freezes(&self, now_ms: i64) -> Result<Vec<Freeze>, StoreError> {
        self.worker.call(move |c| {
            Box::pin(async move {
                freezes::select(
                    c,
                    "lifted_ms IS NULL AND until_ms > $1 ORDER BY id",
                    &[&now_ms],
                )
                .await
            })
        })
    }

    fn freeze_history(&self, app: &str, n: usize) -> Result<Vec<Freeze>, StoreError> {
        let (app, n) = (app.to_string(), n as i64);
        self.worker.call(move |c| {
            Box::pin(async move {
                freezes::select(
                    c,
                    "scope IN ($1, 'all') ORDER BY id DESC LIMIT $2",
                    &[&app, &n],
                )
                .await
            })
        })
    }

    fn acquire_lease(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        let holder = holder.to_string();
        self.worker
            .call(move |c| Box::pin(async move { lease::acquire(c, &holder, ttl).await }))
    }

    fn renew_lease(&self, held: &Lease, ttl: Duration) -> Result<bool, StoreError> {
        let held = held.clone();
        self.worker
            .call(move |c| Box::pin(async move { lease::renew(c, &held, ttl).await }))
    }

    fn release_lease(&self, held: &Lease) -> Result<(), StoreError> {
        let held = held.clone();
        self.worker
            .call(move |c| Box::pin(async move { lease::release(c, &held).await }))
    }

    fn leader(&self) -> Result<Option<Lease>, StoreError> {
        self.worker
            .call(|c| Box::pin(async move { lease::leader(c).await }))
    }

    fn fence(&self, term: u64) {
        self.fenced.store(term, Ordering::SeqCst);
    }
}
