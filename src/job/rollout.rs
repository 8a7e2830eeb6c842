//! Deploy truth: deciding from what the app shows whether THIS deploy's rollout has
//! started, finished or failed (`docs/paas.md#deploy-truth`, `#rollout-timing`).
//!
//! Stock Rancher's upgrade action only rewrites the app's answers: for a while the app
//! shows the new tag with the OLD status (the previous rollout `active`, or the
//! previous deploy's failure). So the tag proves nothing about the rollout. A rollout
//! counts as this deploy's only once the app shows a sign that the PaaS took the
//! upgrade up after the action: a new revision, a condition that changed or was
//! updated later, a new state, `transitioning`. Until then nothing it shows is this
//! deploy's outcome. After that, success needs the app `active` with `Installed` and
//! `Deployed` True, seen again after a settle window (an app can show `active` before
//! its pods rolled); `Installed` False is the helm error.

use serde::{Deserialize, Serialize};

use crate::ids::AppId;
use crate::names::VersionTag;

/// A condition's status, as Rancher's `True`, `False` or `Unknown` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CondStatus {
    True,
    False,
    /// Last: anything else reads as unknown.
    #[serde(other)]
    Unknown,
}

/// One app condition, as far as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cond {
    pub status: CondStatus,
    pub updated_ms: Option<i64>,
    pub message: Option<String>,
}

/// What an app showed at one moment, as far as the decision needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSnapshot {
    /// `state`, lowercased.
    pub state: Option<String>,
    pub transitioning: Option<String>,
    pub message: Option<String>,
    pub revision: Option<String>,
    pub installed: Option<Cond>,
    pub deployed: Option<Cond>,
    /// The tag the app reports (its answers), which the upgrade rewrites at once.
    pub tag: Option<String>,
}

impl AppSnapshot {
    /// Whether this reading shows the PaaS took an upgrade up since `before` (the app
    /// read just before the action). The reported tag does not count: the action
    /// itself rewrites it.
    pub fn moved_since(&self, before: &AppSnapshot) -> bool {
        let revision = self.revision.is_some() && self.revision != before.revision;
        let transitioning = self.transitioning.as_deref() == Some("yes")
            && before.transitioning.as_deref() != Some("yes");
        revision
            || transitioning
            || self.state != before.state
            || cond_moved(self.installed.as_ref(), before.installed.as_ref())
            || cond_moved(self.deployed.as_ref(), before.deployed.as_ref())
    }

    /// What this reading says of a rollout under way.
    pub fn reading(&self) -> Reading {
        let status = |c: &Option<Cond>| c.as_ref().map(|c| c.status);
        let state = self.state.as_deref().unwrap_or("");
        if let Some(c) = self
            .installed
            .as_ref()
            .filter(|c| c.status == CondStatus::False)
        {
            return Reading::Failed {
                message: c
                    .message
                    .clone()
                    .or_else(|| self.message.clone())
                    .unwrap_or_else(|| "helm reported an error".into()),
            };
        }
        if self.transitioning.as_deref() == Some("error") || state == "error" {
            return Reading::Failed {
                message: self
                    .message
                    .clone()
                    .unwrap_or_else(|| "the app is in an error state".into()),
            };
        }
        if status(&self.installed) == Some(CondStatus::Unknown) || state == "installing" {
            return Reading::Installing {
                message: self.message.clone(),
            };
        }
        let deployed_pending = self
            .deployed
            .as_ref()
            .is_some_and(|c| c.status != CondStatus::True);
        if deployed_pending || state == "deploying" || self.transitioning.as_deref() == Some("yes")
        {
            return Reading::Deploying {
                message: self
                    .deployed
                    .as_ref()
                    .and_then(|c| c.message.clone())
                    .or_else(|| self.message.clone()),
            };
        }
        // A PaaS that shows no state at all is judged by its conditions alone.
        let conditions_say_done = self.installed.is_some() || self.deployed.is_some();
        if state == "active" || (state.is_empty() && conditions_say_done) {
            return Reading::Active;
        }
        Reading::Other {
            state: if state.is_empty() {
                "unknown".into()
            } else {
                state.to_string()
            },
        }
    }

    /// What the app shows, for a person: `active, tag v1.2.2, revision apprevision-3`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.state.clone().unwrap_or_else(|| "no state".into())];
        let cond = |name: &str, c: &Option<Cond>| {
            c.as_ref().map(|c| {
                let status = match c.status {
                    CondStatus::True => "True",
                    CondStatus::False => "False",
                    CondStatus::Unknown => "Unknown",
                };
                format!("{name} {status}")
            })
        };
        parts.extend(cond("Installed", &self.installed));
        parts.extend(cond("Deployed", &self.deployed));
        if let Some(tag) = &self.tag {
            parts.push(format!("tag {tag}"));
        }
        if let Some(revision) = &self.revision {
            parts.push(format!("revision {revision}"));
        }
        parts.join(", ")
    }
}

/// Whether an upgrade to `tag` was carried out, from the app read before it was sent
/// and read now: the tag the app reports moved to `tag`, or the app shows any sign of
/// a rollout since. The one rule for every doubt about an upgrade: after a restart,
/// and after a request whose answer was lost (the PaaS client's confirmation).
pub fn carried_out(before: &AppSnapshot, now: &AppSnapshot, tag: &str) -> bool {
    let tag_moved = now.tag.as_deref() == Some(tag) && before.tag.as_deref() != Some(tag);
    tag_moved || now.moved_since(before)
}

fn cond_moved(now: Option<&Cond>, before: Option<&Cond>) -> bool {
    match (now, before) {
        (Some(now), Some(before)) => {
            now.status != before.status
                || (now.updated_ms.is_some() && now.updated_ms > before.updated_ms)
                || (now.status == CondStatus::False && now.message != before.message)
        }
        // A condition that appears is the controller at work.
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// What one reading of the app says of a rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Installing { message: Option<String> },
    Deploying { message: Option<String> },
    Active,
    Failed { message: String },
    Other { state: String },
}

/// A phase a rollout went through, as the progress message lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Phase {
    Installing,
    Deploying,
    Active,
    Failed,
    Other(String),
}

impl From<String> for Phase {
    fn from(s: String) -> Self {
        Phase::parse(&s)
    }
}

impl From<Phase> for String {
    fn from(p: Phase) -> Self {
        p.as_str().to_string()
    }
}

impl Phase {
    pub fn as_str(&self) -> &str {
        match self {
            Phase::Installing => "installing",
            Phase::Deploying => "deploying",
            Phase::Active => "active",
            Phase::Failed => "failed",
            Phase::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> Phase {
        match s {
            "installing" => Phase::Installing,
            "deploying" => Phase::Deploying,
            "active" => Phase::Active,
            "failed" => Phase::Failed,
            other => Phase::Other(other.to_string()),
        }
    }
}

/// Where the upgrade request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Upgrade {
    NotSent,
    /// Recorded as about to be sent; whether it was is unknown after a restart.
    Intended {
        at_ms: i64,
    },
    /// Accepted by the PaaS.
    Sent {
        intent_ms: i64,
        at_ms: i64,
    },
}

/// The deploy part of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployProgress {
    /// The Rancher app upgraded.
    pub app_id: AppId,
    pub tag: VersionTag,
    /// The tag live before, when known: from the PaaS, or the last successful deploy.
    pub from_tag: Option<String>,
    /// Whether `from_tag` has been looked for.
    pub looked_up: bool,
    /// What the deploy changes, found when `from_tag` was looked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::job::changes::Changes>,
    /// The app as read just before the upgrade.
    pub baseline: Option<AppSnapshot>,
    pub upgrade: Upgrade,
    pub rollout: Rollout,
    /// Where a rollback of the app goes, offered under this deploy once it went wrong
    /// after reaching the app: decided by the rule `/rollback` follows
    /// ([`crate::job::incident::rollback_target`]), so the offer and the command agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<VersionTag>,
    /// The rules set aside for this deploy, each audited once when it was.
    #[serde(default, skip_serializing_if = "Waived::is_none")]
    pub waived: Waived,
}

/// Rules a deploy was let through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waived {
    /// It deploys through a freeze (a rollback, or an admin's override).
    #[serde(default)]
    pub freeze: bool,
    /// A rollback whose app lets rollbacks skip the approval.
    #[serde(default)]
    pub approval: bool,
}

impl Waived {
    pub fn is_none(&self) -> bool {
        *self == Waived::default()
    }
}

/// What the rollout has shown since the upgrade.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// When the app first showed a sign of taking the upgrade up.
    pub picked_up_ms: Option<i64>,
    pub phases: Vec<Phase>,
    /// What Rancher says about the rollout now (workloads updating, the helm error).
    pub message: Option<String>,
    /// Since when the new rollout has read `active` without a break.
    pub active_since_ms: Option<i64>,
    /// The latest reading, to say what the app shows if it never moves.
    pub latest: Option<AppSnapshot>,
    pub done: bool,
    pub failed: bool,
}

/// What a reading decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No sign yet that the PaaS took the upgrade up.
    NotPickedUp,
    Rolling,
    /// Reads `active`; confirmed by a reading at or after `until_ms`.
    Settling {
        until_ms: i64,
    },
    Done,
    Failed {
        message: String,
    },
}

impl DeployProgress {
    pub fn new(app_id: AppId, tag: VersionTag) -> Self {
        DeployProgress {
            app_id,
            tag,
            from_tag: None,
            looked_up: false,
            changes: None,
            baseline: None,
            upgrade: Upgrade::NotSent,
            rollout: Rollout::default(),
            rollback_to: None,
            waived: Waived::default(),
        }
    }

    pub fn sent_ms(&self) -> Option<i64> {
        match self.upgrade {
            Upgrade::Sent { at_ms, .. } => Some(at_ms),
            _ => None,
        }
    }

    pub fn intent_ms(&self) -> Option<i64> {
        match self.upgrade {
            Upgrade::Intended { at_ms }
            | Upgrade::Sent {
                intent_ms: at_ms, ..
            } => Some(at_ms),
            Upgrade::NotSent => None,
        }
    }

    /// Takes one reading of the app after the upgrade was sent.
    pub fn observe(&mut self, app: &AppSnapshot, now_ms: i64, settle_ms: i64) -> Verdict {
        let r = &mut self.rollout;
        r.latest = Some(app.clone());
        if r.done {
            return Verdict::Done;
        }
        if r.picked_up_ms.is_none() {
            let before = self.baseline.clone().unwrap_or_default();
            if !app.moved_since(&before) {
                return Verdict::NotPickedUp;
            }
            r.picked_up_ms = Some(now_ms);
        }
        let reading = app.reading();
        let phase = match &reading {
            Reading::Installing { .. } => Phase::Installing,
            Reading::Deploying { .. } => Phase::Deploying,
            Reading::Active => Phase::Active,
            Reading::Failed { .. } => Phase::Failed,
            Reading::Other { state } => Phase::Other(state.clone()),
        };
        if r.phases.last() != Some(&phase) {
            r.phases.push(phase);
        }
        match reading {
            Reading::Active => {
                r.message = None;
                let since = *r.active_since_ms.get_or_insert(now_ms);
                if now_ms >= since.saturating_add(settle_ms) {
                    r.done = true;
                    Verdict::Done
                } else {
                    Verdict::Settling {
                        until_ms: since.saturating_add(settle_ms),
                    }
                }
            }
            Reading::Failed { message } => {
                r.active_since_ms = None;
                r.message = Some(message.clone());
                r.failed = true;
                Verdict::Failed { message }
            }
            Reading::Installing { message } | Reading::Deploying { message } => {
                r.active_since_ms = None;
                r.message = message;
                Verdict::Rolling
            }
            Reading::Other { .. } => {
                r.active_since_ms = None;
                Verdict::Rolling
            }
        }
    }

    /// Whether the app, read now, shows this deploy's upgrade was carried out (after
    /// a restart between recording it and learning its answer).
    pub fn carried_out(&self, app: &AppSnapshot) -> bool {
        carried_out(
            &self.baseline.clone().unwrap_or_default(),
            app,
            self.tag.as_str(),
        )
    }

    /// What the app shows, for a deploy the PaaS never took up.
    pub fn shows(&self) -> String {
        self.rollout
            .latest
            .as_ref()
            .or(self.baseline.as_ref())
            .map(AppSnapshot::describe)
            .unwrap_or_else(|| "nothing".into())
    }
}
