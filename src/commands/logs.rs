//! `/logs <app>`: the latest deploy log excerpt, redacted, to those who may read the
//! app from where they ask (`access::read_app`).

use super::access::{self, Action};
use super::spec::{Completion, OptionSpec, Spec};
use super::{Args, Context, Handler, ParseError, Refusal, Reply, app};
use crate::config::Config;
use crate::names::AppName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logs {
    pub app: AppName,
}

impl Handler for Logs {
    const SPEC: Spec = Spec {
        name: "logs",
        starts_job: false,
        usage: "/logs <app>",
        help: "the latest deploy log excerpt",
        options: &[OptionSpec::text(
            "app",
            "the app whose deploy logs to show",
            true,
            Completion::App(Action::Deploy),
        )],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        Ok(Logs {
            app: app("logs", &args.required("app")?, config)?.name.clone(),
        })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        let config = cx.engine.config();
        let Some(app) = config.apps.get(&self.app) else {
            return Reply::Refused(Refusal::NotConfigured {
                name: self.app.to_string(),
            });
        };
        if let Err(denied) = access::read_app(config, cx.actor, cx.channel, app) {
            return Reply::Refused(Refusal::Denied(denied));
        }
        match cx.engine.paas().deploy_logs(&app.rancher).await {
            Ok(Some(lines)) => {
                let lines = crate::job::record::log_excerpt(&lines, cx.engine.config().jobs.log_lines);
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
            Err(error) => Reply::Refused(Refusal::LogsUnreadable {
                app: self.app.to_string(),
                error,
            }),
        }
    }
}
