//! A command's arguments, whichever way they came: words typed in a terminal
//! (`/build web master`) or Discord's typed options. Both become the same [`Args`],
//! matched to the command's options by position or by name, so one parser serves both.

use super::error::ParseError;
use super::spec::{Kind, Spec};
use crate::names::shown;

/// An option's value as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Number(i64),
}

/// The arguments of one command, by option name.
#[derive(Debug, Clone)]
pub struct Args {
    spec: &'static Spec,
    values: Vec<Option<Value>>,
}

/// `override:hotfix` or `override:` → the words after the tag; `None` for other words.
fn tag_of<'w>(word: &'w str, name: &str) -> Option<&'w str> {
    let (tag, rest) = word.split_once(':')?;
    tag.eq_ignore_ascii_case(name).then_some(rest)
}

impl Args {
    /// Words typed after the command's name, taken in the order of its options; an
    /// option that takes the rest of the line takes all the words left.
    pub fn from_words(spec: &'static Spec, words: &[&str]) -> Result<Args, ParseError> {
        // A tagged option (`override: words…`) takes every word from its tag on.
        let tagged = spec.options.iter().position(|o| o.kind == Kind::Tagged);
        let (words, tagged_value) = match tagged.map(|i| (i, spec.options[i].name)) {
            Some((i, name)) => match words.iter().position(|w| tag_of(w, name).is_some()) {
                Some(at) => {
                    let first = tag_of(words[at], name).unwrap_or_default();
                    let rest: Vec<&str> = std::iter::once(first)
                        .chain(words[at + 1..].iter().copied())
                        .filter(|w| !w.is_empty())
                        .collect();
                    (&words[..at], Some((i, rest.join(" "))))
                }
                None => (words, None),
            },
            None => (words, None),
        };
        let required = spec.options.iter().filter(|o| o.required).count();
        if words.len() < required {
            return Err(ParseError::Missing {
                command: spec.name,
                option: spec.options[words.len()].name,
            });
        }
        let mut values = Vec::new();
        let mut rest = words;
        for option in spec.options {
            match (option.kind, rest) {
                (Kind::Tagged, _) => values.push(None),
                (_, []) => values.push(None),
                (Kind::Rest, words) => {
                    values.push(Some(Value::Text(words.join(" "))));
                    rest = &[];
                }
                (_, [word, tail @ ..]) => {
                    values.push(Some(Value::Text(word.to_string())));
                    rest = tail;
                }
            }
        }
        if let Some(extra) = rest.first() {
            return Err(ParseError::TooMany {
                command: spec.name,
                from: shown(extra),
            });
        }
        if let Some((i, value)) = tagged_value {
            if value.is_empty() {
                return Err(ParseError::Missing {
                    command: spec.name,
                    option: spec.options[i].name,
                });
            }
            values[i] = Some(Value::Text(value));
        }
        Ok(Args { spec, values })
    }

    /// Options given by name (Discord's typed options). Empty text counts as not given;
    /// a value with a space where a single word is expected is refused.
    pub fn from_options(
        spec: &'static Spec,
        given: &[(String, Value)],
    ) -> Result<Args, ParseError> {
        let mut values = Vec::new();
        for option in spec.options {
            let value = given
                .iter()
                .find(|(name, _)| name == option.name)
                .map(|(_, v)| match v {
                    Value::Text(s) => Value::Text(s.trim().to_string()),
                    other => other.clone(),
                })
                .filter(|v| *v != Value::Text(String::new()));
            if let (Some(Value::Text(s)), Kind::Text) = (&value, option.kind)
                && s.chars().any(char::is_whitespace)
            {
                return Err(ParseError::Spaces {
                    command: spec.name,
                    option: option.name,
                });
            }
            if value.is_none() && option.required {
                return Err(ParseError::Missing {
                    command: spec.name,
                    option: option.name,
                });
            }
            values.push(value);
        }
        Ok(Args { spec, values })
    }

    pub fn command(&self) -> &'static str {
        self.spec.name
    }

    fn value(&self, name: &str) -> Option<&Value> {
        let at = self.spec.options.iter().position(|o| o.name == name)?;
        self.values.get(at)?.as_ref()
    }

    /// An option's text, if given (a number given where text was expected reads as text).
    /// Free words (a reason) are kept, shown and logged as written, so they pass the
    /// redactor: a token pasted into a reason goes no further. Names, branches and tags
    /// need not: they are checked against their grammar, and what fails it is only
    /// echoed through [`shown`], which redacts.
    pub fn text(&self, name: &str) -> Option<String> {
        let free = self
            .spec
            .options
            .iter()
            .any(|o| o.name == name && matches!(o.kind, Kind::Rest | Kind::Tagged));
        self.value(name).map(|v| match v {
            Value::Text(s) if free => crate::redact::text(s),
            Value::Text(s) => s.clone(),
            Value::Number(n) => n.to_string(),
        })
    }

    /// A required option's text.
    pub fn required(&self, name: &'static str) -> Result<String, ParseError> {
        self.text(name).ok_or(ParseError::Missing {
            command: self.spec.name,
            option: name,
        })
    }
}
