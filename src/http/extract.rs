//! Extractors whose rejections are [`ApiError`]s, so that a malformed body, a
//! wrong content type or a body over the limit answer in problem+json like
//! every other error. Handlers use these instead of axum's own.

use axum::BoxError;
use axum::body::{Bytes, HttpBody};
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use super::connection::Connection;
use super::error::ApiError;

/// `body_limit` unless configured.
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// `axum::Json`, with problem+json rejections and the configured body limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "expected a body with `Content-Type: application/json`".into(),
            ));
        }
        let limit = body_limit_of(&req);
        let Body(bytes) = Body::from_request(req, state).await?;
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection, limit)),
        }
    }
}

/// `application/json`, or a `+json` type such as `application/problem+json`.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = media_type(content_type);
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// A `Content-Type` value without its parameters, in lower case:
/// `Application/JSON; charset=utf-8` is `application/json`.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// The raw request body, up to the `body_limit` setting (over it: a
/// problem+json 413).
///
/// The limit is applied here rather than by axum's `DefaultBodyLimit` layer:
/// that layer is one more request extension (an allocation) per request, and
/// axum's extractor boxes the body once more to limit it. Every handler reads
/// its body through this extractor or [`Json`], or streams it itself.
#[derive(Debug, Clone)]
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let limit = body_limit_of(&req);
        collect_body(req.into_body(), limit).await.map(Body)
    }
}

/// What the [`Body`] extractor does, for any body: a direct route (see
/// [`super::direct`]) gets hyper's body, not axum's.
pub async fn collect_body<B>(body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(ApiError::PayloadTooLarge { limit }),
        Err(error) => Err(ApiError::BadRequest(format!(
            "could not read the request body: {error}"
        ))),
    }
}

/// The configured body limit (the connection layer carries it).
pub fn body_limit_of<B>(req: &axum::http::Request<B>) -> usize {
    req.extensions()
        .get::<Connection>()
        // Outside the connection layer (which always sets it): the default.
        .map_or(DEFAULT_BODY_LIMIT, Connection::body_limit)
}

pub fn json_rejection(rejection: JsonRejection, limit: usize) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::BadRequest(format!(
            "the JSON does not have the expected shape: {}",
            e.body_text()
        )),
        JsonRejection::JsonSyntaxError(e) => ApiError::MalformedJson(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
            "expected a body with `Content-Type: application/json`".into(),
        ),
        JsonRejection::BytesRejection(e) => bytes_rejection(e, limit),
        other => ApiError::BadRequest(other.body_text()),
    }
}

pub fn bytes_rejection(rejection: BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge { limit }
    } else {
        ApiError::BadRequest(format!(
            "could not read the request body: {}",
            rejection.body_text()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_content_type(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
        headers
    }

    #[test]
    fn json_content_types_are_json_and_others_are_not() {
        for json in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
            "application/merge-patch+json",
        ] {
            assert!(is_json(&with_content_type(json)), "{json}");
        }
        for other in ["text/plain", "application/jsonx", "text/json+x", "json"] {
            assert!(!is_json(&with_content_type(other)), "{other}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }
}
