//! `releasebot check`: validates the configuration and every connection without
//! changing anything, and prints what is right and what is wrong.

use std::sync::Arc;

use crate::bot::{self, StartError};
use crate::clock::Clock;
use crate::config::{Config, Env};
use crate::metrics::Metrics;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

impl Row {
    pub fn ok(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Row {
            what: what.into(),
            ok: true,
            detail: detail.into(),
        }
    }

    pub fn failed(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Row {
            what: what.into(),
            ok: false,
            detail: detail.into(),
        }
    }
}

/// Checks everything it can; stops early only when nothing further can be checked.
pub async fn run(env: &Env) -> Vec<Row> {
    let mut rows = Vec::new();
    let config: Config = match bot::load_config(env) {
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
            rows.push(Row::failed("configuration", e.message));
            return rows;
        }
    };
    let metrics = Arc::new(Metrics::default());
    let paas = match bot::connect_paas(env, &config, Clock::new(), metrics).await {
        Ok(paas) => {
            rows.push(Row::ok(
                "paas",
                format!("{} accepts the token", paas.description),
            ));
            paas
        }
        Err(StartError { message, .. }) => {
            rows.push(Row::failed("paas", message));
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
        rows.push(match paas.client.get_app(&a.app).await {
            Ok(app) => Row::ok(
                what,
                format!(
                    "{} exists ({}, {})",
                    a.app,
                    app.state.as_deref().unwrap_or("no state"),
                    app.version_tag.as_deref().unwrap_or("no version tag")
                ),
            ),
            Err(e) => Row::failed(what, format!("{}: {e}", a.app)),
        });
    }
    match crate::adapters::discord::Settings::from_env(env) {
        Ok(Some(settings)) => rows.extend(crate::adapters::discord::check(&settings).await),
        Ok(None) => rows.push(Row::ok(
            "discord",
            "DISCORD_TOKEN is not set: the terminal adapter runs",
        )),
        Err(e) => rows.push(Row::failed("discord", e.message)),
    }
    rows
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
        let mark = if r.ok { "ok  " } else { "FAIL" };
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
