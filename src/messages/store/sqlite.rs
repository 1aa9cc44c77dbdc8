//! Messages in SQLite. The file is in WAL mode with `synchronous=FULL` (see
//! `crate::db`), so the group commit's single commit is on disk before any of
//! its callers is answered.

use sqlx::sqlite::SqlitePool;

super::sql_message_store!(
    SqliteMessageStore,
    SqliteWriter,
    sqlx::Sqlite,
    SqlitePool,
    "SQLite"
);
