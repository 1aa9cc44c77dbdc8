//! The echo route's shared secret: from settings, or generated once and kept
//! in the database.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use sqlx::{Executor, FromRow, IntoArguments};
use subtle::ConstantTimeEq;

use crate::db::Database;
use crate::db::binds::Binds;
use crate::setting::Secret;

/// The configured key, kept only as its SHA-256 so that comparing a presented
/// key takes the same time whatever the two keys share. A plain value, not
/// behind an `Arc`: axum clones a route's state for every request, and an
/// `Arc`'s count is a word that every core writes.
#[derive(Clone, Copy)]
pub struct ServerKey {
    hash: [u8; 32],
}

impl ServerKey {
    pub fn new(key: &Secret) -> Self {
        ServerKey {
            hash: Sha256::digest(key.expose().as_bytes()).into(),
        }
    }

    pub fn matches(&self, presented: &[u8]) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented).into();
        presented.ct_eq(&self.hash).into()
    }
}

/// Where a generated key is kept.
#[async_trait]
pub trait ServerKeyStore: Send + Sync {
    /// Stores `candidate` unless a key is stored already; returns the stored
    /// key. Concurrent callers (several processes) all get the same key.
    async fn get_or_insert(&self, candidate: &Secret) -> Result<Secret, sqlx::Error>;
}

/// The key in either backend: one row, two statements both dialects accept
/// as written. In SQLite its one write is one statement at start-up, before
/// any request: nothing to group, so no group-commit writer. In PostgreSQL the
/// row is shared by every process on the database.
pub struct SqlServerKeyStore<DB: sqlx::Database>(sqlx::Pool<DB>);

const SELECT: &str = "SELECT server_key FROM echo_server_key WHERE id = 1";

#[async_trait]
impl<DB> ServerKeyStore for SqlServerKeyStore<DB>
where
    DB: Binds,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
{
    async fn get_or_insert(&self, candidate: &Secret) -> Result<Secret, sqlx::Error> {
        // The first insert wins; the select then reads whichever key won.
        let mut insert = DB::query("INSERT INTO echo_server_key (id, server_key) VALUES (1, ");
        DB::bind_text(&mut insert, candidate.expose().to_owned());
        insert.push(") ON CONFLICT (id) DO NOTHING");
        insert.build().execute(&self.0).await?;
        let key: String = sqlx::query_scalar(SELECT).fetch_one(&self.0).await?;
        Ok(Secret::new(key))
    }
}

pub fn store_for(db: &Database) -> Box<dyn ServerKeyStore> {
    match db {
        Database::Sqlite(pool) => Box::new(SqlServerKeyStore(pool.clone())),
        Database::Postgres(pool) => Box::new(SqlServerKeyStore(pool.clone())),
    }
}

/// A new random key: 128 bits from the OS generator, as hex.
pub fn generate() -> Secret {
    Secret::new(format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_exact_key() {
        let key = ServerKey::new(&Secret::new("s3cret"));
        assert!(key.matches(b"s3cret"));
        assert!(!key.matches(b"s3cre"));
        assert!(!key.matches(b"s3cret "));
        assert!(!key.matches(b""));
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(generate(), generate());
        assert_eq!(generate().expose().len(), 64);
    }
}
