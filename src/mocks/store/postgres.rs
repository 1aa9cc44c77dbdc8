use sqlx::PgConnection;
use sqlx::postgres::PgPool;

use super::StoreError;

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

    /// Announces the change, inside the write's transaction.
    async fn after_write(&self, conn: &mut PgConnection) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANGES_CHANNEL)
            .bind(&self.instance)
            .execute(conn)
            .await?;
        Ok(())
    }
}

super::sql_stub_store!(PostgresStubStore, sqlx::Postgres);
