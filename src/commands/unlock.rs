//! `/unlock <app>`: lifts the lock on an app (`/lock`), by its holder or an admin.
//! The lifting is kept with the lock (who, and when) and shown in `/history`.

use super::access::{self, Action};
use super::spec::{Completion, OptionSpec, Spec};
use super::{Args, Context, Handler, ParseError, Refusal, Reply, allowed_app, app};
use crate::config::Config;
use crate::engine::NotLifted;
use crate::freeze::Scope;
use crate::names::AppName;

/// `/unlock <app>`: lifts the lock on an app, by its holder or an admin (the lifting is
/// kept with the lock: who, and when).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlock {
    pub app: AppName,
}

impl Handler for Unlock {
    const SPEC: Spec = Spec {
        name: "unlock",
        starts_job: false,
        usage: "/unlock <app>",
        help: "lift your lock on an app (an admin: anyone's)",
        options: &[OptionSpec::text(
            "app",
            "the app to unlock",
            true,
            Completion::App(Action::Lock),
        )],
    };

    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError> {
        let app = app("unlock", &args.required("app")?, config)?.name.clone();
        Ok(Unlock { app })
    }

    async fn apply(self, cx: &Context<'_>) -> Reply {
        if let Err(refusal) = allowed_app(cx, &self.app, Action::Lock) {
            return Reply::Refused(refusal);
        }
        let config = cx.engine.config();
        let may_lift = |f: &crate::freeze::Freeze| access::may_lift(config, cx.actor, f);
        let scope = Scope::App(self.app.clone());
        let lifted = match cx.engine.holds().unfreeze(cx.actor, &scope, true, may_lift).await {
            Ok(lifted) => lifted,
            Err(NotLifted::Refused(denied)) => return Reply::Refused(Refusal::Denied(denied)),
            Err(NotLifted::Store(e)) => return Reply::Refused(Refusal::UnlockNotRecorded(e)),
        };
        let Some(f) = lifted.first() else {
            return Reply::Refused(Refusal::NotLocked {
                app: self.app.to_string(),
            });
        };
        let holder = f.holder.as_ref().unwrap_or(&f.by);
        let mut text = format!(
            "Unlocked {} (locked by {} since {}); anyone who may deploy it can again.",
            self.app,
            cx.engine.view().text(&holder.name),
            crate::render::time_of_day(f.at_ms)
        );
        // A freeze (or a window) may still hold.
        if let Some(still) = cx.engine.holds().frozen(&self.app) {
            text.push('\n');
            text.push_str(&crate::render::frozen(&self.app, &still, cx.engine.view()));
        }
        Reply::Info(text)
    }
}
