//! WireMock's global settings: a delay added to every stub's response
//! (`fixedDelay`, `delayDistribution`), and `extended`, free-form values kept
//! for the clients that set them. Per process, like the journal.

use std::sync::Arc;

use axum::extract::State;
use serde_json::{Map, Value, json};

use super::error::{AdminResult, WireMockErrors};
use super::{Json, TAG, json_body, storage};
use crate::http::extract::Body;
use crate::http::{ApiError, FieldError};
use crate::mocks::engine::{Engine, GlobalSettings};
use crate::mocks::openapi::{ExtendedSettingsSchema, GlobalSettingsSchema};
use crate::mocks::parse::global_settings::parse_settings;

/// As WireMock shows them: `proxyPassThrough` is always there.
fn settings_json(settings: &GlobalSettings) -> Json {
    let mut document = settings.document.clone();
    document
        .entry("proxyPassThrough")
        .or_insert(Value::Bool(false));
    axum::Json(json!({ "settings": document }))
}

/// The global settings.
#[utoipa::path(get, path = "/__admin/settings", tag = TAG,
    responses((status = 200, description = "`{\"settings\": {\"fixedDelay\": 100, ...}}`", body = Value)))]
pub async fn get_settings(State(engine): State<Arc<Engine>>) -> Json {
    settings_json(&engine.settings())
}

async fn replace(engine: &Engine, body: Result<Body, ApiError>) -> AdminResult<Json> {
    let settings = parse_settings(&json_body(body)?).map_err(ApiError::Validation)?;
    engine.put_settings(settings).await.map_err(storage)?;
    Ok(settings_json(&engine.settings()))
}

/// Replace the global settings (what is not given goes back to its default).
#[utoipa::path(post, path = "/__admin/settings", tag = TAG,
    request_body(content = GlobalSettingsSchema, description = "`{\"fixedDelay\": 100, \"delayDistribution\": {...}, \"extended\": {...}}`, or that inside `{\"settings\": ...}`; no body at all resets them"),
    responses(
        (status = 200, description = "The settings now", body = Value),
        (status = 422, description = "Not JSON, or not settings", body = WireMockErrors),
    ))]
pub async fn update_settings(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    replace(&engine, body).await
}

/// Replace the global settings (as `POST`).
#[utoipa::path(put, path = "/__admin/settings", tag = TAG,
    request_body(content = GlobalSettingsSchema, description = "As for `POST`"),
    responses(
        (status = 200, description = "The settings now", body = Value),
        (status = 422, description = "Not JSON, or not settings", body = WireMockErrors),
    ))]
pub async fn replace_settings(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    replace(&engine, body).await
}

/// Merge values into `extended`, keeping the other settings.
#[utoipa::path(patch, path = "/__admin/settings/extended", tag = TAG,
    request_body(content = ExtendedSettingsSchema, description = "An object merged into `extended` (no body: nothing to merge)"),
    responses(
        (status = 200, description = "The settings now", body = Value),
        (status = 422, description = "Not JSON, or not an object", body = WireMockErrors),
    ))]
pub async fn patch_extended(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let Value::Object(values) = json_body(body)? else {
        return Err(ApiError::Validation(vec![FieldError::new("", "must be an object")]).into());
    };
    let mut settings = (*engine.settings()).clone();
    let extended = settings
        .document
        .entry("extended")
        .or_insert_with(|| Value::Object(Map::new()));
    if !extended.is_object() {
        *extended = Value::Object(Map::new());
    }
    if let Value::Object(extended) = extended {
        extended.extend(values);
    }
    engine.put_settings(settings).await.map_err(storage)?;
    Ok(settings_json(&engine.settings()))
}
