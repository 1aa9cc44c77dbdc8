use sqlx::SqliteConnection;
use sqlx::sqlite::SqlitePool;

use super::StoreError;

/// Stubs in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStubStore {
    pool: SqlitePool,
}

impl SqliteStubStore {
    pub fn new(pool: SqlitePool) -> Self {
        SqliteStubStore { pool }
    }

    /// One process serves a SQLite file: nobody else to tell.
    async fn after_write(&self, _: &mut SqliteConnection) -> Result<(), StoreError> {
        Ok(())
    }
}

super::sql_stub_store!(SqliteStubStore, sqlx::Sqlite);
