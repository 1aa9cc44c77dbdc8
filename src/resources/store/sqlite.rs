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
    indexed: Indexed,
    writes: GroupCommit<SqliteWriter>,
}

impl SqliteResourceStore {
    /// A SQLite file is served by one process: every write to it goes
    /// through this store's writer, which keeps the cache current.
    const TRUSTS_CACHE: bool = true;
    /// A read transaction sees one snapshot of the file.
    const READ_SNAPSHOT: Option<&str> = None;
    /// One process creates its indexes.
    const DDL_LOCK: Option<&str> = None;

    /// The SQL of `field`'s index key ([`Indexed`]). `field` is a plain
    /// name ([`model::is_plain_field`]), so it is written into the path.
    fn field_key(field: &str) -> String {
        let value = format!("json_extract(body, '$.{field}')");
        let kind = format!("json_type(body, '$.{field}')");
        format!(
            "(CASE WHEN {kind} IS NULL THEN NULL \
             WHEN {kind} = 'text' THEN 's' || {value} \
             WHEN {kind} IN ('true', 'false') THEN 's' || {kind} \
             WHEN {kind} = 'null' THEN 'n' \
             WHEN {kind} IN ('integer', 'real') \
             AND {value} BETWEEN -9007199254740992 AND 9007199254740992 \
             AND {value} = CAST({value} AS INTEGER) THEN 's' || CAST({value} AS INTEGER) \
             ELSE 'm' END)"
        )
    }

    /// Starts the writer task on the current tokio runtime.
    pub fn new(pool: SqlitePool, cache: Arc<Cache>, indexed: Indexed) -> Self {
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
            indexed,
            writes,
        }
    }

    async fn run(&self, job: Job) -> Result<Outcome, StoreError> {
        self.writes.submit(job).await?
    }

    /// Builds an index in the writer: other writes wait for it rather than
    /// find the file locked.
    async fn build_index(&self, build: IndexBuild) -> Result<bool, StoreError> {
        match self.run(Job::Index(build)).await? {
            Outcome::Indexed(built) => Ok(built),
            other => Err(mismatched(other)),
        }
    }

    /// Nothing to follow: every write to the file is this process's.
    async fn follow_other_processes(&self) -> Result<(), StoreError> {
        Ok(())
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
        let events = group.committed_events();
        for (place, refusal) in group.refused.drain(..) {
            if let Some(output) = outputs.get_mut(place) {
                *output = Err(refusal);
            }
        }
        self.cache.changed(&group.touched);
        self.cache.publish(events);
        Ok(outputs)
    }
}

sql_store!(SqliteResourceStore, Sqlite, "");

#[cfg(test)]
mod tests {
    use sqlx::QueryBuilder;

    use super::*;
    use crate::db::{DEFAULT_ACQUIRE_TIMEOUT, DatabaseUrl};

    /// An equality filter on an indexed field is an index lookup that
    /// already yields insertion order: neither its count nor its page reads
    /// the collection or sorts it. (The store decides nothing from this; the
    /// database plans it, which is what this checks.) One connection:
    /// `EXPLAIN` on a connection that read the schema before the index was
    /// made shows the plan of that older schema, where a query would see
    /// the change and be planned again.
    #[tokio::test]
    async fn an_indexed_filter_is_an_index_lookup_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url =
            DatabaseUrl::parse(&format!("sqlite://{}/plan.db", dir.path().display())).expect("url");
        let db = Database::connect(&url, 1, DEFAULT_ACQUIRE_TIMEOUT)
            .await
            .expect("connect");
        db.migrate().await.expect("migrate");
        let Database::Sqlite(pool) = db else {
            panic!("a SQLite database");
        };
        let indexed = Indexed::new(Indexing::fields(&["userId".to_owned()]));
        let store = SqliteResourceStore::new(pool.clone(), Arc::new(Cache::new(0)), indexed);
        store.create_indexes().await.expect("indexes");
        let values = ["7".to_owned()];
        let plan_of = async |mut query: QueryBuilder<Sqlite>| -> Vec<String> {
            let plan: Vec<(i64, i64, i64, String)> =
                query.build_query_as().fetch_all(&pool).await.expect("plan");
            plan.into_iter().map(|step| step.3).collect()
        };
        // Every field's lookups, with two indexes to choose from.
        for field in ["userId", "_page"] {
            let index = Indexed::index_name(&SqliteResourceStore::field_key(field));
            let key = SqliteResourceStore::field_key(field);
            let mut query = QueryBuilder::<Sqlite>::new("EXPLAIN QUERY PLAN ");
            query.push(presence_sql(&key).replace("$1", "'posts'"));
            let plan = plan_of(query).await;
            let searches: Vec<&String> = plan.iter().filter(|s| s.contains("SEARCH")).collect();
            assert!(
                searches.len() == 2
                    && searches
                        .iter()
                        .all(|step| step.contains(&index) && step.contains("<expr>")),
                "{field}'s presence: {plan:?}"
            );
            let keyed = [(key, &values[..])];
            for (select, rest) in [
                ("SELECT COUNT(*) ", ""),
                ("SELECT body ", " ORDER BY position LIMIT 10 OFFSET 20"),
            ] {
                let mut query = QueryBuilder::<Sqlite>::new(format!("EXPLAIN QUERY PLAN {select}"));
                push_matching(&mut query, "posts", &keyed);
                query.push(rest);
                let plan = plan_of(query).await;
                assert!(
                    plan.iter()
                        .all(|step| step.contains(&index) && !step.contains("B-TREE")),
                    "{field}: {select}{rest}: {plan:?}"
                );
            }
        }
    }
}
