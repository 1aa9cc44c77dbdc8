use async_trait::async_trait;
use sqlx::postgres::{PgPool, Postgres};
use sqlx::{PgConnection, QueryBuilder};

use super::{
    BucketCount, Dialect, EventBackend, EventFilter, InsertOutcome, StoreError, nonzero,
    push_filter, record_delivery, slot_counts, slots_answer, within_buckets,
};
use crate::clock::now_ms;
use crate::events::model::Event;

impl Dialect for Postgres {
    /// `attributes` is `jsonb`.
    fn json_text(column: &str) -> String {
        format!("{column}::text")
    }
}

/// Events in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresEventStore {
    pool: PgPool,
}

impl PostgresEventStore {
    pub fn new(pool: PgPool) -> Self {
        PostgresEventStore { pool }
    }
}

/// One statement per batch, whatever its size: each column is bound as one
/// array and `UNNEST` turns the arrays back into rows.
async fn insert_in(conn: &mut PgConnection, events: &[Event]) -> Result<InsertOutcome, StoreError> {
    let mut ids = Vec::with_capacity(events.len());
    let mut legacy_ids = Vec::with_capacity(events.len());
    let mut times = Vec::with_capacity(events.len());
    let mut kinds = Vec::with_capacity(events.len());
    let mut actors = Vec::with_capacity(events.len());
    let mut services = Vec::with_capacity(events.len());
    let mut environments = Vec::with_capacity(events.len());
    let mut shas = Vec::with_capacity(events.len());
    let mut results = Vec::with_capacity(events.len());
    let mut attributes = Vec::with_capacity(events.len());
    for event in events {
        ids.push(event.id.clone());
        legacy_ids.push(event.legacy_id());
        times.push(event.time_ms);
        kinds.push(event.kind.clone());
        actors.push(event.actor.clone());
        services.push(event.service.clone());
        environments.push(event.environment.clone());
        shas.push(event.sha.clone());
        results.push(event.result.clone());
        attributes.push(serde_json::Value::Object(event.attributes.clone()).to_string());
    }
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "INSERT INTO events (id, legacy_id, time_ms, kind, actor, service, environment, sha, \
           result, attributes, received_ms) \
         SELECT id, legacy_id, time_ms, kind, actor, service, environment, sha, result, \
           attributes::jsonb, $11 \
         FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], \
           $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) \
           AS t(id, legacy_id, time_ms, kind, actor, service, environment, sha, result, attributes) \
         ON CONFLICT (id) DO NOTHING RETURNING kind, time_ms",
    )
    .bind(ids)
    .bind(legacy_ids)
    .bind(times)
    .bind(kinds)
    .bind(actors)
    .bind(services)
    .bind(environments)
    .bind(shas)
    .bind(results)
    .bind(attributes)
    .bind(now_ms())
    .fetch_all(&mut *conn)
    .await?;
    let inserted = rows.len() as u64;
    // Sorted by (kind, slot): concurrent batches lock counters in one order.
    let slots = slot_counts(&rows);
    if !slots.is_empty() {
        let (kinds, rest): (Vec<String>, Vec<(i64, i64)>) =
            slots.into_iter().map(|(k, s, n)| (k, (s, n))).unzip();
        let (slot_ms, counts): (Vec<i64>, Vec<i64>) = rest.into_iter().unzip();
        sqlx::query(
            "INSERT INTO event_counts (kind, slot_ms, n) \
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[]) \
             ON CONFLICT (kind, slot_ms) DO UPDATE SET n = event_counts.n + EXCLUDED.n",
        )
        .bind(kinds)
        .bind(slot_ms)
        .bind(counts)
        .execute(&mut *conn)
        .await?;
    }
    Ok(InsertOutcome {
        inserted,
        duplicates: events.len() as u64 - inserted,
    })
}

#[async_trait]
impl EventBackend for PostgresEventStore {
    type Db = Postgres;

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn insert(&self, events: &[Event]) -> Result<InsertOutcome, StoreError> {
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
        if !record_delivery::<Postgres>(&mut tx, source, delivery_id).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let outcome = if events.is_empty() {
            InsertOutcome::default()
        } else {
            insert_in(&mut tx, events).await?
        };
        tx.commit().await?;
        Ok(Some(outcome))
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
        if slots_answer(filter, bounds) {
            // The 15-minute counters, summed per bucket.
            let rows: Vec<(i64, String, i64)> = sqlx::query_as(
                "SELECT (width_bucket(c.slot_ms, $1::bigint[]) - 1)::bigint, c.kind, SUM(c.n)::bigint \
                 FROM event_counts c \
                 WHERE c.slot_ms >= $2 AND c.slot_ms < $3 AND c.kind = ANY($4::text[]) \
                 GROUP BY 1, 2",
            )
            .bind(bounds.to_vec())
            .bind(bounds[0])
            .bind(bounds[bounds.len() - 1])
            .bind(kinds.to_vec())
            .fetch_all(&self.pool)
            .await?;
            return Ok(nonzero(rows));
        }
        // One pass over the range with a hash aggregate; `width_bucket` finds
        // each row's bucket among the (unevenly spaced) boundaries.
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT (width_bucket(e.time_ms, ");
        qb.push_bind(bounds.to_vec()).push(
            "::bigint[]) - 1)::bigint AS bucket, e.kind AS kind, COUNT(*) AS n FROM events e WHERE TRUE",
        );
        push_filter(&mut qb, &within_buckets(filter, bounds, kinds));
        qb.push(" GROUP BY 1, 2");
        let rows: Vec<(i64, String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
        Ok(nonzero(rows))
    }
}
