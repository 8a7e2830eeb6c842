//! What comes from the environment (and `.env`): the secrets, the paths of the
//! configuration and state files, and the addresses the bot serves on. Secrets never
//! go in the configuration file, so the file can be shared and reviewed.

use std::path::PathBuf;

use crate::location::{ConnString, Database};
use crate::secret::Secret;

/// What comes from the environment: secrets and paths. `{:?}` shows every URL from its
/// parts, so it holds no password.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub config_path: PathBuf,
    /// Set when `RELEASEBOT_CONFIG` named the file (so a missing file is an error).
    pub config_named: bool,
    /// `RELEASEBOT_DB`, with `RELEASEBOT_DB_PASSWORD`, `PGPASSFILE`, `PGSSLMODE` and
    /// `PGSSLROOTCERT`.
    pub db: Database,
    pub rancher_url: Option<ConnString>,
    pub rancher_token: Option<Secret>,
    pub discord_token: Option<Secret>,
    pub discord_guild_id: Option<String>,
    pub discord_proxy_url: Option<ConnString>,
    pub http_addr: Option<String>,
    pub public_url: Option<String>,
    /// Pins the webhook secret (`RELEASEBOT_WEBHOOK_SECRET`); otherwise one is made.
    pub webhook_pin: Option<Secret>,
    pub log_json: bool,
    /// This replica's name among those sharing a PostgreSQL store (`RELEASEBOT_REPLICA`,
    /// the pod's name under Kubernetes); host, process and a random part otherwise.
    pub replica: Option<String>,
}

impl Env {
    /// Reads the process environment (after `.env`, which never overrides it).
    pub fn from_process() -> Env {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup, for tests.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Env {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let named = get("RELEASEBOT_CONFIG");
        Env {
            config_named: named.is_some(),
            config_path: PathBuf::from(named.unwrap_or_else(|| "releasebot.toml".into())),
            db: Database::from_env(
                &get("RELEASEBOT_DB").unwrap_or_else(|| "releasebot.db".into()),
                // Taken as it is: a password may begin or end with a space.
                get("RELEASEBOT_DB_PASSWORD").map(Secret::new),
                get("PGPASSFILE").map(PathBuf::from),
            )
            .with_tls_variables(get("PGSSLMODE"), get("PGSSLROOTCERT")),
            rancher_url: get("RANCHER_URL").map(ConnString::new),
            rancher_token: get("RANCHER_TOKEN").map(Secret::new),
            discord_token: get("DISCORD_TOKEN").map(Secret::new),
            discord_guild_id: get("DISCORD_GUILD_ID"),
            discord_proxy_url: get("DISCORD_PROXY_URL").map(ConnString::new),
            http_addr: get("RELEASEBOT_HTTP_ADDR"),
            public_url: get("RELEASEBOT_PUBLIC_URL"),
            webhook_pin: get("RELEASEBOT_WEBHOOK_SECRET").map(Secret::new),
            log_json: get("RELEASEBOT_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")),
            replica: get("RELEASEBOT_REPLICA"),
        }
    }

    /// The secrets to keep out of everything the bot shows.
    pub fn secrets(&self) -> Vec<Secret> {
        self.rancher_token
            .iter()
            .chain(self.discord_token.iter())
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_supplies_secrets_and_paths() {
        let env = Env::from_lookup(|k| match k {
            "RANCHER_TOKEN" => Some("token-abc:secret".into()),
            "RELEASEBOT_DB" => Some("/data/r.db".into()),
            _ => None,
        });
        assert!(
            matches!(&env.db, Database::File(p) if p.as_path() == std::path::Path::new("/data/r.db"))
        );
        assert_eq!(env.config_path, PathBuf::from("releasebot.toml"));
        assert!(!format!("{env:?}").contains("secret"));
        assert_eq!(env.secrets().len(), 1);
    }
}
