//! A secret value (an API token) that cannot leak through formatting.
//!
//! `DISCORD_TOKEN` and `RANCHER_TOKEN` must never appear in logs, chat messages,
//! errors, panics or the database. Wrapping them in [`Secret`] makes every
//! accidental `{:?}` or `{}` print a placeholder; the value is only reachable through
//! [`Secret::expose`], which is called at the one place each token is sent.

use std::fmt;
use std::sync::Arc;

/// A string that is never printed. Cloning shares the same allocation.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// A secret of this process: from now on [`crate::redact`] removes it from every
    /// text that passes it.
    pub fn new(value: impl Into<String>) -> Self {
        let value: Arc<str> = Arc::from(value.into());
        crate::redact::register(&value);
        Secret(value)
    }

    /// The value itself, for the single place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every occurrence of the secret in `text` with `[redacted]`.
    /// Used on anything that came back from outside and might echo it.
    pub fn scrub(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_string();
        }
        text.replace(&*self.0, "[redacted]")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("token-abcde:supersecretvalue");
        assert!(!format!("{s:?}").contains("supersecret"));
        assert!(!format!("{s}").contains("supersecret"));
        assert!(!format!("{:?}", Some(&s)).contains("supersecret"));
        assert_eq!(s.expose(), "token-abcde:supersecretvalue");
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let s = Secret::new("hunter22");
        assert_eq!(
            s.scrub("a hunter22 b hunter22"),
            "a [redacted] b [redacted]"
        );
    }
}
