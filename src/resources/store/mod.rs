//! Where resources live: one trait, a SQLite and a PostgreSQL
//! implementation, and one contract test suite (`tests/stores/resources.rs`)
//! run against both.
//!
//! The SQL is the same on both backends; what differs is how a write takes
//! its collection for itself: SQLite's `BEGIN IMMEDIATE` (one writer at a
//! time) or PostgreSQL's `SELECT … FOR UPDATE` on the collection's row (one
//! writer per collection, across every process). Both implementations are
//! the [`sql_store!`] macro's body with those two differences.

mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

pub use postgres::PostgresResourceStore;
pub use sqlite::SqliteResourceStore;

use super::model::{self, Document, ID};
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
}

/// Resources, as the routes use them.
#[async_trait]
pub trait ResourceStore: Send + Sync + std::fmt::Debug {
    /// Every collection, in creation order.
    async fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError>;
    /// Whether `name` exists, and whether it is singular.
    async fn kind(&self, name: &str) -> Result<Option<bool>, StoreError>;
    /// Creates `name` with its first documents in one transaction; `false`
    /// (and nothing written) when it exists already.
    async fn create(&self, name: &str, content: NewCollection) -> Result<bool, StoreError>;
    /// Removes a collection and its documents; `false` when there was none.
    async fn drop_collection(&self, name: &str) -> Result<bool, StoreError>;
    /// A collection's documents in insertion order (`None`: no such
    /// collection, or a singular one).
    async fn documents(&self, name: &str) -> Result<Option<Vec<Document>>, StoreError>;
    /// One document by its id's text.
    async fn document(&self, name: &str, id: &str) -> Result<Option<Document>, StoreError>;
    /// Appends `document`, with its id or json-server's next one.
    async fn insert(&self, name: &str, document: Document) -> Result<Document, StoreError>;
    /// Changes a document, keeping its id and its place; `None` if absent.
    async fn update(
        &self,
        name: &str,
        id: &str,
        body: Document,
        change: Change,
    ) -> Result<Option<Document>, StoreError>;
    /// Removes a document, and the documents of any collection that name it
    /// (`postId` for a post), as json-server does; `false` if absent.
    async fn delete(&self, name: &str, id: &str) -> Result<bool, StoreError>;
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

/// The store for `db`.
pub fn for_database(db: &Database) -> Arc<dyn ResourceStore> {
    match db {
        Database::Sqlite(pool) => Arc::new(SqliteResourceStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(PostgresResourceStore::new(pool.clone())),
    }
}

/// `body` changed into the stored document, as lodash-id does: a replace
/// keeps the body's keys in order and sets `id`; a merge assigns the body's
/// keys over the stored ones. Either way the stored id stays.
fn changed(stored: Document, body: Document, change: Change) -> Document {
    let id = stored.get(ID).cloned().unwrap_or(Value::Null);
    let mut document = match change {
        Change::Replace => body,
        Change::Merge => {
            let mut document = stored;
            document.extend(body);
            document
        }
    };
    document.insert(ID.to_owned(), id);
    document
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
    ($store:ident, $db:ty, $pool:ty, $begin:literal, $lock:literal) => {
        /// Resources in this backend.
        #[derive(Debug, Clone)]
        pub struct $store {
            pool: $pool,
        }

        impl $store {
            pub fn new(pool: $pool) -> Self {
                $store { pool }
            }

            async fn begin(&self) -> Result<sqlx::Transaction<'static, $db>, StoreError> {
                Ok(self.pool.begin_with($begin).await?)
            }
        }

        /// The collection's next position, its row locked for the write;
        /// `None` when there is no such collection (or it is singular).
        async fn lock_collection(
            tx: &mut sqlx::Transaction<'static, $db>,
            name: &str,
        ) -> Result<Option<i64>, StoreError> {
            Ok(sqlx::query_scalar(concat!(
                "SELECT next_position FROM resource_collections \
                 WHERE name = $1 AND singular IS NULL",
                $lock
            ))
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?)
        }

        async fn insert_rows(
            tx: &mut sqlx::Transaction<'static, $db>,
            name: &str,
            first_position: i64,
            documents: &[Document],
        ) -> Result<i64, StoreError> {
            let mut position = first_position;
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
                position += 1;
            }
            sqlx::query("UPDATE resource_collections SET next_position = $1 WHERE name = $2")
                .bind(position)
                .bind(name)
                .execute(&mut **tx)
                .await?;
            Ok(position)
        }

        #[async_trait]
        impl ResourceStore for $store {
            async fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError> {
                let rows: Vec<(String, bool, i64)> = sqlx::query_as(
                    "SELECT c.name, c.singular IS NOT NULL, \
                     (SELECT COUNT(*) FROM resource_documents d WHERE d.collection = c.name) \
                     FROM resource_collections c ORDER BY c.ordinal, c.name",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(name, singular, documents)| CollectionInfo {
                        name,
                        singular,
                        documents: if singular { 1 } else { documents },
                    })
                    .collect())
            }

            async fn kind(&self, name: &str) -> Result<Option<bool>, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT singular IS NOT NULL FROM resource_collections WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn create(&self, name: &str, content: NewCollection) -> Result<bool, StoreError> {
                let mut tx = self.begin().await?;
                let singular = match &content {
                    NewCollection::Singular(document) => Some(serde_json::to_string(document)?),
                    NewCollection::Plural(_) => None,
                };
                let created = sqlx::query(
                    "INSERT INTO resource_collections (name, singular, ordinal) \
                     SELECT $1, $2, COALESCE(MAX(ordinal), 0) + 1 FROM resource_collections \
                     WHERE true ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(singular)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !created {
                    return Ok(false);
                }
                if let NewCollection::Plural(documents) = content {
                    insert_rows(&mut tx, name, 0, &with_ids(documents)).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn drop_collection(&self, name: &str) -> Result<bool, StoreError> {
                let mut tx = self.begin().await?;
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

            async fn documents(&self, name: &str) -> Result<Option<Vec<Document>>, StoreError> {
                if self.kind(name).await? != Some(false) {
                    return Ok(None);
                }
                let bodies: Vec<String> = sqlx::query_scalar(
                    "SELECT body FROM resource_documents WHERE collection = $1 ORDER BY position",
                )
                .bind(name)
                .fetch_all(&self.pool)
                .await?;
                Ok(Some(
                    bodies
                        .iter()
                        .map(|body| parse(body))
                        .collect::<Result<_, _>>()?,
                ))
            }

            async fn document(&self, name: &str, id: &str) -> Result<Option<Document>, StoreError> {
                let body: Option<String> = sqlx::query_scalar(
                    "SELECT body FROM resource_documents WHERE collection = $1 AND id = $2",
                )
                .bind(name)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                body.as_deref().map(parse).transpose()
            }

            async fn insert(&self, name: &str, mut document: Document) -> Result<Document, StoreError> {
                let mut tx = self.begin().await?;
                let Some(position) = lock_collection(&mut tx, name).await? else {
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
                insert_rows(&mut tx, name, position, std::slice::from_ref(&document)).await?;
                tx.commit().await?;
                Ok(document)
            }

            async fn update(
                &self,
                name: &str,
                id: &str,
                body: Document,
                change: Change,
            ) -> Result<Option<Document>, StoreError> {
                let mut tx = self.begin().await?;
                if lock_collection(&mut tx, name).await?.is_none() {
                    return Ok(None);
                }
                let stored: Option<String> = sqlx::query_scalar(
                    "SELECT body FROM resource_documents WHERE collection = $1 AND id = $2",
                )
                .bind(name)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(stored) = stored else {
                    return Ok(None);
                };
                let document = changed(parse(&stored)?, body, change);
                sqlx::query("UPDATE resource_documents SET body = $1 WHERE collection = $2 AND id = $3")
                    .bind(serde_json::to_string(&document)?)
                    .bind(name)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(document))
            }

            async fn delete(&self, name: &str, id: &str) -> Result<bool, StoreError> {
                let mut tx = self.begin().await?;
                if lock_collection(&mut tx, name).await?.is_none() {
                    return Ok(false);
                }
                let deleted = sqlx::query(
                    "DELETE FROM resource_documents WHERE collection = $1 AND id = $2",
                )
                .bind(name)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !deleted {
                    return Ok(false);
                }
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
                        }
                    }
                }
                tx.commit().await?;
                Ok(true)
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
                let mut tx = self.begin().await?;
                let stored: Option<Option<String>> = sqlx::query_scalar(concat!(
                    "SELECT singular FROM resource_collections WHERE name = $1",
                    $lock
                ))
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(Some(stored)) = stored else {
                    return Ok(None);
                };
                let document = match change {
                    Change::Replace => body,
                    Change::Merge => {
                        let mut document = parse(&stored)?;
                        document.extend(body);
                        document
                    }
                };
                sqlx::query("UPDATE resource_collections SET singular = $1 WHERE name = $2")
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
