//! The WireMock admin API under `/__admin`, with WireMock's JSON shapes on
//! the wire (field names, which fields are present, error documents, status
//! codes), so that WireMock's own clients parse every answer. What echobase
//! adds (near-miss reasons) is behind a query option, never a field a strict
//! client refuses. Everything under `/__admin` is echobase's: an unknown
//! admin path is a 404 here, never a mock request.

pub mod error;
pub mod files;
pub mod import;
pub mod live;
pub mod mappings;
pub mod near_misses;
pub mod openapi_documents;
pub mod recordings;
pub mod requests;
pub mod scenarios;
pub mod settings;
pub mod webhooks;
pub mod wire;

use std::sync::Arc;

use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::engine::{Engine, ResetError};
use super::matcher::StringMatcher;
use super::store::StoreError;
use super::stub::Stub;
use super::template::iso_millis;
use crate::http::ApiError;
use crate::http::extract::Body;
use error::AdminResult;

type Json = axum::Json<Value>;
const TAG: &str = "mocks (WireMock admin)";

/// Every admin route that needs `mocks:write` when keys are configured
/// (all but the health probe).
pub fn router() -> OpenApiRouter<Arc<Engine>> {
    OpenApiRouter::new()
        .routes(routes!(
            mappings::list_mappings,
            mappings::create_mapping,
            mappings::delete_mappings
        ))
        .routes(routes!(
            mappings::get_mapping,
            mappings::update_mapping,
            mappings::delete_mapping
        ))
        .routes(routes!(mappings::remove_by_pattern))
        .routes(routes!(mappings::find_by_metadata))
        .routes(routes!(mappings::remove_by_metadata))
        .routes(routes!(import::import_mappings))
        .routes(routes!(mappings::reset_mappings))
        .routes(routes!(mappings::save_mappings))
        .routes(routes!(reset_all))
        .routes(routes!(requests::list_requests, requests::clear_requests))
        .routes(routes!(requests::get_request, requests::delete_request))
        .routes(routes!(requests::count_requests))
        .routes(routes!(requests::find_requests))
        .routes(routes!(requests::remove_requests))
        .routes(routes!(requests::remove_by_metadata))
        .routes(routes!(requests::reset_requests))
        .routes(routes!(requests::unmatched_requests))
        .routes(routes!(live::journal_events))
        .routes(routes!(near_misses::unmatched_near_misses))
        .routes(routes!(near_misses::for_request))
        .routes(routes!(near_misses::for_pattern))
        .routes(routes!(scenarios::list_scenarios))
        .routes(routes!(scenarios::reset_scenarios))
        .routes(routes!(scenarios::set_scenario_state))
        .routes(routes!(
            settings::get_settings,
            settings::update_settings,
            settings::replace_settings
        ))
        .routes(routes!(settings::patch_extended))
        .routes(routes!(
            mappings::unmatched_mappings,
            mappings::remove_unmatched_mappings
        ))
        .routes(routes!(files::list_files))
        .routes(routes!(
            files::get_file,
            files::put_file,
            files::delete_file
        ))
        .routes(routes!(webhooks::list_webhooks, webhooks::clear_webhooks))
        .routes(routes!(recordings::start_recording))
        .routes(routes!(recordings::stop_recording))
        .routes(routes!(recordings::recording_status))
        .routes(routes!(recordings::snapshot))
        .routes(routes!(
            openapi_documents::load_document,
            openapi_documents::list_documents
        ))
        .routes(routes!(openapi_documents::remove_document))
        .routes(routes!(version))
        // Not in the document: it describes the routes there are.
        .route("/__admin", axum::routing::any(unknown_admin_path))
        .route("/__admin/", axum::routing::any(unknown_admin_path))
        .route("/__admin/{*rest}", axum::routing::any(unknown_admin_path))
}

fn empty() -> Json {
    axum::Json(json!({}))
}

/// Admin bodies are JSON whatever the content type says (`curl -d @stub.json`
/// sends a form content type).
fn json_body(body: Result<Body, ApiError>) -> Result<Value, ApiError> {
    let Body(bytes) = body?;
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

/// A stub id as stored: a UUID in its canonical form, anything else as given.
fn normalise_id(id: &str) -> String {
    uuid::Uuid::parse_str(id).map_or_else(|_| id.to_owned(), |u| u.to_string())
}

/// Whether a value matcher accepts a stub's `metadata` (an empty object when
/// it has none), as WireMock's `find-by-metadata` and `remove-by-metadata` ask.
fn metadata_matches(stub: &Stub, matcher: &StringMatcher) -> bool {
    let metadata = stub.mapping().get("metadata").cloned().unwrap_or(json!({}));
    matcher.distance(Some(&metadata.to_string())) == 0.0
}

fn reset_failed(error: ResetError) -> ApiError {
    match error {
        ResetError::Files(cause) => ApiError::Internal(cause),
        ResetError::Store(error) => storage(error),
    }
}

fn storage(error: StoreError) -> ApiError {
    ApiError::storage(&error, error.is_unavailable())
}

/// Any other path under `/__admin`: WireMock's 404 (no body), never a mock request.
pub async fn unknown_admin_path() -> AdminResult<Json> {
    Err(error::AdminError::Missing)
}

/// Reset stubs (to the mappings folder), the journal and every scenario.
#[utoipa::path(post, path = "/__admin/reset", tag = TAG,
    responses((status = 200, description = "Reset", body = Value)))]
pub async fn reset_all(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    engine.remove_all(true).await.map_err(reset_failed)?;
    engine.journal.clear().await.map_err(storage)?;
    engine.webhooks.clear();
    engine.reset_scenarios().await.map_err(storage)?;
    Ok(empty())
}

/// The server's version (WireMock clients ask it of WireMock).
#[utoipa::path(get, path = "/__admin/version", tag = TAG,
    responses((status = 200, description = "`{\"version\": \"...\"}`: echobase's", body = Value)))]
pub async fn version() -> Json {
    axum::Json(json!({ "version": env!("CARGO_PKG_VERSION") }))
}

/// The mock server is up.
#[utoipa::path(get, path = "/__admin/health", tag = TAG,
    responses((status = 200, description = "`{\"status\": \"healthy\", ...}`", body = Value)))]
pub async fn health(State(engine): State<Arc<Engine>>) -> Json {
    let now = crate::clock::now_ms();
    axum::Json(json!({
        "status": "healthy",
        "message": "echobase mocks are serving",
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeInSeconds": engine.uptime_seconds(),
        "timestamp": iso_millis(now),
        "stubs": engine.snapshot().len(),
    }))
}
