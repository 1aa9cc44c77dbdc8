//! Store contract suites: for each module's store trait, the same cases run
//! against its SQLite and its PostgreSQL implementation, straight through the
//! trait (no HTTP), on a fresh, migrated database each.
//!
//! One test binary for all of them: each file under `tests/` links a binary
//! of its own, and linking is most of what a test build costs here.

#[path = "../common/mod.rs"]
mod common;

mod echo_keys;
mod events;
mod messages;
mod mocks;
mod people;
mod resources;

use common::{Backend, TestDatabase};
use echobase::db::Database;

/// A fresh database of `backend`, migrated, with the guard that drops it.
/// `None` when the backend is unavailable here (never under `CI`).
pub async fn fresh_database(backend: Backend) -> Option<(TestDatabase, Database)> {
    let (guard, url) = TestDatabase::create(backend).await?;
    let db = Database::connect(&url, 5, echobase::db::DEFAULT_ACQUIRE_TIMEOUT)
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    Some((guard, db))
}

/// PostgreSQL's JIT compiles a plan whose estimated cost is high, which can
/// take longer than the query itself (seen: ~700 ms on a ~330 ms DORA query):
/// echobase's connections run without it.
#[tokio::test]
async fn postgres_connections_run_without_jit() {
    let Some((_guard, db)) = fresh_database(Backend::Postgres).await else {
        return;
    };
    let Database::Postgres(pool) = db else {
        panic!("a PostgreSQL database");
    };
    let jit: String = sqlx::query_scalar("SHOW jit")
        .fetch_one(&pool)
        .await
        .expect("SHOW jit");
    assert_eq!(jit, "off");
}

/// Migrations run with `synchronous=NORMAL` (their fsyncs were most of a
/// fresh file's start-up); the connection that ran them goes back to the pool
/// as durable as every other: a commit is on disk before it is acknowledged.
#[tokio::test]
async fn sqlite_connections_sync_every_commit_after_migrations() {
    let Some((_guard, url)) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    // One connection: the one that migrated is the one asked.
    let db = Database::connect(&url, 1, echobase::db::DEFAULT_ACQUIRE_TIMEOUT)
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    let Database::Sqlite(pool) = db else {
        panic!("a SQLite database");
    };
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&pool)
        .await
        .expect("PRAGMA synchronous");
    assert_eq!(synchronous, 2, "FULL");
}
