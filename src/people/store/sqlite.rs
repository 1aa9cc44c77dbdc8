//! People in SQLite: `instr` finds substrings, and every write goes through
//! one group-commit writer (SQLite has one writer at a time; see the module
//! documentation).

use async_trait::async_trait;
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::{
    Expected, PersonStore, Reads, StoreError, WRITER, WriteError, delete_query, insert_people,
    replace_query, written_or_refusal,
};
use crate::db::group_commit::{GroupCommit, GroupCommitError, GroupWriter};
use crate::people::model::{NewPerson, Person};
use crate::people::query::{Filter, ListQuery};

/// SQLite's `(haystack, needle) -> position`.
const SUBSTRING_POSITION: &str = "instr";

/// People in SQLite.
#[derive(Debug, Clone)]
pub struct SqlitePersonStore {
    reads: Reads<Sqlite>,
    writes: GroupCommit<SqliteWriter>,
}

impl SqlitePersonStore {
    /// Starts the writer task; it ends when the last clone of the store is dropped.
    pub fn new(pool: SqlitePool) -> Self {
        let writes =
            GroupCommit::spawn(SqliteWriter { pool: pool.clone() }, super::group_options());
        let reads = Reads {
            pool,
            contains: SUBSTRING_POSITION,
        };
        SqlitePersonStore { reads, writes }
    }

    /// Writes `job` and returns the row it wrote (none: a replace or delete
    /// whose id or version did not match).
    async fn write_one_row(&self, job: WriteJob) -> Result<Option<Person>, StoreError> {
        Ok(self.writes.submit(job).await?.pop())
    }
}

/// One write, as queued for the writer.
#[derive(Debug)]
enum WriteJob {
    Create(NewPerson),
    CreateMany(Vec<NewPerson>),
    Replace {
        id: i64,
        person: NewPerson,
        expected: Expected,
    },
    Delete {
        id: i64,
        expected: Expected,
    },
}

/// Writes a group of jobs in one transaction, in order; answers each job with
/// the rows it wrote.
#[derive(Debug)]
struct SqliteWriter {
    pool: SqlitePool,
}

impl GroupWriter for SqliteWriter {
    type Job = WriteJob;
    type Output = Vec<Person>;
    type Error = StoreError;

    async fn write_group(&self, jobs: &[WriteJob]) -> Result<Vec<Vec<Person>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut written = Vec::with_capacity(jobs.len());
        let mut rest = jobs;
        while let Some((job, after)) = rest.split_first() {
            let creates = leading_creates(rest);
            if creates.len() > 1 {
                // Queued single creates share multi-row INSERTs.
                let created = insert_people::<Sqlite>(&mut tx, &creates).await?;
                written.extend(created.into_iter().map(|person| vec![person]));
                rest = &rest[creates.len()..];
            } else {
                written.push(write(&mut tx, job).await?);
                rest = after;
            }
        }
        tx.commit().await?;
        Ok(written)
    }
}

/// The people of the single creates at the start of `jobs`.
fn leading_creates(jobs: &[WriteJob]) -> Vec<&NewPerson> {
    jobs.iter()
        .map_while(|job| match job {
            WriteJob::Create(person) => Some(person),
            _ => None,
        })
        .collect()
}

/// One job inside the group's transaction.
async fn write(conn: &mut SqliteConnection, job: &WriteJob) -> Result<Vec<Person>, StoreError> {
    let rows = match job {
        WriteJob::Create(person) => insert_people::<Sqlite>(conn, &[person]).await?,
        WriteJob::CreateMany(people) => {
            let people: Vec<&NewPerson> = people.iter().collect();
            insert_people::<Sqlite>(conn, &people).await?
        }
        WriteJob::Replace {
            id,
            person,
            expected,
        } => replace_query::<Sqlite>(*id, person, expected)
            .build_query_as::<Person>()
            .fetch_optional(conn)
            .await?
            .into_iter()
            .collect(),
        WriteJob::Delete { id, expected } => delete_query::<Sqlite>(*id, expected)
            .build_query_as::<Person>()
            .fetch_optional(conn)
            .await?
            .into_iter()
            .collect(),
    };
    Ok(rows)
}

#[async_trait]
impl PersonStore for SqlitePersonStore {
    async fn create(&self, person: &NewPerson) -> Result<Person, StoreError> {
        self.write_one_row(WriteJob::Create(person.clone()))
            .await?
            .ok_or_else(|| {
                GroupCommitError::ResultCount {
                    writer: WRITER,
                    expected: 1,
                    got: 0,
                }
                .into()
            })
    }

    async fn create_many(&self, people: &[NewPerson]) -> Result<Vec<Person>, StoreError> {
        self.writes
            .submit(WriteJob::CreateMany(people.to_vec()))
            .await
    }

    async fn get(&self, id: i64) -> Result<Option<Person>, StoreError> {
        self.reads.get(id).await
    }

    async fn replace(
        &self,
        id: i64,
        person: &NewPerson,
        expected: &Expected,
    ) -> Result<Person, WriteError> {
        let job = WriteJob::Replace {
            id,
            person: person.clone(),
            expected: expected.clone(),
        };
        let written = self.write_one_row(job).await?;
        written_or_refusal(self, id, written).await
    }

    async fn delete(&self, id: i64, expected: &Expected) -> Result<Person, WriteError> {
        let job = WriteJob::Delete {
            id,
            expected: expected.clone(),
        };
        let written = self.write_one_row(job).await?;
        written_or_refusal(self, id, written).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Person>, StoreError> {
        self.reads.list(query).await
    }

    async fn count(&self, filters: &[Filter]) -> Result<u64, StoreError> {
        self.reads.count(filters).await
    }
}
