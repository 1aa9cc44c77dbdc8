//! People in PostgreSQL: `strpos` finds substrings; single creates go through
//! a group-commit writer, other writes run concurrently (row locks and the
//! version check keep them apart).

use async_trait::async_trait;
use sqlx::postgres::PgPool;
use sqlx::{Postgres, QueryBuilder};

use super::{
    Expected, PersonStore, Reads, StoreError, WriteError, delete_query, insert_people,
    replace_query, written_or_refusal,
};
use crate::db::group_commit::{GroupCommit, GroupWriter};
use crate::people::model::{NewPerson, Person};
use crate::people::query::{Filter, ListQuery};

/// PostgreSQL's `(haystack, needle) -> position`.
const SUBSTRING_POSITION: &str = "strpos";

/// People in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresPersonStore {
    pool: PgPool,
    reads: Reads<Postgres>,
    creates: GroupCommit<PostgresCreator>,
}

impl PostgresPersonStore {
    /// Starts the writer task; it ends when the last clone of the store is dropped.
    pub fn new(pool: PgPool) -> Self {
        let creates = GroupCommit::spawn(
            PostgresCreator { pool: pool.clone() },
            super::group_options(),
        );
        let reads = Reads {
            pool: pool.clone(),
            contains: SUBSTRING_POSITION,
        };
        PostgresPersonStore {
            pool,
            creates,
            reads,
        }
    }
}

/// Inserts a group of single creates in one transaction.
#[derive(Debug)]
struct PostgresCreator {
    pool: PgPool,
}

impl GroupWriter for PostgresCreator {
    type Job = NewPerson;
    type Output = Person;
    type Error = StoreError;

    async fn write_group(&self, people: &[NewPerson]) -> Result<Vec<Person>, StoreError> {
        let people: Vec<&NewPerson> = people.iter().collect();
        insert_all(&self.pool, &people).await
    }
}

/// Inserts `people` in one transaction of its own.
async fn insert_all(pool: &PgPool, people: &[&NewPerson]) -> Result<Vec<Person>, StoreError> {
    let mut tx = pool.begin().await?;
    let created = insert_people::<Postgres>(&mut tx, people).await?;
    tx.commit().await?;
    Ok(created)
}

#[async_trait]
impl PersonStore for PostgresPersonStore {
    async fn create(&self, person: &NewPerson) -> Result<Person, StoreError> {
        self.creates.submit(person.clone()).await
    }

    async fn create_many(&self, people: &[NewPerson]) -> Result<Vec<Person>, StoreError> {
        let people: Vec<&NewPerson> = people.iter().collect();
        insert_all(&self.pool, &people).await
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
        let replaced = replace_query::<Postgres>(id, person, expected)
            .build_query_as::<Person>()
            .fetch_optional(&self.pool)
            .await?;
        written_or_refusal(self, id, replaced).await
    }

    async fn delete(&self, id: i64, expected: &Expected) -> Result<Person, WriteError> {
        let deleted = delete_query::<Postgres>(id, expected)
            .build_query_as::<Person>()
            .fetch_optional(&self.pool)
            .await?;
        written_or_refusal(self, id, deleted).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Person>, StoreError> {
        self.reads.list(query).await
    }

    async fn count(&self, filters: &[Filter]) -> Result<u64, StoreError> {
        self.reads.count(filters).await
    }

    async fn count_up_to(&self, filters: &[Filter], cap: u64) -> Result<u64, StoreError> {
        self.reads.count_up_to(filters, cap).await
    }

    async fn estimate_count(&self, filters: &[Filter]) -> Result<u64, StoreError> {
        planned_count(&self.pool, filters).await
    }
}

/// The planner's estimate of the people matching `filters` (what PostgREST's
/// `count=planned` reads): the `rows=` of the plan's top node, from the
/// statistics `ANALYZE` (or autovacuum) keeps.
async fn planned_count(pool: &PgPool, filters: &[Filter]) -> Result<u64, StoreError> {
    let mut qb = QueryBuilder::<Postgres>::new("EXPLAIN SELECT 1 FROM people WHERE 1 = 1");
    super::push_filters(&mut qb, filters, SUBSTRING_POSITION);
    let top: String = qb.build_query_scalar().fetch_one(pool).await?;
    Ok(plan_rows(&top).unwrap_or_default())
}

/// `rows=N` of a plan line such as
/// `Seq Scan on people  (cost=0.00..18334.00 rows=700000 width=4)`.
fn plan_rows(line: &str) -> Option<u64> {
    let (_, after) = line.split_once(" rows=")?;
    let digits = after.split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::plan_rows;

    #[test]
    fn plan_rows_reads_the_top_nodes_estimate() {
        assert_eq!(
            plan_rows("Seq Scan on people  (cost=0.00..18334.00 rows=700000 width=4)"),
            Some(700_000)
        );
        assert_eq!(
            plan_rows("Gather  (cost=1000.00..12000.00 rows=3 width=4)"),
            Some(3)
        );
        assert_eq!(plan_rows("Result"), None);
    }
}
