//! Messages in PostgreSQL: a commit returns once the WAL is flushed
//! (`synchronous_commit` at its default, `on`).

use std::sync::Weak;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use super::CachedStore;
use crate::messages::model::Digest;

/// Where deleted digests are announced (migration 0006's trigger).
const DELETED_CHANNEL: &str = "echobase_messages_deleted";
/// Pause before listening again after the listener failed.
const RELISTEN_PAUSE: Duration = Duration::from_secs(1);

super::sql_message_store!(
    PostgresMessageStore,
    PostgresWriter,
    sqlx::Postgres,
    PgPool,
    "PostgreSQL"
);

/// Evicts from `cache` every message deleted by any process on this database,
/// until the pool closes or the cache is gone. Holds one pooled connection.
///
/// Whenever the listener was not listening (at start, after a lost
/// connection) the cache is cleared, as deletes may have been missed.
pub async fn follow_deletes(pool: PgPool, cache: Weak<CachedStore>) {
    while !pool.is_closed() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for deleted messages; retrying");
                tokio::time::sleep(RELISTEN_PAUSE).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(DELETED_CHANNEL).await {
            tracing::warn!(%error, "cannot listen for deleted messages; retrying");
            tokio::time::sleep(RELISTEN_PAUSE).await;
            continue;
        }
        let Some(listening) = cache.upgrade() else {
            return;
        };
        listening.clear();
        drop(listening);
        loop {
            let notification = match listener.try_recv().await {
                Ok(Some(notification)) => notification,
                // The connection dropped (the next call reconnects): what was
                // deleted meanwhile is unknown.
                Ok(None) => match cache.upgrade() {
                    Some(cache) => {
                        cache.clear();
                        continue;
                    }
                    None => return,
                },
                // Includes the pool closing at shutdown.
                Err(_) => break,
            };
            let Some(cache) = cache.upgrade() else {
                return;
            };
            if let Ok(digest) = Digest::parse(notification.payload()) {
                cache.evict(&digest);
            }
        }
    }
}
