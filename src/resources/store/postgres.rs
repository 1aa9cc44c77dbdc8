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
    indexed: Indexed,
}

impl PostgresResourceStore {
    /// Other processes write too: a snapshot is checked against its
    /// collection's stored version before it is used.
    const TRUSTS_CACHE: bool = false;
    /// A list's count and page are read from one snapshot.
    const READ_SNAPSHOT: Option<&str> =
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    /// Processes starting together take turns to create the indexes: two
    /// `CREATE INDEX IF NOT EXISTS` at once may both try to create it.
    const DDL_LOCK: Option<&str> = Some("SELECT pg_advisory_xact_lock(5264732117)");

    pub fn new(pool: PgPool, cache: Arc<Cache>, indexed: Indexed) -> Self {
        PostgresResourceStore {
            pool,
            cache,
            indexed,
        }
    }

    /// The SQL of `field`'s index key ([`Indexed`]). `field` is a plain
    /// name ([`model::is_plain_field`]), so it is written as a literal.
    /// Every function in it is immutable, as an index requires.
    fn field_key(field: &str) -> String {
        let value = format!("(body::jsonb -> '{field}')");
        let number = format!("({value})::numeric");
        format!(
            "(CASE jsonb_typeof({value}) \
             WHEN 'string' THEN 's' || (body::jsonb ->> '{field}') \
             WHEN 'boolean' THEN 's' || (body::jsonb ->> '{field}') \
             WHEN 'null' THEN 'n' \
             WHEN 'number' THEN CASE WHEN {number} BETWEEN -9007199254740992 AND 9007199254740992 \
             AND {number} = trunc({number}) THEN 's' || trunc({number})::text ELSE 'm' END \
             WHEN 'array' THEN 'm' WHEN 'object' THEN 'm' END)"
        )
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
