//! Where people live: one trait, an implementation per backend, and one
//! contract test suite (`tests/people.rs`) run against both.
//!
//! The SQL is the same on both backends (both accept it as written, and the
//! PostgreSQL text columns use the "C" collation so ordering matches SQLite's),
//! so it is written once, in [`person_store!`], and stamped out for each pool
//! type; the backend files say only what differs (the substring function, and
//! whether writes take turns).
//!
//! Single creates, the write a busy service does most, go through a queue to
//! one writer task per store that commits whatever has queued in one
//! transaction (group commit: one fsync for many requests, each answered only
//! after the commit). On SQLite every other write also takes one gate, so
//! writes never race for SQLite's write lock inside this process (its busy
//! handler sleeps up to 100 ms between tries).

mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use postgres::PostgresPersonStore;
pub use sqlite::SqlitePersonStore;

use super::model::{NewPerson, Person};
use super::query::{Filter, ListQuery};
use crate::db::Database;

/// Rows per multi-row `INSERT` in a batch: 3 bound values each, far below
/// either backend's limit on bound parameters.
pub const INSERT_CHUNK: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("people storage failed: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("the people writer has stopped")]
    WriterStopped,
}

/// Why a conditional write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("no person has this id")]
    NotFound,
    /// The person exists, at another version than the caller named.
    #[error("the person is at version {current}, not at a version the request named")]
    Stale { current: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WriteError {
    fn from(error: sqlx::Error) -> Self {
        WriteError::Store(StoreError::Backend(error))
    }
}

/// The versions a write is allowed to apply to (from `If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Whatever the current version is (no `If-Match`, or `If-Match: *`).
    AnyVersion,
    /// One of these; an empty list matches nothing.
    OneOf(Vec<i64>),
}

#[async_trait]
pub trait PersonStore: Send + Sync + 'static {
    /// Stores a new person under a fresh id; returns once the write is durable.
    async fn create(&self, person: &NewPerson) -> Result<Person, StoreError>;

    /// Stores all of them in one transaction, or none. The result is in
    /// input order (ids increase along it).
    async fn create_many(&self, people: &[NewPerson]) -> Result<Vec<Person>, StoreError>;

    async fn get(&self, id: i64) -> Result<Option<Person>, StoreError>;

    /// Replaces name, age and locale and bumps the version, if the current
    /// version is `expected`; atomic with that check.
    async fn replace(
        &self,
        id: i64,
        person: &NewPerson,
        expected: &Expected,
    ) -> Result<Person, WriteError>;

    /// Deletes the person if its version is `expected`; returns what was deleted.
    async fn delete(&self, id: i64, expected: &Expected) -> Result<Person, WriteError>;

    /// The rows of `query`'s window in its order, plus one more when there is
    /// one (so the caller knows whether a next page exists).
    async fn list(&self, query: &ListQuery) -> Result<Vec<Person>, StoreError>;

    /// How many people match all `filters`.
    async fn count(&self, filters: &[Filter]) -> Result<u64, StoreError>;
}

/// The store for the configured backend.
pub fn for_database(db: &Database) -> Arc<dyn PersonStore> {
    match db {
        Database::Sqlite(pool) => Arc::new(SqlitePersonStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(PostgresPersonStore::new(pool.clone())),
    }
}

/// Most creates committed in one transaction by a store's writer.
pub const GROUP_MAX: usize = 256;
/// Creates waiting for the writer before callers wait to queue.
pub const QUEUE_CAPACITY: usize = 4096;

/// Defines `$store`, a [`PersonStore`] on a `$pool` of backend `$db`, with its
/// group-commit writer. `$contains` is the backend's
/// `(haystack, needle) -> position` function; `$one_writer` whether writes
/// take turns in this process.
macro_rules! person_store {
    ($store:ident, $db:ty, $pool:ty, $contains:literal, one_writer: $one_writer:literal) => {
        #[derive(Debug, Clone)]
        pub struct $store {
            pool: $pool,
            jobs: tokio::sync::mpsc::Sender<Job>,
            gate: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
        }

        /// A create waiting for the writer.
        #[derive(Debug)]
        struct Job {
            person: NewPerson,
            reply: tokio::sync::oneshot::Sender<Result<Person, StoreError>>,
        }

        impl $store {
            /// Starts the writer task; it ends when the last clone of the store is dropped.
            pub fn new(pool: $pool) -> Self {
                let (jobs, queue) = tokio::sync::mpsc::channel(QUEUE_CAPACITY);
                let gate = $one_writer.then(|| std::sync::Arc::new(tokio::sync::Mutex::new(())));
                tokio::spawn(run_writer(pool.clone(), gate.clone(), queue));
                $store { pool, jobs, gate }
            }

            async fn insert_one(&self, person: &NewPerson) -> Result<Person, StoreError> {
                let (reply, answer) = tokio::sync::oneshot::channel();
                let job = Job {
                    person: person.clone(),
                    reply,
                };
                self.jobs
                    .send(job)
                    .await
                    .map_err(|_| StoreError::WriterStopped)?;
                answer.await.map_err(|_| StoreError::WriterStopped)?
            }

            async fn write_gate(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
                match &self.gate {
                    Some(gate) => Some(gate.lock().await),
                    None => None,
                }
            }
        }

        async fn run_writer(
            pool: $pool,
            gate: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
            mut queue: tokio::sync::mpsc::Receiver<Job>,
        ) {
            let mut group = Vec::with_capacity(GROUP_MAX);
            while queue.recv_many(&mut group, GROUP_MAX).await > 0 {
                let _gate = match &gate {
                    Some(gate) => Some(gate.lock().await),
                    None => None,
                };
                let people: Vec<&NewPerson> = group.iter().map(|job| &job.person).collect();
                match insert_group(&pool, &people).await {
                    Ok(created) => {
                        for (job, person) in group.drain(..).zip(created) {
                            let _ = job.reply.send(Ok(person));
                        }
                    }
                    // One failing row must not fail the others: retry each on its own.
                    Err(_) if group.len() > 1 => {
                        for job in group.drain(..) {
                            let result = insert_group(&pool, &[&job.person]).await.and_then(
                                |mut created| created.pop().ok_or(StoreError::WriterStopped),
                            );
                            let _ = job.reply.send(result);
                        }
                    }
                    Err(error) => {
                        if let Some(job) = group.pop() {
                            let _ = job.reply.send(Err(error));
                        }
                    }
                }
            }
        }

        /// Inserts `people` in one transaction, in multi-row statements (one
        /// round trip per chunk); the rows in the same order.
        async fn insert_group(
            pool: &$pool,
            people: &[&NewPerson],
        ) -> Result<Vec<Person>, StoreError> {
            let mut created = Vec::with_capacity(people.len());
            let mut tx = pool.begin().await?;
            for chunk in people.chunks(INSERT_CHUNK) {
                let mut qb =
                    sqlx::QueryBuilder::<$db>::new("INSERT INTO people (name, age, locale) ");
                qb.push_values(chunk, |mut row, person| {
                    row.push_bind(person.name.as_str().to_owned())
                        .push_bind(person.age.get())
                        .push_bind(person.locale.as_str().to_owned());
                });
                qb.push(" RETURNING id, name, age, locale, version");
                let mut rows = qb.build_query_as::<Person>().fetch_all(&mut *tx).await?;
                // Ids are drawn in VALUES order; RETURNING's order is not promised.
                rows.sort_by_key(|p| p.id);
                created.extend(rows);
            }
            tx.commit().await?;
            Ok(created)
        }

        impl $store {
            async fn version_of(&self, id: i64) -> Result<WriteError, WriteError> {
                Ok(match self.get(id).await? {
                    Some(person) => WriteError::Stale {
                        current: person.version,
                    },
                    None => WriteError::NotFound,
                })
            }
        }

        fn push_expected(qb: &mut sqlx::QueryBuilder<$db>, expected: &Expected) {
            if let Expected::OneOf(versions) = expected {
                if versions.is_empty() {
                    qb.push(" AND 1 = 0");
                } else {
                    qb.push(" AND version IN (");
                    let mut list = qb.separated(", ");
                    for version in versions {
                        list.push_bind(*version);
                    }
                    qb.push(")");
                }
            }
        }

        fn push_value(qb: &mut sqlx::QueryBuilder<$db>, value: &SqlValue) {
            match value {
                SqlValue::Int(n) => qb.push_bind(*n),
                SqlValue::Text(t) => qb.push_bind(t.clone()),
            };
        }

        fn push_filters(qb: &mut sqlx::QueryBuilder<$db>, filters: &[Filter]) {
            for filter in filters {
                let column = filter.column.sql();
                qb.push(" AND ");
                match (filter.op, filter.values.as_slice()) {
                    (Op::Contains, [needle, ..]) => {
                        qb.push(concat!($contains, "("));
                        qb.push(column);
                        qb.push(", ");
                        push_value(qb, needle);
                        qb.push(") > 0");
                    }
                    (Op::Eq | Op::Ne, values) if values.len() > 1 => {
                        qb.push(column);
                        qb.push(if filter.op == Op::Eq {
                            " IN ("
                        } else {
                            " NOT IN ("
                        });
                        for (i, value) in values.iter().enumerate() {
                            if i > 0 {
                                qb.push(", ");
                            }
                            push_value(qb, value);
                        }
                        qb.push(")");
                    }
                    (op, [value, ..]) => {
                        qb.push(column);
                        qb.push(op.sql());
                        push_value(qb, value);
                    }
                    (_, []) => {
                        qb.push("1 = 0");
                    }
                }
            }
        }

        /// Rows after `after` in `sort` order: for keys k1..kn,
        /// (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ... with `<` for descending keys.
        /// The redundant leading `k1 >= v1` lets the planner start the index
        /// scan at the cursor instead of filtering from the first row.
        fn push_keyset(qb: &mut sqlx::QueryBuilder<$db>, sort: &[SortKey], after: &[SqlValue]) {
            if let (Some(first), Some(value)) = (sort.first(), after.first()) {
                qb.push(" AND ");
                qb.push(first.column.sql());
                qb.push(if first.descending { " <= " } else { " >= " });
                push_value(qb, value);
            }
            qb.push(" AND (");
            let keys: Vec<(&SortKey, &SqlValue)> = sort.iter().zip(after).collect();
            for (i, (key, value)) in keys.iter().enumerate() {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push("(");
                for (earlier, earlier_value) in &keys[..i] {
                    qb.push(earlier.column.sql());
                    qb.push(" = ");
                    push_value(qb, earlier_value);
                    qb.push(" AND ");
                }
                qb.push(key.column.sql());
                qb.push(if key.descending { " < " } else { " > " });
                push_value(qb, value);
                qb.push(")");
            }
            qb.push(")");
        }

        #[async_trait]
        impl PersonStore for $store {
            async fn create(&self, person: &NewPerson) -> Result<Person, StoreError> {
                self.insert_one(person).await
            }

            async fn create_many(&self, people: &[NewPerson]) -> Result<Vec<Person>, StoreError> {
                let _gate = self.write_gate().await;
                let people: Vec<&NewPerson> = people.iter().collect();
                insert_group(&self.pool, &people).await
            }

            async fn get(&self, id: i64) -> Result<Option<Person>, StoreError> {
                let person = sqlx::query_as::<_, Person>(
                    "SELECT id, name, age, locale, version FROM people WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(person)
            }

            async fn replace(
                &self,
                id: i64,
                person: &NewPerson,
                expected: &Expected,
            ) -> Result<Person, WriteError> {
                let _gate = self.write_gate().await;
                let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE people SET name = ");
                qb.push_bind(person.name.as_str().to_owned());
                qb.push(", age = ");
                qb.push_bind(person.age.get());
                qb.push(", locale = ");
                qb.push_bind(person.locale.as_str().to_owned());
                qb.push(", version = version + 1 WHERE id = ");
                qb.push_bind(id);
                push_expected(&mut qb, expected);
                qb.push(" RETURNING id, name, age, locale, version");
                match qb
                    .build_query_as::<Person>()
                    .fetch_optional(&self.pool)
                    .await?
                {
                    Some(updated) => Ok(updated),
                    None => Err(self.version_of(id).await?),
                }
            }

            async fn delete(&self, id: i64, expected: &Expected) -> Result<Person, WriteError> {
                let _gate = self.write_gate().await;
                let mut qb = sqlx::QueryBuilder::<$db>::new("DELETE FROM people WHERE id = ");
                qb.push_bind(id);
                push_expected(&mut qb, expected);
                qb.push(" RETURNING id, name, age, locale, version");
                match qb
                    .build_query_as::<Person>()
                    .fetch_optional(&self.pool)
                    .await?
                {
                    Some(deleted) => Ok(deleted),
                    None => Err(self.version_of(id).await?),
                }
            }

            async fn list(&self, query: &ListQuery) -> Result<Vec<Person>, StoreError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, name, age, locale, version FROM people WHERE 1 = 1",
                );
                push_filters(&mut qb, &query.filters);
                let (offset, per_page) = match &query.window {
                    Window::Page { page, per_page } => {
                        (page.saturating_sub(1).saturating_mul(*per_page), *per_page)
                    }
                    Window::Cursor { after, per_page } => {
                        if let Some(after) = after {
                            push_keyset(&mut qb, &query.sort, after);
                        }
                        (0, *per_page)
                    }
                };
                qb.push(" ORDER BY ");
                for (i, key) in query.sort.iter().enumerate() {
                    if i > 0 {
                        qb.push(", ");
                    }
                    qb.push(key.column.sql());
                    qb.push(if key.descending { " DESC" } else { " ASC" });
                }
                qb.push(" LIMIT ");
                qb.push_bind(i64::try_from(per_page.saturating_add(1)).unwrap_or(i64::MAX));
                qb.push(" OFFSET ");
                qb.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
                let rows = qb.build_query_as::<Person>().fetch_all(&self.pool).await?;
                Ok(rows)
            }

            async fn count(&self, filters: &[Filter]) -> Result<u64, StoreError> {
                let mut qb =
                    sqlx::QueryBuilder::<$db>::new("SELECT COUNT(*) FROM people WHERE 1 = 1");
                push_filters(&mut qb, filters);
                let count: i64 = qb.build_query_scalar().fetch_one(&self.pool).await?;
                Ok(u64::try_from(count).unwrap_or_default())
            }
        }
    };
}
use person_store;
