//! `/help`: the commands, projects and apps this user may use.

use super::access::{self, Action};
use super::{Context, USAGE, arity};
use crate::chat::Reply;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help;

impl Help {
    pub fn parse(args: &[&str]) -> Result<Self, String> {
        arity("help", args, 0, 0)?;
        Ok(Help)
    }

    pub fn apply(self, cx: &Context<'_>) -> Reply {
        let config = cx.engine.config();
        let may = |action: Action| -> Vec<String> {
            match action {
                Action::Deploy => config
                    .apps
                    .values()
                    .filter(|a| access::app(config, cx.actor, cx.channel, a, action).is_ok())
                    .map(|a| a.name.to_string())
                    .collect(),
                _ => config
                    .projects
                    .values()
                    .filter(|p| access::project(config, cx.actor, cx.channel, p, action).is_ok())
                    .filter(|p| action != Action::Release || p.deploys.is_some())
                    .map(|p| p.name.to_string())
                    .collect(),
            }
        };
        let builds = may(Action::Build);
        let deploys = may(Action::Deploy);
        let releases = may(Action::Release);
        let mut lines =
            vec!["releasebot builds, deploys and releases services on the PaaS.".to_string()];
        for (name, usage, what) in USAGE {
            let allowed = match name {
                "build" => Some(&builds),
                "deploy" | "logs" => Some(&deploys),
                "release" => Some(&releases),
                _ => None,
            };
            match allowed {
                Some(list) if list.is_empty() => continue,
                Some(list) => lines.push(format!("{usage} — {what} ({})", list.join(", "))),
                None => lines.push(format!("{usage} — {what}")),
            }
        }
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
