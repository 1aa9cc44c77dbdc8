//! Where people live: one trait, an implementation per backend, and one
//! contract test suite (`tests/stores/people.rs`) run against both.
//!
//! The SQL is the same on both backends (both accept it as written, and the
//! PostgreSQL text columns use the "C" collation so ordering matches SQLite's),
//! so it is built here, with bound parameters only; the backend files run it
//! and say what differs: the substring function, and which writes go through
//! a [`GroupCommit`](crate::db::group_commit::GroupCommit) writer.
//!
//! Single creates, the write a busy service does most, go through a
//! group-commit writer on both backends: one transaction and one multi-row
//! `INSERT` for whatever has queued, each request answered only after the
//! commit (docs/people.md: SQLite 649 → 7,227 creates/s, PostgreSQL
//! 1,400–1,900 → 3,204). On SQLite every other write goes through the same
//! writer, so writes never race for SQLite's write lock inside this process
//! (its busy handler sleeps up to 100 ms between tries).

mod cache;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::QueryBuilder;

pub use cache::CachedPersonStore;
pub use postgres::PostgresPersonStore;
pub use sqlite::SqlitePersonStore;

use super::model::{NewPerson, Person};
use super::query::{Filter, ListQuery, Op, SortKey, SqlValue, Window};
use crate::db::Database;
use crate::db::binds::Binds;
use crate::db::group_commit::{GroupCommitError, GroupCommitOptions};

/// Rows per multi-row `INSERT` in a batch: 3 bound values each, far below
/// either backend's limit on bound parameters.
pub const INSERT_CHUNK: usize = 500;
/// Most writes committed in one transaction by a store's writer.
pub const GROUP_MAX: usize = 256;
/// Writes waiting for the writer before callers wait to queue.
pub const QUEUE_CAPACITY: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("people storage failed: {0}")]
    Backend(#[from] sqlx::Error),
    /// The writer stopped, or broke its contract (see [`GroupCommitError`]).
    #[error(transparent)]
    Writer(#[from] GroupCommitError),
}

impl StoreError {
    /// Whether the database could not be reached or used at all: a 503 to
    /// retry rather than a 500 (see [`crate::db::is_unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Backend(error) if crate::db::is_unavailable(error))
    }
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

    /// How many people match all `filters`, counting no further than
    /// `cap + 1`: the cost of reading at most that many index entries.
    async fn count_up_to(&self, filters: &[Filter], cap: u64) -> Result<u64, StoreError>;

    /// An estimate of how many people match all `filters`, at a cost that
    /// does not grow with the table.
    async fn estimate_count(&self, filters: &[Filter]) -> Result<u64, StoreError>;
}

/// The store for the configured backend; on SQLite, with up to
/// `cached_people` people read by id kept in memory (0: none).
pub fn for_database(db: &Database, cached_people: usize) -> Arc<dyn PersonStore> {
    match db {
        Database::Sqlite(pool) => {
            let store = Arc::new(SqlitePersonStore::new(pool.clone()));
            if cached_people == 0 {
                store
            } else {
                Arc::new(CachedPersonStore::new(store, cached_people))
            }
        }
        Database::Postgres(pool) => Arc::new(PostgresPersonStore::new(pool.clone())),
    }
}

/// Names the writer in errors ("the people writer has stopped") and metrics.
const WRITER: &str = "people";

fn group_options() -> GroupCommitOptions {
    GroupCommitOptions {
        name: WRITER,
        queue_capacity: QUEUE_CAPACITY,
        max_group: GROUP_MAX,
    }
}

/// The row a conditional write of `id` changed; when it changed none, why:
/// the person is gone, or at another version.
async fn written_or_refusal(
    store: &(impl PersonStore + ?Sized),
    id: i64,
    written: Option<Person>,
) -> Result<Person, WriteError> {
    if let Some(person) = written {
        return Ok(person);
    }
    Err(match store.get(id).await {
        Ok(Some(person)) => WriteError::Stale {
            current: person.version,
        },
        Ok(None) => WriteError::NotFound,
        Err(error) => error.into(),
    })
}

/// The three reads, one statement each on the backend's own pool: written
/// once, as both dialects accept the same SQL.
#[derive(Debug)]
struct Reads<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    /// The backend's `(haystack, needle) -> position` function.
    contains: &'static str,
}

// By hand: the derive would ask `DB: Clone`, which the backends' marker types are not.
impl<DB: sqlx::Database> Clone for Reads<DB> {
    fn clone(&self) -> Self {
        Reads {
            pool: self.pool.clone(),
            contains: self.contains,
        }
    }
}

impl<DB> Reads<DB>
where
    DB: Binds,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'r> Person: sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    async fn get(&self, id: i64) -> Result<Option<Person>, StoreError> {
        let mut qb = DB::query("SELECT id, name, age, locale, version FROM people WHERE id = ");
        DB::bind_i64(&mut qb, id);
        Ok(qb
            .build_query_as::<Person>()
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Person>, StoreError> {
        let mut qb = list_query::<DB>(query, self.contains);
        Ok(qb.build_query_as::<Person>().fetch_all(&self.pool).await?)
    }

    async fn count(&self, filters: &[Filter]) -> Result<u64, StoreError> {
        let mut qb = count_query::<DB>(filters, self.contains);
        let count: i64 = qb.build_query_scalar().fetch_one(&self.pool).await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn count_up_to(&self, filters: &[Filter], cap: u64) -> Result<u64, StoreError> {
        let mut qb = DB::query("SELECT COUNT(*) FROM (SELECT 1 FROM people WHERE 1 = 1");
        push_filters(&mut qb, filters, self.contains);
        qb.push(" LIMIT ");
        DB::bind_i64(
            &mut qb,
            i64::try_from(cap.saturating_add(1)).unwrap_or(i64::MAX),
        );
        qb.push(") AS capped");
        let count: i64 = qb.build_query_scalar().fetch_one(&self.pool).await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}

/// One multi-row `INSERT` of `people` (at most [`INSERT_CHUNK`]), returning
/// the rows in no promised order.
fn insert_query<DB: Binds>(people: &[&NewPerson]) -> QueryBuilder<DB> {
    let mut qb = DB::query("INSERT INTO people (name, age, locale) VALUES ");
    for (i, person) in people.iter().enumerate() {
        qb.push(if i > 0 { ", (" } else { "(" });
        DB::bind_text(&mut qb, person.name.as_str().to_owned());
        qb.push(", ");
        DB::bind_i32(&mut qb, person.age.get());
        qb.push(", ");
        DB::bind_text(&mut qb, person.locale.as_str().to_owned());
        qb.push(")");
    }
    qb.push(" RETURNING id, name, age, locale, version");
    qb
}

/// Inserts `people` on `conn` in multi-row statements (one round trip per
/// chunk); the rows in the same order. The caller owns the transaction.
async fn insert_people<DB>(
    conn: &mut DB::Connection,
    people: &[&NewPerson],
) -> Result<Vec<Person>, sqlx::Error>
where
    DB: Binds,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'r> Person: sqlx::FromRow<'r, DB::Row>,
{
    let mut created = Vec::with_capacity(people.len());
    for chunk in people.chunks(INSERT_CHUNK) {
        let mut qb = insert_query::<DB>(chunk);
        let mut rows = qb.build_query_as::<Person>().fetch_all(&mut *conn).await?;
        // Ids are drawn in VALUES order; RETURNING's order is not promised.
        rows.sort_by_key(|p| p.id);
        created.extend(rows);
    }
    Ok(created)
}

/// `UPDATE` of `id` to `person` with the version bumped, if at `expected`;
/// returns the row it changed (none: missing, or at another version).
fn replace_query<DB: Binds>(id: i64, person: &NewPerson, expected: &Expected) -> QueryBuilder<DB> {
    let mut qb = DB::query("UPDATE people SET name = ");
    DB::bind_text(&mut qb, person.name.as_str().to_owned());
    qb.push(", age = ");
    DB::bind_i32(&mut qb, person.age.get());
    qb.push(", locale = ");
    DB::bind_text(&mut qb, person.locale.as_str().to_owned());
    qb.push(", version = version + 1 WHERE id = ");
    DB::bind_i64(&mut qb, id);
    push_expected(&mut qb, expected);
    qb.push(" RETURNING id, name, age, locale, version");
    qb
}

/// `DELETE` of `id` if at `expected`; returns the row it removed.
fn delete_query<DB: Binds>(id: i64, expected: &Expected) -> QueryBuilder<DB> {
    let mut qb = DB::query("DELETE FROM people WHERE id = ");
    DB::bind_i64(&mut qb, id);
    push_expected(&mut qb, expected);
    qb.push(" RETURNING id, name, age, locale, version");
    qb
}

/// The rows of `query`'s window, plus one. `contains` is the backend's
/// `(haystack, needle) -> position` function.
fn list_query<DB: Binds>(query: &ListQuery, contains: &str) -> QueryBuilder<DB> {
    let mut qb = DB::query("");
    push_list_query(&mut qb, query, contains);
    qb
}

/// [`list_query`], appended to `qb`.
fn push_list_query<DB: Binds>(qb: &mut QueryBuilder<DB>, query: &ListQuery, contains: &str) {
    qb.push("SELECT id, name, age, locale, version FROM people WHERE 1 = 1");
    push_filters(qb, &query.filters, contains);
    let (offset, per_page) = match &query.window {
        Window::Page { page, per_page } => {
            (page.saturating_sub(1).saturating_mul(*per_page), *per_page)
        }
        Window::Cursor { after, per_page } => {
            if let Some(after) = after {
                push_keyset(qb, &query.sort, after);
            }
            (0, *per_page)
        }
    };
    push_order_by(qb, &query.sort);
    qb.push(" LIMIT ");
    DB::bind_i64(
        qb,
        i64::try_from(per_page.saturating_add(1)).unwrap_or(i64::MAX),
    );
    qb.push(" OFFSET ");
    DB::bind_i64(qb, i64::try_from(offset).unwrap_or(i64::MAX));
}

/// ` ORDER BY` the sort keys (columns from a closed set, nothing bound).
fn push_order_by<DB: Binds>(qb: &mut QueryBuilder<DB>, sort: &[SortKey]) {
    qb.push(" ORDER BY ");
    for (i, key) in sort.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push(key.column.sql());
        qb.push(if key.descending { " DESC" } else { " ASC" });
    }
}

/// `COUNT(*)` of the rows matching all `filters`.
fn count_query<DB: Binds>(filters: &[Filter], contains: &str) -> QueryBuilder<DB> {
    let mut qb = DB::query("SELECT COUNT(*) FROM people WHERE 1 = 1");
    push_filters(&mut qb, filters, contains);
    qb
}

fn push_expected<DB: Binds>(qb: &mut QueryBuilder<DB>, expected: &Expected) {
    if let Expected::OneOf(versions) = expected {
        if versions.is_empty() {
            qb.push(" AND 1 = 0");
        } else {
            qb.push(" AND version IN (");
            for (i, version) in versions.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                DB::bind_i64(qb, *version);
            }
            qb.push(")");
        }
    }
}

fn push_value<DB: Binds>(qb: &mut QueryBuilder<DB>, value: &SqlValue) {
    match value {
        SqlValue::Int(n) => DB::bind_i64(qb, *n),
        SqlValue::Text(t) => DB::bind_text(qb, t.clone()),
    }
}

fn push_filters<DB: Binds>(qb: &mut QueryBuilder<DB>, filters: &[Filter], contains: &str) {
    for filter in filters {
        let column = filter.column.sql();
        qb.push(" AND ");
        match (filter.op, filter.values.as_slice()) {
            (Op::Contains, [needle, ..]) => {
                qb.push(contains);
                qb.push("(");
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
fn push_keyset<DB: Binds>(qb: &mut QueryBuilder<DB>, sort: &[SortKey], after: &[SqlValue]) {
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
