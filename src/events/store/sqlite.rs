//! Events in SQLite. Every write goes through one [`GroupCommit`] writer:
//! the writes that queue while a group commits share the next transaction
//! and its sync, and never contend for SQLite's one write lock.

use async_trait::async_trait;
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{AssertSqlSafe, Connection, QueryBuilder, SqliteConnection};

use super::{
    Batches, BucketCount, Dialect, EventBackend, EventFilter, InsertOutcome, StoreError,
    coarse_counts, coarse_width, count_rows, insert_each, nonzero, push_filter, record_delivery,
    recount_statements, slot_counts, slots_answer, within_buckets,
};
use crate::clock::now_ms;
use crate::db::group_commit::{GroupCommit, GroupCommitOptions, GroupWriter};
use crate::events::model::Event;

/// Rows per `INSERT` statement: 11 bound values each, well under SQLite's
/// limit of 32,766 variables.
const ROWS_PER_STATEMENT: usize = 500;

/// Page cache of the connection doing a bulk load, in KiB: the indexes it
/// builds at the end are sorted in it (the pool's default is 2 MiB).
const BULK_CACHE_KIB: i64 = 256 * 1024;

impl Dialect for Sqlite {
    /// `attributes` is stored as JSON text.
    fn json_text(column: &str) -> String {
        column.to_owned()
    }
}

/// Events in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteEventStore {
    pool: SqlitePool,
    writes: GroupCommit<SqliteWriter>,
}

impl SqliteEventStore {
    /// The store, with its writer task started on the current tokio runtime.
    pub fn new(pool: SqlitePool) -> Self {
        let writes = GroupCommit::spawn(
            SqliteWriter { pool: pool.clone() },
            GroupCommitOptions::new("events"),
        );
        SqliteEventStore { pool, writes }
    }
}

/// One write, as queued for the writer. The events are owned: the writer
/// runs on its own task.
#[derive(Debug)]
enum WriteJob {
    Insert(Vec<Event>),
    Delivery {
        source: String,
        delivery_id: String,
        events: Vec<Event>,
    },
}

/// Writes a group of jobs in one transaction, in order, and commits it
/// (`synchronous=FULL`: on disk before any caller is answered).
struct SqliteWriter {
    pool: SqlitePool,
}

impl GroupWriter for SqliteWriter {
    type Job = WriteJob;
    /// `None`: the delivery was already recorded (never for an insert).
    type Output = Option<InsertOutcome>;
    type Error = StoreError;

    async fn write_group(&self, jobs: &[WriteJob]) -> Result<Vec<Self::Output>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            let outcome = match job {
                WriteJob::Insert(events) => Some(insert_in(&mut tx, events).await?),
                WriteJob::Delivery {
                    source,
                    delivery_id,
                    events,
                } => {
                    if record_delivery::<Sqlite>(&mut tx, source, delivery_id).await? {
                        Some(insert_in(&mut tx, events).await?)
                    } else {
                        None
                    }
                }
            };
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
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
    let coarse = coarse_counts(&slots);
    // 4 values per row.
    for chunk in coarse.chunks(ROWS_PER_STATEMENT * 2) {
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO event_counts_coarse (width_ms, kind, slot_ms, n) ");
        qb.push_values(chunk, |mut row, (width, kind, slot, n)| {
            row.push_bind(*width)
                .push_bind(kind.clone())
                .push_bind(*slot)
                .push_bind(*n);
        });
        qb.push(
            " ON CONFLICT (width_ms, kind, slot_ms) \
             DO UPDATE SET n = event_counts_coarse.n + excluded.n",
        );
        qb.build().execute(&mut *conn).await?;
    }
    Ok(outcome)
}

/// A bulk load into the empty events table, inside the caller's `BEGIN
/// IMMEDIATE` transaction: the table's secondary indexes are dropped, the rows
/// inserted with only the unique `id` index kept up (duplicates are still
/// skipped), then the indexes rebuilt from their own definitions, each with
/// one sort, and the counters filled with one scan. Readers see none of it
/// until the commit (WAL).
async fn bulk_load(
    conn: &mut SqliteConnection,
    first: Vec<Event>,
    mut batches: Batches,
) -> Result<InsertOutcome, StoreError> {
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master \
         WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in &indexes {
        // A name from the schema itself, not from a request.
        let drop = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
        sqlx::query(AssertSqlSafe(drop)).execute(&mut *conn).await?;
    }
    let received = now_ms();
    let mut outcome = insert_rows(conn, first, received).await?;
    while let Some(batch) = batches.recv().await {
        outcome += insert_rows(conn, batch, received).await?;
    }
    // The indexes as they were, then the counters from the rows.
    let rebuild = indexes.into_iter().map(|(_, create)| create);
    for statement in rebuild.chain(recount_statements()) {
        sqlx::query(AssertSqlSafe(statement))
            .execute(&mut *conn)
            .await?;
    }
    Ok(outcome)
}

async fn set_cache_size(conn: &mut SqliteConnection, size: i64) -> Result<(), StoreError> {
    // A number, not a request's text: PRAGMA takes no bound values.
    let pragma = format!("PRAGMA cache_size = {size}");
    sqlx::query(AssertSqlSafe(pragma)).execute(conn).await?;
    Ok(())
}

/// Inserts the events, skipping ids already stored; counters are left to the caller.
async fn insert_rows(
    conn: &mut SqliteConnection,
    mut events: Vec<Event>,
    received: i64,
) -> Result<InsertOutcome, StoreError> {
    let mut outcome = InsertOutcome::default();
    while !events.is_empty() {
        let rest = events.split_off(events.len().min(ROWS_PER_STATEMENT));
        let chunk = std::mem::replace(&mut events, rest);
        let rows = chunk.len() as u64;
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO events (id, legacy_id, time_ms, kind, actor, service, environment, \
             sha, result, attributes, received_ms) ",
        );
        qb.push_values(chunk, |mut row, event| {
            let legacy_id = event.legacy_id();
            row.push_bind(event.id)
                .push_bind(legacy_id)
                .push_bind(event.time_ms)
                .push_bind(event.kind)
                .push_bind(event.actor)
                .push_bind(event.service)
                .push_bind(event.environment)
                .push_bind(event.sha)
                .push_bind(event.result)
                .push_bind(serde_json::Value::Object(event.attributes).to_string())
                .push_bind(received);
        });
        qb.push(" ON CONFLICT (id) DO NOTHING");
        let inserted = qb.build().execute(&mut *conn).await?.rows_affected();
        outcome += InsertOutcome {
            inserted,
            duplicates: rows - inserted,
        };
    }
    Ok(outcome)
}

#[async_trait]
impl EventBackend for SqliteEventStore {
    type Db = Sqlite;

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn insert(&self, events: &[Event]) -> Result<InsertOutcome, StoreError> {
        let outcome = self
            .writes
            .submit(WriteJob::Insert(events.to_vec()))
            .await?;
        Ok(outcome.unwrap_or_default())
    }

    async fn load(&self, mut batches: Batches) -> Result<InsertOutcome, StoreError> {
        let Some(first) = batches.recv().await else {
            return Ok(InsertOutcome::default());
        };
        let mut conn = self.pool.acquire().await?;
        // The write lock from the start, so that no event is stored between
        // the check that the table is empty and the load.
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let empty: bool = sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM events)")
            .fetch_one(&mut *tx)
            .await?;
        if !empty {
            tx.rollback().await?;
            drop(conn);
            return insert_each(self, first, batches).await;
        }
        let usual_cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut *tx)
            .await?;
        set_cache_size(&mut tx, -BULK_CACHE_KIB).await?;
        let loaded = bulk_load(&mut tx, first, batches).await;
        match loaded {
            Ok(_) => tx.commit().await?,
            Err(_) => tx.rollback().await?,
        }
        // The connection goes back to the pool as it came.
        set_cache_size(&mut conn, usual_cache).await?;
        loaded
    }

    async fn insert_delivery(
        &self,
        source: &str,
        delivery_id: &str,
        events: &[Event],
    ) -> Result<Option<InsertOutcome>, StoreError> {
        let job = WriteJob::Delivery {
            source: source.to_owned(),
            delivery_id: delivery_id.to_owned(),
            events: events.to_vec(),
        };
        self.writes.submit(job).await
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
            let mut qb: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT e.kind, e.time_ms FROM events e WHERE TRUE");
            push_filter(&mut qb, &within_buckets(filter, bounds, kinds));
            let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
            return Ok(count_rows(bounds, rows));
        }
        if slots_answer(filter, bounds) {
            // One sum of counters per bucket and kind, of the widest that fit.
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT b.key AS bucket, k.value AS kind, (SELECT COALESCE(SUM(c.n), 0) FROM ",
            );
            match coarse_width(bounds) {
                Some(width) => {
                    qb.push("event_counts_coarse c WHERE c.width_ms = ")
                        .push_bind(width)
                        .push(" AND ");
                }
                None => {
                    qb.push("event_counts c WHERE ");
                }
            }
            qb.push(
                "c.kind = k.value \
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
}
