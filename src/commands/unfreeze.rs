//! `/unfreeze <app|all>`: lifts the freezes people put on an app (`all`: every freeze).
//! A configured window is policy: it is changed in the configuration, not from chat.
//! Whoever may freeze may lift their own freezes; another person's only an admin may
//! (`access::may_lift`), and then nothing is lifted, not even the person's own.

use super::access;
use super::spec::{Completion, OptionSpec, Spec};
use super::{Args, Context, Handler, ParseError, Refusal, Reply};
use crate::config::Config;
use crate::engine::NotLifted;
use crate::freeze::Scope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfreeze {
    pub scope: Scope,
}

impl Handler for Unfreeze {
    const SPEC: Spec = Spec {
        name: "unfreeze",
        starts_job: false,
        usage: "/unfreeze <app|all>",
        help: "lift a freeze before its time",
        options: &[OptionSpec::text(
            "app",
            "the app to unfreeze, or all",
            true,
            Completion::FreezeTarget,
        )],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let scope = super::freeze::scope("unfreeze", &args.required("app")?, config)?;
        Ok(Unfreeze { scope })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        if let Err(refusal) = super::freeze::allowed(cx, &self.scope) {
            return Reply::Refused(refusal);
        }
        let config = cx.engine.config();
        let may_lift = |f: &crate::freeze::Freeze| access::may_lift(config, cx.actor, f);
        let lifted = match cx.engine.holds().unfreeze(cx.actor, &self.scope, false, may_lift).await {
            Ok(lifted) => lifted,
            Err(NotLifted::Refused(denied)) => return Reply::Refused(Refusal::Denied(denied)),
            Err(NotLifted::Store(e)) => return Reply::Refused(Refusal::UnfreezeNotRecorded(e)),
        };
        if lifted.is_empty() {
            let windows = match &self.scope {
                Scope::App(app) => cx
                    .engine
                    .config()
                    .apps
                    .get(app)
                    .map(|a| a.freeze.windows().iter().map(|w| w.text().to_string()).collect())
                    .unwrap_or_default(),
                Scope::All => Vec::new(),
            };
            return Reply::Refused(Refusal::NotFrozen {
                scope: self.scope.as_str().to_string(),
                windows,
            });
        }
        let mut text = format!("Lifted {} freeze{}:", lifted.len(), if lifted.len() == 1 { "" } else { "s" });
        for f in &lifted {
            text.push('\n');
            text.push_str(&crate::render::freeze_line(f, cx.engine.view()));
        }
        // Another freeze (on all apps, or a window) may still hold.
        if let Scope::App(app) = &self.scope
            && let Some(still) = cx.engine.holds().frozen(app)
        {
            text.push('\n');
            text.push_str(&crate::render::frozen(app, &still, cx.engine.view()));
        }
        Reply::Info(text)
    }
}
