//! Resources in PostgreSQL: each write is its own transaction and locks its
//! collection's row (`FOR UPDATE`), so writers of one collection take turns
//! across every process while other collections' writers go on.

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::postgres::PgPool;

// Everything of the store's that the `sql_store!` body names.
use super::*;

/// Resources in a PostgreSQL database, which other processes may share.
#[derive(Debug, Clone)]
pub struct PostgresResourceStore {
    pool: PgPool,
    cache: Arc<Cache>,
}

impl PostgresResourceStore {
    /// Other processes write too: a snapshot is checked against its
    /// collection's stored version before it is used.
    const TRUSTS_CACHE: bool = false;

    pub fn new(pool: PgPool, cache: Arc<Cache>) -> Self {
        PostgresResourceStore { pool, cache }
    }

    async fn run(&self, job: Job) -> Result<Outcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut group = Group::default();
        let outcome = apply(&mut tx, &mut group, &self.cache, &job).await?;
        finish(&mut tx, &mut group).await?;
        if let Some((_, refusal)) = group.refused.pop() {
            return Err(refusal);
        }
        tx.commit().await?;
        self.cache.changed(&group.touched);
        Ok(outcome)
    }
}

sql_store!(PostgresResourceStore, Postgres, " FOR UPDATE");
