//! The one redactor: every string that comes from outside (PaaS JSON, deploy logs,
//! commit messages, error texts, what people type) passes it before it is stored,
//! rendered or logged.
//!
//! It knows two kinds of secret. The process's own ([`crate::secret::Secret`]: the
//! tokens, the database password) are registered here when they are made, so they are
//! removed wherever they appear. Secrets of other systems are recognised by their
//! shape: `password=` and its kin, `Authorization` headers, credentials in URLs,
//! Rancher tokens and private key blocks.

use std::sync::{Arc, RwLock};

use crate::secret::Secret;

/// The process's own secrets, removed from every text wherever they appear.
static KNOWN: RwLock<Vec<Arc<str>>> = RwLock::new(Vec::new());

/// The shortest secret removed by value: shorter ones would garble ordinary words.
const SHORTEST: usize = 4;

/// Makes `value` one of the process's own secrets. [`Secret::new`] calls it.
pub(crate) fn register(value: &Arc<str>) {
    if value.len() < SHORTEST {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|k| **k == **value) {
        known.push(value.clone());
    }
}

fn known() -> Vec<Secret> {
    KNOWN
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|k| Secret::known(k.clone()))
        .collect()
}

/// One piece of outside text, redacted with the process's own secrets and every
/// known shape.
pub fn text(s: &str) -> String {
    Redactor::new(known()).text(s)
}

/// Lines of outside text (a log excerpt), redacted as a whole: a private key block is
/// removed from its BEGIN line to its END line.
pub fn lines(lines: &[String]) -> Vec<String> {
    Redactor::new(known()).lines(lines)
}

/// Key names whose values are secrets when followed by `=` or `:`.
const SECRET_KEYS: [&str; 12] = [
    "password",
    "passwd",
    "pwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "private_key",
    "credential",
    "auth",
];

const REDACTED: &str = "[redacted]";

/// Redacts log lines: the configured secrets' values, `password=`/`token=`/`secret=`-style
/// values, `Authorization` headers and bearer tokens, credentials in URLs, Rancher API
/// tokens, and private key blocks.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<Secret>,
}

impl Redactor {
    pub fn new(secrets: Vec<Secret>) -> Self {
        Redactor {
            secrets: secrets
                .into_iter()
                .filter(|s| s.expose().len() >= 4)
                .collect(),
        }
    }

    /// Redacts a sequence of lines; a private key spanning lines is removed whole.
    pub fn lines(&self, lines: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(lines.len());
        let mut in_key = false;
        for line in lines {
            let upper = line.to_ascii_uppercase();
            if in_key {
                if upper.contains("-----END") {
                    in_key = false;
                }
                continue;
            }
            if upper.contains("-----BEGIN") && upper.contains("PRIVATE KEY") {
                let start = upper.find("-----BEGIN").unwrap_or(0);
                out.push(format!("{}[redacted private key]", &line[..start]));
                in_key = !upper[start..].contains("-----END");
                continue;
            }
            out.push(self.line(line));
        }
        out
    }

    /// Redacts a text that may hold several lines.
    pub fn text(&self, text: &str) -> String {
        if !text.contains('\n') {
            return self.line(text);
        }
        let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
        self.lines(&lines).join("\n")
    }

    /// Redacts one line.
    pub fn line(&self, line: &str) -> String {
        let mut s = line.to_string();
        for secret in &self.secrets {
            s = secret.scrub(&s);
        }
        let s = redact_url_credentials(&s);
        let s = redact_authorization(&s);
        let s = redact_bearer(&s);
        let s = redact_rancher_tokens(&s);
        redact_key_values(&s)
    }
}

/// `scheme://user:password@host` → `scheme://user:[redacted]@host`.
fn redact_url_credentials(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `Authorization: Basic abc`, `authorization=xyz`: the credentials after the scheme.
fn redact_authorization(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let Some(at) = lower.find("authorization") else {
        return s.to_string();
    };
    let bytes = lower.as_bytes();
    let mut j = at + "authorization".len();
    while j < bytes.len() && matches!(bytes[j], b'"' | b'\'' | b' ' | b'\t') {
        j += 1;
    }
    if j >= bytes.len() || !matches!(bytes[j], b':' | b'=') {
        return s.to_string();
    }
    j += 1;
    while j < bytes.len() && matches!(bytes[j], b'"' | b'\'' | b' ' | b'\t') {
        j += 1;
    }
    for scheme in ["bearer ", "basic ", "token ", "digest ", "negotiate "] {
        if lower[j..].starts_with(scheme) {
            j += scheme.len();
            break;
        }
    }
    let end = lower[j..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
        .map_or(lower.len(), |e| j + e);
    if end == j || &s[j..end] == REDACTED {
        return s.to_string();
    }
    format!("{}{REDACTED}{}", &s[..j], redact_authorization(&s[end..]))
}

/// `Bearer abc`, `Basic abc` (as in `Authorization: Bearer abc`) → `Bearer [redacted]`.
fn redact_bearer(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for scheme in ["bearer ", "basic ", "token "] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(scheme) {
            let start = from + i + scheme.len();
            let value_start = start + (lower[start..].len() - lower[start..].trim_start().len());
            let end = lower[value_start..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
                .map_or(lower.len(), |e| value_start + e);
            // Only redact what looks like a credential, not prose ("basic setup").
            let value = &s[value_start..end];
            let credential = value.len() >= 8
                && value
                    .chars()
                    .any(|c| c.is_ascii_digit() || "=-_.+/".contains(c));
            if credential && value_start >= last && value != REDACTED {
                out.push_str(&s[last..value_start]);
                out.push_str(REDACTED);
                last = end;
            }
            from = end.max(start);
            if from >= lower.len() {
                break;
            }
        }
    }
    out.push_str(&s[last..]);
    out
}

/// Rancher API tokens, `token-xxxxx:<secret>`.
fn redact_rancher_tokens(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("token-") {
        let (head, tail) = rest.split_at(i);
        out.push_str(head);
        let id_len = tail[6..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(tail.len() - 6, |n| n);
        let after_id = 6 + id_len;
        if tail[after_id..].starts_with(':') {
            let secret_len = tail[after_id + 1..]
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(tail.len() - after_id - 1);
            if secret_len >= 16 {
                out.push_str(&tail[..after_id + 1]);
                out.push_str(REDACTED);
                rest = &tail[after_id + 1 + secret_len..];
                continue;
            }
        }
        out.push_str(&tail[..after_id]);
        rest = &tail[after_id..];
    }
    out.push_str(rest);
    out
}

/// `password=x`, `DB_PASSWORD: "x"`, `"token": "x"`, `secret = 'x'` → the value redacted.
fn redact_key_values(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(key) {
            let key_start = from + i;
            let mut j = key_start + key.len();
            from = j;
            // Let the key run on (`password_hash`, `tokens`) as long as it is a word.
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'-')
            {
                j += 1;
            }
            // `authority`, `author` are not secrets: only take `auth` as a whole key.
            if key == "auth"
                && j != key_start + key.len()
                && !lower[key_start..j].starts_with("auth_")
            {
                continue;
            }
            while j < bytes.len() && matches!(bytes[j], b'"' | b'\'' | b' ' | b'\t') {
                j += 1;
            }
            if j >= bytes.len() || !matches!(bytes[j], b'=' | b':') {
                continue;
            }
            if lower[j..].starts_with("://") {
                continue;
            }
            j += 1;
            while j < bytes.len() && matches!(bytes[j], b' ' | b'\t') {
                j += 1;
            }
            let (start, end) = match bytes.get(j) {
                Some(q @ (b'"' | b'\'')) => {
                    let start = j + 1;
                    let end = lower[start..]
                        .find(*q as char)
                        .map_or(lower.len(), |e| start + e);
                    (start, end)
                }
                _ => {
                    let end = lower[j..]
                        .find(|c: char| {
                            c.is_whitespace() || matches!(c, ',' | ';' | '&' | '}' | ')')
                        })
                        .map_or(lower.len(), |e| j + e);
                    (j, end)
                }
            };
            if end > start && &s[start..end] != REDACTED {
                spans.push((start, end));
            }
        }
    }
    if spans.is_empty() {
        return s.to_string();
    }
    spans.sort();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (start, end) in spans {
        if start < last {
            continue;
        }
        out.push_str(&s[last..start]);
        out.push_str(REDACTED);
        last = end;
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(line: &str) -> String {
        Redactor::new(vec![
            Secret::new("token-abcde:verysecretvalue1234567890"),
            Secret::new("discord.bot.token"),
        ])
        .line(line)
    }

    #[test]
    fn configured_tokens_are_removed() {
        assert_eq!(
            r("using token-abcde:verysecretvalue1234567890 now"),
            "using [redacted] now"
        );
        assert!(!r("x discord.bot.token y").contains("discord.bot.token"));
    }

    #[test]
    fn key_value_secrets_in_many_shapes() {
        let cases = [
            ("password=hunter2 user=bob", "password=[redacted] user=bob"),
            ("DB_PASSWORD: s3cr3t", "DB_PASSWORD: [redacted]"),
            (
                r#"{"token": "abc123", "id": 1}"#,
                r#"{"token": "[redacted]", "id": 1}"#,
            ),
            ("secret = 'x y z'", "secret = '[redacted]'"),
            ("?api_key=AKIA123&x=1", "?api_key=[redacted]&x=1"),
            ("client_secret=zzz;next", "client_secret=[redacted];next"),
            ("GITHUB_TOKEN=ghp_abcdef", "GITHUB_TOKEN=[redacted]"),
        ];
        for (input, want) in cases {
            assert_eq!(r(input), want, "{input}");
        }
    }

    #[test]
    fn headers_urls_and_rancher_tokens() {
        assert_eq!(
            r("Authorization: Bearer eyJhbGciOi.x.y"),
            "Authorization: Bearer [redacted]"
        );
        assert_eq!(
            r("authorization=Basic dXNlcjpwYXNz"),
            "authorization=Basic [redacted]"
        );
        assert_eq!(
            r("postgres://web:pa55w0rd@db:5432/app"),
            "postgres://web:[redacted]@db:5432/app"
        );
        assert_eq!(
            r("key token-zz9y8:abcdefghijklmnopqrstuvwxyz0123456789 end"),
            "key token-zz9y8:[redacted] end"
        );
    }

    #[test]
    fn ordinary_lines_are_left_alone() {
        for line in [
            "INFO listening on :8080",
            "GET /health 200",
            "author: alice",
            "https://example.com/path",
            "basic setup done",
        ] {
            assert_eq!(r(line), line);
        }
        // Erring on the safe side: a word that starts like a secret key counts as one.
        assert_eq!(r("tokens: 15"), "tokens: [redacted]");
    }

    #[test]
    fn private_keys_are_removed_whole() {
        let lines: Vec<String> = [
            "loading key",
            "-----BEGIN RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEA",
            "-----END RSA PRIVATE KEY-----",
            "done",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let out = Redactor::default().lines(&lines);
        assert_eq!(out, ["loading key", "[redacted private key]", "done"]);
    }
}
