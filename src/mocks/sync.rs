//! Several processes on one PostgreSQL database: each write to the stubs
//! notifies a channel in its own transaction; every other process listens and
//! reloads its index when told (within milliseconds of the commit).

use std::sync::Weak;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use super::engine::Engine;
use super::store::CHANGES_CHANNEL;

/// How often the listener checks that it is still wanted, and how long it
/// waits before reconnecting after losing its connection.
const TICK: Duration = Duration::from_secs(1);

/// Listens until the engine is dropped or the pool is closed. After every
/// (re)connection it reloads once, since notifications sent while it was not
/// listening are lost.
pub fn spawn_listener(pool: PgPool, engine: Weak<Engine>, instance: String) {
    tokio::spawn(async move {
        loop {
            if pool.is_closed() || engine.strong_count() == 0 {
                return;
            }
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(listener) => listener,
                Err(_) if pool.is_closed() || engine.strong_count() == 0 => return,
                Err(error) => {
                    tracing::warn!(%error, "mocks: cannot listen for stub changes; retrying");
                    tokio::time::sleep(TICK).await;
                    continue;
                }
            };
            if let Err(error) = listener.listen(CHANGES_CHANNEL).await {
                tracing::warn!(%error, "mocks: cannot listen for stub changes; retrying");
                tokio::time::sleep(TICK).await;
                continue;
            }
            if !reload(&engine, &pool).await {
                return;
            }
            loop {
                tokio::select! {
                    received = listener.try_recv() => match received {
                        Ok(Some(notification)) if notification.payload() == instance => {}
                        Ok(Some(_)) => {
                            if !reload(&engine, &pool).await {
                                return;
                            }
                        }
                        Ok(None) => break, // connection lost: reconnect, then reload
                        Err(_) if pool.is_closed() || engine.strong_count() == 0 => return, // shutting down
                        Err(error) => {
                            tracing::warn!(%error, "mocks: stub change listener failed; reconnecting");
                            break;
                        }
                    },
                    _ = tokio::time::sleep(TICK) => {
                        if pool.is_closed() || engine.strong_count() == 0 {
                            return;
                        }
                    }
                }
            }
        }
    });
}

/// False when the engine is gone or the pool closed (shutting down).
async fn reload(engine: &Weak<Engine>, pool: &PgPool) -> bool {
    let Some(engine) = engine.upgrade() else {
        return false;
    };
    if let Err(error) = engine.reload().await {
        if pool.is_closed() {
            return false;
        }
        tracing::warn!(%error, "mocks: reloading stubs after a change failed");
    }
    true
}
