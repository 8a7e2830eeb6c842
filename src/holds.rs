//! The freezes and locks in force: those that hold, in memory for the checks every job
//! step and every command makes, and in the store before anyone is told (so they
//! survive restarts). The engine asks it at each step of a deploy; the freeze and lock
//! commands change it.
//!
//! Putting a freeze or lock on and lifting them take turns (an async lock, held across the
//! store's write but never a runtime thread's), so the freezes an unfreeze was allowed
//! to lift are exactly those it lifts: no command can add one between the check and the
//! write (only the leading replica takes commands). The in-memory list's own lock is
//! taken only to change it, after the write.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::chat::Actor;
use crate::clock::Clock;
use crate::config::Config;
use crate::freeze::{self, Freeze, Frozen, Scope};
use crate::job::Person;
use crate::names::AppName;
use crate::store::{Store, StoreError};

/// The freezes and locks people put on, and the configured windows.
pub struct Holds {
    store: Arc<Store>,
    config: Arc<Config>,
    clock: Clock,
    /// Those that hold (and some that have just ended).
    holding: Mutex<Vec<Freeze>>,
    /// Putting freezes on and lifting them take turns.
    turn: tokio::sync::Mutex<()>,
}

impl Holds {
    /// The holds the store keeps, in force from now.
    pub async fn read(
        store: Arc<Store>,
        config: Arc<Config>,
        clock: Clock,
    ) -> Result<Self, StoreError> {
        let holding = store.holding_freezes(clock.now_ms()).await?;
        Ok(Holds {
            store,
            config,
            clock,
            holding: Mutex::new(holding),
            turn: tokio::sync::Mutex::new(()),
        })
    }

    /// Reads afresh those that hold (another replica may have changed them).
    pub async fn reload(&self) -> Result<(), StoreError> {
        let holding = self.store.holding_freezes(self.now()).await?;
        *self.holding() = holding;
        Ok(())
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Freezes `scope` for `lasting`, from now; recorded before it is answered.
    pub async fn freeze(
        &self,
        actor: &Actor,
        scope: Scope,
        lasting: Duration,
        reason: &str,
    ) -> Result<Freeze, StoreError> {
        let _turn = self.turn.lock().await;
        self.put_on(person(actor), scope, Some(lasting), reason, None)
            .await
    }

    /// Locks `app` for `holder` for `lasting` (`None`: until unlocked); recorded before
    /// it is answered. A lock that holds already refuses it, unless `replace` (a
    /// rollback's lock) lifts that one first.
    pub async fn lock(
        &self,
        holder: &Person,
        app: &AppName,
        lasting: Option<Duration>,
        reason: &str,
        replace: bool,
    ) -> Result<Freeze, NotLocked> {
        let scope = Scope::App(app.clone());
        let _turn = self.turn.lock().await;
        let store = &self.store;
        let holding = store.holding_freezes(self.now()).await?;
        if let Some(held) = holding
            .into_iter()
            .find(|f| f.is_lock() && f.scope == scope)
        {
            if !replace {
                return Err(NotLocked::Held(Box::new(held)));
            }
            store.lift_freezes(&scope, true, holder, self.now()).await?;
            self.holding().retain(|f| f.id != held.id);
        }
        let by = holder.clone();
        Ok(self
            .put_on(by, scope, lasting, reason, Some(holder.clone()))
            .await?)
    }

    /// Records a freeze (with a `holder`, a lock) from now for `lasting` (`None`: until
    /// lifted) and keeps it in force; the caller holds the turn.
    async fn put_on(
        &self,
        by: Person,
        scope: Scope,
        lasting: Option<Duration>,
        reason: &str,
        holder: Option<Person>,
    ) -> Result<Freeze, StoreError> {
        let now = self.now();
        let mut f = Freeze {
            id: 0,
            scope,
            by,
            reason: reason.to_string(),
            at_ms: now,
            until_ms: lasting.map_or(freeze::NO_END, |d| {
                now.saturating_add(d.as_millis().min(i64::MAX as u128) as i64)
            }),
            lifted: None,
            holder,
        };
        f.id = self.store.add_freeze(&f).await?;
        let (scope, by, lock) = (f.scope.as_str(), &f.by.name, f.is_lock());
        tracing::info!(scope, %by, until_ms = f.until_ms, lock, "freeze");
        self.holding().push(f.clone());
        Ok(f)
    }

    /// Lifts the freezes (with `locks`: the locks) of `scope` that hold (`all`: every
    /// one), if `may_lift` allows each of them; otherwise lifts none and says why.
    /// Those lifted.
    pub async fn unfreeze<E>(
        &self,
        actor: &Actor,
        scope: &Scope,
        locks: bool,
        may_lift: impl Fn(&Freeze) -> Result<(), E>,
    ) -> Result<Vec<Freeze>, NotLifted<E>> {
        let now = self.now();
        let _turn = self.turn.lock().await;
        // What the store is about to lift (`all`: every freeze that holds, an app: its
        // own), read from the store itself, which is what the lifting acts on.
        let lifting = self
            .store
            .holding_freezes(now)
            .await
            .map_err(NotLifted::Store)?;
        for f in lifting
            .iter()
            .filter(|f| (*scope == Scope::All || f.scope == *scope) && f.is_lock() == locks)
        {
            may_lift(f).map_err(NotLifted::Refused)?;
        }
        let lifted = self
            .store
            .lift_freezes(scope, locks, &person(actor), now)
            .await
            .map_err(NotLifted::Store)?;
        let ids: Vec<i64> = lifted.iter().map(|f| f.id).collect();
        self.holding().retain(|f| !ids.contains(&f.id));
        tracing::info!(scope = scope.as_str(), by = %actor.name, lifted = ids.len(), locks, "unfreeze");
        Ok(lifted)
    }

    /// Why `app` takes no deploys now, if it does not: a freeze someone put on, or one
    /// of its configured windows.
    pub fn frozen(&self, app: &AppName) -> Option<Frozen> {
        freeze::frozen(app, &self.holding(), &self.schedule(app), self.now())
    }

    /// Every freeze and lock that holds on `app` now.
    pub fn holds(&self, app: &AppName) -> Vec<Frozen> {
        freeze::holding(app, &self.holding(), &self.schedule(app), self.now())
    }

    fn schedule(&self, app: &AppName) -> freeze::Schedule {
        let app = self.config.apps.get(app);
        app.map(|a| a.freeze.clone()).unwrap_or_default()
    }

    /// The freezes people put on that hold now, oldest first.
    pub fn freezes(&self) -> Vec<Freeze> {
        let now = self.now();
        let mut holding = self.holding();
        holding.retain(|f| f.until_ms > now);
        holding.clone()
    }

    /// The latest `n` freezes of `app` (and of all apps), newest first.
    pub async fn freeze_history(&self, app: &str, n: usize) -> Result<Vec<Freeze>, StoreError> {
        self.store.freeze_history(app, n).await
    }

    fn holding(&self) -> std::sync::MutexGuard<'_, Vec<Freeze>> {
        self.holding.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why [`Holds::unfreeze`] lifted nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotLifted<E> {
    /// The caller's rule refused one of the freezes (another person's).
    Refused(E),
    /// The store could not record the lifting, so the freezes still hold.
    Store(StoreError),
}

/// Why [`Holds::lock`] put no lock on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotLocked {
    /// A lock holds already.
    #[error("{} holds a lock on it", .0.by.name)]
    Held(Box<Freeze>),
    /// The store could not record it, so it does not hold.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn person(actor: &Actor) -> Person {
    Person {
        id: actor.id.clone(),
        name: actor.name.clone(),
    }
}
