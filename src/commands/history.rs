//! `/history <project|app> [n]`: what ran, who asked, who approved, how it ended; to
//! those who may read the project or app from where they ask (`access::read_history`),
//! and of its jobs only those they may read (a release into an app they may not).

use super::access;
use super::spec::{Completion, Kind, OptionSpec, Spec};
use super::{Args, Context, Handler, ParseError, Refusal, Reply, invalid, project_or_app};
use crate::config::Config;
use crate::render;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub name: String,
    pub count: usize,
}

impl Handler for History {
    const SPEC: Spec = Spec {
        name: "history",
        starts_job: false,
        usage: "/history <project|app> [n]",
        help: "what ran, who asked, who approved",
        options: &[
            OptionSpec::text(
                "name",
                "a project or an app",
                true,
                Completion::HistoryTarget,
            ),
            OptionSpec {
                name: "count",
                description: "how many jobs to show (default 10)",
                kind: Kind::Count,
                required: false,
                completion: Completion::Nothing,
            },
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let name = args.required("name")?;
        project_or_app("history", "project or app", &name, config)?;
        let count = match args.text("count") {
            Some(n) => match n.parse::<usize>() {
                Ok(n) if (1..=50).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "history",
                        format!("{} is not a count from 1 to 50.", crate::names::shown(&n)),
                    ));
                }
            },
            None => 10,
        };
        Ok(History { name, count })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        let config = cx.engine.config();
        if let Err(denied) = access::read_history(config, cx.actor, cx.channel, &self.name) {
            return Reply::Refused(Refusal::Denied(denied));
        }
        let mut jobs = match cx.engine.store().history(&self.name, self.count).await {
            Ok(jobs) => jobs,
            Err(e) => return Reply::Refused(Refusal::HistoryUnreadable(e)),
        };
        jobs.retain(|r| access::read_job(config, cx.actor, cx.channel, r).is_ok());
        // An app's freezes (and those of all apps) belong to its history too.
        let is_app = cx.engine.config().apps.keys().any(|a| a.as_str() == self.name);
        let freezes = match is_app {
            true => match cx.engine.holds().freeze_history(&self.name, self.count).await {
                Ok(f) => f,
                Err(e) => return Reply::Refused(Refusal::HistoryUnreadable(e)),
            },
            false => Vec::new(),
        };
        if jobs.is_empty() && freezes.is_empty() {
            return Reply::Info(format!("Nothing has run for {} yet.", self.name));
        }
        let mut lines: Vec<String> = jobs
            .iter()
            .map(|r| render::history_line(r, cx.engine.view()))
            .collect();
        if !freezes.is_empty() {
            lines.push("freezes and locks:".into());
            lines.extend(freezes
                    .iter()
                    .map(|f| render::freeze_line(f, cx.engine.view())));
        }
        Reply::Info(format!("Latest for {}:\n{}", self.name, lines.join("\n")))
    }
}
