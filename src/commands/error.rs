//! Why a command changed nothing, as types: [`ParseError`] for input that is not a
//! valid command, [`Refusal`] for a valid one that may not or cannot be carried out.
//! [`super::Reply::text`] turns them into the one sentence the person reads, here at
//! the chat edge and nowhere else.

use crate::engine::StartError;
use crate::job::decisions::CancelError;
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
}

/// A valid command that was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Restarting,
    Denied(Denied),
    NotConfigured { name: String },
    NotStarted(StartError),
    NoSuchJob(JobId),
    Cancel(CancelError),
    HistoryUnreadable(StoreError),
    LogsUnreadable { app: String, error: PaasError },
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
            Refusal::NotConfigured { name } => format!("{name} is no longer configured."),
            Refusal::NotStarted(StartError::Stopping) => Refusal::Restarting.sentence(),
            Refusal::NotStarted(StartError::NotRecorded(e)) => {
                format!("releasebot cannot record new jobs right now, so it started nothing ({e}).")
            }
            Refusal::NoSuchJob(id) => format!("There is no job {id}."),
            Refusal::Cancel(e) => crate::render::cancel_refusal(e),
            Refusal::HistoryUnreadable(e) => {
                format!("The history cannot be read right now ({e}).")
            }
            Refusal::LogsUnreadable { app, error } => {
                format!("The deploy logs of {app} could not be read. {error}")
            }
        }
    }
}
