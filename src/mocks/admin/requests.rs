//! The request journal: list, read, count, find and remove serve events.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{AdminError, AdminResult, WireMockErrors};
use super::wire::{logged_json, serve_event_json};
use super::{Json, TAG, empty, json_body, metadata_matches, normalise_id, storage};
use crate::http::extract::Body;
use crate::http::{ApiError, FieldError};
use crate::mocks::engine::Engine;
use crate::mocks::journal::LoggedRequest;
use crate::mocks::matcher::RequestPattern;
use crate::mocks::openapi::{RequestPatternSchema, StringMatcherSchema};
use crate::mocks::parse::request::{parse_request_pattern, parse_string_matcher};

/// The journal's filters, as WireMock's `ServeEventQuery` sends them.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    /// At most this many serve events, the newest.
    #[param(minimum = 0, maximum = 18_446_744_073_709_551_615_u64)]
    limit: Option<usize>,
    /// Only requests no stub answered.
    unmatched: Option<bool>,
    /// Only requests this stub (its id) answered.
    matching_stub: Option<String>,
    /// Only requests received after this time (RFC 3339, e.g. `2026-01-31T12:00:00Z`).
    #[param(format = DateTime)]
    since: Option<String>,
}

fn journal_query(query: Result<Query<JournalQuery>, QueryRejection>) -> AdminResult<JournalQuery> {
    query.map(|Query(q)| q).map_err(|rejection| {
        ApiError::BadQuery(vec![FieldError::new("", rejection.body_text())]).into()
    })
}

fn since_millis(since: &str) -> AdminResult<i64> {
    let time = time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
        .map_err(|e| {
        ApiError::BadQuery(vec![FieldError::new(
            "since",
            format!("`{since}` is not an RFC 3339 time such as 2026-01-31T12:00:00Z: {e}"),
        )])
    })?;
    Ok(i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
}

fn journal_disabled(engine: &Engine) -> bool {
    engine.journal.is_disabled()
}

/// The request journal, newest first.
#[utoipa::path(get, path = "/__admin/requests", tag = TAG, params(JournalQuery),
    responses(
        (status = 200, description = "`{\"requests\": [serve events], \"meta\": {\"total\": n}, \"requestJournalDisabled\": false}`", body = Value),
        (status = 400, description = "A filter that does not parse", body = WireMockErrors),
    ))]
pub async fn list_requests(
    State(engine): State<Arc<Engine>>,
    query: Result<Query<JournalQuery>, QueryRejection>,
) -> AdminResult<Json> {
    let query = journal_query(query)?;
    let stub = query.matching_stub.as_deref().map(normalise_id);
    let since_ms = match query.since.as_deref() {
        None => None,
        Some(since) => Some(since_millis(since)?),
    };
    let entries: Vec<Arc<LoggedRequest>> = engine
        .journal_entries()
        .await
        .map_err(storage)?
        .into_iter()
        .rev()
        .filter(|e| query.unmatched != Some(true) || e.stub.is_none())
        .filter(|e| since_ms.is_none_or(|since| e.logged_at_ms > since))
        .filter(|e| {
            stub.as_ref()
                .is_none_or(|id| e.stub.as_ref().is_some_and(|s| s.id() == id))
        })
        .collect();
    let total = entries.len();
    let requests: Vec<Value> = entries
        .iter()
        .take(query.limit.unwrap_or(usize::MAX))
        .map(|e| serve_event_json(e))
        .collect();
    Ok(axum::Json(json!({
        "requests": requests,
        "meta": {"total": total},
        "requestJournalDisabled": journal_disabled(&engine),
    })))
}

/// Empty the journal.
#[utoipa::path(delete, path = "/__admin/requests", tag = TAG,
    responses((status = 200, description = "Emptied", body = Value)))]
pub async fn clear_requests(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    engine.journal.clear().await.map_err(storage)?;
    Ok(empty())
}

/// Empty the journal: WireMock 2's route, which python-wiremock's
/// `reset_request_journal` still calls (WireMock 3 answers it 404).
#[utoipa::path(post, path = "/__admin/requests/reset", tag = TAG,
    responses((status = 200, description = "Emptied", body = Value)))]
pub async fn reset_requests(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    engine.journal.clear().await.map_err(storage)?;
    Ok(empty())
}

/// One serve event.
#[utoipa::path(get, path = "/__admin/requests/{id}", tag = TAG,
    params(("id" = String, Path, description = "The serve event's UUID")),
    responses(
        (status = 200, description = "The serve event", body = Value),
        (status = 404, description = "No such serve event (no body, as on WireMock)"),
    ))]
pub async fn get_request(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> AdminResult<Json> {
    let id = serve_event_id(&id).ok_or(AdminError::Missing)?;
    let entry = engine
        .journal_entries()
        .await
        .map_err(storage)?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or(AdminError::Missing)?;
    Ok(axum::Json(serve_event_json(&entry)))
}

/// An id that is no UUID names no serve event.
fn serve_event_id(id: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(id).ok()
}

/// Remove one serve event (answered 200 whether or not it was there, as on WireMock).
#[utoipa::path(delete, path = "/__admin/requests/{id}", tag = TAG,
    params(("id" = String, Path, description = "The serve event's UUID")),
    responses(
        (status = 200, description = "Removed (or there was no such serve event)", body = Value),
    ))]
pub async fn delete_request(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> AdminResult<Json> {
    if let Some(id) = serve_event_id(&id) {
        remove_where(&engine, |e| e.id == id).await?;
    }
    Ok(empty())
}

/// The journaled requests a pattern matches, oldest first.
async fn matching(
    engine: &Engine,
    pattern: &RequestPattern,
) -> AdminResult<Vec<Arc<LoggedRequest>>> {
    let mut entries = engine.journal_entries().await.map_err(storage)?;
    entries.retain(|e| pattern.is_match(&e.incoming()));
    Ok(entries)
}

/// Removes the journaled requests `remove` picks; returns them, oldest first.
async fn remove_where(
    engine: &Engine,
    remove: impl Fn(&LoggedRequest) -> bool,
) -> AdminResult<Vec<Arc<LoggedRequest>>> {
    let mut removed = engine.journal_entries().await.map_err(storage)?;
    removed.retain(|e| remove(e));
    engine.journal.remove(&removed).await.map_err(storage)?;
    Ok(removed)
}

fn request_pattern(body: Result<Body, ApiError>) -> Result<RequestPattern, ApiError> {
    parse_request_pattern(&json_body(body)?, "").map_err(ApiError::Validation)
}

/// How many journaled requests match a request pattern.
#[utoipa::path(post, path = "/__admin/requests/count", tag = TAG,
    request_body(content = RequestPatternSchema, description = "A request pattern, as a stub's `request`; without a body, every request matches"),
    responses(
        (status = 200, description = "`{\"count\": n, \"requestJournalDisabled\": false}`", body = Value),
        (status = 422, description = "Not JSON, or an invalid pattern", body = WireMockErrors),
    ))]
pub async fn count_requests(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let pattern = request_pattern(body)?;
    Ok(axum::Json(json!({
        "count": matching(&engine, &pattern).await?.len(),
        "requestJournalDisabled": journal_disabled(&engine),
    })))
}

/// The journaled requests that match a request pattern, oldest first.
#[utoipa::path(post, path = "/__admin/requests/find", tag = TAG,
    request_body(content = RequestPatternSchema, description = "A request pattern, as a stub's `request`; without a body, every request matches"),
    responses(
        (status = 200, description = "`{\"requests\": [...], \"requestJournalDisabled\": false}`", body = Value),
        (status = 422, description = "Not JSON, or an invalid pattern", body = WireMockErrors),
    ))]
pub async fn find_requests(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let pattern = request_pattern(body)?;
    Ok(requests_json(&engine, &matching(&engine, &pattern).await?))
}

/// Journal entries as WireMock's `{"requests": [...]}`.
fn requests_json(engine: &Engine, entries: &[Arc<LoggedRequest>]) -> Json {
    let requests: Vec<Value> = entries.iter().map(|e| logged_json(e)).collect();
    axum::Json(json!({
        "requests": requests,
        "requestJournalDisabled": journal_disabled(engine),
    }))
}

/// Removed serve events, as WireMock answers a removal.
fn removed_json(removed: &[Arc<LoggedRequest>]) -> Json {
    let events: Vec<Value> = removed.iter().map(|e| serve_event_json(e)).collect();
    axum::Json(json!({ "serveEvents": events }))
}

/// Remove the serve events whose request matches a pattern.
#[utoipa::path(post, path = "/__admin/requests/remove", tag = TAG,
    request_body(content = RequestPatternSchema, description = "A request pattern, as a stub's `request`"),
    responses(
        (status = 200, description = "`{\"serveEvents\": [the removed]}`", body = Value),
        (status = 422, description = "Not JSON, or an invalid pattern", body = WireMockErrors),
    ))]
pub async fn remove_requests(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    // No body is refused rather than read as "every request": removal is not undone.
    if matches!(&body, Ok(Body(bytes)) if bytes.is_empty()) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "",
            "a request pattern is required (`{}` removes every request)",
        )])
        .into());
    }
    let pattern = request_pattern(body)?;
    let removed = remove_where(&engine, |e| pattern.is_match(&e.incoming())).await?;
    Ok(removed_json(&removed))
}

/// Remove the serve events answered by a stub whose metadata matches.
#[utoipa::path(post, path = "/__admin/requests/remove-by-metadata", tag = TAG,
    request_body(content = StringMatcherSchema, description = "A value matcher applied to the answering stub's `metadata` as JSON"),
    responses(
        (status = 200, description = "`{\"serveEvents\": [the removed]}`", body = Value),
        (status = 422, description = "Not JSON, or not a matcher", body = WireMockErrors),
    ))]
pub async fn remove_by_metadata(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let matcher = parse_string_matcher(&json_body(body)?).map_err(ApiError::Validation)?;
    let removed = remove_where(&engine, |e| {
        e.stub
            .as_ref()
            .and_then(|answered| answered.stub())
            .is_some_and(|stub| metadata_matches(stub, &matcher))
    })
    .await?;
    Ok(removed_json(&removed))
}

/// Journaled requests no stub answered.
#[utoipa::path(get, path = "/__admin/requests/unmatched", tag = TAG,
    responses((status = 200, description = "`{\"requests\": [...], \"requestJournalDisabled\": false}`", body = Value)))]
pub async fn unmatched_requests(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    let unmatched: Vec<_> = engine
        .journal_entries()
        .await
        .map_err(storage)?
        .into_iter()
        .filter(|e| e.stub.is_none())
        .collect();
    Ok(requests_json(&engine, &unmatched))
}
