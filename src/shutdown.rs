//! The one shutdown signal (after mini-redis's `shutdown.rs`): whoever must stop —
//! the chat adapter's connection, the HTTP server, the engine — holds a [`Shutdown`]
//! and waits on it; the application fires it once.

use tokio::sync::watch;

/// A shutdown signal: cheap to clone, fired once for every clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: std::sync::Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(false);
        Shutdown {
            tx: std::sync::Arc::new(tx),
            rx,
        }
    }

    /// Fires the signal: everyone waiting stops.
    pub fn fire(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_fired(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once the signal has fired.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|fired| *fired).await;
    }
}

/// Resolves on SIGTERM or Ctrl-C, naming which.
pub async fn os_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "interrupted",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "interrupted"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_hears_the_one_signal() {
        let shutdown = Shutdown::new();
        let a = shutdown.clone();
        let waiting = tokio::spawn(async move { a.wait().await });
        assert!(!shutdown.is_fired());
        shutdown.fire();
        waiting.await.unwrap();
        shutdown.clone().wait().await;
        assert!(shutdown.is_fired());
    }
}
