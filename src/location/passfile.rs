//! A PostgreSQL password file, as libpq reads one: lines of
//! `hostname:port:database:username:password`, `#` starting a comment line, `*` as a
//! whole field matching anything, and `\` escaping a `:` or a `\` (or a `*`, to mean
//! the character itself). The first line whose four fields match gives the password.
//!
//! libpq ignores (with a warning) a file that is not a plain file or that its group or
//! others may read or write; releasebot refuses to start with it instead. The file was
//! named on purpose (`passfile=` or `PGPASSFILE`), so ignoring it would only turn into a
//! failed login that no longer says why, and a file others can read has already given
//! the password away. For the same reason a named file that cannot be read is refused,
//! where libpq would carry on without it. Nothing of a line is ever shown.

use std::path::{Path, PathBuf};

/// Why a passfile cannot be used. `Display` names the file, never its contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassfileError {
    #[error("the passfile {} cannot be read ({reason})", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("the passfile {} is not a plain file", path.display())]
    NotAFile { path: PathBuf },
    #[error(
        "the passfile {} may be read or written by its group or others (mode {mode:04o}); libpq ignores such a file and releasebot refuses it: chmod 600 it",
        path.display()
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error(
        "the passfile {} gives the hosts of RELEASEBOT_DB different passwords; releasebot sends one password to whichever host answers, so give them one",
        path.display()
    )]
    HostsDiffer { path: PathBuf },
}

/// The lines of a passfile that can match, in order.
#[derive(Debug, Default)]
pub(super) struct Passfile {
    entries: Vec<Entry>,
}

/// One line: four fields to match and the password.
#[derive(Debug)]
struct Entry {
    /// `None` is the `*` wildcard.
    fields: [Option<String>; 4],
    password: String,
}

/// The socket directories libpq builds commonly default to: a connection through one
/// of them matches the host name `localhost`, as libpq's does through its own default.
const DEFAULT_SOCKET_DIRS: [&str; 3] = ["/tmp", "/var/run/postgresql", "/run/postgresql"];

impl Passfile {
    /// Reads the file at `path`, refusing one that others may read.
    pub(super) fn read(path: &Path) -> Result<Passfile, PassfileError> {
        let meta = std::fs::metadata(path).map_err(|e| PassfileError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if !meta.is_file() {
            return Err(PassfileError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(PassfileError::TooOpen {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| PassfileError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(Passfile::parse(&text))
    }

    pub(super) fn parse(text: &str) -> Passfile {
        let entries = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(entry)
            .collect();
        Passfile { entries }
    }

    /// The password of the first line matching the connection. `host` is empty when
    /// none is named (it then matches `localhost`, as does a default socket directory).
    pub(super) fn lookup(&self, host: &str, port: &str, db: &str, user: &str) -> Option<&str> {
        let host = match host {
            "" => "localhost",
            h if DEFAULT_SOCKET_DIRS.contains(&h.trim_end_matches('/')) => "localhost",
            h => h,
        };
        let wanted = [host, port, db, user];
        self.entries
            .iter()
            .find(|e| {
                e.fields
                    .iter()
                    .zip(wanted)
                    .all(|(field, value)| field.as_deref().is_none_or(|f| f == value))
            })
            .map(|e| e.password.as_str())
    }
}

/// A line split at its unescaped `:`s; `None` when it has fewer than five fields.
fn entry(line: &str) -> Option<Entry> {
    let mut fields: Vec<(String, bool)> = Vec::new();
    let (mut field, mut escaped_any) = (String::new(), false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) => {
                    field.push(next);
                    escaped_any = true;
                }
                None => field.push('\\'),
            },
            ':' if fields.len() < 4 => {
                fields.push((std::mem::take(&mut field), escaped_any));
                escaped_any = false;
            }
            // The password ends at its first unescaped `:`; what follows is ignored.
            ':' => break,
            c => field.push(c),
        }
    }
    if fields.len() < 4 {
        return None;
    }
    let mut matchers = fields
        .into_iter()
        .map(|(f, escaped)| (f != "*" || escaped).then_some(f));
    Some(Entry {
        fields: [
            matchers.next().flatten(),
            matchers.next().flatten(),
            matchers.next().flatten(),
            matchers.next().flatten(),
        ],
        password: field,
    })
}
