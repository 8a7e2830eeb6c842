//! A listener that can go down and come back, to simulate a PaaS outage.
//!
//! While down, the listening socket is closed, so new connections are refused as
//! they would be by a stopped server, and every connection already open fails its
//! next read or write, as a connection to a crashed server would.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub(crate) struct OutageListener {
    inner: Option<TcpListener>,
    addr: SocketAddr,
    down: watch::Receiver<bool>,
    down_flag: Arc<AtomicBool>,
}

impl OutageListener {
    pub fn new(
        listener: TcpListener,
        down: watch::Receiver<bool>,
        down_flag: Arc<AtomicBool>,
    ) -> io::Result<Self> {
        Ok(OutageListener {
            addr: listener.local_addr()?,
            inner: Some(listener),
            down,
            down_flag,
        })
    }
}

impl axum::serve::Listener for OutageListener {
    type Io = OutageIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if *self.down.borrow_and_update() {
                // Close the socket so connections are refused, and wait to come back.
                self.inner = None;
                let _ = self.down.wait_for(|down| !*down).await;
                continue;
            }
            if self.inner.is_none() {
                match TcpListener::bind(self.addr).await {
                    Ok(l) => self.inner = Some(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "simulator cannot listen again yet");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                }
            }
            let Some(listener) = self.inner.as_ref() else {
                continue;
            };
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, addr)) => {
                        let _ = stream.set_nodelay(true);
                        return (OutageIo { stream, down: self.down_flag.clone() }, addr);
                    }
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
                },
                _ = self.down.changed() => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// A connection that breaks while the simulator is down.
pub(crate) struct OutageIo {
    stream: TcpStream,
    down: Arc<AtomicBool>,
}

fn reset() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "simulated outage")
}

impl AsyncRead for OutageIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.down.load(Ordering::Relaxed) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for OutageIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.down.load(Ordering::Relaxed) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
