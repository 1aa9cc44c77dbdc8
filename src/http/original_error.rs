//! Errors of the compatible routes, in the shapes the original services
//! answered them: existing clients parse these bodies, so each module names
//! its original's shape once and every error of its compatible routes takes it.

use std::marker::PhantomData;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::ApiError;

/// The shapes of the originals' error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A bare JSON string: `"Failed to create person: ..."`.
    JsonString,
    /// An object with one member holding the message: `{"err_msg": "..."}`.
    Member(&'static str),
    /// `{"status": 40001, "message": "..."}`: the HTTP status followed by `01`.
    StatusAndMessage,
}

/// One original service's error shape.
pub trait OriginalShape {
    const SHAPE: Shape;

    /// The message of an error that arose outside the route's own code (a
    /// body over the limit, a timeout), as the original would have put it.
    fn message_of(error: &ApiError) -> String {
        error.to_string()
    }
}

/// An error answered in the shape of `S`'s original service.
pub struct OriginalError<S> {
    status: StatusCode,
    message: String,
    shape: PhantomData<S>,
}

impl<S: OriginalShape> OriginalError<S> {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        OriginalError {
            status,
            message: message.into(),
            shape: PhantomData,
        }
    }

    /// A failure on our side while `doing` something: logged with the error,
    /// answered as the original did, a 500 with its own `message` (the
    /// error's text stays in the log).
    pub fn internal(
        doing: &str,
        error: impl std::fmt::Display,
        message: impl Into<String>,
    ) -> Self {
        tracing::error!(%error, "{doing} failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<S> std::fmt::Debug for OriginalError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OriginalError")
            .field("status", &self.status)
            .field("message", &self.message)
            .finish()
    }
}

#[derive(Serialize)]
struct StatusAndMessage {
    status: u32,
    message: String,
}

impl<S: OriginalShape> IntoResponse for OriginalError<S> {
    fn into_response(self) -> Response {
        let OriginalError {
            status, message, ..
        } = self;
        match S::SHAPE {
            Shape::JsonString => (status, axum::Json(message)).into_response(),
            Shape::Member(name) => {
                let body = serde_json::Map::from_iter([(name.to_owned(), message.into())]);
                (status, axum::Json(body)).into_response()
            }
            Shape::StatusAndMessage => {
                let body = StatusAndMessage {
                    status: u32::from(status.as_u16()) * 100 + 1,
                    message,
                };
                (status, axum::Json(body)).into_response()
            }
        }
    }
}

impl<S: OriginalShape> From<ApiError> for OriginalError<S> {
    fn from(error: ApiError) -> Self {
        OriginalError::new(error.status(), S::message_of(&error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of<S: OriginalShape>(status: StatusCode, message: &str) -> (StatusCode, String) {
        let response = OriginalError::<S>::new(status, message).into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
    }

    struct Bare;
    impl OriginalShape for Bare {
        const SHAPE: Shape = Shape::JsonString;
    }
    struct ErrMsg;
    impl OriginalShape for ErrMsg {
        const SHAPE: Shape = Shape::Member("err_msg");
    }
    struct Coded;
    impl OriginalShape for Coded {
        const SHAPE: Shape = Shape::StatusAndMessage;
    }

    #[tokio::test]
    async fn each_shape_writes_the_original_s_bytes() {
        assert_eq!(
            body_of::<Bare>(StatusCode::NOT_FOUND, "no \"such\" person").await,
            (StatusCode::NOT_FOUND, r#""no \"such\" person""#.to_owned())
        );
        assert_eq!(
            body_of::<ErrMsg>(StatusCode::BAD_REQUEST, "Message not found").await,
            (
                StatusCode::BAD_REQUEST,
                r#"{"err_msg":"Message not found"}"#.to_owned()
            )
        );
        assert_eq!(
            body_of::<Coded>(StatusCode::BAD_REQUEST, "Bad Request").await,
            (
                StatusCode::BAD_REQUEST,
                r#"{"status":40001,"message":"Bad Request"}"#.to_owned()
            )
        );
        assert_eq!(
            body_of::<Coded>(StatusCode::INTERNAL_SERVER_ERROR, "down")
                .await
                .1,
            r#"{"status":50001,"message":"down"}"#
        );
    }

    #[test]
    fn an_api_error_keeps_its_status_and_takes_the_shape_s_message() {
        struct Prefixed;
        impl OriginalShape for Prefixed {
            const SHAPE: Shape = Shape::JsonString;
            fn message_of(error: &ApiError) -> String {
                format!("Failed: {error}")
            }
        }
        let error = OriginalError::<Prefixed>::from(ApiError::PayloadTooLarge { limit: 10 });
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            error.message(),
            "Failed: the request body is larger than the limit of 10 bytes"
        );
    }

    #[test]
    fn an_internal_failure_answers_the_original_message_not_the_error_s_text() {
        let error = OriginalError::<Bare>::internal(
            "reading a row",
            "disk I/O error at /var/lib/secret.db",
            "Failed to read",
        );
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.message(), "Failed to read");
    }
}
