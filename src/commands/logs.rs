//! `/logs <app>`: the latest deploy log excerpt, redacted.

use super::{Context, app, arity};
use crate::chat::Reply;
use crate::config::Config;
use crate::names::AppName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logs {
    pub app: AppName,
}

impl Logs {
    pub fn parse(args: &[&str], config: &Config) -> Result<Self, String> {
        arity("logs", args, 1, 1)?;
        Ok(Logs {
            app: app("logs", args[0], config)?.name.clone(),
        })
    }

    pub async fn apply(self, cx: &Context<'_>) -> Reply {
        let Some(app) = cx.engine.config().apps.get(&self.app) else {
            return Reply::Refused(format!("The app {} is no longer configured.", self.app));
        };
        match cx.engine.paas().deploy_logs(&app.app).await {
            Ok(Some(lines)) => {
                let lines = cx.engine.log_excerpt(&lines);
                if lines.is_empty() {
                    Reply::Info(format!("The deploy logs of {} are empty.", self.app))
                } else {
                    let body = lines.join("\n").replace("```", "`\u{200b}``");
                    Reply::Info(format!(
                        "Deploy logs of {} (last {} lines, redacted):\n```\n{body}\n```",
                        self.app,
                        lines.len()
                    ))
                }
            }
            Ok(None) => Reply::Info(format!("No logs are available for {}.", self.app)),
            Err(e) => Reply::Refused(format!(
                "The deploy logs of {} could not be read. {e}",
                self.app
            )),
        }
    }
}
