//! The request context applied to every route: a request id, the timeout,
//! one access-log line and the request metrics.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};
use tracing::Level;

use super::error::{ApiError, InternalCause};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// A client's request id longer than this is replaced, not echoed.
const MAX_REQUEST_ID_LEN: usize = 128;
/// The route label of requests no route matched: one label, not one per path,
/// so that scanners cannot blow up the metrics' cardinality.
const UNMATCHED_ROUTE: &str = "unmatched";

/// The limits the middleware enforces on every request.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    pub request_timeout: Duration,
}

/// What the request-context middleware keeps between requests. One `Arc`:
/// axum clones each route's service stack for every request, and each
/// reference count bumped is a cache line every core shares.
#[derive(Clone)]
pub struct RequestContext(Arc<ContextInner>);

struct ContextInner {
    limits: RequestLimits,
    metrics: RequestMetrics,
    ids: RequestIds,
}

impl RequestContext {
    /// Must be called after the metrics recorder is installed: the handles
    /// it registers belong to the recorder of the moment.
    pub fn new(limits: RequestLimits) -> Self {
        RequestContext(Arc::new(ContextInner {
            limits,
            metrics: RequestMetrics::new(),
            ids: RequestIds::new(),
        }))
    }

    /// Requests being answered, for `/metrics`.
    pub fn in_flight(&self) -> InFlightCount {
        self.0.metrics.in_flight.clone()
    }
}

/// Request ids: a random prefix per context, then the thread's number and a
/// count of the thread's requests, as a UUID. Unique without the system call
/// per request that a random UUID costs, and without a counter shared by
/// every thread (an atomic whose cache line would travel between cores).
struct RequestIds {
    prefix: u64,
}

/// Numbers the threads that make request ids.
static ID_THREADS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's number (16 bits) and its next count (48 bits).
    static NEXT_ID: std::cell::Cell<u64> =
        std::cell::Cell::new(ID_THREADS.fetch_add(1, Ordering::Relaxed) << 48);
}

impl RequestIds {
    fn new() -> Self {
        RequestIds {
            prefix: uuid::Uuid::new_v4().as_u64_pair().0,
        }
    }

    /// A version 8 (custom) UUID: prefix, thread, count.
    fn next(&self) -> HeaderValue {
        let n = NEXT_ID.with(|next| {
            let n = next.get();
            // The count wraps within the thread's 48 bits.
            next.set((n & !COUNT_MASK) | (n.wrapping_add(1) & COUNT_MASK));
            n
        });
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.prefix.to_be_bytes());
        bytes[8..].copy_from_slice(&n.to_be_bytes());
        let id = uuid::Builder::from_custom_bytes(bytes).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        // A UUID's text is always a valid header value.
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut text))
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
    }
}

const COUNT_MASK: u64 = (1 << 48) - 1;

/// The methods with their own label; any other is counted as `OTHER`, so
/// that clients cannot blow up the metrics' cardinality.
const METHOD_LABELS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Metric handles per route template, registered on first use: the hot path
/// hashes the route and bumps atomics, without building labelled keys.
struct RequestMetrics {
    in_flight: InFlightCount,
    /// Read on every request, written once per route: an `ArcSwap` load
    /// takes no lock (a `RwLock` read was two atomic writes to a word that
    /// every core shares).
    by_route: ArcSwap<HashMap<Box<str>, Arc<RouteMetrics>>>,
}

struct RouteMetrics {
    route: Box<str>,
    duration: metrics::Histogram,
    requests: [[OnceLock<metrics::Counter>; STATUS_CLASSES.len()]; METHOD_LABELS.len()],
}

impl RequestMetrics {
    fn new() -> Self {
        // Registered now so that `/metrics` lists it before the first request.
        metrics::gauge!("http_requests_in_flight").set(0.0);
        RequestMetrics {
            in_flight: InFlightCount::default(),
            by_route: ArcSwap::default(),
        }
    }

    fn route(&self, route: &str) -> Arc<RouteMetrics> {
        if let Some(found) = self.by_route.load().get(route) {
            return found.clone();
        }
        // The first request of a route (rare): a new map with it added.
        let created = Arc::new(RouteMetrics {
            route: route.into(),
            duration: metrics::histogram!(
                "http_request_duration_seconds",
                "route" => route.to_owned()
            ),
            requests: Default::default(),
        });
        self.by_route.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.entry(route.into()).or_insert_with(|| created.clone());
            map
        });
        // Another request may have added the route first: use its entry.
        self.by_route.load().get(route).cloned().unwrap_or(created)
    }
}

impl RouteMetrics {
    fn record(&self, method: &Method, status: StatusCode, latency: Duration) {
        let method_index = match *method {
            Method::GET => 0,
            Method::HEAD => 1,
            Method::POST => 2,
            Method::PUT => 3,
            Method::PATCH => 4,
            Method::DELETE => 5,
            Method::OPTIONS => 6,
            _ => 7,
        };
        let class = usize::from((status.as_u16() / 100).clamp(1, 5) - 1);
        self.requests[method_index][class]
            .get_or_init(|| {
                metrics::counter!(
                    "http_requests_total",
                    "method" => METHOD_LABELS[method_index],
                    "route" => self.route.to_string(),
                    "status" => STATUS_CLASSES[class],
                )
            })
            .increment(1);
        self.duration.record(latency.as_secs_f64());
    }
}

/// Requests being answered. A plain counter, read into the
/// `http_requests_in_flight` gauge when `/metrics` is scraped: the gauge's
/// own increment is a compare-and-swap loop on a float, twice a request.
#[derive(Debug, Clone, Default)]
pub struct InFlightCount(Arc<AtomicI64>);

impl InFlightCount {
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, delta: i64) {
        self.0.fetch_add(delta, Ordering::Relaxed);
    }
}

/// Keeps the in-flight count right even when a request is cancelled.
struct InFlight(Arc<ContextInner>);

impl InFlight {
    fn enter(context: &RequestContext) -> Self {
        context.0.metrics.in_flight.add(1);
        InFlight(context.0.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics.in_flight.add(-1);
    }
}

/// Wraps every route in the request context. A hand-written layer rather
/// than `middleware::from_fn`: on the hottest path of the server it saves a
/// boxed future and a clone of the inner service per request.
#[derive(Clone)]
pub struct RequestContextLayer(RequestContext);

impl RequestContextLayer {
    pub fn new(context: RequestContext) -> Self {
        RequestContextLayer(context)
    }
}

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContextService {
            inner,
            context: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestContextService<S> {
    inner: S,
    context: RequestContext,
}

impl<S> Service<Request> for RequestContextService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RequestContextFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let started = Instant::now();
        let in_flight = InFlight::enter(&self.context);
        let request_id = req
            .headers()
            .get(&X_REQUEST_ID)
            .filter(|id| is_acceptable_request_id(id))
            .cloned()
            .unwrap_or_else(|| self.context.0.ids.next());
        // The route template, never the raw path: paths can carry secrets
        // (`/basic-auth/{user}/{password}`) and unbounded variety.
        let route = self.context.0.metrics.route(
            req.extensions()
                .get::<MatchedPath>()
                .map_or(UNMATCHED_ROUTE, MatchedPath::as_str),
        );
        let limits = self.context.0.limits;
        let method = req.method().clone();
        RequestContextFuture {
            inner: self.inner.call(req),
            deadline: None,
            started,
            finish: Some(Finish {
                method,
                route,
                request_id,
                timeout: limits.request_timeout,
                _in_flight: in_flight,
            }),
        }
    }
}

/// What is left to do once the response is ready.
struct Finish {
    method: Method,
    route: Arc<RouteMetrics>,
    request_id: HeaderValue,
    timeout: Duration,
    _in_flight: InFlight,
}

pin_project_lite::pin_project! {
    pub struct RequestContextFuture<F> {
        #[pin]
        inner: F,
        // The request timeout's timer, made only once the handler has had to
        // wait: most requests are answered on their first poll, and a timer
        // costs a runtime-handle lookup and a timer-wheel entry each.
        #[pin]
        deadline: Option<tokio::time::Sleep>,
        started: Instant,
        finish: Option<Finish>,
    }
}

impl<F> Future for RequestContextFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(timeout) = this.finish.as_ref().map(|finish| finish.timeout) else {
            // Polled again after completion: a bug in the caller, answered safely.
            return Poll::Ready(Ok(
                ApiError::Internal("response polled twice".into()).into_response()
            ));
        };
        let mut response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => {
                if this.deadline.is_none() {
                    let at = tokio::time::Instant::from_std(*this.started + timeout);
                    this.deadline.set(Some(tokio::time::sleep_until(at)));
                }
                let expired = this
                    .deadline
                    .as_pin_mut()
                    .is_some_and(|deadline| deadline.poll(cx).is_ready());
                if !expired {
                    return Poll::Pending;
                }
                ApiError::Timeout(timeout).into_response()
            }
        };
        let Some(finish) = this.finish.take() else {
            return Poll::Ready(Ok(response));
        };
        let status = response.status();
        let latency = this.started.elapsed();
        finish.route.record(&finish.method, status, latency);
        let request_id = finish.request_id.to_str().unwrap_or_default();
        if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
            tracing::error!(
                method = %finish.method,
                route = %finish.route.route,
                request_id,
                %cause,
                "internal error"
            );
        }
        if tracing::enabled!(target: "echobase::access", Level::INFO) {
            // Plain `&str` fields: recorded as they are, not through `Display`.
            tracing::info!(
                target: "echobase::access",
                method = finish.method.as_str(),
                route = &*finish.route.route,
                status = status.as_u16(),
                latency_ms = latency.as_secs_f64() * 1000.0,
                request_id,
                "request"
            );
        }
        response
            .headers_mut()
            .insert(X_REQUEST_ID, finish.request_id);
        Poll::Ready(Ok(response))
    }
}

fn is_acceptable_request_id(id: &HeaderValue) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes.iter().all(|b| b.is_ascii_graphic())
}
