//! Body files, as WireMock's `/__admin/files` serves them: a list of names,
//! a file's bytes, `PUT` to create or replace one (answered with its content
//! in base64, as WireMock answers) and `DELETE`. They live in the file store,
//! so every process on one database serves the same files.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::Value;

use super::error::{AdminError, AdminResult, WireMockErrors};
use super::{Json, TAG, storage};
use crate::http::extract::Body;
use crate::http::openapi_document::AnyBytes;
use crate::http::{ApiError, FieldError};
use crate::mocks::engine::Engine;
use crate::mocks::files::file_name;
use crate::mocks::openapi::FileNameSchema;

/// A name from the path, refused (422) when it could leave the files.
fn checked(name: &str) -> Result<String, AdminError> {
    file_name(name)
        .map_err(|e| AdminError::Api(ApiError::Validation(vec![FieldError::new("name", e)])))
}

/// Every body file's name, sorted (`a/b.json` for a file in a folder).
#[utoipa::path(get, path = "/__admin/files", tag = TAG,
    responses((status = 200, description = "The names, sorted", body = Vec<String>)))]
pub async fn list_files(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    let names = engine.files().names().await.map_err(storage)?;
    Ok(axum::Json(Value::from(names)))
}

/// One body file's bytes, as stored.
#[utoipa::path(get, path = "/__admin/files/{*name}", tag = TAG,
    params(("name" = inline(FileNameSchema), Path, description = "The file's name, folders included (`a/b.json`)")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = AnyBytes),
        (status = 404, description = "No such file (no body)"),
        (status = 422, description = "Not a file name (`..`, absolute, too long)", body = WireMockErrors),
    ))]
pub async fn get_file(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
) -> AdminResult<Response> {
    let name = checked(&name)?;
    let content = engine
        .files()
        .get(&name)
        .await
        .map_err(storage)?
        .ok_or(AdminError::Missing)?;
    let mut response = content.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(response)
}

/// Creates or replaces a body file with the request's bytes (at most
/// `mocks.max_file_size`); answers its content in base64, as WireMock does.
#[utoipa::path(put, path = "/__admin/files/{*name}", tag = TAG,
    params(("name" = inline(FileNameSchema), Path, description = "The file's name, folders included (`a/b.json`)")),
    request_body(content = AnyBytes, content_type = "application/octet-stream", description = "The file's content"),
    responses(
        (status = 200, description = "Stored: its content, base64 (a JSON string)", body = String, content_type = "application/json"),
        (status = 413, description = "Larger than `mocks.max_file_size`", body = WireMockErrors),
        (status = 422, description = "Not a file name (`..`, absolute, too long)", body = WireMockErrors),
    ))]
pub async fn put_file(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let name = checked(&name)?;
    let Body(content) = body?;
    if content.len() > engine.max_file_size {
        return Err(ApiError::PayloadTooLarge {
            limit: engine.max_file_size,
        }
        .into());
    }
    engine.files().put(&name, &content).await.map_err(storage)?;
    Ok(axum::Json(Value::from(base64(&content))))
}

fn base64(content: &Bytes) -> String {
    base64::engine::general_purpose::STANDARD.encode(content)
}

/// Deletes a body file; deleting one that is not there is not an error
/// (as on WireMock).
#[utoipa::path(delete, path = "/__admin/files/{*name}", tag = TAG,
    params(("name" = inline(FileNameSchema), Path, description = "The file's name, folders included (`a/b.json`)")),
    responses(
        (status = 200, description = "Gone (or never there)"),
        (status = 422, description = "Not a file name (`..`, absolute, too long)", body = WireMockErrors),
    ))]
pub async fn delete_file(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
) -> AdminResult<()> {
    let name = checked(&name)?;
    engine.files().delete(&name).await.map_err(storage)?;
    Ok(())
}
