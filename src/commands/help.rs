//! `/help`: the commands, projects and apps this user may use.

use super::access::{self, Action};
use super::spec::{Completion, Spec};
use super::{Args, Context, Handler, ParseError, Reply, SPECS};
use crate::config::Config;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help;

impl Handler for Help {
    const SPEC: Spec = Spec {
        name: "help",
        starts_job: false,
        usage: "/help",
        help: "what you may do here",
        options: &[],
    };

    fn parse(_args: &Args, _config: &Config) -> Result<Self, ParseError> {
        Ok(Help)
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        let mut lines =
            vec!["releasebot builds, deploys and releases services on the PaaS.".to_string()];
        for spec in SPECS {
            // A command about projects or apps is listed with those this person may use.
            let target = spec.options.first().map(|o| o.completion);
            let allowed = match target {
                Some(Completion::Project(action)) => Some(projects(cx, action)),
                Some(Completion::App(action)) => Some(apps(cx, action)),
                _ => None,
            };
            match allowed {
                Some(list) if list.is_empty() => continue,
                Some(list) => lines.push(format!(
                    "{} — {} ({})",
                    spec.usage,
                    spec.help,
                    list.join(", ")
                )),
                None => lines.push(format!("{} — {}", spec.usage, spec.help)),
            }
        }
        let config = cx.engine.config();
        let approves: Vec<String> = config
            .apps
            .values()
            .filter(|a| a.policy.required() && cx.actor.has_any_role(&a.policy.approvers))
            .map(|a| a.name.to_string())
            .collect();
        if !approves.is_empty() {
            lines.push(format!("You approve deploys of: {}.", approves.join(", ")));
        }
        Reply::Info(lines.join("\n"))
    }
}

fn projects(cx: &Context<'_>, action: Action) -> Vec<String> {
    let config = cx.engine.config();
    config
        .projects
        .values()
        .filter(|p| access::project(config, cx.actor, cx.channel, p, action).is_ok())
        .filter(|p| action != Action::Release || !p.deploys.is_empty())
        .map(|p| p.name.to_string())
        .collect()
}

fn apps(cx: &Context<'_>, action: Action) -> Vec<String> {
    let config = cx.engine.config();
    config
        .apps
        .values()
        .filter(|a| access::app(config, cx.actor, cx.channel, a, action).is_ok())
        .map(|a| a.name.to_string())
        .collect()
}
