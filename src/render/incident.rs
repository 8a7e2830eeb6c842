//! Freezes and locks, as refusals, `/status` and `/history` show them.

use super::{View, date_time};
use crate::freeze::{Freeze, Frozen};
use crate::names::AppName;

/// "web is frozen until 2026-12-01 16:00 UTC by carol: incident 4411."
pub fn frozen(app: &AppName, f: &Frozen, view: &View) -> String {
    match f {
        Frozen::By(lock) if lock.is_lock() => locked(app.as_str(), lock, view),
        Frozen::By(freeze) => format!(
            "{app} is frozen until {} by {}: {}.",
            date_time(freeze.until_ms),
            view.text(&freeze.by.name),
            view.text(&freeze.reason)
        ),
        Frozen::Window(w) => format!(
            "{app} is in its freeze window {} ({}) until {}.",
            w.window,
            w.timezone,
            date_time(w.until_ms)
        ),
    }
}

/// "web is locked by carol since 2026-12-01 14:02 UTC (verifying the fix), so only carol
/// deploys to it until it is unlocked; a rollback still goes."
pub fn locked(app: &str, f: &Freeze, view: &View) -> String {
    let holder = view.text(&f.holder.as_ref().unwrap_or(&f.by).name);
    format!(
        "{app} is locked by {holder} since {} ({}){}, so only {holder} deploys to it until it is unlocked; a rollback still goes.",
        date_time(f.at_ms),
        view.text(&f.reason),
        until(f.until_ms),
    )
}

/// " until 2026-12-01 16:00 UTC", or nothing for a lock without an end.
fn until(ms: i64) -> String {
    match ms {
        crate::freeze::NO_END => String::new(),
        ms => format!(" until {}", date_time(ms)),
    }
}

/// "❄ web frozen by carol 2026-12-01 16:00 UTC: incident 4411 · lifted by dave at …"
pub fn freeze_line(f: &Freeze, view: &View) -> String {
    let what = match f.scope.as_str() {
        "all" => "all apps".to_string(),
        app => app.to_string(),
    };
    let mut line = match &f.holder {
        Some(holder) => format!(
            "🔒 {what} locked by {} at {}{}: {}",
            view.text(&holder.name),
            date_time(f.at_ms),
            until(f.until_ms),
            view.text(&f.reason)
        ),
        None => format!(
            "❄ {what} frozen by {} at {}{}: {}",
            view.text(&f.by.name),
            date_time(f.at_ms),
            until(f.until_ms),
            view.text(&f.reason)
        ),
    };
    if let Some((by, at)) = &f.lifted {
        line.push_str(&format!(
            " · lifted by {} at {}",
            view.text(&by.name),
            date_time(*at)
        ));
    }
    line
}
