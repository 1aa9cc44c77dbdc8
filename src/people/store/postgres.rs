//! People in PostgreSQL (`strpos` finds substrings).

use async_trait::async_trait;
use sqlx::postgres::PgPool;

use super::{Expected, INSERT_CHUNK, PersonStore, StoreError, WriteError, person_store};
use crate::people::model::{NewPerson, Person};
use crate::people::query::{Filter, ListQuery, Op, SortKey, SqlValue, Window};

person_store!(PostgresPersonStore, sqlx::Postgres, PgPool, "strpos");
