//! Secrets of other systems, recognised by their shape. Each finder adds the byte
//! ranges to remove to `spans`; the caller merges and replaces them.
//!
//! The finders err on the side of removing: `tokens: 15` loses its number, which costs
//! a reader little, while a missed password costs a rotation.

use std::sync::LazyLock;

use regex::Regex;

use super::{REDACTED, Span};

/// Tokens whose shape alone says what they are, wherever they stand.
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        // A JWT: base64url header and claims, both JSON objects, and a signature.
        r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
        // GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens.
        r"|\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}",
        r"|\bgithub_pat_[A-Za-z0-9_]{20,}",
        r"|\bglpat-[A-Za-z0-9_-]{20,}",
        // Slack bot, user, app and refresh tokens.
        r"|\bxox[abeoprs]-[A-Za-z0-9-]{10,}",
        // Stripe secret and restricted keys, webhook secrets.
        r"|\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
        r"|\bwhsec_[A-Za-z0-9+/=]{16,}",
        // AWS access key ids, Google API keys, npm tokens, SendGrid keys.
        r"|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
        r"|\bAIza[0-9A-Za-z_-]{35}",
        r"|\bnpm_[A-Za-z0-9]{36}",
        r"|\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
        // A Discord bot token: the bot's id in base64, a timestamp, an HMAC.
        r"|\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}",
    ))
    .unwrap_or_else(|e| unreachable!("the token shapes are a valid pattern: {e}"))
});

/// Tokens of which only a part is secret: the part is the first group.
static TOKEN_PARTS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // A Rancher API key, `token-xxxxx:<secret>`: the name may be shown.
        r"\btoken-[a-z0-9]+:([A-Za-z0-9]{16,})",
        // A Discord interaction's or webhook's token in a URL path.
        r"/(?:webhooks|interactions)/[0-9]{5,}/([A-Za-z0-9_.-]{20,})",
    ]
    .iter()
    .map(|p| Regex::new(p).unwrap_or_else(|e| unreachable!("{p} is a valid pattern: {e}")))
    .collect()
});

/// A key whose value is a secret, followed by `=` or `:`, in any quoting: the key is
/// the first group. A key must start a word, and may run on (`DB_PASSWORD`,
/// `client_secret`, `X-Amz-Signature`); `auth` and `sig` count only as whole keys,
/// so `author` and `signal` do not.
static KEYS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?i)(?:^|[^a-z0-9_.-])("#,
        r"[a-z0-9_.-]*?(?:password|passwd|passphrase|pwd|secret|token|api[_.-]?key",
        r"|access[_.-]?key|private[_.-]?key|account[_.-]?key|credential|signature)",
        r"[a-z0-9_.-]*",
        r"|auth|auth[_-][a-z0-9_.-]*|sig|x-amz-[a-z0-9-]+",
        r#")\\?["']?[ \t]*[:=]"#,
    ))
    .unwrap_or_else(|e| unreachable!("the key shapes are a valid pattern: {e}"))
});

/// `Authorization:` (or `Proxy-Authorization=`), and a scheme if one follows: what
/// comes after is the credential.
static AUTHORIZATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?i)\b(?:proxy-)?authorization\\?["']?[ \t]*[:=][ \t]*\\?["']?"#,
        r"(?:(?:bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256)[ \t]+)?",
    ))
    .unwrap_or_else(|e| unreachable!("the authorization shape is a valid pattern: {e}"))
});

/// `Cookie:` or `Set-Cookie:`: the rest of the header is session state.
static COOKIE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:set-)?cookie\\?["']?[ \t]*[:=][ \t]*"#)
        .unwrap_or_else(|e| unreachable!("the cookie shape is a valid pattern: {e}"))
});

/// `Bearer <credential>` wherever it stands (a header printed without its name).
static SCHEME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:bearer|basic|token)[ \t]+([A-Za-z0-9._~+/-]{8,}=*)")
        .unwrap_or_else(|e| unreachable!("the scheme shape is a valid pattern: {e}"))
});

/// `scheme://`, where a URL's user-info may follow.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z][a-z0-9+.-]{1,30}://")
        .unwrap_or_else(|e| unreachable!("the URL shape is a valid pattern: {e}"))
});

/// The secrets one line shows by their shape; `at` is where the line starts in the
/// whole text.
pub(super) fn line(line: &str, at: usize, spans: &mut Vec<Span>) {
    let mut add = |range: std::ops::Range<usize>| {
        // What an earlier pass left (`[redacted]`, `[redacted private key]`) stays.
        let done = line
            .get(range.start..)
            .is_some_and(|v| v.starts_with(&REDACTED[..9]));
        if !range.is_empty() && !done {
            spans.push(Span {
                range: at + range.start..at + range.end,
                key: false,
            });
        }
    };
    for m in TOKENS.find_iter(line) {
        add(m.range());
    }
    for pattern in TOKEN_PARTS.iter() {
        for c in pattern.captures_iter(line) {
            if let Some(secret) = c.get(1) {
                add(secret.range());
            }
        }
    }
    for c in KEYS.captures_iter(line) {
        let (Some(whole), Some(key)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let rest = &line[whole.end()..];
        // `key: //` is a URL's scheme, `key == x` a comparison, and `://key:value@`
        // a URL's user-info, which `user_info` reads.
        if rest.starts_with("//") || rest.starts_with('=') || line[..key.start()].ends_with("://") {
            continue;
        }
        add(value(line, whole.end()));
    }
    for m in AUTHORIZATION.find_iter(line) {
        add(m.end()..bare_end(line, m.end(), ""));
    }
    for m in COOKIE.find_iter(line) {
        let end = line[m.end()..]
            .find(['"', '\''])
            .map_or(line.len(), |e| m.end() + e);
        add(m.end()..end);
    }
    for c in SCHEME.captures_iter(line) {
        let Some(value) = c.get(1) else { continue };
        // Only what looks like a credential, not prose ("basic setup").
        if value
            .as_str()
            .chars()
            .any(|ch| ch.is_ascii_digit() || "=-_.+/".contains(ch))
        {
            add(value.range());
        }
    }
    for m in URL.find_iter(line) {
        if let Some(range) = user_info(line, m.end()) {
            add(range);
        }
    }
}

/// Where a key's value starts and ends, from `from` just after its `=` or `:`: a
/// quoted value (in JSON, single quotes, or JSON inside a JSON string) up to its
/// closing quote, escaped quotes included; a bare value up to a space or a separator.
fn value(line: &str, from: usize) -> std::ops::Range<usize> {
    let start = from
        + line[from..]
            .find(|c| c != ' ' && c != '\t')
            .unwrap_or(line.len() - from);
    let rest = &line[start..];
    if let Some(inner) = rest.strip_prefix("\\\"") {
        let begin = start + 2;
        return begin..begin + doubly_quoted_end(inner);
    }
    if let Some(inner) = rest.strip_prefix('"') {
        let begin = start + 1;
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return begin..begin + i,
                _ => {}
            }
        }
        return begin..line.len();
    }
    if let Some(inner) = rest.strip_prefix('\'') {
        let begin = start + 1;
        return begin..begin + inner.find('\'').unwrap_or(inner.len());
    }
    start..bare_end(line, start, ",;&}){]")
}

/// The end of a bare value: a space, a quote, a backslash (an escaped quote follows)
/// or one of `stops`.
fn bare_end(line: &str, from: usize, stops: &str) -> usize {
    line[from..]
        .find(|c: char| c.is_whitespace() || "\"'\\,".contains(c) || stops.contains(c))
        .map_or(line.len(), |e| from + e)
}

/// The length of a value that is a JSON string inside a JSON string (`\"v\"`), up
/// to its closing `\"`: read through both levels of escaping, so `\\\"` (a quote
/// inside the value) does not end it.
fn doubly_quoted_end(s: &str) -> usize {
    let mut inner_escaped = false;
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let (c, width) = if let Some(r) = rest.strip_prefix('\\') {
            match r.chars().next() {
                Some(next) => (next, 1 + next.len_utf8()),
                None => ('\\', 1),
            }
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            (c, c.len_utf8())
        };
        // `c` is a character of the inner JSON text.
        if inner_escaped {
            inner_escaped = false;
        } else if c == '\\' {
            inner_escaped = true;
        } else if c == '"' && rest.starts_with('\\') {
            return i;
        }
        i += width;
    }
    s.len()
}

/// The secret part of a URL's user-info, from `from` just after `scheme://`: the
/// password of `user:password@host` (which may hold `/` or `?`), or the whole user
/// of `token@host` when it looks like a token rather than a name.
fn user_info(line: &str, from: usize) -> Option<std::ops::Range<usize>> {
    let candidate = &line[from..bare_end(line, from, "<>")];
    // The last `@` followed by something that can start a host.
    let at = candidate
        .char_indices()
        .rev()
        .find(|(i, c)| {
            *c == '@'
                && candidate[i + 1..]
                    .chars()
                    .next()
                    .is_some_and(|h| h.is_ascii_alphanumeric() || h == '[')
        })
        .map(|(i, _)| i)?;
    let info = &candidate[..at];
    match info.find(':') {
        Some(colon) => Some(from + colon + 1..from + at),
        None if info.contains('/') => None,
        None => {
            let token = info.len() >= 16
                || [
                    "ghp_",
                    "gho_",
                    "ghs_",
                    "ghu_",
                    "github_pat_",
                    "glpat-",
                    "x-access-token",
                ]
                .iter()
                .any(|p| info.starts_with(p));
            token.then_some(from..from + at)
        }
    }
}

/// Private keys across lines: a block from its BEGIN line to its END line, and the
/// body of one whose BEGIN line is not in the text (a log excerpt cut in the middle):
/// lines of base64 as long as a key's, the shorter lines that end it, and an END line
/// on its own.
pub(super) fn private_keys(text: &str, spans: &mut Vec<Span>) {
    let mut at = 0;
    let mut block: Option<usize> = None;
    let mut body = false;
    for line in text.split('\n') {
        let start = at;
        at += line.len() + 1;
        let end = start + line.len();
        let upper = line.to_ascii_uppercase();
        let trimmed = line.trim();
        if let Some(from) = block {
            if upper.contains("-----END") {
                spans.push(key_span(from..end));
                block = None;
            }
            continue;
        }
        if let Some(begin) = upper.find("-----BEGIN")
            && upper[begin..].contains("PRIVATE KEY")
        {
            if upper[begin..].contains("-----END") {
                spans.push(key_span(start + begin..end));
            } else {
                block = Some(start + begin);
            }
            continue;
        }
        let base64 = !trimmed.is_empty()
            && trimmed
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
        // A key's body line is 64 characters of base64 of random bytes, so it mixes
        // cases; a hex digest (a commit, a sha256) does not. The line that ends the
        // body is shorter, often padded with `=`.
        let body_line = base64
            && trimmed.len() >= 60
            && trimmed.chars().any(|c| c.is_ascii_uppercase())
            && trimmed.chars().any(|c| c.is_ascii_lowercase());
        let last_line = base64 && (trimmed.len() >= 16 || trimmed.ends_with('='));
        let offset = line.len() - line.trim_start().len();
        let shown = start + offset..start + offset + trimmed.len();
        if upper.contains("-----END") && upper.contains("PRIVATE KEY") {
            spans.push(key_span(shown));
            body = false;
        } else if body_line || (body && last_line) {
            spans.push(key_span(shown));
            body = true;
        } else {
            body = false;
        }
    }
    if let Some(from) = block {
        spans.push(key_span(from..text.len()));
    }
}

fn key_span(range: std::ops::Range<usize>) -> Span {
    Span { range, key: true }
}
