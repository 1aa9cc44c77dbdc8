//! Messages in SQLite: rows appended in id order, found through a
//! [`DigestIndex`] in memory instead of an index in the file.
//!
//! Two tables (migration 0007): `messages` (id, digest, size, content type,
//! time) and `message_contents` (id, content), so that start-up rebuilds the
//! index by reading ~70 bytes a message rather than every message, and `HEAD`
//! and lookups never read content. Each group of writes is one
//! `BEGIN IMMEDIATE` transaction on the writer's own connection; the file is
//! in WAL mode with `synchronous=FULL` (see `crate::db`), so the commit is on
//! disk before any caller is answered, and the index learns of a group only
//! once it has committed.
//!
//! The index is this process's knowledge of the file, so one process owns
//! it: the store takes an exclusive lock on the database file (`flock`; SQLite
//! itself uses POSIX locks, which are separate) and a second echobase process
//! on the same file stops at start-up with a clear error. Stores opened twice
//! in one process (tests do) share one index and take turns writing.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, PoisonError, RwLock, Weak};

use async_trait::async_trait;
use futures_util::TryStreamExt as _;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{Connection as _, QueryBuilder, Sqlite};

use super::digest_index::DigestIndex;
use super::{
    MessageInfo, MessageStore, PutOutcome, StoreError, StoredMessage, WriteJob, WriteOutcome,
};
use crate::db::group_commit::{GroupCommit, GroupWriter};
use crate::messages::model::{Content, Digest};

/// Most rows in one multi-row `INSERT` (SQLite binds at most 32,766 values).
const INSERT_CHUNK: usize = 256;

/// What every store of one database file in this process shares.
struct FileState {
    index: RwLock<DigestIndex>,
    /// Set once a background task has read every row's digest into `index`
    /// (or failed to: why). Reads and writes wait for it, so that the server
    /// starts answering without waiting ~1.7 s per million stored messages.
    loaded: tokio::sync::SetOnce<Result<(), String>>,
    /// Held across a group's transaction and the index update after it, so
    /// that each group decides "new or already stored" on an index that
    /// holds every group committed before it.
    write_turn: tokio::sync::Mutex<()>,
    /// The `flock` on the database file, held while any store uses it.
    _owner: Option<std::fs::File>,
}

impl FileState {
    /// Waits until the index holds every row of the file.
    async fn loaded(&self) -> Result<(), StoreError> {
        match self.loaded.wait().await {
            Ok(()) => Ok(()),
            Err(reason) => Err(StoreError::IndexUnavailable(reason.clone())),
        }
    }

    fn index(&self) -> std::sync::RwLockReadGuard<'_, DigestIndex> {
        // A panic while holding the lock cannot leave the map half-changed
        // in a way that matters: every entry is checked against its row.
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Open database files, so that stores of one file share its state.
static OPEN_FILES: LazyLock<tokio::sync::Mutex<HashMap<PathBuf, Weak<FileState>>>> =
    LazyLock::new(Default::default);

/// Messages in SQLite.
#[derive(Clone)]
pub struct SqliteMessageStore {
    pool: SqlitePool,
    file: Arc<FileState>,
    writes: GroupCommit<SqliteWriter>,
}

impl std::fmt::Debug for SqliteMessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteMessageStore")
            .field("indexed", &self.file.index().len())
            .finish_non_exhaustive()
    }
}

impl SqliteMessageStore {
    /// Opens the store: locks the file, starts rebuilding the digest index
    /// from the rows (or shares the index of a store of the same file), and
    /// starts the writer task on the current tokio runtime.
    pub async fn open(pool: SqlitePool) -> Result<Self, StoreError> {
        let file = open_file(&pool).await?;
        let writes = GroupCommit::spawn(
            SqliteWriter {
                pool: pool.clone(),
                file: file.clone(),
                connection: tokio::sync::Mutex::new(None),
            },
            super::group_options(),
        );
        Ok(SqliteMessageStore { pool, file, writes })
    }
}

async fn open_file(pool: &SqlitePool) -> Result<Arc<FileState>, StoreError> {
    let options = pool.connect_options();
    // `:memory:` and the like have no path to share or lock.
    let Ok(path) = std::fs::canonicalize(options.get_filename()) else {
        return Ok(start_loading(pool, None));
    };
    let mut open = OPEN_FILES.lock().await;
    if let Some(state) = open.get(&path).and_then(Weak::upgrade) {
        return Ok(state);
    }
    let owner = lock_file(&path)?;
    let state = start_loading(pool, Some(owner));
    open.retain(|_, state| state.strong_count() > 0);
    open.insert(path, Arc::downgrade(&state));
    Ok(state)
}

/// A file's state with an empty index, and the task that fills it.
fn start_loading(pool: &SqlitePool, owner: Option<std::fs::File>) -> Arc<FileState> {
    let state = Arc::new(FileState {
        index: RwLock::new(DigestIndex::default()),
        loaded: tokio::sync::SetOnce::new(),
        write_turn: tokio::sync::Mutex::new(()),
        _owner: owner,
    });
    let (pool, filling) = (pool.clone(), Arc::downgrade(&state));
    tokio::spawn(async move {
        let loaded = load(&pool, &filling).await;
        let Some(filling) = filling.upgrade() else {
            return;
        };
        let loaded = match loaded {
            Ok(Some(index)) => {
                *filling
                    .index
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = index;
                Ok(())
            }
            Ok(None) => Err("the server is stopping".to_owned()),
            Err(error) => {
                tracing::error!(%error, "messages: cannot load the digest index");
                Err(error.to_string())
            }
        };
        // The only setter: this cannot have been set before.
        let _ = filling.loaded.set(loaded);
    });
    state
}

/// Rows read between checks that the load is still wanted.
const LOAD_CHECK_ROWS: usize = 16_384;

fn lock_file(path: &std::path::Path) -> Result<std::fs::File, StoreError> {
    let file = std::fs::File::open(path).map_err(|source| StoreError::Lock {
        path: path.display().to_string(),
        reason: source.to_string(),
    })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Lock {
            path: path.display().to_string(),
            reason: "another echobase process serves this file (a SQLite file is served by \
                     one process; several processes share a PostgreSQL database)"
                .to_owned(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Lock {
            path: path.display().to_string(),
            reason: source.to_string(),
        }),
    }
}

/// Reads every row's digest into a new index; `None` if the server stops
/// (the pool closes, or no store of the file is left) before it is done, so
/// that a stop never waits for a load.
async fn load(
    pool: &SqlitePool,
    wanted_by: &Weak<FileState>,
) -> Result<Option<DigestIndex>, StoreError> {
    let started = std::time::Instant::now();
    let mut index = DigestIndex::default();
    let mut rows =
        sqlx::query_as::<_, (i64, Vec<u8>)>("SELECT id, digest FROM messages").fetch(pool);
    let mut read = 0_usize;
    while let Some((id, digest)) = rows.try_next().await? {
        let digest = Digest::from_bytes(&digest).ok_or(StoreError::CorruptDigest)?;
        index.insert(&digest, id);
        read += 1;
        if read.is_multiple_of(LOAD_CHECK_ROWS)
            && (pool.is_closed() || wanted_by.strong_count() == 0)
        {
            return Ok(None);
        }
    }
    drop(rows);
    tracing::info!(
        messages = index.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "messages: digest index loaded"
    );
    Ok(Some(index))
}

/// Writes a group of puts and deletes in one transaction, in order.
pub(super) struct SqliteWriter {
    pool: SqlitePool,
    file: Arc<FileState>,
    /// The writer's own connection, taken out of the pool (detached, so
    /// closing the pool never waits for it): every group on one connection
    /// keeps its page cache warm.
    connection: tokio::sync::Mutex<Option<SqliteConnection>>,
}

/// What a group changes in the index, applied once it has committed.
#[derive(Default)]
struct IndexChanges {
    /// In job order: (digest, row id, stored or deleted).
    changes: Vec<(Digest, i64, bool)>,
    /// Per digest, its row after the group's latest job (`None`: deleted),
    /// for the group's later jobs.
    latest: HashMap<Digest, Option<i64>>,
}

impl IndexChanges {
    fn stored(&mut self, digest: Digest, id: i64) {
        self.changes.push((digest, id, true));
        self.latest.insert(digest, Some(id));
    }

    fn deleted(&mut self, digest: Digest, id: i64) {
        self.changes.push((digest, id, false));
        self.latest.insert(digest, None);
    }
}

impl GroupWriter for SqliteWriter {
    type Job = WriteJob;
    type Output = WriteOutcome;
    type Error = StoreError;

    async fn write_group(&self, jobs: &[WriteJob]) -> Result<Vec<WriteOutcome>, StoreError> {
        self.file.loaded().await?;
        let _turn = self.file.write_turn.lock().await;
        let mut held = self.connection.lock().await;
        let connection = crate::db::held_connection(&mut held, &self.pool).await?;
        match self.write_on(connection, jobs).await {
            Ok((outcomes, changes)) => {
                let mut index = self
                    .file
                    .index
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                for (digest, id, stored) in changes.changes {
                    if stored {
                        index.insert(&digest, id);
                    } else {
                        index.remove(&digest, id);
                    }
                }
                Ok(outcomes)
            }
            Err(error) => {
                // It may be broken: the next group starts on a fresh one.
                *held = None;
                Err(error)
            }
        }
    }
}

impl SqliteWriter {
    async fn write_on(
        &self,
        connection: &mut SqliteConnection,
        jobs: &[WriteJob],
    ) -> Result<(Vec<WriteOutcome>, IndexChanges), StoreError> {
        let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;
        let mut next_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM messages")
            .fetch_one(&mut *tx)
            .await?;
        let mut outcomes = Vec::with_capacity(jobs.len());
        let mut changes = IndexChanges::default();
        let mut rows: Vec<(i64, &Content, &str)> = Vec::new();
        for job in jobs {
            match job {
                WriteJob::Put {
                    content,
                    content_type,
                } => {
                    let digest = content.digest();
                    let stored = match changes.latest.get(&digest) {
                        Some(row) => row.is_some(),
                        None => !self.rows_of(&mut tx, &digest).await?.is_empty(),
                    };
                    if stored {
                        outcomes.push(WriteOutcome::Put(PutOutcome::AlreadyStored));
                        continue;
                    }
                    rows.push((next_id, content, content_type));
                    changes.stored(digest, next_id);
                    next_id += 1;
                    outcomes.push(WriteOutcome::Put(PutOutcome::Created));
                    if rows.len() == INSERT_CHUNK {
                        insert_rows(&mut tx, &rows).await?;
                        rows.clear();
                    }
                }
                WriteJob::Delete(digest) => {
                    // Rows stored earlier in this group are inserted first.
                    insert_rows(&mut tx, &rows).await?;
                    rows.clear();
                    let ids = match changes.latest.get(digest) {
                        Some(row) => row.iter().copied().collect(),
                        None => self.rows_of(&mut tx, digest).await?,
                    };
                    for &id in &ids {
                        sqlx::query("DELETE FROM message_contents WHERE id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM messages WHERE id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        changes.deleted(*digest, id);
                    }
                    outcomes.push(WriteOutcome::Delete(!ids.is_empty()));
                }
            }
        }
        insert_rows(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok((outcomes, changes))
    }

    /// The rows holding `digest`, as of the index and this transaction.
    async fn rows_of(
        &self,
        connection: &mut SqliteConnection,
        digest: &Digest,
    ) -> Result<Vec<i64>, StoreError> {
        let candidates = self.file.index().candidates(digest);
        let mut found = Vec::new();
        for id in candidates {
            let holds: Option<i64> =
                sqlx::query_scalar("SELECT id FROM messages WHERE id = $1 AND digest = $2")
                    .bind(id)
                    .bind(digest.as_bytes().as_slice())
                    .fetch_optional(&mut *connection)
                    .await?;
            found.extend(holds);
        }
        Ok(found)
    }
}

/// Appends `rows` (id, content, content type) to both tables.
async fn insert_rows(
    connection: &mut SqliteConnection,
    rows: &[(i64, &Content, &str)],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let now = crate::clock::now_ms();
    let mut metadata = QueryBuilder::<Sqlite>::new(
        "INSERT INTO messages (id, digest, size, content_type, created_at_ms) ",
    );
    metadata.push_values(rows, |mut row, (id, content, content_type)| {
        row.push_bind(*id)
            .push_bind(content.digest().as_bytes().as_slice())
            .push_bind(content.len() as i64)
            .push_bind(*content_type)
            .push_bind(now);
    });
    metadata.build().execute(&mut *connection).await?;
    let mut contents = QueryBuilder::<Sqlite>::new("INSERT INTO message_contents (id, content) ");
    contents.push_values(rows, |mut row, (id, content, _)| {
        row.push_bind(*id).push_bind(content.bytes().as_ref());
    });
    contents.build().execute(&mut *connection).await?;
    Ok(())
}

impl SqliteMessageStore {
    /// The first row among the index's candidates that `read` finds holding
    /// `digest`.
    async fn find<T, F, Fut>(&self, digest: &Digest, read: F) -> Result<Option<T>, StoreError>
    where
        F: Fn(i64) -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, sqlx::Error>>,
    {
        self.file.loaded().await?;
        let candidates = self.file.index().candidates(digest);
        for id in candidates {
            if let Some(found) = read(id).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl MessageStore for SqliteMessageStore {
    async fn put(&self, content: Content, content_type: String) -> Result<PutOutcome, StoreError> {
        super::submit_put(&self.writes, content, content_type).await
    }

    async fn get(&self, digest: &Digest) -> Result<Option<StoredMessage>, StoreError> {
        let found = self
            .find(digest, |id| {
                sqlx::query_as::<_, (Vec<u8>, String)>(
                    "SELECT c.content, m.content_type FROM messages m \
                     JOIN message_contents c ON c.id = m.id WHERE m.id = $1 AND m.digest = $2",
                )
                .bind(id)
                .bind(digest.as_bytes().as_slice())
                .fetch_optional(&self.pool)
            })
            .await?;
        Ok(found.map(StoredMessage::from))
    }

    async fn info(&self, digest: &Digest) -> Result<Option<MessageInfo>, StoreError> {
        let found = self
            .find(digest, |id| {
                sqlx::query_as::<_, (i64, String)>(
                    "SELECT size, content_type FROM messages WHERE id = $1 AND digest = $2",
                )
                .bind(id)
                .bind(digest.as_bytes().as_slice())
                .fetch_optional(&self.pool)
            })
            .await?;
        Ok(found.map(MessageInfo::from))
    }

    async fn sizes(&self, digests: &[Digest]) -> Result<Vec<(Digest, u64)>, StoreError> {
        self.file.loaded().await?;
        let ids: Vec<i64> = {
            let index = self.file.index();
            digests.iter().flat_map(|d| index.candidates(d)).collect()
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query =
            QueryBuilder::<Sqlite>::new("SELECT digest, size FROM messages WHERE id IN (");
        let mut list = query.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        query.push(")");
        let rows: Vec<(Vec<u8>, i64)> = query.build_query_as().fetch_all(&self.pool).await?;
        let mut asked: HashSet<&Digest> = digests.iter().collect();
        let mut found = Vec::with_capacity(rows.len());
        for (digest, size) in rows {
            let digest = Digest::from_bytes(&digest).ok_or(StoreError::CorruptDigest)?;
            // A candidate row of another digest with the same prefix is no
            // answer; each digest is answered once.
            if asked.remove(&digest) {
                found.push((digest, u64::try_from(size).unwrap_or_default()));
            }
        }
        Ok(found)
    }

    async fn delete(&self, digest: &Digest) -> Result<bool, StoreError> {
        super::submit_delete(&self.writes, *digest).await
    }
}
