//! People in SQLite (`instr` finds substrings).
//!
//! SQLite has one writer at a time. Left to the pool, concurrent writes spin on
//! the write lock (SQLite's busy handler sleeps up to 100 ms between tries) and
//! each commit pays its own fsync. Here single creates go through a queue to
//! one writer task that commits whatever has queued up in one transaction
//! (group commit: one fsync for many requests, each answered only after the
//! commit), and every write holds one gate so that writes never contend for
//! the lock inside this process.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::SqlitePool;
use tokio::sync::{Mutex, MutexGuard, mpsc, oneshot};

use super::{
    Expected, INSERT_CHUNK, INSERT_ONE, PersonStore, StoreError, WriteError, person_store,
};
use crate::people::model::{NewPerson, Person};
use crate::people::query::{Filter, ListQuery, Op, SortKey, SqlValue, Window};

/// Most creates committed in one transaction.
const GROUP_MAX: usize = 256;
/// Creates waiting for the writer before callers wait to queue.
const QUEUE_CAPACITY: usize = 4096;

struct Job {
    person: NewPerson,
    reply: oneshot::Sender<Result<Person, StoreError>>,
}

#[derive(Debug, Clone)]
pub struct SqlitePersonStore {
    pool: SqlitePool,
    jobs: mpsc::Sender<Job>,
    gate: Arc<Mutex<()>>,
}

impl SqlitePersonStore {
    /// Starts the writer task; it ends when the last clone of the store is dropped.
    pub fn new(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        let gate = Arc::new(Mutex::new(()));
        tokio::spawn(run_writer(pool.clone(), gate.clone(), queue));
        SqlitePersonStore { pool, jobs, gate }
    }

    async fn insert_one(&self, person: &NewPerson) -> Result<Person, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            person: person.clone(),
            reply,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    async fn write_gate(&self) -> Option<MutexGuard<'_, ()>> {
        Some(self.gate.lock().await)
    }
}

async fn run_writer(pool: SqlitePool, gate: Arc<Mutex<()>>, mut queue: mpsc::Receiver<Job>) {
    let mut group = Vec::with_capacity(GROUP_MAX);
    while queue.recv_many(&mut group, GROUP_MAX).await > 0 {
        let _gate = gate.lock().await;
        let people: Vec<&NewPerson> = group.iter().map(|job| &job.person).collect();
        match insert_group(&pool, &people).await {
            Ok(created) => {
                for (job, person) in group.drain(..).zip(created) {
                    let _ = job.reply.send(Ok(person));
                }
            }
            // One failing row must not fail the others: retry each on its own.
            Err(_) if group.len() > 1 => {
                for job in group.drain(..) {
                    let result = insert_group(&pool, &[&job.person])
                        .await
                        .and_then(|mut created| created.pop().ok_or(StoreError::WriterStopped));
                    let _ = job.reply.send(result);
                }
            }
            Err(error) => {
                if let Some(job) = group.pop() {
                    let _ = job.reply.send(Err(error));
                }
            }
        }
    }
}

/// Inserts `people` in one transaction; the rows in the same order.
async fn insert_group(pool: &SqlitePool, people: &[&NewPerson]) -> Result<Vec<Person>, StoreError> {
    let mut tx = pool.begin().await?;
    let mut created = Vec::with_capacity(people.len());
    for person in people {
        let row = sqlx::query_as::<_, Person>(INSERT_ONE)
            .bind(person.name.as_str())
            .bind(person.age.get())
            .bind(person.locale.as_str())
            .fetch_one(&mut *tx)
            .await?;
        created.push(row);
    }
    tx.commit().await?;
    Ok(created)
}

person_store!(SqlitePersonStore, sqlx::Sqlite, "instr");
