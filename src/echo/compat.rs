//! The original echo server: `GET`/`POST /` behind the `server_key` header.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::key::ServerKey;
use crate::http::extract::Body;

pub const MISSING_KEY: &str = "Please add server_key to access";
pub const WRONG_KEY: &str = "Incorrect server key";
pub const GREETING: &str = "Hello! I will echo whatever you send me!";

/// The original header, and the spelling that survives proxies which drop
/// header names with underscores (nginx, gunicorn, Werkzeug do by default).
const KEY_HEADERS: [HeaderName; 2] = [
    HeaderName::from_static("server_key"),
    HeaderName::from_static("server-key"),
];

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// `GET /` greets; `POST /` answers the request body byte for byte (with the
/// request's content type). Both need the `server_key` header.
#[utoipa::path(method(get, post), path = "/", tag = "echo (compatible)",
    params(("server_key" = String, Header, description = "The shared secret (`server-key` works too)")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "POST only: any bytes, echoed back unchanged"),
    responses(
        (status = 200, description = "GET: the greeting; POST: the body, unchanged", body = String),
        (status = 403, description = "`Please add server_key to access` or `Incorrect server key`", body = String, content_type = "text/plain"),
        (status = 413, description = "Body over the configured limit", body = String, content_type = "text/plain"),
    ))]
pub async fn echo(State(key): State<ServerKey>, request: Request) -> Response {
    // The headers are read in place: no copy of the header map per request.
    let Some(presented) = KEY_HEADERS
        .iter()
        .find_map(|name| request.headers().get(name))
    else {
        return text(StatusCode::FORBIDDEN, MISSING_KEY.into());
    };
    if !key.matches(presented.as_bytes()) {
        return text(StatusCode::FORBIDDEN, WRONG_KEY.into());
    }
    if request.method() != Method::POST {
        return text(StatusCode::OK, GREETING.into());
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    match Body::from_request(request, &()).await {
        Ok(Body(bytes)) => {
            let mut response = Response::new(axum::body::Body::from(bytes));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
            response
        }
        Err(error) => text(error.status(), error.to_string()),
    }
}
