//! A Rancher app (a Helm release managed by Rancher) as releasebot reads it: its state,
//! its conditions, and what an upgrade changes, so a deploy can tell whether its
//! upgrade was taken up.

use serde_json::Value;

use super::{Condition, DecodeError, Fields, decode_conditions, find_condition};

/// A Rancher app (a Helm release managed by Rancher).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: String,
    pub name: String,
    pub state: Option<String>,
    pub transitioning: Option<String>,
    pub transitioning_message: Option<String>,
    pub conditions: Vec<Condition>,
    pub revision: Option<String>,
    /// The deployed version tag, where the PaaS reports it (`versionTag`, or the
    /// `image.tag` answer).
    pub version_tag: Option<String>,
    pub external_id: Option<String>,
}

impl App {
    pub fn decode(v: &Value) -> Result<Self, DecodeError> {
        let err = |problem: &str| DecodeError {
            what: "app",
            problem: problem.to_string(),
        };
        let f = Fields::of(v).ok_or_else(|| err("it is not a JSON object"))?;
        let id = f.string("id").ok_or_else(|| err("it has no id"))?;
        let answers = f.get("answers").and_then(Fields::of);
        let name = f
            .string("name")
            .unwrap_or_else(|| id.rsplit(':').next().unwrap_or(&id).to_string());
        Ok(App {
            name,
            state: f.string("state"),
            transitioning: f.string("transitioning"),
            transitioning_message: f.string("transitioningMessage"),
            conditions: decode_conditions(&f),
            revision: f.string("appRevisionId"),
            version_tag: f.string("versionTag").or_else(|| {
                answers.and_then(|a| a.string("image.tag").or_else(|| a.string("versionTag")))
            }),
            external_id: f.string("externalId"),
            id,
        })
    }

    pub fn condition(&self, kind: &str) -> Option<&Condition> {
        find_condition(&self.conditions, kind)
    }
}
