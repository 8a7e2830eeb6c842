//! Connection strings (`RELEASEBOT_DB`, `RANCHER_URL`, `[paas] url`,
//! `DISCORD_PROXY_URL`): parsed into their parts, and shown only from those parts, as
//! `scheme://user@host:port/path`. A password, a query's values and a fragment are never
//! shown; a string that cannot be parsed is shown as a placeholder, never as its text,
//! because what cannot be parsed cannot be told apart from its password.
//!
//! This lives with the configuration, not with the store or the PaaS client, because it
//! is about what the operator gave, not about any one driver: the store builds its
//! driver's options from a [`PgUrl`]'s parts (and will do the same for another driver),
//! the PaaS client and the Discord proxy check their URLs with their own HTTP library
//! and name them in errors with [`shown`].
//!
//! The parser is deliberately libpq-shaped rather than a strict URL parser, because
//! operators paste passwords as they are: the user-info ends at the *last* `@`, so a
//! password holding `/`, `?`, `#`, `:` or `@` is still all password (a `@` in a query
//! value must then be written `%40`), and a host list may name several hosts
//! (`a:5432,b:5433`).

mod passfile;
mod postgres;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::Ipv6Addr;

pub use passfile::PassfileError;
pub use postgres::{Database, PgUrl};

/// What a string that cannot be parsed is shown as, after its scheme.
const UNREADABLE: &str = "[unreadable]";

/// Why a connection string cannot be used. `Display` names the part and never holds
/// any of the string's text, so it may be shown anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error("it does not start with a scheme such as postgres:// or https://")]
    NoScheme,
    #[error("it is not a postgres:// or postgresql:// URL")]
    NotPostgres,
    #[error("its host {n} is neither a host name nor an IP address in brackets")]
    Host { n: usize },
    #[error("its port {n} is not a number from 1 to 65535")]
    Port { n: usize },
    /// Only a `@` in a query value can put these in the user part, whose end is the
    /// last `@`: refused, rather than connecting as a user made of the query.
    #[error(
        "its user name holds a /, ? or # (write it percent-encoded; a @ in an option's value must be written %40)"
    )]
    User,
    #[error("its {part} is not UTF-8 once percent-decoded")]
    NotUtf8 { part: &'static str },
    #[error("it names {hosts} hosts and {ports} ports (give one port, or one per host)")]
    Ports { hosts: usize, ports: usize },
    #[error("its query holds {key}, which is not an option name")]
    Option { key: String },
    #[error("its query option {key} has no value")]
    NoValue { key: String },
    /// The URL's password and `RELEASEBOT_DB_PASSWORD` differ: one of them is stale.
    #[error(
        "RELEASEBOT_DB holds a password and RELEASEBOT_DB_PASSWORD another one; give it once, in RELEASEBOT_DB_PASSWORD"
    )]
    TwoPasswords,
    #[error(transparent)]
    Passfile(#[from] PassfileError),
}

/// A connection string as it was given: the text is kept whole for the code that
/// parses it, and every `{}` or `{:?}` shows it from its parts ([`shown`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ConnString(String);

impl ConnString {
    pub fn new(text: impl Into<String>) -> Self {
        ConnString(text.into())
    }

    /// The text as given, for the one parser that uses it; never for a message.
    pub fn given(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shown(&self.0))
    }
}

impl fmt::Debug for ConnString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnString({})", shown(&self.0))
    }
}

/// `text` shown from its parts: `scheme://user@host:port/path`, with `?…` and `#…`
/// standing for a query and a fragment; a placeholder when it does not parse.
pub fn shown(text: &str) -> String {
    match Parts::parse(text) {
        Ok(parts) => parts.to_string(),
        Err(_) => placeholder(text),
    }
}

/// `scheme://[unreadable]` (or `[unreadable]` alone when not even the scheme reads).
fn placeholder(text: &str) -> String {
    match scheme_of(text.trim()) {
        Some((scheme, _)) => format!("{}://{UNREADABLE}", scheme.to_ascii_lowercase()),
        None => UNREADABLE.to_string(),
    }
}

/// The scheme and what follows `://`, if the text starts with a well-formed scheme.
fn scheme_of(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && scheme.len() <= 32;
    well_formed.then_some((scheme, rest))
}

/// One host of a host list, decoded, with its port if one was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    pub name: String,
    pub port: Option<u16>,
}

/// A connection string split into its parts, each still as written except the hosts.
#[derive(Debug)]
pub(crate) struct Parts<'a> {
    /// Lowercased.
    pub scheme: String,
    /// Everything before the last `@`, if there is one.
    pub userinfo: Option<&'a str>,
    pub hosts: Vec<HostPort>,
    /// From the `/` after the hosts up to the query (empty when there is none).
    pub path: &'a str,
    /// After the `?`.
    pub query: Option<&'a str>,
    /// Whether a `#` fragment follows (only `http`-like schemes have one).
    pub fragment: bool,
}

impl<'a> Parts<'a> {
    pub fn parse(text: &'a str) -> Result<Parts<'a>, LocationError> {
        let (scheme, rest) = scheme_of(text.trim()).ok_or(LocationError::NoScheme)?;
        let scheme = scheme.to_ascii_lowercase();
        // libpq has no fragments: a `#` there belongs to a name or a value.
        let has_fragments = matches!(scheme.as_str(), "http" | "https" | "ws" | "wss");
        let (userinfo, rest) = match rest.rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let user = userinfo.map(|u| u.split_once(':').map_or(u, |(user, _)| user));
        if user.is_some_and(|u| !plain_user(u)) {
            return Err(LocationError::User);
        }
        let (rest, fragment) = match rest.find('#').filter(|_| has_fragments) {
            Some(at) => (&rest[..at], true),
            None => (rest, false),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (rest, None),
        };
        let (hostspec, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        Ok(Parts {
            scheme,
            userinfo,
            hosts: hosts(hostspec)?,
            path,
            query,
            fragment,
        })
    }

    /// The user and the password of the user-info, percent-decoded.
    pub fn credentials(&self) -> Result<(Option<String>, Option<String>), LocationError> {
        let Some(userinfo) = self.userinfo else {
            return Ok((None, None));
        };
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        let user = Some(decode(user, "user")?).filter(|u| !u.is_empty());
        let password = match password {
            Some(p) => Some(decode(p, "password")?).filter(|p| !p.is_empty()),
            None => None,
        };
        Ok((user, password))
    }
}

impl fmt::Display for Parts<'_> {
    /// Only the parts that are never secret: no password, no query values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        let user = self
            .userinfo
            .map(|u| u.split_once(':').map_or(u, |(user, _)| user))
            .map(|u| decode(u, "user").unwrap_or_default())
            .unwrap_or_default();
        if !user.is_empty() {
            write!(f, "{}@", encode(&user, ""))?;
        }
        let hosts: Vec<String> = self.hosts.iter().map(host_shown).collect();
        f.write_str(&hosts.join(","))?;
        if !self.path.is_empty() {
            let path = decode(self.path, "path").unwrap_or_default();
            f.write_str(&encode(&path, "/"))?;
        }
        if self.query.is_some() {
            f.write_str("?…")?;
        }
        if self.fragment {
            f.write_str("#…")?;
        }
        Ok(())
    }
}

/// Whether the user part, as written, could be a user name: one holding `/`, `?` or
/// `#` is the start of a path or a query that a later `@` made look like a user.
fn plain_user(user: &str) -> bool {
    !user.contains(['/', '?', '#'])
}

/// `host:port`, a socket directory percent-encoded and an IPv6 address in brackets.
pub(crate) fn host_shown(h: &HostPort) -> String {
    let name = match is_ipv6(&h.name) {
        true => format!("[{}]", h.name),
        false => encode(&h.name, ""),
    };
    match h.port {
        Some(port) => format!("{name}:{port}"),
        None => name,
    }
}

/// An IPv6 address, with a zone (`fe80::1%eth0`) or without.
fn is_ipv6(text: &str) -> bool {
    let (address, zone) = match text.split_once('%') {
        Some((address, zone)) => (address, Some(zone)),
        None => (text, None),
    };
    address.parse::<Ipv6Addr>().is_ok()
        && zone.is_none_or(|z| !z.is_empty() && z.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// A comma-separated host list: `name`, `name:port`, `[v6]`, `[v6]:port`, or nothing.
fn hosts(spec: &str) -> Result<Vec<HostPort>, LocationError> {
    if spec.is_empty() {
        return Ok(Vec::new());
    }
    spec.split(',')
        .enumerate()
        .map(|(i, chunk)| host(chunk, i + 1))
        .collect()
}

fn host(chunk: &str, n: usize) -> Result<HostPort, LocationError> {
    let (name, port) = match chunk.strip_prefix('[') {
        Some(bracketed) => {
            let (inside, after) = bracketed.split_once(']').ok_or(LocationError::Host { n })?;
            if !is_ipv6(inside) {
                return Err(LocationError::Host { n });
            }
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or(LocationError::Host { n })?),
            };
            (inside.to_string(), port)
        }
        None => {
            let (name, port) = match chunk.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (chunk, None),
            };
            let allowed = |c: char| c.is_alphanumeric() || "-._~%".contains(c);
            if !name.chars().all(allowed) {
                return Err(LocationError::Host { n });
            }
            let name = decode(name, "host")?;
            if name.chars().any(char::is_control) {
                return Err(LocationError::Host { n });
            }
            (name, port)
        }
    };
    Ok(HostPort {
        name,
        port: port.map(|p| parse_port(p, n)).transpose()?.flatten(),
    })
}

/// A port: digits, 1 to 65535; empty means the default.
pub(crate) fn parse_port(text: &str, n: usize) -> Result<Option<u16>, LocationError> {
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<u16>() {
        Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(port)),
        _ => Err(LocationError::Port { n }),
    }
}

/// Percent-decodes one part; `part` names it in the error.
pub(crate) fn decode(text: &str, part: &'static str) -> Result<String, LocationError> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| LocationError::NotUtf8 { part })
}

/// Percent-encodes everything but letters, digits, `-._~` and the characters in
/// `keep`, so what is shown is one unambiguous token with no control characters.
pub(crate) fn encode(text: &str, keep: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() && !c.is_control() || "-._~".contains(c) || keep.contains(c) {
            out.push(c);
        } else {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}
