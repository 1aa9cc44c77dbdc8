//! Resources in SQLite. Every write goes through one [`GroupCommit`]
//! writer: jobs queued meanwhile are applied in one `BEGIN IMMEDIATE`
//! transaction and share its commit, and nothing in the process contends
//! for the file's write lock. The writer drops the snapshots of the
//! collections it changed once they are committed, so reads trust the rest.

use async_trait::async_trait;
use sqlx::Connection as _;
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

// Everything of the store's that the `sql_store!` body names.
use super::*;
use crate::db::group_commit::{GroupCommit, GroupCommitOptions, GroupWriter};

/// Resources in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteResourceStore {
    pool: SqlitePool,
    cache: Arc<Cache>,
    writes: GroupCommit<SqliteWriter>,
}

impl SqliteResourceStore {
    /// A SQLite file is served by one process: every write to it goes
    /// through this store's writer, which keeps the cache current.
    const TRUSTS_CACHE: bool = true;

    /// Starts the writer task on the current tokio runtime.
    pub fn new(pool: SqlitePool, cache: Arc<Cache>) -> Self {
        let writes = GroupCommit::spawn(
            SqliteWriter {
                pool: pool.clone(),
                cache: cache.clone(),
                connection: tokio::sync::Mutex::new(None),
            },
            GroupCommitOptions::new("resources"),
        );
        SqliteResourceStore {
            pool,
            cache,
            writes,
        }
    }

    async fn run(&self, job: Job) -> Result<Outcome, StoreError> {
        self.writes.submit(job).await?
    }
}

struct SqliteWriter {
    pool: SqlitePool,
    cache: Arc<Cache>,
    /// The writer's own connection: taking one from the pool for every
    /// group would cost a round trip to check it.
    connection: tokio::sync::Mutex<Option<SqliteConnection>>,
}

impl GroupWriter for SqliteWriter {
    type Job = Job;
    type Output = Result<Outcome, StoreError>;
    type Error = StoreError;

    async fn write_group(&self, jobs: &[Job]) -> Result<Vec<Self::Output>, StoreError> {
        let mut held = self.connection.lock().await;
        let connection = crate::db::held_connection(&mut held, &self.pool).await?;
        let written = self.write_on(connection, jobs).await;
        if written.is_err() {
            // It may be broken: the next group starts on a fresh one.
            *held = None;
        }
        written
    }
}

impl SqliteWriter {
    async fn write_on(
        &self,
        connection: &mut SqliteConnection,
        jobs: &[Job],
    ) -> Result<Vec<Result<Outcome, StoreError>>, StoreError> {
        let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;
        let mut group = Group::default();
        let mut outputs = Vec::with_capacity(jobs.len());
        for (place, job) in jobs.iter().enumerate() {
            group.job = place;
            match apply(&mut tx, &mut group, &self.cache, job).await {
                Err(error) if !error.is_refusal() => return Err(error),
                output => outputs.push(output),
            }
        }
        finish(&mut tx, &mut group).await?;
        tx.commit().await?;
        for (place, refusal) in group.refused.drain(..) {
            if let Some(output) = outputs.get_mut(place) {
                *output = Err(refusal);
            }
        }
        self.cache.changed(&group.touched);
        Ok(outputs)
    }
}

sql_store!(SqliteResourceStore, Sqlite, "");
