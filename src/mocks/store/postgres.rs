use async_trait::async_trait;
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::{CHUNK, StoreError, StoredStub, StubStore, dedupe, now_ms};

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

    async fn notify(&self, conn: &mut PgConnection) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANGES_CHANNEL)
            .bind(&self.instance)
            .execute(conn)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl StubStore for PostgresStubStore {
    async fn list(&self) -> Result<Vec<StoredStub>, StoreError> {
        let rows = sqlx::query("SELECT id, seq, mapping FROM mock_stubs ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredStub {
                    id: row.try_get("id")?,
                    seq: row.try_get("seq")?,
                    mapping: row.try_get("mapping")?,
                })
            })
            .collect()
    }

    async fn upsert(&self, stubs: &[(String, String)]) -> Result<Vec<StoredStub>, StoreError> {
        let stubs = dedupe(stubs);
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(stubs.len());
        for chunk in stubs.chunks(CHUNK) {
            let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
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
                out.push(StoredStub {
                    id: row.try_get("id")?,
                    seq: row.try_get("seq")?,
                    mapping: row.try_get("mapping")?,
                });
            }
        }
        self.notify(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn delete(&self, ids: &[String]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut deleted = 0;
        for chunk in ids.chunks(CHUNK) {
            let mut query: QueryBuilder<Postgres> =
                QueryBuilder::new("DELETE FROM mock_stubs WHERE id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str());
            }
            query.push(")");
            deleted += query.build().execute(&mut *tx).await?.rows_affected();
        }
        self.notify(&mut tx).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn delete_all(&self) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM mock_stubs")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        self.notify(&mut tx).await?;
        tx.commit().await?;
        Ok(deleted)
    }
}
