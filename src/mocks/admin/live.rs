//! The request journal as it grows, as server-sent events: what the web
//! console's journal view reads. WireMock has no such route; its clients
//! poll `/__admin/requests`.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;

use super::TAG;
use super::error::AdminResult;
use super::wire::serve_event_json;
use crate::http::{ApiError, FieldError};
use crate::mocks::engine::Engine;
use crate::mocks::journal::LoggedRequest;

/// How often the journal is read again without being told of a change:
/// other processes sharing it on PostgreSQL do not tell this one.
const REREAD_EVERY: Duration = Duration::from_secs(2);

/// Requests sent first, when the query does not say.
const DEFAULT_BACKLOG: usize = 50;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// How many of the newest journaled requests to send first (default 50).
    #[param(minimum = 0, maximum = 18_446_744_073_709_551_615_u64)]
    limit: Option<usize>,
}

/// Journaled requests as they are answered: first the newest `limit`,
/// oldest first, then `event: ready`, then each new one. Every request is an
/// `event: request`, its `id` the serve event's, its data the serve event as
/// `GET /__admin/requests/{id}` gives it; `event: cleared` says the journal
/// was emptied.
#[utoipa::path(get, path = "/__admin/requests/events", tag = TAG, params(LiveQuery),
    responses(
        (status = 200, description = "`text/event-stream`: `event: request` with a serve event as data (the newest `limit`, then `event: ready`, then each new one), `event: cleared` when the journal is emptied",
            content_type = "text/event-stream"),
        (status = 400, description = "A `limit` that is not a whole number", body = super::error::WireMockErrors),
    ))]
pub async fn journal_events(
    State(engine): State<Arc<Engine>>,
    query: Result<Query<LiveQuery>, QueryRejection>,
) -> AdminResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::BadQuery(vec![FieldError::new("limit", rejection.body_text())])
    })?;
    let reader = LiveReader {
        changes: engine.journal.changes(),
        engine,
        backlog: Some(query.limit.unwrap_or(DEFAULT_BACKLOG)),
        sent: HashSet::new(),
        pending: VecDeque::new(),
    };
    let events = futures_util::stream::unfold(reader, |mut reader| async move {
        let event = reader.next_event().await;
        Some((Ok(event), reader))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// One client's view of the journal: what it has been sent.
struct LiveReader {
    engine: Arc<Engine>,
    changes: tokio::sync::watch::Receiver<u64>,
    /// Before the first read: how many entries to send from the past.
    backlog: Option<usize>,
    /// The answered entries the client has (those still in the journal).
    sent: HashSet<uuid::Uuid>,
    pending: VecDeque<Event>,
}

impl LiveReader {
    async fn next_event(&mut self) -> Event {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return event;
            }
            if self.backlog.is_none() {
                // Told of a change here, or a while passed (another process's).
                let _ = tokio::time::timeout(REREAD_EVERY, self.changes.changed()).await;
            }
            match self.engine.journal_entries().await {
                Ok(entries) => self.read(&entries),
                Err(error) => {
                    // Said once per read; the client keeps the stream.
                    let detail = format!("the journal could not be read: {error}");
                    self.pending
                        .push_back(Event::default().event("problem").data(detail));
                    tokio::time::sleep(REREAD_EVERY).await;
                }
            }
        }
    }

    /// Queues the answered entries the client does not have yet.
    fn read(&mut self, entries: &[Arc<LoggedRequest>]) {
        // An entry is sent once its response is known (a request still
        // being answered is sent at a later read).
        let answered: Vec<&Arc<LoggedRequest>> = entries
            .iter()
            .filter(|entry| entry.response.get().is_some())
            .collect();
        if answered.is_empty() && !self.sent.is_empty() {
            self.pending
                .push_back(Event::default().event("cleared").data("{}"));
        }
        let backlog = self.backlog.take();
        let skip = backlog.map_or(0, |backlog| answered.len().saturating_sub(backlog));
        for entry in answered.iter().skip(skip) {
            if !self.sent.contains(&entry.id) {
                self.pending.push_back(
                    Event::default()
                        .event("request")
                        .id(entry.id.to_string())
                        .data(serve_event_json(entry).to_string()),
                );
            }
        }
        if backlog.is_some() {
            // What came before the stream is sent: what follows is new.
            self.pending
                .push_back(Event::default().event("ready").data("{}"));
        }
        // Only what the journal still holds, so this stays within its size.
        self.sent = answered.iter().map(|entry| entry.id).collect();
    }
}
