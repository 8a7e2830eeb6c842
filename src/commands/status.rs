//! `/status [#job]`: what is running, or one job in detail. Each person sees only the
//! jobs and freezes of projects and apps they may read from where they ask
//! (`access::read_job`); freezes of all apps concern everyone.

use super::access;
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
        let config = cx.engine.config();
        let readable = |r: &crate::job::JobRecord| {
            access::read_job(config, cx.actor, cx.channel, r).is_ok()
        };
        match self.job {
            Some(id) => match cx.engine.job_record(id).await {
                Some(r) => {
                    if let Err(denied) = access::read_job(config, cx.actor, cx.channel, &r) {
                        return Reply::Refused(Refusal::Denied(denied));
                    }
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
                let mut live = cx.engine.live_jobs();
                live.retain(|r| readable(r));
                let mut text = if live.is_empty() {
                    let last = cx.engine.recent_jobs().into_iter().find(|r| readable(r));
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

/// The freezes and locks that hold now that the person may read: those people put on,
/// and each app's window in force.
fn frozen(cx: &Context<'_>) -> Vec<String> {
    let view = cx.engine.view();
    let config = cx.engine.config();
    let readable = |scope: &crate::freeze::Scope| {
        access::read_scope(config, cx.actor, cx.channel, scope)
    };
    let mut lines: Vec<String> = cx
        .engine
        .holds()
        .freezes()
        .iter()
        .filter(|f| readable(&f.scope))
        .map(|f| render::freeze_line(f, view))
        .collect();
    for app in config.apps.keys() {
        if !readable(&crate::freeze::Scope::App(app.clone())) {
            continue;
        }
        for f in cx.engine.holds().holds(app) {
            if let crate::freeze::Frozen::Window(_) = f {
                lines.push(format!("❄ {}", render::frozen(app, &f, view)));
            }
        }
    }
    lines
}
