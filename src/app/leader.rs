//! Leadership among replicas sharing a PostgreSQL store: a standby asks for the lease
//! every second (or every third of its time to live, if shorter); the leader renews it
//! every third of its time to live, and hands it over when stopped gracefully, so a
//! standby leads within a second of a graceful stop and within the time to live (and a
//! second) of a crash. Consensus is the database's: the lease row, its term
//! and the database's clock (`store::Lease`); this module only keeps asking and tells
//! the engine what it may do.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::engine::Engine;
use crate::lease::LeaseClock;
use crate::store::{Lease, Store};

/// This replica's side of the lease.
#[derive(Clone)]
pub struct Leadership {
    store: Arc<Store>,
    holder: String,
    ttl: Duration,
    /// The lease as last taken (its term grows when it is taken again after an outage),
    /// for handing it over on a graceful stop.
    held: Arc<Mutex<Option<Lease>>>,
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
        Leadership {
            store,
            holder,
            ttl,
            held: Arc::default(),
        }
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
                    self.hold(&lease);
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

    fn hold(&self, lease: &Lease) {
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(lease.clone());
    }

    /// Renews the lease every third of its time to live until another replica takes
    /// it; then the engine is deposed (every job stops where it stands) and this
    /// returns.
    ///
    /// While the database cannot be reached, jobs wait (the belief lapses) and this asks
    /// again every second. When the database is back and the lease expired meanwhile,
    /// the lease row decides, not the time that went by: if nobody took it, this replica
    /// takes it again under a new term and its jobs go on where they stood; if another
    /// replica took it, this one stands down.
    pub async fn keep(self, mut lease: Lease, engine: Engine) {
        let mut away = false;
        loop {
            tokio::time::sleep(if away { self.ask_every() } else { self.every() }).await;
            let asked = Instant::now();
            let renewed = match self.store.renew_lease(&lease, self.ttl).await {
                Ok(true) => Ok(Some(lease.clone())),
                Ok(false) => self.store.retake_lease(&lease, self.ttl).await,
                Err(e) => Err(e),
            };
            match renewed {
                Ok(Some(now)) => {
                    if now.term != lease.term {
                        tracing::warn!(
                            term = now.term,
                            "the lease lapsed while the database was away and nobody took it: this replica leads again"
                        );
                        self.hold(&now);
                    } else if away {
                        tracing::warn!("the database answers again");
                    }
                    engine.lease().lead(&self.holder, now.term, asked, self.ttl);
                    lease = now;
                    away = false;
                }
                Ok(None) => {
                    tracing::warn!(term = lease.term, "the lease was lost to another replica");
                    engine.depose();
                    return;
                }
                // Jobs wait (the belief lapses) while the database cannot be reached;
                // the next renewal that succeeds lets them go on.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the lease; trying again");
                    away = true;
                }
            }
        }
    }

    /// Hands the lease over at once (a graceful stop): a standby takes over on its next
    /// ask instead of after the time to live.
    pub async fn release(&self) {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(lease) = held else {
            return;
        };
        if let Err(e) = self.store.release_lease(&lease).await {
            tracing::warn!(error = %e, "cannot hand the lease over; it expires on its own");
        }
    }
}
