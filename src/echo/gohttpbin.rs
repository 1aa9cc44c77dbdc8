//! Routes go-httpbin has and httpbin does not: `/hostname`, `/unstable`,
//! `/dump/request`, `/env`, `/version`, `/head`, `/upload`, `/trailers` and
//! `/jsonl`, and the pacing `/jsonl` and `/sse` share.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Frame;
use rand::{RngExt as _, SeedableRng as _};
use serde_json::{Value, json};

use super::EchoConfig;
use super::httpbin::{RequestDescription, TAG, json_response, parse_header, parse_seconds};
use super::inspect::{Inspected, query_pairs};
use super::responses::query_value;
use crate::http::ApiError;

/// The name `/hostname` gives: a fixed one, as go-httpbin's default, so that
/// the machine's own name is not told to whoever asks.
const HOSTNAME: &str = "echobase";

/// The server's name: `{"hostname": "echobase"}`.
#[utoipa::path(get, path = "/hostname", tag = TAG,
    responses((status = 200, description = "`{\"hostname\": \"echobase\"}` (a fixed name, never the machine's)")))]
pub async fn hostname() -> Response {
    json_response(StatusCode::OK, json!({ "hostname": HOSTNAME }))
}

/// `200` or, with probability `failure_rate` (default 0.5), `500`; the same
/// answer every time for the same `seed`.
///
/// Routed but not in the OpenAPI document: a 500 is its answer half the
/// time, which a schema-driven fuzzer reports as a server fault (see
/// `httpbin_router`).
pub async fn unstable(request: Inspected) -> Result<Response, ApiError> {
    let pairs = query_pairs(request.uri.query().unwrap_or_default());
    let value = |key: &str| {
        pairs
            .iter()
            .find_map(|(k, v)| (k == key && !v.is_empty()).then_some(v.as_str()))
    };
    let failure_rate = match value("failure_rate") {
        None => 0.5,
        Some(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|rate| (0.0..=1.0).contains(rate))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("failure_rate `{text}` is not a number from 0 to 1"))
            })?,
    };
    let draw: f64 = match value("seed") {
        None => rand::rng().random(),
        Some(text) => {
            let seed = text.trim().parse::<i64>().map_err(|_| {
                ApiError::BadRequest(format!("seed `{text}` is not a whole number"))
            })?;
            rand::rngs::SmallRng::seed_from_u64(u64::from_ne_bytes(seed.to_ne_bytes())).random()
        }
    };
    let status = if draw < failure_rate {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
    )
        .into_response())
}

/// The request as it would be written on an HTTP/1.1 connection: the
/// request line, the headers and the body.
#[utoipa::path(method(get, post, put, patch, delete), path = "/dump/request", tag = TAG,
    responses((status = 200, description = "The request in HTTP/1.1 form", content_type = "text/plain")))]
pub async fn dump_request(request: Inspected) -> Response {
    let target = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut dump = format!("{} {target} HTTP/1.1\r\n", request.method).into_bytes();
    for (name, value) in &request.headers {
        dump.extend_from_slice(super::inspect::title_case(name.as_str()).as_bytes());
        dump.extend_from_slice(b": ");
        dump.extend_from_slice(value.as_bytes());
        dump.extend_from_slice(b"\r\n");
    }
    dump.extend_from_slice(b"\r\n");
    dump.extend_from_slice(&request.body);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        dump,
    )
        .into_response()
}

/// go-httpbin's `/env` lists the server's environment variables whose names
/// start with `HTTPBIN_`. echobase lists none: its environment carries its
/// settings (`ECHOBASE_*`, `SERVER_KEY`, database URLs), which are nobody's
/// business, so the answer keeps go-httpbin's shape and is always empty.
#[utoipa::path(get, path = "/env", tag = TAG,
    responses((status = 200, description = "`{\"env\": {}}`: always empty, the server's environment is never shown")))]
pub async fn env() -> Response {
    json_response(StatusCode::OK, json!({ "env": {} }))
}

/// The server's name and version, as go-httpbin's `/version` gives its own
/// (the version is in `/openapi.json` already).
#[utoipa::path(get, path = "/version", tag = TAG,
    responses((status = 200, description = "`{\"service\": \"echobase\", \"version\": \"x.y.z\"}`")))]
pub async fn version() -> Response {
    json_response(
        StatusCode::OK,
        json!({ "service": "echobase", "version": env!("CARGO_PKG_VERSION") }),
    )
}

/// `HEAD` only: the headers `/get` would send, without its body.
#[utoipa::path(head, path = "/head", tag = TAG,
    responses((status = 200, description = "The `/get` answer's headers, no body")))]
pub async fn head(request: Inspected) -> Response {
    // The server drops a HEAD answer's body and keeps its length.
    let mut body = request.basic();
    body.insert("method".into(), Value::String(request.method.to_string()));
    json_response(StatusCode::OK, Value::Object(body))
}

/// The request without its body, which is counted, not echoed: for
/// uploads too large to send back.
#[utoipa::path(method(post, put, patch), path = "/upload", tag = TAG,
    request_body(content = Option<Vec<u8>>, content_type = "application/octet-stream", description = "Any body, up to `body_limit`"),
    responses(
        (status = 200, description = "`args`, `headers`, `method`, `origin`, `url` and `bytes_received`"),
        (status = 413, description = "The body is larger than `body_limit`"),
    ))]
pub async fn upload(request: Inspected) -> Response {
    let mut body = request.basic();
    body.insert("method".into(), Value::String(request.method.to_string()));
    body.insert("bytes_received".into(), json!(request.body.len()));
    json_response(StatusCode::OK, Value::Object(body))
}

/// Headers that may not be sent as trailers (go-httpbin's list, after MDN):
/// they steer how the message is routed, framed, decoded or authorised,
/// which a recipient must know before the body.
pub const FORBIDDEN_TRAILERS: [&str; 12] = [
    "authorization",
    "cache-control",
    "content-encoding",
    "content-length",
    "content-range",
    "content-type",
    "host",
    "max-forwards",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
];

/// The `/anything` description, then each query parameter as a trailer
/// (declared in `Trailer`). HTTP/1.1 sends trailers only to a client that
/// asked with `TE: trailers` (RFC 9112 7.1.2); others get the body alone.
#[utoipa::path(method(get, post, put, patch, delete), path = "/trailers", tag = TAG,
    params(("trailers" = inline(Option<super::schemas::TrailerPairs>), Query, nullable = false, style = Form, explode,
        description = "Trailer names to values; a name that may not be a trailer (`Content-Type`, `Authorization`, ...) or is hop-by-hop is a 400")),
    responses(
        (status = 200, description = "The request, described; the trailers after the body", body = RequestDescription),
        (status = 400, description = "A trailer that is not allowed or not a valid header", content_type = "text/plain"),
    ))]
pub async fn trailers(request: Inspected) -> Result<Response, ApiError> {
    let mut trailers = HeaderMap::new();
    for (asked, value) in query_pairs(request.uri.query().unwrap_or_default()) {
        let (name, value) = parse_header(&asked, &value)?;
        if FORBIDDEN_TRAILERS.contains(&name.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "`{asked}` may not be sent as a trailer"
            )));
        }
        // A repeated name keeps its last value, as go-httpbin's.
        trailers.insert(name, value);
    }
    let description = serde_json::to_vec(&Value::Object(request.anything().await?))
        .map_err(|e| ApiError::Internal(format!("cannot encode the description: {e}")))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let declared: Vec<&str> = trailers.keys().map(HeaderName::as_str).collect();
    if !declared.is_empty()
        && let Ok(value) = HeaderValue::try_from(declared.join(", "))
    {
        headers.insert(header::TRAILER, value);
    }
    let mut frames = vec![Ok::<_, Infallible>(Frame::data(Bytes::from(description)))];
    if !trailers.is_empty() {
        frames.push(Ok(Frame::trailers(trailers)));
    }
    // A body of unknown length, so it is sent chunked, as go-httpbin forces it.
    let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
    Ok((headers, Body::new(body)).into_response())
}

/// `count` lines of JSON (the `/stream` shape), spread over `duration`
/// after `delay`, each pause varied by up to `jitter` of itself.
#[utoipa::path(get, path = "/jsonl", tag = TAG,
    params(("count" = Option<i64>, Query, minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64,
            description = "Lines to send (default 10); below 1 sends 1, above `echo.max_events` (10000 unless configured) sends that many"),
           ("duration" = inline(Option<super::schemas::Wait>), Query, nullable = false,
            description = "Seconds or a Go duration (`2s`) to spread the lines over (default 0); cut so that `delay` plus `duration` is at most `echo.max_delay`"),
           ("delay" = inline(Option<super::schemas::Wait>), Query, nullable = false,
            description = "Seconds or a Go duration before the first line (default 0), cut to `echo.max_delay`"),
           ("jitter" = Option<f64>, Query, minimum = 0, maximum = 1,
            description = "Vary each pause at random by up to this fraction of it (default 0)")),
    responses(
        (status = 200, description = "JSON Lines: the `/get` shape plus `id`", content_type = "application/x-ndjson"),
        (status = 400, description = "A parameter that does not parse or is out of range", content_type = "text/plain"),
    ))]
pub async fn jsonl(
    State(config): State<Arc<EchoConfig>>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let count = match query_value(&request, "count") {
        None => 10,
        Some(text) => text
            .parse::<i64>()
            .map_err(|_| ApiError::BadRequest(format!("count `{text}` is not a whole number")))?,
    };
    // Clamped, not refused, as go-httpbin clamps it.
    let count = u64::try_from(count)
        .unwrap_or(0)
        .clamp(1, config.max_events.max(1));
    let pace = Pace::read(&request, &config, Duration::ZERO, count)?;
    let described = request.basic();
    let lines = futures_util::stream::unfold(0_u64, move |id| {
        let described = described.clone();
        async move {
            if id >= count {
                return None;
            }
            let wait = pace.before(id);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let mut line = described;
            line.insert("id".into(), json!(id));
            let mut text = Value::Object(line).to_string();
            text.push('\n');
            Some((Ok::<_, Infallible>(Bytes::from(text)), id + 1))
        }
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        )],
        Body::from_stream(lines),
    )
        .into_response())
}

/// When the items of a paced stream (`/jsonl`, `/sse`) go out: the first
/// after `delay`, the rest spread over `duration`, as go-httpbin paces them.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub delay: Duration,
    /// Between two items.
    pub pause: Duration,
    /// Each pause varies at random by up to this fraction of itself.
    pub jitter: f64,
}

impl Pace {
    /// `delay`, `duration` and `jitter` from the query. The whole wait is cut
    /// to `echo.max_delay`, `delay` first, as `/drip` cuts its own (go-httpbin
    /// refuses a longer one; echobase cuts every wait the same way).
    pub fn read(
        request: &Inspected,
        config: &EchoConfig,
        default_duration: Duration,
        count: u64,
    ) -> Result<Self, ApiError> {
        let wait = |key: &str, default: Duration| -> Result<Duration, ApiError> {
            query_value(request, key).map_or(Ok(default), |text| parse_seconds(&text))
        };
        let delay = wait("delay", Duration::ZERO)?.min(config.max_delay);
        let duration = wait("duration", default_duration)?.min(config.max_delay - delay);
        let jitter = match query_value(request, "jitter") {
            None => 0.0,
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|jitter| (0.0..=1.0).contains(jitter))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("jitter `{text}` is not a number from 0 to 1"))
                })?,
        };
        Ok(Pace {
            delay,
            pause: pause_per_item(duration, count),
            jitter,
        })
    }

    /// The wait before item `index`: `delay` before the first, a pause
    /// (varied by the jitter) before each other.
    pub fn before(&self, index: u64) -> Duration {
        if index == 0 {
            self.delay
        } else {
            self.between()
        }
    }

    /// One pause, varied by the jitter.
    pub fn between(&self) -> Duration {
        if self.jitter <= 0.0 || self.pause.is_zero() {
            return self.pause;
        }
        let scale = 1.0 + self.jitter * (2.0 * rand::rng().random::<f64>() - 1.0);
        self.pause.mul_f64(scale.max(0.0))
    }
}

/// go-httpbin's `Server-Timing` report of the waits a route made:
/// `name;dur=<milliseconds>;desc="<description>"`, comma-separated.
pub fn server_timing(entries: &[(&str, Duration, &str)]) -> HeaderValue {
    let text = entries
        .iter()
        .map(|(name, duration, description)| {
            format!(
                "{name};dur={:.2};desc=\"{description}\"",
                duration.as_secs_f64() * 1e3
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Built only from the fixed names above and numbers, so always valid;
    // an empty value otherwise rather than a failed answer.
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `duration` over `count` items: no pause after the last, so `count - 1`
/// pauses share it.
pub fn pause_per_item(duration: Duration, count: u64) -> Duration {
    match u32::try_from(count.saturating_sub(1)) {
        Ok(0) => duration,
        Ok(pauses) => duration / pauses,
        // More pauses than a u32 counts: each is a nanosecond at most.
        Err(_) => Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timing_is_written_as_go_httpbin_writes_it() {
        let value = server_timing(&[
            (
                "initial_delay",
                Duration::from_millis(1500),
                "initial delay",
            ),
            ("write_duration", Duration::from_micros(250), "writes"),
        ]);
        assert_eq!(
            value,
            "initial_delay;dur=1500.00;desc=\"initial delay\", write_duration;dur=0.25;desc=\"writes\""
        );
    }

    #[test]
    fn a_duration_is_shared_by_the_pauses_between_items() {
        assert_eq!(
            pause_per_item(Duration::from_secs(1), 0),
            Duration::from_secs(1)
        );
        assert_eq!(
            pause_per_item(Duration::from_secs(1), 1),
            Duration::from_secs(1)
        );
        assert_eq!(
            pause_per_item(Duration::from_secs(1), 5),
            Duration::from_millis(250)
        );
        assert_eq!(
            pause_per_item(Duration::from_secs(1), u64::MAX),
            Duration::ZERO
        );
    }

    #[test]
    fn jitter_keeps_each_pause_within_its_fraction() {
        let pace = Pace {
            delay: Duration::from_millis(7),
            pause: Duration::from_millis(100),
            jitter: 0.5,
        };
        assert_eq!(pace.before(0), Duration::from_millis(7));
        for index in 1..200 {
            let pause = pace.before(index);
            assert!(pause >= Duration::from_millis(50) && pause <= Duration::from_millis(150));
        }
        let steady = Pace {
            jitter: 0.0,
            ..pace
        };
        assert_eq!(steady.before(3), Duration::from_millis(100));
    }
}
