//! Extractors whose rejections are [`ApiError`]s, so that a malformed body, a
//! wrong content type or a body over the limit answer in problem+json like
//! every other error. Handlers use these instead of axum's own.

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use super::error::ApiError;
use super::serve::Connection;

/// `axum::Json`, with problem+json rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = body_limit_of(&req);
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection, limit)),
        }
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// The raw request body, with a problem+json 413 when it is over the limit.
#[derive(Debug, Clone)]
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = body_limit_of(&req);
        axum::body::Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|rejection| bytes_rejection(rejection, limit))
    }
}

/// The configured body limit, so that a 413 can say what it is.
fn body_limit_of(req: &Request) -> usize {
    req.extensions()
        .get::<Connection>()
        .map(Connection::body_limit)
        .unwrap_or_default()
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
