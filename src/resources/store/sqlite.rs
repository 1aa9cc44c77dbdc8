//! Resources in SQLite: a write takes the file's write lock when it starts
//! (`BEGIN IMMEDIATE`), so its reads see what it writes over.

use async_trait::async_trait;
use sqlx::Sqlite;
use sqlx::sqlite::SqlitePool;

use super::{
    Cache, Change, CollectionInfo, Expected, NewCollection, ResourceStore, Row, StoreError, Stored,
    Written, applied, changed, check, etag_of, first_version, parse, sql_store, stored, with_ids,
};
use crate::resources::model::{self, Document, ID};
use serde_json::Value;

sql_store!(
    SqliteResourceStore,
    Sqlite,
    SqlitePool,
    "BEGIN IMMEDIATE",
    "",
    true
);
