use async_trait::async_trait;
use sqlx::postgres::PgPool;
use sqlx::{Postgres, Transaction};

use super::{
    DELETE_ALL, LIST, PUT_SETTINGS, SETTINGS, StoreError, StoredStub, StubStore, delete_queries,
    upsert_queries,
};

/// The channel on which a process announces that it changed the stubs; the
/// payload is its instance id, so that it can ignore its own announcements.
pub const CHANGES_CHANNEL: &str = "echobase_mocks";

/// Stubs in PostgreSQL. Every write notifies [`CHANGES_CHANNEL`] in its own
/// transaction, so other processes hear of it exactly when it is committed.
#[derive(Debug, Clone)]
pub struct PostgresStubStore {
    pool: PgPool,
    instance: String,
}

impl PostgresStubStore {
    pub fn new(pool: PgPool, instance: &str) -> Self {
        PostgresStubStore {
            pool,
            instance: instance.to_owned(),
        }
    }

    /// Announces the change inside the write's transaction, then commits:
    /// the notification is delivered with the commit, or not at all.
    async fn notify_and_commit(&self, mut tx: Transaction<'_, Postgres>) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANGES_CHANNEL)
            .bind(&self.instance)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl StubStore for PostgresStubStore {
    async fn list(&self) -> Result<Vec<StoredStub>, StoreError> {
        Ok(sqlx::query_as(LIST).fetch_all(&self.pool).await?)
    }

    async fn upsert(&self, stubs: &[(String, String)]) -> Result<Vec<StoredStub>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut stored = Vec::with_capacity(stubs.len());
        for mut query in upsert_queries::<Postgres>(stubs) {
            stored.extend(query.build_query_as().fetch_all(&mut *tx).await?);
        }
        self.notify_and_commit(tx).await?;
        Ok(stored)
    }

    async fn delete(&self, ids: &[String]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut deleted = 0;
        for mut query in delete_queries::<Postgres>(ids) {
            deleted += query.build().execute(&mut *tx).await?.rows_affected();
        }
        self.notify_and_commit(tx).await?;
        Ok(deleted)
    }

    async fn delete_all(&self) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query(DELETE_ALL)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        self.notify_and_commit(tx).await?;
        Ok(deleted)
    }

    async fn settings(&self) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(SETTINGS)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn put_settings(&self, document: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(PUT_SETTINGS)
            .bind(document)
            .execute(&mut *tx)
            .await?;
        self.notify_and_commit(tx).await
    }
}
