//! The commands people type, one grammar for every chat adapter.
//!
//! One [`Command`] enum; each command's file holds its parsing and its handling
//! (`style.md`, after mini-redis). Parsing checks everything that came from outside —
//! names against the configuration, branches and tags against their grammars, job
//! numbers — so a command that parses can only ask the engine for something valid.
//! Bad input is answered with one sentence and the usage, and changes nothing.

pub mod access;
mod approve;
mod build;
mod cancel;
mod deploy;
mod help;
mod history;
mod logs;
mod reject;
mod release;
mod status;
pub mod suggest;

use async_trait::async_trait;

use crate::chat::{Actor, ChatEvent, EventSink, Reply};
use crate::config::{App, Config, Project};
use crate::engine::Engine;
use crate::names::{AppName, JobId, ProjectName, closest, shown};

/// The longest command line accepted, in bytes.
pub const MAX_LINE: usize = 1000;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Build(build::Build),
    Deploy(deploy::Deploy),
    Release(release::Release),
    Status(status::Status),
    History(history::History),
    Cancel(cancel::Cancel),
    Approve(approve::Approve),
    Reject(reject::Reject),
    Logs(logs::Logs),
    Help(help::Help),
}

/// Who is asking, from where, of which engine.
pub struct Context<'a> {
    pub engine: &'a Engine,
    pub actor: &'a Actor,
    pub channel: &'a str,
}

/// The command names with their usage, in the order `/help` lists them.
pub const USAGE: [(&str, &str, &str); 10] = [
    (
        "build",
        "/build <project> [branch]",
        "run the project's pipeline; report stages, image and tag",
    ),
    (
        "deploy",
        "/deploy <app> <versionTag>",
        "upgrade the app to that tag, after approval where needed",
    ),
    (
        "release",
        "/release <project> [branch]",
        "build, then deploy the built tag to the project's app",
    ),
    ("status", "/status [#job]", "what is running, or one job"),
    (
        "history",
        "/history <project|app> [n]",
        "what ran, who asked, who approved",
    ),
    (
        "cancel",
        "/cancel <#job>",
        "stop a build, or withdraw a queued or pending request",
    ),
    (
        "approve",
        "/approve <#job>",
        "approve a deploy (the same as reacting ✅)",
    ),
    (
        "reject",
        "/reject <#job>",
        "reject a deploy (the same as reacting ❌)",
    ),
    ("logs", "/logs <app>", "the latest deploy log excerpt"),
    ("help", "/help", "what you may do here"),
];

/// The usage line of a command.
pub fn usage(name: &str) -> &'static str {
    USAGE
        .iter()
        .find(|(n, _, _)| *n == name)
        .map_or("/help", |(_, u, _)| u)
}

/// The refusal for a job that could not be started.
fn not_started(e: &crate::engine::StartError) -> Reply {
    Reply::Refused(match e {
        crate::engine::StartError::Stopping => {
            "releasebot is restarting; try again in a minute.".to_string()
        }
        crate::engine::StartError::NotRecorded(e) => {
            format!("releasebot cannot record new jobs right now, so it started nothing ({e}).")
        }
    })
}

/// The answer to a vote.
fn vote_reply(outcome: &crate::engine::VoteOutcome) -> Reply {
    match crate::render::vote(outcome) {
        (true, text) => Reply::Info(text),
        (false, text) => Reply::Refused(text),
    }
}

/// A refusal with the command's usage.
fn refuse(name: &str, why: impl std::fmt::Display) -> String {
    format!("{why} Usage: {}", usage(name))
}

impl Command {
    /// Parses one line such as `/build web master`.
    pub fn parse(line: &str, config: &Config) -> Result<Command, String> {
        let line = line.trim_end_matches(['\n', '\r']);
        if line.len() > MAX_LINE {
            return Err(format!(
                "That command is too long (at most {MAX_LINE} characters)."
            ));
        }
        if line.chars().any(char::is_control) {
            return Err("Commands cannot contain control characters.".into());
        }
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else {
            return Err("Type a command, such as /build web; /help lists them all.".into());
        };
        let name = first
            .strip_prefix('/')
            .unwrap_or(first)
            .to_ascii_lowercase();
        let args: Vec<&str> = words.collect();
        match name.as_str() {
            "build" => build::Build::parse(&args, config).map(Command::Build),
            "deploy" => deploy::Deploy::parse(&args, config).map(Command::Deploy),
            "release" => release::Release::parse(&args, config).map(Command::Release),
            "status" => status::Status::parse(&args).map(Command::Status),
            "history" => history::History::parse(&args, config).map(Command::History),
            "cancel" => cancel::Cancel::parse(&args).map(Command::Cancel),
            "approve" => approve::Approve::parse(&args).map(Command::Approve),
            "reject" => reject::Reject::parse(&args).map(Command::Reject),
            "logs" => logs::Logs::parse(&args, config).map(Command::Logs),
            "help" => help::Help::parse(&args).map(Command::Help),
            _ => {
                let names = USAGE.iter().map(|(n, _, _)| *n);
                let hint = match closest(&name, names).first() {
                    Some(n) => format!(" Did you mean /{n}?"),
                    None => String::new(),
                };
                Err(format!(
                    "{} is not a command.{hint} Type /help for the commands.",
                    shown(first)
                ))
            }
        }
    }

    /// Carries the command out.
    pub async fn apply(self, cx: &Context<'_>) -> Reply {
        match self {
            Command::Build(c) => c.apply(cx),
            Command::Deploy(c) => c.apply(cx),
            Command::Release(c) => c.apply(cx),
            Command::Status(c) => c.apply(cx),
            Command::History(c) => c.apply(cx),
            Command::Cancel(c) => c.apply(cx),
            Command::Approve(c) => c.apply(cx),
            Command::Reject(c) => c.apply(cx),
            Command::Logs(c) => c.apply(cx).await,
            Command::Help(c) => c.apply(cx),
        }
    }
}

/// Parses and carries out one command line.
pub async fn run(engine: &Engine, actor: &Actor, channel: &str, line: &str) -> Reply {
    if engine.is_stopping() {
        return Reply::Refused("releasebot is restarting; try again in a minute.".into());
    }
    match Command::parse(line, engine.config()) {
        Ok(command) => {
            command
                .apply(&Context {
                    engine,
                    actor,
                    channel,
                })
                .await
        }
        Err(why) => Reply::Refused(why),
    }
}

/// Expects between `min` and `max` arguments.
fn arity(name: &str, args: &[&str], min: usize, max: usize) -> Result<(), String> {
    if args.len() < min {
        return Err(refuse(name, "Something is missing."));
    }
    if args.len() > max {
        return Err(refuse(
            name,
            format!("Too many arguments (from {}).", shown(args[max])),
        ));
    }
    Ok(())
}

/// A configured project, or a refusal naming the closest ones.
fn project<'c>(name: &str, raw: &str, config: &'c Config) -> Result<&'c Project, String> {
    let found = ProjectName::parse(raw)
        .ok()
        .and_then(|p| config.projects.get(&p));
    found.ok_or_else(|| {
        let names: Vec<&str> = config.projects.keys().map(|p| p.as_str()).collect();
        refuse(name, unknown("project", raw, &names))
    })
}

/// A configured app, or a refusal naming the closest ones.
fn app<'c>(name: &str, raw: &str, config: &'c Config) -> Result<&'c App, String> {
    let found = AppName::parse(raw).ok().and_then(|a| config.apps.get(&a));
    found.ok_or_else(|| {
        let names: Vec<&str> = config.apps.keys().map(|a| a.as_str()).collect();
        refuse(name, unknown("app", raw, &names))
    })
}

fn unknown(kind: &str, raw: &str, names: &[&str]) -> String {
    let near = closest(raw, names.iter().copied());
    if names.is_empty() {
        format!("There is no {kind} {} (none is configured).", shown(raw))
    } else if near.is_empty() {
        format!(
            "There is no {kind} {}; the {kind}s are {}.",
            shown(raw),
            names.join(", ")
        )
    } else {
        format!(
            "There is no {kind} {}; did you mean {}?",
            shown(raw),
            near.join(" or ")
        )
    }
}

/// `<project> [branch]`: a configured project and a valid branch (its default when
/// none is named).
fn project_and_branch<'c>(
    name: &str,
    args: &[&str],
    config: &'c Config,
) -> Result<(&'c Project, crate::names::Branch), String> {
    arity(name, args, 1, 2)?;
    let p = project(name, args[0], config)?;
    let branch = match args.get(1) {
        Some(b) => crate::names::Branch::parse(b).map_err(|e| refuse(name, e))?,
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
) -> Result<&'a Project, Reply> {
    let config = cx.engine.config();
    let Some(project) = config.projects.get(name) else {
        return Err(Reply::Refused(format!(
            "The project {name} is no longer configured."
        )));
    };
    access::project(config, cx.actor, cx.channel, project, action).map_err(Reply::Refused)?;
    Ok(project)
}

fn job_id(name: &str, raw: &str) -> Result<JobId, String> {
    JobId::parse(raw).map_err(|e| refuse(name, e))
}

#[async_trait]
impl EventSink for Engine {
    async fn handle(&self, event: ChatEvent) -> Option<Reply> {
        match event {
            ChatEvent::Command {
                actor,
                channel,
                text,
            } => Some(run(self, &actor, &channel, &text).await),
            ChatEvent::Reaction {
                actor,
                target,
                emoji,
                added,
            } => self
                .on_reaction(&actor, &target, &emoji, added)
                .await
                .map(|outcome| vote_reply(&outcome)),
            ChatEvent::Button { actor, action, .. } => Some(vote_reply(&match action {
                crate::chat::ButtonAction::Approve(job) => self.vote(&actor, job, true),
                crate::chat::ButtonAction::Reject(job) => self.vote(&actor, job, false),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, String> {
        Command::parse(line, &Config::demo())
    }

    #[test]
    fn good_commands_parse() {
        assert!(matches!(parse("/build web"), Ok(Command::Build(_))));
        assert!(matches!(
            parse("/build web feature/x"),
            Ok(Command::Build(_))
        ));
        assert!(matches!(parse("build web"), Ok(Command::Build(_))));
        assert!(matches!(
            parse("/deploy web v1.2.3"),
            Ok(Command::Deploy(_))
        ));
        assert!(matches!(
            parse("/release web master"),
            Ok(Command::Release(_))
        ));
        assert!(matches!(parse("/status"), Ok(Command::Status(_))));
        assert!(matches!(parse("/status #3"), Ok(Command::Status(_))));
        assert!(matches!(parse("/history web"), Ok(Command::History(_))));
        assert!(matches!(parse("/cancel 3"), Ok(Command::Cancel(_))));
        assert!(matches!(parse("/approve #3"), Ok(Command::Approve(_))));
        assert!(matches!(parse("/reject #3"), Ok(Command::Reject(_))));
        assert!(matches!(parse("/logs web"), Ok(Command::Logs(_))));
        assert!(matches!(parse("/help"), Ok(Command::Help(_))));
    }

    #[test]
    fn bad_input_is_answered_with_one_sentence_and_the_usage() {
        let cases = [
            ("/build", "Usage: /build"),
            ("/build wbe", "did you mean web?"),
            ("/build web a..b", "not a valid branch name"),
            ("/build web master extra", "Too many arguments"),
            ("/deploy web", "Usage: /deploy"),
            ("/deploy web -bad", "not a valid version tag"),
            ("/deploy nope v1", "the apps are"),
            ("/cancel", "Usage: /cancel"),
            ("/cancel x", "not a job number"),
            ("/buidl web", "Did you mean /build?"),
            ("/frobnicate", "is not a command"),
            ("/build web\u{7}", "control characters"),
            ("", "Type a command"),
        ];
        for (line, want) in cases {
            let err = parse(line).unwrap_err();
            assert!(err.contains(want), "{line:?} gave {err:?}");
        }
        let long = format!("/build web {}", "x".repeat(2000));
        assert!(parse(&long).unwrap_err().contains("too long"));
    }
}
