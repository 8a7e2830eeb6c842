//! The ways a PaaS call can fail, each told in one plain sentence a chat user can act on,
//! and the ways a client cannot be made at all (a bad base URL), told to the operator
//! when the bot starts.

use std::time::Duration;

/// A failed PaaS call. `Display` is a full sentence meant for chat; it never holds
/// the token (the client scrubs anything the PaaS echoes back).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaasError {
    #[error(
        "The PaaS rejected releasebot's API token (401 Unauthorized); an operator must set a valid RANCHER_TOKEN."
    )]
    Unauthorized,
    #[error("The PaaS token is not allowed to do this (403 {code}: {message}).")]
    Forbidden { code: String, message: String },
    #[error("The PaaS has no such {what} (404 {code}: {message}).")]
    NotFound {
        what: &'static str,
        code: String,
        message: String,
    },
    #[error("The PaaS refused the request ({status} {code}: {message}).")]
    Invalid {
        status: u16,
        code: String,
        message: String,
    },
    #[error("The PaaS failed with a server error ({status} {detail}).")]
    Server { status: u16, detail: String },
    #[error("The PaaS is rate limiting releasebot (429){}.", retry_hint(.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    #[error("The PaaS did not answer within {}.", crate::clock::short_duration(*.after))]
    Timeout { after: Duration },
    #[error("The PaaS at {host} cannot be reached ({detail}).")]
    Unreachable { host: String, detail: String },
    #[error("The PaaS sent a {what} releasebot cannot read ({excerpt}).")]
    Undecodable { what: &'static str, excerpt: String },
    #[error(
        "The PaaS did not answer the {action} request and shows no sign that it was carried out; releasebot did not send it again, so that nothing runs twice."
    )]
    Unconfirmed { action: &'static str },
}

/// Why a PaaS base URL is refused. `Display` names the URL only as
/// [`shown`](crate::location::shown) from its parts, never as given: a URL
/// that is refused may hold anything, a password or a token pasted by mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the PaaS URL is not a URL ({reason}); give it as https://rancher.example.com")]
    NotAUrl { reason: String },
    #[error("the PaaS URL {url} must start with https:// (or http://)")]
    NotHttp { url: String },
    #[error("the PaaS URL {url} has no host")]
    NoHost { url: String },
    /// The token goes in `RANCHER_TOKEN`, never in the URL, where logs would show it.
    #[error("the PaaS URL must not hold credentials; set RANCHER_TOKEN instead")]
    Credentials,
    #[error("the PaaS URL {url} must not have a query or fragment")]
    QueryOrFragment { url: String },
    /// Every request carries the token, which can deploy anything: in the clear only
    /// to this machine (the simulator, a tunnel), unless the operator says otherwise.
    #[error(
        "the PaaS URL {url} is plain http, which would send the API token unencrypted; use https://, or allow it with [paas] allow_plain_http = true in the configuration file"
    )]
    PlainHttp { url: String },
}

/// Why a [`PaasClient`](super::PaasClient) cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("cannot build the HTTP client: {0}")]
    Http(reqwest::Error),
}

fn retry_hint(after: &Option<Duration>) -> String {
    match after {
        Some(d) => format!("; retry after {}", crate::clock::short_duration(*d)),
        None => String::new(),
    }
}

impl PaasError {
    /// Worth retrying a read for: the PaaS may answer next time. A body that cannot be
    /// read counts: a proxy cutting a response short is a passing fault.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PaasError::Timeout { .. }
                | PaasError::Unreachable { .. }
                | PaasError::RateLimited { .. }
                | PaasError::Undecodable { .. }
                | PaasError::Server { .. }
        )
    }

    /// A request that changes something and failed this way never reached the PaaS
    /// (refused connection, rate limit, cluster unavailable), so it may be sent again.
    /// A 500 may mean the PaaS refused it for good ("no pipeline config"): not resent.
    pub fn is_safe_to_resend(&self) -> bool {
        match self {
            PaasError::Unreachable { .. } | PaasError::RateLimited { .. } => true,
            PaasError::Server { status, .. } => *status == 503,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_one_sentence() {
        let errors = [
            PaasError::Unauthorized,
            PaasError::Forbidden {
                code: "PermissionDenied".into(),
                message: "nope".into(),
            },
            PaasError::RateLimited {
                retry_after: Some(Duration::from_secs(3)),
            },
            PaasError::Timeout {
                after: Duration::from_secs(15),
            },
            PaasError::Unconfirmed { action: "run" },
        ];
        for e in errors {
            let s = e.to_string();
            assert!(s.starts_with("The PaaS"), "{s}");
            assert!(s.ends_with('.'), "{s}");
            assert_eq!(s.matches(". ").count(), 0, "{s}");
        }
    }
}
