//! People in PostgreSQL (`strpos` finds substrings). Concurrent commits share
//! WAL flushes on the server, so every create is simply its own statement.

use async_trait::async_trait;
use sqlx::postgres::PgPool;

use super::{
    Expected, INSERT_CHUNK, INSERT_ONE, PersonStore, StoreError, WriteError, person_store,
};
use crate::people::model::{NewPerson, Person};
use crate::people::query::{Filter, ListQuery, Op, SortKey, SqlValue, Window};

#[derive(Debug, Clone)]
pub struct PostgresPersonStore {
    pool: PgPool,
}

impl PostgresPersonStore {
    pub fn new(pool: PgPool) -> Self {
        PostgresPersonStore { pool }
    }

    async fn insert_one(&self, person: &NewPerson) -> Result<Person, StoreError> {
        let created = sqlx::query_as::<_, Person>(INSERT_ONE)
            .bind(person.name.as_str())
            .bind(person.age.get())
            .bind(person.locale.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(created)
    }

    /// PostgreSQL takes concurrent writers; its row locks do the rest.
    async fn write_gate(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        None
    }
}

person_store!(PostgresPersonStore, sqlx::Postgres, "strpos");
