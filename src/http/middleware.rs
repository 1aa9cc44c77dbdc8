//! The request context applied to every route: a request id, the timeout, the
//! body limit, one access-log line and the request metrics.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::error::ApiError;
use super::extract::BodyLimit;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// A client's request id longer than this is replaced, not echoed.
const MAX_REQUEST_ID_LEN: usize = 128;
/// The route label of requests no route matched: one label, not one per path,
/// so that scanners cannot blow up the metrics' cardinality.
const UNMATCHED_ROUTE: &str = "unmatched";

/// The request's id, as sent back in `x-request-id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// The limits the middleware enforces on every request.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    pub body_limit: usize,
    pub request_timeout: Duration,
}

/// Keeps the in-flight gauge right even when a request is cancelled.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        metrics::gauge!("http_requests_in_flight").increment(1);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("http_requests_in_flight").decrement(1);
    }
}

pub async fn request_context(
    State(limits): State<RequestLimits>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let _in_flight = InFlight::enter();
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|id| is_acceptable_request_id(id))
        .cloned()
        .unwrap_or_else(new_request_id);
    let method = req.method().clone();
    // The route template, never the raw path: paths can carry secrets
    // (`/basic-auth/{user}/{password}`) and unbounded variety.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    req.extensions_mut().insert(RequestId(request_id.clone()));
    req.extensions_mut().insert(BodyLimit(limits.body_limit));

    let id_text = request_id.to_str().unwrap_or_default().to_owned();
    let span = tracing::info_span!("request", request_id = %id_text);
    let mut response = match tokio::time::timeout(limits.request_timeout, next.run(req))
        .instrument(span)
        .await
    {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(limits.request_timeout).into_response(),
    };
    response.headers_mut().insert(X_REQUEST_ID, request_id);

    let status = response.status();
    let latency = started.elapsed();
    let status_class = match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!(
        "http_requests_total",
        "method" => method.to_string(),
        "route" => route.clone(),
        "status" => status_class,
    )
    .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route.clone())
        .record(latency.as_secs_f64());
    tracing::info!(
        target: "echobase::access",
        method = %method,
        route = %route,
        status = status.as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        request_id = %id_text,
        "request"
    );
    response
}

fn is_acceptable_request_id(id: &HeaderValue) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes.iter().all(|b| b.is_ascii_graphic())
}

fn new_request_id() -> HeaderValue {
    // A UUID's text is always a valid header value.
    HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}
