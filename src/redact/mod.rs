//! The one redactor: every string that comes from outside (PaaS JSON, deploy logs,
//! commit messages, error texts, what people type) passes it before it is stored,
//! rendered or logged.
//!
//! It knows two kinds of secret. The process's own ([`crate::secret::Secret`]: the
//! tokens, the database password) are registered here when they are made, and removed
//! wherever they appear: as they are, escaped in JSON, percent-encoded in a URL, or cut
//! in two by a line break. Secrets of other systems are recognised by their shape
//! ([`shapes`]): `password=` and its kin in every quoting, `Authorization` and `Cookie`
//! headers, credentials in URLs, tokens with a known prefix (GitHub, GitLab, Slack,
//! Stripe, AWS, Google, npm, SendGrid, Discord, Rancher), JWTs, signed URLs' signatures
//! and private keys, whole or in part.
//!
//! Redaction removes; it does not escape. Making text safe for a medium (markdown on
//! Discord, control characters in a terminal) is the renderer's job, on text that has
//! already passed here.

mod shapes;
#[cfg(test)]
mod tests;
mod writer;

pub use writer::{Redacting, redact_panics};

use std::ops::Range;
use std::sync::{Arc, RwLock};

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};

/// What stands where a secret was.
pub const REDACTED: &str = "[redacted]";
/// What stands where a private key block was.
pub const REDACTED_KEY: &str = "[redacted private key]";

/// The process's own secrets, removed from every text wherever they appear.
static KNOWN: RwLock<Vec<Own>> = RwLock::new(Vec::new());

/// One of the process's own secrets, in every form it may take in outside text.
#[derive(Clone)]
struct Own {
    forms: Vec<String>,
}

impl Own {
    fn new(value: &str) -> Own {
        Own {
            forms: forms(value),
        }
    }
}

/// The shortest secret removed by value: shorter ones would garble ordinary words.
const SHORTEST: usize = 4;

/// The characters a URL's user-info part encodes.
const USERINFO: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b':')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Makes `value` one of the process's own secrets. [`crate::secret::Secret::new`]
/// calls it, so no secret the process holds can be forgotten here.
pub(crate) fn register(value: &Arc<str>) {
    if value.len() < SHORTEST {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|k| k.forms[0] == **value) {
        known.push(Own::new(value));
    }
}

/// One piece of outside text (one line or several), redacted with the process's own
/// secrets and every known shape.
pub fn text(s: &str) -> String {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    redact(s, &known)
}

/// Lines of outside text (a log), redacted as a whole: a private key block is removed
/// from its BEGIN line to its END line, and a secret cut by a line break is still
/// found. Lines that held only a secret block collapse into one.
pub fn lines(lines: &[String]) -> Vec<String> {
    text(&lines.join("\n"))
        .split('\n')
        .map(str::to_string)
        .collect()
}

/// A redactor with its own list of secrets, for tests that must not depend on what
/// else the process registered.
#[derive(Clone, Default)]
pub struct Redactor {
    own: Vec<Own>,
}

impl Redactor {
    pub fn new(secrets: &[&str]) -> Self {
        Redactor {
            own: secrets
                .iter()
                .filter(|s| s.len() >= SHORTEST)
                .map(|s| Own::new(s))
                .collect(),
        }
    }

    pub fn text(&self, s: &str) -> String {
        redact(s, &self.own)
    }
}

/// A stretch of the text to replace, and with what.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    range: Range<usize>,
    key: bool,
}

fn redact(text: &str, own: &[Own]) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut spans = Vec::new();
    own_secrets(text, own, &mut spans);
    let mut at = 0;
    for line in text.split('\n') {
        shapes::line(line, at, &mut spans);
        at += line.len() + 1;
    }
    shapes::private_keys(text, &mut spans);
    apply(text, spans)
}

/// Every occurrence of the process's own secrets, in each form they may take in
/// outside text, including one cut by line breaks.
fn own_secrets(text: &str, own: &[Own], spans: &mut Vec<Span>) {
    if own.is_empty() {
        return;
    }
    // The text without its line breaks, and where each of its bytes came from.
    let flat = text.contains(['\n', '\r']).then(|| {
        let mut flat = String::with_capacity(text.len());
        let mut from = Vec::with_capacity(text.len());
        for (i, c) in text.char_indices() {
            if c != '\n' && c != '\r' {
                flat.push(c);
                from.extend((0..c.len_utf8()).map(|k| i + k));
            }
        }
        (flat, from)
    });
    for secret in own {
        for form in &secret.forms {
            for (i, _) in text.match_indices(form.as_str()) {
                spans.push(Span {
                    range: i..i + form.len(),
                    key: false,
                });
            }
            if let Some((flat, from)) = &flat {
                for (i, _) in flat.match_indices(form.as_str()) {
                    let end = from[i + form.len() - 1] + 1;
                    spans.push(Span {
                        range: from[i]..end,
                        key: false,
                    });
                }
            }
        }
    }
}

/// A secret as it is (first), escaped in a JSON string, and percent-encoded in a URL.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    for form in [
        json,
        utf8_percent_encode(secret, USERINFO).to_string(),
        utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
    ] {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// The text with every span replaced: overlapping spans become one, a span that
/// crosses line breaks takes them with it, and a private key's span says so.
fn apply(text: &str, mut spans: Vec<Span>) -> String {
    if spans.is_empty() {
        return text.to_string();
    }
    spans.sort_by_key(|s| (s.range.start, std::cmp::Reverse(s.range.end)));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.range.start < last.range.end => {
                last.range.end = last.range.end.max(span.range.end);
                last.key |= span.key;
            }
            _ => merged.push(span),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for span in merged {
        // Spans come from char boundaries, but a stray one must never panic.
        let (Some(head), true) = (
            text.get(last..span.range.start),
            text.is_char_boundary(span.range.end.min(text.len())),
        ) else {
            continue;
        };
        out.push_str(head);
        let replaced = text.get(span.range.clone()).unwrap_or_default();
        if replaced != REDACTED && replaced != REDACTED_KEY {
            out.push_str(if span.key { REDACTED_KEY } else { REDACTED });
        } else {
            out.push_str(replaced);
        }
        last = span.range.end.min(text.len());
    }
    out.push_str(text.get(last..).unwrap_or_default());
    out
}
