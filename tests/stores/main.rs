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
