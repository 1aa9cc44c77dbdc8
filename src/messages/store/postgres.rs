//! Messages in PostgreSQL: a commit returns once the WAL is flushed
//! (`synchronous_commit` at its default, `on`).

use std::collections::HashSet;
use std::sync::Weak;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgConnection, PgListener, PgPool};

use super::{
    CachedStore, MessageInfo, MessageStore, PutOutcome, StoreError, StoredMessage, WriteJob,
    WriteOutcome,
};
use crate::db::group_commit::{GroupCommit, GroupWriter};
use crate::messages::model::{Content, Digest};

/// Where deleted digests are announced (migration 0006's trigger).
const DELETED_CHANNEL: &str = "echobase_messages_deleted";
/// Pause before listening again after the listener failed.
const RELISTEN_PAUSE: Duration = Duration::from_secs(1);

/// Most rows in one multi-row `INSERT` (4 bound values each, padded to a
/// power of two).
const INSERT_CHUNK: usize = 128;

/// The outcome of each put of `chunk`, given the digests the `INSERT` reported
/// as inserted: the first put of a digest that was inserted created it, any
/// other put of the same digest found it stored.
fn put_outcomes(chunk: &[WriteJob], inserted: Vec<Vec<u8>>, out: &mut Vec<WriteOutcome>) {
    let mut inserted: HashSet<Vec<u8>> = inserted.into_iter().collect();
    for job in chunk {
        if let WriteJob::Put { content, .. } = job {
            let created = inserted.remove(content.digest().as_bytes().as_slice());
            out.push(WriteOutcome::Put(if created {
                PutOutcome::Created
            } else {
                PutOutcome::AlreadyStored
            }));
        }
    }
}

/// Messages in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresMessageStore {
    pool: PgPool,
    writes: GroupCommit<PostgresWriter>,
}

impl PostgresMessageStore {
    /// Starts the store's writer task (on the current tokio runtime).
    pub fn new(pool: PgPool) -> Self {
        let writes = GroupCommit::spawn(
            PostgresWriter {
                pool: pool.clone(),
                connection: tokio::sync::Mutex::new(None),
            },
            super::group_options(),
        );
        PostgresMessageStore { pool, writes }
    }
}

/// Writes a group of puts and deletes in one transaction, in order.
#[derive(Debug)]
pub(super) struct PostgresWriter {
    pool: PgPool,
    /// The writer's own connection, taken out of the pool (detached, so
    /// closing the pool never waits for it): every group on one connection
    /// finds its few `INSERT` shapes already prepared.
    connection: tokio::sync::Mutex<Option<PgConnection>>,
}

impl GroupWriter for PostgresWriter {
    type Job = WriteJob;
    type Output = WriteOutcome;
    type Error = StoreError;

    async fn write_group(&self, jobs: &[WriteJob]) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut held = self.connection.lock().await;
        let connection = crate::db::held_connection(&mut held, &self.pool).await?;
        let written = Self::write_on(connection, jobs).await;
        if written.is_err() {
            // It may be broken: the next group starts on a fresh one.
            *held = None;
        }
        written
    }
}

impl PostgresWriter {
    async fn write_on(
        connection: &mut PgConnection,
        jobs: &[WriteJob],
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let is_put = |job: &WriteJob| matches!(job, WriteJob::Put { .. });
        let mut outcomes = Vec::with_capacity(jobs.len());
        // The usual group, puts that fit one statement: run alone, the
        // statement is its own transaction (one commit, one sync), and
        // BEGIN and COMMIT cost two round trips less.
        if jobs.len() <= INSERT_CHUNK && jobs.iter().all(is_put) {
            let mut insert = insert_statement(jobs);
            let inserted: Vec<Vec<u8>> = insert
                .build_query_scalar()
                .fetch_all(&mut *connection)
                .await?;
            put_outcomes(jobs, inserted, &mut outcomes);
            return Ok(outcomes);
        }
        let mut tx = sqlx::Connection::begin(&mut *connection).await?;
        let mut rest = jobs;
        while let Some(first) = rest.first() {
            if let WriteJob::Delete(digest) = first {
                let deleted = sqlx::query("DELETE FROM messages WHERE digest = $1")
                    .bind(digest.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                outcomes.push(WriteOutcome::Delete(deleted > 0));
                rest = &rest[1..];
                continue;
            }
            let puts = rest
                .iter()
                .take(INSERT_CHUNK)
                .take_while(|job| is_put(job))
                .count();
            let (chunk, after) = rest.split_at(puts);
            let mut insert = insert_statement(chunk);
            let inserted: Vec<Vec<u8>> = insert.build_query_scalar().fetch_all(&mut *tx).await?;
            put_outcomes(chunk, inserted, &mut outcomes);
            rest = after;
        }
        tx.commit().await?;
        Ok(outcomes)
    }
}

/// One multi-row `INSERT` of the puts in `chunk` (at most
/// `INSERT_CHUNK`), reporting the digests it inserted. The rows are
/// padded to a power of two by repeating the last one (a repeat does
/// nothing: `ON CONFLICT DO NOTHING`), so that at most 8 statement
/// shapes exist and all stay prepared in each connection's cache.
fn insert_statement(chunk: &[WriteJob]) -> sqlx::QueryBuilder<Postgres> {
    let rows: Vec<(&Content, &str)> = chunk
        .iter()
        .filter_map(|job| match job {
            WriteJob::Put {
                content,
                content_type,
            } => Some((content, content_type.as_str())),
            WriteJob::Delete(_) => None,
        })
        .collect();
    let shape = rows.len().next_power_of_two();
    let padded = (0..shape).filter_map(|i| rows.get(i.min(rows.len().saturating_sub(1))));
    let now = crate::clock::now_ms();
    let mut insert = sqlx::QueryBuilder::<Postgres>::new(
        "INSERT INTO messages (digest, content, content_type, created_at_ms) ",
    );
    insert.push_values(padded, |mut row, (content, content_type)| {
        row.push_bind(content.digest().as_bytes().as_slice())
            .push_bind(content.bytes().as_ref())
            .push_bind(*content_type)
            .push_bind(now);
    });
    insert.push(" ON CONFLICT (digest) DO NOTHING RETURNING digest");
    insert
}

#[async_trait::async_trait]
impl MessageStore for PostgresMessageStore {
    async fn put(&self, content: Content, content_type: String) -> Result<PutOutcome, StoreError> {
        super::submit_put(&self.writes, content, content_type).await
    }

    async fn get(&self, digest: &Digest) -> Result<Option<StoredMessage>, StoreError> {
        let row: Option<(Vec<u8>, String)> =
            sqlx::query_as("SELECT content, content_type FROM messages WHERE digest = $1")
                .bind(digest.as_bytes().as_slice())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(StoredMessage::from))
    }

    async fn info(&self, digest: &Digest) -> Result<Option<MessageInfo>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT CAST(length(content) AS BIGINT), content_type \
             FROM messages WHERE digest = $1",
        )
        .bind(digest.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(MessageInfo::from))
    }

    async fn sizes(&self, digests: &[Digest]) -> Result<Vec<(Digest, u64)>, StoreError> {
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<Postgres>::new(
            "SELECT digest, CAST(length(content) AS BIGINT) FROM messages \
             WHERE digest IN (",
        );
        let mut list = query.separated(", ");
        for digest in digests {
            list.push_bind(digest.as_bytes().as_slice());
        }
        query.push(")");
        let rows: Vec<(Vec<u8>, i64)> = query.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|(digest, size)| {
                let digest = Digest::from_bytes(&digest).ok_or(StoreError::CorruptDigest)?;
                Ok((digest, u64::try_from(size).unwrap_or_default()))
            })
            .collect()
    }

    async fn delete(&self, digest: &Digest) -> Result<bool, StoreError> {
        super::submit_delete(&self.writes, *digest).await
    }
}

/// Evicts from `cache` every message deleted by any process on this database,
/// until the pool closes or the cache is gone. Holds one pooled connection.
///
/// Whenever the listener was not listening (at start, after a lost
/// connection) the cache is cleared, as deletes may have been missed.
pub async fn follow_deletes(pool: PgPool, cache: Weak<CachedStore>) {
    while !pool.is_closed() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for deleted messages; retrying");
                tokio::time::sleep(RELISTEN_PAUSE).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(DELETED_CHANNEL).await {
            tracing::warn!(%error, "cannot listen for deleted messages; retrying");
            tokio::time::sleep(RELISTEN_PAUSE).await;
            continue;
        }
        let Some(listening) = cache.upgrade() else {
            return;
        };
        listening.clear();
        drop(listening);
        loop {
            let notification = match listener.try_recv().await {
                Ok(Some(notification)) => notification,
                // The connection dropped (the next call reconnects): what was
                // deleted meanwhile is unknown.
                Ok(None) => match cache.upgrade() {
                    Some(cache) => {
                        cache.clear();
                        continue;
                    }
                    None => return,
                },
                // Includes the pool closing at shutdown.
                Err(_) => break,
            };
            let Some(cache) = cache.upgrade() else {
                return;
            };
            if let Ok(digest) = Digest::parse(notification.payload()) {
                cache.evict(&digest);
            }
        }
    }
}
