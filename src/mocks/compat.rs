//! The original mock-endpoint API: `/endpoints` create, list, patch, delete,
//! with its JSON:API-like envelope and `{"error": ...}` messages. An endpoint
//! is stored as a stub (a verb, an exact path, a response), so it is served by
//! the same matcher as every WireMock stub.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::endpoint_view::{INCOMPLETE_INPUT, endpoint_mapping, endpoint_view};
use super::engine::Engine;
use super::openapi::{EndpointCreateSchema, EndpointPatchSchema};
use crate::http::ApiError;
use crate::http::extract::Body;
use crate::http::original_error::{OriginalError, OriginalShape, Shape};

/// Every error of this API, as the original shaped it: the schema the
/// OpenAPI document shows for what [`CompatError`] writes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: String,
}

/// The original mock endpoint creator answered every error as `{"error": ...}`.
pub struct EndpointCreator;

impl OriginalShape for EndpointCreator {
    const SHAPE: Shape = Shape::Member("error");
}

pub type CompatError = OriginalError<EndpointCreator>;

impl CompatError {
    fn bad(message: impl Into<String>) -> Self {
        CompatError::new(StatusCode::BAD_REQUEST, message)
    }

    fn unknown(id: &str) -> Self {
        CompatError::new(StatusCode::NOT_FOUND, format!("Endpoint {id} not found"))
    }

    fn storage(error: impl std::fmt::Display) -> Self {
        CompatError::internal("storing an endpoint", error, "Failed to store the endpoint")
    }
}

/// A header value: the original took a string or a number, and shows it back
/// as given.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EndpointHeaderValue {
    Text(String),
    Number(f64),
}

/// The response a mock endpoint gives.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointResponse {
    /// HTTP status code (an integer).
    code: u16,
    /// Response headers (optional; `{}` when left out).
    headers: BTreeMap<String, EndpointHeaderValue>,
    /// A string is sent as is; a JSON object or array is sent as JSON.
    body: Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointAttributes {
    /// GET POST PATCH PUT DELETE HEAD OPTIONS CONNECT TRACE
    verb: String,
    /// The exact path the mock answers at, such as `/test`.
    path: String,
    response: EndpointResponse,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Endpoint {
    /// Always `endpoints`.
    #[serde(rename = "type")]
    kind: String,
    id: String,
    attributes: EndpointAttributes,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointDocument {
    data: Endpoint,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointList {
    data: Vec<Endpoint>,
}

/// `{"data": {"type": "endpoints", "attributes": {...}}}` -> the attributes.
fn attributes_of(body: &[u8]) -> Result<Map<String, Value>, CompatError> {
    let document: Value =
        serde_json::from_slice(body).map_err(|_| CompatError::bad("Request body must be JSON"))?;
    match document.get("data").and_then(|d| d.get("attributes")) {
        Some(Value::Object(attributes)) => Ok(attributes.clone()),
        _ => Err(CompatError::bad(INCOMPLETE_INPUT)),
    }
}

/// List every mock endpoint.
#[utoipa::path(get, path = "/endpoints", tag = "mocks (compatible)",
    responses((status = 200, description = "Every mock endpoint (stubs that only set a verb, a path and a response)", body = EndpointList)))]
pub async fn list(State(engine): State<Arc<Engine>>) -> axum::Json<Value> {
    let index = engine.snapshot();
    let data: Vec<Value> = index
        .stubs()
        .iter()
        .filter_map(|s| endpoint_view(s))
        .collect();
    axum::Json(json!({ "data": data }))
}

/// Create a mock endpoint; it answers at its verb and path at once.
#[utoipa::path(post, path = "/endpoints", tag = "mocks (compatible)",
    request_body(content = EndpointCreateSchema, description = "`{\"data\": {\"type\": \"endpoints\", \"attributes\": {\"verb\": \"GET\", \"path\": \"/test\", \"response\": {\"code\": 200, \"headers\": {}, \"body\": \"...\"}}}}`"),
    responses(
        (status = 201, description = "Created and stored", body = EndpointDocument),
        (status = 400, description = "`Incomplete input`, `Invalid HTTP verb`, `Invalid response code`, `Headers must be a dictionary`, or a reserved path", body = ErrorBody),
    ))]
pub async fn create(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> Result<(StatusCode, axum::Json<Value>), CompatError> {
    let Body(bytes) = body?;
    let attributes = attributes_of(&bytes)?;
    let id = uuid::Uuid::new_v4().to_string();
    let saved = save(&engine, &id, &attributes).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "data": saved }))))
}

/// Change a mock endpoint: any of verb, path and response (fields of the
/// response may be given alone too).
#[utoipa::path(patch, path = "/endpoints/{id}", tag = "mocks (compatible)",
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body(content = EndpointPatchSchema, description = "The same envelope as create; attributes left out keep their value, and fields of `response` left out keep theirs"),
    responses(
        (status = 200, description = "Updated", body = EndpointDocument),
        (status = 400, description = "A validation message, as for create", body = ErrorBody),
        (status = 404, description = "`Endpoint <id> not found`", body = ErrorBody),
    ))]
pub async fn patch(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<axum::Json<Value>, CompatError> {
    let current = engine
        .snapshot()
        .get(&id)
        .and_then(|s| endpoint_view(s))
        .ok_or_else(|| CompatError::unknown(&id))?;
    let Body(bytes) = body?;
    let changes = attributes_of(&bytes)?;
    let mut merged = current["attributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (key, value) in changes {
        match (key.as_str(), merged.get_mut("response"), value) {
            ("response", Some(Value::Object(response)), Value::Object(fields)) => {
                response.extend(fields);
            }
            (_, _, value) => {
                merged.insert(key, value);
            }
        }
    }
    let saved = save(&engine, &id, &merged).await?;
    Ok(axum::Json(json!({ "data": saved })))
}

/// Delete a mock endpoint.
#[utoipa::path(delete, path = "/endpoints/{id}", tag = "mocks (compatible)",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`Endpoint <id> not found`", body = ErrorBody),
    ))]
pub async fn delete(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<StatusCode, CompatError> {
    if engine
        .snapshot()
        .get(&id)
        .and_then(|s| endpoint_view(s))
        .is_none()
    {
        return Err(CompatError::unknown(&id));
    }
    engine
        .remove(std::slice::from_ref(&id))
        .await
        .map_err(CompatError::storage)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn save(
    engine: &Engine,
    id: &str,
    attributes: &Map<String, Value>,
) -> Result<Value, CompatError> {
    let mapping = endpoint_mapping(id, attributes).map_err(|e| CompatError::bad(e.0))?;
    let stub = engine.parse(&mapping).map_err(|errors| {
        CompatError::bad(
            errors
                .first()
                .map_or_else(|| "Invalid endpoint".to_owned(), |e| e.message.clone()),
        )
    })?;
    let saved = engine
        .save(vec![stub])
        .await
        .map_err(CompatError::storage)?;
    saved
        .first()
        .and_then(|s| endpoint_view(s))
        .ok_or_else(|| CompatError::storage("the stored stub is not an endpoint"))
}
