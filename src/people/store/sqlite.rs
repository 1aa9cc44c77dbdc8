//! People in SQLite: `instr` finds substrings, and writes take turns (SQLite
//! has one writer at a time; see the module documentation).

use async_trait::async_trait;
use sqlx::sqlite::SqlitePool;

use super::{
    Expected, GROUP_MAX, INSERT_CHUNK, PersonStore, QUEUE_CAPACITY, StoreError, WriteError,
    person_store,
};
use crate::people::model::{NewPerson, Person};
use crate::people::query::{Filter, ListQuery, Op, SortKey, SqlValue, Window};

person_store!(SqlitePersonStore, sqlx::Sqlite, SqlitePool, "instr", one_writer: true);
