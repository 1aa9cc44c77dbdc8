//! Where stubs live: one trait, one implementation per backend (both made by
//! [`sql_stub_store!`] from the same SQL). The engine keeps every stub in
//! memory (the matcher index); the store makes them durable and is read back
//! at start-up (and, on PostgreSQL, when another process changes them).

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

/// The [`StubStore`] of one sqlx backend. Both accept the same SQL (`$n`
/// placeholders, `ON CONFLICT ... RETURNING`), so one body serves both and
/// they cannot drift apart. The backend's type has a `pool` field and an
/// `after_write(&self, &mut connection)` that runs inside every write
/// transaction, just before it commits.
macro_rules! sql_stub_store {
    ($store:ident, $db:ty) => {
        fn stored_stub(
            row: &<$db as sqlx::Database>::Row,
        ) -> Result<super::StoredStub, super::StoreError> {
            use sqlx::Row as _;
            Ok(super::StoredStub {
                id: row.try_get("id")?,
                seq: row.try_get("seq")?,
                mapping: row.try_get("mapping")?,
            })
        }

        #[async_trait::async_trait]
        impl super::StubStore for $store {
            async fn list(&self) -> Result<Vec<super::StoredStub>, super::StoreError> {
                let rows = sqlx::query("SELECT id, seq, mapping FROM mock_stubs ORDER BY seq")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(stored_stub).collect()
            }

            async fn upsert(
                &self,
                stubs: &[(String, String)],
            ) -> Result<Vec<super::StoredStub>, super::StoreError> {
                let stubs = super::dedupe(stubs);
                let now = super::now_ms();
                let mut tx = self.pool.begin().await?;
                let mut out = Vec::with_capacity(stubs.len());
                for chunk in stubs.chunks(super::CHUNK) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(
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
                    for row in query.build().fetch_all(&mut *tx).await? {
                        out.push(stored_stub(&row)?);
                    }
                }
                self.after_write(&mut tx).await?;
                tx.commit().await?;
                Ok(out)
            }

            async fn delete(&self, ids: &[String]) -> Result<u64, super::StoreError> {
                let mut tx = self.pool.begin().await?;
                let mut deleted = 0;
                for chunk in ids.chunks(super::CHUNK) {
                    let mut query =
                        sqlx::QueryBuilder::<$db>::new("DELETE FROM mock_stubs WHERE id IN (");
                    let mut list = query.separated(", ");
                    for id in chunk {
                        list.push_bind(id.as_str());
                    }
                    query.push(")");
                    deleted += query.build().execute(&mut *tx).await?.rows_affected();
                }
                self.after_write(&mut tx).await?;
                tx.commit().await?;
                Ok(deleted)
            }

            async fn delete_all(&self) -> Result<u64, super::StoreError> {
                let mut tx = self.pool.begin().await?;
                let deleted = sqlx::query("DELETE FROM mock_stubs")
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                self.after_write(&mut tx).await?;
                tx.commit().await?;
                Ok(deleted)
            }
        }
    };
}
use sql_stub_store;
