//! How the connection is made. Plain TCP for now: a database on the same private
//! network or reached through a sidecar. A URL asking for TLS (`sslmode=require`) is
//! refused when the store opens rather than quietly connecting without it.

use futures_util::future::BoxFuture;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};

use super::failure::Failure;

/// The connection's driving future, whatever stream it runs on.
pub(super) type Driver = BoxFuture<'static, Result<(), tokio_postgres::Error>>;

/// Refuses what this build cannot honour.
pub(super) fn check(config: &Config) -> Result<(), Failure> {
    match config.get_ssl_mode() {
        SslMode::Require => Err(Failure::CannotOpen(
            "sslmode=require asks for TLS, which this releasebot does not speak to PostgreSQL yet"
                .into(),
        )),
        _ => Ok(()),
    }
}

/// Connects (without TLS: `prefer` falls back to plain, `disable` is plain).
pub(super) async fn connect(config: &Config) -> Result<(Client, Driver), Failure> {
    let (client, connection) = config.connect(NoTls).await?;
    Ok((client, Box::pin(connection)))
}
