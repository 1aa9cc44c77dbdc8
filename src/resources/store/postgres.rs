//! Resources in PostgreSQL: each write is its own transaction and locks its
//! collection's row (`FOR UPDATE`), so writers of one collection take turns
//! across every process while other collections' writers go on.

use async_trait::async_trait;
use sqlx::Connection as _;
use sqlx::Postgres;
use sqlx::postgres::{PgConnection, PgListener, PgPool};

// Everything of the store's that the `sql_store!` body names.
use super::*;

/// Resources in a PostgreSQL database, which other processes may share.
#[derive(Debug, Clone)]
pub struct PostgresResourceStore {
    pool: PgPool,
    cache: Arc<Cache>,
    indexed: Indexed,
    /// Set once this process listens for every process's changes.
    listening: Arc<tokio::sync::OnceCell<()>>,
}

impl PostgresResourceStore {
    /// Other processes write too: a snapshot is checked against its
    /// collection's stored version before it is used.
    const TRUSTS_CACHE: bool = false;
    /// A list's count and page are read from one snapshot.
    const READ_SNAPSHOT: Option<&str> =
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    /// Processes starting together take turns to create the indexes: two
    /// `CREATE INDEX IF NOT EXISTS` at once may both try to create it. A
    /// try, polled ([`take_lock`]).
    const DDL_LOCK: Option<&str> = Some("SELECT pg_try_advisory_xact_lock(5264732117)");

    pub fn new(pool: PgPool, cache: Arc<Cache>, indexed: Indexed) -> Self {
        PostgresResourceStore {
            pool,
            cache,
            indexed,
            listening: Arc::default(),
        }
    }

    /// Builds an index without holding writes back (`CONCURRENTLY`), on a
    /// connection of its own: that runs outside a transaction, and the
    /// session's advisory lock (the key of `DDL_LOCK`, so processes take
    /// turns) ends with the connection whatever fails.
    async fn build_index(&self, build: IndexBuild) -> Result<bool, StoreError> {
        let mut connection = PgConnection::connect_with(&self.pool.connect_options()).await?;
        take_lock(&mut connection, "SELECT pg_try_advisory_lock(5264732117)").await?;
        // The build waits for transactions older than it; one that stays
        // open ends the build (its invalid index is dropped next time).
        sqlx::query("SET lock_timeout = '2min'")
            .execute(&mut connection)
            .await?;
        let built = Self::build_index_on(&mut connection, &build).await;
        // Closing ends the lock; a failure to close leaves it to the server.
        connection.close().await.ok();
        built
    }

    async fn build_index_on(
        connection: &mut PgConnection,
        build: &IndexBuild,
    ) -> Result<bool, StoreError> {
        let Some(listed) = index_wanted(connection, build).await? else {
            return Ok(false);
        };
        let name = Indexed::index_name(&build.key);
        // A concurrent build that broke off leaves an invalid index, which
        // `IF NOT EXISTS` would keep and no query would use.
        let invalid: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_index \
             WHERE indexrelid = to_regclass($1) AND NOT indisvalid)",
        )
        .bind(&name)
        .fetch_one(&mut *connection)
        .await?;
        if invalid {
            // The name is a digest's hex.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {name}"
            )))
            .execute(&mut *connection)
            .await?;
        }
        // The key's SQL names a plain field.
        sqlx::query(sqlx::AssertSqlSafe(create_index_sql(
            &build.key,
            " CONCURRENTLY",
        )))
        .execute(&mut *connection)
        .await?;
        if !listed {
            list_index(connection, &build.field).await?;
        }
        Ok(true)
    }

    /// Listens for the changes of every process, once, the first time a
    /// client watches: a connection is held only where someone watches.
    async fn follow_other_processes(&self) -> Result<(), StoreError> {
        self.listening
            .get_or_try_init(|| async {
                let mut listener = PgListener::connect_with(&self.pool).await?;
                listener.listen(EVENTS_CHANNEL).await?;
                tokio::spawn(follow_events(listener, Arc::downgrade(&self.cache)));
                Ok::<(), StoreError>(())
            })
            .await?;
        Ok(())
    }

    /// The SQL of `field`'s index key ([`Indexed`]). `field` is a plain
    /// name ([`model::is_plain_field`]), so it is written as a literal.
    /// Every function in it is immutable, as an index requires.
    ///
    /// PostgreSQL's JSON functions refuse a document holding `\u0000`
    /// anywhere (an error on every write to it, since the index is computed
    /// on insert). Such a document is keyed `'m'` without being parsed:
    /// lists of its collection are then read whole, as json-server's rules
    /// need. The stored text is serde_json's, which writes NUL as `\u0000`.
    fn field_key(field: &str) -> String {
        let value = format!("(body::jsonb -> '{field}')");
        let number = format!("({value})::numeric");
        format!(
            "(CASE WHEN strpos(body, '\\u0000') > 0 THEN 'm' ELSE CASE jsonb_typeof({value}) \
             WHEN 'string' THEN 's' || (body::jsonb ->> '{field}') \
             WHEN 'boolean' THEN 's' || (body::jsonb ->> '{field}') \
             WHEN 'null' THEN 'n' \
             WHEN 'number' THEN CASE WHEN {number} BETWEEN -9007199254740992 AND 9007199254740992 \
             AND {number} = trunc({number}) THEN 's' || trunc({number})::text ELSE 'm' END \
             WHEN 'array' THEN 'm' WHEN 'object' THEN 'm' END END)"
        )
    }

    async fn run(&self, job: Job) -> Result<Outcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut group = Group::default();
        let outcome = apply(&mut tx, &mut group, &self.cache, &job).await?;
        finish(&mut tx, &mut group).await?;
        if let Some((_, refusal)) = group.refused.pop() {
            return Err(refusal);
        }
        // Sent at commit, to every process listening (this one too).
        for event in group.committed_events() {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(EVENTS_CHANNEL)
                .bind(notification(event)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.cache.changed(&group.touched);
        Ok(outcome)
    }
}

sql_store!(PostgresResourceStore, Postgres, " FOR UPDATE");

/// A notification's payload: at most 8,000 bytes in PostgreSQL, so an
/// event whose id is too long to fit goes without it.
fn notification(mut event: CollectionEvent) -> Result<String, StoreError> {
    const MOST: usize = 7_900;
    let payload = serde_json::to_string(&event)?;
    if payload.len() <= MOST {
        return Ok(payload);
    }
    event.id = None;
    Ok(serde_json::to_string(&event)?)
}

/// Hands every process's committed changes to this process's watchers
/// until the store is gone. When the connection was lost, changes may have
/// been missed meanwhile: the watchers are told to read again.
async fn follow_events(mut listener: PgListener, cache: std::sync::Weak<Cache>) {
    loop {
        let received = listener.try_recv().await;
        let Some(cache) = cache.upgrade() else {
            return;
        };
        match received {
            Ok(Some(notification)) => match serde_json::from_str(notification.payload()) {
                Ok(event) => cache.publish([event]),
                Err(error) => {
                    tracing::warn!(%error, "resources: an unreadable change notification")
                }
            },
            // Lost; the next call connects and listens again.
            Ok(None) => cache.publish([event("", ChangeKind::Reset, None)]),
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "resources: cannot listen for changes; retrying");
                cache.publish([event("", ChangeKind::Reset, None)]);
                drop(cache);
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}
