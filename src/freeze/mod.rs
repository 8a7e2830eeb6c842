//! Freezes: times when an app takes no deploys. A freeze is put on by a person
//! (`/freeze web 2h incident 4411`, or `all` apps) until a time or until lifted
//! (`/unfreeze`), or recurs by the calendar (`[apps.<name>] freeze` windows in the
//! app's time zone). A lock (`/lock web verifying the fix`) is a freeze with one
//! exception: its holder still deploys. Pure: the store keeps freezes and locks, the
//! engine asks [`holding`] before deploying, and who passes which is the job domain's
//! rule (`job::start::freeze_pass`).

mod window;

pub use window::{InForce, Schedule, Window, WindowError};

use crate::job::{FrozenNow, Person};
use crate::names::AppName;

/// What a freeze covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    App(AppName),
    All,
}

impl Scope {
    pub fn covers(&self, app: &AppName) -> bool {
        match self {
            Scope::All => true,
            Scope::App(a) => a == app,
        }
    }

    /// `web`, or `all`.
    pub fn as_str(&self) -> &str {
        match self {
            Scope::All => "all",
            Scope::App(a) => a.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        if s.eq_ignore_ascii_case("all") {
            return Some(Scope::All);
        }
        AppName::parse(s).ok().map(Scope::App)
    }
}

/// A freeze a person put on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freeze {
    /// The store's id; 0 until stored.
    pub id: i64,
    pub scope: Scope,
    pub by: Person,
    pub reason: String,
    pub at_ms: i64,
    pub until_ms: i64,
    /// Who lifted it early, and when.
    pub lifted: Option<(Person, i64)>,
    /// A lock: the one person whose deploys still go (`/lock`); `None` for a freeze.
    pub holder: Option<Person>,
}

/// The end of a freeze or lock that lasts until it is lifted.
pub const NO_END: i64 = i64::MAX;

impl Freeze {
    /// Whether it holds at `now_ms`.
    pub fn holds(&self, now_ms: i64) -> bool {
        self.lifted.is_none() && self.at_ms <= now_ms && now_ms < self.until_ms
    }

    /// Whether it is a lock (it has a holder).
    pub fn is_lock(&self) -> bool {
        self.holder.is_some()
    }
}

/// Why an app takes no deploys right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frozen {
    /// Someone froze it (or all apps).
    By(Freeze),
    /// A recurring window of the app's configuration.
    Window(InForce),
}

impl Frozen {
    /// Who froze it: a person's name, or the window's schedule.
    pub fn by(&self) -> String {
        match self {
            Frozen::By(f) => f.by.name.clone(),
            Frozen::Window(w) => format!("the freeze window {} ({})", w.window, w.timezone),
        }
    }

    pub fn reason(&self) -> String {
        match self {
            Frozen::By(f) => f.reason.clone(),
            Frozen::Window(_) => "a recurring freeze window".to_string(),
        }
    }

    pub fn until_ms(&self) -> i64 {
        match self {
            Frozen::By(f) => f.until_ms,
            Frozen::Window(w) => w.until_ms,
        }
    }

    /// It as the job domain weighs it, holding on `app`.
    pub fn now(&self, app: &AppName) -> FrozenNow {
        FrozenNow {
            app: app.clone(),
            by: self.by(),
            reason: self.reason(),
            until_ms: self.until_ms(),
            since_ms: match self {
                Frozen::By(f) => f.at_ms,
                Frozen::Window(_) => 0,
            },
            holder: match self {
                Frozen::By(f) => f.holder.clone(),
                Frozen::Window(_) => None,
            },
        }
    }
}

/// Whether `app` is frozen at `now_ms`, by the freezes people put on or by its
/// schedule; the freeze that lasts longest when several hold.
pub fn frozen(
    app: &AppName,
    freezes: &[Freeze],
    schedule: &Schedule,
    now_ms: i64,
) -> Option<Frozen> {
    let by_people = freezes
        .iter()
        .filter(|f| f.scope.covers(app) && f.holds(now_ms))
        .cloned()
        .map(Frozen::By);
    let by_calendar = schedule.in_force(now_ms).map(Frozen::Window);
    by_people.chain(by_calendar).max_by_key(Frozen::until_ms)
}

/// Every freeze and lock that holds on `app` at `now_ms`: those people put on, oldest
/// first, then its window if one is in force.
pub fn holding(app: &AppName, freezes: &[Freeze], schedule: &Schedule, now_ms: i64) -> Vec<Frozen> {
    freezes
        .iter()
        .filter(|f| f.scope.covers(app) && f.holds(now_ms))
        .cloned()
        .map(Frozen::By)
        .chain(schedule.in_force(now_ms).map(Frozen::Window))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> AppName {
        AppName::parse("web").unwrap()
    }

    fn freeze(scope: Scope, at_ms: i64, until_ms: i64) -> Freeze {
        Freeze {
            id: 1,
            scope,
            by: Person {
                id: "1".into(),
                name: "carol".into(),
            },
            reason: "incident 4411".into(),
            at_ms,
            until_ms,
            lifted: None,
            holder: None,
        }
    }

    #[test]
    fn a_freeze_holds_for_its_apps_until_it_ends_or_is_lifted() {
        let none = Schedule::default();
        let api = AppName::parse("api").unwrap();
        let on_web = freeze(Scope::App(web()), 100, 200);
        let only_web = std::slice::from_ref(&on_web);
        assert_eq!(frozen(&web(), only_web, &none, 99), None);
        assert_eq!(
            frozen(&web(), only_web, &none, 100),
            Some(Frozen::By(on_web.clone()))
        );
        assert_eq!(frozen(&api, only_web, &none, 150), None);
        assert_eq!(frozen(&web(), only_web, &none, 200), None);
        let all = freeze(Scope::All, 100, 500);
        let found = frozen(&api, &[on_web.clone(), all.clone()], &none, 150);
        assert_eq!(found, Some(Frozen::By(all.clone())));
        // The longest of several.
        let found = frozen(&web(), &[on_web.clone(), all.clone()], &none, 150);
        assert_eq!(found.unwrap().until_ms(), 500);
        let mut lifted = all;
        lifted.lifted = Some((on_web.by.clone(), 160));
        assert_eq!(frozen(&api, &[lifted], &none, 170), None);
    }

    #[test]
    fn a_window_freezes_its_app_by_the_calendar() {
        let schedule =
            Schedule::new(vec![Window::parse("Sat 00:00-Mon 00:00").unwrap()], None).unwrap();
        // 2026-12-05 is a Saturday.
        let saturday = "2026-12-05T10:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond();
        let f = frozen(&web(), &[], &schedule, saturday).unwrap();
        assert!(f.by().contains("Sat 00:00-Mon 00:00"), "{}", f.by());
        assert_eq!(
            f.until_ms(),
            "2026-12-07T00:00:00Z"
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_millisecond()
        );
        assert_eq!(Scope::parse("ALL"), Some(Scope::All));
        assert_eq!(Scope::parse("web"), Some(Scope::App(web())));
        assert_eq!(Scope::parse("no such app!"), None);
    }
}
