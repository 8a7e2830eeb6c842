//! The driver's connection settings, made from the parts of the URL the configuration
//! parsed ([`PgUrl`]) rather than from the URL's text: the driver then connects to
//! exactly what releasebot shows, a password holding `/`, `?` or `@` needs no
//! encoding, and no error of the driver's parser can repeat the password, which is
//! never in any text it is given.

use std::fmt::Write;

use tokio_postgres::Config;

use super::failure::Failure;
use crate::config::location::PgUrl;
use crate::secret::Secret;

/// The settings for `url`, connecting with `password`.
pub(super) fn config(url: &PgUrl, password: Option<&Secret>) -> Result<Config, Failure> {
    // The options the driver knows (sslmode, connect_timeout, …) are parsed by the
    // driver itself, as `key='value'` pairs: its errors name the option, not the value.
    let mut pairs = String::new();
    for (key, value) in url.options() {
        let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
        let _ = write!(pairs, "{key}='{quoted}' ");
    }
    let mut config = match pairs.is_empty() {
        true => Config::new(),
        false => pairs.parse().map_err(|e: tokio_postgres::Error| {
            // "invalid connection string" alone does not say which option is wrong.
            let cause = std::error::Error::source(&e)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            Failure::CannotOpen(format!("not a usable PostgreSQL URL: {e}{cause}"))
        })?,
    };
    if let Some(user) = url.user() {
        config.user(user);
    }
    if let Some(db) = url.dbname() {
        config.dbname(db);
    }
    for host in url.hosts() {
        config.host(host);
    }
    for port in url.ports() {
        config.port(*port);
    }
    if let Some(p) = password {
        config.password(p.expose());
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::{Host, SslMode};

    fn made(text: &str, password: Option<&str>) -> Config {
        let url = PgUrl::parse(text).unwrap();
        config(&url, password.map(Secret::new).as_ref()).unwrap()
    }

    #[test]
    fn every_part_reaches_the_driver() {
        let c = made(
            "postgres://bot:pa/ss-options@a:5433,b/rb?sslmode=disable&application_name=it%27s",
            Some("pa/ss-options"),
        );
        assert_eq!(c.get_user(), Some("bot"));
        assert_eq!(c.get_dbname(), Some("rb"));
        assert_eq!(c.get_password(), Some(&b"pa/ss-options"[..]));
        assert_eq!(
            c.get_hosts(),
            [Host::Tcp("a".into()), Host::Tcp("b".into())]
        );
        assert_eq!(c.get_ports(), [5433, 5432]);
        assert_eq!(c.get_ssl_mode(), SslMode::Disable);
        assert_eq!(c.get_application_name(), Some("it's"));
    }

    #[cfg(unix)]
    #[test]
    fn a_socket_directory_is_a_unix_host() {
        let c = made("postgres://bot@/rb?host=/var/run/postgresql", None);
        assert!(
            matches!(c.get_hosts(), [Host::Unix(p)] if p.to_str() == Some("/var/run/postgresql"))
        );
    }

    #[test]
    fn a_bad_option_is_named_without_its_value() {
        let url = PgUrl::parse("postgres://bot@db/rb?sslmode=s3cret-options").unwrap();
        let Err(Failure::CannotOpen(detail)) = config(&url, None) else {
            panic!("refused")
        };
        assert!(detail.contains("sslmode"), "{detail}");
        assert!(!detail.contains("s3cret"), "{detail}");
    }
}
