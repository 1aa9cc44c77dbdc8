//! Where messages live: one trait, one implementation per backend, and one
//! contract test suite (`tests/messages_store.rs`) run against both.

mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use postgres::PostgresMessageStore;
pub use sqlite::SqliteMessageStore;

use super::model::Digest;
use crate::db::Database;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("message storage failed: {0}")]
    Backend(#[from] sqlx::Error),
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub content: Vec<u8>,
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
    /// Stores `content` under its digest; returns once the write is durable.
    /// Storing the same content again changes nothing (the first content type stays).
    async fn put(
        &self,
        content: &[u8],
        content_type: &str,
    ) -> Result<(Digest, PutOutcome), StoreError>;

    /// The message with this digest, if any.
    async fn get(&self, digest: &Digest) -> Result<Option<StoredMessage>, StoreError>;
}

/// The store for the configured backend.
pub fn for_database(db: &Database) -> Arc<dyn MessageStore> {
    match db {
        Database::Sqlite(pool) => Arc::new(SqliteMessageStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(PostgresMessageStore::new(pool.clone())),
    }
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
