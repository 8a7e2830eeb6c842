//! `/status [#job]`: what is running, or one job in detail.

use super::spec::{Kind, OptionSpec, Spec};
use super::suggest::JobsFor;
use super::{Args, Context, Handler, ParseError, Refusal, Reply, invalid};
use crate::config::Config;
use crate::names::JobId;
use crate::render;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub job: Option<JobId>,
}

impl Handler for Status {
    const SPEC: Spec = Spec {
        name: "status",
        starts_job: false,
        usage: "/status [#job]",
        help: "what is running, or one job",
        options: &[OptionSpec {
            required: false,
            kind: Kind::Job,
            ..OptionSpec::job("one job (default: everything running)", JobsFor::Status)
        }],
    };

    fn parse(args: &Args, _config: &Config) -> Result<Self, ParseError> {
        let job = args
            .text("job")
            .map(|raw| JobId::parse(&raw).map_err(|e| invalid("status", e)))
            .transpose()?;
        Ok(Status { job })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        match self.job {
            Some(id) => match cx.engine.job_record(id) {
                Some(r) => {
                    let mut text = render::status_line(&r, cx.engine.view());
                    if let Some(outcome) = render::outcome(&r, cx.engine.view()) {
                        text.push_str(&format!("\n{outcome}"));
                    }
                    if let Some(thread) = &r.messages.thread {
                        text.push_str(&format!(
                            "\nthread: {} ({})",
                            render::thread_title(&r),
                            thread.thread
                        ));
                    }
                    Reply::Info(text)
                }
                None => Reply::Refused(Refusal::NoSuchJob(id)),
            },
            None => {
                let live = cx.engine.live_jobs();
                let mut text = if live.is_empty() {
                    let last = cx.engine.recent_jobs().into_iter().next();
                    match last {
                        Some(r) => format!("Nothing is running. Last: {}", render::status_line(&r, cx.engine.view())),
                        None => "Nothing is running.".into(),
                    }
                } else {
                    let lines: Vec<String> = live
                        .iter()
                        .map(|r| render::status_line(r, cx.engine.view()))
                        .collect();
                    format!("{} running:\n{}", live.len(), lines.join("\n"))
                };
                for line in frozen(cx) {
                    text.push('\n');
                    text.push_str(&line);
                }
                Reply::Info(text)
            }
        }
    }
}

/// The freezes that hold now: those people put on, and each app's window in force.
fn frozen(cx: &Context<'_>) -> Vec<String> {
    let view = cx.engine.view();
    let mut lines: Vec<String> = cx
        .engine
        .freezes()
        .iter()
        .map(|f| render::freeze_line(f, view))
        .collect();
    for app in cx.engine.config().apps.keys() {
        if let Some(f @ crate::freeze::Frozen::Window(_)) = cx.engine.frozen(app) {
            lines.push(format!("❄ {}", render::frozen(app, &f, view)));
        }
    }
    lines
}
