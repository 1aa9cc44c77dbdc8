//! Where resources live: one trait, a SQLite and a PostgreSQL
//! implementation, and one contract test suite (`tests/stores/resources.rs`)
//! run against both.
//!
//! The SQL is the same on both backends; what differs is how a write takes
//! its collection for itself: on SQLite (one writer at a time) a turn in this
//! process, then `BEGIN IMMEDIATE`; on PostgreSQL `SELECT … FOR UPDATE` on
//! the collection's row (one writer per collection, across every process).
//! Both implementations are the [`sql_store!`] macro's body with those
//! differences.

mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub use postgres::PostgresResourceStore;
pub use sqlite::SqliteResourceStore;

use super::model::{self, Document, ID};
use super::schema::{self, Validators, Violation};
use crate::db::Database;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("resources storage failed: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("a stored document is not JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("no collection named `{0}`")]
    NoCollection(String),
    #[error("`{collection}` already holds a document with id `{id}`")]
    DuplicateId { collection: String, id: String },
    /// The document does not meet its collection's schema.
    #[error("the document does not meet the collection's schema")]
    Invalid(Vec<Violation>),
    #[error("the collection's schema: {0}")]
    BadSchema(String),
}

impl StoreError {
    /// Whether the database could not be reached at all: a 503 to retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Backend(error) if crate::db::is_unavailable(error))
    }
}

/// A collection as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CollectionInfo {
    pub name: String,
    /// Whether it is one document (a top-level object in db.json) rather
    /// than a collection of them.
    pub singular: bool,
    /// Documents held (1 for a singular resource).
    pub documents: i64,
    /// The JSON Schema its documents meet, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
}

/// What a new collection starts with.
#[derive(Debug, Clone)]
pub enum NewCollection {
    /// Documents in order; each has an id or is given one.
    Plural(Vec<Document>),
    Singular(Document),
}

/// How a write changes a stored document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `PUT`: the body becomes the document (its id kept).
    Replace,
    /// `PATCH`: the body's properties are assigned to the document.
    Merge,
    /// `PATCH` as `application/merge-patch+json` (RFC 7396): objects merge
    /// at every depth and `null` removes a property.
    MergePatch,
}

/// A document with its entity tag: a digest of its stored text, so equal
/// content has an equal tag on every process.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub document: Document,
    pub etag: String,
}

/// Which stored documents a write may change (`If-Match`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Expected {
    /// Any (no `If-Match`, or `*`).
    #[default]
    Any,
    /// Only one whose entity tag is among these.
    Tags(Vec<String>),
}

impl Expected {
    fn allows(&self, etag: &str) -> bool {
        match self {
            Expected::Any => true,
            Expected::Tags(tags) => tags.iter().any(|tag| tag == etag),
        }
    }
}

/// What a conditional write found.
#[derive(Debug, Clone, PartialEq)]
pub enum Written<T> {
    /// No such document (or collection).
    Missing,
    /// It changed since the client read it: its current tag.
    Stale(String),
    Done(T),
}

/// Resources, as the routes use them.
#[async_trait]
pub trait ResourceStore: Send + Sync + std::fmt::Debug {
    /// Every collection, in creation order.
    async fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError>;
    /// Whether `name` exists, and whether it is singular.
    async fn kind(&self, name: &str) -> Result<Option<bool>, StoreError>;
    /// Creates `name` with its first documents in one transaction; `false`
    /// (and nothing written) when it exists already. With a `schema`, every
    /// document written to it must meet it, the first ones included.
    async fn create(
        &self,
        name: &str,
        content: NewCollection,
        schema: Option<&Value>,
    ) -> Result<bool, StoreError>;
    /// Removes a collection and its documents; `false` when there was none.
    async fn drop_collection(&self, name: &str) -> Result<bool, StoreError>;
    /// A collection's documents in insertion order (`None`: no such
    /// collection, or a singular one). Kept parsed in memory while the
    /// collection is unchanged, within `resources.cached_documents`.
    async fn documents(&self, name: &str) -> Result<Option<Arc<Vec<Document>>>, StoreError>;
    /// One document by its id's text.
    async fn document(&self, name: &str, id: &str) -> Result<Option<Stored>, StoreError>;
    /// Appends `document`, with its id or json-server's next one.
    async fn insert(&self, name: &str, document: Document) -> Result<Stored, StoreError>;
    /// Changes a document, keeping its id and its place.
    async fn update(
        &self,
        name: &str,
        id: &str,
        body: Document,
        change: Change,
        expected: &Expected,
    ) -> Result<Written<Stored>, StoreError>;
    /// Removes a document, and the documents of any collection that name it
    /// (`postId` for a post), as json-server does.
    async fn delete(
        &self,
        name: &str,
        id: &str,
        expected: &Expected,
    ) -> Result<Written<()>, StoreError>;
    /// A singular resource's document.
    async fn singular(&self, name: &str) -> Result<Option<Document>, StoreError>;
    /// Sets or changes a singular resource's document; `None` if absent.
    async fn set_singular(
        &self,
        name: &str,
        body: Document,
        change: Change,
    ) -> Result<Option<Document>, StoreError>;
}

/// The store for `db`, keeping at most `cached_documents` documents parsed
/// in memory (0: none).
pub fn for_database(db: &Database, cached_documents: usize) -> Arc<dyn ResourceStore> {
    let cache = Arc::new(Cache::new(cached_documents));
    match db {
        Database::Sqlite(pool) => Arc::new(SqliteResourceStore::new(pool.clone(), cache)),
        Database::Postgres(pool) => Arc::new(PostgresResourceStore::new(pool.clone(), cache)),
    }
}

/// Collections' parsed documents, each with the collection version it was
/// read at. A list reads the version (one indexed row) and, when it has not
/// moved, no document.
#[derive(Debug)]
pub struct Cache {
    max_documents: usize,
    collections: Mutex<HashMap<String, CachedCollection>>,
    /// The collections' schemas, compiled.
    validators: Validators,
}

/// A collection's version, and its documents as of that version.
type CachedCollection = (i64, Arc<Vec<Document>>);

impl Cache {
    pub fn new(max_documents: usize) -> Self {
        Cache {
            max_documents,
            collections: Mutex::default(),
            validators: Validators::default(),
        }
    }

    fn get(&self, name: &str, version: i64) -> Option<Arc<Vec<Document>>> {
        let collections = self
            .collections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match collections.get(name) {
            Some((cached, documents)) if *cached == version => Some(documents.clone()),
            _ => None,
        }
    }

    /// Keeps `documents` unless they alone pass the bound; others are let go
    /// until they fit.
    fn put(&self, name: &str, version: i64, documents: Arc<Vec<Document>>) {
        if documents.len() > self.max_documents {
            return;
        }
        let mut collections = self
            .collections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        collections.remove(name);
        let mut held: usize = collections.values().map(|(_, d)| d.len()).sum();
        while held + documents.len() > self.max_documents {
            let Some(other) = collections.keys().next().cloned() else {
                break;
            };
            if let Some((_, dropped)) = collections.remove(&other) {
                held -= dropped.len();
            }
        }
        collections.insert(name.to_owned(), (version, documents));
    }
}

/// Checks `document` against a collection's stored schema, if it has one.
fn check(cache: &Cache, schema: Option<&str>, document: &Document) -> Result<(), StoreError> {
    let Some(schema) = schema else {
        return Ok(());
    };
    let validator = cache.validators.of(schema).map_err(StoreError::BadSchema)?;
    let violations = schema::violations(&validator, document);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(violations))
    }
}

/// The entity tag of a document's stored text.
fn etag_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn stored(text: &str) -> Result<Stored, StoreError> {
    Ok(Stored {
        document: parse(text)?,
        etag: etag_of(text),
    })
}

/// A fresh collection's first version: random, so that a collection removed
/// and made again never takes a version a process has cached.
fn first_version() -> i64 {
    fastrand::i64(0..i64::MAX / 2)
}

/// `body` changed into the stored document, as lodash-id does: a replace
/// keeps the body's keys in order and sets `id`; a merge assigns the body's
/// keys over the stored ones. Either way the stored id stays.
fn changed(stored: Document, body: Document, change: Change) -> Document {
    let id = stored.get(ID).cloned().unwrap_or(Value::Null);
    let mut document = applied(stored, body, change);
    document.insert(ID.to_owned(), id);
    document
}

/// `body` applied to `stored` as `change` says, ids aside.
fn applied(stored: Document, body: Document, change: Change) -> Document {
    match change {
        Change::Replace => body,
        Change::Merge => {
            let mut document = stored;
            document.extend(body);
            document
        }
        Change::MergePatch => {
            let mut document = Value::Object(stored);
            crate::json::merge_patch(&mut document, &Value::Object(body));
            match document {
                Value::Object(document) => document,
                _ => Document::new(),
            }
        }
    }
}

/// A document ready to be written: its id as text and as a number.
struct Row {
    id: String,
    numeric_id: Option<f64>,
    body: String,
}

impl Row {
    fn of(document: &Document) -> Result<Row, StoreError> {
        let id = document.get(ID).cloned().unwrap_or(Value::Null);
        Ok(Row {
            id: model::js_string(&id),
            numeric_id: id.as_f64(),
            body: serde_json::to_string(document)?,
        })
    }
}

fn parse(body: &str) -> Result<Document, StoreError> {
    Ok(serde_json::from_str(body)?)
}

/// A seed's documents given the ids json-server would give them, in order:
/// the ones without a usable id get the next one.
fn with_ids(documents: Vec<Document>) -> Vec<Document> {
    let mut largest: Option<f64> = None;
    let mut count = 0;
    documents
        .into_iter()
        .map(|mut document| {
            if !document.get(ID).is_some_and(model::is_truthy) {
                let id = model::next_id(largest, count == 0);
                document.insert(ID.to_owned(), id);
            }
            if let Some(n) = document.get(ID).and_then(Value::as_f64) {
                largest = Some(largest.map_or(n, |l| l.max(n)));
            }
            count += 1;
            document
        })
        .collect()
}

/// The body of both implementations (see the module documentation):
/// `$begin` opens a write transaction, `$lock` ends the statement that
/// reads a collection's row before writing to it.
macro_rules! sql_store {
    ($store:ident, $db:ty, $pool:ty, $begin:literal, $lock:literal, $one_writer:literal) => {
        /// Resources in this backend.
        #[derive(Debug, Clone)]
        pub struct $store {
            pool: $pool,
            cache: std::sync::Arc<Cache>,
            /// Taken for a whole write transaction when the backend has one
            /// writer at a time (SQLite): writers then queue here, in order,
            /// instead of sleeping in SQLite's busy handler and, past its
            /// timeout, failing.
            turn: std::sync::Arc<tokio::sync::Mutex<()>>,
        }

        impl $store {
            pub fn new(pool: $pool, cache: std::sync::Arc<Cache>) -> Self {
                $store {
                    pool,
                    cache,
                    turn: std::sync::Arc::default(),
                }
            }

            /// A write transaction, with this process's turn when writers
            /// must take turns.
            async fn begin(
                &self,
            ) -> Result<
                (
                    Option<tokio::sync::OwnedMutexGuard<()>>,
                    sqlx::Transaction<'static, $db>,
                ),
                StoreError,
            > {
                let turn = if $one_writer {
                    Some(self.turn.clone().lock_owned().await)
                } else {
                    None
                };
                Ok((turn, self.pool.begin_with($begin).await?))
            }
        }

        /// The collection's next position and schema, its row locked for
        /// the write; `None` when there is no such collection (or it is
        /// singular).
        async fn lock_collection(
            tx: &mut sqlx::Transaction<'static, $db>,
            name: &str,
        ) -> Result<Option<(i64, Option<String>)>, StoreError> {
            Ok(sqlx::query_as(concat!(
                "SELECT next_position, schema FROM resource_collections \
                 WHERE name = $1 AND singular IS NULL",
                $lock
            ))
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?)
        }

        /// Marks a collection changed, for every process's cache.
        async fn touch(
            tx: &mut sqlx::Transaction<'static, $db>,
            name: &str,
        ) -> Result<(), StoreError> {
            sqlx::query("UPDATE resource_collections SET version = version + 1 WHERE name = $1")
                .bind(name)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// A document's stored text, read for a write.
        async fn stored_text(
            tx: &mut sqlx::Transaction<'static, $db>,
            name: &str,
            id: &str,
        ) -> Result<Option<String>, StoreError> {
            Ok(sqlx::query_scalar(
                "SELECT body FROM resource_documents WHERE collection = $1 AND id = $2",
            )
            .bind(name)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?)
        }

        async fn insert_rows(
            tx: &mut sqlx::Transaction<'static, $db>,
            name: &str,
            first_position: i64,
            documents: &[Document],
        ) -> Result<Vec<String>, StoreError> {
            let mut position = first_position;
            let mut bodies = Vec::with_capacity(documents.len());
            for document in documents {
                let row = Row::of(document)?;
                let taken: Option<i32> = sqlx::query_scalar(
                    "SELECT 1 FROM resource_documents WHERE collection = $1 AND id = $2",
                )
                .bind(name)
                .bind(&row.id)
                .fetch_optional(&mut **tx)
                .await?;
                if taken.is_some() {
                    return Err(StoreError::DuplicateId {
                        collection: name.to_owned(),
                        id: row.id,
                    });
                }
                sqlx::query(
                    "INSERT INTO resource_documents (collection, id, position, numeric_id, body) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(name)
                .bind(&row.id)
                .bind(position)
                .bind(row.numeric_id)
                .bind(&row.body)
                .execute(&mut **tx)
                .await?;
                bodies.push(row.body);
                position += 1;
            }
            sqlx::query(
                "UPDATE resource_collections SET next_position = $1, version = version + 1 \
                 WHERE name = $2",
            )
            .bind(position)
            .bind(name)
            .execute(&mut **tx)
            .await?;
            Ok(bodies)
        }

        #[async_trait]
        impl ResourceStore for $store {
            async fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError> {
                let rows: Vec<(String, bool, i64, Option<String>)> = sqlx::query_as(
                    "SELECT c.name, c.singular IS NOT NULL, \
                     (SELECT COUNT(*) FROM resource_documents d WHERE d.collection = c.name), \
                     c.schema FROM resource_collections c ORDER BY c.ordinal, c.name",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(name, singular, documents, schema)| {
                        Ok(CollectionInfo {
                            name,
                            singular,
                            documents: if singular { 1 } else { documents },
                            schema: schema.as_deref().map(serde_json::from_str).transpose()?,
                        })
                    })
                    .collect()
            }

            async fn kind(&self, name: &str) -> Result<Option<bool>, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT singular IS NOT NULL FROM resource_collections WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn create(
                &self,
                name: &str,
                content: NewCollection,
                schema: Option<&Value>,
            ) -> Result<bool, StoreError> {
                let schema = schema.map(serde_json::to_string).transpose()?;
                let content = match content {
                    NewCollection::Plural(documents) => NewCollection::Plural(with_ids(documents)),
                    singular => singular,
                };
                let documents = match &content {
                    NewCollection::Plural(documents) => documents.as_slice(),
                    NewCollection::Singular(document) => std::slice::from_ref(document),
                };
                for document in documents {
                    check(&self.cache, schema.as_deref(), document)?;
                }
                let (_turn, mut tx) = self.begin().await?;
                let singular = match &content {
                    NewCollection::Singular(document) => Some(serde_json::to_string(document)?),
                    NewCollection::Plural(_) => None,
                };
                let created = sqlx::query(
                    "INSERT INTO resource_collections (name, singular, schema, ordinal, version) \
                     SELECT $1, $2, $3, COALESCE(MAX(ordinal), 0) + 1, $4 \
                     FROM resource_collections WHERE true ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(singular)
                .bind(schema)
                .bind(first_version())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !created {
                    return Ok(false);
                }
                if let NewCollection::Plural(documents) = content {
                    insert_rows(&mut tx, name, 0, &documents).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn drop_collection(&self, name: &str) -> Result<bool, StoreError> {
                let (_turn, mut tx) = self.begin().await?;
                sqlx::query("DELETE FROM resource_documents WHERE collection = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                let dropped = sqlx::query("DELETE FROM resource_collections WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(dropped)
            }

            async fn documents(
                &self,
                name: &str,
            ) -> Result<Option<std::sync::Arc<Vec<Document>>>, StoreError> {
                let found: Option<(i64, bool)> = sqlx::query_as(
                    "SELECT version, singular IS NOT NULL FROM resource_collections \
                     WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                let Some((version, false)) = found else {
                    return Ok(None);
                };
                if let Some(documents) = self.cache.get(name, version) {
                    return Ok(Some(documents));
                }
                let bodies: Vec<String> = sqlx::query_scalar(
                    "SELECT body FROM resource_documents WHERE collection = $1 ORDER BY position",
                )
                .bind(name)
                .fetch_all(&self.pool)
                .await?;
                let documents = std::sync::Arc::new(
                    bodies
                        .iter()
                        .map(|body| parse(body))
                        .collect::<Result<Vec<_>, _>>()?,
                );
                // Read after the version: at worst newer than it, and then
                // the next read sees a newer version and reads again.
                self.cache.put(name, version, documents.clone());
                Ok(Some(documents))
            }

            async fn document(&self, name: &str, id: &str) -> Result<Option<Stored>, StoreError> {
                let body: Option<String> = sqlx::query_scalar(
                    "SELECT body FROM resource_documents WHERE collection = $1 AND id = $2",
                )
                .bind(name)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                body.as_deref().map(stored).transpose()
            }

            async fn insert(&self, name: &str, mut document: Document) -> Result<Stored, StoreError> {
                let (_turn, mut tx) = self.begin().await?;
                let Some((position, schema)) = lock_collection(&mut tx, name).await? else {
                    return Err(StoreError::NoCollection(name.to_owned()));
                };
                if !document.get(ID).is_some_and(model::is_truthy) {
                    let (count, largest): (i64, Option<f64>) = sqlx::query_as(
                        "SELECT COUNT(*), MAX(numeric_id) FROM resource_documents \
                         WHERE collection = $1",
                    )
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await?;
                    document.insert(ID.to_owned(), model::next_id(largest, count == 0));
                }
                check(&self.cache, schema.as_deref(), &document)?;
                let bodies =
                    insert_rows(&mut tx, name, position, std::slice::from_ref(&document)).await?;
                tx.commit().await?;
                Ok(Stored {
                    etag: bodies.first().map(|body| etag_of(body)).unwrap_or_default(),
                    document,
                })
            }

            async fn update(
                &self,
                name: &str,
                id: &str,
                body: Document,
                change: Change,
                expected: &Expected,
            ) -> Result<Written<Stored>, StoreError> {
                let (_turn, mut tx) = self.begin().await?;
                let Some((_, schema)) = lock_collection(&mut tx, name).await? else {
                    return Ok(Written::Missing);
                };
                let Some(text) = stored_text(&mut tx, name, id).await? else {
                    return Ok(Written::Missing);
                };
                let current = etag_of(&text);
                if !expected.allows(&current) {
                    return Ok(Written::Stale(current));
                }
                let document = changed(parse(&text)?, body, change);
                check(&self.cache, schema.as_deref(), &document)?;
                let text = serde_json::to_string(&document)?;
                sqlx::query(
                    "UPDATE resource_documents SET body = $1 WHERE collection = $2 AND id = $3",
                )
                .bind(&text)
                .bind(name)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                touch(&mut tx, name).await?;
                tx.commit().await?;
                Ok(Written::Done(Stored {
                    document,
                    etag: etag_of(&text),
                }))
            }

            async fn delete(
                &self,
                name: &str,
                id: &str,
                expected: &Expected,
            ) -> Result<Written<()>, StoreError> {
                let (_turn, mut tx) = self.begin().await?;
                if lock_collection(&mut tx, name).await?.is_none() {
                    return Ok(Written::Missing);
                }
                let Some(text) = stored_text(&mut tx, name, id).await? else {
                    return Ok(Written::Missing);
                };
                let current = etag_of(&text);
                if !expected.allows(&current) {
                    return Ok(Written::Stale(current));
                }
                sqlx::query("DELETE FROM resource_documents WHERE collection = $1 AND id = $2")
                    .bind(name)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                touch(&mut tx, name).await?;
                // Documents naming the deleted one go with it. The text
                // search only narrows the rows read; each is checked.
                let key = model::foreign_key(name);
                if model::referenced_collection(&key).as_deref() == Some(name) {
                    let candidates: Vec<(String, String, String)> = sqlx::query_as(
                        "SELECT collection, id, body FROM resource_documents WHERE body LIKE $1",
                    )
                    .bind(format!("%\"{key}\"%"))
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut touched = std::collections::BTreeSet::new();
                    for (collection, dependent, body) in candidates {
                        let names_it = parse(&body)?
                            .get(&key)
                            .is_some_and(|v| !v.is_null() && model::js_string(v) == id);
                        if names_it {
                            sqlx::query(
                                "DELETE FROM resource_documents WHERE collection = $1 AND id = $2",
                            )
                            .bind(&collection)
                            .bind(&dependent)
                            .execute(&mut *tx)
                            .await?;
                            touched.insert(collection);
                        }
                    }
                    // In name order, so two such deletes lock alike.
                    for collection in touched {
                        touch(&mut tx, &collection).await?;
                    }
                }
                tx.commit().await?;
                Ok(Written::Done(()))
            }

            async fn singular(&self, name: &str) -> Result<Option<Document>, StoreError> {
                let body: Option<Option<String>> = sqlx::query_scalar(
                    "SELECT singular FROM resource_collections WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                body.flatten().as_deref().map(parse).transpose()
            }

            async fn set_singular(
                &self,
                name: &str,
                body: Document,
                change: Change,
            ) -> Result<Option<Document>, StoreError> {
                let (_turn, mut tx) = self.begin().await?;
                let stored: Option<(Option<String>, Option<String>)> = sqlx::query_as(concat!(
                    "SELECT singular, schema FROM resource_collections WHERE name = $1",
                    $lock
                ))
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((Some(stored), schema)) = stored else {
                    return Ok(None);
                };
                let document = applied(parse(&stored)?, body, change);
                check(&self.cache, schema.as_deref(), &document)?;
                sqlx::query(
                    "UPDATE resource_collections SET singular = $1, version = version + 1 \
                     WHERE name = $2",
                )
                .bind(serde_json::to_string(&document)?)
                .bind(name)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(document))
            }
        }
    };
}

pub(crate) use sql_store;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document(value: Value) -> Document {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_change_keeps_the_id_and_the_key_order_lodash_id_gives() {
        let stored = document(json!({"id": 1, "title": "a", "views": 3}));
        let replaced = changed(
            stored.clone(),
            document(json!({"title": "b", "id": 9})),
            Change::Replace,
        );
        assert_eq!(
            serde_json::to_string(&replaced).unwrap(),
            r#"{"title":"b","id":1}"#
        );
        let merged = changed(
            stored,
            document(json!({"views": 4, "new": true})),
            Change::Merge,
        );
        assert_eq!(
            serde_json::to_string(&merged).unwrap(),
            r#"{"id":1,"title":"a","views":4,"new":true}"#
        );
    }

    #[test]
    fn seed_documents_without_ids_get_the_next_one() {
        let seeded = with_ids(vec![
            document(json!({"id": 3})),
            document(json!({"title": "no id"})),
            document(json!({"id": 0})),
        ]);
        let ids: Vec<&Value> = seeded.iter().map(|d| &d[ID]).collect();
        assert_eq!(ids, [&json!(3), &json!(4), &json!(5)]);
    }
}
