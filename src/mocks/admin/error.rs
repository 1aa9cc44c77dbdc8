//! Admin errors in WireMock's shape. WireMock's clients parse every admin 4xx
//! into their `Errors` model and refuse a field they do not know, so a
//! problem+json body (echobase's shape everywhere else) would surface in
//! them as a parse failure with the real message buried inside.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::{ApiError, FieldError};

/// WireMock's code for input it cannot accept (`InvalidInputException` in
/// its Java client); every other error carries its HTTP status as the code.
const INVALID_INPUT: u16 = 10;

/// `{"errors": [...]}`, as WireMock answers an admin error.
#[derive(Debug, Serialize, ToSchema)]
pub struct WireMockErrors {
    pub errors: Vec<WireMockError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WireMockError {
    pub code: u16,
    /// Where in the request body the error is, when it is about one field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorSource {
    /// A JSON pointer into the request body (`/request/bodyPatterns/0`).
    pub pointer: String,
}

/// An error of the admin API.
#[derive(Debug)]
pub enum AdminError {
    /// Answered as [`WireMockErrors`] with the status, headers (`Retry-After`,
    /// ...) and logging of the [`ApiError`].
    Api(ApiError),
    /// As `Api`, with WireMock's own code for it rather than the status
    /// (11: a scenario has no such state).
    Coded { error: ApiError, code: u16 },
    /// A 404 with no body: WireMock's answer for an unknown stub, serve
    /// event or admin route. Its Java client reads that (and only that) as
    /// "not found" in `getStubMapping`, `editStub` and `removeStub`.
    Missing,
}

impl From<ApiError> for AdminError {
    fn from(error: ApiError) -> Self {
        AdminError::Api(error)
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// A dotted field path (`mappings.3.request.url`) as a JSON pointer.
fn pointer(field: &str) -> String {
    if field.is_empty() {
        return String::new();
    }
    let escaped: Vec<String> = field
        .split('.')
        .map(|part| part.replace('~', "~0").replace('/', "~1"))
        .collect();
    format!("/{}", escaped.join("/"))
}

fn field_error(error: &FieldError) -> WireMockError {
    WireMockError {
        code: INVALID_INPUT,
        source: Some(ErrorSource {
            pointer: pointer(&error.field),
        }),
        title: error.message.clone(),
        detail: None,
    }
}

impl WireMockErrors {
    pub fn of(error: &ApiError) -> Self {
        let errors = match error {
            ApiError::Validation(fields) | ApiError::BadQuery(fields) if !fields.is_empty() => {
                fields.iter().map(field_error).collect()
            }
            ApiError::MalformedJson(_) => vec![WireMockError {
                code: INVALID_INPUT,
                source: None,
                title: "Error parsing JSON".to_owned(),
                detail: Some(error.to_string()),
            }],
            ApiError::WithMembers { error, .. } => return Self::of(error),
            other => vec![WireMockError {
                code: other.status().as_u16(),
                source: None,
                title: other.to_string(),
                detail: None,
            }],
        };
        WireMockErrors { errors }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (error, code) = match self {
            AdminError::Api(error) => (error, None),
            AdminError::Coded { error, code } => (error, Some(code)),
            AdminError::Missing => return axum::http::StatusCode::NOT_FOUND.into_response(),
        };
        let mut document = WireMockErrors::of(&error);
        if let Some(code) = code {
            document.errors.iter_mut().for_each(|e| e.code = code);
        }
        let body = serde_json::to_vec(&document).unwrap_or_default();
        // WireMock answers a body it cannot parse as a 422, as any other bad input.
        let unparseable = matches!(error, ApiError::MalformedJson(_));
        let mut response = error.into_response();
        if unparseable {
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        }
        response.headers_mut().remove(header::CONTENT_LENGTH);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        *response.body_mut() = Body::from(body);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn wire(error: ApiError) -> Value {
        serde_json::to_value(WireMockErrors::of(&error)).unwrap()
    }

    #[test]
    fn field_errors_point_into_the_body() {
        let error = ApiError::Validation(vec![
            FieldError::new("request.bodyPatterns.0", "not a match operation"),
            FieldError::new("", "must be an object"),
        ]);
        assert_eq!(
            wire(error),
            json!({"errors": [
                {"code": 10, "source": {"pointer": "/request/bodyPatterns/0"}, "title": "not a match operation"},
                {"code": 10, "source": {"pointer": ""}, "title": "must be an object"},
            ]})
        );
    }

    #[test]
    fn other_errors_carry_their_status_as_the_code() {
        assert_eq!(
            wire(ApiError::NotFound("no stub mapping has id x".into())),
            json!({"errors": [{"code": 404, "title": "no stub mapping has id x"}]})
        );
        assert_eq!(
            wire(ApiError::MalformedJson("expected value".into()))["errors"][0]["code"],
            10
        );
    }

    #[test]
    fn a_pointer_escapes_slashes_and_tildes() {
        assert_eq!(pointer("headers.a/b~c"), "/headers/a~1b~0c");
    }

    #[test]
    fn a_body_that_is_not_json_is_a_422_as_on_wiremock() {
        let response = AdminError::Api(ApiError::MalformedJson("eof".into())).into_response();
        assert_eq!(response.status(), 422);
    }

    #[tokio::test]
    async fn missing_is_an_empty_404_and_a_code_replaces_the_status() {
        let missing = AdminError::Missing.into_response();
        assert_eq!(missing.status(), 404);
        let body = axum::body::to_bytes(missing.into_body(), 16).await.unwrap();
        assert!(body.is_empty());
        let coded = AdminError::Coded {
            error: ApiError::Validation(vec![FieldError::new("state", "no such state")]),
            code: 11,
        }
        .into_response();
        assert_eq!(coded.status(), 422);
        let body = axum::body::to_bytes(coded.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errors"][0]["code"], 11);
    }

    #[tokio::test]
    async fn the_answer_keeps_the_status_and_is_plain_json() {
        let response = AdminError::Api(ApiError::StorageUnavailable("down".into())).into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errors"][0]["code"], 503);
    }
}
