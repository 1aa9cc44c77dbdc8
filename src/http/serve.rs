//! The connection layer: accept loops for HTTP and HTTPS listeners, with the
//! limits a single client must not be able to get around.
//!
//! - `limits.max_connections`: open connections across all listeners; one
//!   more is answered `503` (plain HTTP; its request is then read and dropped
//!   for up to 2 s or 1 MiB, so that the client can read the answer) or
//!   closed (HTTPS) straight away.
//! - `limits.header_read_timeout`: the time to send a whole request head, and
//!   the longest a kept-alive connection may wait for its next request; a
//!   client trickling header bytes (slowloris) is cut off when it runs out.
//!   The TLS handshake gets the same time. Kept here rather than by hyper,
//!   whose timer is a new boxed sleep and an extra turn of its dispatcher
//!   for every request (~1,600 instructions of a ~32,000 echo request): the
//!   connection loop checks it with the idle timeout (see `timeouts.rs`).
//! - `limits.idle_timeout`: a connection on which no byte moves either way
//!   (a stalled upload, a client that stopped reading) is closed.
//! - `limits.max_header_bytes` / `limits.max_headers`: hyper answers `431`.
//!
//! Each accepted connection is served by hyper's HTTP/1.1 connection with
//! upgrades (WebSockets); each request comes with its [`Connection`]: the
//! client address (trusted proxies applied, by the [`Security`] state), the
//! body limit, the route labels and, over HTTPS, the [`TlsInfo`]. Setting it
//! here rather than in a middleware layer saves a boxed future per request.
//! The socket wrappers are in `io.rs`, the timeout bookkeeping in `timeouts.rs`.
//!
//! A response may carry a [`ConnectionFault`] instead of being sent: the
//! connection then breaks the way the fault says, for testing clients.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;

use super::client_connections::ClientConnections;
use super::connection::{Connection, ConnectionFacts, ConnectionFault};
use super::direct::{DirectRoute, Routing};
use super::io::{FaultIo, IdleIo, OpenConnection, Slot, TcpSocket};
use super::middleware::{RequestContext, RequestContextService};
use super::security::Security;
use super::timeouts::{ConnectionState, PolledWhenWoken, ResponseBody, Timeouts};
use super::tls::TlsInfo;
use crate::setting;

/// `limits.*`: what one connection may take. Request-level limits are
/// `body_limit` and `request_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionLimits {
    /// Largest request head (request line + headers) in bytes; over it: 431.
    #[serde(
        deserialize_with = "header_bytes",
        serialize_with = "setting::size::serialize"
    )]
    pub max_header_bytes: usize,
    /// Most header fields in one request; over it: 431.
    #[serde(with = "setting::positive")]
    pub max_headers: usize,
    /// Time a client has to send a complete request head, and the longest a
    /// kept-alive connection may wait for its next request (slowloris).
    #[serde(with = "setting::positive_duration")]
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed.
    #[serde(with = "setting::positive_duration")]
    pub idle_timeout: Duration,
    /// Open connections across all listeners; over it: 503 and close.
    #[serde(with = "setting::positive")]
    pub max_connections: usize,
    /// Open connections one client address (an IPv6 /64) may hold; over it:
    /// 503 and close. Trusted proxies are not counted.
    #[serde(with = "setting::positive")]
    pub max_connections_per_client: usize,
}

/// hyper's read buffer cannot be smaller than 8 KiB.
fn header_bytes<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    setting::read(deserializer, |value| match setting::parse_size(value)? {
        size if size < 8192 => Err("must be at least 8KiB".into()),
        size => Ok(size),
    })
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_connections_per_client: 256,
        }
    }
}

/// What answers requests: the router, the direct routes in front of it,
/// and the request context each connection wraps them in.
pub struct Routes {
    pub router: Router,
    pub direct: Vec<DirectRoute>,
    pub context: RequestContext,
}

/// A bound listener, plain or TLS.
pub struct Listener {
    pub tcp: TcpListener,
    pub tls: Option<TlsAcceptor>,
}

/// The answer to a connection over `limits.max_connections` (plain HTTP only:
/// a TLS client could not read it before a handshake, which costs too much
/// to give to a connection we are turning away).
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/problem+json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 144\r\n\r\n\
{\"type\":\"urn:echobase:problem:unavailable\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"the server is at its limit of open connections\"}";

/// The answer to a client's connection over `limits.max_connections_per_client`.
const CLIENT_OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/problem+json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 145\r\n\r\n\
{\"type\":\"urn:echobase:problem:unavailable\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"this client is at its limit of open connections\"}";

/// Refused connections read before closing at once; past this, a refused
/// connection is answered and closed straight away.
const MAX_DRAINED_REFUSALS: usize = 64;
/// How long, and how many bytes, a refused connection is read before it closes.
const REFUSAL_DRAIN_TIME: Duration = Duration::from_secs(2);
const REFUSAL_DRAIN_BYTES: usize = 1024 * 1024;

/// Answers a connection over a limit with `answer` (a 503), then reads and
/// drops what the client sends (bounded in time and bytes) before closing.
/// Closing with the client's request unread would reset the connection, and
/// a client still sending its request would see the reset, not the 503.
async fn refuse(mut stream: TcpStream, answer: &'static [u8], _slot: OwnedSemaphorePermit) {
    // A fresh socket's send buffer is empty: this does not block.
    if stream.try_write(answer).is_err() {
        return;
    }
    // Our side is done: the client reads the answer, then end of stream.
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut buffer = [0u8; 8192];
        let mut read = 0;
        while read < REFUSAL_DRAIN_BYTES {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
    };
    let _ = tokio::time::timeout(REFUSAL_DRAIN_TIME, drain).await;
}

/// Serves `routes` on every listener until `shutdown` resolves, then stops
/// accepting, lets open connections finish their requests for up to
/// `shutdown_timeout`, and returns.
pub async fn serve(
    listeners: Vec<Listener>,
    routes: Routes,
    security: Arc<Security>,
    limits: ConnectionLimits,
    body_limit: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
    shutdown_timeout: Duration,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a sender; `recv` returns `None` once all are gone.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = http1::Builder::new();
    builder
        // The connection loop enforces `header_read_timeout` (see above).
        .header_read_timeout(None)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers);
    let shared = Arc::new(Shared {
        routing: Routing::new(routes.router, routes.direct),
        context: routes.context,
        security,
        builder,
        limits,
        body_limit,
        permits,
        refusals: Arc::new(Semaphore::new(MAX_DRAINED_REFUSALS)),
        clients: ClientConnections::new(limits.max_connections_per_client),
    });
    for listener in listeners {
        tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            stop_rx.clone(),
            done_tx.clone(),
        ));
    }
    drop(done_tx);
    shutdown.await;
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    let _ = stop_tx.send(true);
    if tokio::time::timeout(shutdown_timeout, done_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!(
            timeout_ms = shutdown_timeout.as_millis() as u64,
            "requests still in flight at the shutdown deadline were abandoned"
        );
    }
}

struct Shared {
    routing: Routing,
    context: RequestContext,
    security: Arc<Security>,
    builder: http1::Builder,
    limits: ConnectionLimits,
    body_limit: usize,
    permits: Arc<Semaphore>,
    /// Refused connections being read before they close (see [`refuse`]).
    refusals: Arc<Semaphore>,
    clients: Arc<ClientConnections>,
}

async fn accept_loop(
    listener: Listener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    let Listener { tcp, tls } = listener;
    loop {
        let accepted = tokio::select! {
            accepted = tcp.accept() => accepted,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::error!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let client_slot = match shared.security.connection_client(peer.ip()) {
            Some(client) => match shared.clients.open(client) {
                Some(slot) => Some(slot),
                None => {
                    turn_away(&shared, stream, peer, tls.is_none(), Refusal::PerClient);
                    continue;
                }
            },
            None => None,
        };
        let Ok(permit) = shared.permits.clone().try_acquire_owned() else {
            turn_away(&shared, stream, peer, tls.is_none(), Refusal::Total);
            continue;
        };
        let shared = shared.clone();
        let tls = tls.clone();
        let stop = stop.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let (_done, _client_slot) = (done, client_slot);
            serve_connection(stream, peer, permit, tls, &shared, stop).await;
        });
    }
}

/// Which connection limit a connection is over.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// `limits.max_connections`
    Total,
    /// `limits.max_connections_per_client`
    PerClient,
}

/// Counts, logs and answers a connection over a limit: a 503 on plain HTTP
/// (see [`refuse`]); on HTTPS a close, as a handshake costs too much to give
/// to a connection we are turning away.
fn turn_away(shared: &Shared, stream: TcpStream, peer: SocketAddr, plain: bool, refusal: Refusal) {
    let (reason, answer) = match refusal {
        Refusal::Total => ("max_connections", OVER_CAPACITY),
        Refusal::PerClient => ("max_connections_per_client", CLIENT_OVER_CAPACITY),
    };
    metrics::counter!("echobase_connections_rejected_total", "reason" => reason).increment(1);
    tracing::warn!(
        client_ip = %peer.ip(),
        max_connections = shared.limits.max_connections,
        max_connections_per_client = shared.limits.max_connections_per_client,
        "connection refused: limits.{reason} reached"
    );
    if !plain {
        return;
    }
    match shared.refusals.clone().try_acquire_owned() {
        Ok(slot) => {
            tokio::spawn(refuse(stream, answer, slot));
        }
        // Too many refusals at once: answer, but do not wait.
        Err(_) => {
            let _ = stream.try_write(answer);
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    tls: Option<TlsAcceptor>,
    shared: &Shared,
    mut stop: watch::Receiver<bool>,
) {
    // Small responses must not wait for Nagle's algorithm.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let state = Arc::new(ConnectionState::new());
    let io = IdleIo {
        inner: stream,
        state: state.clone(),
        _slot: Slot {
            _permit: permit,
            _open: OpenConnection::enter(),
        },
    };
    match tls {
        None => drive(io, peer, None, shared, state, stop).await,
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(shared.limits.header_read_timeout, acceptor.accept(io));
            let stream = tokio::select! {
                result = handshake => result,
                _ = stop.changed() => return,
            };
            let stream = match stream {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    metrics::counter!("echobase_tls_handshake_failures_total").increment(1);
                    tracing::debug!(%error, client_ip = %peer.ip(), "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    metrics::counter!("echobase_tls_handshake_failures_total").increment(1);
                    tracing::debug!(client_ip = %peer.ip(), "TLS handshake timed out");
                    return;
                }
            };
            let info = TlsInfo::from_connection(stream.get_ref().1);
            drive(stream, peer, Some(info), shared, state, stop).await
        }
    }
}

async fn drive<I>(
    io: I,
    peer: SocketAddr,
    tls: Option<TlsInfo>,
    shared: &Shared,
    state: Arc<ConnectionState>,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + TcpSocket + Unpin + Send + 'static,
{
    // This connection's own routing handle and request context: cloning
    // shared ones per request bumped reference counts that every core
    // shares. Requests on one HTTP/1.1 connection are served one at a time,
    // so the borrow in the service never overlaps another.
    let routing = std::cell::RefCell::new(RequestContextService::new(
        shared.routing.clone(),
        &shared.context,
    ));
    let facts = Arc::new(ConnectionFacts::new(
        tls,
        shared.body_limit,
        shared.context.route_labels().clone(),
    ));
    let security = shared.security.clone();
    let service_state = state.clone();
    let head_timeout = shared.limits.header_read_timeout;
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        // A whole head has arrived: no head deadline until this response is sent.
        let request = service_state.head_received();
        let connection =
            Connection::new(security.client_ip(peer.ip(), req.headers()), facts.clone());
        let answer = routing.borrow_mut().call(req, connection);
        let state = service_state.clone();
        async move {
            let response = answer.await?;
            if let Some(&fault) = response.extensions().get::<ConnectionFault>() {
                // FaultIo acts on it when hyper writes this response.
                let _ = state.fault.set(fault);
            }
            Ok::<_, std::convert::Infallible>(response.map(|body| ResponseBody {
                inner: body,
                state,
                request,
            }))
        }
    });
    let io = TokioIo::new(FaultIo {
        inner: io,
        state: state.clone(),
        unsent: None,
    });
    // Timed from here: the first head is due a whole timeout after the TLS
    // handshake.
    let mut timeouts = Timeouts::new(Instant::now());
    let conn = shared.builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let idle_timeout = shared.limits.idle_timeout;
    let check_every = (idle_timeout.min(head_timeout) / 8).max(Duration::from_millis(25));
    // Made once, not per turn of the loop: the connection future wakes for
    // every request, and a new timer and a new `changed()` each time were a
    // timer-wheel entry and two futures per request.
    let idle_check = PolledWhenWoken::new(tokio::time::sleep(check_every));
    tokio::pin!(idle_check);
    let stop_requested = PolledWhenWoken::new(stop.changed());
    tokio::pin!(stop_requested);
    let mut stopping = false;
    loop {
        tokio::select! {
            biased;
            result = conn.as_mut() => {
                if let Some(fault) = state.fault.get() {
                    tracing::debug!(?fault, client_ip = %peer.ip(), "connection closed: a response asked for a fault");
                } else if let Err(error) = result {
                    tracing::debug!(%error, client_ip = %peer.ip(), "connection ended with an error");
                }
                return;
            }
            _ = stop_requested.as_mut(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = idle_check.as_mut() => {
                if let Some(reason) = timeouts.check(&state, Instant::now(), head_timeout, idle_timeout) {
                    metrics::counter!("echobase_connections_closed_total", "reason" => reason).increment(1);
                    tracing::debug!(client_ip = %peer.ip(), "connection closed: limits.{reason}");
                    return;
                }
                idle_check.as_mut().rearm(|sleep| sleep.reset(tokio::time::Instant::now() + check_every));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_capacity_answers_have_the_right_length() {
        for answer in [OVER_CAPACITY, CLIENT_OVER_CAPACITY] {
            let text = std::str::from_utf8(answer).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(head.contains(&format!("content-length: {}", body.len())));
            let _: serde_json::Value = serde_json::from_str(body).unwrap();
        }
    }
}
