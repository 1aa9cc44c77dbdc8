//! Stub mappings: list, create, read, replace, remove (by id, by request,
//! by metadata), reset and save.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{AdminError, AdminResult, WireMockErrors};
use super::{Json, TAG, empty, json_body, metadata_matches, normalise_id, reset_failed, storage};
use crate::http::extract::Body;
use crate::http::{ApiError, FieldError};
use crate::mocks::engine::Engine;
use crate::mocks::openapi::{StringMatcherSchema, StubMappingSchema, StubMappingUpdateSchema};
use crate::mocks::parse::request::parse_string_matcher;
use crate::mocks::stub::Stub;

/// Newest first, as WireMock lists them.
fn mappings_of<'s>(stubs: impl DoubleEndedIterator<Item = &'s Arc<Stub>>) -> Vec<Value> {
    stubs.rev().map(|s| s.mapping()).collect()
}

/// A page of the stub list, as WireMock's `limit` and `offset` ask.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// At most this many mappings.
    #[param(minimum = 0, maximum = 18_446_744_073_709_551_615_u64)]
    limit: Option<usize>,
    /// Skip this many first.
    #[param(minimum = 0, maximum = 18_446_744_073_709_551_615_u64)]
    offset: Option<usize>,
}

/// Every stub mapping (or a page of them), newest first.
#[utoipa::path(get, path = "/__admin/mappings", tag = TAG, params(Page),
    responses(
        (status = 200, description = "`{\"mappings\": [...], \"meta\": {\"total\": n}}` (`total` counts them all)", body = Value),
        (status = 400, description = "`limit` or `offset` is not a number", body = WireMockErrors),
    ))]
pub async fn list_mappings(
    State(engine): State<Arc<Engine>>,
    page: Result<Query<Page>, QueryRejection>,
) -> AdminResult<Json> {
    let Query(page) =
        page.map_err(|r| ApiError::BadQuery(vec![FieldError::new("", r.body_text())]))?;
    let index = engine.snapshot();
    let mappings: Vec<Value> = index
        .stubs()
        .iter()
        .rev()
        .skip(page.offset.unwrap_or(0))
        .take(page.limit.unwrap_or(usize::MAX))
        .map(|s| s.mapping())
        .collect();
    Ok(axum::Json(json!({
        "mappings": mappings,
        "meta": {"total": index.len()},
    })))
}

/// Create a stub mapping (an `id` that exists replaces that stub).
#[utoipa::path(post, path = "/__admin/mappings", tag = TAG,
    request_body(content = StubMappingSchema, description = "A WireMock stub mapping"),
    responses(
        (status = 201, description = "The stored mapping, with its id", body = StubMappingSchema),
                (status = 422, description = "Not JSON, invalid, or uses a field echobase does not support (each named in `errors`)", body = WireMockErrors),
    ))]
pub async fn create_mapping(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<(StatusCode, Json)> {
    let mapping = save_mapping(&engine, &json_body(body)?).await?;
    Ok((StatusCode::CREATED, axum::Json(mapping)))
}

/// Parses a stub mapping, stores it, and answers the stored mapping.
async fn save_mapping(engine: &Engine, value: &Value) -> Result<Value, ApiError> {
    let stub = engine.parse(value).map_err(ApiError::Validation)?;
    let saved = engine.save(vec![stub]).await.map_err(storage)?;
    Ok(saved.first().map(|s| s.mapping()).unwrap_or_default())
}

/// Delete every stub mapping.
#[utoipa::path(delete, path = "/__admin/mappings", tag = TAG,
    responses((status = 200, description = "Deleted", body = Value)))]
pub async fn delete_mappings(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    engine.remove_all(false).await.map_err(reset_failed)?;
    Ok(empty())
}

/// One stub mapping.
#[utoipa::path(get, path = "/__admin/mappings/{id}", tag = TAG,
    params(("id" = String, Path, description = "The stub's UUID")),
    responses(
        (status = 200, description = "The mapping", body = Value),
        (status = 404, description = "No such stub (no body, as on WireMock)"),
    ))]
pub async fn get_mapping(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> AdminResult<Json> {
    let index = engine.snapshot();
    let stub = index.get(&normalise_id(&id)).ok_or(AdminError::Missing)?;
    Ok(axum::Json(stub.mapping()))
}

/// Replace a stub mapping.
#[utoipa::path(put, path = "/__admin/mappings/{id}", tag = TAG,
    params(("id" = String, Path, description = "The stub's UUID")),
    request_body(content = StubMappingUpdateSchema, description = "The new mapping (its id, if any, is replaced by the path's)"),
    responses(
        (status = 200, description = "The stored mapping", body = StubMappingUpdateSchema),
                (status = 404, description = "No such stub (no body, as on WireMock)"),
        (status = 422, description = "Not JSON, or an invalid mapping", body = WireMockErrors),
    ))]
pub async fn update_mapping(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let id = normalise_id(&id);
    if engine.snapshot().get(&id).is_none() {
        return Err(AdminError::Missing);
    }
    let mut value = json_body(body)?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("id".into(), Value::String(id.clone()));
        obj.remove("uuid");
    }
    Ok(axum::Json(save_mapping(&engine, &value).await?))
}

/// Delete one stub mapping.
#[utoipa::path(delete, path = "/__admin/mappings/{id}", tag = TAG,
    params(("id" = String, Path, description = "The stub's UUID")),
    responses(
        (status = 200, description = "Deleted", body = Value),
        (status = 404, description = "No such stub (no body, as on WireMock)"),
    ))]
pub async fn delete_mapping(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> AdminResult<Json> {
    let removed = engine.remove(&[normalise_id(&id)]).await.map_err(storage)?;
    if removed.is_empty() {
        return Err(AdminError::Missing);
    }
    Ok(empty())
}

/// Back to the mappings folder's stubs and the persistent ones: every other
/// stub goes, and the journal is emptied.
#[utoipa::path(post, path = "/__admin/mappings/reset", tag = TAG,
    responses((status = 200, description = "Reset", body = Value)))]
pub async fn reset_mappings(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    engine.remove_all(true).await.map_err(reset_failed)?;
    // As on WireMock: the journal goes too (what it logged was matched
    // against stubs that may be gone).
    engine.journal.clear().await.map_err(storage)?;
    Ok(empty())
}

/// Make every stub persistent: a mappings reset keeps them (every stub is
/// stored either way, as it is created).
#[utoipa::path(post, path = "/__admin/mappings/save", tag = TAG,
    responses((status = 200, description = "Saved", body = Value)))]
pub async fn save_mappings(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    engine.persist_all().await.map_err(storage)?;
    Ok(empty())
}

/// Remove the stub with the body's `id`, or else every stub whose request
/// pattern is the body's (`removeStub(MappingBuilder)` in the Java client).
#[utoipa::path(post, path = "/__admin/mappings/remove", tag = TAG,
    request_body(content = StubMappingSchema, description = "A stub mapping: its `id`, or its `request`, says which stubs go"),
    responses(
        (status = 200, description = "Removed (or there was nothing to remove)", body = Value),
        (status = 422, description = "Not JSON, or not a stub mapping", body = WireMockErrors),
    ))]
pub async fn remove_by_pattern(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let value = json_body(body)?;
    let index = engine.snapshot();
    let by_id = ["id", "uuid"]
        .iter()
        .filter_map(|key| value.get(key).and_then(Value::as_str))
        .find_map(|id| index.get(&normalise_id(id)));
    let ids: Vec<String> = match by_id {
        Some(stub) => vec![stub.id.clone()],
        None => {
            let wanted = engine
                .parse(&value)
                .map_err(ApiError::Validation)?
                .mapping();
            index
                .stubs()
                .iter()
                .filter(|s| s.mapping().get("request") == wanted.get("request"))
                .map(|s| s.id.clone())
                .collect()
        }
    };
    engine.remove(&ids).await.map_err(storage)?;
    Ok(empty())
}

/// The stubs whose `metadata` a matcher accepts (`{"matchesJsonPath": {"expression": "$.team", "equalTo": "a"}}`).
fn by_metadata(engine: &Engine, body: Result<Body, ApiError>) -> AdminResult<Vec<Arc<Stub>>> {
    let matcher = parse_string_matcher(&json_body(body)?).map_err(ApiError::Validation)?;
    Ok(engine
        .snapshot()
        .stubs()
        .iter()
        .filter(|stub| metadata_matches(stub, &matcher))
        .cloned()
        .collect())
}

/// The stubs whose metadata matches, newest first.
#[utoipa::path(post, path = "/__admin/mappings/find-by-metadata", tag = TAG,
    request_body(content = StringMatcherSchema, description = "A value matcher applied to each stub's `metadata` as JSON, e.g. `{\"matchesJsonPath\": {\"expression\": \"$.team\", \"equalTo\": \"a\"}}`"),
    responses(
        (status = 200, description = "`{\"mappings\": [...], \"meta\": {\"total\": n}}`", body = Value),
        (status = 422, description = "Not JSON, or not a matcher", body = WireMockErrors),
    ))]
pub async fn find_by_metadata(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let found = by_metadata(&engine, body)?;
    Ok(axum::Json(json!({
        "mappings": mappings_of(found.iter()),
        "meta": {"total": found.len()},
    })))
}

/// Remove the stubs whose metadata matches.
#[utoipa::path(post, path = "/__admin/mappings/remove-by-metadata", tag = TAG,
    request_body(content = StringMatcherSchema, description = "A value matcher applied to each stub's `metadata` as JSON"),
    responses(
        (status = 200, description = "Removed", body = Value),
        (status = 422, description = "Not JSON, or not a matcher", body = WireMockErrors),
    ))]
pub async fn remove_by_metadata(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let ids: Vec<String> = by_metadata(&engine, body)?
        .iter()
        .map(|s| s.id.clone())
        .collect();
    engine.remove(&ids).await.map_err(storage)?;
    Ok(empty())
}

/// The stubs no journaled request was answered by.
async fn unmatched_stubs(engine: &Engine) -> Result<Vec<Arc<Stub>>, ApiError> {
    let used: std::collections::HashSet<String> = engine
        .journal_entries()
        .await
        .map_err(storage)?
        .iter()
        .filter_map(|e| e.stub.as_ref().map(|s| s.id().to_owned()))
        .collect();
    Ok(engine
        .snapshot()
        .stubs()
        .iter()
        .filter(|s| !used.contains(&s.id))
        .cloned()
        .collect())
}

/// The stubs that answered no request in the journal, newest first.
#[utoipa::path(get, path = "/__admin/mappings/unmatched", tag = TAG,
    responses((status = 200, description = "`{\"mappings\": [...], \"meta\": {\"total\": n}}`", body = Value)))]
pub async fn unmatched_mappings(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    let stubs = unmatched_stubs(&engine).await?;
    Ok(axum::Json(json!({
        "mappings": mappings_of(stubs.iter()),
        "meta": {"total": stubs.len()},
    })))
}

/// Remove the stubs that answered no request in the journal.
#[utoipa::path(delete, path = "/__admin/mappings/unmatched", tag = TAG,
    responses((status = 200, description = "Removed", body = Value)))]
pub async fn remove_unmatched_mappings(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    let ids: Vec<String> = unmatched_stubs(&engine)
        .await?
        .iter()
        .map(|s| s.id.clone())
        .collect();
    engine.remove(&ids).await.map_err(storage)?;
    Ok(empty())
}
