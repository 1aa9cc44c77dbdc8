//! `/__admin/recordings/*`: start, stop, status and snapshot, answered as
//! WireMock answers them (see [`crate::mocks::recording`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use serde_json::{Value, json};

use super::error::{AdminError, AdminResult, WireMockErrors};
use super::{Json, TAG, empty, storage};
use crate::clock::now_ms;
use crate::http::extract::Body;
use crate::http::{ApiError, FieldError};
use crate::mocks::engine::Engine;
use crate::mocks::journal::LoggedRequest;
use crate::mocks::openapi::{RecordSpecSchema, RecordStartSchema};
use crate::mocks::parse::record_spec::parse_record_spec;
use crate::mocks::recording::{
    Output, RECORDING_KEY, RecordSpec, is_cut, is_recorded, recording_stub, started_at, stubs_for,
};
use crate::mocks::stub::Stub;

/// WireMock's error code for stopping when no recording runs.
const NOT_RECORDING: u16 = 30;

/// The body, or `{}` (every default) when there is none.
fn spec_document(body: Result<Body, ApiError>) -> Result<Value, ApiError> {
    let Body(bytes) = body?;
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

/// The running recording's proxy stub and its mapping, if one runs.
fn running(engine: &Engine) -> Option<(Arc<Stub>, Value)> {
    engine
        .snapshot()
        .stubs()
        .iter()
        .filter(|stub| stub.mapping_text.contains(RECORDING_KEY))
        .map(|stub| (stub.clone(), stub.mapping()))
        .find(|(_, mapping)| started_at(mapping).is_some())
}

/// Start recording: a proxy stub sends every request to `targetBaseUrl`
/// until the recording stops. Starting while one runs changes nothing.
#[utoipa::path(post, path = "/__admin/recordings/start", tag = TAG,
    request_body(content = RecordStartSchema, description = "A record spec with `targetBaseUrl`"),
    responses(
        (status = 200, description = "Recording (`{}`)", body = Value),
        (status = 422, description = "Not JSON, or an invalid spec", body = WireMockErrors),
    ))]
pub async fn start_recording(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let document = spec_document(body)?;
    let spec = parse_record_spec(&document).map_err(ApiError::Validation)?;
    let Some(target) = &spec.target_base_url else {
        return Err(ApiError::Validation(vec![FieldError::new(
            "targetBaseUrl",
            "a recording proxies to its target: give one (to make stubs of what existing proxy \
             stubs answered, take a snapshot: POST /__admin/recordings/snapshot)",
        )])
        .into());
    };
    if running(&engine).is_some() {
        return Ok(empty());
    }
    let stub = engine
        .parse(&recording_stub(target, &document, now_ms()))
        .map_err(ApiError::Validation)?;
    engine.save(vec![stub]).await.map_err(storage)?;
    Ok(empty())
}

/// Stop recording: what the recording's proxy answered since it started
/// becomes stubs (stored, served at once), and its proxy stub goes.
#[utoipa::path(post, path = "/__admin/recordings/stop", tag = TAG,
    responses(
        (status = 200, description = "`{\"mappings\": [...]}` (or `{\"ids\": [...]}`), newest first", body = Value),
        (status = 400, description = "Not recording", body = WireMockErrors),
    ))]
pub async fn stop_recording(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    let Some((proxy, mapping)) = running(&engine) else {
        return Err(AdminError::Coded {
            error: ApiError::BadRequest("Not currently recording.".into()),
            code: NOT_RECORDING,
        });
    };
    let since = started_at(&mapping).unwrap_or_default();
    // The spec was read when the recording started; it reads the same now.
    let spec = parse_record_spec(&mapping["metadata"][RECORDING_KEY]["spec"])
        .map_err(ApiError::Validation)?;
    let entries = engine.journal_entries().await.map_err(storage)?;
    let chosen: Vec<&LoggedRequest> = entries
        .iter()
        .rev()
        .filter(|e| e.logged_at_ms >= since && is_recorded(e, &spec.filters))
        .map(|e| &**e)
        .collect();
    let result = record(&engine, &chosen, &spec).await?;
    engine
        .remove(std::slice::from_ref(&proxy.id))
        .await
        .map_err(storage)?;
    engine.recording_stopped.store(true, Ordering::Relaxed);
    Ok(result)
}

/// `{"status": "NeverStarted" | "Recording" | "Stopped"}`. Stopped means
/// this process has stopped a recording.
#[utoipa::path(get, path = "/__admin/recordings/status", tag = TAG,
    responses((status = 200, description = "`{\"status\": ...}`", body = Value)))]
pub async fn recording_status(State(engine): State<Arc<Engine>>) -> Json {
    let status = if running(&engine).is_some() {
        "Recording"
    } else if engine.recording_stopped.load(Ordering::Relaxed) {
        "Stopped"
    } else {
        "NeverStarted"
    };
    axum::Json(json!({ "status": status }))
}

/// Make stubs of what proxy stubs answered, over the whole journal (the
/// spec's filters choose), whether or not a recording runs.
#[utoipa::path(post, path = "/__admin/recordings/snapshot", tag = TAG,
    request_body(content = RecordSpecSchema, description = "A record spec; none is every default"),
    responses(
        (status = 200, description = "`{\"mappings\": [...]}` (or `{\"ids\": [...]}`), newest first", body = Value),
        (status = 422, description = "Not JSON, or an invalid spec", body = WireMockErrors),
    ))]
pub async fn snapshot(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let spec = parse_record_spec(&spec_document(body)?).map_err(ApiError::Validation)?;
    let entries = engine.journal_entries().await.map_err(storage)?;
    let chosen: Vec<&LoggedRequest> = entries
        .iter()
        .rev()
        .filter(|e| is_recorded(e, &spec.filters))
        .map(|e| &**e)
        .collect();
    record(&engine, &chosen, &spec).await
}

/// Stores the stubs (and body files) made from `entries`, and answers them
/// as the spec's output format says. An entry whose stub echobase would
/// refuse (a header it does not allow a stub to set, ...) is left out and
/// logged.
async fn record(
    engine: &Engine,
    entries: &[&LoggedRequest],
    spec: &RecordSpec,
) -> AdminResult<Json> {
    let max_body = engine.journal.max_body();
    let (cut, whole): (Vec<&LoggedRequest>, Vec<&LoggedRequest>) = entries
        .iter()
        .copied()
        .partition(|entry| is_cut(entry, max_body));
    for entry in cut {
        tracing::warn!(
            path = %entry.path,
            max_journal_body = max_body,
            "mocks: a recorded response was larger than the journal keeps; left out (raise \
             mocks.max_journal_body to record it)"
        );
    }
    let mut stubs = Vec::new();
    for recorded in stubs_for(&whole, spec) {
        match engine.parse(&recorded.mapping) {
            Ok(stub) => {
                if let Some((name, content)) = &recorded.file {
                    engine.files().put(name, content).await.map_err(storage)?;
                }
                stubs.push(stub);
            }
            Err(errors) => tracing::warn!(
                request = %recorded.mapping["request"],
                reasons = ?errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>(),
                "mocks: a recorded request could not become a stub; left out"
            ),
        }
    }
    let saved = engine.save(stubs).await.map_err(storage)?;
    let body = match spec.output {
        Output::Full => {
            json!({"mappings": saved.iter().map(|stub| stub.mapping()).collect::<Vec<_>>()})
        }
        Output::Ids => json!({"ids": saved.iter().map(|stub| stub.id.clone()).collect::<Vec<_>>()}),
    };
    Ok(axum::Json(body))
}
