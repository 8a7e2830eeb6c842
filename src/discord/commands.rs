//! The slash commands: one per command of the grammar, with typed options, and the way
//! back from an interaction to the command line the grammar parses.
//!
//! Discord checks option types and required options; releasebot still parses the line
//! it rebuilds with [`crate::commands::run`], exactly as if it had been typed in the
//! terminal, so there is one grammar and one set of refusals.

use serenity::all::{
    CommandData, CommandDataOptionValue, CommandOptionType, CreateCommand, CreateCommandOption,
    InteractionContext,
};

use crate::commands::USAGE;
use crate::commands::access::Action;
use crate::commands::suggest::JobsFor;

/// How an option is completed while the person types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    Nothing,
    Project(Action),
    App,
    /// Branches of the project named in the `project` option.
    Branch,
    /// Version tags built for the app named in the `app` option.
    VersionTag,
    HistoryTarget,
    Job(JobsFor),
}

/// What an option holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A job number.
    Job,
    /// A count from 1 to 50.
    Count,
}

/// One option of a slash command.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub completion: Completion,
}

const fn text(
    name: &'static str,
    description: &'static str,
    required: bool,
    completion: Completion,
) -> OptionSpec {
    OptionSpec {
        name,
        description,
        kind: Kind::Text,
        required,
        completion,
    }
}

const fn job(description: &'static str, required: bool, which: JobsFor) -> OptionSpec {
    OptionSpec {
        name: "job",
        description,
        kind: Kind::Job,
        required,
        completion: Completion::Job(which),
    }
}

/// The options of each command, in the order the grammar takes its arguments
/// (Discord also requires required options before optional ones).
pub const OPTIONS: [(&str, &[OptionSpec]); 10] = [
    (
        "build",
        &[
            text(
                "project",
                "the project to build",
                true,
                Completion::Project(Action::Build),
            ),
            text(
                "branch",
                "the branch (default: the project's)",
                false,
                Completion::Branch,
            ),
        ],
    ),
    (
        "deploy",
        &[
            text("app", "the app to deploy", true, Completion::App),
            text(
                "version",
                "the version tag to deploy",
                true,
                Completion::VersionTag,
            ),
        ],
    ),
    (
        "release",
        &[
            text(
                "project",
                "the project to build and deploy",
                true,
                Completion::Project(Action::Release),
            ),
            text(
                "branch",
                "the branch (default: the project's)",
                false,
                Completion::Branch,
            ),
        ],
    ),
    (
        "status",
        &[job(
            "one job (default: everything running)",
            false,
            JobsFor::Status,
        )],
    ),
    (
        "history",
        &[
            text(
                "name",
                "a project or an app",
                true,
                Completion::HistoryTarget,
            ),
            OptionSpec {
                name: "count",
                description: "how many jobs to show (default 10)",
                kind: Kind::Count,
                required: false,
                completion: Completion::Nothing,
            },
        ],
    ),
    ("cancel", &[job("the job to cancel", true, JobsFor::Cancel)]),
    (
        "approve",
        &[job("the deploy to approve", true, JobsFor::Vote)],
    ),
    (
        "reject",
        &[job("the deploy to reject", true, JobsFor::Vote)],
    ),
    (
        "logs",
        &[text(
            "app",
            "the app whose deploy logs to show",
            true,
            Completion::App,
        )],
    ),
    ("help", &[]),
];

/// The options of a command, if it is one of releasebot's.
pub fn options(command: &str) -> Option<&'static [OptionSpec]> {
    OPTIONS
        .iter()
        .find(|(name, _)| *name == command)
        .map(|(_, options)| *options)
}

/// The slash commands to register, described as `/help` describes them.
pub fn definitions() -> Vec<CreateCommand> {
    USAGE
        .iter()
        .map(|(name, _, what)| {
            let options = options(name).unwrap_or(&[]);
            CreateCommand::new(*name)
                .description(*what)
                .contexts(vec![InteractionContext::Guild])
                .set_options(options.iter().map(option).collect())
        })
        .collect()
}

fn option(spec: &OptionSpec) -> CreateCommandOption {
    let kind = match spec.kind {
        Kind::Text => CommandOptionType::String,
        Kind::Job | Kind::Count => CommandOptionType::Integer,
    };
    let mut option = CreateCommandOption::new(kind, spec.name, spec.description)
        .required(spec.required)
        .set_autocomplete(spec.completion != Completion::Nothing);
    match spec.kind {
        Kind::Text => option = option.max_length(100),
        Kind::Job => option = option.min_int_value(1),
        Kind::Count => option = option.min_int_value(1).max_int_value(50),
    }
    option
}

/// The command line an interaction stands for, such as `/build web master`: the
/// options in the grammar's order, whatever order Discord sent them in. A value with a
/// space in it would read as two arguments, so it is refused here (no name, branch or
/// tag has one).
pub fn command_line(data: &CommandData) -> Result<String, String> {
    let mut line = format!("/{}", data.name);
    for spec in options(&data.name).unwrap_or(&[]) {
        let Some(given) = data.options.iter().find(|o| o.name == spec.name) else {
            continue;
        };
        let value = match &given.value {
            CommandDataOptionValue::String(s) => s.trim().to_string(),
            CommandDataOptionValue::Integer(n) => n.to_string(),
            CommandDataOptionValue::Autocomplete { value, .. } => value.trim().to_string(),
            _ => continue,
        };
        if value.chars().any(char::is_whitespace) {
            return Err(format!(
                "The {} cannot contain spaces. Usage: {}",
                spec.name,
                crate::commands::usage(&data.name)
            ));
        }
        // An empty value is left out, so the grammar says what is missing.
        if !value.is_empty() {
            line.push(' ');
            line.push_str(&value);
        }
    }
    Ok(line)
}

/// The value given for an option, as text.
pub fn given<'a>(data: &'a CommandData, name: &str) -> Option<&'a str> {
    data.options
        .iter()
        .find(|o| o.name == name)
        .and_then(|o| match &o.value {
            CommandDataOptionValue::String(s) => Some(s.as_str()),
            CommandDataOptionValue::Autocomplete { value, .. } => Some(value.as_str()),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(value: serde_json::Value) -> CommandData {
        serde_json::from_value(value).expect("valid command data")
    }

    #[test]
    fn every_command_of_the_grammar_is_a_slash_command() {
        let defined: Vec<serde_json::Value> = definitions()
            .iter()
            .map(|c| serde_json::to_value(c).unwrap())
            .collect();
        assert_eq!(defined.len(), USAGE.len());
        for ((name, _, what), def) in USAGE.iter().zip(&defined) {
            assert_eq!(def["name"], *name);
            assert_eq!(def["description"], *what);
            assert!(what.chars().count() <= 100, "{name}: description too long");
            assert!(options(name).is_some(), "{name} has no options entry");
        }
        let build = &defined[0];
        assert_eq!(build["options"][0]["name"], "project");
        assert_eq!(build["options"][0]["required"], true);
        assert_eq!(build["options"][0]["autocomplete"], true);
        assert_eq!(build["options"][1]["required"], false);
        assert_eq!(build["contexts"], serde_json::json!([0]));
    }

    #[test]
    fn required_options_come_first_and_none_has_choices() {
        for (name, options) in OPTIONS {
            let first_optional = options.iter().position(|o| !o.required);
            if let Some(i) = first_optional {
                assert!(options[i..].iter().all(|o| !o.required), "{name}");
            }
        }
    }

    #[test]
    fn an_interaction_becomes_the_line_the_grammar_parses() {
        let build = data(serde_json::json!({
            "id": "1", "name": "build", "type": 1,
            "options": [
                {"name": "branch", "type": 3, "value": " feature/x "},
                {"name": "project", "type": 3, "value": "web"}
            ]
        }));
        assert_eq!(command_line(&build).unwrap(), "/build web feature/x");
        let status = data(serde_json::json!({"id": "1", "name": "status", "type": 1}));
        assert_eq!(command_line(&status).unwrap(), "/status");
        let history = data(serde_json::json!({
            "id": "1", "name": "history", "type": 1,
            "options": [{"name": "name", "type": 3, "value": "web"}, {"name": "count", "type": 4, "value": 3}]
        }));
        assert_eq!(command_line(&history).unwrap(), "/history web 3");
        let empty = data(serde_json::json!({
            "id": "1", "name": "deploy", "type": 1,
            "options": [{"name": "app", "type": 3, "value": "web"}, {"name": "version", "type": 3, "value": " "}]
        }));
        assert_eq!(command_line(&empty).unwrap(), "/deploy web");
        let spaced = data(serde_json::json!({
            "id": "1", "name": "build", "type": 1,
            "options": [{"name": "project", "type": 3, "value": "web master"}]
        }));
        assert_eq!(
            command_line(&spaced).unwrap_err(),
            "The project cannot contain spaces. Usage: /build <project> [branch]"
        );
        assert_eq!(given(&empty, "app"), Some("web"));
        assert_eq!(given(&empty, "nope"), None);
    }
}
