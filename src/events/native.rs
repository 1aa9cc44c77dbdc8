//! The native API: ingest (`POST /v1/events`, `POST /v1/events:ndjson`),
//! queries (`/v1/events`, `/v1/engineers`, `/v1/events/summary`) and DORA
//! (`/v1/dora`), with problem+json errors.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::EventsState;
use super::buckets::{BucketSize, Calendar};
use super::dora::{self, DoraInput, DoraMetrics};
use super::ingest::{IngestReport, NdjsonIngest};
use super::model::{self, EventInput, StoredEvent};
use super::store::{Cursor, DoraScope, EventFilter, Order, Page, StoreError};
use super::summary::{self, BucketCounts, Lead, SummaryError};
use crate::http::extract::Json;
use crate::http::{ApiError, FieldError};

/// Events per page when `limit` is not given (or `events.max_per_page`, if lower).
const DEFAULT_LIMIT: u32 = 100;
const DAY_MS: i64 = 86_400_000;
/// The DORA window when `from` is not given.
const DEFAULT_DORA_DAYS: i64 = 30;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::storage(&error, error.is_unavailable())
    }
}

fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::BadRequest(format!("bad query string: {}", rejection.body_text()))
}

/// An event as the native API returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventOut {
    pub id: String,
    /// RFC 3339, UTC.
    #[schema(example = "2017-11-01T12:00:00Z")]
    pub time: String,
    /// The same instant, UTC epoch milliseconds.
    pub time_ms: i64,
    pub kind: String,
    pub actor: Option<String>,
    pub service: Option<String>,
    pub environment: Option<String>,
    pub sha: Option<String>,
    pub result: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
}

impl From<StoredEvent> for EventOut {
    fn from(stored: StoredEvent) -> Self {
        let event = stored.event;
        EventOut {
            time: model::format_rfc3339(event.time_ms),
            id: event.id,
            time_ms: event.time_ms,
            kind: event.kind,
            actor: event.actor,
            service: event.service,
            environment: event.environment,
            sha: event.sha,
            result: event.result,
            attributes: event.attributes,
        }
    }
}

/// What `POST /v1/events` stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stored {
    /// Events stored now.
    pub stored: u64,
    /// Events whose id was already stored: left as they were.
    pub duplicates: u64,
    /// The ids of the events sent, in order (derived ones included).
    pub ids: Vec<String>,
}

/// Store one event (a JSON object) or several (a JSON array). An array is
/// stored whole or not at all: one invalid element rejects it, and the field
/// errors say which (`3.time`). An id already stored is not stored again.
#[utoipa::path(post, path = "/v1/events", tag = "events", operation_id = "events_create",
    request_body(content = model::EventsBody, description = "One event, or an array of events"),
    responses(
        (status = 201, description = "At least one event was new", body = Stored),
        (status = 200, description = "Every event was already stored", body = Stored),
        (status = 400, description = "Malformed JSON", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over the body limit (use NDJSON for bulk)", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid events; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<EventsState>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let inputs: Vec<(String, Value)> = match body {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        object @ Value::Object(_) => vec![(String::new(), object)],
        _ => {
            return Err(ApiError::BadRequest(
                "expected an event object or an array of event objects".into(),
            ));
        }
    };
    let mut events = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for (prefix, value) in inputs {
        let input = match serde_json::from_value::<EventInput>(value) {
            Ok(input) => input,
            Err(error) => {
                let field = if prefix.is_empty() {
                    "$".into()
                } else {
                    prefix
                };
                errors.push(FieldError::new(field, error.to_string()));
                continue;
            }
        };
        match input.into_event(&prefix) {
            Ok(event) => events.push(event),
            Err(mut field_errors) => errors.append(&mut field_errors),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let outcome = state.store.insert(&events).await?;
    let status = if outcome.inserted > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = Stored {
        stored: outcome.inserted,
        duplicates: outcome.duplicates,
        ids: events.into_iter().map(|e| e.id).collect(),
    };
    Ok((status, axum::Json(body)).into_response())
}

/// Store newline-delimited JSON events, read as they arrive (any size: the
/// body is never held whole). Into an empty events table the whole upload is
/// one transaction with the indexes built at its end; otherwise good lines are
/// stored in batches of 1,000, one transaction each. Bad lines are skipped and
/// reported by line number. Blank lines are ignored.
#[utoipa::path(post, path = "/v1/events:ndjson", tag = "events", operation_id = "events_create_ndjson",
    request_body(content(
            (Option<String> = "application/x-ndjson"),
            (Option<String> = "text/plain"),
        ),
        description = "One event object per line, as `POST /v1/events` takes one; whatever the \
            content type. An empty body stores nothing."),
    responses(
        (status = 200, description = "What was stored and what was rejected", body = IngestReport),
        (status = 400, description = "The body could not be read", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_ndjson(
    State(state): State<EventsState>,
    request: Request,
) -> Result<axum::Json<IngestReport>, ApiError> {
    let mut body = request.into_body();
    let mut ingest = NdjsonIngest::new(state.store.clone(), state.ingest);
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(frame) => frame.into_data(),
            Err(error) => {
                // What was read in full is stored, and the answer says how much.
                let so_far = ingest.finish().await?;
                return Err(ApiError::BadRequest(format!(
                    "could not read the request body ({error}); {} events were stored before that",
                    so_far.stored
                )));
            }
        };
        if let Ok(data) = data {
            ingest.push(&data).await?;
        }
    }
    Ok(axum::Json(ingest.finish().await?))
}

/// The query string of `/v1/events`, `/v1/engineers` and
/// `/v1/events/summary`, read alike: each route refuses what is not its own
/// (the document lists for each only its own: [`FilterDoc`], [`PageDoc`],
/// [`BucketDoc`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    engineer: Option<String>,
    service: Option<String>,
    environment: Option<String>,
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
    order: Option<String>,
    bucket: Option<String>,
    tz: Option<String>,
}

// The three below only document the parts of [`ListParams`]: the query is
// read into that, so their fields are never read.

/// The filters every query takes.
#[allow(dead_code)]
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterDoc {
    /// Inclusive start: RFC 3339, `YYYY-MM-DD` (midnight UTC), a date and time
    /// without offset (UTC) or followed by ` UTC` / ` +0200`, or seconds since the epoch.
    from: Option<String>,
    /// Exclusive end, in the forms of `from`.
    to: Option<String>,
    /// Only this engineer's events.
    actor: Option<String>,
    /// The same as `actor`.
    engineer: Option<String>,
    service: Option<String>,
    environment: Option<String>,
    /// One kind, or several separated by commas.
    kind: Option<String>,
}

/// Paging, for `GET /v1/events` only.
#[allow(dead_code)]
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageDoc {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Events per page, 1 to `events.max_per_page` (1000 unless configured; default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Newest first (the default) or oldest first.
    #[param(inline)]
    order: Option<SortOrder>,
}

#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum SortOrder {
    Desc,
    Asc,
}

/// Buckets, for `GET /v1/events/summary` only.
#[allow(dead_code)]
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BucketDoc {
    /// `day` (default), `week` (ISO, from Monday) or `month`.
    #[param(inline)]
    bucket: Option<BucketName>,
    /// The UTC offset buckets are cut in: `Z`/`UTC` (default), `+05:30`, `-0800`, `+02`.
    tz: Option<String>,
}

#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum BucketName {
    Day,
    Week,
    Month,
}

fn filter_of(params: &ListParams, errors: &mut Vec<FieldError>) -> EventFilter {
    let mut time = |name: &str, value: &Option<String>| {
        value.as_deref().and_then(|text| {
            model::parse_timestamp(text)
                .map_err(|message| errors.push(FieldError::new(name, message)))
                .ok()
        })
    };
    let from_ms = time("from", &params.from);
    let to_ms = time("to", &params.to);
    let actor = match text_param("actor", params.actor.as_deref(), errors) {
        Some(actor) => Some(actor),
        None => text_param("engineer", params.engineer.as_deref(), errors),
    };
    EventFilter {
        from_ms,
        to_ms,
        actor,
        service: text_param("service", params.service.as_deref(), errors),
        environment: text_param("environment", params.environment.as_deref(), errors),
        kinds: params
            .kind
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(|kind| text_param("kind", Some(kind), errors))
            .collect(),
    }
}

/// A text parameter, trimmed; `None` when absent or empty. One holding a NUL
/// character is an error naming it: no stored event can hold one, and
/// PostgreSQL refuses it (see [`model::refuse_nul`]).
fn text_param(name: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    match model::refuse_nul(value) {
        Ok(()) => Some(value.to_owned()),
        Err(message) => {
            errors.push(FieldError::new(name, message));
            None
        }
    }
}

/// A page of events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub events: Vec<EventOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One event, by the id it was stored under.
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events", operation_id = "events_fetch",
    params(("id" = String, Path, description = "The event's id (as given, or derived from its content)")),
    responses(
        (status = 200, description = "The event", body = EventOut),
        (status = 404, description = "No event has this id", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn fetch(
    State(state): State<EventsState>,
    Path(id): Path<String>,
) -> Result<axum::Json<EventOut>, ApiError> {
    let not_found = || ApiError::NotFound(format!("no event has id '{id}'"));
    // No stored id holds a NUL, and PostgreSQL refuses one as a parameter.
    if model::refuse_nul(&id).is_err() {
        return Err(not_found());
    }
    let event = state.store.get(&id).await?.ok_or_else(not_found)?;
    Ok(axum::Json(EventOut::from(event)))
}

/// Events matching the filters, newest first by default, a page at a time.
#[utoipa::path(get, path = "/v1/events", tag = "events", operation_id = "events_list",
    params(FilterDoc, PageDoc),
    responses(
        (status = 200, description = "One page", body = EventPage),
        (status = 400, description = "Unknown parameter, or one that is not a number where one is expected", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad parameter value", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<EventsState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<axum::Json<EventPage>, ApiError> {
    let Query(params) = params.map_err(query_error)?;
    let mut errors = Vec::new();
    let filter = filter_of(&params, &mut errors);
    let max = state.max_per_page;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT.min(max));
    if !(1..=max).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            format!("must be 1 to {max} (events.max_per_page)"),
        ));
    }
    let order = match params.order.as_deref() {
        None | Some("desc") => Order::Descending,
        Some("asc") => Order::Ascending,
        Some(_) => {
            errors.push(FieldError::new("order", "must be asc or desc"));
            Order::Descending
        }
    };
    let after = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let cursor = Cursor::decode(text);
            if cursor.is_none() {
                errors.push(FieldError::new(
                    "cursor",
                    "is not a cursor this API returned",
                ));
            }
            cursor
        }
    };
    if params.bucket.is_some() || params.tz.is_some() {
        errors.push(FieldError::new(
            "bucket",
            "bucket and tz belong to /v1/events/summary",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // One more than asked tells whether there is a next page.
    let page = Page {
        after,
        limit: limit.saturating_add(1),
        order,
    };
    let mut events = state.store.list(&filter, &page).await?;
    let next_cursor = if events.len() > limit as usize {
        events.truncate(limit as usize);
        events.last().map(|last| {
            Cursor {
                time_ms: last.event.time_ms,
                seq: last.seq,
            }
            .encode()
        })
    } else {
        None
    };
    Ok(axum::Json(EventPage {
        events: events.into_iter().map(EventOut::from).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EngineerOut {
    pub engineer: String,
    pub events: i64,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Engineers {
    pub engineers: Vec<EngineerOut>,
}

/// Engineers (actors) of the matching events, alphabetically, with their
/// event counts and first and last activity.
#[utoipa::path(get, path = "/v1/engineers", tag = "events", operation_id = "events_engineers",
    params(FilterDoc),
    responses(
        (status = 200, description = "Engineers", body = Engineers),
        (status = 400, description = "Unknown parameter, or one that is not a number where one is expected", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad parameter value", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn engineers(
    State(state): State<EventsState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<axum::Json<Engineers>, ApiError> {
    let Query(params) = params.map_err(query_error)?;
    let mut errors = Vec::new();
    let filter = filter_of(&params, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let actors = state.store.actors(&filter).await?;
    Ok(axum::Json(Engineers {
        engineers: actors
            .into_iter()
            .map(|a| EngineerOut {
                engineer: a.actor,
                events: a.events,
                first_seen: model::format_rfc3339(a.first_ms),
                last_seen: model::format_rfc3339(a.last_ms),
            })
            .collect(),
    }))
}

/// One bucket of the summary.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SummaryBucket {
    /// First instant of the bucket, in the requested offset.
    #[schema(example = "2017-11-01T00:00:00Z")]
    pub start: String,
    pub start_ms: i64,
    /// Events per kind (every kind of the summary, zeros included).
    pub counts: BTreeMap<String, i64>,
    pub total: i64,
    /// This bucket's count minus the previous bucket's, per kind: positive
    /// when activity grew.
    pub change: BTreeMap<String, i64>,
    pub total_change: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// `day`, `week` or `month`.
    pub bucket: String,
    /// The UTC offset the buckets are cut in.
    #[schema(example = "+00:00")]
    pub tz: String,
    /// The kinds counted.
    pub kinds: Vec<String>,
    /// Oldest first, every bucket of the range (empty ones included).
    pub buckets: Vec<SummaryBucket>,
}

/// Event counts per kind and calendar bucket, with the change from the
/// previous bucket. Without `from`/`to` the range is that of the matching
/// events; buckets are whole (a range starting mid-day still counts the
/// whole first day).
#[utoipa::path(get, path = "/v1/events/summary", tag = "events", operation_id = "events_summary",
    params(FilterDoc, BucketDoc),
    responses(
        (status = 200, description = "Counts per bucket", body = Summary),
        (status = 400, description = "Unknown parameter, or one that is not a number where one is expected", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad parameter value, or too many buckets", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn summary(
    State(state): State<EventsState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<axum::Json<Summary>, ApiError> {
    let Query(params) = params.map_err(query_error)?;
    let mut errors = Vec::new();
    let filter = filter_of(&params, &mut errors);
    let size = match params.bucket.as_deref() {
        None => BucketSize::Day,
        Some(text) => BucketSize::parse(text).unwrap_or_else(|| {
            errors.push(FieldError::new("bucket", "must be day, week or month"));
            BucketSize::Day
        }),
    };
    let offset = match params.tz.as_deref() {
        None => time::UtcOffset::UTC,
        Some(text) => model::parse_offset(text).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "tz",
                "must be a UTC offset such as Z, UTC, +02:00 or -0530 (time zone names are not supported)",
            ));
            time::UtcOffset::UTC
        }),
    };
    for (name, given) in [
        ("cursor", params.cursor.is_some()),
        ("limit", params.limit.is_some()),
        ("order", params.order.is_some()),
    ] {
        if given {
            errors.push(FieldError::new(name, "does not apply to a summary"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let calendar = Calendar { size, offset };
    let tz = offset_text(offset);
    let table = summary::count_buckets(
        state.store.as_ref(),
        &filter,
        &calendar,
        Lead::PreviousBucket,
    )
    .await
    .map_err(summary_error)?;
    let Some(table) = table else {
        return Ok(axum::Json(Summary {
            bucket: size.name().to_owned(),
            tz,
            kinds: Vec::new(),
            buckets: Vec::new(),
        }));
    };
    // Kinds shown: those asked for, or those present in the shown buckets.
    let shown = if filter.kinds.is_empty() {
        table.present_kinds(1)
    } else {
        table.kinds.clone()
    };
    let buckets = (1..table.counts.len())
        .map(|i| summary_bucket(&table, &shown, &calendar, i))
        .collect();
    Ok(axum::Json(Summary {
        bucket: size.name().to_owned(),
        tz,
        kinds: shown,
        buckets,
    }))
}

/// Bucket `i` of `table` (`i >= 1`), with its change from bucket `i - 1`.
fn summary_bucket(
    table: &BucketCounts,
    shown: &[String],
    calendar: &Calendar,
    i: usize,
) -> SummaryBucket {
    let counts: BTreeMap<String, i64> = shown
        .iter()
        .map(|k| (k.clone(), table.count(i, k)))
        .collect();
    let change: BTreeMap<String, i64> = shown
        .iter()
        .map(|k| (k.clone(), table.count(i, k) - table.count(i - 1, k)))
        .collect();
    let total: i64 = counts.values().sum();
    let previous_total: i64 = shown.iter().map(|k| table.count(i - 1, k)).sum();
    SummaryBucket {
        start: calendar.label(table.bounds[i]),
        start_ms: table.bounds[i],
        counts,
        total,
        change,
        total_change: total - previous_total,
    }
}

fn summary_error(error: SummaryError) -> ApiError {
    match error {
        SummaryError::Store(error) => error.into(),
        SummaryError::Buckets(error) => {
            ApiError::Validation(vec![FieldError::new("bucket", error.to_string())])
        }
    }
}

fn offset_text(offset: time::UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", h.abs(), m.abs())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DoraParams {
    /// Only this service's deployments and incidents (default: every service).
    service: Option<String>,
    /// Default: `production`, and events that name no environment.
    environment: Option<String>,
    /// Window start, in the forms of `/v1/events`' `from` (default: 30 days
    /// before `to`). Must be before `to`.
    from: Option<String>,
    /// Window end, exclusive (default: now).
    to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DoraScopeOut {
    pub service: Option<String>,
    /// `null`: `production` and events with no environment.
    pub environment: Option<String>,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DoraReport {
    pub scope: DoraScopeOut,
    #[serde(flatten)]
    pub metrics: DoraMetrics,
}

/// The four DORA metrics for a service and environment over a window, each
/// with its performance band (DORA 2023 clusters) and the numbers behind it.
#[utoipa::path(get, path = "/v1/dora", tag = "events", operation_id = "events_dora",
    params(DoraParams),
    responses(
        (status = 200, description = "The metrics", body = DoraReport),
        (status = 400, description = "Unknown parameter, or one that is not a number where one is expected", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad parameter value", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn dora_metrics(
    State(state): State<EventsState>,
    params: Result<Query<DoraParams>, QueryRejection>,
) -> Result<axum::Json<DoraReport>, ApiError> {
    let Query(params) = params.map_err(query_error)?;
    let mut errors = Vec::new();
    let mut time = |name: &str, value: &Option<String>| {
        value.as_deref().and_then(|text| {
            model::parse_timestamp(text)
                .map_err(|message| errors.push(FieldError::new(name, message)))
                .ok()
        })
    };
    let to_ms = time("to", &params.to).unwrap_or_else(crate::clock::now_ms);
    let from_ms = time("from", &params.from).unwrap_or(to_ms - DEFAULT_DORA_DAYS * DAY_MS);
    if from_ms >= to_ms {
        errors.push(FieldError::new("from", "must be before to"));
    }
    let scope = DoraScope {
        service: text_param("service", params.service.as_deref(), &mut errors),
        environment: text_param("environment", params.environment.as_deref(), &mut errors),
        from_ms,
        to_ms,
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let store = state.store.as_ref();
    let deployments = store.deployments(&scope).await?;
    // Only a service with deployments in the window has a use for its next one.
    let services: BTreeSet<Option<String>> =
        deployments.iter().map(|d| d.service.clone()).collect();
    let services: Vec<Option<String>> = services.into_iter().collect();
    let input = DoraInput {
        from_ms,
        to_ms,
        next_deployment_ms: store.next_deployments(&scope, &services).await?,
        deployments,
        incidents: store.incident_events(&scope).await?,
    };
    Ok(axum::Json(DoraReport {
        scope: DoraScopeOut {
            service: scope.service,
            environment: scope.environment,
            from: model::format_rfc3339(from_ms),
            to: model::format_rfc3339(to_ms),
        },
        metrics: dora::compute(&input),
    }))
}
