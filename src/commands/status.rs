//! `/status [#job]`: what is running, or one job in detail.

use super::{Context, arity, job_id};
use crate::chat::Reply;
use crate::names::JobId;
use crate::render;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub job: Option<JobId>,
}

impl Status {
    pub fn parse(args: &[&str]) -> Result<Self, String> {
        arity("status", args, 0, 1)?;
        Ok(Status {
            job: args.first().map(|a| job_id("status", a)).transpose()?,
        })
    }

    pub fn apply(self, cx: &Context<'_>) -> Reply {
        match self.job {
            Some(id) => match cx.engine.job_record(id) {
                Some(r) => {
                    let mut text = render::status_line(&r);
                    if let Some(outcome) = render::outcome(&r) {
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
                None => Reply::Refused(format!("There is no job {id}.")),
            },
            None => {
                let live = cx.engine.live_jobs();
                if live.is_empty() {
                    let last = cx.engine.recent_jobs().into_iter().next();
                    Reply::Info(match last {
                        Some(r) => format!("Nothing is running. Last: {}", render::status_line(&r)),
                        None => "Nothing is running.".into(),
                    })
                } else {
                    let lines: Vec<String> = live.iter().map(render::status_line).collect();
                    Reply::Info(format!("{} running:\n{}", live.len(), lines.join("\n")))
                }
            }
        }
    }
}
