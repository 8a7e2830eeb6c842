//! `/history <project|app> [n]`: what ran, who asked, who approved, how it ended.

use super::{Context, arity, refuse, unknown};
use crate::chat::Reply;
use crate::config::Config;
use crate::render;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub name: String,
    pub count: usize,
}

impl History {
    pub fn parse(args: &[&str], config: &Config) -> Result<Self, String> {
        arity("history", args, 1, 2)?;
        let name = args[0];
        let known = config.projects.keys().any(|p| p.as_str() == name)
            || config.apps.keys().any(|a| a.as_str() == name);
        if !known {
            let mut names: Vec<&str> = config
                .projects
                .keys()
                .map(|p| p.as_str())
                .chain(config.apps.keys().map(|a| a.as_str()))
                .collect();
            names.sort();
            names.dedup();
            return Err(refuse("history", unknown("project or app", name, &names)));
        }
        let count = match args.get(1) {
            Some(n) => match n.parse::<usize>() {
                Ok(n) if (1..=50).contains(&n) => n,
                _ => {
                    return Err(refuse(
                        "history",
                        format!("{} is not a count from 1 to 50.", crate::names::shown(n)),
                    ));
                }
            },
            None => 10,
        };
        Ok(History {
            name: name.to_string(),
            count,
        })
    }

    pub fn apply(self, cx: &Context<'_>) -> Reply {
        let jobs = match cx.engine.history(&self.name, self.count) {
            Ok(jobs) => jobs,
            Err(e) => {
                return Reply::Refused(format!("The history cannot be read right now ({e})."));
            }
        };
        if jobs.is_empty() {
            return Reply::Info(format!("Nothing has run for {} yet.", self.name));
        }
        let lines: Vec<String> = jobs.iter().map(render::history_line).collect();
        Reply::Info(format!("Latest for {}:\n{}", self.name, lines.join("\n")))
    }
}
