//! Freezes, as refusals, `/status` and `/history` show them.

use super::{View, date_time};
use crate::freeze::{Freeze, Frozen};
use crate::names::AppName;

/// "web is frozen until 2026-12-01 16:00 UTC by carol: incident 4411."
pub fn frozen(app: &AppName, f: &Frozen, view: &View) -> String {
    match f {
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

/// "❄ web frozen by carol until 2026-12-01 16:00 UTC: incident 4411 · lifted by dave at …"
pub fn freeze_line(f: &Freeze, view: &View) -> String {
    let what = match f.scope.as_str() {
        "all" => "all apps".to_string(),
        app => app.to_string(),
    };
    let mut line = format!(
        "❄ {what} frozen by {} at {} until {}: {}",
        view.text(&f.by.name),
        date_time(f.at_ms),
        date_time(f.until_ms),
        view.text(&f.reason)
    );
    if let Some((by, at)) = &f.lifted {
        line.push_str(&format!(
            " · lifted by {} at {}",
            view.text(&by.name),
            date_time(*at)
        ));
    }
    line
}
