//! The httpbin routes that generate data: `/stream-bytes/{n}` (random bytes
//! in chunks), `/range/{numbytes}` (a fixed resource that honours `Range`)
//! and `/links/{n}/{offset}` (pages of links to one another).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::{Rng as _, SeedableRng as _};

use super::EchoConfig;
use super::formats::HTML;
use super::httpbin::{TAG, parse_seconds};
use super::inspect::Inspected;
use super::redirects::redirect_page;
use super::responses::{parse_count, query_value};
use crate::http::ApiError;

/// The largest body `/stream-bytes` and `/range` produce, as in httpbin.
pub const MAX_GENERATED_BYTES: u64 = 100 * 1024;
/// The chunk size when `chunk_size` is not given, as in httpbin.
const DEFAULT_CHUNK: usize = 10 * 1024;
/// The type of httpbin's short text answers (Werkzeug's default).
const PLAIN: &str = "text/plain; charset=utf-8";
/// Most links a `/links` page holds, as in httpbin.
const MAX_LINKS: u64 = 200;

/// A query parameter, looked up without regard to case as httpbin does.
fn query_param(request: &Inspected, key: &str) -> Option<String> {
    query_value(request, key).or_else(|| {
        super::inspect::query_pairs(request.uri.query().unwrap_or_default())
            .into_iter()
            .find_map(|(k, v)| k.eq_ignore_ascii_case(key).then_some(v))
    })
}

/// `chunk_size`: a whole number; below 1 counts as 1, as in httpbin.
fn chunk_size(request: &Inspected) -> Result<usize, ApiError> {
    match query_param(request, "chunk_size") {
        None => Ok(DEFAULT_CHUNK),
        Some(text) => text
            .trim()
            .parse::<i64>()
            .map(|size| usize::try_from(size.max(1)).unwrap_or(usize::MAX))
            .map_err(|_| {
                ApiError::BadRequest(format!("chunk_size `{text}` is not a whole number"))
            }),
    }
}

/// `n` random bytes in chunks of `chunk_size`, the same bytes for the same `seed`.
#[utoipa::path(get, path = "/stream-bytes/{n}", tag = TAG,
    params(("n" = u64, Path, minimum = 0, maximum = 18446744073709551615_u64,
            description = "How many bytes; a larger number is cut to 102400, as in httpbin"),
           ("seed" = Option<i64>, Query, description = "Makes the bytes repeatable (not httpbin's bytes: another generator)"),
           ("chunk_size" = Option<i64>, Query, description = "Bytes per chunk sent (default 10240; below 1 counts as 1)")),
    responses(
        (status = 200, description = "Random bytes, streamed", content_type = "application/octet-stream"),
        (status = 400, description = "`n`, `seed` or `chunk_size` is not a whole number", content_type = "text/plain"),
    ))]
pub async fn stream_bytes(Path(n): Path<String>, request: Inspected) -> Result<Response, ApiError> {
    let n = parse_count(&n, u64::MAX, "n")?.min(MAX_GENERATED_BYTES);
    let n = usize::try_from(n).unwrap_or(0);
    let chunk = chunk_size(&request)?;
    let seed = query_param(&request, "seed")
        .map(|text| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("seed `{text}` is not a whole number")))
        })
        .transpose()?;
    let mut rng = match seed {
        // The seed's bits, negative ones included.
        Some(seed) => rand::rngs::SmallRng::seed_from_u64(u64::from_ne_bytes(seed.to_ne_bytes())),
        None => rand::rngs::SmallRng::from_rng(&mut rand::rng()),
    };
    let mut data = vec![0u8; n];
    rng.fill_bytes(&mut data);
    let data = Bytes::from(data);
    let chunks = (0..n).step_by(chunk).map(move |start| {
        Ok::<_, std::convert::Infallible>(data.slice(start..(start + chunk).min(n)))
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response())
}

/// What a `Range` header asks of a resource of `size` bytes, read as httpbin
/// reads it: `bytes=first-last`, `bytes=first-` or `bytes=-suffix`; anything
/// else (another unit, several ranges' tail) falls back to what parses, and
/// nothing parseable means the whole resource. `(first, last)`, inclusive,
/// possibly out of bounds (the caller answers `416` then).
pub fn requested_range(header: Option<&str>, size: u64) -> (i128, i128) {
    let size = i128::from(size);
    let whole = (0, size - 1);
    let Some(text) = header.map(str::trim) else {
        return whole;
    };
    if !text.starts_with("bytes") {
        return whole;
    }
    let sides: Vec<&str> = text.split('=').collect();
    let [_, spec] = sides.as_slice() else {
        return whole;
    };
    let mut ends = spec.split('-');
    let number = |part: Option<&str>| part.and_then(|text| text.trim().parse::<i128>().ok());
    let first = number(ends.next());
    let last = number(ends.next());
    match (first, last) {
        (None, None) => whole,
        (None, Some(suffix)) => ((size - suffix).max(0), size - 1),
        (Some(first), None) => (first, size - 1),
        (Some(first), Some(last)) => (first, last),
    }
}

/// The byte at `position` of every `/range` resource: the alphabet, repeated.
fn range_byte(position: u64) -> u8 {
    b'a' + u8::try_from(position % 26).unwrap_or(0)
}

/// A resource of `numbytes` bytes (`abc...zabc...`) that honours `Range`:
/// `206` with `Content-Range` for a part, `200` for the whole, `416` for a
/// range outside it. Each answer carries `ETag: range{numbytes}` and
/// `Accept-Ranges: bytes`, as httpbin's do.
#[utoipa::path(get, path = "/range/{numbytes}", tag = TAG,
    params(("numbytes" = u64, Path, minimum = 1, maximum = 102400, description = "The resource's size, 1 to 102400"),
           ("Range" = Option<String>, Header, description = "`bytes=first-last`, `bytes=first-` or `bytes=-suffix`"),
           ("chunk_size" = Option<i64>, Query, description = "Bytes per chunk sent (default 10240)"),
           ("duration" = inline(Option<super::schemas::Wait>), Query, nullable = false, description = "Seconds over which to send the bytes (default 0), or a Go duration (`1.5s`); cut to `echo.max_delay`")),
    responses(
        (status = 200, description = "The whole resource", content_type = "application/octet-stream"),
        (status = 206, description = "The range asked for, with `Content-Range`", content_type = "application/octet-stream"),
        (status = 400, description = "`numbytes`, `chunk_size` or `duration` does not parse", content_type = "text/plain"),
        (status = 404, description = "`numbytes` is outside 1 to 102400 (text, as httpbin)", content_type = "text/plain"),
        (status = 416, description = "The range is outside the resource; `Content-Range: bytes */numbytes`"),
    ))]
pub async fn range(
    State(config): State<Arc<EchoConfig>>,
    Path(numbytes): Path<String>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let size = parse_count(&numbytes, u64::MAX, "numbytes")?;
    let mut headers = HeaderMap::new();
    // Quoted, as RFC 9110 writes an entity tag (httpbin sends it bare).
    if let Ok(etag) = HeaderValue::try_from(format!("\"range{size}\"")) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if size == 0 || size > MAX_GENERATED_BYTES {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PLAIN));
        let text = "number of bytes must be in the range (0, 102400]";
        return Ok((StatusCode::NOT_FOUND, headers, text).into_response());
    }
    let chunk = chunk_size(&request)?;
    let duration = match query_param(&request, "duration") {
        None => Duration::ZERO,
        Some(text) => parse_seconds(&text)?.min(config.max_delay),
    };
    let (first, last) = requested_range(request.header_str(header::RANGE), size);
    let in_bounds = |position: i128| (0..i128::from(size)).contains(&position);
    let (Ok(first), Ok(last)) = (u64::try_from(first), u64::try_from(last)) else {
        return Ok(unsatisfiable(headers, size));
    };
    if first > last || !in_bounds(first.into()) || !in_bounds(last.into()) {
        return Ok(unsatisfiable(headers, size));
    }
    if let Ok(value) = HeaderValue::try_from(format!("bytes {first}-{last}/{size}")) {
        headers.insert(header::CONTENT_RANGE, value);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let status = if first == 0 && last == size - 1 {
        StatusCode::OK
    } else {
        StatusCode::PARTIAL_CONTENT
    };
    let data: Vec<u8> = (first..=last).map(range_byte).collect();
    let length = data.len();
    if duration.is_zero() {
        return Ok((status, headers, data).into_response());
    }
    // Spread over `duration`: each chunk waits its share, as httpbin's does.
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let pause_per_byte = duration.div_f64(size as f64);
    let data = Bytes::from(data);
    let chunks = futures_util::stream::unfold(0usize, move |start| {
        let data = data.clone();
        async move {
            if start >= length {
                return None;
            }
            let end = (start + chunk).min(length);
            tokio::time::sleep(pause_per_byte.mul_f64((end - start) as f64)).await;
            Some((
                Ok::<_, std::convert::Infallible>(data.slice(start..end)),
                end,
            ))
        }
    });
    Ok((status, headers, Body::from_stream(chunks)).into_response())
}

fn unsatisfiable(mut headers: HeaderMap, size: u64) -> Response {
    if let Ok(value) = HeaderValue::try_from(format!("bytes */{size}")) {
        headers.insert(header::CONTENT_RANGE, value);
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PLAIN));
    (StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response()
}

/// A page of `n` links (1 to 200) to the pages `/links/{n}/{i}`, the one at
/// `offset` shown as plain text.
#[utoipa::path(get, path = "/links/{n}/{offset}", tag = TAG,
    params(("n" = u64, Path, minimum = 0, maximum = 18446744073709551615_u64, description = "Links on the page; cut to 1 to 200, as in httpbin"),
           ("offset" = u64, Path, minimum = 0, maximum = 18446744073709551615_u64, description = "The link shown as this page")),
    responses(
        (status = 200, description = "An HTML page of links", content_type = "text/html"),
        (status = 400, description = "`n` or `offset` is not a whole number", content_type = "text/plain"),
    ))]
pub async fn links(
    State(config): State<Arc<EchoConfig>>,
    Path((n, offset)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let n = parse_count(&n, u64::MAX, "n")?.clamp(1, MAX_LINKS);
    let offset = parse_count(&offset, u64::MAX, "offset")?;
    let mut page = String::from("<html><head><title>Links</title></head><body>");
    for i in 0..n {
        if i == offset {
            page.push_str(&format!("{i} "));
        } else {
            page.push_str(&format!(
                "<a href='{}/links/{n}/{i}'>{i}</a> ",
                config.prefix
            ));
        }
    }
    page.push_str("</body></html>");
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(HTML))],
        page,
    )
        .into_response())
}

/// Redirects to the first page of links, `/links/{n}/0`.
#[utoipa::path(get, path = "/links/{n}", tag = TAG,
    params(("n" = u64, Path, minimum = 0, maximum = 18446744073709551615_u64, description = "Links per page")),
    responses(
        (status = 302, description = "To `/links/{n}/0`"),
        (status = 400, description = "`n` is not a whole number", content_type = "text/plain"),
    ))]
pub async fn links_first(
    State(config): State<Arc<EchoConfig>>,
    Path(n): Path<String>,
) -> Result<Response, ApiError> {
    let n = parse_count(&n, u64::MAX, "n")?;
    redirect_page(StatusCode::FOUND, &format!("{}/links/{n}/0", config.prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_as_httpbin_reads_them() {
        assert_eq!(requested_range(None, 100), (0, 99));
        assert_eq!(requested_range(Some("bytes=0-9"), 100), (0, 9));
        assert_eq!(requested_range(Some("bytes=5-"), 100), (5, 99));
        assert_eq!(requested_range(Some("bytes=-3"), 100), (97, 99));
        assert_eq!(requested_range(Some("bytes=-300"), 100), (0, 99));
        assert_eq!(requested_range(Some("items=0-5"), 100), (0, 99));
        assert_eq!(requested_range(Some("bytes=abc"), 100), (0, 99));
        assert_eq!(requested_range(Some("bytes=10-5"), 100), (10, 5));
    }

    #[test]
    fn the_resource_is_the_alphabet_repeated() {
        let bytes: Vec<u8> = (24..28).map(range_byte).collect();
        assert_eq!(bytes, b"yzab");
    }
}
