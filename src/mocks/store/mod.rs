//! Where stubs live: one trait, one implementation per backend. The engine keeps
//! every stub in memory (the matcher index); the store makes them durable and
//! is read back at start-up (and, on PostgreSQL, when another process changes them).

mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use postgres::{CHANGES_CHANNEL, PostgresStubStore};
pub use sqlite::SqliteStubStore;

use crate::db::Database;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stub storage failed: {0}")]
    Backend(#[from] sqlx::Error),
}

/// A stub as stored: its id, its creation order and its mapping JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStub {
    pub id: String,
    /// Creation order; an update keeps it.
    pub seq: i64,
    pub mapping: String,
}

#[async_trait]
pub trait StubStore: Send + Sync + 'static {
    /// Every stub, oldest first.
    async fn list(&self) -> Result<Vec<StoredStub>, StoreError>;

    /// Inserts or replaces each `(id, mapping)` in one transaction and returns
    /// the stored rows (a replaced stub keeps its `seq`). Returns once durable.
    async fn upsert(&self, stubs: &[(String, String)]) -> Result<Vec<StoredStub>, StoreError>;

    /// Deletes these ids; returns how many existed.
    async fn delete(&self, ids: &[String]) -> Result<u64, StoreError>;

    /// Deletes every stub.
    async fn delete_all(&self) -> Result<u64, StoreError>;
}

/// The store for the configured backend. `instance` names this process in
/// change notifications so that it can ignore its own.
pub fn for_database(db: &Database, instance: &str) -> Arc<dyn StubStore> {
    match db {
        Database::Sqlite(pool) => Arc::new(SqliteStubStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(PostgresStubStore::new(pool.clone(), instance)),
    }
}

/// Rows per multi-row INSERT: well under SQLite's bound-parameter limit.
const CHUNK: usize = 500;

/// The last occurrence of each id wins, in first-seen order: one statement
/// must not touch a row twice (PostgreSQL refuses it).
fn dedupe(stubs: &[(String, String)]) -> Vec<&(String, String)> {
    let mut last = std::collections::HashMap::new();
    for (i, (id, _)) in stubs.iter().enumerate() {
        last.insert(id.as_str(), i);
    }
    stubs
        .iter()
        .enumerate()
        .filter(|(i, (id, _))| last.get(id.as_str()) == Some(i))
        .map(|(_, stub)| stub)
        .collect()
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
