//! Messages in PostgreSQL: a commit returns once the WAL is flushed
//! (`synchronous_commit` at its default, `on`).

use sqlx::postgres::PgPool;

super::sql_message_store!(
    PostgresMessageStore,
    PostgresWriter,
    sqlx::Postgres,
    PgPool,
    "PostgreSQL"
);
