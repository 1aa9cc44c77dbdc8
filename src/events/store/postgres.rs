use async_trait::async_trait;
use sqlx::postgres::{PgPool, Postgres};
use sqlx::{AssertSqlSafe, PgConnection, QueryBuilder};

use super::{
    Batches, BucketCount, Dialect, EventBackend, EventFilter, InsertOutcome, StoreError,
    coarse_counts, coarse_width, insert_each, nonzero, push_filter, record_delivery,
    recount_statements, slot_counts, slots_answer, within_buckets,
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
    let coarse = coarse_counts(&slots);
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
        upsert_coarse_counts(conn, &coarse).await?;
    }
    Ok(InsertOutcome {
        inserted,
        duplicates: events.len() as u64 - inserted,
    })
}

async fn upsert_coarse_counts(
    conn: &mut PgConnection,
    coarse: &[(i64, String, i64, i64)],
) -> Result<(), StoreError> {
    let mut widths = Vec::with_capacity(coarse.len());
    let mut kinds = Vec::with_capacity(coarse.len());
    let mut slots = Vec::with_capacity(coarse.len());
    let mut counts = Vec::with_capacity(coarse.len());
    for (width, kind, slot, n) in coarse {
        widths.push(*width);
        kinds.push(kind.clone());
        slots.push(*slot);
        counts.push(*n);
    }
    sqlx::query(
        "INSERT INTO event_counts_coarse (width_ms, kind, slot_ms, n) \
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) \
         ON CONFLICT (width_ms, kind, slot_ms) \
         DO UPDATE SET n = event_counts_coarse.n + EXCLUDED.n",
    )
    .bind(widths)
    .bind(kinds)
    .bind(slots)
    .bind(counts)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How long a bulk load waits for the events table before it loads batch
/// by batch instead.
const BULK_LOCK_WAIT: &str = "1s";

/// Takes the events table for the caller's transaction (waiting at most
/// [`BULK_LOCK_WAIT`]) and tells whether it is empty: `false` when it holds
/// events or could not be had. On `false` the transaction must be rolled back.
async fn lock_empty_table(conn: &mut PgConnection) -> Result<bool, StoreError> {
    // `SET LOCAL` takes no bound value; the text is a constant.
    let wait = format!("SET LOCAL lock_timeout = '{BULK_LOCK_WAIT}'");
    sqlx::query(AssertSqlSafe(wait)).execute(&mut *conn).await?;
    match sqlx::query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await
    {
        Ok(_) => {}
        Err(error) if sqlstate(&error).as_deref() == Some("55P03") => return Ok(false),
        Err(error) => return Err(error.into()),
    }
    sqlx::query("SET LOCAL lock_timeout = 0")
        .execute(&mut *conn)
        .await?;
    Ok(
        sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM events)")
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// The SQLSTATE of a database error.
fn sqlstate(error: &sqlx::Error) -> Option<String> {
    Some(error.as_database_error()?.code()?.into_owned())
}

fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

async fn add_constraints(
    conn: &mut PgConnection,
    constraints: &[(String, String)],
) -> Result<(), sqlx::Error> {
    for (name, definition) in constraints {
        let add = format!(
            "ALTER TABLE events ADD CONSTRAINT {} {definition}",
            quoted(name)
        );
        sqlx::query(AssertSqlSafe(add)).execute(&mut *conn).await?;
    }
    Ok(())
}

const COPY_EVENTS_SQL: &str = "COPY events (id, legacy_id, time_ms, kind, actor, service, \
     environment, sha, result, attributes, received_ms) FROM STDIN";

/// Streams the load into the table with one `COPY`; returns the rows copied.
async fn copy_rows(
    conn: &mut PgConnection,
    first: Vec<Event>,
    batches: &mut Batches,
) -> Result<u64, sqlx::Error> {
    let received = now_ms();
    let mut copy = conn.copy_in_raw(COPY_EVENTS_SQL).await?;
    let mut buffer = Vec::new();
    let mut next = Some(first);
    while let Some(events) = next {
        buffer.clear();
        for event in &events {
            copy_line(&mut buffer, event, received);
        }
        if let Err(error) = copy.send(buffer.as_slice()).await {
            // The connection is likely gone; the error that matters is the first.
            let _ = copy.abort("echobase could not send the load").await;
            return Err(error);
        }
        next = batches.recv().await;
    }
    copy.finish().await
}

/// One row of `COPY ... FROM STDIN` in text format: tab-separated, `\N` for NULL.
fn copy_line(buffer: &mut Vec<u8>, event: &Event, received: i64) {
    use std::io::Write;
    copy_text(buffer, Some(&event.id));
    buffer.push(b'\t');
    match event.legacy_id() {
        Some(id) => {
            let _ = write!(buffer, "{id}");
        }
        None => buffer.extend_from_slice(b"\\N"),
    }
    let _ = write!(buffer, "\t{}\t", event.time_ms);
    copy_text(buffer, Some(&event.kind));
    for field in [
        &event.actor,
        &event.service,
        &event.environment,
        &event.sha,
        &event.result,
    ] {
        buffer.push(b'\t');
        copy_text(buffer, field.as_deref());
    }
    buffer.push(b'\t');
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(EscapedCopyText(buffer), &event.attributes);
    let _ = writeln!(buffer, "\t{received}");
}

fn copy_text(buffer: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => buffer.extend_from_slice(b"\\N"),
        Some(text) => escape_copy_text(buffer, text.as_bytes()),
    }
}

/// COPY's text format gives backslash, tab, newline and carriage return a
/// meaning: each is written escaped.
fn escape_copy_text(buffer: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            b'\\' => buffer.extend_from_slice(b"\\\\"),
            b'\t' => buffer.extend_from_slice(b"\\t"),
            b'\n' => buffer.extend_from_slice(b"\\n"),
            b'\r' => buffer.extend_from_slice(b"\\r"),
            _ => buffer.push(byte),
        }
    }
}

/// A writer that escapes what it is given for COPY's text format.
struct EscapedCopyText<'b>(&'b mut Vec<u8>);

impl std::io::Write for EscapedCopyText<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        escape_copy_text(self.0, bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A bulk load into the empty events table, which the caller's transaction
/// holds: its constraints and indexes are dropped, the rows copied in
/// (`COPY`, text format), then the constraints and indexes built again from
/// their own definitions, one sort each, and the counters filled with one
/// scan. Ids repeated within the load are found when the unique constraint
/// is built: then the later copies are deleted and it is built again.
async fn bulk_load(
    conn: &mut PgConnection,
    first: Vec<Event>,
    mut batches: Batches,
) -> Result<InsertOutcome, StoreError> {
    let constraints: Vec<(String, String)> = sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'events'::regclass AND contype IN ('p', 'u') ORDER BY contype",
    )
    .fetch_all(&mut *conn)
    .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.relname::text, pg_get_indexdef(i.oid) FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         WHERE x.indrelid = 'events'::regclass \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
    )
    .fetch_all(&mut *conn)
    .await?;
    // Names and definitions come from the catalog, not from a request.
    for (name, _) in &constraints {
        let drop = format!("ALTER TABLE events DROP CONSTRAINT {}", quoted(name));
        sqlx::query(AssertSqlSafe(drop)).execute(&mut *conn).await?;
    }
    for (name, _) in &indexes {
        let drop = format!("DROP INDEX {}", quoted(name));
        sqlx::query(AssertSqlSafe(drop)).execute(&mut *conn).await?;
    }
    let copied = copy_rows(conn, first, &mut batches).await?;
    sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut *conn)
        .await?;
    sqlx::query("SAVEPOINT constraints")
        .execute(&mut *conn)
        .await?;
    let mut duplicates = 0;
    if let Err(error) = add_constraints(conn, &constraints).await {
        if !error
            .as_database_error()
            .is_some_and(|error| error.is_unique_violation())
        {
            return Err(error.into());
        }
        sqlx::query("ROLLBACK TO SAVEPOINT constraints")
            .execute(&mut *conn)
            .await?;
        // The first copy of each id stays, as a later insert would be skipped.
        duplicates =
            sqlx::query("DELETE FROM events e USING events f WHERE e.id = f.id AND e.seq > f.seq")
                .execute(&mut *conn)
                .await?
                .rows_affected();
        add_constraints(conn, &constraints).await?;
    }
    // The indexes as they were, then the counters from the rows.
    let rebuild = indexes.into_iter().map(|(_, create)| create);
    for statement in rebuild.chain(recount_statements()) {
        sqlx::query(AssertSqlSafe(statement))
            .execute(&mut *conn)
            .await?;
    }
    // Plans for the new rows now, not when autovacuum comes by.
    sqlx::query("ANALYZE events").execute(&mut *conn).await?;
    Ok(InsertOutcome {
        inserted: copied - duplicates,
        duplicates,
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

    async fn load(&self, mut batches: Batches) -> Result<InsertOutcome, StoreError> {
        let Some(first) = batches.recv().await else {
            return Ok(InsertOutcome::default());
        };
        let mut tx = self.pool.begin().await?;
        if !lock_empty_table(&mut tx).await? {
            tx.rollback().await?;
            return insert_each(self, first, batches).await;
        }
        let outcome = bulk_load(&mut tx, first, batches).await?;
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
            // The widest counters that fit, summed per bucket.
            let mut qb: QueryBuilder<Postgres> =
                QueryBuilder::new("SELECT (width_bucket(c.slot_ms, ");
            qb.push_bind(bounds.to_vec())
                .push("::bigint[]) - 1)::bigint, c.kind, SUM(c.n)::bigint FROM ");
            match coarse_width(bounds) {
                Some(width) => {
                    qb.push("event_counts_coarse c WHERE c.width_ms = ")
                        .push_bind(width);
                }
                None => {
                    qb.push("event_counts c WHERE TRUE");
                }
            }
            qb.push(" AND c.slot_ms >= ")
                .push_bind(bounds[0])
                .push(" AND c.slot_ms < ")
                .push_bind(bounds[bounds.len() - 1])
                .push(" AND c.kind = ANY(")
                .push_bind(kinds.to_vec())
                .push("::text[]) GROUP BY 1, 2");
            let rows: Vec<(i64, String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
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
