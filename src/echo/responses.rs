//! The httpbin routes that produce a chosen response: `/status`, `/bytes`,
//! `/stream`, `/drip`, `/base64`, `/uuid`, `/cache`, `/etag`,
//! `/response-headers` and the compressed `/gzip`, `/deflate`, `/brotli`.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use rand::{Rng as _, RngExt as _, SeedableRng as _};

use crate::http::conditional::Condition;
use serde_json::{Value, json};

use super::EchoConfig;
use super::httpbin::{TAG, json_response, parse_header, parse_seconds, parse_status};
use super::inspect::{Inspected, query_pairs};
use crate::http::ApiError;

/// Most lines `/stream/{n}` sends, as in httpbin.
const MAX_STREAM_LINES: usize = 100;

/// Answers with the status given, or one picked at random from a list
/// (`200,500`), optionally weighted (`200:3,500:1`).
#[utoipa::path(method(get, post, put, patch, delete, trace), path = "/status/{codes}", tag = TAG,
    params(("codes" = String, Path, pattern = "^[2-5][0-9]{2}(:[0-9]{1,7}(\\.[0-9]{1,6})?)?(,[2-5][0-9]{2}(:[0-9]{1,7}(\\.[0-9]{1,6})?)?)*$",
        description = "`418`, `200,500` or `200:0.9,500:0.1`: final statuses (200 to 599), each with an optional weight from 0 to 1000000 (default 1; not all 0)")),
    responses(
        (status = "2XX", description = "The chosen status, empty body"),
        (status = "3XX", description = "The chosen status, empty body; 301, 302, 303, 305, 307 and 308 with `Location: <prefix>/redirect/1`"),
        // Not `body = Problem`: a chosen 400 has no body, and the document can say only one thing about a 400.
        (status = 400, description = "The chosen 400 (an empty page), or a text naming a code or weight that is not valid"),
        (status = "4XX", description = "The chosen status, empty body; 401 with `WWW-Authenticate`"),
        (status = "5XX", description = "The chosen status, empty body"),
    ))]
pub async fn status(
    State(config): State<Arc<EchoConfig>>,
    Path(codes): Path<String>,
) -> Result<Response, ApiError> {
    let choices = parse_weighted_codes(&codes)?;
    let draw: f64 = rand::rng().random();
    Ok(status_answer(pick_weighted(&choices, draw), &config.prefix))
}

/// The teapot httpbin draws for `418`.
const TEAPOT: &str = r#"
    -=[ teapot ]=-

       _...._
     .'  _ _ `.
    | ."` ^ `". _,
    \_;`"---"`|//
      |       ;/
      \_     _/
        `"""`
"#;

/// The answer httpbin gives for a status: most with an empty page; the ones
/// that need a header to make sense with it (and then, as httpbin, no
/// `Content-Type`), `406` with the media types `/image` offers and `418`
/// with its teapot.
pub fn status_answer(status: StatusCode, prefix: &str) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    match status.as_u16() {
        // 308 too, as go-httpbin: a permanent redirect without a target cannot be followed.
        301 | 302 | 303 | 305 | 307 | 308 => {
            if let Ok(value) = HeaderValue::try_from(format!("{prefix}/redirect/1")) {
                headers.insert(header::LOCATION, value);
            }
        }
        401 => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Fake Realm\""),
            );
        }
        402 => {
            headers.insert(
                "x-more-info",
                HeaderValue::from_static("http://vimeo.com/22053820"),
            );
        }
        // Nothing describes a 304's (absent) body.
        304 => {}
        406 => return super::formats::not_acceptable(),
        407 => {
            headers.insert(
                header::PROXY_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Fake Realm\""),
            );
        }
        418 => {
            headers.insert(
                "x-more-info",
                HeaderValue::from_static("http://tools.ietf.org/html/rfc2324"),
            );
            *response.body_mut() = Body::from(TEAPOT);
        }
        _ => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(super::formats::HTML),
            );
        }
    }
    response
}

/// The code whose share of the total weight `draw` (from 0 to 1) falls in;
/// a weight of 0 is never picked.
fn pick_weighted(choices: &[(StatusCode, f64)], draw: f64) -> StatusCode {
    let total: f64 = choices.iter().map(|(_, weight)| weight).sum();
    let mut left = draw * total;
    // `parse_weighted_codes` never gives an empty list; 200 would be the answer to one.
    let mut chosen = choices.first().map_or(StatusCode::OK, |(code, _)| *code);
    for (code, weight) in choices {
        if *weight > 0.0 {
            chosen = *code;
            if left < *weight {
                break;
            }
            left -= weight;
        }
    }
    chosen
}

/// A weight as the document's pattern writes it (1 to 7 digits, optionally
/// a point and 1 to 6 more), from 0 to 1000000: httpbin's and go-httpbin's
/// weights are numbers such as `0.9`.
fn parse_weight(text: &str) -> Option<f64> {
    let digits = |part: &str, most: usize| {
        (1..=most).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    if !digits(whole, 7) || !digits(fraction, 6) {
        return None;
    }
    text.parse::<f64>()
        .ok()
        .filter(|weight| (0.0..=1_000_000.0).contains(weight))
}

/// `200,500:3` → `[(200, 1), (500, 3)]`; weights from 0 to 1000000, not all 0.
pub fn parse_weighted_codes(text: &str) -> Result<Vec<(StatusCode, f64)>, ApiError> {
    let choices = text
        .split(',')
        .map(|item| {
            let (code, weight) = item.split_once(':').unwrap_or((item, "1"));
            let weight = parse_weight(weight).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "`{weight}` is not a weight (expected a number from 0 to 1000000, such as 3 or 0.25)"
                ))
            })?;
            Ok((parse_status(code)?, weight))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    if choices.iter().all(|(_, weight)| *weight == 0.0) {
        return Err(ApiError::BadRequest(
            "the weights add up to 0: no status can be picked".into(),
        ));
    }
    Ok(choices)
}

/// `n` random bytes (the same bytes for the same `seed` query parameter).
#[utoipa::path(get, path = "/bytes/{n}", tag = TAG,
    // The maximum of `n` is the body limit, written into the document at mount (see `schemas`).
    params(("n" = u64, Path, minimum = 0, description = "How many bytes, at most the body limit (`body_limit`)"),
           ("seed" = Option<u64>, Query, minimum = 0, maximum = 18446744073709551615_u64,
            description = "Makes the bytes repeatable: any whole number up to 2^64 - 1")),
    responses(
        (status = 200, description = "Random bytes", content_type = "application/octet-stream"),
        (status = 400, description = "`n` over the limit, or a bad seed", content_type = "text/plain"),
    ))]
pub async fn bytes(
    State(config): State<Arc<EchoConfig>>,
    Path(n): Path<String>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let n = parse_size(&n, config.max_response_bytes, "n")?;
    let seed = query_value(&request, "seed")
        .map(|seed| {
            seed.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("seed `{seed}` is not a whole number")))
        })
        .transpose()?;
    let mut data = vec![0u8; n];
    match seed {
        Some(seed) => rand::rngs::SmallRng::seed_from_u64(seed).fill_bytes(&mut data),
        None => rand::rng().fill_bytes(&mut data),
    }
    Ok(octets(data))
}

fn octets(data: impl Into<Body>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        data.into(),
    )
        .into_response()
}

/// A whole number from 0 to `max`, or a 400 naming the parameter.
pub(super) fn parse_count(text: &str, max: u64, what: &str) -> Result<u64, ApiError> {
    text.parse::<u64>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{what} `{text}` must be a whole number from 0 to {max}"
            ))
        })
}

/// A byte count from 0 to `max`, or a 400 naming the parameter.
fn parse_size(text: &str, max: usize, what: &str) -> Result<usize, ApiError> {
    let max = u64::try_from(max).unwrap_or(u64::MAX);
    let size = parse_count(text, max, what)?;
    usize::try_from(size).map_err(|_| ApiError::BadRequest(format!("{what} `{text}` is too large")))
}

pub(super) fn query_value(request: &Inspected, key: &str) -> Option<String> {
    query_pairs(request.uri.query().unwrap_or_default())
        .into_iter()
        .find_map(|(k, v)| (k == key).then_some(v))
}

/// `n` JSON documents, one per line, sent as they are produced.
#[utoipa::path(get, path = "/stream/{n}", tag = TAG,
    params(("n" = u64, Path, minimum = 0, maximum = 18446744073709551615_u64,
        description = "Lines to send; a larger number is cut to 100, as in httpbin")),
    responses(
        (status = 200, description = "Newline-delimited JSON: the `/get` shape plus `id`",
            content_type = "application/json"),
        (status = 400, description = "`n` is not a whole number", content_type = "text/plain"),
    ))]
pub async fn stream(Path(n): Path<String>, request: Inspected) -> Result<Response, ApiError> {
    let n = parse_count(&n, u64::MAX, "n")?.min(MAX_STREAM_LINES as u64);
    let n = usize::try_from(n).unwrap_or(MAX_STREAM_LINES);
    let described = request.basic();
    let lines = (0..n).map(move |id| {
        let mut line = described.clone();
        line.insert("id".into(), json!(id));
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        Ok::<_, std::convert::Infallible>(Bytes::from(text))
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from_stream(futures_util::stream::iter(lines)),
    )
        .into_response())
}

/// Sends `numbytes` bytes spread over `duration` seconds, after `delay` seconds.
/// The whole wait, `delay` first, is cut to `echo.max_delay`, as `/delay` cuts its own.
#[utoipa::path(get, path = "/drip", tag = TAG,
    // The maximum of `numbytes` is the body limit, written into the document at mount (see `schemas`).
    params(("duration" = inline(Option<super::schemas::Wait>), Query, nullable = false,
            description = "Seconds to spread the bytes over (default 2), or a Go duration (`1.5s`); cut so that `delay` plus `duration` is at most `echo.max_delay`"),
           ("numbytes" = Option<u64>, Query, minimum = 1, description = "Bytes to send (default 10), 1 to the body limit (`body_limit`); below 1 is a 400"),
           ("code" = Option<u16>, Query, minimum = 200, maximum = 599, description = "Status (default 200)"),
           ("delay" = inline(Option<super::schemas::Wait>), Query, nullable = false,
            description = "Seconds before the first byte (default 0), or a Go duration (`500ms`); cut to `echo.max_delay`")),
    responses(
        (status = "2XX", description = "`*` bytes, dripped, with the status `code`", content_type = "application/octet-stream"),
        (status = "3XX", description = "`*` bytes, dripped, with the status `code`", content_type = "application/octet-stream"),
        // Not `body = Problem`: `code=400` answers `*` bytes, and the document can say only one thing about a 400.
        (status = 400, description = "A parameter that is not a number in its range (plain text), or `code=400` (`*` bytes)"),
        (status = "4XX", description = "`*` bytes, dripped, with the status `code`", content_type = "application/octet-stream"),
        (status = "5XX", description = "`*` bytes, dripped, with the status `code`", content_type = "application/octet-stream"),
    ))]
pub async fn drip(
    State(config): State<Arc<EchoConfig>>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let seconds = |key: &str, default: Duration| -> Result<Duration, ApiError> {
        query_value(&request, key).map_or(Ok(default), |text| parse_seconds(&text))
    };
    let delay = seconds("delay", Duration::ZERO)?.min(config.max_delay);
    let duration = seconds("duration", Duration::from_secs(2))?.min(config.max_delay - delay);
    let numbytes = match query_value(&request, "numbytes") {
        // httpbin's words for a count below one.
        Some(text) if text.trim().parse::<i64>().is_ok_and(|n| n <= 0) => {
            return Err(ApiError::BadRequest(
                "number of bytes must be positive".into(),
            ));
        }
        Some(text) => parse_size(&text, config.max_response_bytes, "numbytes")?,
        None => 10,
    };
    let code = match query_value(&request, "code") {
        Some(text) => parse_status(&text)?,
        None => StatusCode::OK,
    };
    let drops = drip_stream(numbytes, delay, duration);
    let mut response = (code, Body::from_stream(drops)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(numbytes));
    // go-httpbin's report of the waits; httpbin sends no such header.
    headers.insert(
        HeaderName::from_static("server-timing"),
        super::gohttpbin::server_timing(&[
            ("total_duration", delay + duration, "total request duration"),
            ("initial_delay", delay, "initial delay"),
            (
                "write_duration",
                duration,
                "duration of writes after initial delay",
            ),
        ]),
    );
    Ok(response)
}

/// `numbytes` asterisks: the first after `delay`, the rest spread evenly over
/// `duration`. At most one chunk per millisecond, so the wait the caller asked
/// for is the wait it gets: a timer cannot sleep less than that, and 100,000
/// one-byte sleeps would take 100 s whatever `duration` said.
fn drip_stream(
    numbytes: usize,
    delay: Duration,
    duration: Duration,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> {
    let millis = usize::try_from(duration.as_millis()).unwrap_or(usize::MAX);
    let ticks = numbytes.min(millis).max(1);
    let start = tokio::time::Instant::now() + delay;
    // Tick `t` sends bytes `numbytes * t / ticks` up to the next tick's first.
    let first_byte = move |tick: usize| {
        usize::try_from(numbytes as u128 * tick as u128 / ticks as u128).unwrap_or(numbytes)
    };
    futures_util::stream::unfold(0usize, move |tick| async move {
        if tick == ticks || numbytes == 0 {
            return None;
        }
        let offset = duration.mul_f64(tick as f64 / ticks as f64);
        tokio::time::sleep_until(start + offset).await;
        let chunk = first_byte(tick + 1) - first_byte(tick);
        Some((Ok(Bytes::from(vec![b'*'; chunk])), tick + 1))
    })
}

/// Decodes base64 (URL-safe or standard, padding optional) to text, as httpbin.
#[utoipa::path(get, path = "/base64/{value}", tag = TAG,
    params(("value" = String, Path, pattern = "^(([A-Za-z0-9_-]{4})*([A-Za-z0-9_-][AQgw](==)?|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]=?)?|([A-Za-z0-9+/]{4})*([A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?)$",
        description = "Base64 to decode: URL-safe (padding optional) or standard (padded), unused bits zero")),
    responses(
        (status = 200, description = "The decoded bytes", content_type = "text/plain"),
        (status = 400, description = "Not base64", content_type = "text/plain"),
    ))]
pub async fn base64_decode_legacy(Path(value): Path<String>) -> Result<Response, ApiError> {
    base64_decode(Path(value)).await
}

/// Decodes base64 (URL-safe or standard, padding optional).
#[utoipa::path(get, path = "/base64/decode/{value}", tag = TAG,
    params(("value" = String, Path, pattern = "^(([A-Za-z0-9_-]{4})*([A-Za-z0-9_-][AQgw](==)?|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]=?)?|([A-Za-z0-9+/]{4})*([A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?)$",
        description = "Base64 to decode: URL-safe (padding optional) or standard (padded), unused bits zero")),
    responses(
        (status = 200, description = "The decoded bytes", content_type = "text/plain"),
        (status = 400, description = "Not base64", content_type = "text/plain"),
    ))]
pub async fn base64_decode(Path(value): Path<String>) -> Result<Response, ApiError> {
    let decoded = [URL_SAFE_NO_PAD, URL_SAFE, STANDARD]
        .iter()
        .find_map(|engine| engine.decode(value.as_bytes()).ok())
        .ok_or_else(|| ApiError::BadRequest(format!("`{value}` is not valid base64")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        decoded,
    )
        .into_response())
}

/// Encodes the value as URL-safe base64.
#[utoipa::path(get, path = "/base64/encode/{value}", tag = TAG,
    params(("value" = String, Path, description = "Text to encode")),
    responses((status = 200, description = "URL-safe base64", content_type = "text/plain")))]
pub async fn base64_encode(Path(value): Path<String>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        URL_SAFE.encode(value.as_bytes()),
    )
        .into_response()
}

/// A fresh random (version 4) UUID.
#[utoipa::path(get, path = "/uuid", tag = TAG,
    responses((status = 200, description = "`{\"uuid\": \"...\"}`")))]
pub async fn uuid() -> Response {
    json_response(
        StatusCode::OK,
        json!({ "uuid": uuid::Uuid::new_v4().to_string() }),
    )
}

/// `304` when the request is conditional (`If-Modified-Since` or
/// `If-None-Match`), else the `/get` shape with `Last-Modified` and `ETag`.
#[utoipa::path(get, path = "/cache", tag = TAG,
    responses((status = 200, description = "The `/get` shape"), (status = 304, description = "Conditional request")))]
pub async fn cache(request: Inspected) -> Response {
    let conditional = request.headers.contains_key(header::IF_MODIFIED_SINCE)
        || request.headers.contains_key(header::IF_NONE_MATCH);
    if conditional {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = json_response(StatusCode::OK, Value::Object(request.basic()));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::try_from(httpdate::fmt_http_date(SystemTime::now())) {
        headers.insert(header::LAST_MODIFIED, value);
    }
    if let Ok(value) = HeaderValue::try_from(format!("\"{}\"", uuid::Uuid::new_v4().simple())) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// The `/get` shape with `Cache-Control: public, max-age={seconds}`.
#[utoipa::path(get, path = "/cache/{seconds}", tag = TAG,
    params(("seconds" = u64, Path, minimum = 0, maximum = 4294967295_u64, description = "max-age")),
    responses(
        (status = 200, description = "The `/get` shape"),
        (status = 400, description = "`seconds` is not a whole number from 0 to 4294967295", content_type = "text/plain"),
    ))]
pub async fn cache_for(
    Path(seconds): Path<String>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let seconds = parse_count(&seconds, u64::from(u32::MAX), "seconds")?;
    let mut response = json_response(StatusCode::OK, Value::Object(request.basic()));
    if let Ok(value) = HeaderValue::try_from(format!("public, max-age={seconds}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    Ok(response)
}

/// Answers as a resource whose entity tag is `{etag}`: `If-None-Match`
/// naming it gives `304`, `If-Match` not naming it gives `412`.
#[utoipa::path(get, path = "/etag/{etag}", tag = TAG,
    params(("etag" = String, Path, pattern = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F]*$",
        description = "The resource's entity tag (unquoted); no control characters but tab")),
    responses(
        (status = 200, description = "The `/get` shape, with `ETag`"),
        (status = 304, description = "`If-None-Match` matched"),
        (status = 400, description = "The entity tag is not a valid header value", content_type = "text/plain"),
        (status = 412, description = "`If-Match` did not match"),
    ))]
pub async fn etag(Path(etag): Path<String>, request: Inspected) -> Result<Response, ApiError> {
    let quoted = HeaderValue::try_from(format!("\"{etag}\""))
        .map_err(|_| ApiError::BadRequest("the entity tag is not a valid header value".into()))?;
    // Both headers compared weakly, as httpbin (werkzeug) does.
    let names_it = |name: header::HeaderName| -> Option<bool> {
        Condition::of(&request.headers, name).map(|condition| condition.matches_weakly(&etag))
    };
    if names_it(header::IF_NONE_MATCH) == Some(true) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().insert(header::ETAG, quoted);
        return Ok(response);
    }
    if names_it(header::IF_MATCH) == Some(false) {
        return Ok(status_answer(StatusCode::PRECONDITION_FAILED, ""));
    }
    let mut response = json_response(StatusCode::OK, Value::Object(request.basic()));
    response.headers_mut().insert(header::ETAG, quoted);
    Ok(response)
}

/// Sets every query parameter as a response header, and lists them in the body.
#[utoipa::path(method(get, post), path = "/response-headers", tag = TAG,
    params(("params" = inline(Option<super::schemas::HeaderPairs>), Query, nullable = false, style = Form, explode,
        description = "`Name=value` pairs to set as headers; not a hop-by-hop or framing header")),
    responses(
        (status = 200, description = "The headers set, as JSON"),
        (status = 400, description = "A name or value that is not a valid header, or a hop-by-hop or framing header (`Content-Length`, `Transfer-Encoding`, `Connection`, ...)", content_type = "text/plain"),
    ))]
pub async fn response_headers(request: Inspected) -> Result<Response, ApiError> {
    let pairs = query_pairs(request.uri.query().unwrap_or_default());
    let headers = pairs
        .iter()
        .map(|(name, value)| parse_header(name, value))
        .collect::<Result<Vec<_>, _>>()?;
    // httpbin's body lists the response's headers as sent: its own
    // `Content-Type` and `Content-Length` beside the asked ones, the length
    // being the body's own, so it is found by writing the body until the
    // length it states is the length it has.
    let mut listed: Vec<(String, String)> =
        vec![("Content-Type".into(), "application/json".into())];
    listed.extend(pairs.iter().cloned());
    let mut length = 0usize;
    let text = loop {
        let mut all = vec![("Content-Length".to_owned(), length.to_string())];
        all.extend(listed.iter().cloned());
        let text = Value::Object(super::inspect::multi_map(all)).to_string() + "\n";
        if text.len() == length {
            break text;
        }
        length = text.len();
    };
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text,
    )
        .into_response();
    for (name, value) in headers {
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

/// Which compression a route applies.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    Gzip,
    Deflate,
    Brotli,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Brotli => "br",
        }
    }

    /// The flag httpbin puts in the body: `gzipped`, `deflated`, `brotli`.
    fn flag(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzipped",
            Encoding::Deflate => "deflated",
            Encoding::Brotli => "brotli",
        }
    }

    fn compress(self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        use flate2::Compression;
        match self {
            Encoding::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
                encoder.write_all(data)?;
                encoder.finish()
            }
            // HTTP's `deflate` is the zlib format (RFC 9110 §8.4.1.2).
            Encoding::Deflate => {
                let mut encoder =
                    flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
                encoder.write_all(data)?;
                encoder.finish()
            }
            Encoding::Brotli => {
                let mut out = Vec::new();
                let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                encoder.write_all(data)?;
                encoder.flush()?;
                drop(encoder);
                Ok(out)
            }
        }
    }
}

async fn compressed(request: Inspected, encoding: Encoding) -> Result<Response, ApiError> {
    // httpbin's members: no `args` or `url` here.
    let mut body = serde_json::Map::new();
    body.insert("headers".into(), Value::Object(request.headers_json()));
    body.insert("origin".into(), json!(request.origin()));
    body.insert("method".into(), json!(request.method.to_string()));
    body.insert(encoding.flag().into(), json!(true));
    let data = encoding
        .compress(Value::Object(body).to_string().as_bytes())
        .map_err(|e| ApiError::Internal(format!("compressing the response: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CONTENT_ENCODING,
                HeaderValue::from_static(encoding.name()),
            ),
        ],
        data,
    )
        .into_response())
}

/// The `/get` shape, gzip-encoded.
#[utoipa::path(get, path = "/gzip", tag = TAG,
    responses((status = 200, description = "JSON with `\"gzipped\": true`, `Content-Encoding: gzip`")))]
pub async fn gzip(request: Inspected) -> Result<Response, ApiError> {
    compressed(request, Encoding::Gzip).await
}

/// The `/get` shape, deflate-encoded.
#[utoipa::path(get, path = "/deflate", tag = TAG,
    responses((status = 200, description = "JSON with `\"deflated\": true`, `Content-Encoding: deflate`")))]
pub async fn deflate(request: Inspected) -> Result<Response, ApiError> {
    compressed(request, Encoding::Deflate).await
}

/// The `/get` shape, brotli-encoded.
#[utoipa::path(get, path = "/brotli", tag = TAG,
    responses((status = 200, description = "JSON with `\"brotli\": true`, `Content-Encoding: br`")))]
pub async fn brotli(request: Inspected) -> Result<Response, ApiError> {
    compressed(request, Encoding::Brotli).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_codes_parse_with_a_default_weight_of_one() {
        let choices = parse_weighted_codes("200,500:3,418:0.25").unwrap();
        assert_eq!(
            choices,
            vec![
                (StatusCode::OK, 1.0),
                (StatusCode::INTERNAL_SERVER_ERROR, 3.0),
                (StatusCode::IM_A_TEAPOT, 0.25)
            ]
        );
    }

    #[test]
    fn picks_follow_the_weights_and_never_a_zero_one() {
        let choices = parse_weighted_codes("200:0.9,500:0.1,418:0").unwrap();
        assert_eq!(pick_weighted(&choices, 0.0), StatusCode::OK);
        assert_eq!(pick_weighted(&choices, 0.89), StatusCode::OK);
        assert_eq!(
            pick_weighted(&choices, 0.95),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            pick_weighted(&choices, 0.999_999),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    /// 100,000 bytes over 50 ms: every byte, at most one chunk a millisecond,
    /// done when the delay and the duration are over (on a paused clock).
    #[tokio::test(start_paused = true)]
    async fn a_drip_keeps_to_its_duration_however_many_bytes() {
        use futures_util::StreamExt;
        let started = tokio::time::Instant::now();
        let chunks: Vec<Bytes> =
            drip_stream(100_000, Duration::from_millis(5), Duration::from_millis(50))
                .map(|chunk| chunk.unwrap_or_default())
                .collect()
                .await;
        assert_eq!(chunks.iter().map(Bytes::len).sum::<usize>(), 100_000);
        assert!(chunks.len() <= 50, "{} chunks", chunks.len());
        assert!(
            started.elapsed() <= Duration::from_millis(55),
            "{:?}",
            started.elapsed()
        );
        // Few bytes: one each, spread out; none: nothing.
        let few: Vec<_> = drip_stream(3, Duration::ZERO, Duration::from_secs(3))
            .collect()
            .await;
        assert_eq!(few.len(), 3);
        assert_eq!(
            drip_stream(0, Duration::ZERO, Duration::from_secs(1))
                .count()
                .await,
            0
        );
    }

    #[test]
    fn bad_codes_and_weights_are_refused() {
        assert!(parse_weighted_codes("").is_err());
        assert!(parse_weighted_codes("200:0").is_err());
        assert!(parse_weighted_codes("200:x").is_err());
        assert!(parse_weighted_codes("200:1e3").is_err());
        assert!(parse_weighted_codes("200:1000001").is_err());
        assert!(parse_weighted_codes("200:.5").is_err());
        assert!(parse_weighted_codes("700").is_err());
    }

    #[test]
    fn counts_over_the_maximum_are_refused() {
        assert_eq!(parse_count("10", 10, "n").unwrap(), 10);
        assert!(parse_count("11", 10, "n").is_err());
        assert!(parse_count("-1", 10, "n").is_err());
    }

    #[test]
    fn each_encoding_round_trips() {
        use std::io::Read as _;
        let data = b"hello hello hello";
        let mut out = String::new();
        flate2::read::GzDecoder::new(&Encoding::Gzip.compress(data).unwrap()[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out.as_bytes(), data);
        out.clear();
        flate2::read::ZlibDecoder::new(&Encoding::Deflate.compress(data).unwrap()[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out.as_bytes(), data);
        out.clear();
        brotli::Decompressor::new(&Encoding::Brotli.compress(data).unwrap()[..], 4096)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out.as_bytes(), data);
    }
}
