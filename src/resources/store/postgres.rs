//! Resources in PostgreSQL: a write locks its collection's row
//! (`FOR UPDATE`), so writers of one collection take turns across every
//! process while other collections' writers go on.

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::postgres::PgPool;

use super::{
    Cache, Change, CollectionInfo, Expected, NewCollection, ResourceStore, Row, StoreError, Stored,
    Written, applied, changed, check, etag_of, first_version, parse, sql_store, stored, with_ids,
};
use crate::resources::model::{self, Document, ID};
use serde_json::Value;

sql_store!(
    PostgresResourceStore,
    Postgres,
    PgPool,
    "BEGIN",
    " FOR UPDATE",
    false
);
