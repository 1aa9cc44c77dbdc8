//! What every answer of the httpbin-compatible routes shares with httpbin's:
//! CORS headers (httpbin sends them on every answer), `OPTIONS` answered on
//! every route (Flask answers it for any route that has no handler of its
//! own), and errors in httpbin's shapes: Werkzeug's pages for `404` and
//! `405`, plain text for the rest, never the native API's problem+json.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::EchoConfig;
use super::formats::HTML;

/// The methods a preflight is told it may use, as httpbin tells it.
const PREFLIGHT_METHODS: &str = "GET, POST, PUT, DELETE, PATCH, OPTIONS";
/// How long a browser may cache a preflight's answer, as httpbin: an hour.
const PREFLIGHT_MAX_AGE: &str = "3600";
/// A problem's text is read back to become plain text; problems are small.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

const NOT_FOUND_PAGE: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n\
    <h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL \
    manually please check your spelling and try again.</p>\n";
const METHOD_NOT_ALLOWED_PAGE: &str = "<!doctype html>\n<html lang=en>\n\
    <title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n\
    <p>The method is not allowed for the requested URL.</p>\n";

/// The layer around every httpbin route.
pub async fn httpbin_conventions(
    State(config): State<Arc<EchoConfig>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let origin = request.headers().get(header::ORIGIN).cloned();
    let asked_headers = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned();
    let mut response = next.run(request).await;
    if method == Method::OPTIONS && response.status() == StatusCode::METHOD_NOT_ALLOWED {
        response = options_answer();
    }
    let mut response = httpbin_error_shape(response).await;
    if config.cors {
        let headers = response.headers_mut();
        // The caller's origin, or `*` without one; with credentials, as httpbin.
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            origin.unwrap_or(HeaderValue::from_static("*")),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        if method == Method::OPTIONS {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(PREFLIGHT_METHODS),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(PREFLIGHT_MAX_AGE),
            );
            if let Some(asked) = asked_headers {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
            }
        }
        // The answer depends on `Origin`: caches must keep one per origin.
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// A method the route does not answer: `405` (its page is written by
/// [`httpbin_conventions`]; axum adds `Allow`).
pub async fn method_not_allowed() -> StatusCode {
    StatusCode::METHOD_NOT_ALLOWED
}

/// `OPTIONS` on a route without an `OPTIONS` handler: `200` and an empty
/// page, as Flask answers it. The router adds `Allow` (the route's methods)
/// past this layer, as it does to the `405` this replaces.
fn options_answer() -> Response {
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    response
}

/// A problem+json answer in httpbin's shape: Werkzeug's page for `404` and
/// `405`, else the problem's text as `text/plain` (httpbin labels its texts
/// `text/html`; these may quote the request, so they are not served as HTML).
/// Other answers pass unchanged.
async fn httpbin_error_shape(response: Response) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    let status = response.status();
    let is_refused_method = status == StatusCode::METHOD_NOT_ALLOWED;
    if !is_problem && !is_refused_method {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let (content_type, text) = match status {
        StatusCode::NOT_FOUND => (HTML, NOT_FOUND_PAGE.to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (HTML, METHOD_NOT_ALLOWED_PAGE.to_owned()),
        _ => {
            let bytes = axum::body::to_bytes(body, MAX_PROBLEM_BYTES)
                .await
                .unwrap_or_default();
            let problem: serde_json::Value =
                serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
            let text = problem["detail"]
                .as_str()
                .or_else(|| problem["title"].as_str())
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error"))
                .to_owned();
            ("text/plain; charset=utf-8", text)
        }
    };
    // The old length would frame the new body wrongly.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Response::from_parts(parts, Body::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_problem_becomes_its_detail_in_plain_text() {
        let problem = crate::http::ApiError::BadRequest("`x` is not a number".into());
        let shaped = httpbin_error_shape(problem.into_response()).await;
        assert_eq!(shaped.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            shaped.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let body = axum::body::to_bytes(shaped.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], b"`x` is not a number");
    }

    #[test]
    fn options_is_an_empty_page() {
        let answer = options_answer();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers()[header::CONTENT_TYPE], HTML);
    }
}
