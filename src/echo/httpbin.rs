//! The httpbin-compatible routes that describe the request: `/anything`,
//! `/get`, `/post`, `/put`, `/patch`, `/delete`, `/headers`, `/ip`,
//! `/user-agent`, `/delay/{seconds}`, and the `x-echo-*` controls.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::EchoConfig;
use super::inspect::Inspected;
use crate::http::ApiError;
use crate::http::hop_headers::is_hop_by_hop_or_framing;

pub const TAG: &str = "echo (httpbin)";

/// A JSON response as httpbin sends it.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The shape a request-describing route answers with.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the JSON built in `Inspected`
pub struct RequestDescription {
    /// Query parameters: a string, or a list when the key repeats.
    args: Map<String, Value>,
    /// The body when it is not a form: text, or a base64 `data:` URL.
    data: Option<String>,
    /// Multipart file parts by field name.
    files: Option<Map<String, Value>>,
    /// Form fields (urlencoded or multipart).
    form: Option<Map<String, Value>>,
    /// Request headers, names in `Title-Case`.
    headers: Map<String, Value>,
    /// The body parsed as JSON, or null.
    json: Option<Value>,
    /// `/anything` only.
    method: Option<String>,
    /// The client's IP address.
    origin: String,
    url: String,
}

const ANY_METHOD_DOC: &str = "Any method. Control the answer with `x-echo-status`, \
    `x-echo-delay-ms` and `x-echo-header: Name: value` request headers (or the \
    `echo_status`, `echo_delay_ms` and `echo_header` query parameters). A hop-by-hop or \
    framing header (`Content-Length`, `Transfer-Encoding`, `Connection`, ...) is a 400.";

/// Describes the request, whatever its method and path below `/anything`.
#[utoipa::path(method(get, post, put, patch, delete, head, trace), path = "/anything",
    tag = TAG, description = ANY_METHOD_DOC,
    responses((status = 200, description = "The request, described", body = RequestDescription)))]
pub async fn anything(
    State(config): State<Arc<EchoConfig>>,
    request: Inspected,
) -> Result<Response, ApiError> {
    answer_with_controls(&config, &request).await
}

/// `/anything/{path}`: the same, for any path below it.
#[utoipa::path(method(get, post, put, patch, delete, head, trace),
    path = "/anything/{*path}", tag = TAG, description = ANY_METHOD_DOC,
    params(("path" = String, Path, description = "Anything")),
    responses((status = 200, description = "The request, described", body = RequestDescription)))]
pub async fn anything_below(
    State(config): State<Arc<EchoConfig>>,
    request: Inspected,
) -> Result<Response, ApiError> {
    answer_with_controls(&config, &request).await
}

async fn answer_with_controls(
    config: &EchoConfig,
    request: &Inspected,
) -> Result<Response, ApiError> {
    let controls = Controls::read(request, config.max_delay)?;
    let body = request.anything().await?;
    if !controls.delay.is_zero() {
        tokio::time::sleep(controls.delay).await;
    }
    let mut response = json_response(controls.status, Value::Object(body));
    for (name, value) in controls.headers {
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

/// What the `x-echo-*` headers (or `echo_*` query parameters) ask of the answer.
#[derive(Debug)]
struct Controls {
    status: StatusCode,
    delay: Duration,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Controls {
    fn read(request: &Inspected, max_delay: Duration) -> Result<Self, ApiError> {
        let args = super::inspect::query_pairs(request.uri.query().unwrap_or_default());
        let values = |header: &str, query: &str| -> Vec<String> {
            let from_headers = request
                .headers
                .get_all(header)
                .iter()
                .filter_map(|value| value.to_str().ok().map(str::to_owned));
            let from_query = args
                .iter()
                .filter(|(key, _)| key == query)
                .map(|(_, value)| value.clone());
            from_headers.chain(from_query).collect()
        };
        let status = match values("x-echo-status", "echo_status").first() {
            None => StatusCode::OK,
            Some(text) => parse_status(text)?,
        };
        let delay = match values("x-echo-delay-ms", "echo_delay_ms").first() {
            None => Duration::ZERO,
            Some(text) => {
                let millis: u64 = text.trim().parse().map_err(|_| {
                    ApiError::BadRequest(format!(
                        "x-echo-delay-ms must be a whole number of milliseconds, not `{text}`"
                    ))
                })?;
                Duration::from_millis(millis).min(max_delay)
            }
        };
        let headers = values("x-echo-header", "echo_header")
            .iter()
            .map(|line| parse_header_line(line))
            .collect::<Result<_, _>>()?;
        Ok(Controls {
            status,
            delay,
            headers,
        })
    }
}

/// A final status code, 200 to 599. A 1xx is interim: it cannot end a
/// request, and a 101 would switch the connection to another protocol,
/// leaving the client's next request on it unanswered.
pub fn parse_status(text: &str) -> Result<StatusCode, ApiError> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|code| (200..=599).contains(code))
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`{text}` is not a final status code (expected a number from 200 to 599)"
            ))
        })
}

/// `Name: value` → a header, or a 400 that says what is wrong with it.
fn parse_header_line(line: &str) -> Result<(HeaderName, HeaderValue), ApiError> {
    let (name, value) = line.split_once(':').ok_or_else(|| {
        ApiError::BadRequest(format!("x-echo-header `{line}` is not `Name: value`"))
    })?;
    parse_header(name.trim(), value.trim())
}

/// A response header a client asked for: a valid name and value, and never a
/// hop-by-hop or framing header, which only the server may set (a wrong
/// `Content-Length` would desynchronise the connection).
pub fn parse_header(asked: &str, value: &str) -> Result<(HeaderName, HeaderValue), ApiError> {
    let name = HeaderName::try_from(asked)
        .map_err(|_| ApiError::BadRequest(format!("`{asked}` is not a valid header name")))?;
    if is_hop_by_hop_or_framing(name.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "`{asked}` is a hop-by-hop or framing header: only the server sets it"
        )));
    }
    let value = HeaderValue::try_from(value).map_err(|_| {
        ApiError::BadRequest(format!(
            "the value for header `{name}` is not a valid header value"
        ))
    })?;
    Ok((name, value))
}

/// The `GET` request's query and headers.
#[utoipa::path(get, path = "/get", tag = TAG,
    responses((status = 200, description = "args, headers, origin, url", body = RequestDescription)))]
pub async fn get(request: Inspected) -> Response {
    json_response(StatusCode::OK, Value::Object(request.basic()))
}

/// The request, body included (`data`, `form`, `files`, `json`).
#[utoipa::path(post, path = "/post", tag = TAG,
    request_body(content = Option<Vec<u8>>, content_type = "application/octet-stream", description = "Any body, or none: JSON, form, multipart, bytes"),
    responses((status = 200, description = "The request, described", body = RequestDescription)))]
pub async fn post(request: Inspected) -> Result<Response, ApiError> {
    with_body(request).await
}

/// As `/post`, for `PUT`.
#[utoipa::path(put, path = "/put", tag = TAG,
    responses((status = 200, description = "The request, described", body = RequestDescription)))]
pub async fn put(request: Inspected) -> Result<Response, ApiError> {
    with_body(request).await
}

/// As `/post`, for `PATCH`.
#[utoipa::path(patch, path = "/patch", tag = TAG,
    responses((status = 200, description = "The request, described", body = RequestDescription)))]
pub async fn patch(request: Inspected) -> Result<Response, ApiError> {
    with_body(request).await
}

/// As `/post`, for `DELETE`.
#[utoipa::path(delete, path = "/delete", tag = TAG,
    responses((status = 200, description = "The request, described", body = RequestDescription)))]
pub async fn delete(request: Inspected) -> Result<Response, ApiError> {
    with_body(request).await
}

async fn with_body(request: Inspected) -> Result<Response, ApiError> {
    Ok(json_response(
        StatusCode::OK,
        Value::Object(request.with_body().await?),
    ))
}

/// The request's headers.
#[utoipa::path(get, path = "/headers", tag = TAG,
    responses((status = 200, description = "`{\"headers\": {...}}`")))]
pub async fn headers(request: Inspected) -> Response {
    json_response(StatusCode::OK, json!({ "headers": request.headers_json() }))
}

/// The client's IP address.
#[utoipa::path(get, path = "/ip", tag = TAG,
    responses((status = 200, description = "`{\"origin\": \"127.0.0.1\"}`")))]
pub async fn ip(request: Inspected) -> Response {
    json_response(StatusCode::OK, json!({ "origin": request.origin() }))
}

/// The request's `User-Agent`.
#[utoipa::path(get, path = "/user-agent", tag = TAG,
    responses((status = 200, description = "`{\"user-agent\": \"...\"}`")))]
pub async fn user_agent(request: Inspected) -> Response {
    let agent = request.header_str(header::USER_AGENT).unwrap_or_default();
    json_response(StatusCode::OK, json!({ "user-agent": agent }))
}

/// Answers after the given number of seconds (fractions allowed) or Go
/// duration, capped by the `echo.max_delay` setting.
#[utoipa::path(method(get, post, put, patch, delete, trace), path = "/delay/{seconds}", tag = TAG,
    params(("seconds" = inline(super::schemas::Wait), Path,
        description = "Seconds to wait (fractions allowed), or a Go duration (`1.5s`, `500ms`) as go-httpbin takes. Any longer wait is accepted and cut to `echo.max_delay`, as httpbin cuts it to 10")),
    responses(
        (status = 200, description = "The request, described, after the delay", body = RequestDescription),
        (status = 400, description = "Neither a non-negative number nor a Go duration", content_type = "text/plain"),
    ))]
pub async fn delay(
    State(config): State<Arc<EchoConfig>>,
    Path(seconds): Path<String>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let wait = parse_seconds(&seconds)?.min(config.max_delay);
    tokio::time::sleep(wait).await;
    // httpbin's `/delay` leaves `json` out.
    let mut body = request.with_body().await?;
    body.remove("json");
    let mut response = json_response(StatusCode::OK, Value::Object(body));
    // go-httpbin reports the wait it made; httpbin sends no such header.
    response.headers_mut().insert(
        HeaderName::from_static("server-timing"),
        super::gohttpbin::server_timing(&[("initial_delay", wait, "initial delay")]),
    );
    Ok(response)
}

/// A wait: a non-negative, finite number of seconds (httpbin's form), or a Go
/// duration such as `1.5s`, `500ms` or `1m30s` (go-httpbin takes both, so a
/// client written for either works). One too large for a `Duration`
/// saturates: every caller cuts it to `echo.max_delay` anyway, and httpbin
/// accepts any number. `schemas::Wait` is the same grammar for the document.
pub fn parse_seconds(text: &str) -> Result<Duration, ApiError> {
    let seconds = text
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(|seconds| Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
    seconds.or_else(|| parse_go_duration(text)).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "`{text}` is not a number of seconds or a duration \
             (expected a non-negative number, or a Go duration such as `1.5s` or `500ms`)"
        ))
    })
}

/// Go's `time.ParseDuration` grammar without the minus sign (go-httpbin
/// refuses negative waits): one or more `<decimal><unit>`, units `ns`, `us`
/// (`µs`, `μs`), `ms`, `s`, `m`, `h`; an optional leading `+`.
fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return None;
    }
    let mut seconds = 0.0_f64;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(split);
        // At least one digit and at most one dot; `f64` takes `5.` and `.5`
        // as Go does, but would also take `inf` or `1e3`, which are letters
        // and so never reach here.
        if !number.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        let value = number.parse::<f64>().ok()?;
        let split = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(split);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        seconds += value * scale;
        rest = next;
    }
    Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_outside_100_to_599_are_refused() {
        assert_eq!(parse_status("201").unwrap(), StatusCode::CREATED);
        assert!(parse_status("99").is_err());
        assert!(parse_status("101").is_err());
        assert!(parse_status("600").is_err());
        assert!(parse_status("abc").is_err());
    }

    #[test]
    fn seconds_must_be_finite_and_not_negative() {
        assert_eq!(parse_seconds("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_seconds("-0").unwrap(), Duration::ZERO);
        assert_eq!(parse_seconds("1e300").unwrap(), Duration::MAX);
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("inf").is_err());
    }

    #[test]
    fn go_durations_are_waits_too() {
        assert_eq!(parse_seconds("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_seconds("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_seconds("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_seconds("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_seconds("+2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_seconds(".5s").unwrap(), Duration::from_millis(500));
        assert_eq!(
            parse_seconds("250\u{b5}s").unwrap(),
            Duration::from_micros(250)
        );
        assert_eq!(
            parse_seconds("99999999999999999999h").unwrap(),
            Duration::MAX
        );
        for bad in [
            "-1s", "s", ".s", "1.2.3s", "1sec", "1s2", "1 s", "1d", "", "+",
        ] {
            assert!(parse_seconds(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_header_line_needs_a_colon_and_a_valid_name() {
        let (name, value) = parse_header_line("X-Test: yes").unwrap();
        assert_eq!(name, "x-test");
        assert_eq!(value, "yes");
        assert!(parse_header_line("no colon").is_err());
        assert!(parse_header_line("bad name: x").is_err());
    }

    #[test]
    fn framing_and_hop_by_hop_headers_are_refused_naming_them() {
        for line in [
            "Content-Length: 5",
            "transfer-encoding: chunked",
            "CONNECTION: close",
        ] {
            let Err(ApiError::BadRequest(detail)) = parse_header_line(line) else {
                panic!("{line} was accepted");
            };
            let name = line.split(':').next().unwrap_or_default();
            assert!(detail.contains(name), "{detail}");
        }
    }
}
