//! Where body files live (`bodyFileName`, `/__admin/files`): in the database,
//! so that every process on one PostgreSQL database serves the same files.
//! A file is small and written rarely, so each write is one statement, with
//! no group commit and no change notification: a reader always asks the
//! database.

use async_trait::async_trait;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use super::StoreError;
use crate::clock::now_ms;

#[async_trait]
pub trait FileStore: Send + Sync + 'static {
    /// Every file name, sorted.
    async fn names(&self) -> Result<Vec<String>, StoreError>;

    /// A file's content, if there is such a file.
    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Creates or replaces a file. Returns once durable.
    async fn put(&self, name: &str, content: &[u8]) -> Result<(), StoreError>;

    /// Deletes a file; returns whether it existed.
    async fn delete(&self, name: &str) -> Result<bool, StoreError>;
}

const NAMES: &str = "SELECT name FROM mock_files ORDER BY name";
const GET: &str = "SELECT content FROM mock_files WHERE name = $1";
const PUT: &str = "INSERT INTO mock_files (name, content, updated_at_ms) VALUES ($1, $2, $3) \
                   ON CONFLICT (name) DO UPDATE SET content = excluded.content, \
                   updated_at_ms = excluded.updated_at_ms";
const DELETE: &str = "DELETE FROM mock_files WHERE name = $1";

/// Body files in SQLite (SQLite's busy handler orders the rare writes).
#[derive(Debug, Clone)]
pub struct SqliteFileStore {
    pub pool: SqlitePool,
}

#[async_trait]
impl FileStore for SqliteFileStore {
    async fn names(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(NAMES).fetch_all(&self.pool).await?)
    }

    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar(GET)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn put(&self, name: &str, content: &[u8]) -> Result<(), StoreError> {
        sqlx::query(PUT)
            .bind(name)
            .bind(content)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE).bind(name).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }
}

/// Body files in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresFileStore {
    pub pool: PgPool,
}

#[async_trait]
impl FileStore for PostgresFileStore {
    async fn names(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(NAMES).fetch_all(&self.pool).await?)
    }

    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar(GET)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn put(&self, name: &str, content: &[u8]) -> Result<(), StoreError> {
        sqlx::query(PUT)
            .bind(name)
            .bind(content)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(DELETE).bind(name).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }
}
