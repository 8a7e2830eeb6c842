//! Leadership among replicas sharing a PostgreSQL store: a standby asks for the lease
//! every second (or every third of its time to live, if shorter); the leader renews it
//! every third of its time to live, and hands it over when stopped gracefully, so a
//! standby leads within a second of a graceful stop and within the time to live (and a
//! second) of a crash. Consensus is the database's: the lease row, its term
//! and the database's clock (`store::Lease`); this module only keeps asking and tells
//! the engine what it may do.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::engine::Engine;
use crate::engine::lease::LeaseClock;
use crate::store::{Lease, Store};

/// This replica's side of the lease.
#[derive(Clone)]
pub struct Leadership {
    store: Arc<Store>,
    holder: String,
    ttl: Duration,
}

/// A name no other running replica has, and no restart of this one reuses.
pub fn holder_name(replica: Option<&str>) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "releasebot".into());
    let base = replica.map_or(host, str::to_string);
    let random: String = (0..6).map(|_| fastrand::alphanumeric()).collect();
    format!("{base}-{}-{random}", std::process::id())
}

impl Leadership {
    pub fn new(store: Arc<Store>, holder: String, ttl: Duration) -> Self {
        Leadership { store, holder, ttl }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How often the leader renews.
    fn every(&self) -> Duration {
        self.ttl / 3
    }

    /// How often a standby asks.
    fn ask_every(&self) -> Duration {
        self.every().min(Duration::from_secs(1))
    }

    /// Waits until this replica holds the lease, standing by meanwhile (and saying who
    /// leads). The lease's term fences every write this replica makes from then on.
    pub async fn acquire(&self, clock: &LeaseClock) -> Lease {
        let mut logged = false;
        loop {
            let asked = Instant::now();
            match self.store.acquire_lease(&self.holder, self.ttl).await {
                Ok(Some(lease)) => {
                    clock.lead(&self.holder, lease.term, asked, self.ttl);
                    tracing::info!(holder = %self.holder, term = lease.term, "this replica leads");
                    return lease;
                }
                Ok(None) => {
                    let leader = self.store.leader().await.ok().flatten();
                    let name = leader.map(|l| l.holder);
                    if !logged {
                        tracing::info!(leader = ?name, "standing by: another replica leads");
                        logged = true;
                    }
                    clock.stand_by(name);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot ask for the lease; trying again");
                    clock.stand_by(None);
                }
            }
            let jitter = self.ask_every().mul_f64(fastrand::f64() * 0.2);
            tokio::time::sleep(self.ask_every() + jitter).await;
        }
    }

    /// Renews the lease every third of its time to live until it is lost; then the
    /// engine is deposed (every job stops where it stands) and this returns.
    pub async fn keep(self, lease: Lease, engine: Engine) {
        loop {
            tokio::time::sleep(self.every()).await;
            let asked = Instant::now();
            match self.store.renew_lease(&lease, self.ttl).await {
                Ok(true) => engine
                    .lease()
                    .lead(&self.holder, lease.term, asked, self.ttl),
                Ok(false) => {
                    tracing::warn!(term = lease.term, "the lease was lost to another replica");
                    engine.depose();
                    return;
                }
                // Jobs wait (the belief lapses) while the database cannot be reached;
                // the next renewal that succeeds lets them go on.
                Err(e) => tracing::warn!(error = %e, "cannot renew the lease; trying again"),
            }
        }
    }

    /// Hands the lease over at once (a graceful stop): a standby takes over on its next
    /// ask instead of after the time to live.
    pub async fn release(&self, lease: &Lease) {
        if let Err(e) = self.store.release_lease(lease).await {
            tracing::warn!(error = %e, "cannot hand the lease over; it expires on its own");
        }
    }
}
