//! The connection layer: accept loops for HTTP and HTTPS listeners, with the
//! limits a single client must not be able to get around.
//!
//! - `limits.max_connections`: open connections across all listeners; one
//!   more is answered `503` (plain HTTP) or closed (HTTPS) straight away.
//! - `limits.header_read_timeout`: the time to send a whole request head, and
//!   the longest a kept-alive connection may wait for its next request; a
//!   client trickling header bytes (slowloris) is cut off when it runs out.
//!   The TLS handshake gets the same time. Kept here rather than by hyper,
//!   whose timer is a new boxed sleep and an extra turn of its dispatcher
//!   for every request (~1,600 instructions of a ~32,000 echo request): the
//!   connection loop checks it with the idle timeout (see [`ConnectionState`]).
//! - `limits.idle_timeout`: a connection on which no byte moves either way
//!   (a stalled upload, a client that stopped reading) is closed.
//! - `limits.max_header_bytes` / `limits.max_headers`: hyper answers `431`.
//!
//! Each accepted connection is served by hyper's HTTP/1.1 connection with
//! upgrades (WebSockets); each request comes with its [`Connection`]: the
//! client address (trusted proxies applied), the shared [`Security`] state
//! for the gates and, over HTTPS, the [`TlsInfo`]. Setting it here
//! rather than in a middleware layer saves a boxed future per request.
//!
//! A response may carry a [`ConnectionFault`] instead of being sent: the
//! connection then breaks the way the fault says, for testing clients.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::direct::{DirectRoute, Routing};
use super::middleware::{RequestContext, RequestContextService};
use super::security::Security;
use super::tls::TlsInfo;

/// `limits.*`: what one connection may take. Request-level limits are
/// `body_limit` and `request_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Largest request head (request line + headers) in bytes; over it: 431.
    pub max_header_bytes: usize,
    /// Most header fields in one request; over it: 431.
    pub max_headers: usize,
    /// Time a client has to send a complete request head, and the longest a
    /// kept-alive connection may wait for its next request (slowloris).
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed.
    pub idle_timeout: Duration,
    /// Open connections across all listeners; over it: 503 and close.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// The connection a request arrived on: in the extensions of every request
/// the router serves, an argument of a direct route's handler.
///
/// One extension for all of it: each extension costs an allocation (and a
/// hash-map insert) per request, and what is the same for every request on
/// the connection is shared, not copied.
#[derive(Clone)]
pub struct Connection {
    /// The client: the TCP peer, or the address a trusted proxy reports.
    pub client_ip: IpAddr,
    facts: Arc<ConnectionFacts>,
}

struct ConnectionFacts {
    tls: Option<TlsInfo>,
    security: Arc<Security>,
    body_limit: usize,
    context: RequestContext,
}

impl Connection {
    /// The TLS details, over HTTPS.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.facts.tls.as_ref()
    }

    /// The server's security state, for the gates.
    pub fn security(&self) -> &Arc<Security> {
        &self.facts.security
    }

    /// The `body_limit` setting, for extractors to name in a 413 (carried
    /// here rather than in an extension of its own: each costs an allocation
    /// per request).
    pub fn body_limit(&self) -> usize {
        self.facts.body_limit
    }

    /// The template of the route that serves `path`, as the request metrics
    /// and the access log name it (the raw path may carry secrets).
    pub fn route_label<'a>(&'a self, path: &str) -> &'a str {
        self.facts.context.route_label(path)
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

/// A broken answer a handler can ask for, so that clients can be tested
/// against network failures. The handler puts it in its response's
/// extensions; the connection then sends the fault instead of the response
/// and closes. Over HTTPS the fault's bytes travel inside TLS, so a client
/// sees the same broken HTTP either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionFault {
    /// Nothing is sent; the socket is closed with a RST: the client sees
    /// "connection reset by peer".
    Reset,
    /// Nothing is sent; the connection is closed normally: an empty reply.
    Empty,
    /// A `200` head announcing a chunked body, then a chunk that does not
    /// parse, then close.
    MalformedChunk,
    /// Random bytes instead of a response, then close.
    RandomData,
}

/// The `MalformedChunk` fault: the chunk-size line is not hexadecimal.
const MALFORMED_CHUNK: &[u8] = b"HTTP/1.1 200 OK\r\n\
transfer-encoding: chunked\r\n\r\n\
lskdu018973t09sylgasjkfg1][]'./.sdlv\r\n";

const RANDOM_DATA_LEN: usize = 64;

impl ConnectionFault {
    /// What is written before the connection closes.
    fn bytes(self) -> Vec<u8> {
        match self {
            ConnectionFault::Reset | ConnectionFault::Empty => Vec::new(),
            ConnectionFault::MalformedChunk => MALFORMED_CHUNK.to_vec(),
            ConnectionFault::RandomData => (0..RANDOM_DATA_LEN).map(|_| fastrand::u8(..)).collect(),
        }
    }
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
        let Ok(permit) = shared.permits.clone().try_acquire_owned() else {
            metrics::counter!("echobase_connections_rejected_total", "reason" => "max_connections")
                .increment(1);
            tracing::warn!(
                client_ip = %peer.ip(),
                max_connections = shared.limits.max_connections,
                "connection refused: limits.max_connections reached"
            );
            if tls.is_none() {
                // A fresh socket's send buffer is empty: this does not block.
                let _ = stream.try_write(OVER_CAPACITY);
            }
            continue;
        };
        let shared = shared.clone();
        let tls = tls.clone();
        let stop = stop.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let _done = done;
            serve_connection(stream, peer, permit, tls, &shared, stop).await;
        });
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
    let facts = Arc::new(ConnectionFacts {
        tls,
        security: shared.security.clone(),
        body_limit: shared.body_limit,
        context: shared.context.clone(),
    });
    let service_state = state.clone();
    let head_timeout = shared.limits.header_read_timeout;
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        // A whole head has arrived: no head deadline until this response is sent.
        let request = service_state.head_received();
        let connection = Connection {
            client_ip: facts.security.client_ip(peer.ip(), req.headers()),
            facts: facts.clone(),
        };
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

/// A future that is polled again only once its own waker has fired. The
/// connection loop wakes for every request, and polling a watch channel's
/// `changed()` each time takes the channel's waiter lock (~1% of the CPU of
/// a request), a timer's poll reads the timer wheel's state; shutdown and
/// the timeout checks are rare, so they wait for their wake-up instead.
struct PolledWhenWoken<F> {
    future: Pin<Box<F>>,
    wake: Arc<WakeFlag>,
}

/// Set by the inner future's waker; it then wakes the connection's task.
struct WakeFlag {
    woken: AtomicBool,
    task: futures_util::task::AtomicWaker,
}

impl std::task::Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<F: Future> PolledWhenWoken<F> {
    fn new(future: F) -> Self {
        PolledWhenWoken {
            future: Box::pin(future),
            // Woken at first, so the first poll registers the inner waker.
            wake: Arc::new(WakeFlag {
                woken: AtomicBool::new(true),
                task: futures_util::task::AtomicWaker::new(),
            }),
        }
    }
}

impl<F: Future> PolledWhenWoken<F> {
    /// Changes the future (a timer's deadline, say) and polls it at the
    /// next poll, so that it registers its waker again.
    fn rearm(&mut self, change: impl FnOnce(Pin<&mut F>)) {
        change(self.future.as_mut());
        self.wake.woken.store(true, Ordering::Release);
    }
}

impl<F: Future> Future for PolledWhenWoken<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.wake.task.register(cx.waker());
        if !self.wake.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let waker = std::task::Waker::from(self.wake.clone());
        self.future.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

/// Keeps `echobase_connections_open` right whichever way a connection ends.
struct OpenConnection;

impl OpenConnection {
    fn enter() -> Self {
        metrics::gauge!("echobase_connections_open").increment(1);
        OpenConnection
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!("echobase_connections_open").decrement(1);
    }
}

/// A response's body, which tells the connection when it is done: from then
/// on the next request head is due within `limits.header_read_timeout`.
/// (Done is when hyper drops it: written out, or the connection gone.)
struct ResponseBody {
    inner: axum::body::Body,
    state: Arc<ConnectionState>,
    /// The request this answers, by its number on the connection.
    request: u64,
}

impl hyper::body::Body for ResponseBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.state.await_head(self.request);
    }
}

/// What the parts of one connection share (one allocation per connection).
///
/// The hot path only sets flags; the connection loop reads the clock when it
/// checks them (every eighth of the shorter timeout), so a request costs no
/// clock read here. A wait or a silence is then timed from the check that
/// first saw it: a timeout of T acts between T and T + 2 checks (1.25 T).
struct ConnectionState {
    /// Set whenever a byte moves either way; the loop clears it.
    active: AtomicBool,
    /// Counts the waits for a request head: at the start, and each time a
    /// response is done; odd while a request is being answered.
    head_waits: AtomicU64,
    /// Request heads received so far.
    requests: AtomicU64,
    /// Set by the service when a response asks for a fault; set once, as the
    /// fault ends the connection.
    fault: OnceLock<ConnectionFault>,
}

impl ConnectionState {
    fn new() -> Self {
        ConnectionState {
            active: AtomicBool::new(false),
            head_waits: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            fault: OnceLock::new(),
        }
    }

    /// Returns the request's number on this connection.
    fn head_received(&self) -> u64 {
        self.head_waits.fetch_or(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The response to request `answered` is done: a new wait for a head
    /// begins. (One finished after a later head arrived, as with
    /// pipelining, starts nothing: both run on the connection's task, so
    /// this cannot race the next head.)
    fn await_head(&self, answered: u64) {
        if self.requests.load(Ordering::Relaxed) == answered {
            let waits = self.head_waits.load(Ordering::Relaxed);
            // Odd (answering) to the next even number: a new wait.
            self.head_waits.store((waits | 1) + 1, Ordering::Relaxed);
        }
    }

    /// The current wait for a head, if the connection is waiting for one.
    fn head_wait(&self) -> Option<u64> {
        let waits = self.head_waits.load(Ordering::Relaxed);
        waits.is_multiple_of(2).then_some(waits)
    }

    fn touch(&self) {
        self.active.store(true, Ordering::Relaxed);
    }

    /// Whether a byte moved since the last call.
    fn was_active(&self) -> bool {
        self.active.swap(false, Ordering::Relaxed)
    }
}

/// The connection loop's view of its timeouts, timed from its checks.
struct Timeouts {
    last_active: Instant,
    /// The wait for a head being timed, and since when.
    head_wait: Option<(u64, Instant)>,
}

impl Timeouts {
    fn new(now: Instant) -> Self {
        Timeouts {
            last_active: now,
            head_wait: Some((0, now)),
        }
    }

    /// Which limit, if any, the connection is over at `now`.
    fn check(
        &mut self,
        state: &ConnectionState,
        now: Instant,
        head_timeout: Duration,
        idle_timeout: Duration,
    ) -> Option<&'static str> {
        if state.was_active() {
            self.last_active = now;
        }
        self.head_wait = match (state.head_wait(), self.head_wait) {
            (None, _) => None,
            (Some(wait), Some((timed, since))) if wait == timed => Some((timed, since)),
            (Some(wait), _) => Some((wait, now)),
        };
        if self
            .head_wait
            .is_some_and(|(_, since)| now - since >= head_timeout)
        {
            return Some("header_read_timeout");
        }
        (now - self.last_active >= idle_timeout).then_some("idle_timeout")
    }
}

/// A connection's place under `limits.max_connections`. It lives in the
/// socket wrapper, so an upgraded connection (a WebSocket, which outlives
/// hyper's connection task) keeps holding it until the socket closes.
struct Slot {
    _permit: OwnedSemaphorePermit,
    _open: OpenConnection,
}

/// A socket that records its activity.
struct IdleIo {
    inner: TcpStream,
    state: Arc<ConnectionState>,
    _slot: Slot,
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
trait TcpSocket {
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
struct FaultIo<I> {
    inner: I,
    state: Arc<ConnectionState>,
    /// The fault's bytes not yet written, once it has started.
    unsent: Option<Vec<u8>>,
}

impl<I: AsyncWrite + TcpSocket + Unpin> FaultIo<I> {
    /// Sends `fault`, then fails: hyper drops the connection on a write
    /// error, which closes the socket without anything more sent.
    fn poll_fault(
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

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_head_is_due_from_the_start_and_after_each_response_but_not_during_one() {
        let state = ConnectionState::new();
        let t0 = Instant::now();
        let mut timeouts = Timeouts::new(t0);
        let check = |timeouts: &mut Timeouts, at: u64| {
            state.touch(); // never idle here
            timeouts.check(&state, t0 + SECOND * at as u32, 10 * SECOND, 60 * SECOND)
        };
        assert_eq!(check(&mut timeouts, 9), None);
        assert_eq!(check(&mut timeouts, 10), Some("header_read_timeout"));

        let mut timeouts = Timeouts::new(t0);
        let first = state.head_received();
        assert_eq!(check(&mut timeouts, 30), None, "answering: no head due");
        state.await_head(first);
        assert_eq!(
            check(&mut timeouts, 31),
            None,
            "a new wait, timed from here"
        );
        assert_eq!(check(&mut timeouts, 40), None);
        assert_eq!(check(&mut timeouts, 41), Some("header_read_timeout"));
    }

    #[test]
    fn a_response_finished_after_the_next_head_starts_no_wait() {
        let state = ConnectionState::new();
        let first = state.head_received();
        let _second = state.head_received();
        state.await_head(first);
        assert_eq!(state.head_wait(), None);
    }

    #[test]
    fn a_connection_is_idle_once_no_byte_moved_for_the_idle_timeout() {
        let state = ConnectionState::new();
        let t0 = Instant::now();
        let mut timeouts = Timeouts::new(t0);
        state.head_received(); // no head deadline in the way
        state.touch();
        assert_eq!(
            timeouts.check(&state, t0 + 50 * SECOND, 10 * SECOND, 60 * SECOND),
            None
        );
        assert_eq!(
            timeouts.check(&state, t0 + 109 * SECOND, 10 * SECOND, 60 * SECOND),
            None
        );
        assert_eq!(
            timeouts.check(&state, t0 + 110 * SECOND, 10 * SECOND, 60 * SECOND),
            Some("idle_timeout")
        );
    }

    #[tokio::test]
    async fn polled_when_woken_resolves_once_its_future_can() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let mut gated = std::pin::pin!(PolledWhenWoken::new(rx));
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        for _ in 0..3 {
            assert!(gated.as_mut().poll(&mut cx).is_pending());
        }
        tx.send(7).unwrap();
        assert_eq!(gated.await.unwrap(), 7);
    }

    #[test]
    fn over_capacity_answer_has_the_right_length() {
        let text = std::str::from_utf8(OVER_CAPACITY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let _: serde_json::Value = serde_json::from_str(body).unwrap();
    }
}
