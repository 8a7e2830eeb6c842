//! A TCP proxy to put in front of a server the bot depends on (its database), to try
//! the bot against what a network does to it: a delay on every packet each way (a
//! database in another zone), and outages (a failover, a lost link) in which every open
//! connection is cut and new ones are refused until it is restored.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy; it stops when dropped.
pub struct TcpProxy {
    addr: SocketAddr,
    down: Arc<AtomicBool>,
    /// Counts the outages begun: each connection ends when it changes.
    cuts: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on a free port of 127.0.0.1 and forwards each connection to `upstream`,
    /// delaying every chunk by `delay` in each direction.
    pub async fn start(upstream: SocketAddr, delay: Duration) -> std::io::Result<TcpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let down = Arc::new(AtomicBool::new(false));
        let cuts = watch::channel(0).0;
        let task = tokio::spawn(accept(
            listener,
            upstream,
            delay,
            down.clone(),
            cuts.clone(),
        ));
        Ok(TcpProxy {
            addr,
            down,
            cuts,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts every open connection and refuses new ones until [`Self::restore`].
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

async fn accept(
    listener: TcpListener,
    upstream: SocketAddr,
    delay: Duration,
    down: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if down.load(Ordering::SeqCst) {
            // Refused: closed at once, as a server that is not there yet.
            drop(client);
            continue;
        }
        let cut = cuts.subscribe();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            let mut cut = cut;
            tokio::select! {
                _ = pipe(client_read, server_write, delay) => {}
                _ = pipe(server_read, client_write, delay) => {}
                _ = cut.changed() => {}
            }
        });
    }
}

/// Copies one direction, each chunk `delay` late.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await?;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn forwards_then_cuts_and_refuses_then_forwards_again() {
        let proxy = TcpProxy::start(echo().await, Duration::ZERO).await.unwrap();
        assert_eq!(round_trip(proxy.addr()).await.unwrap(), b"ping");
        let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
        open.write_all(b"a").await.unwrap();
        let mut one = [0u8; 1];
        open.read_exact(&mut one).await.unwrap();
        proxy.cut();
        assert_eq!(
            open.read(&mut one).await.unwrap_or(0),
            0,
            "the open one is cut"
        );
        assert!(
            round_trip(proxy.addr()).await.is_err(),
            "a new one is refused"
        );
        proxy.restore();
        assert_eq!(round_trip(proxy.addr()).await.unwrap(), b"ping");
    }

    #[tokio::test(start_paused = true)]
    async fn every_chunk_is_late_by_the_delay_each_way() {
        let proxy = TcpProxy::start(echo().await, Duration::from_millis(2))
            .await
            .unwrap();
        let began = tokio::time::Instant::now();
        round_trip(proxy.addr()).await.unwrap();
        assert!(began.elapsed() >= Duration::from_millis(4));
    }
}
