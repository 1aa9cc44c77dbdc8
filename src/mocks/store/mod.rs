//! Where stubs live: one trait, one implementation per backend. The engine
//! keeps every stub in memory (the matcher index); the store makes them
//! durable and is read back at start-up (and, on PostgreSQL, when another
//! process changes them).
//!
//! Both dialects accept the same SQL (`$n` placeholders, `ON CONFLICT ...
//! RETURNING`), so the statements and their builders are here, once. The
//! backend files say only how a write runs: on SQLite through a group-commit
//! writer, on PostgreSQL in a transaction that also tells other processes.

mod files;
mod journal;
mod postgres;
mod scenarios;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Database as SqlxDatabase, Encode, QueryBuilder, Type};

pub use files::{FileStore, SqlFileStore};
pub use journal::{
    JOURNAL_CHANNEL, JournalStore, MemoryJournalStore, PostgresJournalStore, StubLookup,
};
pub use postgres::{CHANGES_CHANNEL, PostgresStubStore};
pub use scenarios::{MemoryScenarioStore, Pick, Picker, PostgresScenarioStore, ScenarioStore};
pub use sqlite::SqliteStubStore;

use crate::clock::now_ms;
use crate::db::Database;
use crate::db::group_commit::GroupCommitError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stub storage failed: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("stub storage failed: {0}")]
    Writer(#[from] GroupCommitError),
    /// The shared journal's writer could not write what it holds in time
    /// (the database is slow or unreachable).
    #[error("the request journal could not be written in time")]
    JournalBehind,
}

impl StoreError {
    /// Whether the database could not be reached or used at all: a 503 to
    /// retry rather than a 500 (see [`crate::db::is_unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Backend(error) => crate::db::is_unavailable(error),
            StoreError::JournalBehind => true,
            StoreError::Writer(_) => false,
        }
    }
}

/// A stub as stored: its id, its creation order and its mapping JSON.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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

    /// The global settings document (`/__admin/settings`), if one was set.
    async fn settings(&self) -> Result<Option<String>, StoreError>;

    /// Replaces the global settings document.
    async fn put_settings(&self, document: &str) -> Result<(), StoreError>;
}

/// The store for the configured backend. `instance` names this process in
/// change notifications so that it can ignore its own.
pub fn for_database(db: &Database, instance: &str) -> Arc<dyn StubStore> {
    match db {
        Database::Sqlite(pool) => Arc::new(SqliteStubStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(PostgresStubStore::new(pool.clone(), instance)),
    }
}

/// The body file store for the configured backend.
pub fn files_for_database(db: &Database) -> Arc<dyn FileStore> {
    match db {
        Database::Sqlite(pool) => Arc::new(SqlFileStore(pool.clone())),
        Database::Postgres(pool) => Arc::new(SqlFileStore(pool.clone())),
    }
}

/// Where the request journal lives: shared in the database on PostgreSQL
/// (unless `shared` is off), in this process otherwise.
pub fn journal_for_database(
    db: &Database,
    instance: &str,
    limits: crate::mocks::journal::JournalSettings,
    shared: bool,
) -> Arc<dyn JournalStore> {
    match db {
        Database::Postgres(pool) if shared => {
            Arc::new(PostgresJournalStore::new(pool.clone(), instance, limits))
        }
        _ => Arc::new(MemoryJournalStore::new(limits)),
    }
}

/// Where scenario states live for the configured backend: shared in the
/// database on PostgreSQL, in this process on SQLite.
pub fn scenarios_for_database(db: &Database) -> Arc<dyn ScenarioStore> {
    match db {
        Database::Sqlite(_) => Arc::new(MemoryScenarioStore::default()),
        Database::Postgres(pool) => Arc::new(PostgresScenarioStore { pool: pool.clone() }),
    }
}

const LIST: &str = "SELECT id, seq, mapping FROM mock_stubs ORDER BY seq";
const DELETE_ALL: &str = "DELETE FROM mock_stubs";
const SETTINGS: &str = "SELECT document FROM mock_settings WHERE id = 1";
const PUT_SETTINGS: &str = "INSERT INTO mock_settings (id, document) VALUES (1, $1) \
                            ON CONFLICT (id) DO UPDATE SET document = excluded.document";

/// Rows per multi-row statement: well under SQLite's bound-parameter limit.
const CHUNK: usize = 500;

/// The statements that upsert `stubs`, [`CHUNK`] rows each; each returns the
/// stored rows (`id, seq, mapping`) of its chunk.
fn upsert_queries<DB>(stubs: &[(String, String)]) -> Vec<QueryBuilder<DB>>
where
    DB: SqlxDatabase,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    <DB as SqlxDatabase>::Arguments: Default,
{
    let now = now_ms();
    dedupe(stubs)
        .chunks(CHUNK)
        .map(|chunk| {
            let mut query = QueryBuilder::new(
                "INSERT INTO mock_stubs (id, mapping, created_at_ms, updated_at_ms) ",
            );
            query.push_values(chunk, |mut row, (id, mapping)| {
                row.push_bind(id.as_str())
                    .push_bind(mapping.as_str())
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(
                " ON CONFLICT (id) DO UPDATE SET mapping = excluded.mapping, \
                 updated_at_ms = excluded.updated_at_ms RETURNING id, seq, mapping",
            );
            query
        })
        .collect()
}

/// The statements that delete `ids`, [`CHUNK`] each.
fn delete_queries<DB>(ids: &[String]) -> Vec<QueryBuilder<DB>>
where
    DB: SqlxDatabase,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    <DB as SqlxDatabase>::Arguments: Default,
{
    ids.chunks(CHUNK)
        .map(|chunk| {
            let mut query = QueryBuilder::new("DELETE FROM mock_stubs WHERE id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str());
            }
            query.push(")");
            query
        })
        .collect()
}

/// The last occurrence of each id (it wins), in input order: one statement
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
