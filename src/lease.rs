//! What this process believes about its right to act. Alone on a SQLite file it always
//! may. Among replicas sharing a database it may only while it holds the lease, and it
//! believes so only until a margin before the lease would expire unless renewed,
//! counted on its own monotonic clock from the moment it asked: a process paused for
//! longer (a stopped container, a long GC, a lost network) wakes believing nothing and
//! acts on nothing until it has renewed. The database's fencing catches what slips
//! between: a write under a term that is no longer the lease's fails.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The part this process plays among the replicas sharing its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The only one (a SQLite file): it acts.
    Alone,
    /// Waits for the lease; who holds it now, if anyone.
    Standby { leader: Option<String> },
    /// Holds the lease under `term`.
    Leader { holder: String, term: u64 },
    /// Lost the lease, or a write found another term: it acts no more.
    Deposed,
}

impl Role {
    /// `leader`, `standby (leader: x)`, `alone`, `deposed`: for `/readyz` and logs.
    pub fn describe(&self) -> String {
        match self {
            Role::Alone => "alone".into(),
            Role::Standby { leader: Some(l) } => format!("standby (leader: {l})"),
            Role::Standby { leader: None } => "standby (no leader)".into(),
            Role::Leader { holder, term } => format!("leader ({holder}, term {term})"),
            Role::Deposed => "deposed".into(),
        }
    }
}

/// The role, and until when acting is believed safe.
pub struct LeaseClock {
    state: Mutex<(Role, Option<Instant>)>,
    /// Rings once when deposed.
    deposed: tokio::sync::watch::Sender<bool>,
}

impl LeaseClock {
    pub fn new() -> Self {
        LeaseClock {
            state: Mutex::new((Role::Alone, None)),
            deposed: tokio::sync::watch::channel(false).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Role, Option<Instant>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether this process leads (alone on its store, or holding the lease).
    pub fn leads(&self) -> bool {
        matches!(self.role(), Role::Alone | Role::Leader { .. })
    }

    pub fn role(&self) -> Role {
        self.lock().0.clone()
    }

    /// Standing by: not acting.
    pub fn stand_by(&self, leader: Option<String>) {
        let mut s = self.lock();
        if s.0 != Role::Deposed {
            *s = (Role::Standby { leader }, Some(Instant::now()));
        }
    }

    /// Holds the lease under `term`, asked for at `asked` for `ttl`: acting is believed
    /// safe until two thirds of `ttl` after `asked`.
    pub fn lead(&self, holder: &str, term: u64, asked: Instant, ttl: Duration) {
        let mut s = self.lock();
        if s.0 == Role::Deposed {
            return;
        }
        s.0 = Role::Leader {
            holder: holder.to_string(),
            term,
        };
        s.1 = Some(asked + ttl.mul_f64(2.0 / 3.0));
    }

    /// Lost the lease: acts no more, for good.
    pub fn depose(&self) {
        *self.lock() = (Role::Deposed, Some(Instant::now()));
        self.deposed.send_replace(true);
    }

    /// Whether acting (on the PaaS, the chat, the store) is believed safe now.
    pub fn may_act(&self) -> bool {
        let s = self.lock();
        match (&s.0, s.1) {
            (Role::Alone, _) => true,
            (Role::Leader { .. }, Some(until)) => Instant::now() < until,
            _ => false,
        }
    }

    /// Whether this replica led and could not renew in time: it may lead again once it
    /// renews, or be deposed.
    pub fn lapsed(&self) -> bool {
        let s = self.lock();
        matches!((&s.0, s.1), (Role::Leader { .. }, Some(until)) if Instant::now() >= until)
    }

    /// Waits until acting is believed safe (`true`), or for good unsafe (`false`:
    /// deposed). While the lease is being renewed late, jobs wait here rather than act.
    pub async fn acting(&self) -> bool {
        let mut rx = self.deposed.subscribe();
        loop {
            if self.may_act() {
                return true;
            }
            if *rx.borrow_and_update() {
                return false;
            }
            // A renewal raises the belief again; look each 100 ms, or at once if deposed.
            let _ = tokio::time::timeout(Duration::from_millis(100), rx.changed()).await;
        }
    }

    /// Resolves once deposed.
    pub async fn deposed(&self) {
        let mut rx = self.deposed.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }
}

impl Default for LeaseClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_leader_acts_only_while_its_lease_is_believed_held() {
        let clock = LeaseClock::new();
        assert!(clock.may_act(), "alone, it always may");
        clock.stand_by(Some("other".into()));
        assert!(!clock.may_act());
        let ttl = Duration::from_secs(15);
        clock.lead("me", 2, Instant::now(), ttl);
        assert!(clock.may_act());
        // Paused (SIGSTOP) past two thirds of the lease without renewing: nothing.
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(!clock.may_act());
        clock.lead("me", 2, Instant::now(), ttl);
        assert!(clock.may_act());
        clock.depose();
        assert!(!clock.may_act());
        clock.lead("me", 2, Instant::now(), ttl);
        assert!(!clock.may_act(), "deposed for good");
        clock.deposed().await;
    }
}
