//! `/freeze <app|all> <duration> <reason>`: no deploys, releases or promotions to the
//! app (or any app) until the time is up or someone unfreezes it. Rollbacks still go,
//! and an admin may deploy through it with a reason; both are audited.

use std::time::Duration;

use super::access::{self, Action};
use super::spec::{Completion, Kind, OptionSpec, Spec};
use super::{Args, Context, Handler, ParseError, Refusal, Reply, allowed_app, invalid, unknown};
use crate::config::Config;
use crate::freeze::Scope;

/// The longest freeze: a longer one is a policy, which belongs in the configuration.
const LONGEST: Duration = Duration::from_secs(30 * 24 * 3600);
/// The longest reason kept.
const REASON_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freeze {
    pub scope: Scope,
    pub lasting: Duration,
    pub reason: String,
}

/// `web` or `all`, as configured.
pub(super) fn scope(command: &'static str, raw: &str, config: &Config) -> Result<Scope, ParseError> {
    match Scope::parse(raw) {
        Some(Scope::App(a)) if config.apps.contains_key(&a) => Ok(Scope::App(a)),
        Some(Scope::All) => Ok(Scope::All),
        _ => {
            let mut names: Vec<&str> = config.apps.keys().map(|a| a.as_str()).collect();
            names.push("all");
            Err(unknown(command, "app", raw, &names))
        }
    }
}

/// May the person freeze (or unfreeze) `scope` from here?
pub(super) fn allowed(cx: &Context<'_>, scope: &Scope) -> Result<(), Refusal> {
    match scope {
        Scope::All => access::all_apps(cx.engine.config(), cx.actor, Action::Freeze)
            .map_err(Refusal::Denied),
        Scope::App(app) => allowed_app(cx, app, Action::Freeze).map(|_| ()),
    }
}

impl Handler for Freeze {
    const SPEC: Spec = Spec {
        name: "freeze",
        starts_job: false,
        usage: "/freeze <app|all> <duration> <reason>",
        help: "stop deploys to an app (or all) for a while; rollbacks still go",
        options: &[
            OptionSpec::text(
                "app",
                "the app to freeze, or all",
                true,
                Completion::FreezeTarget,
            ),
            OptionSpec::text(
                "duration",
                "how long, such as 2h or 30m",
                true,
                Completion::Nothing,
            ),
            OptionSpec {
                name: "reason",
                description: "why, for whoever is refused",
                kind: Kind::Rest,
                required: true,
                completion: Completion::Nothing,
            },
        ],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let scope = scope("freeze", &args.required("app")?, config)?;
        let raw = args.required("duration")?;
        let lasting = humantime::parse_duration(&raw)
            .ok()
            .filter(|d| *d >= Duration::from_secs(60) && *d <= LONGEST)
            .ok_or_else(|| {
                invalid(
                    "freeze",
                    format!(
                        "{} is not a duration from 1m to 30d, such as 2h or 45m.",
                        crate::names::shown(&raw)
                    ),
                )
            })?;
        let reason = args.required("reason")?;
        if reason.chars().count() > REASON_MAX || reason.chars().any(char::is_control) {
            return Err(invalid(
                "freeze",
                format!("The reason must be one line of at most {REASON_MAX} characters."),
            ));
        }
        Ok(Freeze {
            scope,
            lasting,
            reason,
        })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        if let Err(refusal) = allowed(cx, &self.scope) {
            return Reply::Refused(refusal);
        }
        match cx
            .engine
            .holds()
            .freeze(cx.actor, self.scope.clone(), self.lasting, &self.reason).await
        {
            Ok(f) => Reply::Info(format!(
                "{}. Deploys, releases and promotions to {} are refused until then; rollbacks still go, and an admin may add override: and a reason. /unfreeze {} lifts it.",
                crate::render::freeze_line(&f, cx.engine.view()),
                match &f.scope {
                    Scope::All => "any app".to_string(),
                    Scope::App(a) => a.to_string(),
                },
                f.scope.as_str()
            )),
            Err(e) => Reply::Refused(Refusal::FreezeNotRecorded(e)),
        }
    }
}
