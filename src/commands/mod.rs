//! The commands people type, one grammar for every chat adapter.
//!
//! Each command is one file (as in mini-redis): its [`Spec`] (name, usage, help,
//! options and what to suggest for them), its parse, its handling. The list
//! below is the only other place a command is named: it makes the [`Command`] enum,
//! `/help`, the terminal parser and the Discord definitions. Parsing checks everything
//! that came from outside — names against the configuration, branches and tags against
//! their grammars, job numbers — so a command that parses can only ask the engine for
//! something valid. Bad input is answered with one sentence and the usage, and changes
//! nothing.

pub mod access;
pub mod args;
mod error;
mod incident;
pub mod spec;
pub mod suggest;

use std::future::Future;

use async_trait::async_trait;

pub use args::{Args, Value};
pub use error::{Denied, ParseError, Refusal};
pub use spec::{Completion, Kind, OptionSpec, Spec};

use crate::chat::{Actor, ButtonAction, MessageRef, Origin};
use crate::config::{App, Config, Project};
use crate::engine::Engine;
use crate::job::JobState;
use crate::job::decisions::VoteOutcome;
use crate::names::{AppName, JobId, ProjectName, closest, shown};

/// The longest command line accepted, in bytes.
pub const MAX_LINE: usize = 1000;

/// What every command is: a spec, a parse from its arguments, and its handling.
pub trait Handler: Sized {
    const SPEC: Spec;
    fn parse(args: &Args, config: &Config) -> Result<Self, ParseError>;
    fn apply(self, cx: &Context<'_>) -> impl Future<Output = Reply> + Send;
}

/// The commands, in the order `/help` lists them: one line each, naming the command's
/// file (its module) and type.
macro_rules! commands {
    ($($variant:ident => $module:ident :: $command:ident,)*) => {
        $(mod $module;)*

        /// A parsed command.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Command {
            $($variant($module::$command),)*
        }

        /// Every command's spec, in `/help`'s order.
        pub const SPECS: &[&Spec] = &[$(&<$module::$command as Handler>::SPEC,)*];

        impl Command {
            /// The command `name` from its arguments.
            pub fn from_args(name: &str, args: &Args, config: &Config) -> Option<Result<Command, ParseError>> {
                $(if name == <$module::$command as Handler>::SPEC.name {
                    return Some(<$module::$command as Handler>::parse(args, config).map(Command::$variant));
                })*
                None
            }

            /// Carries the command out.
            pub async fn apply(self, cx: &Context<'_>) -> Reply {
                match self {
                    $(Command::$variant(c) => c.apply(cx).await,)*
                }
            }
        }
    };
}

commands! {
    Build => build::Build,
    Deploy => deploy::Deploy,
    Release => release::Release,
    Status => status::Status,
    History => history::History,
    Cancel => cancel::Cancel,
    Approve => approve::Approve,
    Reject => reject::Reject,
    Rollback => rollback::Rollback,
    Promote => promote::Promote,
    Freeze => freeze::Freeze,
    Unfreeze => unfreeze::Unfreeze,
    Lock => lock::Lock,
    Unlock => unlock::Unlock,
    Logs => logs::Logs,
    Changes => changes::Changes,
    Stats => stats::Stats,
    Help => help::Help,
}

/// A command's spec by name.
pub fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().copied().find(|s| s.name == name)
}

/// Who is asking, from where, of which engine.
pub struct Context<'a> {
    pub engine: &'a Engine,
    pub actor: &'a Actor,
    pub channel: &'a str,
    /// The command's own message, where the platform gives it one.
    pub origin: Option<&'a Origin>,
}

impl Context<'_> {
    /// Starts a job for this command ([`Engine::start`]), through a freeze where
    /// `freeze_override` gives an admin's reason.
    pub async fn start(
        &self,
        spec: crate::job::JobSpec,
        freeze_override: Option<&str>,
    ) -> Result<crate::engine::Started, crate::engine::StartError> {
        self.engine
            .start(crate::engine::JobRequest {
                actor: self.actor,
                channel: self.channel,
                origin: self.origin,
                spec,
                freeze_override,
            })
            .await
    }
}

/// The answer to the person who sent an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A job started; its progress is in its thread.
    Started { job: JobId, text: String },
    /// Information: status, history, logs, help.
    Info(String),
    /// Information with files to show beside it (the `/stats` charts).
    Files {
        text: String,
        files: Vec<crate::chat::Attachment>,
    },
    /// What a vote (a command, a reaction or a button) did.
    Vote(VoteOutcome),
    /// A cancel was taken: the job stops at its next safe point.
    Cancelling { job: JobId, state: JobState },
    /// A valid command that changed nothing, and why.
    Refused(Refusal),
    /// Input that is not a valid command.
    Invalid(ParseError),
}

impl Reply {
    /// The one sentence (or the information) the person reads.
    pub fn text(&self) -> String {
        match self {
            Reply::Started { text, .. } | Reply::Info(text) | Reply::Files { text, .. } => {
                text.clone()
            }
            Reply::Vote(outcome) => crate::render::vote(outcome).1,
            Reply::Cancelling { job, state } => crate::render::cancelling(*job, *state),
            Reply::Refused(refusal) => refusal.sentence(),
            Reply::Invalid(e) => match e.command().and_then(spec) {
                Some(spec) => format!("{} Usage: {}", e.sentence(), spec.usage),
                None => e.sentence(),
            },
        }
    }

    /// The files to show beside the text.
    pub fn files(&self) -> &[crate::chat::Attachment] {
        match self {
            Reply::Files { files, .. } => files,
            _ => &[],
        }
    }

    /// Whether the event changed nothing.
    pub fn is_refusal(&self) -> bool {
        match self {
            Reply::Refused(_) | Reply::Invalid(_) => true,
            Reply::Vote(outcome) => !crate::render::vote(outcome).0,
            _ => false,
        }
    }
}

/// Something that happened in chat, as an adapter delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// A command, as a line typed or as typed options.
    Command {
        actor: Actor,
        channel: String,
        input: Input,
        /// The command's own message, where the platform gives it one.
        origin: Option<Origin>,
    },
    /// A reaction added to or removed from a message.
    Reaction {
        actor: Actor,
        target: MessageRef,
        emoji: String,
        added: bool,
    },
    /// A button pressed under a message.
    Button {
        actor: Actor,
        target: MessageRef,
        action: ButtonAction,
    },
}

/// A command as it came from a chat platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A line such as `/build web master` (the terminal).
    Line(String),
    /// A command's name and its options by name (Discord's slash commands).
    Options {
        name: String,
        options: Vec<(String, Value)>,
    },
}

/// Where adapters deliver events: the bot.
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn handle(&self, event: ChatEvent) -> Option<Reply>;
}

impl Command {
    /// Parses one line such as `/build web master`.
    pub fn parse(line: &str, config: &Config) -> Result<Command, ParseError> {
        let line = line.trim_end_matches(['\n', '\r']);
        if line.len() > MAX_LINE {
            return Err(ParseError::TooLong { max: MAX_LINE });
        }
        if line.chars().any(char::is_control) {
            return Err(ParseError::ControlCharacters);
        }
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else {
            return Err(ParseError::Empty);
        };
        let name = first
            .strip_prefix('/')
            .unwrap_or(first)
            .to_ascii_lowercase();
        let words: Vec<&str> = words.collect();
        let Some(spec) = spec(&name) else {
            return Err(ParseError::UnknownCommand {
                given: shown(first),
                near: closest(&name, SPECS.iter().map(|s| s.name))
                    .first()
                    .copied(),
            });
        };
        let args = Args::from_words(spec, &words)?;
        Command::from_args(spec.name, &args, config).unwrap_or(Err(ParseError::Empty))
    }

    /// The command an adapter's input stands for.
    pub fn from_input(input: &Input, config: &Config) -> Result<Command, ParseError> {
        match input {
            Input::Line(line) => Command::parse(line, config),
            Input::Options { name, options } => {
                let Some(spec) = spec(name) else {
                    return Err(ParseError::UnknownCommand {
                        given: shown(name),
                        near: None,
                    });
                };
                let args = Args::from_options(spec, options)?;
                Command::from_args(spec.name, &args, config).unwrap_or(Err(ParseError::Empty))
            }
        }
    }
}

/// Parses and carries out one command line.
pub async fn run(engine: &Engine, actor: &Actor, channel: &str, line: &str) -> Reply {
    let command = Command::parse(line, engine.config());
    carry_out(engine, actor, channel, None, command).await
}

async fn carry_out(
    engine: &Engine,
    actor: &Actor,
    channel: &str,
    origin: Option<&Origin>,
    command: Result<Command, ParseError>,
) -> Reply {
    if engine.is_stopping() {
        return Reply::Refused(Refusal::Restarting);
    }
    match command {
        Ok(command) => {
            command
                .apply(&Context {
                    engine,
                    actor,
                    channel,
                    origin,
                })
                .await
        }
        Err(e) => Reply::Invalid(e),
    }
}

#[async_trait]
impl EventSink for Engine {
    async fn handle(&self, event: ChatEvent) -> Option<Reply> {
        match event {
            ChatEvent::Command {
                actor,
                channel,
                input,
                origin,
            } => {
                let command = Command::from_input(&input, self.config());
                Some(carry_out(self, &actor, &channel, origin.as_ref(), command).await)
            }
            ChatEvent::Reaction {
                actor,
                target,
                emoji,
                added,
            } => self
                .on_reaction(&actor, &target, &emoji, added)
                .await
                .map(Reply::Vote),
            ChatEvent::Button {
                actor,
                target,
                action: ButtonAction::Rollback(job),
            } => Some(rollback::pressed(self, &actor, &target, job).await),
            ChatEvent::Button {
                actor,
                target,
                action,
            } => Some(Reply::Vote(self.press(&actor, &target, action).await)),
        }
    }
}

/// A configured project, or the refusal naming the closest ones.
fn project<'c>(
    command: &'static str,
    raw: &str,
    config: &'c Config,
) -> Result<&'c Project, ParseError> {
    let found = ProjectName::parse(raw)
        .ok()
        .and_then(|p| config.projects.get(&p));
    found.ok_or_else(|| {
        let names: Vec<&str> = config.projects.keys().map(|p| p.as_str()).collect();
        unknown(command, "project", raw, &names)
    })
}

/// A configured project or app's name, or the refusal naming the closest ones.
fn project_or_app(
    command: &'static str,
    kind: &'static str,
    raw: &str,
    config: &Config,
) -> Result<(), ParseError> {
    let names = config.project_and_app_names();
    match names.contains(&raw) {
        true => Ok(()),
        false => Err(unknown(command, kind, raw, &names)),
    }
}

/// A configured app, or the refusal naming the closest ones.
fn app<'c>(command: &'static str, raw: &str, config: &'c Config) -> Result<&'c App, ParseError> {
    let found = AppName::parse(raw).ok().and_then(|a| config.apps.get(&a));
    found.ok_or_else(|| {
        let names: Vec<&str> = config.apps.keys().map(|a| a.as_str()).collect();
        unknown(command, "app", raw, &names)
    })
}

fn unknown(command: &'static str, kind: &'static str, raw: &str, names: &[&str]) -> ParseError {
    ParseError::Unknown {
        command,
        kind,
        given: shown(raw),
        near: closest(raw, names.iter().copied())
            .into_iter()
            .map(str::to_string)
            .collect(),
        all: names.iter().map(|n| n.to_string()).collect(),
    }
}

/// A problem with a value, for the command's usage.
fn invalid(command: &'static str, problem: impl std::fmt::Display) -> ParseError {
    ParseError::Invalid {
        command,
        problem: problem.to_string(),
    }
}

/// `<project> [branch]`: a configured project and a valid branch (its default when
/// none is named).
fn project_and_branch<'c>(
    args: &Args,
    config: &'c Config,
) -> Result<(&'c Project, crate::names::Branch), ParseError> {
    let command = args.command();
    let p = project(command, &args.required("project")?, config)?;
    let branch = match args.text("branch") {
        Some(b) => crate::names::Branch::parse(&b).map_err(|e| invalid(command, e))?,
        None => p.branch.clone(),
    };
    Ok((p, branch))
}

/// The configured project that the person may run `action` on from here, or the
/// refusal to answer with.
fn allowed_project<'a>(
    cx: &Context<'a>,
    name: &ProjectName,
    action: access::Action,
) -> Result<&'a Project, Refusal> {
    let config = cx.engine.config();
    let project = config
        .projects
        .get(name)
        .ok_or_else(|| Refusal::NotConfigured {
            name: name.to_string(),
        })?;
    access::project(config, cx.actor, cx.channel, project, action).map_err(Refusal::Denied)?;
    Ok(project)
}

/// The configured app that the person may run `action` on from here.
fn allowed_app<'a>(
    cx: &Context<'a>,
    name: &AppName,
    action: access::Action,
) -> Result<&'a App, Refusal> {
    let config = cx.engine.config();
    let app = config
        .apps
        .get(name)
        .ok_or_else(|| Refusal::NotConfigured {
            name: name.to_string(),
        })?;
    access::app(config, cx.actor, cx.channel, app, action).map_err(Refusal::Denied)?;
    Ok(app)
}

/// Starts a job that deploys, through a freeze when an admin says why (`override:`).
async fn start_deploying(
    cx: &Context<'_>,
    spec: crate::job::JobSpec,
    override_reason: Option<&str>,
) -> Result<crate::engine::Started, Refusal> {
    let started = match override_reason {
        None => cx.start(spec, None).await,
        Some(reason) => {
            if !access::is_admin(cx.engine.config(), cx.actor) {
                return Err(Refusal::Denied(Denied::AdminOnly {
                    doing: "override a freeze",
                }));
            }
            cx.start(spec, Some(reason)).await
        }
    };
    started.map_err(Refusal::NotStarted)
}

/// "; it needs 2 approvals from lead" for an app whose deploys need them.
fn needs_approval(app: &App) -> String {
    if !app.policy.required() {
        return String::new();
    }
    format!(
        "; it needs {} approval{} from {}",
        app.policy.votes,
        if app.policy.votes == 1 { "" } else { "s" },
        crate::render::or_list(&app.policy.approvers)
    )
}

/// The `job` option.
fn job_id(args: &Args) -> Result<JobId, ParseError> {
    let raw = args.required("job")?;
    JobId::parse(&raw).map_err(|e| invalid(args.command(), e))
}

#[cfg(test)]
mod tests;
