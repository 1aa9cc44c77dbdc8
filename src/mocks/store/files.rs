//! Where body files live (`bodyFileName`, `/__admin/files`): in the database,
//! so that every process on one PostgreSQL database serves the same files.
//! A file is small and written rarely, so each write is one statement, with
//! no group commit (SQLite's busy handler orders the rare writes) and no
//! change notification: a reader always asks the database. The SQL is the
//! same on both backends, so it is written once, over either pool.

use async_trait::async_trait;
use sqlx::{Executor, FromRow, IntoArguments};

use super::StoreError;
use crate::clock::now_ms;
use crate::db::binds::Binds;

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

/// Body files in either backend's database.
#[derive(Debug, Clone)]
pub struct SqlFileStore<DB: sqlx::Database>(pub sqlx::Pool<DB>);

#[async_trait]
impl<DB> FileStore for SqlFileStore<DB>
where
    DB: Binds,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (Vec<u8>,): FromRow<'r, DB::Row>,
{
    async fn names(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = DB::query("SELECT name FROM mock_files ORDER BY name")
            .build_query_as()
            .fetch_all(&self.0)
            .await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut query = DB::query("SELECT content FROM mock_files WHERE name = ");
        DB::bind_text(&mut query, name.to_owned());
        let row: Option<(Vec<u8>,)> = query.build_query_as().fetch_optional(&self.0).await?;
        Ok(row.map(|(content,)| content))
    }

    async fn put(&self, name: &str, content: &[u8]) -> Result<(), StoreError> {
        let mut query = DB::query("INSERT INTO mock_files (name, content, updated_at_ms) VALUES (");
        DB::bind_text(&mut query, name.to_owned());
        query.push(", ");
        DB::bind_bytes(&mut query, content.to_vec());
        query.push(", ");
        DB::bind_i64(&mut query, now_ms());
        query.push(
            ") ON CONFLICT (name) DO UPDATE SET content = excluded.content, \
             updated_at_ms = excluded.updated_at_ms",
        );
        query.build().execute(&self.0).await?;
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let mut query = DB::query("DELETE FROM mock_files WHERE name = ");
        DB::bind_text(&mut query, name.to_owned());
        query.push(" RETURNING name");
        let deleted: Option<(String,)> = query.build_query_as().fetch_optional(&self.0).await?;
        Ok(deleted.is_some())
    }
}
