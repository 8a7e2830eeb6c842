//! Connecting to PostgreSQL: the driver's options made from the parts of the URL the
//! configuration parsed ([`PgUrl`]) rather than from the URL's text, so the driver
//! connects to exactly what releasebot shows, a password holding `/`, `?` or `@` needs
//! no encoding, and no text the driver is given holds the password.
//!
//! TLS as libpq spells it: `sslmode` (or `PGSSLMODE`) is `disable`, `allow` (taken as
//! `disable`: the driver never tries TLS second), `prefer` (the default: TLS when the
//! server offers it, plain text when it does not), `require` (TLS, the certificate not
//! checked), `verify-ca` (the certificate signed by a trusted authority) or
//! `verify-full` (and naming the host). The trusted authorities are Mozilla's, compiled
//! in as for the PaaS and Discord connections, plus those in the file `sslrootcert` (or
//! `PGSSLROOTCERT`) names. As in libpq, such a file makes `require` check the authority
//! (`verify-ca`), and `sslrootcert=system` (Mozilla's again) makes `verify-full` the
//! default and the only mode allowed. A certificate that is not trusted is refused
//! saying so; only `prefer` and `allow` ever use plain text.

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use super::failure::{Failure, Kind, Location};
use crate::location::PgUrl;
use crate::secret::Secret;

/// How long a connection attempt may take, unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many connections a store keeps: the engine's writes of different jobs, reads
/// and the lease's renewals need not wait for each other. A write is a transaction of
/// four or five round trips, so a database a few milliseconds away takes each
/// connection's writes at a few dozen a second: sixteen keep a burst of thousands of
/// jobs changing at once from queueing for a connection.
const CONNECTIONS: u32 = 16;

/// The options releasebot reads from a URL's query besides those the URL's other parts
/// say (`host`, `port`, `user`, `dbname`, `password`, `passfile`).
const SUPPORTED: [&str; 7] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "options",
];

/// The database as messages name it, keeping its password out of them.
pub(super) fn location(url: &PgUrl, password: Option<Secret>) -> Location {
    Location::new(url.to_string(), password, Kind::Postgres)
}

/// The driver's options for each of the URL's hosts, in order, and how long a
/// connection may take.
pub(super) fn options(
    url: &PgUrl,
    password: Option<&Secret>,
) -> Result<(Vec<PgConnectOptions>, Duration), Failure> {
    let mut base = PgConnectOptions::new_without_pgpass()
        .application_name("releasebot")
        .disable_statement_logging();
    let mut timeout = CONNECT_TIMEOUT;
    let mut ssl_mode = None;
    let mut roots = Roots::Mozilla;
    for (key, value) in url.options() {
        match key.as_str() {
            "sslmode" => {
                ssl_mode = Some(value.parse::<PgSslMode>().map_err(|_| {
                    unusable(
                        "its sslmode (or PGSSLMODE) is none of disable, allow, prefer, require, verify-ca, verify-full",
                    )
                })?);
            }
            "sslrootcert" if value == "system" => roots = Roots::System,
            "sslrootcert" => {
                readable(value, "sslrootcert (or PGSSLROOTCERT)")?;
                roots = Roots::File;
                base = base.ssl_root_cert(value);
            }
            "sslcert" => {
                readable(value, "sslcert")?;
                base = base.ssl_client_cert(value);
            }
            "sslkey" => {
                readable(value, "sslkey")?;
                base = base.ssl_client_key(value);
            }
            "connect_timeout" => {
                let seconds: u64 = value
                    .parse()
                    .map_err(|_| unusable("its connect_timeout is not a number of seconds"))?;
                // libpq takes 0 as no limit; a call's own limit still holds.
                timeout = match seconds {
                    0 => super::db::CALL_TIMEOUT,
                    s => Duration::from_secs(s.max(2)),
                };
            }
            "application_name" => base = base.application_name(value),
            "options" => base = base.options(parse_options(value)?),
            other => {
                return Err(unusable(&format!(
                    "its option {} is not one releasebot uses (it takes {})",
                    crate::names::shown(other),
                    SUPPORTED.join(", ")
                )));
            }
        }
    }
    // The driver reads PGSSLMODE and PGSSLROOTCERT from the process on its own; the
    // options are what releasebot read (the URL's, else those variables), so that the
    // URL's `sslrootcert=system` is not widened by a file the variable names.
    base = base.ssl_mode(mode_with(ssl_mode, roots)?.unwrap_or(PgSslMode::Prefer));
    if roots != Roots::File {
        base = base.ssl_root_cert_from_pem(Vec::new());
    }
    if let Some(user) = url.user() {
        base = base.username(user);
    }
    if let Some(db) = url.dbname() {
        base = base.database(db);
    }
    if let Some(p) = password {
        base = base.password(p.expose());
    }
    let hosts: Vec<&str> = match url.hosts() {
        [] => vec![""],
        hosts => hosts.iter().map(String::as_str).collect(),
    };
    let each = hosts
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let mut o = base.clone();
            if let Some(port) = url.ports().get(i).or(url.ports().first()) {
                o = o.port(*port);
            }
            match *host {
                "" => o,
                h if h.starts_with('/') => o.socket(Path::new(h)),
                h => o.host(h),
            }
        })
        .collect();
    Ok((each, timeout))
}

/// Which authorities `sslrootcert` has trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Roots {
    /// None named: Mozilla's, compiled in.
    Mozilla,
    /// `system`: the TLS library's own, which are Mozilla's here too.
    System,
    /// A file's, besides Mozilla's.
    File,
}

/// The mode `sslmode` gives, with libpq's rules for `sslrootcert` on top: a file makes
/// `require` check the authority (`verify-ca`), and `system` makes `verify-full` the
/// default and refuses any other mode, so naming the system's roots never ends in a
/// certificate nobody checks. `None`: the driver's default (`prefer`).
fn mode_with(given: Option<PgSslMode>, roots: Roots) -> Result<Option<PgSslMode>, Failure> {
    match (given, roots) {
        (Some(PgSslMode::Require), Roots::File) => Ok(Some(PgSslMode::VerifyCa)),
        (None | Some(PgSslMode::VerifyFull), Roots::System) => Ok(Some(PgSslMode::VerifyFull)),
        (Some(_), Roots::System) => Err(unusable(
            "its sslrootcert names the system's authorities, which only sslmode verify-full may use (as in libpq)",
        )),
        (given, _) => Ok(given),
    }
}

fn unusable(why: &str) -> Failure {
    Failure::CannotOpen(format!("not a usable PostgreSQL URL: {why}"))
}

/// Refuses a certificate or key file that cannot be read, before connecting, without
/// showing its path (a query's values are never shown).
fn readable(path: &str, option: &str) -> Result<(), Failure> {
    std::fs::metadata(path).map(|_| ()).map_err(|e| {
        Failure::CannotOpen(format!("the file its {option} names cannot be read ({e})"))
    })
}

/// `options=-c a=b -c c=d` as the driver's key and value pairs.
fn parse_options(value: &str) -> Result<Vec<(String, String)>, Failure> {
    let mut pairs = Vec::new();
    let mut words = value.split_whitespace();
    while let Some(word) = words.next() {
        let setting = match word {
            "-c" => words.next().unwrap_or_default(),
            w => w.strip_prefix("-c").unwrap_or(w),
        };
        let setting = setting.strip_prefix("--").unwrap_or(setting);
        let (k, v) = setting
            .split_once('=')
            .ok_or_else(|| unusable("its options are not of the form -c name=value"))?;
        pairs.push((k.to_string(), v.to_string()));
    }
    Ok(pairs)
}

/// A pool on the first of `hosts` that accepts a connection, its schema migrated (or,
/// with `migrate: false`, left as it is).
pub(super) async fn connect(
    hosts: Vec<PgConnectOptions>,
    timeout: Duration,
    migrate: bool,
) -> Result<PgPool, Failure> {
    let mut last = None;
    for options in hosts {
        // One attempt first, whose failure says why (the pool would retry until its
        // time is up and say only that).
        let first = tokio::time::timeout(timeout, PgConnection::connect_with(&options)).await;
        match first {
            Ok(Ok(mut conn)) => {
                if migrate {
                    super::migrate::postgres(&mut conn).await?;
                }
                let _ = conn.close().await;
                return Ok(PgPoolOptions::new()
                    .max_connections(CONNECTIONS)
                    .acquire_timeout(timeout)
                    // A broken connection is found when a call fails on it, and is
                    // closed then (the pool checks each connection given back); asking
                    // first would cost every call a round trip.
                    .test_before_acquire(false)
                    .connect_lazy_with(options));
            }
            Ok(Err(e)) => last = Some(Failure::Sql(e)),
            Err(_) => {
                last = Some(Failure::Unreachable(format!(
                    "no answer within {} seconds",
                    timeout.as_secs()
                )))
            }
        }
    }
    Err(last.unwrap_or(Failure::Closed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(text: &str, password: Option<&str>) -> Vec<PgConnectOptions> {
        let url = PgUrl::parse(text).unwrap();
        options(&url, password.map(Secret::new).as_ref()).unwrap().0
    }

    #[test]
    fn every_part_reaches_the_driver() {
        let each = made(
            "postgres://bot:pa/ss-options@a:5433,b/rb?sslmode=disable&application_name=it%27s",
            Some("pa/ss-options"),
        );
        assert_eq!(each.len(), 2);
        let (a, b) = (&each[0], &each[1]);
        assert_eq!(a.get_username(), "bot");
        assert_eq!(a.get_database(), Some("rb"));
        assert_eq!((a.get_host(), a.get_port()), ("a", 5433));
        assert_eq!((b.get_host(), b.get_port()), ("b", 5432));
        assert!(matches!(a.get_ssl_mode(), PgSslMode::Disable));
        assert_eq!(a.get_application_name(), Some("it's"));
        assert!(!format!("{a:?}").contains("sslmode=disable&"));
    }

    #[test]
    fn sslmode_is_read_as_libpq_spells_it() {
        for (given, mode) in [
            ("disable", PgSslMode::Disable),
            ("allow", PgSslMode::Allow),
            ("prefer", PgSslMode::Prefer),
            ("require", PgSslMode::Require),
            ("verify-ca", PgSslMode::VerifyCa),
            ("verify-full", PgSslMode::VerifyFull),
        ] {
            let each = made(&format!("postgres://bot@db/rb?sslmode={given}"), None);
            assert_eq!(
                format!("{:?}", each[0].get_ssl_mode()),
                format!("{mode:?}"),
                "{given}"
            );
        }
    }

    #[test]
    fn sslrootcert_changes_the_mode_as_in_libpq() {
        let pem = std::env::temp_dir().join(format!("releasebot-root-{}.pem", std::process::id()));
        std::fs::write(&pem, "").unwrap();
        let mode = |query: &str| {
            let url = PgUrl::parse(&format!("postgres://bot@db/rb?{query}")).unwrap();
            options(&url, None).map(|(each, _)| format!("{:?}", each[0].get_ssl_mode()))
        };
        let file = format!("sslrootcert={}", pem.display());
        assert_eq!(
            mode(&format!("sslmode=require&{file}")).unwrap(),
            "VerifyCa"
        );
        assert_eq!(mode(&file).unwrap(), "Prefer", "prefer checks nothing");
        assert_eq!(mode("sslrootcert=system").unwrap(), "VerifyFull");
        assert_eq!(
            mode("sslmode=verify-full&sslrootcert=system").unwrap(),
            "VerifyFull"
        );
        for weaker in ["disable", "allow", "prefer", "require", "verify-ca"] {
            let Err(Failure::CannotOpen(why)) =
                mode(&format!("sslmode={weaker}&sslrootcert=system"))
            else {
                panic!("{weaker} with the system's roots is refused")
            };
            assert!(why.contains("only sslmode verify-full"), "{why}");
        }
        let _ = std::fs::remove_file(&pem);
    }

    #[cfg(unix)]
    #[test]
    fn a_socket_directory_is_a_unix_host() {
        let each = made("postgres://bot@/rb?host=/var/run/postgresql", None);
        assert_eq!(
            each[0].get_socket().and_then(|p| p.to_str()),
            Some("/var/run/postgresql")
        );
    }

    #[test]
    fn a_bad_or_unknown_option_is_named_without_its_value() {
        for text in [
            "postgres://bot@db/rb?sslmode=s3cret-options",
            "postgres://bot@db/rb?target_session_attrs=s3cret-options",
            "postgres://bot@db/rb?sslrootcert=/nonexistent/s3cret-options",
        ] {
            let url = PgUrl::parse(text).unwrap();
            let Err(Failure::CannotOpen(detail)) = options(&url, None) else {
                panic!("refused: {text}")
            };
            assert!(!detail.contains("s3cret"), "{detail}");
            assert!(detail.contains("ssl") || detail.contains("target_session_attrs"));
        }
    }
}
