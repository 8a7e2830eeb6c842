//! `/lock <app> <reason> [duration]`: holds an app for the person who locks it. Their
//! deploys go; everyone else's are refused, naming the holder, the reason and since
//! when; rollbacks still go. A lock lasts until `/unlock` (by its holder or an admin)
//! or, given a duration, until then. `/unlock <app>` lifts it.

use std::time::Duration;

use super::access::Action;
use super::spec::{Completion, Kind, OptionSpec, Spec};
use super::{Args, Context, Handler, ParseError, Refusal, Reply, allowed_app, app, invalid};
use crate::config::Config;
use crate::engine::NotLocked;
use crate::job::Person;
use crate::names::AppName;

/// The longest lock with a duration.
const LONGEST: Duration = Duration::from_secs(30 * 24 * 3600);
/// The longest reason kept.
const REASON_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub app: AppName,
    pub reason: String,
    /// `None`: until unlocked.
    pub lasting: Option<Duration>,
}

/// A duration from 1m to 30d, such as 2h or 45m.
fn lasting(raw: &str) -> Option<Duration> {
    humantime::parse_duration(raw)
        .ok()
        .filter(|d| *d >= Duration::from_secs(60) && *d <= LONGEST)
}

impl Handler for Lock {
    const SPEC: Spec = Spec {
        name: "lock",
        starts_job: false,
        usage: "/lock <app> <reason> [duration]",
        help: "hold an app for yourself: only your deploys go (and rollbacks)",
        options: &[
            OptionSpec::text(
                "app",
                "the app to lock",
                true,
                Completion::App(Action::Lock),
            ),
            OptionSpec {
                name: "reason",
                description: "why, for whoever is refused (a last word such as 2h is the duration)",
                kind: Kind::Rest,
                required: true,
                completion: Completion::Nothing,
            },
            OptionSpec {
                name: "duration",
                description: "how long, such as 2h (default: until /unlock)",
                kind: Kind::Tagged,
                required: false,
                completion: Completion::Nothing,
            },
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let app = app("lock", &args.required("app")?, config)?.name.clone();
        let mut reason = args.required("reason")?;
        let given = match args.text("duration") {
            Some(raw) => Some(lasting(&raw).ok_or_else(|| {
                invalid(
                    "lock",
                    format!(
                        "{} is not a duration from 1m to 30d, such as 2h or 45m.",
                        crate::names::shown(&raw)
                    ),
                )
            })?),
            None => None,
        };
        // Typed as one line, a last word that is a duration is the duration.
        let lasting = given.or_else(|| {
            let (words, last) = reason.rsplit_once(' ')?;
            let d = lasting(last)?;
            reason = words.trim_end().to_string();
            Some(d)
        });
        if reason.trim().is_empty()
            || reason.chars().count() > REASON_MAX
            || reason.chars().any(char::is_control)
        {
            return Err(invalid(
                "lock",
                format!("The reason must be one line of at most {REASON_MAX} characters."),
            ));
        }
        Ok(Lock {
            app,
            reason,
            lasting,
        })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        if let Err(refusal) = allowed_app(cx, &self.app, Action::Lock) {
            return Reply::Refused(refusal);
        }
        let holder = Person {
            id: cx.actor.id.clone(),
            name: cx.actor.name.clone(),
        };
        match cx
            .engine
            .holds()
            .lock(&holder, &self.app, self.lasting, &self.reason, false)
            .await
        {
            Ok(f) => Reply::Info(format!(
                "{}. Only your deploys to {} go now, and rollbacks; /unlock {} lifts it.",
                crate::render::freeze_line(&f, cx.engine.view()),
                self.app,
                self.app
            )),
            Err(NotLocked::Held(f)) => Reply::Refused(Refusal::AlreadyLocked(f)),
            Err(NotLocked::Store(e)) => Reply::Refused(Refusal::LockNotRecorded(e)),
        }
    }
}
