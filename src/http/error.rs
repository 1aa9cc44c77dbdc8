//! The native API's error: every failure becomes `application/problem+json`
//! (RFC 9457) with a stable `type`, a `title`, the `status`, a `detail`, and
//! field errors for validation, plus the headers some kinds carry (`ETag` on
//! 412, `Content-Range` on 416, `WWW-Authenticate` on 401) and extension
//! members. Every problem document the server sends is built here.
//! Compatible routes answer in their original's shape instead
//! ([`super::original_error`]).

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field, as a JSON pointer-ish dotted path (`age`, `items.3.name`).
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request failed validation")]
    Validation(Vec<FieldError>),
    /// 400 naming each bad query parameter.
    #[error("the query string has invalid parameters")]
    BadQuery(Vec<FieldError>),
    /// 400 naming each parameter (path, query, header, cookie) that does not
    /// conform to an API description.
    #[error("the request's parameters do not conform to the API description")]
    BadParameters(Vec<FieldError>),
    /// 401: no credentials where they are needed. `challenge`, when given,
    /// is sent as `WWW-Authenticate`.
    #[error("{detail}")]
    Unauthorized {
        detail: String,
        challenge: Option<&'static str>,
    },
    /// The request is understood but refused (an allow list, a scope).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method {method} is not allowed on this route")]
    MethodNotAllowed { method: String },
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 412: a precondition (`If-Match`) did not hold; the current entity
    /// tag is sent as `ETag` so the client can read again and retry.
    #[error("{detail}")]
    PreconditionFailed {
        detail: String,
        current_etag: String,
    },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 406: no representation the client accepts.
    #[error("{0}")]
    NotAcceptable(String),
    /// 416: no byte of the range exists in content of `size` bytes; sent
    /// with `Content-Range: bytes */size` as RFC 9110 asks.
    #[error("the range starts past the end of the content ({size} bytes)")]
    RangeNotSatisfiable { size: u64 },
    /// 429 (`Retry-After` and the `RateLimit-*` fields are the caller's).
    #[error("{0}")]
    TooManyRequests(String),
    #[error("the request did not complete within {}ms", .0.as_millis())]
    Timeout(Duration),
    #[error("{0}")]
    Unavailable(String),
    /// 502: a server this one forwarded to did not answer (a proxy stub's target).
    #[error("{0}")]
    BadGateway(String),
    /// 504: a server this one forwarded to did not answer in time.
    #[error("{0}")]
    GatewayTimeout(String),
    /// 503 with `Retry-After`: the database did not answer (down, unreachable,
    /// or no pooled connection came in time). The cause is logged, never sent.
    #[error("the database is unavailable; retry shortly")]
    StorageUnavailable(String),
    /// The cause is logged, never sent: it may hold internals.
    #[error("internal error")]
    Internal(String),
    /// `error` with extra members in its problem document (RFC 9457
    /// extensions), such as the near misses of an unmatched mock request.
    #[error("{error}")]
    WithMembers {
        error: Box<ApiError>,
        members: serde_json::Map<String, serde_json::Value>,
    },
}

/// The problem document as sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, for programs.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem, for people.
    pub title: String,
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Present for validation errors: one entry per invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extension members of this kind of problem.
    #[serde(flatten)]
    #[schema(ignore)]
    pub members: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_)
            | ApiError::MalformedJson(_)
            | ApiError::BadQuery(_)
            | ApiError::BadParameters(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unavailable(_) | ApiError::StorageUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::WithMembers { error, .. } => error.status(),
        }
    }

    /// A store's failure: a 503 to retry when the database was
    /// `unavailable` (see `db::is_unavailable`), else a 500. Either way the
    /// cause is logged, never sent.
    pub fn storage(error: impl std::fmt::Display, unavailable: bool) -> ApiError {
        if unavailable {
            ApiError::StorageUnavailable(error.to_string())
        } else {
            ApiError::Internal(error.to_string())
        }
    }

    /// The stable slug behind `type` (`urn:echobase:problem:<slug>`).
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) | ApiError::BadQuery(_) | ApiError::BadParameters(_) => {
                "bad-request"
            }
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::MalformedJson(_) => "malformed-json",
            ApiError::Validation(_) => "validation",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::PreconditionFailed { .. } => "precondition-failed",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::NotAcceptable(_) => "not-acceptable",
            ApiError::RangeNotSatisfiable { .. } => "range-not-satisfiable",
            ApiError::TooManyRequests(_) => "rate-limited",
            ApiError::Timeout(_) => "timeout",
            ApiError::Unavailable(_) | ApiError::StorageUnavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
            ApiError::BadGateway(_) => "bad-gateway",
            ApiError::GatewayTimeout(_) => "gateway-timeout",
            ApiError::WithMembers { error, .. } => error.slug(),
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        Problem {
            kind: format!("urn:echobase:problem:{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            errors: match self {
                ApiError::Validation(errors)
                | ApiError::BadQuery(errors)
                | ApiError::BadParameters(errors) => errors.clone(),
                ApiError::WithMembers { error, .. } => error.to_problem().errors,
                _ => Vec::new(),
            },
            members: match self {
                ApiError::WithMembers { members, .. } => members.clone(),
                _ => serde_json::Map::new(),
            },
        }
    }

    /// The headers this kind of problem carries besides its body.
    fn add_headers(&self, headers: &mut axum::http::HeaderMap) {
        match self {
            ApiError::Unauthorized {
                challenge: Some(challenge),
                ..
            } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            ApiError::PreconditionFailed { current_etag, .. } => {
                if let Ok(etag) = HeaderValue::from_str(current_etag) {
                    headers.insert(header::ETAG, etag);
                }
            }
            ApiError::RangeNotSatisfiable { size } => {
                if let Ok(range) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, range);
                }
            }
            ApiError::StorageUnavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::WithMembers { error, .. } => error.add_headers(headers),
            _ => {}
        }
    }
}

/// The cause of a 500, carried in the response's extensions to the request
/// context, which logs it with the request id, method and route.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        self.add_headers(response.headers_mut());
        if let ApiError::Internal(cause) | ApiError::StorageUnavailable(cause) = self {
            response.extensions_mut().insert(InternalCause(cause));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(error: ApiError) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = error.into_response();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024).await.expect("body");
        let json = serde_json::from_slice(&bytes).expect("problem json");
        (parts.status, parts.headers, json)
    }

    #[tokio::test]
    async fn every_problem_is_problem_json_with_its_own_headers() {
        let (status, headers, body) = answer(ApiError::PreconditionFailed {
            detail: "changed".into(),
            current_etag: "\"7.2\"".into(),
        })
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(headers[header::ETAG], "\"7.2\"");
        assert_eq!(body["type"], "urn:echobase:problem:precondition-failed");

        let (status, headers, _) = answer(ApiError::RangeNotSatisfiable { size: 10 }).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(headers[header::CONTENT_RANGE], "bytes */10");

        let (status, headers, _) = answer(ApiError::Unauthorized {
            detail: "no key".into(),
            challenge: Some("Bearer realm=\"echobase\""),
        })
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"echobase\""
        );

        let (status, _, body) = answer(ApiError::BadQuery(vec![FieldError::new(
            "sort",
            "unknown field",
        )]))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["errors"][0]["field"], "sort");
    }

    #[tokio::test]
    async fn extra_members_join_the_problem_of_the_error_they_wrap() {
        let members = serde_json::Map::from_iter([(
            "nearMisses".to_owned(),
            serde_json::json!([{"id": "a"}]),
        )]);
        let (status, _, body) = answer(ApiError::WithMembers {
            error: Box::new(ApiError::NotFound("no mock".into())),
            members,
        })
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["type"], "urn:echobase:problem:not-found");
        assert_eq!(body["detail"], "no mock");
        assert_eq!(body["nearMisses"][0]["id"], "a");
    }
}
