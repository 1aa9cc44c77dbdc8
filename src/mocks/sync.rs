//! Several processes on one PostgreSQL database: each write to the stubs
//! notifies a channel in its own transaction; every other process listens and
//! reloads its index when told (within milliseconds of the commit). The same
//! connection hears the shared journal's read barriers (see
//! [`super::store::JournalStore`]).

use std::sync::Weak;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use super::engine::Engine;
use super::store::{CHANGES_CHANNEL, JOURNAL_CHANNEL};

/// How often the listener checks that it is still wanted, and how long it
/// waits before reconnecting after losing its connection.
const TICK: Duration = Duration::from_secs(1);

/// Listens until the engine is dropped or the pool is closed. After every
/// (re)connection it reloads once, since notifications sent while it was not
/// listening are lost.
/// `joined` hears once the listener has first joined the shared journal.
pub fn spawn_listener(
    pool: PgPool,
    engine: Weak<Engine>,
    instance: String,
    joined: tokio::sync::oneshot::Sender<()>,
) {
    let mut joined = Some(joined);
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
            if let Err(error) = listener
                .listen_all([CHANGES_CHANNEL, JOURNAL_CHANNEL])
                .await
            {
                tracing::warn!(%error, "mocks: cannot listen for stub changes; retrying");
                tokio::time::sleep(TICK).await;
                continue;
            }
            if !reload(&engine, &pool).await || !join_journal(&engine, &mut listener).await {
                return;
            }
            if let Some(joined) = joined.take() {
                let _ = joined.send(());
            }
            loop {
                tokio::select! {
                    received = listener.try_recv() => match received {
                        Ok(Some(notification)) if notification.channel() == JOURNAL_CHANNEL => {
                            answer_barrier(&engine, notification.payload());
                        }
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

/// Tells the journal which connection this process listens on (the shared
/// journal's readers wait for a process only while that connection is up).
/// False when the engine is gone.
async fn join_journal(engine: &Weak<Engine>, listener: &mut PgListener) -> bool {
    let Some(engine) = engine.upgrade() else {
        return false;
    };
    let joined = match sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
        .fetch_one(&mut *listener)
        .await
    {
        Ok(pid) => engine.journal.listening(pid).await,
        Err(error) => Err(error.into()),
    };
    if let Err(error) = joined {
        tracing::warn!(%error, "mocks: cannot join the shared journal; its readers will not wait for this process");
    }
    true
}

/// Writes this process's queued journal entries and answers the barrier,
/// off the listener's loop (stub changes keep being heard meanwhile).
fn answer_barrier(engine: &Weak<Engine>, payload: &str) {
    let (Some(engine), Ok(barrier)) = (engine.upgrade(), payload.parse::<i64>()) else {
        return;
    };
    tokio::spawn(async move {
        if let Err(error) = engine.journal.barrier_requested(barrier).await {
            tracing::warn!(%error, barrier, "mocks: cannot answer a journal read barrier");
        }
    });
}
