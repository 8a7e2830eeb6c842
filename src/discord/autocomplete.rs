//! Answers Discord's autocomplete requests from [`crate::commands::suggest`]: the
//! focused option decides what is offered, and what the person may use decides which.

use serenity::all::{AutocompleteChoice, CommandData};

use super::commands;
use crate::chat::Actor;
use crate::commands::Kind;
use crate::commands::suggest::{self, Suggestion};
use crate::engine::Engine;

/// The choices for the option being typed; none for anything unknown.
pub fn choices(
    engine: &Engine,
    actor: &Actor,
    channel: &str,
    data: &CommandData,
) -> Vec<AutocompleteChoice> {
    let Some(focused) = data.autocomplete() else {
        return Vec::new();
    };
    let Some(option) = commands::option_spec(&data.name, focused.name) else {
        return Vec::new();
    };
    let given = |name: &str| commands::given(data, name).map(str::to_string);
    suggest::complete(engine, actor, channel, option, given, focused.value)
        .into_iter()
        .filter_map(|s| choice(s, option.kind))
        .collect()
}

/// A choice whose value fits the option: a number for job options, at most 100
/// characters of text otherwise (Discord's limit).
fn choice(s: Suggestion, kind: Kind) -> Option<AutocompleteChoice> {
    match kind {
        Kind::Job | Kind::Count => s
            .value
            .parse::<i64>()
            .ok()
            .map(|n| AutocompleteChoice::new(s.label, n)),
        Kind::Text | Kind::Rest | Kind::Tagged => {
            (s.value.chars().count() <= 100).then(|| AutocompleteChoice::new(s.label, s.value))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_carry_values_of_the_option_type() {
        let job = Suggestion {
            label: "#3 build web@master".into(),
            value: "3".into(),
        };
        let json = serde_json::to_value(choice(job, Kind::Job).unwrap()).unwrap();
        assert_eq!(json["value"], 3);
        assert_eq!(json["name"], "#3 build web@master");
        let long = Suggestion {
            label: "x".into(),
            value: "v".repeat(101),
        };
        assert!(choice(long, Kind::Text).is_none());
    }
}
