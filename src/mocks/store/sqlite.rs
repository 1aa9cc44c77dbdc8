use async_trait::async_trait;
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::{
    DELETE_ALL, LIST, PUT_SETTINGS, SETTINGS, StoreError, StoredStub, StubStore, delete_queries,
    upsert_queries,
};
use crate::db::group_commit::{GroupCommit, GroupCommitOptions, GroupWriter};

/// Stubs in SQLite. Reads go to the pool; every write goes through one
/// group-commit writer, so stub writes never race each other for SQLite's
/// write lock (its busy handler sleeps between tries).
#[derive(Debug, Clone)]
pub struct SqliteStubStore {
    pool: SqlitePool,
    writes: GroupCommit<SqliteWriter>,
}

impl SqliteStubStore {
    /// Starts the writer task on the current tokio runtime.
    pub fn new(pool: SqlitePool) -> Self {
        let writes = GroupCommit::spawn(
            SqliteWriter { pool: pool.clone() },
            GroupCommitOptions::new("mocks"),
        );
        SqliteStubStore { pool, writes }
    }
}

#[async_trait]
impl StubStore for SqliteStubStore {
    async fn list(&self) -> Result<Vec<StoredStub>, StoreError> {
        Ok(sqlx::query_as(LIST).fetch_all(&self.pool).await?)
    }

    async fn upsert(&self, stubs: &[(String, String)]) -> Result<Vec<StoredStub>, StoreError> {
        let written = self.writes.submit(Write::Upsert(stubs.to_vec())).await?;
        Ok(written.stored)
    }

    async fn delete(&self, ids: &[String]) -> Result<u64, StoreError> {
        let written = self.writes.submit(Write::Delete(ids.to_vec())).await?;
        Ok(written.deleted)
    }

    async fn delete_all(&self) -> Result<u64, StoreError> {
        let written = self.writes.submit(Write::DeleteAll).await?;
        Ok(written.deleted)
    }

    async fn settings(&self) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(SETTINGS)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn put_settings(&self, document: &str) -> Result<(), StoreError> {
        // One row, written rarely: SQLite's busy handler orders it.
        sqlx::query(PUT_SETTINGS)
            .bind(document)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// One write, as queued for the writer.
#[derive(Debug)]
enum Write {
    Upsert(Vec<(String, String)>),
    Delete(Vec<String>),
    DeleteAll,
}

/// What a write did: the rows an upsert stored, or how many a delete removed.
#[derive(Debug, Default)]
struct Written {
    stored: Vec<StoredStub>,
    deleted: u64,
}

struct SqliteWriter {
    pool: SqlitePool,
}

impl GroupWriter for SqliteWriter {
    type Job = Write;
    type Output = Written;
    type Error = StoreError;

    async fn write_group(&self, writes: &[Write]) -> Result<Vec<Written>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut written = Vec::with_capacity(writes.len());
        for write in writes {
            written.push(write_in(&mut tx, write).await?);
        }
        tx.commit().await?;
        Ok(written)
    }
}

async fn write_in(conn: &mut SqliteConnection, write: &Write) -> Result<Written, StoreError> {
    let mut written = Written::default();
    match write {
        Write::Upsert(stubs) => {
            for mut query in upsert_queries::<Sqlite>(stubs) {
                written
                    .stored
                    .extend(query.build_query_as().fetch_all(&mut *conn).await?);
            }
        }
        Write::Delete(ids) => {
            for mut query in delete_queries::<Sqlite>(ids) {
                written.deleted += query.build().execute(&mut *conn).await?.rows_affected();
            }
        }
        Write::DeleteAll => {
            written.deleted = sqlx::query(DELETE_ALL)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        }
    }
    Ok(written)
}
