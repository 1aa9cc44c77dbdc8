//! Where events live: one trait, one implementation per backend. Both run the
//! same SQL where the dialects agree (`$n` placeholders work on both): that SQL
//! is here and in `sql.rs`, with the one `EventStore` impl, over any
//! [`EventBackend`].
//! Each backend file holds only what differs: its inserts (SQLite's through
//! group commit), its bucket counts, and its [`Dialect`].

mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Database as SqlxDatabase, Executor, FromRow, IntoArguments, Pool};

pub use postgres::PostgresEventStore;
pub(crate) use sql::{
    KINDS_SQL, actors_query, deployments_query, edge_query, incidents_query, list_query,
    next_deployment_query, push_filter,
};
pub use sqlite::SqliteEventStore;

use super::dora::{DeploymentRecord, IncidentEvent, NextDeployments};
use super::model::{Event, StoredEvent};
use crate::clock::now_ms;
use crate::db::Database;
use crate::db::binds::Binds;
use crate::db::group_commit::GroupCommitError;

/// Events per transaction when storing many.
pub const BATCH_SIZE: usize = 1000;

/// The batches of a load, as its reader sends them (see [`EventStore::load`]).
pub type Batches = tokio::sync::mpsc::Receiver<Vec<Event>>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("event storage failed: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("event storage failed: {0}")]
    Writer(#[from] GroupCommitError),
    #[error("a stored event is unreadable: {0}")]
    Corrupt(String),
    #[error("the event load stopped: {0}")]
    LoadStopped(String),
}

impl StoreError {
    /// Whether the database could not be reached or used at all: a 503 to
    /// retry rather than a 500 (see [`crate::db::is_unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Backend(error) if crate::db::is_unavailable(error))
    }
}

/// How many of the events given were new, and how many were already stored
/// (same id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    pub inserted: u64,
    pub duplicates: u64,
}

impl std::ops::AddAssign for InsertOutcome {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.duplicates += other.duplicates;
    }
}

/// Which events a query is about. Every field narrows; the default is all events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Inclusive, UTC epoch milliseconds.
    pub from_ms: Option<i64>,
    /// Exclusive.
    pub to_ms: Option<i64>,
    pub actor: Option<String>,
    pub service: Option<String>,
    pub environment: Option<String>,
    /// Any of these kinds; empty means every kind.
    pub kinds: Vec<String>,
}

/// Where a page starts: after the event at `(time_ms, seq)` in the page's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub time_ms: i64,
    pub seq: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.time_ms, self.seq)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (time, seq) = text.split_once('.')?;
        Some(Cursor {
            time_ms: time.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Oldest first.
    Ascending,
    /// Newest first.
    Descending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after: Option<Cursor>,
    pub limit: u32,
    pub order: Order,
}

/// One engineer (actor) and their activity.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ActorStats {
    pub actor: String,
    pub events: i64,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// The number of events of one kind in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketCount {
    /// Index of the bucket in the boundaries given.
    pub bucket: usize,
    pub kind: String,
    pub count: i64,
}

/// The deployments and incidents DORA needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoraScope {
    pub service: Option<String>,
    /// `None`: `production`, or no environment given.
    pub environment: Option<String>,
    pub from_ms: i64,
    pub to_ms: i64,
}

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Stores the events in one transaction; an event whose id is already
    /// stored is left as it was. Returns once the write is durable.
    async fn insert(&self, events: &[Event]) -> Result<InsertOutcome, StoreError>;

    /// Stores every batch received until the sender is dropped, and returns
    /// what was stored. Into an empty events table the whole load is one
    /// transaction, with the table's indexes and counters built once at its
    /// end (a bulk load: other writes of events wait for it); otherwise each
    /// batch is stored as [`EventStore::insert`] stores it.
    async fn load(&self, batches: Batches) -> Result<InsertOutcome, StoreError>;

    /// Records the webhook delivery `(source, delivery_id)` and stores its
    /// events, in one transaction. `None` when the delivery was already
    /// recorded: then nothing is stored.
    async fn insert_delivery(
        &self,
        source: &str,
        delivery_id: &str,
        events: &[Event],
    ) -> Result<Option<InsertOutcome>, StoreError>;

    /// One page of events matching `filter`, ordered by time then sequence.
    async fn list(&self, filter: &EventFilter, page: &Page)
    -> Result<Vec<StoredEvent>, StoreError>;

    /// The event stored under `id`.
    async fn get(&self, id: &str) -> Result<Option<StoredEvent>, StoreError>;

    /// Distinct actors of the matching events, alphabetically, with counts.
    async fn actors(&self, filter: &EventFilter) -> Result<Vec<ActorStats>, StoreError>;

    /// The times of the first and the last matching event.
    async fn span(&self, filter: &EventFilter) -> Result<Option<(i64, i64)>, StoreError>;

    /// Every kind stored, alphabetically.
    async fn kinds(&self) -> Result<Vec<String>, StoreError>;

    /// Counts per bucket and kind: bucket `i` is `[bounds[i], bounds[i+1])`.
    /// Only the given kinds are counted; zero counts may be left out.
    async fn bucket_counts(
        &self,
        filter: &EventFilter,
        bounds: &[i64],
        kinds: &[String],
    ) -> Result<Vec<BucketCount>, StoreError>;

    /// Deployments in the scope's window, oldest first, each with the start
    /// of its change (first commit, stage or merge of its sha) and whether a
    /// successful deployment of the same sha came before it.
    async fn deployments(&self, scope: &DoraScope) -> Result<Vec<DeploymentRecord>, StoreError>;

    /// For each of `services` (`None`: events that name no service), the
    /// time of its first successful deployment at or after the window's end
    /// in the scope's environment; services with none are left out.
    async fn next_deployments(
        &self,
        scope: &DoraScope,
        services: &[Option<String>],
    ) -> Result<NextDeployments, StoreError>;

    /// Every incident event of the scope's service and environment (any time).
    async fn incident_events(&self, scope: &DoraScope) -> Result<Vec<IncidentEvent>, StoreError>;
}

/// The store for the configured backend.
pub fn for_database(db: &Database) -> Arc<dyn EventStore> {
    match db {
        Database::Sqlite(pool) => Arc::new(SqliteEventStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(PostgresEventStore::new(pool.clone())),
    }
}

/// A row of `events` as both backends select it (`attributes` as JSON text).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    seq: i64,
    id: String,
    time_ms: i64,
    kind: String,
    actor: Option<String>,
    service: Option<String>,
    environment: Option<String>,
    sha: Option<String>,
    result: Option<String>,
    attributes: String,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;
    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        let attributes = match serde_json::from_str(&row.attributes) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err(StoreError::Corrupt(format!("attributes of {}", row.id))),
        };
        Ok(StoredEvent {
            seq: row.seq,
            event: Event {
                id: row.id,
                time_ms: row.time_ms,
                kind: row.kind,
                actor: row.actor,
                service: row.service,
                environment: row.environment,
                sha: row.sha,
                result: row.result,
                attributes,
            },
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeploymentRow {
    time_ms: i64,
    service: Option<String>,
    sha: Option<String>,
    result: Option<String>,
    change_started_ms: Option<i64>,
    redeploy: bool,
}

impl From<DeploymentRow> for DeploymentRecord {
    fn from(row: DeploymentRow) -> Self {
        DeploymentRecord {
            time_ms: row.time_ms,
            service: row.service,
            failed: super::model::is_failure(row.result.as_deref()),
            sha: row.sha,
            change_started_ms: row.change_started_ms,
            redeploy: row.redeploy,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct IncidentRow {
    id: String,
    time_ms: i64,
    service: Option<String>,
    kind: String,
    sha: Option<String>,
    attributes: String,
}

impl From<IncidentRow> for IncidentEvent {
    fn from(row: IncidentRow) -> Self {
        // An incident event names its incident in `attributes.incident_id`;
        // without one, the event is an incident of its own.
        let incident_id = serde_json::from_str::<serde_json::Value>(&row.attributes)
            .ok()
            .and_then(|attributes| match &attributes["incident_id"] {
                serde_json::Value::String(id) => Some(id.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or(row.id);
        IncidentEvent {
            incident_id,
            time_ms: row.time_ms,
            service: row.service,
            opened: row.kind == super::model::kind::INCIDENT_OPENED,
            sha: row.sha,
        }
    }
}

/// `(bucket, kind, count)` rows as counts, zeros left out.
pub(crate) fn nonzero(rows: Vec<(i64, String, i64)>) -> Vec<BucketCount> {
    rows.into_iter()
        .filter(|(_, _, count)| *count > 0)
        .map(|(bucket, kind, count)| BucketCount {
            bucket: usize::try_from(bucket).unwrap_or_default(),
            kind,
            count,
        })
        .collect()
}

/// The length of a slot of `event_counts`.
pub const SLOT_MS: i64 = 15 * 60 * 1000;

/// The slot holding `time_ms`.
pub(crate) fn slot_of(time_ms: i64) -> i64 {
    time_ms - time_ms.rem_euclid(SLOT_MS)
}

/// Inserted `(kind, time_ms)` rows as `(kind, slot_ms, n)`, sorted, so that
/// concurrent writers lock the counters in the same order.
pub(crate) fn slot_counts(rows: &[(String, i64)]) -> Vec<(String, i64, i64)> {
    let mut counts: std::collections::BTreeMap<(&str, i64), i64> =
        std::collections::BTreeMap::new();
    for (kind, time_ms) in rows {
        *counts
            .entry((kind.as_str(), slot_of(*time_ms)))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((kind, slot), n)| (kind.to_owned(), slot, n))
        .collect()
}

/// Whether a summary can add up slots: no filter but kinds (the slots know
/// nothing else) and boundaries on slot edges (any real UTC offset).
pub(crate) fn slots_answer(filter: &EventFilter, bounds: &[i64]) -> bool {
    filter.actor.is_none()
        && filter.service.is_none()
        && filter.environment.is_none()
        && bounds.iter().all(|b| b.rem_euclid(SLOT_MS) == 0)
}

/// Counts `(kind, time_ms)` rows per bucket of `bounds` (bucket `i` is
/// `[bounds[i], bounds[i+1])`).
pub(crate) fn count_rows(bounds: &[i64], rows: Vec<(String, i64)>) -> Vec<BucketCount> {
    let mut counts: std::collections::HashMap<(usize, String), i64> =
        std::collections::HashMap::new();
    for (kind, time_ms) in rows {
        let after = bounds.partition_point(|b| *b <= time_ms);
        if after == 0 || after >= bounds.len() {
            continue;
        }
        *counts.entry((after - 1, kind)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((bucket, kind), count)| BucketCount {
            bucket,
            kind,
            count,
        })
        .collect()
}

/// `filter` narrowed to the range of `bounds` and to `kinds`: the events a
/// `bucket_counts` answer counts.
pub(crate) fn within_buckets(
    filter: &EventFilter,
    bounds: &[i64],
    kinds: &[String],
) -> EventFilter {
    EventFilter {
        from_ms: bounds.first().copied(),
        to_ms: bounds.last().copied(),
        kinds: kinds.to_vec(),
        ..filter.clone()
    }
}

/// Widths of `event_counts_coarse`, the widest first: a UTC day, a UTC hour.
pub const COARSE_WIDTHS_MS: [i64; 2] = [24 * 3_600_000, 3_600_000];

/// The widest coarse counters whose slots fit every bound, if any: else the
/// 15-minute slots of `event_counts` (an offset of 30 or 45 minutes).
pub(crate) fn coarse_width(bounds: &[i64]) -> Option<i64> {
    COARSE_WIDTHS_MS
        .into_iter()
        .find(|width| bounds.iter().all(|b| b.rem_euclid(*width) == 0))
}

/// 15-minute `(kind, slot_ms, n)` counts as `(width_ms, kind, slot_ms, n)`
/// rows of the coarse counters, sorted (counters locked in one order).
pub(crate) fn coarse_counts(slots: &[(String, i64, i64)]) -> Vec<(i64, String, i64, i64)> {
    let mut counts: std::collections::BTreeMap<(i64, &str, i64), i64> =
        std::collections::BTreeMap::new();
    for (kind, slot, n) in slots {
        for width in COARSE_WIDTHS_MS {
            *counts
                .entry((width, kind.as_str(), slot - slot.rem_euclid(width)))
                .or_default() += n;
        }
    }
    counts
        .into_iter()
        .map(|((width, kind, slot), n)| (width, kind.to_owned(), slot, n))
        .collect()
}

/// Rebuilds both counter tables from every stored event: the end of a bulk
/// load into an empty table. A slot is [`slot_of`]'s, in SQL (`%` keeps the
/// sign of the time, so it is made positive first). Only constants are
/// written into the text.
pub(crate) fn recount_statements() -> [String; 4] {
    let [wide, narrow] = COARSE_WIDTHS_MS;
    [
        "DELETE FROM event_counts".to_owned(),
        "DELETE FROM event_counts_coarse".to_owned(),
        format!(
            "INSERT INTO event_counts (kind, slot_ms, n) \
             SELECT kind, time_ms - (((time_ms % {SLOT_MS}) + {SLOT_MS}) % {SLOT_MS}), COUNT(*) \
             FROM events GROUP BY 1, 2"
        ),
        format!(
            "INSERT INTO event_counts_coarse (width_ms, kind, slot_ms, n) \
             SELECT w.width_ms, c.kind, \
               c.slot_ms - (((c.slot_ms % w.width_ms) + w.width_ms) % w.width_ms), SUM(c.n) \
             FROM event_counts c CROSS JOIN \
               (SELECT CAST({wide} AS BIGINT) AS width_ms UNION ALL SELECT {narrow}) w \
             GROUP BY 1, 2, 3"
        ),
    ]
}

/// Stores a load batch by batch, each as [`EventStore::insert`] does: the
/// way into a table that already holds events.
pub(crate) async fn insert_each<S: EventBackend>(
    store: &S,
    first: Vec<Event>,
    mut batches: Batches,
) -> Result<InsertOutcome, StoreError> {
    let mut outcome = store.insert(&first).await?;
    while let Some(batch) = batches.recv().await {
        if !batch.is_empty() {
            outcome += store.insert(&batch).await?;
        }
    }
    Ok(outcome)
}

/// What the backends' shared SQL differs in.
pub trait Dialect: Binds {
    /// The JSON column `column` as text.
    fn json_text(column: &str) -> String;
}

/// The columns of an [`EventRow`], from `events e`.
fn event_columns<DB: Dialect>() -> String {
    format!(
        "e.seq AS seq, e.id AS id, e.time_ms AS time_ms, e.kind AS kind, e.actor AS actor, \
         e.service AS service, e.environment AS environment, e.sha AS sha, e.result AS result, \
         {} AS attributes",
        DB::json_text("e.attributes")
    )
}

/// Records the webhook delivery `(source, delivery_id)` inside the caller's
/// transaction; `false` when it was already recorded. A concurrent copy of the
/// same delivery waits on the row for this transaction to end.
pub(crate) async fn record_delivery<'c, DB>(
    conn: &'c mut DB::Connection,
    source: &str,
    delivery_id: &str,
) -> Result<bool, StoreError>
where
    DB: Binds,
    <DB as SqlxDatabase>::Arguments: IntoArguments<DB>,
    (String,): for<'r> FromRow<'r, DB::Row>,
    &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut qb =
        DB::query("INSERT INTO event_deliveries (source, delivery_id, received_ms) VALUES (");
    DB::bind_text(&mut qb, source.to_owned());
    qb.push(", ");
    DB::bind_text(&mut qb, delivery_id.to_owned());
    qb.push(", ");
    DB::bind_i64(&mut qb, now_ms());
    qb.push(") ON CONFLICT DO NOTHING RETURNING source");
    let recorded: Option<String> = qb.build_query_scalar().fetch_optional(conn).await?;
    Ok(recorded.is_some())
}

/// A backend's own part of an [`EventStore`]: its pool, its writes and its
/// bucket counts, which differ for measured reasons. Every other method is the
/// shared SQL of this module, the same for both (the `impl` below).
#[async_trait]
pub trait EventBackend: Send + Sync + 'static {
    type Db: Dialect;

    fn pool(&self) -> &Pool<Self::Db>;

    /// [`EventStore::insert`], of one event or more.
    async fn insert(&self, events: &[Event]) -> Result<InsertOutcome, StoreError>;

    /// [`EventStore::load`].
    async fn load(&self, batches: Batches) -> Result<InsertOutcome, StoreError>;

    /// [`EventStore::insert_delivery`].
    async fn insert_delivery(
        &self,
        source: &str,
        delivery_id: &str,
        events: &[Event],
    ) -> Result<Option<InsertOutcome>, StoreError>;

    /// [`EventStore::bucket_counts`].
    async fn bucket_counts(
        &self,
        filter: &EventFilter,
        bounds: &[i64],
        kinds: &[String],
    ) -> Result<Vec<BucketCount>, StoreError>;
}

#[async_trait]
impl<B> EventStore for B
where
    B: EventBackend,
    <B::Db as SqlxDatabase>::Arguments: IntoArguments<B::Db>,
    for<'c> &'c mut <B::Db as SqlxDatabase>::Connection: Executor<'c, Database = B::Db>,
    EventRow: for<'r> FromRow<'r, <B::Db as SqlxDatabase>::Row>,
    ActorStats: for<'r> FromRow<'r, <B::Db as SqlxDatabase>::Row>,
    DeploymentRow: for<'r> FromRow<'r, <B::Db as SqlxDatabase>::Row>,
    IncidentRow: for<'r> FromRow<'r, <B::Db as SqlxDatabase>::Row>,
    (i64,): for<'r> FromRow<'r, <B::Db as SqlxDatabase>::Row>,
    (String,): for<'r> FromRow<'r, <B::Db as SqlxDatabase>::Row>,
    (Option<String>, i64): for<'r> FromRow<'r, <B::Db as SqlxDatabase>::Row>,
{
    async fn insert(&self, events: &[Event]) -> Result<InsertOutcome, StoreError> {
        if events.is_empty() {
            return Ok(InsertOutcome::default());
        }
        EventBackend::insert(self, events).await
    }

    async fn load(&self, batches: Batches) -> Result<InsertOutcome, StoreError> {
        EventBackend::load(self, batches).await
    }

    async fn insert_delivery(
        &self,
        source: &str,
        delivery_id: &str,
        events: &[Event],
    ) -> Result<Option<InsertOutcome>, StoreError> {
        EventBackend::insert_delivery(self, source, delivery_id, events).await
    }

    async fn list(
        &self,
        filter: &EventFilter,
        page: &Page,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows: Vec<EventRow> = list_query::<B::Db>(&event_columns::<B::Db>(), filter, page)
            .build_query_as()
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(StoredEvent::try_from).collect()
    }

    async fn get(&self, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let mut query = B::Db::query(format!(
            "SELECT {} FROM events e WHERE e.id = ",
            event_columns::<B::Db>()
        ));
        B::Db::bind_text(&mut query, id.to_owned());
        let row: Option<EventRow> = query.build_query_as().fetch_optional(self.pool()).await?;
        row.map(StoredEvent::try_from).transpose()
    }

    async fn actors(&self, filter: &EventFilter) -> Result<Vec<ActorStats>, StoreError> {
        Ok(actors_query::<B::Db>(filter)
            .build_query_as()
            .fetch_all(self.pool())
            .await?)
    }

    async fn span(&self, filter: &EventFilter) -> Result<Option<(i64, i64)>, StoreError> {
        let first: Option<i64> = edge_query::<B::Db>(filter, false)
            .build_query_scalar()
            .fetch_optional(self.pool())
            .await?;
        let last: Option<i64> = edge_query::<B::Db>(filter, true)
            .build_query_scalar()
            .fetch_optional(self.pool())
            .await?;
        Ok(first.zip(last))
    }

    async fn kinds(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(KINDS_SQL).fetch_all(self.pool()).await?)
    }

    async fn bucket_counts(
        &self,
        filter: &EventFilter,
        bounds: &[i64],
        kinds: &[String],
    ) -> Result<Vec<BucketCount>, StoreError> {
        EventBackend::bucket_counts(self, filter, bounds, kinds).await
    }

    async fn deployments(&self, scope: &DoraScope) -> Result<Vec<DeploymentRecord>, StoreError> {
        let rows: Vec<DeploymentRow> = deployments_query::<B::Db>(scope)
            .build_query_as()
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(DeploymentRecord::from).collect())
    }

    async fn next_deployments(
        &self,
        scope: &DoraScope,
        services: &[Option<String>],
    ) -> Result<NextDeployments, StoreError> {
        // One short lookup per service: the services of a window are few.
        let mut next = NextDeployments::new();
        for service in services {
            let time_ms: Option<i64> = next_deployment_query::<B::Db>(scope, service.as_deref())
                .build_query_scalar()
                .fetch_optional(self.pool())
                .await?;
            if let Some(time_ms) = time_ms {
                next.insert(service.clone(), time_ms);
            }
        }
        Ok(next)
    }

    async fn incident_events(&self, scope: &DoraScope) -> Result<Vec<IncidentEvent>, StoreError> {
        let attributes = <B::Db as Dialect>::json_text("d.attributes");
        let rows: Vec<IncidentRow> = incidents_query::<B::Db>(&attributes, scope)
            .build_query_as()
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(IncidentEvent::from).collect())
    }
}
