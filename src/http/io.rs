//! The socket under a connection: it records activity for the idle
//! timeout, holds the connection's place under `limits.max_connections`,
//! and sends a fault a response asked for instead of that response.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_rustls::server::TlsStream;

use super::connection::ConnectionFault;
use super::timeouts::ConnectionState;

/// Keeps `echobase_connections_open` right whichever way a connection ends.
pub(super) struct OpenConnection;

impl OpenConnection {
    pub(super) fn enter() -> Self {
        metrics::gauge!("echobase_connections_open").increment(1);
        OpenConnection
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!("echobase_connections_open").decrement(1);
    }
}

/// A connection's place under `limits.max_connections`. It lives in the
/// socket wrapper, so an upgraded connection (a WebSocket, which outlives
/// hyper's connection task) keeps holding it until the socket closes.
pub(super) struct Slot {
    pub(super) _permit: OwnedSemaphorePermit,
    pub(super) _open: OpenConnection,
}

/// A socket that records its activity.
pub(super) struct IdleIo {
    pub(super) inner: TcpStream,
    pub(super) state: Arc<ConnectionState>,
    pub(super) _slot: Slot,
}

impl AsyncRead for IdleIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.touch();
        }
        result
    }
}

impl AsyncWrite for IdleIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.state.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.state.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The TCP socket under a connection, plain or TLS, for the reset fault.
pub(super) trait TcpSocket {
    fn tcp(&self) -> &TcpStream;
}

impl TcpSocket for IdleIo {
    fn tcp(&self) -> &TcpStream {
        &self.inner
    }
}

impl TcpSocket for TlsStream<IdleIo> {
    fn tcp(&self) -> &TcpStream {
        &self.get_ref().0.inner
    }
}

/// The connection as hyper sees it, above TLS: once a response has asked
/// for a fault, the next write (that response's head) sends the fault
/// instead. A fault is only asked for once hyper has finished writing the
/// previous response into its buffer, so the bytes replaced are this
/// response's, unless a pipelining client left earlier ones unflushed.
pub(super) struct FaultIo<I> {
    pub(super) inner: I,
    pub(super) state: Arc<ConnectionState>,
    /// The fault's bytes not yet written, once it has started.
    pub(super) unsent: Option<Vec<u8>>,
}

impl<I: AsyncWrite + TcpSocket + Unpin> FaultIo<I> {
    /// Sends `fault`, then fails: hyper drops the connection on a write
    /// error, which closes the socket without anything more sent.
    pub(super) fn poll_fault(
        &mut self,
        cx: &mut Context<'_>,
        fault: ConnectionFault,
    ) -> Poll<io::Result<usize>> {
        if fault == ConnectionFault::Reset {
            // SO_LINGER 0: closing the socket sends a RST instead of a FIN.
            if let Err(error) = self.inner.tcp().set_zero_linger() {
                tracing::debug!(%error, "cannot set SO_LINGER for a reset fault");
            }
        } else {
            let unsent = self.unsent.get_or_insert_with(|| fault.bytes());
            while !unsent.is_empty() {
                let written = ready!(Pin::new(&mut self.inner).poll_write(cx, unsent))?;
                if written == 0 {
                    break;
                }
                unsent.drain(..written);
            }
            // A FIN (and over TLS a close_notify) after the bytes, so the
            // client reads a clean end rather than an error.
            ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
        }
        Poll::Ready(Err(io::Error::other(format!(
            "connection fault {fault:?} sent"
        ))))
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for FaultIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + TcpSocket + Unpin> AsyncWrite for FaultIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.state.fault.get() {
            Some(&fault) => self.poll_fault(cx, fault),
            None => Pin::new(&mut self.inner).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.state.fault.get() {
            Some(&fault) => self.poll_fault(cx, fault),
            None => Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
