//! `RELEASEBOT_DB`: a SQLite file's path, or a PostgreSQL URL read the way libpq reads
//! one, with its password kept as a [`Secret`] and shown nowhere.
//!
//! The password may come from three places, looked at in libpq's order: the URL (its
//! user-info or a `password=` option), `RELEASEBOT_DB_PASSWORD`, and a passfile (the
//! URL's `passfile=` option, else `PGPASSFILE`), read only when neither of the others
//! gives one. The URL and the variable may both give one only if it is the same: two
//! different passwords mean one of them is stale, and guessing which would fail later
//! with a message that no longer says why.
//!
//! TLS takes libpq's options and variables alike: the URL's `sslmode` and `sslrootcert`,
//! else `PGSSLMODE` and `PGSSLROOTCERT`, so a deployment can mount the authority that
//! signed the server's certificate and name it without touching a URL kept in a Secret.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{HostPort, LocationError, Parts, decode, encode, host_shown, parse_port, passfile};
use crate::secret::Secret;

/// The port PostgreSQL listens on unless told otherwise.
const DEFAULT_PORT: u16 = 5432;

/// Where the state is kept, as `RELEASEBOT_DB` says. `{}` and `{:?}` show a URL from its
/// parts only.
#[derive(Clone)]
pub enum Database {
    /// A SQLite file.
    File(PathBuf),
    /// A PostgreSQL database.
    Postgres(Box<PgUrl>),
    /// A `postgres://` URL that cannot be parsed: only the reason is kept, so nothing
    /// can show its text.
    Unreadable(LocationError),
}

impl Database {
    /// `text` (a path or a URL) with no password from elsewhere.
    pub fn parse(text: &str) -> Database {
        Database::from_env(text, None, None)
    }

    /// `RELEASEBOT_DB`'s value, with `RELEASEBOT_DB_PASSWORD` and `PGPASSFILE`.
    pub fn from_env(text: &str, password: Option<Secret>, pgpassfile: Option<PathBuf>) -> Database {
        if !is_url(text) {
            return Database::File(PathBuf::from(text));
        }
        match PgUrl::parse(text) {
            Ok(mut url) => {
                url.password_variable = password;
                url.pgpassfile = pgpassfile;
                Database::Postgres(Box::new(url))
            }
            Err(problem) => Database::Unreadable(problem),
        }
    }

    /// `PGSSLMODE` and `PGSSLROOTCERT`: the TLS options of a URL whose query does not
    /// give them (the URL's own win, as in libpq). A SQLite file has none.
    pub fn with_tls_variables(
        mut self,
        sslmode: Option<String>,
        sslrootcert: Option<String>,
    ) -> Database {
        if let Database::Postgres(url) = &mut self {
            for (key, value) in [("sslmode", sslmode), ("sslrootcert", sslrootcert)] {
                if let Some(value) = value {
                    url.default_option(key, value);
                }
            }
        }
        self
    }
}

impl Default for Database {
    fn default() -> Self {
        Database::File(PathBuf::from("releasebot.db"))
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::File(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => url.fmt(f),
            Database::Unreadable(_) => write!(f, "postgres://{}", super::UNREADABLE),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Unreadable(problem) => write!(f, "Database({self}: {problem})"),
            _ => write!(f, "Database({self})"),
        }
    }
}

/// Whether `text` names a PostgreSQL database rather than a SQLite file.
fn is_url(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// A PostgreSQL URL in its parts, libpq's way: a query option overrides the part of the
/// URL it names (`host=/var/run/postgresql` replaces the URL's hosts). `{}` and `{:?}`
/// show `postgres://user@host:port/db`.
#[derive(Clone)]
pub struct PgUrl {
    scheme: String,
    user: Option<String>,
    /// From the URL (its user-info or `password=`).
    password: Option<Secret>,
    /// Decoded; one starting with `/` is a directory holding the server's socket.
    hosts: Vec<String>,
    /// None (the default port), one for every host, or one per host.
    ports: Vec<u16>,
    dbname: Option<String>,
    /// The other query options, decoded, for the driver.
    options: Vec<(String, String)>,
    /// `passfile=`.
    passfile: Option<PathBuf>,
    /// `RELEASEBOT_DB_PASSWORD`.
    password_variable: Option<Secret>,
    /// `PGPASSFILE`.
    pgpassfile: Option<PathBuf>,
}

impl PgUrl {
    pub fn parse(text: &str) -> Result<PgUrl, LocationError> {
        let parts = Parts::parse(text)?;
        if !matches!(parts.scheme.as_str(), "postgres" | "postgresql") {
            return Err(LocationError::NotPostgres);
        }
        let (mut user, mut password) = parts.credentials()?;
        if let Some(raw) = parts.userinfo.and_then(|u| u.split_once(':')) {
            // The password as written too (`pa%2Fss`), should anything echo the URL.
            keep_secret(raw.1);
        }
        let mut hosts: Vec<String> = parts.hosts.iter().map(|h| h.name.clone()).collect();
        let mut ports: Vec<Option<u16>> = parts.hosts.iter().map(|h| h.port).collect();
        let mut dbname = match parts.path.strip_prefix('/') {
            Some(db) if !db.is_empty() => Some(decode(db, "database name")?),
            _ => None,
        };
        let mut options = Vec::new();
        let mut passfile = None;
        for pair in parts
            .query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (key, raw) = pair.split_once('=').ok_or_else(|| LocationError::NoValue {
                key: option_name(pair),
            })?;
            let key = decode(key, "query")?;
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return Err(LocationError::Option {
                    key: option_name(&key),
                });
            }
            let value = decode(raw, "query")?;
            match key.as_str() {
                "password" => {
                    keep_secret(raw);
                    password = Some(value).filter(|p| !p.is_empty());
                }
                "user" => user = Some(value),
                "dbname" => dbname = Some(value),
                "passfile" => passfile = Some(PathBuf::from(value)),
                "host" => {
                    hosts = value.split(',').map(str::to_string).collect();
                    if hosts.iter().any(|h| h.chars().any(char::is_control)) {
                        return Err(LocationError::Host { n: 1 });
                    }
                }
                "port" => {
                    ports = value
                        .split(',')
                        .enumerate()
                        .map(|(i, p)| parse_port(p, i + 1))
                        .collect::<Result<_, _>>()?;
                }
                _ => options.push((key, value)),
            }
        }
        let ports: Vec<u16> = ports.iter().map(|p| p.unwrap_or(DEFAULT_PORT)).collect();
        if ports.len() > 1 && ports.len() != hosts.len() {
            return Err(LocationError::Ports {
                hosts: hosts.len(),
                ports: ports.len(),
            });
        }
        Ok(PgUrl {
            scheme: parts.scheme,
            user,
            password: password.map(Secret::new),
            hosts,
            ports,
            dbname,
            options,
            passfile,
            password_variable: None,
            pgpassfile: None,
        })
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The hosts, decoded; one starting with `/` is a socket directory.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// No port (the default), one for every host, or one per host.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    pub fn dbname(&self) -> Option<&str> {
        self.dbname.as_deref()
    }

    /// The query's other options (`sslmode`, `connect_timeout`, …), decoded, for the
    /// driver. Their values may be secret: never show them.
    pub fn options(&self) -> &[(String, String)] {
        &self.options
    }

    /// Sets the query option `key` to `value` unless the query gives it.
    fn default_option(&mut self, key: &str, value: String) {
        if !self.options.iter().any(|(k, _)| k == key) {
            self.options.push((key.to_string(), value));
        }
    }

    /// The password to connect with, from the URL, `RELEASEBOT_DB_PASSWORD` or a
    /// passfile (read now), in that order; `None` when none gives one.
    pub fn password(&self) -> Result<Option<Secret>, LocationError> {
        match (&self.password, &self.password_variable) {
            (Some(url), Some(variable)) if url != variable => Err(LocationError::TwoPasswords),
            (Some(p), _) | (None, Some(p)) => Ok(Some(p.clone())),
            (None, None) => match self.passfile.as_ref().or(self.pgpassfile.as_ref()) {
                Some(path) => self.password_in(path),
                None => Ok(None),
            },
        }
    }

    /// The password `path` gives this connection, libpq's way: the first line matching
    /// host, port, database and user. Every host must get the same password, since
    /// one password is sent to whichever host answers.
    fn password_in(&self, path: &Path) -> Result<Option<Secret>, LocationError> {
        let entries = passfile::Passfile::read(path)?;
        let user = self.user.as_deref().unwrap_or("");
        // The server's default database is the user's name.
        let dbname = self.dbname.as_deref().unwrap_or(user);
        let port = |i: usize| {
            self.ports
                .get(i)
                .or(self.ports.first())
                .copied()
                .unwrap_or(DEFAULT_PORT)
                .to_string()
        };
        let mut hosts: Vec<String> = self.hosts.clone();
        if hosts.is_empty() {
            // libpq matches `hostaddr` when no host is named, and `localhost` else.
            hosts = self
                .options
                .iter()
                .find(|(k, _)| k == "hostaddr")
                .map(|(_, v)| v.split(',').map(str::to_string).collect())
                .unwrap_or_else(|| vec![String::new()]);
        }
        let mut found: Option<String> = None;
        for (i, host) in hosts.iter().enumerate() {
            let Some(password) = entries.lookup(host, &port(i), dbname, user) else {
                continue;
            };
            match &found {
                Some(earlier) if earlier != password => {
                    return Err(passfile::PassfileError::HostsDiffer {
                        path: path.to_path_buf(),
                    }
                    .into());
                }
                _ => found = Some(password.to_string()),
            }
        }
        Ok(found.filter(|p| !p.is_empty()).map(Secret::new))
    }
}

/// Registers `raw` (a password as written in the URL) with the redactor when it differs
/// from what it decodes to, which is registered anyway.
fn keep_secret(raw: &str) {
    if percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .as_deref()
        != Some(raw)
    {
        drop(Secret::new(raw));
    }
}

/// An option's name as shown in an error: escaped and cut short.
fn option_name(key: &str) -> String {
    crate::names::shown(key)
}

impl fmt::Display for PgUrl {
    /// `postgres://user@host:port,host:port/db`: no password, no options.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if let Some(user) = self.user.as_deref().filter(|u| !u.is_empty()) {
            write!(f, "{}@", encode(user, ""))?;
        }
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .enumerate()
            .map(|(i, name)| {
                host_shown(&HostPort {
                    name: name.clone(),
                    port: Some(
                        self.ports
                            .get(i)
                            .or(self.ports.first())
                            .copied()
                            .unwrap_or(DEFAULT_PORT),
                    ),
                })
            })
            .collect();
        f.write_str(&hosts.join(","))?;
        if let Some(db) = &self.dbname {
            write!(f, "/{}", encode(db, ""))?;
        }
        Ok(())
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({self})")
    }
}
