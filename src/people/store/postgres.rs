//! People in PostgreSQL: `strpos` finds substrings, and writers run
//! concurrently (row locks and the version check keep them apart).

use async_trait::async_trait;
use sqlx::postgres::PgPool;

use super::{
    Expected, GROUP_MAX, INSERT_CHUNK, PersonStore, QUEUE_CAPACITY, StoreError, WriteError,
    person_store,
};
use crate::people::model::{NewPerson, Person};
use crate::people::query::{Filter, ListQuery, Op, SortKey, SqlValue, Window};

person_store!(PostgresPersonStore, sqlx::Postgres, PgPool, "strpos", one_writer: false);
