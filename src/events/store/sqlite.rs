use async_trait::async_trait;
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{QueryBuilder, SqliteConnection};

use super::{
    ActorStats, BucketCount, DeploymentRow, DoraScope, EventFilter, EventRow, EventStore,
    IncidentRow, InsertOutcome, KINDS_SQL, Page, StoreError, actors_query, count_rows,
    deployments_query, edge_query, incidents_query, list_query, next_deployment_query, nonzero,
    now_ms, push_filter, slot_counts, slots_answer,
};
use crate::events::dora::{DeploymentRecord, IncidentEvent};
use crate::events::model::{Event, StoredEvent};

/// Rows per `INSERT` statement: 11 bound values each, well under SQLite's
/// limit of 32,766 variables.
const ROWS_PER_STATEMENT: usize = 500;

const COLUMNS: &str = "e.seq AS seq, e.id AS id, e.time_ms AS time_ms, e.kind AS kind, \
    e.actor AS actor, e.service AS service, e.environment AS environment, e.sha AS sha, \
    e.result AS result, e.attributes AS attributes";

/// Events in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteEventStore {
    pool: SqlitePool,
}

impl SqliteEventStore {
    pub fn new(pool: SqlitePool) -> Self {
        SqliteEventStore { pool }
    }
}

async fn insert_in(
    conn: &mut SqliteConnection,
    events: &[Event],
) -> Result<InsertOutcome, StoreError> {
    let received = now_ms();
    let mut outcome = InsertOutcome::default();
    let mut inserted_rows = Vec::with_capacity(events.len());
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO events (id, legacy_id, time_ms, kind, actor, service, environment, \
             sha, result, attributes, received_ms) ",
        );
        qb.push_values(chunk, |mut row, event| {
            row.push_bind(event.id.clone())
                .push_bind(event.legacy_id())
                .push_bind(event.time_ms)
                .push_bind(event.kind.clone())
                .push_bind(event.actor.clone())
                .push_bind(event.service.clone())
                .push_bind(event.environment.clone())
                .push_bind(event.sha.clone())
                .push_bind(event.result.clone())
                .push_bind(serde_json::Value::Object(event.attributes.clone()).to_string())
                .push_bind(received);
        });
        // Only rows actually inserted come back: duplicates are not counted.
        qb.push(" ON CONFLICT (id) DO NOTHING RETURNING kind, time_ms");
        let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
        let inserted = rows.len() as u64;
        outcome += InsertOutcome {
            inserted,
            duplicates: chunk.len() as u64 - inserted,
        };
        inserted_rows.extend(rows);
    }
    let slots = slot_counts(&inserted_rows);
    // 3 values per row.
    for chunk in slots.chunks(ROWS_PER_STATEMENT * 3) {
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO event_counts (kind, slot_ms, n) ");
        qb.push_values(chunk, |mut row, (kind, slot, n)| {
            row.push_bind(kind.clone()).push_bind(*slot).push_bind(*n);
        });
        qb.push(" ON CONFLICT (kind, slot_ms) DO UPDATE SET n = event_counts.n + excluded.n");
        qb.build().execute(&mut *conn).await?;
    }
    Ok(outcome)
}

#[async_trait]
impl EventStore for SqliteEventStore {
    async fn insert(&self, events: &[Event]) -> Result<InsertOutcome, StoreError> {
        if events.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let mut tx = self.pool.begin().await?;
        let outcome = insert_in(&mut tx, events).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn insert_delivery(
        &self,
        source: &str,
        delivery_id: &str,
        events: &[Event],
    ) -> Result<Option<InsertOutcome>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let recorded = sqlx::query(
            "INSERT INTO event_deliveries (source, delivery_id, received_ms) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(source)
        .bind(delivery_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if recorded == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let outcome = insert_in(&mut tx, events).await?;
        tx.commit().await?;
        Ok(Some(outcome))
    }

    async fn list(
        &self,
        filter: &EventFilter,
        page: &Page,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut qb = list_query::<Sqlite>(COLUMNS, filter, page);
        let rows: Vec<EventRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(StoredEvent::try_from).collect()
    }

    async fn actors(&self, filter: &EventFilter) -> Result<Vec<ActorStats>, StoreError> {
        let mut qb = actors_query::<Sqlite>(filter);
        let rows: Vec<(String, i64, i64, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(actor, events, first_ms, last_ms)| ActorStats {
                actor,
                events,
                first_ms,
                last_ms,
            })
            .collect())
    }

    async fn span(&self, filter: &EventFilter) -> Result<Option<(i64, i64)>, StoreError> {
        let first: Option<i64> = edge_query::<Sqlite>(filter, false)
            .build_query_scalar()
            .fetch_optional(&self.pool)
            .await?;
        let last: Option<i64> = edge_query::<Sqlite>(filter, true)
            .build_query_scalar()
            .fetch_optional(&self.pool)
            .await?;
        Ok(first.zip(last))
    }

    async fn kinds(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(KINDS_SQL).fetch_all(&self.pool).await?)
    }

    async fn bucket_counts(
        &self,
        filter: &EventFilter,
        bounds: &[i64],
        kinds: &[String],
    ) -> Result<Vec<BucketCount>, StoreError> {
        if bounds.len() < 2 || kinds.is_empty() {
            return Ok(Vec::new());
        }
        let pairs: Vec<[i64; 2]> = bounds.windows(2).map(|w| [w[0], w[1]]).collect();
        if filter.actor.is_some() || filter.service.is_some() || filter.environment.is_some() {
            // A narrow filter: read its few rows through its own index and
            // bucket them here, rather than check each row of every kind's range.
            let filter = EventFilter {
                from_ms: Some(bounds[0]),
                to_ms: bounds.last().copied(),
                kinds: kinds.to_vec(),
                ..filter.clone()
            };
            let mut qb: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT e.kind, e.time_ms FROM events e WHERE TRUE");
            push_filter(&mut qb, &filter);
            let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
            return Ok(count_rows(bounds, rows));
        }
        if slots_answer(filter, bounds) {
            // One sum of 15-minute counters per bucket and kind.
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT b.key AS bucket, k.value AS kind, \
                   (SELECT COALESCE(SUM(c.n), 0) FROM event_counts c WHERE c.kind = k.value \
                      AND c.slot_ms >= (b.value ->> 0) AND c.slot_ms < (b.value ->> 1)) AS n \
                 FROM json_each(",
            );
            qb.push_bind(serde_json::to_string(&pairs).unwrap_or_default())
                .push(") b, json_each(")
                .push_bind(serde_json::to_string(kinds).unwrap_or_default())
                .push(") k");
            let rows: Vec<(i64, String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
            return Ok(nonzero(rows));
        }
        let filter = EventFilter {
            kinds: Vec::new(),
            ..filter.clone()
        };
        // One index range count per bucket and kind (on `events_kind_time`):
        // no sort, no read of the table.
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT b.key AS bucket, k.value AS kind, \
               (SELECT COUNT(*) FROM events e WHERE e.kind = k.value \
                  AND e.time_ms >= (b.value ->> 0) AND e.time_ms < (b.value ->> 1)",
        );
        push_filter(&mut qb, &filter);
        qb.push(") AS n FROM json_each(")
            .push_bind(serde_json::to_string(&pairs).unwrap_or_default())
            .push(") b, json_each(")
            .push_bind(serde_json::to_string(kinds).unwrap_or_default())
            .push(") k");
        let rows: Vec<(i64, String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
        Ok(nonzero(rows))
    }

    async fn deployments(&self, scope: &DoraScope) -> Result<Vec<DeploymentRecord>, StoreError> {
        let rows: Vec<DeploymentRow> = deployments_query::<Sqlite>(scope)
            .build_query_as()
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(DeploymentRecord::from).collect())
    }

    async fn next_deployment(&self, scope: &DoraScope) -> Result<Option<i64>, StoreError> {
        Ok(next_deployment_query::<Sqlite>(scope)
            .build_query_scalar()
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn incident_events(&self, scope: &DoraScope) -> Result<Vec<IncidentEvent>, StoreError> {
        let rows: Vec<IncidentRow> = incidents_query::<Sqlite>("d.attributes", scope)
            .build_query_as()
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(IncidentEvent::from).collect())
    }
}
