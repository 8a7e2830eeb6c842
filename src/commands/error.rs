//! Why a command changed nothing, as types: [`ParseError`] for input that is not a
//! valid command, [`Refusal`] for a valid one that may not or cannot be carried out.
//! [`super::Reply::text`] turns them into the one sentence the person reads, here at
//! the chat edge and nowhere else.

use super::incident::IncidentError;
use crate::engine::StartError;
use crate::job::decisions::CancelError;
use crate::job::incident::{PromoteRefusal, RollbackRefusal};
use crate::names::JobId;
use crate::paas::PaasError;
use crate::store::StoreError;

/// Input that is not a valid command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    TooLong {
        max: usize,
    },
    ControlCharacters,
    /// Not one of the commands; the closest one, if any is close.
    UnknownCommand {
        given: String,
        near: Option<&'static str>,
    },
    Missing {
        command: &'static str,
        option: &'static str,
    },
    TooMany {
        command: &'static str,
        from: String,
    },
    /// A single word was expected.
    Spaces {
        command: &'static str,
        option: &'static str,
    },
    /// A project or app that is not configured.
    Unknown {
        command: &'static str,
        kind: &'static str,
        given: String,
        near: Vec<String>,
        all: Vec<String>,
    },
    /// A branch, tag, job number or duration that does not parse.
    Invalid {
        command: &'static str,
        problem: String,
    },
    /// `/release` of a project that deploys nothing.
    NothingToDeploy {
        command: &'static str,
        project: String,
    },
}

impl ParseError {
    /// The command whose usage helps, if the error is about one.
    pub fn command(&self) -> Option<&'static str> {
        match self {
            ParseError::Missing { command, .. }
            | ParseError::TooMany { command, .. }
            | ParseError::Spaces { command, .. }
            | ParseError::Unknown { command, .. }
            | ParseError::Invalid { command, .. }
            | ParseError::NothingToDeploy { command, .. } => Some(command),
            _ => None,
        }
    }

    /// The sentence, without the usage.
    pub fn sentence(&self) -> String {
        match self {
            ParseError::Empty => "Type a command, such as /build web; /help lists them all.".into(),
            ParseError::TooLong { max } => {
                format!("That command is too long (at most {max} characters).")
            }
            ParseError::ControlCharacters => "Commands cannot contain control characters.".into(),
            ParseError::UnknownCommand { given, near } => {
                let hint = near
                    .map(|n| format!(" Did you mean /{n}?"))
                    .unwrap_or_default();
                format!("{given} is not a command.{hint} Type /help for the commands.")
            }
            ParseError::Missing { option, .. } => format!("The {option} is missing."),
            ParseError::TooMany { from, .. } => format!("Too many arguments (from {from})."),
            ParseError::Spaces { option, .. } => format!("The {option} cannot contain spaces."),
            ParseError::Unknown {
                kind,
                given,
                near,
                all,
                ..
            } => {
                if all.is_empty() {
                    format!("There is no {kind} {given} (none is configured).")
                } else if near.is_empty() {
                    format!(
                        "There is no {kind} {given}; the {kind}s are {}.",
                        all.join(", ")
                    )
                } else {
                    format!(
                        "There is no {kind} {given}; did you mean {}?",
                        near.join(" or ")
                    )
                }
            }
            ParseError::Invalid { problem, .. } => problem.clone(),
            ParseError::NothingToDeploy { project, .. } => format!(
                "{project} deploys no app (set deploys in [projects.{project}]), so only /build works for it."
            ),
        }
    }
}

/// Why access was denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The project or app is limited to its own channels.
    WrongChannel { name: String },
    NeedsRole {
        doing: &'static str,
        name: String,
        roles: Vec<String>,
    },
    /// Only the requester, an approver of the app or an admin may cancel a job.
    NotYours { job: JobId, requester: String },
    /// Only an admin may do this (override a freeze).
    AdminOnly { doing: &'static str },
    /// A job of a project or app the person may not read (from here); which one is
    /// not said.
    JobUnreadable { job: JobId },
    /// A freeze someone else put on: only they or an admin may lift it.
    OthersFreeze { scope: String, by: String },
    /// A lock someone else holds: only they or an admin may lift it.
    OthersLock { app: String, holder: String },
}

/// A valid command that was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Restarting,
    Denied(Denied),
    NotConfigured {
        name: String,
    },
    NotStarted(StartError),
    NoSuchJob(JobId),
    Cancel(CancelError),
    HistoryUnreadable(StoreError),
    LogsUnreadable {
        app: String,
        error: PaasError,
    },
    /// A rollback or promotion found nothing to deploy.
    Incident(IncidentError),
    /// A freeze could not be recorded, so it is not in force.
    FreezeNotRecorded(StoreError),
    /// Lifting freezes could not be recorded, so they still hold.
    UnfreezeNotRecorded(StoreError),
    /// A button on a message that no longer offers it.
    StaleButton(JobId),
    /// A lock could not be recorded, so it does not hold.
    LockNotRecorded(StoreError),
    /// Lifting a lock could not be recorded, so it still holds.
    UnlockNotRecorded(StoreError),
    /// `/lock` of an app a lock holds already.
    AlreadyLocked(Box<crate::freeze::Freeze>),
    /// `/unlock` of an app nobody holds a lock on.
    NotLocked {
        app: String,
    },
    /// `/unfreeze` of something not frozen by anyone.
    NotFrozen {
        scope: String,
        windows: Vec<String>,
    },
    /// `/stats` found no app to show: the person may deploy none from here, or the
    /// project named deploys none.
    NoAppToShow {
        project: Option<String>,
    },
}

impl Refusal {
    pub fn sentence(&self) -> String {
        match self {
            Refusal::Restarting => "releasebot is restarting; try again in a minute.".into(),
            Refusal::Denied(Denied::WrongChannel { name }) => {
                format!("{name} can only be used from its own channels, not from here.")
            }
            Refusal::Denied(Denied::NeedsRole { doing, name, roles }) => format!(
                "{doing} {name} needs the role {}.",
                crate::render::or_list(roles)
            ),
            Refusal::Denied(Denied::NotYours { job, requester }) => format!(
                "Only {requester} (who asked), an approver of its app or an admin may cancel {job}."
            ),
            Refusal::Denied(Denied::AdminOnly { doing }) => {
                format!("Only an admin may {doing}; nothing was started.")
            }
            Refusal::Denied(Denied::JobUnreadable { job }) => {
                format!("{job} belongs to a project or app whose jobs you may not read from here.")
            }
            Refusal::Denied(Denied::OthersLock { app, holder }) => format!(
                "{holder} holds the lock on {app}, so only {holder} or an admin may unlock it; nothing was unlocked."
            ),
            Refusal::Denied(Denied::OthersFreeze { scope, by }) => format!(
                "{by} froze {scope}, so only {by} or an admin may lift that freeze; nothing was lifted."
            ),
            Refusal::NotConfigured { name } => format!("{name} is no longer configured."),
            Refusal::NotStarted(StartError::Stopping) => Refusal::Restarting.sentence(),
            Refusal::NotStarted(StartError::Frozen { app, frozen }) if matches!(&**frozen, crate::freeze::Frozen::By(f) if f.is_lock()) => {
                crate::render::frozen(app, frozen, &crate::render::View::default())
            }
            Refusal::NotStarted(StartError::Frozen { app, frozen }) => format!(
                "{} Only a rollback deploys to it now, or an admin who adds override: and a reason.",
                crate::render::frozen(app, frozen, &crate::render::View::default())
            ),
            Refusal::NotStarted(StartError::NotRecorded(e)) => {
                format!("releasebot cannot record new jobs right now, so it started nothing ({e}).")
            }
            Refusal::NoSuchJob(id) => format!("There is no job {id}."),
            Refusal::Cancel(e) => crate::render::cancel_refusal(e),
            Refusal::NoAppToShow { project: None } => {
                "You may deploy no app from here, so there are no delivery stats to show.".into()
            }
            Refusal::NoAppToShow {
                project: Some(name),
            } => format!("{name} deploys no app, so there are no delivery stats to show."),
            Refusal::HistoryUnreadable(e) => {
                format!("The history cannot be read right now ({e}).")
            }
            Refusal::LogsUnreadable { app, error } => {
                format!("The deploy logs of {app} could not be read. {error}")
            }
            Refusal::Incident(e) => incident(e),
            Refusal::StaleButton(job) => {
                format!("That button belongs to an older message of {job}, so it changed nothing.")
            }
            Refusal::UnfreezeNotRecorded(e) => {
                format!("The lifting could not be recorded, so the freeze still holds ({e}).")
            }
            Refusal::FreezeNotRecorded(e) => {
                format!("The freeze could not be recorded, so it is not in force ({e}).")
            }
            Refusal::LockNotRecorded(e) => {
                format!("The lock could not be recorded, so it does not hold ({e}).")
            }
            Refusal::UnlockNotRecorded(e) => {
                format!("The unlocking could not be recorded, so the lock still holds ({e}).")
            }
            Refusal::AlreadyLocked(f) => format!(
                "{} /unlock {} lifts it first.",
                crate::render::locked(f.scope.as_str(), f, &crate::render::View::default()),
                f.scope.as_str()
            ),
            Refusal::NotLocked { app } => {
                format!("Nobody holds a lock on {app}; there is nothing to unlock.")
            }
            Refusal::NotFrozen { scope, windows } if windows.is_empty() => {
                format!("Nobody has frozen {scope}; there is nothing to lift.")
            }
            Refusal::NotFrozen { scope, windows } => format!(
                "Nobody has frozen {scope}; its configured window {} cannot be lifted from chat (see [apps.{scope}] freeze).",
                windows.join(", ")
            ),
        }
    }
}

/// Why a rollback or a promotion found nothing to deploy.
fn incident(e: &IncidentError) -> String {
    match e {
        IncidentError::Rollback(RollbackRefusal::NothingEarlier { app, live }) => match live {
            Some(live) => format!(
                "There is nothing to roll {app} back to: history shows no successful deploy of it other than {live}, which runs now."
            ),
            None => format!(
                "There is nothing to roll {app} back to: history shows no successful deploy of it."
            ),
        },
        IncidentError::Rollback(RollbackRefusal::NeverSucceeded { app, tag }) => format!(
            "History shows no successful deploy of {tag} to {app}; /history {app} lists those that succeeded."
        ),
        IncidentError::Promote(PromoteRefusal::NeverDeployed { from }) => {
            format!(
                "releasebot never deployed {from}, so it does not know what runs there; nothing was promoted."
            )
        }
        IncidentError::Promote(PromoteRefusal::LastFailed {
            from,
            job,
            tag,
            state,
        }) => format!(
            "The last deploy to {from} ({job}, {tag}) {}, so what runs there is not known good; nothing was promoted.",
            state.as_str()
        ),
        IncidentError::Promote(PromoteRefusal::Deploying { from, job }) => {
            format!(
                "{from} is being deployed right now ({job}); promote it once that has finished."
            )
        }
        IncidentError::History(e) => format!("The history cannot be read right now ({e})."),
    }
}
