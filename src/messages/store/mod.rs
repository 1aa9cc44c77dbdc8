//! Where messages live: one trait, one implementation per backend, and one
//! contract test suite (`tests/stores/messages.rs`) run against both.
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

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;

pub use cache::CachedStore;
pub use postgres::PostgresMessageStore;
pub use sqlite::SqliteMessageStore;

use super::model::{Content, Digest};
use crate::db::Database;
use crate::db::group_commit::{GroupCommit, GroupCommitError, GroupCommitOptions, GroupWriter};

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
    #[error("the messages' digest index could not be loaded: {0}")]
    IndexUnavailable(String),
}

impl StoreError {
    /// Whether the database could not be reached or used at all: a 503 to
    /// retry rather than a 500 (see [`crate::db::is_unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Backend(error) => crate::db::is_unavailable(error),
            StoreError::IndexUnavailable(_) => true,
            _ => false,
        }
    }
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

/// The row `(content, content_type)` that both backends select.
impl From<(Vec<u8>, String)> for StoredMessage {
    fn from((content, content_type): (Vec<u8>, String)) -> Self {
        StoredMessage {
            content: content.into(),
            content_type,
        }
    }
}

/// The row `(size, content_type)` that both backends select.
impl From<(i64, String)> for MessageInfo {
    fn from((size, content_type): (i64, String)) -> Self {
        MessageInfo {
            size: u64::try_from(size).unwrap_or_default(),
            content_type,
        }
    }
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

fn group_options() -> GroupCommitOptions {
    GroupCommitOptions {
        max_group: 512,
        ..GroupCommitOptions::new("messages")
    }
}

/// `put` through a store's group-commit writer.
async fn submit_put<W>(
    writes: &GroupCommit<W>,
    content: Content,
    content_type: String,
) -> Result<PutOutcome, StoreError>
where
    W: GroupWriter<Job = WriteJob, Output = WriteOutcome, Error = StoreError>,
{
    let job = WriteJob::Put {
        content,
        content_type,
    };
    match writes.submit(job).await? {
        WriteOutcome::Put(outcome) => Ok(outcome),
        WriteOutcome::Delete(_) => Err(unexpected_outcome()),
    }
}

/// `delete` through a store's group-commit writer.
async fn submit_delete<W>(writes: &GroupCommit<W>, digest: Digest) -> Result<bool, StoreError>
where
    W: GroupWriter<Job = WriteJob, Output = WriteOutcome, Error = StoreError>,
{
    match writes.submit(WriteJob::Delete(digest)).await? {
        WriteOutcome::Delete(deleted) => Ok(deleted),
        WriteOutcome::Put(_) => Err(unexpected_outcome()),
    }
}

fn unexpected_outcome() -> StoreError {
    StoreError::Writer(GroupCommitError::ResultCount {
        writer: "messages",
        expected: 1,
        got: 0,
    })
}
