//! Routes go-httpbin has and httpbin does not: `/hostname`, `/unstable` and
//! `/dump/request`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::{RngExt as _, SeedableRng as _};
use serde_json::json;

use super::httpbin::{TAG, json_response};
use super::inspect::{Inspected, query_pairs};
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
