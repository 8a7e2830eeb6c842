//! The slash commands: one per command of the grammar, defined from its spec, and the
//! way back from an interaction's typed options to the command's arguments.

use serenity::all::{
    CommandData, CommandDataOptionValue, CommandOptionType, CreateCommand, CreateCommandOption,
    InteractionContext,
};

use crate::commands::{Completion, Input, Kind, OptionSpec, SPECS, Value, spec};

/// The slash commands to register, described as `/help` describes them.
pub fn definitions() -> Vec<CreateCommand> {
    SPECS
        .iter()
        .map(|spec| {
            CreateCommand::new(spec.name)
                .description(spec.help)
                .contexts(vec![InteractionContext::Guild])
                .set_options(spec.options.iter().map(option).collect())
        })
        .collect()
}

fn option(spec: &OptionSpec) -> CreateCommandOption {
    let kind = match spec.kind {
        Kind::Text | Kind::Rest | Kind::Tagged => CommandOptionType::String,
        Kind::Job | Kind::Count => CommandOptionType::Integer,
    };
    let mut option = CreateCommandOption::new(kind, spec.name, spec.description)
        .required(spec.required)
        .set_autocomplete(spec.completion != Completion::Nothing);
    match spec.kind {
        Kind::Text => option = option.max_length(100),
        Kind::Rest | Kind::Tagged => option = option.max_length(500),
        Kind::Job => option = option.min_int_value(1),
        Kind::Count => option = option.min_int_value(1).max_int_value(50),
    }
    option
}

/// The command an interaction stands for: its name and its typed options.
pub fn input(data: &CommandData) -> Input {
    let options = data
        .options
        .iter()
        .filter_map(|o| {
            let value = match &o.value {
                CommandDataOptionValue::String(s) => Value::Text(s.clone()),
                CommandDataOptionValue::Integer(n) => Value::Number(*n),
                CommandDataOptionValue::Autocomplete { value, .. } => Value::Text(value.clone()),
                _ => return None,
            };
            Some((o.name.clone(), value))
        })
        .collect();
    Input::Options {
        name: data.name.clone(),
        options,
    }
}

/// The spec of an option of a command, if both are releasebot's.
pub fn option_spec(command: &str, option: &str) -> Option<&'static OptionSpec> {
    spec(command)?.options.iter().find(|o| o.name == option)
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
    use crate::commands::{Command, ParseError};
    use crate::config::Config;

    fn data(value: serde_json::Value) -> CommandData {
        serde_json::from_value(value).expect("valid command data")
    }

    #[test]
    fn every_command_of_the_grammar_is_a_slash_command() {
        let defined: Vec<serde_json::Value> = definitions()
            .iter()
            .map(|c| serde_json::to_value(c).unwrap())
            .collect();
        assert_eq!(defined.len(), SPECS.len());
        for (spec, def) in SPECS.iter().zip(&defined) {
            assert_eq!(def["name"], spec.name);
            assert_eq!(def["description"], spec.help);
            assert!(
                spec.help.chars().count() <= 100,
                "{}: description too long",
                spec.name
            );
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
        for spec in SPECS {
            let first_optional = spec.options.iter().position(|o| !o.required);
            if let Some(i) = first_optional {
                assert!(
                    spec.options[i..].iter().all(|o| !o.required),
                    "{}",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn typed_options_become_the_command_whatever_their_order() {
        let config = Config::demo();
        let parse = |v| Command::from_input(&input(&data(v)), &config);
        let build = parse(serde_json::json!({
            "id": "1", "name": "build", "type": 1,
            "options": [
                {"name": "branch", "type": 3, "value": " feature/x "},
                {"name": "project", "type": 3, "value": "web"}
            ]
        }));
        match build {
            Ok(Command::Build(b)) => {
                assert_eq!(b.project.as_str(), "web");
                assert_eq!(b.branch.as_str(), "feature/x");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(serde_json::json!({"id": "1", "name": "status", "type": 1})),
            Ok(Command::Status(_))
        ));
        assert!(matches!(
            parse(serde_json::json!({
                "id": "1", "name": "history", "type": 1,
                "options": [{"name": "name", "type": 3, "value": "web"}, {"name": "count", "type": 4, "value": 3}]
            })),
            Ok(Command::History(h)) if h.count == 3
        ));
        assert_eq!(
            parse(serde_json::json!({
                "id": "1", "name": "deploy", "type": 1,
                "options": [{"name": "app", "type": 3, "value": "web"}, {"name": "version", "type": 3, "value": " "}]
            })),
            Err(ParseError::Missing {
                command: "deploy",
                option: "version"
            })
        );
        assert_eq!(
            parse(serde_json::json!({
                "id": "1", "name": "build", "type": 1,
                "options": [{"name": "project", "type": 3, "value": "web master"}]
            })),
            Err(ParseError::Spaces {
                command: "build",
                option: "project"
            })
        );
    }
}
