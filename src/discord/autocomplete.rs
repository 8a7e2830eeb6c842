//! Answers Discord's autocomplete requests from [`crate::commands::suggest`]: the
//! focused option decides what is offered, and what the person may use decides which.

use serenity::all::{AutocompleteChoice, CommandData};

use super::commands::{self, Completion, Kind};
use crate::chat::Actor;
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
    let Some(spec) = commands::options(&data.name)
        .and_then(|options| options.iter().find(|o| o.name == focused.name))
    else {
        return Vec::new();
    };
    let config = engine.config();
    let typed = focused.value;
    let suggestions = match spec.completion {
        Completion::Nothing => Vec::new(),
        Completion::Project(action) => suggest::projects(config, actor, channel, action, typed),
        Completion::App => suggest::apps(config, actor, channel, typed),
        Completion::HistoryTarget => suggest::history_targets(config, typed),
        Completion::Branch => match commands::given(data, "project") {
            Some(project) => {
                suggest::branches(config, project.trim(), &engine.recent_jobs(), typed)
            }
            None => Vec::new(),
        },
        Completion::VersionTag => match commands::given(data, "app") {
            Some(app) => suggest::version_tags(config, app.trim(), &engine.recent_jobs(), typed),
            None => Vec::new(),
        },
        Completion::Job(which) => suggest::jobs(&engine.recent_jobs(), which, typed),
    };
    suggestions
        .into_iter()
        .filter_map(|s| choice(s, spec.kind))
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
        Kind::Text => {
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
