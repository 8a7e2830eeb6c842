//! The names people type, parsed once where they enter: project and app names (the
//! keys of the configuration), git branches, docker version tags and job ids. A value
//! of one of these types has passed its rules; nothing else can reach the PaaS.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was refused, as one sentence for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(pub String);

fn refuse(s: impl Into<String>) -> NameError {
    NameError(s.into())
}

/// Shows a value the user typed, redacted, shortened and with control characters
/// escaped.
pub fn shown(s: &str) -> String {
    let s = crate::redact::text(s);
    let mut out: String = s.chars().take(40).flat_map(char::escape_debug).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    format!("\"{out}\"")
}

macro_rules! key_name {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// 1 to 64 characters: lowercase letters, digits, `-` and `_`, starting
            /// with a letter or digit.
            pub fn parse(s: &str) -> Result<Self, NameError> {
                let ok = !s.is_empty()
                    && s.len() <= 64
                    && s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
                if ok {
                    Ok($name(s.to_string()))
                } else {
                    Err(refuse(format!(
                        "{} is not a valid {} name (use lowercase letters, digits, '-' and '_', at most 64).",
                        shown(s),
                        $kind
                    )))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }
    };
}

key_name!(
    /// A project as configured in `[projects.<name>]`: what `/build` and `/release` name.
    ProjectName,
    "project"
);
key_name!(
    /// An app as configured in `[apps.<name>]`: what `/deploy` names.
    AppName,
    "app"
);

/// A git branch name, checked with the rules of `git check-ref-format --branch`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Branch(String);

impl Branch {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let bad = |why: &str| {
            Err(refuse(format!(
                "{} is not a valid branch name: {why}.",
                shown(s)
            )))
        };
        if s.is_empty() {
            return bad("it is empty");
        }
        if s.len() > 255 {
            return bad("it is longer than 255 bytes");
        }
        if s.starts_with('-') {
            return bad("it starts with '-'");
        }
        if let Some(c) = s.chars().find(|c| c.is_control()) {
            return bad(&format!("it contains the control character {:?}", c));
        }
        if s.contains(' ') {
            return bad("it contains a space");
        }
        if let Some(c) = s.chars().find(|c| "~^:?*[\\".contains(*c)) {
            return bad(&format!("it contains '{c}'"));
        }
        if s.contains("..") {
            return bad("it contains '..'");
        }
        if s.contains("@{") {
            return bad("it contains '@{'");
        }
        // `@` alone is a valid branch for git (`refs/heads/@`); `HEAD` is not.
        if s == "HEAD" {
            return bad("it is a reserved name");
        }
        if s.starts_with('/') || s.ends_with('/') || s.contains("//") {
            return bad("it has an empty path component");
        }
        if s.ends_with('.') {
            return bad("it ends with '.'");
        }
        for component in s.split('/') {
            if component.starts_with('.') {
                return bad("a path component starts with '.'");
            }
            if component.ends_with(".lock") {
                return bad("a path component ends with '.lock'");
            }
        }
        Ok(Branch(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Branch {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, NameError> {
        Self::parse(&s)
    }
}

impl From<Branch> for String {
    fn from(b: Branch) -> String {
        b.0
    }
}

/// A docker image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VersionTag(String);

impl VersionTag {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let first_ok = s
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let rest_ok = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if first_ok && rest_ok && s.len() <= 128 {
            Ok(VersionTag(s.to_string()))
        } else {
            Err(refuse(format!(
                "{} is not a valid version tag (a docker tag: letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-').",
                shown(s)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VersionTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for VersionTag {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, NameError> {
        Self::parse(&s)
    }
}

impl From<VersionTag> for String {
    fn from(t: VersionTag) -> String {
        t.0
    }
}

/// A job's number, shown to people as `#N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl JobId {
    /// Accepts `#3` or `3`.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let digits = s.strip_prefix('#').unwrap_or(s);
        match digits.parse::<u64>() {
            Ok(n) if n > 0 && digits.chars().all(|c| c.is_ascii_digit()) => Ok(JobId(n)),
            _ => Err(refuse(format!(
                "{} is not a job number (write it as #3 or 3).",
                shown(s)
            ))),
        }
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The names in `candidates` closest to `input`, best first, at most three: those
/// within a third of the shorter name's length in edits (a swap of two letters counts
/// as one), or that start with the input.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let input = input.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let d = edit_distance(&input, c);
            let shorter = input.chars().count().min(c.chars().count());
            let prefix = input.len() >= 2 && c.starts_with(&input);
            (d <= (shorter / 3).max(1) || prefix).then_some((if prefix { d.min(1) } else { d }, c))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// Edit distance with adjacent swaps (optimal string alignment), in characters; long
/// inputs are cut at 64.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_branches_are_accepted() {
        for ok in [
            "master",
            "feature/login",
            "release-1.2",
            "fix_bug",
            "user/x/y",
            "ünïcode",
            "a@b",
        ] {
            assert!(Branch::parse(ok).is_ok(), "{ok:?} should be accepted");
        }
    }

    #[test]
    fn each_git_rule_is_enforced() {
        let cases = [
            ("", "empty"),
            ("a..b", ".."),
            ("a b", "space"),
            ("a\tb", "control"),
            ("a~b", "~"),
            ("a^b", "^"),
            ("a:b", ":"),
            ("a?b", "?"),
            ("a*b", "*"),
            ("a[b", "["),
            ("a\\b", "\\"),
            ("-a", "leading -"),
            ("a@{b", "@{"),
            ("a.lock", ".lock"),
            ("a.lock/b", "component .lock"),
            ("a/", "trailing /"),
            ("/a", "leading /"),
            ("a//b", "//"),
            ("a/.b", "component starting with ."),
            ("a.", "trailing ."),
            ("HEAD", "HEAD"),
        ];

        for (bad, rule) in cases {
            assert!(
                Branch::parse(bad).is_err(),
                "{bad:?} breaks the {rule} rule"
            );
        }
        assert!(Branch::parse(&"a".repeat(255)).is_ok());
        assert!(Branch::parse(&"a".repeat(256)).is_err());
    }

    #[test]
    fn version_tags_follow_the_docker_grammar() {
        for ok in ["v1.2.3", "master-57-3f9c2e1", "_x", "1", &"a".repeat(128)] {
            assert!(VersionTag::parse(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            ".v1",
            "-v1",
            "v1/2",
            "v 1",
            "v1:2",
            &"a".repeat(129),
            "vé",
        ] {
            assert!(VersionTag::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn job_ids_are_written_with_or_without_the_hash() {
        assert_eq!(JobId::parse("#3").unwrap(), JobId(3));
        assert_eq!(JobId::parse("3").unwrap(), JobId(3));
        for bad in [
            "",
            "#",
            "0",
            "#0",
            "-1",
            "+3",
            "3a",
            "##3",
            "99999999999999999999999",
        ] {
            assert!(JobId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(JobId(12).to_string(), "#12");
    }

    #[test]
    fn close_names_are_suggested() {
        let names = ["web", "api", "worker"];
        assert_eq!(closest("wbe", names), vec!["web"]);
        assert_eq!(closest("work", names), vec!["worker"]);
        assert!(closest("zzzzzzzz", names).is_empty());
    }

    #[test]
    fn shown_values_are_short_and_escaped() {
        assert_eq!(shown("a\nb"), "\"a\\nb\"");
        assert!(shown(&"x".repeat(100)).ends_with("…\""));
    }
}
