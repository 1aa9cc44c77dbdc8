//! The request context applied to every route: a request id, the timeout,
//! one access-log line and the request metrics.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use tracing::Level;

use super::connection::Connection;
use super::direct::{Routing, RoutingFuture};
use super::error::{ApiError, InternalCause};
use super::route_label::{RouteLabels, UNMATCHED_ROUTE};
use crate::module::{Module, ServedBy};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// A client's request id longer than this is replaced, not echoed.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The limits the middleware enforces on every request.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    pub request_timeout: Duration,
}

/// What the request context keeps between requests, shared by every
/// connection. Each connection wraps its router in a [`RequestContextService`]
/// of its own, so that what a request clones is the connection's, not a
/// reference count that every core bumps.
#[derive(Clone)]
pub struct RequestContext(Arc<ContextInner>);

struct ContextInner {
    limits: RequestLimits,
    metrics: RequestMetrics,
    ids: RequestIds,
}

impl RequestContext {
    /// `routes` are the route templates the router serves (as axum writes
    /// them: `/people/{id}`, `/files/{*path}`), for the metrics' and the
    /// access log's route label, each with its module's name for the
    /// metrics' `module` label. Must be called after the metrics recorder
    /// is installed: the handles it registers belong to the recorder of the
    /// moment.
    pub fn new<'a>(
        limits: RequestLimits,
        in_flight: InFlightCount,
        routes: impl IntoIterator<Item = (&'a str, &'static str)>,
    ) -> Self {
        RequestContext(Arc::new(ContextInner {
            limits,
            metrics: RequestMetrics::new(in_flight, routes),
            ids: RequestIds::new(),
        }))
    }

    /// The templates of the routes served, by which requests are labelled.
    pub fn route_labels(&self) -> &RouteLabels {
        &self.0.metrics.labels
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

/// This thread's number, as in its request ids.
fn thread_number() -> u64 {
    NEXT_ID.with(|next| next.get() >> 48)
}

/// The methods with their own label; any other is counted as `OTHER`, so
/// that clients cannot blow up the metrics' cardinality.
const METHOD_LABELS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Metric handles per route template, registered on a route's first request
/// (so that `/metrics` lists only the routes that were asked for).
struct RequestMetrics {
    in_flight: InFlightCount,
    labels: RouteLabels,
    /// One per label, in the labels' order; then, for requests no route
    /// matched, one per module whose fallback answered them (in
    /// [`Module::ALL`]'s order).
    routes: Vec<RouteMetrics>,
}

/// The `module` label of routes no module declared (operations, the
/// console) and of requests nothing answered but the 404.
pub const SERVER_MODULE_LABEL: &str = "server";

struct RouteMetrics {
    template: Box<str>,
    module: &'static str,
    handles: OnceLock<RouteHandles>,
}

struct RouteHandles {
    duration: metrics::Histogram,
    requests: [[OnceLock<metrics::Counter>; STATUS_CLASSES.len()]; METHOD_LABELS.len()],
}

impl RequestMetrics {
    fn new<'a>(
        in_flight: InFlightCount,
        routes: impl IntoIterator<Item = (&'a str, &'static str)>,
    ) -> Self {
        // Registered now so that `/metrics` lists it before the first request.
        metrics::gauge!("http_requests_in_flight").set(0.0);
        let routes: Vec<(&str, &'static str)> = routes.into_iter().collect();
        let module_of: HashMap<&str, &'static str> = routes.iter().copied().collect();
        let labels = RouteLabels::new(routes.iter().map(|(template, _)| *template));
        let served_by_fallbacks = Module::ALL
            .iter()
            .map(|module| RouteMetrics::new(UNMATCHED_ROUTE, module.name()));
        let routes = labels
            .all()
            .map(|template| {
                let module = module_of.get(template).copied();
                RouteMetrics::new(template, module.unwrap_or(SERVER_MODULE_LABEL))
            })
            .chain(served_by_fallbacks)
            .collect();
        RequestMetrics {
            in_flight,
            labels,
            routes,
        }
    }

    /// The metrics of `route` (an index of `labels`) for `response`: a
    /// request no route matched counts for the module whose fallback
    /// answered it (the mocks' stubs), if one did.
    fn of(&self, route: usize, response: &Response) -> &RouteMetrics {
        let fallback = (route == 0)
            .then(|| response.extensions().get::<ServedBy>())
            .flatten()
            .and_then(|ServedBy(module)| Module::ALL.iter().position(|m| m == module));
        let index = fallback.map_or(route, |position| self.labels.count() + position);
        &self.routes[index]
    }
}

impl RouteMetrics {
    fn new(template: &str, module: &'static str) -> Self {
        RouteMetrics {
            template: template.into(),
            module,
            handles: OnceLock::new(),
        }
    }

    fn record(&self, method: &Method, status: StatusCode, latency: Duration) {
        let handles = self.handles.get_or_init(|| RouteHandles {
            duration: metrics::histogram!(
                "http_request_duration_seconds",
                "module" => self.module,
                "route" => self.template.to_string()
            ),
            requests: Default::default(),
        });
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
        handles.requests[method_index][class]
            .get_or_init(|| {
                metrics::counter!(
                    "http_requests_total",
                    "method" => METHOD_LABELS[method_index],
                    "module" => self.module,
                    "route" => self.template.to_string(),
                    "status" => STATUS_CLASSES[class],
                )
            })
            .increment(1);
        handles.duration.record(latency.as_secs_f64());
    }
}

/// Requests being answered, read into the `http_requests_in_flight` gauge
/// when `/metrics` is scraped (the gauge's own increment is a
/// compare-and-swap loop on a float, twice a request). One counter per
/// thread, on its own cache line, so that cores do not pass one line back
/// and forth; a request may end on another thread than it began, so a
/// shard can go below zero, but the sum is right.
#[derive(Clone, Default)]
pub struct InFlightCount(Arc<[InFlightShard; IN_FLIGHT_SHARDS]>);

const IN_FLIGHT_SHARDS: usize = 16;

#[derive(Default)]
#[repr(align(128))]
struct InFlightShard(AtomicI64);

impl InFlightCount {
    pub fn get(&self) -> i64 {
        self.0
            .iter()
            .map(|shard| shard.0.load(Ordering::Relaxed))
            .sum()
    }

    fn add(&self, delta: i64) {
        let shard = thread_number() as usize % IN_FLIGHT_SHARDS;
        self.0[shard].0.fetch_add(delta, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for InFlightCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("InFlightCount").field(&self.get()).finish()
    }
}

/// Wraps one connection's routing in the request context. Hand-written
/// rather than `middleware::from_fn`: on the hottest path of the server it
/// saves a boxed future and a clone of the inner service per request. Made
/// per connection, outside the router: applied to the router with
/// `Router::layer`, it would wrap every route in one more boxed service,
/// cloned and called through on every request.
pub struct RequestContextService {
    routing: Routing,
    /// This connection's handle: what a request clones is a count only
    /// this connection's task touches.
    context: Arc<RequestContext>,
}

impl RequestContextService {
    pub fn new(routing: Routing, context: &RequestContext) -> Self {
        RequestContextService {
            routing,
            context: Arc::new(context.clone()),
        }
    }

    /// Answers `req`, which arrived on `connection`.
    pub fn call(
        &mut self,
        req: Request<Incoming>,
        connection: Connection,
    ) -> RequestContextFuture<RoutingFuture> {
        let started = Instant::now();
        let shared = &self.context.0;
        let in_flight = InFlight::enter(&self.context);
        let request_id = req
            .headers()
            .get(&X_REQUEST_ID)
            .filter(|id| is_acceptable_request_id(id))
            .cloned()
            .unwrap_or_else(|| shared.ids.next());
        let route = shared.metrics.labels.index_of(req.uri().path());
        let method = req.method().clone();
        RequestContextFuture {
            inner: self.routing.call(req, connection),
            deadline: None,
            started,
            finish: Some(Finish {
                method,
                route,
                request_id,
                timeout: shared.limits.request_timeout,
                in_flight,
            }),
        }
    }
}

/// Keeps the in-flight count right even when a request is cancelled.
struct InFlight(Arc<RequestContext>);

impl InFlight {
    fn enter(context: &Arc<RequestContext>) -> Self {
        context.0.metrics.in_flight.add(1);
        InFlight(context.clone())
    }

    fn context(&self) -> &ContextInner {
        &(self.0).0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.context().metrics.in_flight.add(-1);
    }
}

/// What is left to do once the response is ready.
struct Finish {
    method: Method,
    /// Index of the route in `RequestMetrics::routes`.
    route: usize,
    request_id: HeaderValue,
    timeout: Duration,
    in_flight: InFlight,
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
        let route = finish
            .in_flight
            .context()
            .metrics
            .of(finish.route, &response);
        route.record(&finish.method, status, latency);
        let request_id = finish.request_id.to_str().unwrap_or_default();
        if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
            let what = if status == StatusCode::SERVICE_UNAVAILABLE {
                "database unavailable"
            } else {
                "internal error"
            };
            tracing::error!(
                method = %finish.method,
                route = %route.template,
                request_id,
                %cause,
                "{what}"
            );
        }
        if tracing::enabled!(target: "echobase::access", Level::INFO) {
            // Plain `&str` fields: recorded as they are, not through `Display`.
            tracing::info!(
                target: "echobase::access",
                method = finish.method.as_str(),
                route = &*route.template,
                status = status.as_u16(),
                latency_ms = latency.as_secs_f64() * 1000.0,
                request_id,
                "request"
            );
        }
        if matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED) {
            // No body (RFC 9110 6.4.1), whatever a stub or a client asked for:
            // a length announced and never sent would stall the client or
            // make it read the next response as this one's body.
            *response.body_mut() = axum::body::Body::empty();
            response
                .headers_mut()
                .remove(axum::http::header::CONTENT_LENGTH);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_sums_its_shards_whichever_thread_ends_a_request() {
        let count = InFlightCount::default();
        count.add(1);
        let moved = count.clone();
        std::thread::spawn(move || moved.add(-1)).join().unwrap();
        assert_eq!(count.get(), 0);
        count.add(1);
        count.add(1);
        assert_eq!(count.get(), 2);
    }
}
