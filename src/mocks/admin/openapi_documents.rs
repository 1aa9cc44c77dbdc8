//! `/__admin/openapi`: load an OpenAPI document whose operations are then
//! served as mocks, list the loaded ones, remove one (echobase's own routes;
//! WireMock has none of these).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};

use super::TAG;
use crate::http::ApiError;
use crate::http::extract::Body;
use crate::mocks::engine::Engine;
use crate::mocks::oas::load::{self, Listed, Loaded};

/// The `name` and `prefix` query parameters (others are refused).
fn load_options(uri: &Uri) -> Result<(Option<String>, String), ApiError> {
    let mut name = None;
    let mut prefix = String::new();
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "name" => name = Some(value.into_owned()),
            "prefix" => prefix = value.into_owned(),
            other => {
                return Err(ApiError::BadQuery(vec![crate::http::FieldError::new(
                    other,
                    "is not a parameter here (name, prefix)",
                )]));
            }
        }
    }
    Ok((name, prefix))
}

/// Load an OpenAPI document (3.0 or 3.1, JSON or YAML): each operation is
/// then served as a mock that checks requests against the document and
/// answers with its examples, or with values generated from its schemas.
/// Loading a document of the same name again replaces it.
#[utoipa::path(post, path = "/__admin/openapi", tag = TAG,
    params(
        ("name" = Option<String>, Query, pattern = "^[a-z0-9][a-z0-9-]{0,63}$",
            description = "The document's name (default: a slug of `info.title`)"),
        ("prefix" = Option<String>, Query, pattern = "^(?:/[A-Za-z0-9._~-]+)*$",
            description = "A path the operations are served under, such as /petstore (default: none)"),
    ),
    request_body(content = String, description = "The document, as JSON or YAML",
        content_type = "application/yaml"),
    responses(
        (status = 200, description = "Loaded", body = Loaded),
        (status = 400, description = "Not JSON or YAML, or an unknown query parameter", body = crate::http::Problem),
        (status = 422, description = "Not an OpenAPI 3.0 or 3.1 document echobase can serve: the field says why", body = crate::http::Problem),
    ))]
pub async fn load_document(
    State(engine): State<Arc<Engine>>,
    uri: Uri,
    body: Result<Body, ApiError>,
) -> Result<axum::Json<Loaded>, ApiError> {
    let (name, prefix) = load_options(&uri)?;
    let Body(bytes) = body?;
    let loaded = load::load(&engine, name.as_deref(), &prefix, &bytes).await?;
    Ok(axum::Json(loaded))
}

/// The loaded OpenAPI documents.
#[utoipa::path(get, path = "/__admin/openapi", tag = TAG,
    responses((status = 200, description = "Each document's name and how many operations it serves", body = Vec<Listed>)))]
pub async fn list_documents(
    State(engine): State<Arc<Engine>>,
) -> Result<axum::Json<Vec<Listed>>, ApiError> {
    Ok(axum::Json(load::list(&engine).await?))
}

/// Remove a loaded OpenAPI document and the mocks of its operations.
#[utoipa::path(delete, path = "/__admin/openapi/{name}", tag = TAG,
    params(("name" = String, Path, description = "The document's name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such document", body = crate::http::Problem),
    ))]
pub async fn remove_document(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if load::remove(&engine, &name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "no OpenAPI document `{name}` is loaded"
        )))
    }
}
