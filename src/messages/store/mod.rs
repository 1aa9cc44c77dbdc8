//! Where messages live: one trait, one implementation per backend, and one
//! contract test suite (`store_contract` in `tests/messages.rs`) run against
//! both.
//!
//! Every write (put or delete) goes through a [`GroupCommit`] writer: on
//! SQLite this is what makes writes fast (one transaction and one fsync for
//! all the writes that queued while the previous group committed) and keeps
//! them from contending for the single write lock; on PostgreSQL it turns
//! concurrent single-row inserts into multi-row ones. Reads go straight to the
//! pool. [`CachedStore`] keeps hot messages in memory in front of either.
//!
//! The two layouts differ: PostgreSQL keeps a unique index on the digest
//! (several processes share it); SQLite appends rows without one and finds
//! them through [`digest_index`] in memory (one process owns the file), as a
//! random-key index page written per message capped durable writes there.

mod cache;
mod digest_index;
mod postgres;
mod sqlite;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;

pub use cache::CachedStore;
pub use postgres::PostgresMessageStore;
pub use sqlite::SqliteMessageStore;

use super::model::{Content, Digest};
use crate::db::Database;
use crate::db::group_commit::{GroupCommitError, GroupCommitOptions};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("message storage failed: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("message storage failed: {0}")]
    Writer(#[from] GroupCommitError),
    #[error("the database holds a digest that is not 32 bytes")]
    CorruptDigest,
    #[error("cannot take the messages store of {path}: {reason}")]
    Lock { path: String, reason: String },
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub content: Bytes,
    pub content_type: String,
}

/// What is known of a stored message without reading its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    pub size: u64,
    pub content_type: String,
}

/// Whether a `put` stored new content or found it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    AlreadyStored,
}

#[async_trait]
pub trait MessageStore: Send + Sync + 'static {
    /// Stores `content` under its digest; returns once the write is durable
    /// (committed, and synced where the backend syncs). Storing the same
    /// content again changes nothing (the first content type stays).
    async fn put(&self, content: Content, content_type: String) -> Result<PutOutcome, StoreError>;

    /// The message with this digest, if any.
    async fn get(&self, digest: &Digest) -> Result<Option<StoredMessage>, StoreError>;

    /// Size and content type of the message with this digest, if any.
    async fn info(&self, digest: &Digest) -> Result<Option<MessageInfo>, StoreError>;

    /// Of `digests`, those that are stored, with their sizes (in no particular order).
    async fn sizes(&self, digests: &[Digest]) -> Result<Vec<(Digest, u64)>, StoreError>;

    /// Removes a message; `false` if there was none. Durable like `put`.
    async fn delete(&self, digest: &Digest) -> Result<bool, StoreError>;
}

/// Sizes of the store's pieces, from the `messages.*` settings.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Bytes of message content kept in memory; 0 turns the cache off.
    pub cache_bytes: usize,
}

/// The store for the configured backend, behind the cache.
///
/// On PostgreSQL several processes may share the database: the cache then
/// follows the deletes of all of them (LISTEN/NOTIFY, one pooled connection).
/// On SQLite, one process serves one file.
pub async fn for_database(
    db: &Database,
    options: StoreOptions,
) -> Result<Arc<dyn MessageStore>, StoreError> {
    let backend: Arc<dyn MessageStore> = match db {
        Database::Sqlite(pool) => Arc::new(SqliteMessageStore::open(pool.clone()).await?),
        Database::Postgres(pool) => Arc::new(PostgresMessageStore::new(pool.clone())),
    };
    if options.cache_bytes == 0 {
        return Ok(backend);
    }
    let cached = Arc::new(CachedStore::new(backend, options.cache_bytes));
    if let Database::Postgres(pool) = db {
        tokio::spawn(postgres::follow_deletes(
            pool.clone(),
            Arc::downgrade(&cached),
        ));
    }
    Ok(cached)
}

/// One write, as queued for the group-commit writer.
#[derive(Debug)]
enum WriteJob {
    Put {
        content: Content,
        content_type: String,
    },
    Delete(Digest),
}

#[derive(Debug)]
enum WriteOutcome {
    Put(PutOutcome),
    Delete(bool),
}

/// Most rows in one multi-row `INSERT` (4 bound values each, padded to a
/// power of two).
const INSERT_CHUNK: usize = 128;

fn group_options() -> GroupCommitOptions {
    GroupCommitOptions {
        max_group: 512,
        ..GroupCommitOptions::new("messages")
    }
}

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

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

fn unexpected_outcome() -> StoreError {
    StoreError::Writer(GroupCommitError::ResultCount {
        writer: "messages",
        expected: 1,
        got: 0,
    })
}

/// The PostgreSQL store's body (kept generic over the sqlx backend: it is
/// plain SQL with `$n` placeholders and `ON CONFLICT ... DO NOTHING RETURNING`).
macro_rules! sql_message_store {
    ($store:ident, $writer:ident, $db:ty, $pool:ty, $name:literal) => {
        #[doc = concat!("Messages in ", $name, ".")]
        #[derive(Debug, Clone)]
        pub struct $store {
            pool: $pool,
            writes: $crate::db::group_commit::GroupCommit<$writer>,
        }

        impl $store {
            /// Starts the store's writer task (on the current tokio runtime).
            pub fn new(pool: $pool) -> Self {
                let writes = $crate::db::group_commit::GroupCommit::spawn(
                    $writer {
                        pool: pool.clone(),
                        connection: tokio::sync::Mutex::new(None),
                    },
                    super::group_options(),
                );
                $store { pool, writes }
            }
        }

        /// Writes a group of puts and deletes in one transaction, in order.
        #[derive(Debug)]
        pub(super) struct $writer {
            pool: $pool,
            /// The writer's own connection, taken out of the pool (detached,
            /// so closing the pool never waits for it). Every group on one
            /// connection keeps its page cache warm: SQLite drops a
            /// connection's cache whenever another one wrote, and rotating
            /// through the pool made each commit re-read its pages.
            connection: tokio::sync::Mutex<Option<<$db as sqlx::Database>::Connection>>,
        }

        impl $crate::db::group_commit::GroupWriter for $writer {
            type Job = super::WriteJob;
            type Output = super::WriteOutcome;
            type Error = super::StoreError;

            async fn write_group(
                &self,
                jobs: &[super::WriteJob],
            ) -> Result<Vec<super::WriteOutcome>, super::StoreError> {
                let mut held = self.connection.lock().await;
                if self.pool.is_closed() {
                    *held = None;
                    return Err(sqlx::Error::PoolClosed.into());
                }
                let connection = match held.as_mut() {
                    Some(connection) => connection,
                    None => held.insert(self.pool.acquire().await?.detach()),
                };
                let written = Self::write_on(connection, jobs).await;
                if written.is_err() {
                    // It may be broken: the next group starts on a fresh one.
                    *held = None;
                }
                written
            }
        }

        impl $writer {
            async fn write_on(
                connection: &mut <$db as sqlx::Database>::Connection,
                jobs: &[super::WriteJob],
            ) -> Result<Vec<super::WriteOutcome>, super::StoreError> {
                use super::{WriteJob, WriteOutcome};
                let is_put = |job: &WriteJob| matches!(job, WriteJob::Put { .. });
                let mut outcomes = Vec::with_capacity(jobs.len());
                // The usual group, puts that fit one statement: run alone, the
                // statement is its own transaction (one commit, one sync), and
                // BEGIN and COMMIT cost two round trips less.
                if jobs.len() <= super::INSERT_CHUNK && jobs.iter().all(is_put) {
                    let mut insert = insert_statement(jobs);
                    let inserted: Vec<Vec<u8>> = insert
                        .build_query_scalar()
                        .fetch_all(&mut *connection)
                        .await?;
                    super::put_outcomes(jobs, inserted, &mut outcomes);
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
                        .take(super::INSERT_CHUNK)
                        .take_while(|job| is_put(job))
                        .count();
                    let (chunk, after) = rest.split_at(puts);
                    let mut insert = insert_statement(chunk);
                    let inserted: Vec<Vec<u8>> =
                        insert.build_query_scalar().fetch_all(&mut *tx).await?;
                    super::put_outcomes(chunk, inserted, &mut outcomes);
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
        fn insert_statement(chunk: &[super::WriteJob]) -> sqlx::QueryBuilder<$db> {
            let rows: Vec<(&super::Content, &str)> = chunk
                .iter()
                .filter_map(|job| match job {
                    super::WriteJob::Put {
                        content,
                        content_type,
                    } => Some((content, content_type.as_str())),
                    super::WriteJob::Delete(_) => None,
                })
                .collect();
            let shape = rows.len().next_power_of_two();
            let padded = (0..shape).filter_map(|i| rows.get(i.min(rows.len().saturating_sub(1))));
            let now = super::now_ms();
            let mut insert = sqlx::QueryBuilder::<$db>::new(
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
        impl super::MessageStore for $store {
            async fn put(
                &self,
                content: super::Content,
                content_type: String,
            ) -> Result<super::PutOutcome, super::StoreError> {
                let job = super::WriteJob::Put {
                    content,
                    content_type,
                };
                match self.writes.submit(job).await? {
                    super::WriteOutcome::Put(outcome) => Ok(outcome),
                    super::WriteOutcome::Delete(_) => Err(super::unexpected_outcome()),
                }
            }

            async fn get(
                &self,
                digest: &super::Digest,
            ) -> Result<Option<super::StoredMessage>, super::StoreError> {
                let row: Option<(Vec<u8>, String)> =
                    sqlx::query_as("SELECT content, content_type FROM messages WHERE digest = $1")
                        .bind(digest.as_bytes().as_slice())
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(|(content, content_type)| super::StoredMessage {
                    content: content.into(),
                    content_type,
                }))
            }

            async fn info(
                &self,
                digest: &super::Digest,
            ) -> Result<Option<super::MessageInfo>, super::StoreError> {
                let row: Option<(i64, String)> = sqlx::query_as(
                    "SELECT CAST(length(content) AS BIGINT), content_type \
                     FROM messages WHERE digest = $1",
                )
                .bind(digest.as_bytes().as_slice())
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(size, content_type)| super::MessageInfo {
                    size: u64::try_from(size).unwrap_or_default(),
                    content_type,
                }))
            }

            async fn sizes(
                &self,
                digests: &[super::Digest],
            ) -> Result<Vec<(super::Digest, u64)>, super::StoreError> {
                if digests.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "SELECT digest, CAST(length(content) AS BIGINT) FROM messages \
                     WHERE digest IN (",
                );
                let mut list = query.separated(", ");
                for digest in digests {
                    list.push_bind(digest.as_bytes().as_slice());
                }
                query.push(")");
                let rows: Vec<(Vec<u8>, i64)> =
                    query.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter()
                    .map(|(digest, size)| {
                        let digest = super::Digest::from_bytes(&digest)
                            .ok_or(super::StoreError::CorruptDigest)?;
                        Ok((digest, u64::try_from(size).unwrap_or_default()))
                    })
                    .collect()
            }

            async fn delete(&self, digest: &super::Digest) -> Result<bool, super::StoreError> {
                match self.writes.submit(super::WriteJob::Delete(*digest)).await? {
                    super::WriteOutcome::Delete(deleted) => Ok(deleted),
                    super::WriteOutcome::Put(_) => Err(super::unexpected_outcome()),
                }
            }
        }
    };
}
use sql_message_store;
