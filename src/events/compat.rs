//! The original `event_descriptor` routes, with its record and summary shapes
//! and its `{"status": 40001, "message": ...}` errors.
//!
//! How the original's rows map onto events: `action` is the event's `kind`,
//! `engineer` its `actor`, `sha` its `sha`, `date` its time (seconds, kept as
//! milliseconds). The original integer `id` is the event's id (as decimal text)
//! and comes back as the integer `id`; an event whose id is not a decimal
//! integer shows its sequence number instead. These routes see only `stage`
//! and `deploy` events (the only actions the original knew), from every
//! service and environment, newest first.
//!
//! Unlike the original, dates are compared as times, not as text, and every
//! value is a bound parameter.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use serde::{Deserialize, Serialize};

use super::EventsState;
use super::buckets::{BucketSize, Calendar};
use super::model::{self, kind};
use super::store::{EventFilter, EventStore, Order, Page, StoreError};
use super::summary::{self, Lead, SummaryError};
use crate::http::original_error::{OriginalError, OriginalShape, Shape};

/// The exact 400 body of the original when a date is missing.
pub const MISSING_DATE_MESSAGE: &str = "Bad Request: Either fromDate or toDate is not provided";
const DAY_MS: i64 = 86_400_000;
/// Rows fetched per query while building a full listing.
const LIST_CHUNK: u32 = 5000;

/// The original's error body: the schema the OpenAPI document shows for
/// what [`CompatError`] writes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CompatErrorBody {
    /// `40001` for a bad request, `50001` when storage failed.
    status: u32,
    message: String,
}

/// The original events service answered errors as
/// `{"status": 40001 | 50001, "message": ...}`.
pub struct EventsService;

impl OriginalShape for EventsService {
    const SHAPE: Shape = Shape::StatusAndMessage;
}

pub type CompatError = OriginalError<EventsService>;

impl CompatError {
    fn bad_request(message: impl Into<String>) -> Self {
        CompatError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<StoreError> for CompatError {
    fn from(error: StoreError) -> Self {
        CompatError::internal(
            "reading events",
            error,
            "Internal Server Error: the events could not be read",
        )
    }
}

/// One event as the original listed it.
#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CompatRecord {
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    #[schema(example = "2017-11-01 12:00:00")]
    fmdate: String,
    #[schema(example = 15095376001234_i64)]
    id: i64,
    sha: Option<String>,
    /// `stage` or `deploy`.
    action: String,
    engineer: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CompatEngineer {
    engineer: String,
}

/// One day of the original's summary. The `...Increase` fields are the
/// previous day's count minus this day's: the sign is inverted from what the
/// name says, as in the original (the oldest day's previous count is 0).
/// The native `/v1/events/summary` reports a correctly signed change.
#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompatDay {
    /// `YYYY-MM-DD`, UTC.
    fmdate: String,
    /// `stage` events that day.
    staging: i64,
    /// `deploy` events that day.
    deployed: i64,
    staging_activity_increase: i64,
    deploy_activity_increase: i64,
}

/// Both are required: without one (or with an empty one) the answer is the
/// original's exact 400.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct RangeParams {
    /// Inclusive start, `YYYY-MM-DD HH:MM:SS` (UTC; or with `T`); `YYYY-MM-DD` means midnight.
    #[param(required = true)]
    from_date: Option<String>,
    /// Inclusive end, `YYYY-MM-DD HH:MM:SS` (UTC; or with `T`); `YYYY-MM-DD` means the whole day.
    #[param(required = true)]
    to_date: Option<String>,
}

/// The day of `GET /summaryevents/{day}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DayParam {
    /// `YYYY-MM-DD` (UTC).
    #[param(example = "2017-11-01")]
    day: String,
}

fn compat_kinds() -> Vec<String> {
    vec![kind::STAGE.to_owned(), kind::DEPLOY.to_owned()]
}

async fn list_all(
    store: &dyn EventStore,
    filter: &EventFilter,
) -> Result<Vec<CompatRecord>, StoreError> {
    let mut records = Vec::new();
    let mut page = Page {
        after: None,
        limit: LIST_CHUNK,
        order: Order::Descending,
    };
    loop {
        let events = store.list(filter, &page).await?;
        let full = events.len() == LIST_CHUNK as usize;
        page.after = events.last().map(|last| super::store::Cursor {
            time_ms: last.event.time_ms,
            seq: last.seq,
        });
        records.extend(events.into_iter().map(|stored| CompatRecord {
            fmdate: model::format_compat_datetime(stored.event.time_ms),
            id: stored.compat_id(),
            sha: stored.event.sha,
            action: stored.event.kind,
            engineer: stored.event.actor,
        }));
        if !full {
            return Ok(records);
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`), or `YYYY-MM-DD`: the first and the
/// last millisecond it covers.
fn parse_compat_time(name: &str, text: &str) -> Result<(i64, i64), CompatError> {
    let text = text.trim();
    let bad = || {
        CompatError::bad_request(format!(
            "Bad Request: {name} must look like YYYY-MM-DD HH:MM:SS"
        ))
    };
    let bytes = text.as_bytes();
    let looks_right = (text.len() == 10 || text.len() == 19)
        && bytes.get(4) == Some(&b'-')
        && bytes.get(7) == Some(&b'-');
    if !looks_right || text.contains(['+', 'Z', 'z']) {
        return Err(bad());
    }
    let start = model::parse_timestamp(text).map_err(|_| bad())?;
    let span = if text.len() == 10 { DAY_MS } else { 1000 };
    Ok((start, start + span - 1))
}

/// Events between two times, inclusive, newest first.
#[utoipa::path(get, path = "/listevents", tag = "events (compatible)", operation_id = "listevents",
    params(RangeParams),
    responses(
        (status = 200, description = "The `stage` and `deploy` events in the range", body = Vec<CompatRecord>),
        (status = 400, description = "A date is missing (the original's exact body) or malformed", body = CompatErrorBody,
            example = json!({"status": 40001, "message": MISSING_DATE_MESSAGE})),
    ))]
pub async fn list_events(
    State(state): State<EventsState>,
    params: Result<Query<RangeParams>, QueryRejection>,
) -> Result<axum::Json<Vec<CompatRecord>>, CompatError> {
    let Query(params) =
        params.map_err(|e| CompatError::bad_request(format!("Bad Request: {}", e.body_text())))?;
    let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let (Some(from), Some(to)) = (non_empty(params.from_date), non_empty(params.to_date)) else {
        return Err(CompatError::bad_request(MISSING_DATE_MESSAGE));
    };
    let (from_ms, _) = parse_compat_time("fromDate", &from)?;
    let (_, to_last_ms) = parse_compat_time("toDate", &to)?;
    let filter = EventFilter {
        from_ms: Some(from_ms),
        to_ms: Some(to_last_ms + 1),
        kinds: compat_kinds(),
        ..EventFilter::default()
    };
    Ok(axum::Json(list_all(state.store.as_ref(), &filter).await?))
}

/// Every engineer who staged or deployed, alphabetically.
#[utoipa::path(get, path = "/listevents/getengineers", tag = "events (compatible)", operation_id = "listevents_getengineers",
    responses((status = 200, description = "Engineers", body = Vec<CompatEngineer>,
        example = json!([{"engineer": "alaia"}, {"engineer": "alfred"}]))))]
pub async fn get_engineers(
    State(state): State<EventsState>,
) -> Result<axum::Json<Vec<CompatEngineer>>, CompatError> {
    let filter = EventFilter {
        kinds: compat_kinds(),
        ..EventFilter::default()
    };
    let actors = state.store.actors(&filter).await?;
    Ok(axum::Json(
        actors
            .into_iter()
            .map(|a| CompatEngineer { engineer: a.actor })
            .collect(),
    ))
}

/// One engineer's events, newest first (`[]` for an unknown engineer).
#[utoipa::path(get, path = "/listevents/{engineer}", tag = "events (compatible)", operation_id = "listevents_engineer",
    params(("engineer" = String, Path, description = "The engineer's name, exactly")),
    responses((status = 200, description = "The engineer's `stage` and `deploy` events", body = Vec<CompatRecord>)))]
pub async fn list_engineer_events(
    State(state): State<EventsState>,
    Path(engineer): Path<String>,
) -> Result<axum::Json<Vec<CompatRecord>>, CompatError> {
    // No stored name holds a NUL, and PostgreSQL refuses one as a parameter:
    // an engineer nobody knows, answered as the original did.
    if model::refuse_nul(&engineer).is_err() {
        return Ok(axum::Json(Vec::new()));
    }
    let filter = EventFilter {
        actor: Some(engineer),
        kinds: compat_kinds(),
        ..EventFilter::default()
    };
    Ok(axum::Json(list_all(state.store.as_ref(), &filter).await?))
}

/// Stage and deploy counts for the UTC day starting at `start_ms`.
async fn day_counts(store: &dyn EventStore, start_ms: i64) -> Result<(i64, i64), StoreError> {
    let counts = store
        .bucket_counts(
            &EventFilter::default(),
            &[start_ms, start_ms + DAY_MS],
            &compat_kinds(),
        )
        .await?;
    let of = |name: &str| {
        counts
            .iter()
            .filter(|c| c.kind == name)
            .map(|c| c.count)
            .sum()
    };
    Ok((of(kind::STAGE), of(kind::DEPLOY)))
}

fn utc_days() -> Calendar {
    Calendar {
        size: BucketSize::Day,
        offset: time::UtcOffset::UTC,
    }
}

/// Days with `(stage, deploy)` counts, oldest first, into the original's rows, newest first.
fn quirky_rows(days: Vec<(i64, i64, i64)>, mut previous: (i64, i64)) -> Vec<CompatDay> {
    let mut rows = Vec::with_capacity(days.len());
    for (start_ms, staging, deployed) in days {
        rows.push(CompatDay {
            fmdate: model::format_compat_date(start_ms),
            staging,
            deployed,
            // Previous minus current: the original's inverted sign, kept on purpose.
            staging_activity_increase: previous.0 - staging,
            deploy_activity_increase: previous.1 - deployed,
        });
        previous = (staging, deployed);
    }
    rows.reverse();
    rows
}

/// Stage and deploy counts per UTC day, newest first, with the original's
/// inverted "increase" (previous day minus this day).
#[utoipa::path(get, path = "/summaryevents", tag = "events (compatible)", operation_id = "summaryevents",
    responses((status = 200, description = "One row per day that has events", body = Vec<CompatDay>,
        example = json!([{"fmdate": "2017-11-01", "staging": 100, "deployed": 94,
            "stagingActivityIncrease": 10, "deployActivityIncrease": 9}])),
        (status = 400, description = "The stored events span more than 5,000 days", body = CompatErrorBody)))]
pub async fn summary(
    State(state): State<EventsState>,
) -> Result<axum::Json<Vec<CompatDay>>, CompatError> {
    let store = state.store.as_ref();
    let filter = EventFilter {
        kinds: compat_kinds(),
        ..EventFilter::default()
    };
    let table = match summary::count_buckets(store, &filter, &utc_days(), Lead::None).await {
        Ok(Some(table)) => table,
        Ok(None) => return Ok(axum::Json(Vec::new())),
        Err(SummaryError::Store(error)) => return Err(error.into()),
        Err(SummaryError::Buckets(error)) => {
            return Err(CompatError::bad_request(format!("Bad Request: {error}")));
        }
    };
    let mut days: Vec<(i64, i64, i64)> = (0..table.counts.len())
        .map(|i| {
            (
                table.bounds[i],
                table.count(i, kind::STAGE),
                table.count(i, kind::DEPLOY),
            )
        })
        .collect();
    // The original had a row only for days with events; "previous" is the
    // previous such row.
    days.retain(|(_, staging, deployed)| staging + deployed > 0);
    Ok(axum::Json(quirky_rows(days, (0, 0))))
}

/// The summary row of one UTC day (`[]` when it has no events).
#[utoipa::path(get, path = "/summaryevents/{day}", tag = "events (compatible)", operation_id = "summaryevents_day",
    params(DayParam),
    responses(
        (status = 200, description = "A one-element list, or `[]`", body = Vec<CompatDay>),
        (status = 400, description = "Not a `YYYY-MM-DD` date", body = CompatErrorBody),
    ))]
pub async fn summary_day(
    State(state): State<EventsState>,
    Path(DayParam { day }): Path<DayParam>,
) -> Result<axum::Json<Vec<CompatDay>>, CompatError> {
    let store = state.store.as_ref();
    let bad = || CompatError::bad_request("Bad Request: the day must look like YYYY-MM-DD");
    if day.len() != 10 || day.as_bytes().get(4) != Some(&b'-') {
        return Err(bad());
    }
    let start = model::parse_timestamp(&day).map_err(|_| bad())?;
    let (staging, deployed) = day_counts(store, start).await?;
    if staging + deployed == 0 {
        return Ok(axum::Json(Vec::new()));
    }
    // The previous day that had events, as in the full summary.
    let before = EventFilter {
        to_ms: Some(start),
        kinds: compat_kinds(),
        ..EventFilter::default()
    };
    let previous = match store.span(&before).await? {
        Some((_, last)) => {
            let previous_start = utc_days()
                .floor(last)
                .map_err(|e| CompatError::bad_request(format!("Bad Request: {e}")))?;
            day_counts(store, previous_start).await?
        }
        None => (0, 0),
    };
    Ok(axum::Json(quirky_rows(
        vec![(start, staging, deployed)],
        previous,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increases_are_previous_minus_current_and_the_oldest_day_starts_from_zero() {
        let rows = quirky_rows(vec![(0, 110, 103), (DAY_MS, 100, 94)], (0, 0));
        assert_eq!(rows[0].fmdate, "1970-01-02");
        assert_eq!(
            (
                rows[0].staging_activity_increase,
                rows[0].deploy_activity_increase
            ),
            (10, 9)
        );
        assert_eq!(
            (
                rows[1].staging_activity_increase,
                rows[1].deploy_activity_increase
            ),
            (-110, -103)
        );
    }

    #[test]
    fn compat_times_cover_a_second_or_a_whole_day() {
        let (from, to) = parse_compat_time("fromDate", "2017-11-01 12:00:00").unwrap();
        assert_eq!((from, to), (1_509_537_600_000, 1_509_537_600_999));
        let (from, to) = parse_compat_time("toDate", "2017-11-01").unwrap();
        assert_eq!(to - from, DAY_MS - 1);
        for bad in [
            "2017-11-01T12:00:00Z",
            "yesterday",
            "2017-11-01 12:00",
            "1509537600",
        ] {
            assert!(parse_compat_time("fromDate", bad).is_err(), "{bad}");
        }
    }
}
