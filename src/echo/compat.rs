//! The original echo server: `GET`/`POST /` behind the `server_key` header.

use axum::BoxError;
use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::key::ServerKey;
use crate::http::direct::DirectRoute;
use crate::http::extract::{body_limit_of, collect_body};
use crate::http::openapi_document::AnyBytes;

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

/// `GET /` greets. Needs the `server_key` header.
#[utoipa::path(get, path = "/", tag = "echo (compatible)",
    params(("server_key" = String, Header, description = "The shared secret (`server-key` works too)")),
    responses(
        (status = 200, description = "`Hello! I will echo whatever you send me!`", body = String, content_type = "text/plain"),
        (status = 403, description = "`Please add server_key to access` or `Incorrect server key`", body = String, content_type = "text/plain"),
    ))]
pub async fn greet(State(key): State<ServerKey>, request: Request) -> Response {
    let body_limit = body_limit_of(&request);
    answer(key, request, body_limit).await
}

/// `POST /` answers the request body byte for byte, with the request's
/// content type. Needs the `server_key` header.
#[utoipa::path(post, path = "/", tag = "echo (compatible)",
    params(("server_key" = String, Header, description = "The shared secret (`server-key` works too)")),
    request_body(content = Option<AnyBytes>, content_type = "application/octet-stream",
        description = "Any bytes (or none), echoed back unchanged, in any content type"),
    responses(
        (status = 200, description = "The body, unchanged, in the request's content type", body = AnyBytes, content_type = "*/*"),
        (status = 403, description = "`Please add server_key to access` or `Incorrect server key`", body = String, content_type = "text/plain"),
        (status = 413, description = "Body over the configured limit", body = String, content_type = "text/plain"),
    ))]
pub async fn echo(State(key): State<ServerKey>, request: Request) -> Response {
    let body_limit = body_limit_of(&request);
    answer(key, request, body_limit).await
}

/// The same route as a direct route (see [`crate::http::direct`]): the
/// hottest route of the server, answered without the router when nothing
/// is layered on the module.
pub fn direct_route(key: ServerKey) -> DirectRoute {
    DirectRoute::new(
        "/",
        &[Method::GET, Method::POST],
        move |request, connection| answer(key, request, connection.body_limit()),
    )
}

/// [`echo`], for any request body: axum's from the router, hyper's from the
/// direct route.
async fn answer<B>(key: ServerKey, request: axum::http::Request<B>, body_limit: usize) -> Response
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
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
    match collect_body(request.into_body(), body_limit).await {
        Ok(bytes) => {
            let mut response = Response::new(axum::body::Body::from(bytes));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
            response
        }
        Err(error) => text(error.status(), error.to_string()),
    }
}
