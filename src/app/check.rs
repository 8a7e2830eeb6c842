//! `releasebot check`: validates the configuration and every connection without
//! changing anything, and prints what is right and what is wrong.

use std::sync::Arc;

use super::{StartError, connect_paas, load_config};
use crate::adapters::{Adapter, Row};
use crate::clock::Clock;
use crate::config::{Config, Env};
use crate::metrics::Metrics;

/// Checks everything it can; stops early only when nothing further can be checked.
/// `adapter` gives the configured chat adapter, which checks its own connection.
pub async fn run(
    env: &Env,
    adapter: impl FnOnce(&Config) -> Result<Box<dyn Adapter>, StartError>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let config: Config = match load_config(env) {
        Ok((config, demo)) => {
            let source = if demo {
                "the built-in demo configuration (no releasebot.toml)".to_string()
            } else {
                config.source.clone()
            };
            rows.push(Row::ok(
                "configuration",
                format!(
                    "{source}: {} projects, {} apps",
                    config.projects.len(),
                    config.apps.len()
                ),
            ));
            config
        }
        Err(e) => {
            rows.push(Row::failed("configuration", e.to_string()));
            return rows;
        }
    };
    rows.extend(access_rows(&config));
    rows.push(store_row(env).await);
    let metrics = Arc::new(Metrics::default());
    let paas = match connect_paas(env, &config, Clock::new(), metrics).await {
        Ok(paas) => {
            rows.push(Row::ok(
                "paas",
                format!("{} accepts the token", paas.description),
            ));
            paas
        }
        Err(e) => {
            rows.push(Row::failed("paas", e.to_string()));
            return rows;
        }
    };
    for p in config.projects.values() {
        let what = format!("project {}", p.name);
        rows.push(match paas.client.get_pipeline(&p.pipeline).await {
            Ok(()) => Row::ok(what, format!("pipeline {} exists", p.pipeline)),
            Err(e) => Row::failed(what, format!("pipeline {}: {e}", p.pipeline)),
        });
    }
    for a in config.apps.values() {
        let what = format!("app {}", a.name);
        rows.push(match paas.client.get_app(&a.rancher).await {
            Ok(app) => Row::ok(
                what,
                format!(
                    "{} exists ({}, {})",
                    a.rancher,
                    app.state.as_deref().unwrap_or("no state"),
                    app.version_tag.as_deref().unwrap_or("no version tag")
                ),
            ),
            Err(e) => Row::failed(what, format!("{}: {e}", a.rancher)),
        });
    }
    match adapter(&config) {
        Ok(adapter) => rows.extend(adapter.check(&config).await),
        Err(e) => rows.push(Row::failed("chat", e.to_string())),
    }
    rows
}

/// A warning for each app anyone may deploy. Open is the documented default, so it is
/// not a failure (the check still passes), but it is worth closing: a warning, as a
/// role that cannot be pinged is.
fn access_rows(config: &Config) -> Vec<Row> {
    crate::commands::access::open_apps(config)
        .into_iter()
        .map(|open| Row::warn("access", open.to_string()))
        .collect()
}

/// The report as an aligned table.
pub fn table(rows: &[Row]) -> String {
    let width = rows
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for r in rows {
        let mark = match (r.ok, r.warning) {
            (true, false) => "ok  ",
            (true, true) => "WARN",
            (false, _) => "FAIL",
        };
        out.push_str(&format!("{mark}  {:<width$}  {}\n", r.what, r.detail));
    }
    let failed = rows.iter().filter(|r| !r.ok).count();
    if failed == 0 {
        out.push_str("everything checked is in order\n");
    } else {
        out.push_str(&format!(
            "{failed} problem{} found\n",
            if failed == 1 { "" } else { "s" }
        ));
    }
    out
}

/// The state store: reachable, its schema this releasebot's (or one it migrates to),
/// and who leads among replicas sharing it. Nothing is created or migrated.
async fn store_row(env: &Env) -> Row {
    let found = match crate::store::Store::inspect_at(&env.db).await {
        Ok(found) => found,
        Err(e) => return Row::failed("store", e.to_string()),
    };
    let leads = match &found.leader {
        Some(lease) => format!("; replica {} leads (term {})", lease.holder, lease.term),
        None if found.kind == "PostgreSQL" => "; no replica leads now".to_string(),
        None => String::new(),
    };
    let at = format!("{} {}", found.kind, found.location);
    match found.schema {
        0 => Row::ok(
            "store",
            format!("{at} is created at the first start{leads}"),
        ),
        s if s > found.known => Row::failed(
            "store",
            format!(
                "{at} has schema {s}, newer than this releasebot's {}: upgrade releasebot",
                found.known
            ),
        ),
        s if s < found.known => Row::ok(
            "store",
            format!(
                "{at} has schema {s}; the next start migrates it to {}{leads}",
                found.known
            ),
        ),
        s => Row::ok("store", format!("{at} has schema {s}{leads}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lines_up_and_counts_problems() {
        let rows = [Row::ok("paas", "fine"), Row::failed("app web", "missing")];
        let text = table(&rows);
        assert_eq!(
            text,
            "ok    paas     fine\nFAIL  app web  missing\n1 problem found\n"
        );
    }
}
