use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgPool;

use super::{Digest, MessageStore, PutOutcome, StoreError, StoredMessage, now_ms};

/// Messages in Postgres.
#[derive(Debug, Clone)]
pub struct PostgresMessageStore {
    pool: PgPool,
}

impl PostgresMessageStore {
    pub fn new(pool: PgPool) -> Self {
        PostgresMessageStore { pool }
    }
}

#[async_trait]
impl MessageStore for PostgresMessageStore {
    async fn put(
        &self,
        content: &[u8],
        content_type: &str,
    ) -> Result<(Digest, PutOutcome), StoreError> {
        let digest = Digest::of(content);
        let inserted = sqlx::query(
            "INSERT INTO messages (digest, content, content_type, created_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest.as_bytes().as_slice())
        .bind(content)
        .bind(content_type)
        .bind(now_ms())
        .execute(&self.pool)
        .await?
        .rows_affected();
        let outcome = if inserted == 1 {
            PutOutcome::Created
        } else {
            PutOutcome::AlreadyStored
        };
        Ok((digest, outcome))
    }

    async fn get(&self, digest: &Digest) -> Result<Option<StoredMessage>, StoreError> {
        let row = sqlx::query("SELECT content, content_type FROM messages WHERE digest = $1")
            .bind(digest.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(StoredMessage {
                content: row.try_get("content")?,
                content_type: row.try_get("content_type")?,
            })
        })
        .transpose()
    }
}
