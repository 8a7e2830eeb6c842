//! `/stats [app|project] [period]`: how the team delivers, from releasebot's own
//! history: per app, deployments, lead time, change failure rate and time to restore
//! over the last 7, 30 (the default) or 90 days and the period before, with a chart of
//! each app's deployments per day. It covers the apps the person may deploy from here
//! (`access::app` with `Deploy`): every one of them, or those of the app or project
//! named, which they must be allowed to deploy.

use super::access::{self, Action};
use super::spec::{Completion, OptionSpec, Spec};
use super::{Args, Context, Handler, ParseError, Refusal, Reply, invalid, project_or_app};
use crate::config::Config;
use crate::job::stats::PeriodLength;
use crate::names::AppName;
use crate::render;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The app or project named, if one was.
    pub name: Option<String>,
    pub period: PeriodLength,
}

impl Handler for Stats {
    const SPEC: Spec = Spec {
        name: "stats",
        starts_job: false,
        usage: "/stats [app|project] [7d|30d|90d]",
        help: "how the team delivers: deployments, lead time, failures, time to restore",
        options: &[
            OptionSpec::text(
                "name",
                "an app or a project (default: every app you may deploy)",
                false,
                Completion::HistoryTarget,
            ),
            OptionSpec::text(
                "period",
                "7d, 30d (default) or 90d",
                false,
                Completion::Nothing,
            ),
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let (mut name, mut period) = (args.text("name"), args.text("period"));
        // `/stats 7d`: a period in the first place.
        if period.is_none() && name.as_deref().and_then(PeriodLength::parse).is_some() {
            period = name.take();
        }
        let period = match period {
            None => PeriodLength::default(),
            Some(p) => PeriodLength::parse(&p).ok_or_else(|| {
                invalid(
                    "stats",
                    format!(
                        "{} is not a period: say 7d, 30d or 90d.",
                        crate::names::shown(&p)
                    ),
                )
            })?,
        };
        if let Some(name) = &name {
            project_or_app("stats", "app or project", name, config)?;
        }
        Ok(Stats { name, period })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        let apps = match self.apps(cx) {
            Ok(apps) => apps,
            Err(refusal) => return Reply::Refused(refusal),
        };
        let now = cx.engine.clock().now_ms();
        let (store, period) = (cx.engine.store(), self.period);
        let pipelines = crate::delivery::Pipelines {
            config: cx.engine.config(),
            paas: cx.engine.paas(),
        };
        let all = match crate::delivery::figures(store, &apps, period, now, Some(pipelines)).await {
            Ok(all) => all,
            Err(e) => return Reply::Refused(Refusal::HistoryUnreadable(e)),
        };
        let title = format!(
            "Delivery over the last {} days, against the {} days before:",
            self.period.days(),
            self.period.days()
        );
        // Whole: where the platform limits a message, the adapter cuts it and attaches
        // the whole text (on Discord, `answer.txt`).
        let text = render::stats(&title, &all);
        Reply::Files {
            text,
            files: render::chart::attachments(&all),
        }
    }
}

impl Stats {
    /// The apps covered, each one the person may deploy from here.
    fn apps(&self, cx: &Context<'_>) -> Result<Vec<AppName>, Refusal> {
        let config = cx.engine.config();
        let may = |app: &crate::config::App| {
            access::app(config, cx.actor, cx.channel, app, Action::Deploy)
        };
        let Some(name) = &self.name else {
            let apps: Vec<AppName> = config
                .apps
                .values()
                .filter(|a| may(a).is_ok())
                .map(|a| a.name.clone())
                .collect();
            if apps.is_empty() {
                return Err(Refusal::NoAppToShow { project: None });
            }
            return Ok(apps);
        };
        let named: Vec<&crate::config::App> = match config.apps.values().find(|a| a.name.as_str() == name) {
            Some(app) => vec![app],
            None => {
                let project = config.projects.values().find(|p| p.name.as_str() == name);
                config
                    .apps
                    .values()
                    .filter(|a| {
                        project.is_some_and(|p| {
                            p.deploys.contains(&a.name) || a.built_by.as_ref() == Some(&p.name)
                        })
                    })
                    .collect()
            }
        };
        if named.is_empty() {
            return Err(Refusal::NoAppToShow {
                project: Some(name.clone()),
            });
        }
        for app in &named {
            may(app).map_err(Refusal::Denied)?;
        }
        Ok(named.into_iter().map(|a| a.name.clone()).collect())
    }
}
