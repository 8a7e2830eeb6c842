//! The webhook's secret, the last segment of the URL each run request gives the PaaS.
//!
//! It is made from the operating system's random source (32 bytes, 64 hex digits) and
//! kept in the store, so builds started before a restart can still call. An operator
//! pins it with `RELEASEBOT_WEBHOOK_SECRET` and rotates it by changing that and
//! restarting; a secret made by an earlier releasebot (40 letters and digits from a
//! non-cryptographic generator) is replaced at the first start. After a change the
//! one before stays accepted for as long as a build may run, since builds started
//! before the change call with it.

use std::time::Duration;

use crate::secret::Secret;
use crate::store::{Store, StoreError};

/// Where the secret is kept (the name an earlier releasebot kept it under).
const CURRENT: &str = "webhook_secret";
/// The secret before it and until when it is accepted: `<until_ms> <secret>`, or empty.
const PREVIOUS: &str = "webhook_secret_previous";
/// Random bytes in a secret made here.
const SECRET_BYTES: usize = 32;
/// The shortest secret taken: 32 random bytes in base64url; hex digits of 32 bytes are
/// 64. An earlier releasebot's (40 characters) is shorter.
pub const MIN_SECRET_LEN: usize = 43;

/// Why the webhook secret cannot be settled.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSecretError {
    #[error(
        "RELEASEBOT_WEBHOOK_SECRET must be at least {MIN_SECRET_LEN} letters, digits, '-', '_', '.' or '~' (`openssl rand -hex 32` makes one)"
    )]
    Weak,
    #[error("the operating system's random source failed: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The secret given to new builds, and the one before it while it is still accepted.
#[derive(Debug)]
pub struct WebhookSecrets {
    pub current: Secret,
    /// The secret before, and until when (ms since the epoch) it is accepted.
    pub previous: Option<(Secret, i64)>,
}

/// A new secret: 32 bytes from the operating system's random source, in hex.
pub fn generate() -> Result<String, WebhookSecretError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(WebhookSecretError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Long enough, and safe in a URL's path as it is.
pub fn is_strong(secret: &str) -> bool {
    secret.len() >= MIN_SECRET_LEN
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

/// The secrets in force from now: the pinned one if any, otherwise the one kept if it
/// is strong, otherwise a new one. When that changes the one kept, the one before is
/// accepted for `grace` more.
pub async fn settle(
    store: &Store,
    pinned: Option<&Secret>,
    now_ms: i64,
    grace: Duration,
) -> Result<WebhookSecrets, WebhookSecretError> {
    if pinned.is_some_and(|p| !is_strong(p.expose())) {
        return Err(WebhookSecretError::Weak);
    }
    let made = match pinned {
        Some(p) => p.expose().to_string(),
        None => generate()?,
    };
    let kept = store.meta(CURRENT, || made.clone()).await?;
    let wanted = match pinned {
        None if is_strong(&kept) => kept.clone(),
        _ => made,
    };
    let mut current = kept.clone();
    if wanted != kept {
        // The one before first: once the new one is in place, builds get it.
        let until_ms = now_ms.saturating_add(i64::try_from(grace.as_millis()).unwrap_or(i64::MAX));
        let before = store.meta(PREVIOUS, String::new).await?;
        store
            .swap_meta(PREVIOUS, &before, &format!("{until_ms} {kept}"))
            .await?;
        // Another replica may have changed it at the same time: then its stays.
        current = store.swap_meta(CURRENT, &kept, &wanted).await?;
        tracing::info!(
            accepted_until = %crate::clock::rfc3339(crate::clock::from_ms(until_ms)),
            "the webhook secret changed; the one before is still accepted for a while"
        );
    }
    let previous = match store.meta(PREVIOUS, String::new).await?.split_once(' ') {
        Some((until, secret)) if secret != current => until
            .parse::<i64>()
            .ok()
            .filter(|until| *until > now_ms)
            .map(|until| (Secret::new(secret), until)),
        _ => None,
    };
    Ok(WebhookSecrets {
        current: Secret::new(current),
        previous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const HOUR_MS: i64 = 3_600_000;

    fn pin(s: &str) -> Secret {
        Secret::new(s)
    }

    #[tokio::test]
    async fn a_made_secret_is_32_random_bytes_in_hex() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert!(is_strong(&a));
        assert_ne!(a, b);
        // Not from a seeded generator: the same seed gives another secret.
        fastrand::seed(7);
        let a = generate().unwrap();
        fastrand::seed(7);
        assert_ne!(a, generate().unwrap());
        // Each of the 256 bits varies: over a few dozen secrets, every hex digit's
        // place shows more than one value.
        let many: Vec<String> = (0..64).map(|_| generate().unwrap()).collect();
        for place in 0..64 {
            let first = many[0].as_bytes()[place];
            assert!(
                many.iter().any(|s| s.as_bytes()[place] != first),
                "digit {place} never changes"
            );
        }
    }

    #[tokio::test]
    async fn the_secret_is_made_once_and_kept() {
        let store = Store::open_in_memory().await.unwrap();
        let first = settle(&store, None, 0, HOUR).await.unwrap();
        assert_eq!(first.current.expose().len(), 64);
        assert!(first.previous.is_none());
        let again = settle(&store, None, 10, HOUR).await.unwrap();
        assert_eq!(again.current, first.current);
        assert!(again.previous.is_none());
    }

    #[tokio::test]
    async fn an_earlier_releasebots_secret_is_replaced_and_accepted_for_a_while() {
        let store = Store::open_in_memory().await.unwrap();
        let old: String = "aZ3".repeat(14)[..40].to_string();
        store.meta(CURRENT, || old.clone()).await.unwrap();
        let now = 1_000_000;
        let s = settle(&store, None, now, HOUR).await.unwrap();
        assert_ne!(s.current.expose(), old);
        assert!(is_strong(s.current.expose()));
        let (previous, until) = s.previous.unwrap();
        assert_eq!(previous.expose(), old);
        assert_eq!(until, now + HOUR_MS);
        // The next start keeps the new one, and the old one until it expires.
        let later = settle(&store, None, now + HOUR_MS / 2, HOUR).await.unwrap();
        assert_eq!(later.current, s.current);
        assert_eq!(later.previous.unwrap().0.expose(), old);
        let expired = settle(&store, None, now + HOUR_MS, HOUR).await.unwrap();
        assert_eq!(expired.current, s.current);
        assert!(expired.previous.is_none());
    }

    #[tokio::test]
    async fn a_pinned_secret_rotates_the_kept_one() {
        let store = Store::open_in_memory().await.unwrap();
        let made = settle(&store, None, 0, HOUR).await.unwrap().current;
        let one = "1".repeat(64);
        let s = settle(&store, Some(&pin(&one)), 5, HOUR).await.unwrap();
        assert_eq!(s.current.expose(), one);
        assert_eq!(s.previous.as_ref().unwrap().0, made);
        // Pinning another rotates again; the one pinned before is now the previous.
        let two = "2".repeat(64);
        let s = settle(&store, Some(&pin(&two)), 10, HOUR).await.unwrap();
        assert_eq!(s.current.expose(), two);
        assert_eq!(s.previous.unwrap().0.expose(), one);
        // Unpinned, the last one stays (a strong secret is never replaced unasked).
        let s = settle(&store, None, 20, HOUR).await.unwrap();
        assert_eq!(s.current.expose(), two);
    }

    #[tokio::test]
    async fn a_secret_pinned_from_the_start_has_no_previous() {
        let store = Store::open_in_memory().await.unwrap();
        let one = "1".repeat(64);
        let s = settle(&store, Some(&pin(&one)), 0, HOUR).await.unwrap();
        assert_eq!(s.current.expose(), one);
        assert!(s.previous.is_none());
    }

    #[tokio::test]
    async fn a_weak_pinned_secret_is_refused() {
        let store = Store::open_in_memory().await.unwrap();
        for weak in ["short", &"a".repeat(42), &format!("{}/x", "a".repeat(50))] {
            assert!(matches!(
                settle(&store, Some(&pin(weak)), 0, HOUR).await,
                Err(WebhookSecretError::Weak)
            ));
        }
        assert!(is_strong(&"a-_.~".repeat(9)));
    }
}
