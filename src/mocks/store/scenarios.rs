//! Where scenario states live. On PostgreSQL, in the database, so that every
//! process on it sees one state per scenario and one transition per request
//! (a row lock orders concurrent requests); on SQLite (one process), in
//! memory, as before. A scenario nobody has moved is in `Started`.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use sqlx::postgres::PgPool;

use super::StoreError;

/// What a request's check of scenario states decided: which candidate stub
/// answers (by its position), and the transition it makes, if any.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pick {
    pub chosen: Option<usize>,
    /// `(scenario, new state)`.
    pub transition: Option<(String, String)>,
}

/// Decides a [`Pick`] from the current states of the scenarios asked for
/// (a scenario missing from the map is in `Started`).
pub type Picker<'a> = &'a (dyn Fn(&HashMap<String, String>) -> Pick + Send + Sync);

#[async_trait]
pub trait ScenarioStore: Send + Sync + 'static {
    /// Every scenario that has left `Started` or been set, with its state.
    async fn states(&self) -> Result<HashMap<String, String>, StoreError>;

    /// Reads the states of `names`, lets `pick` decide, and makes its
    /// transition, as one step: no other transition of these scenarios
    /// happens in between, in this process or another.
    async fn transition(&self, names: &[String], pick: Picker<'_>) -> Result<Pick, StoreError>;

    async fn set(&self, name: &str, state: &str) -> Result<(), StoreError>;

    /// Every scenario back to `Started`.
    async fn reset(&self) -> Result<(), StoreError>;

    /// Forgets every scenario not in `names` (no stub names it any more).
    async fn retain(&self, names: &[String]) -> Result<(), StoreError>;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Scenario states of one process (SQLite: one process serves the database).
#[derive(Debug, Default)]
pub struct MemoryScenarioStore {
    states: Mutex<HashMap<String, String>>,
}

#[async_trait]
impl ScenarioStore for MemoryScenarioStore {
    async fn states(&self) -> Result<HashMap<String, String>, StoreError> {
        Ok(lock(&self.states).clone())
    }

    async fn transition(&self, _names: &[String], pick: Picker<'_>) -> Result<Pick, StoreError> {
        // One lock for the check and the transition.
        let mut states = lock(&self.states);
        let picked = pick(&states);
        if let Some((name, state)) = &picked.transition {
            states.insert(name.clone(), state.clone());
        }
        Ok(picked)
    }

    async fn set(&self, name: &str, state: &str) -> Result<(), StoreError> {
        lock(&self.states).insert(name.to_owned(), state.to_owned());
        Ok(())
    }

    async fn reset(&self) -> Result<(), StoreError> {
        lock(&self.states).clear();
        Ok(())
    }

    async fn retain(&self, names: &[String]) -> Result<(), StoreError> {
        lock(&self.states).retain(|name, _| names.contains(name));
        Ok(())
    }
}

/// Scenario states in PostgreSQL, shared by every process on the database.
#[derive(Debug, Clone)]
pub struct PostgresScenarioStore {
    pub pool: PgPool,
}

#[async_trait]
impl ScenarioStore for PostgresScenarioStore {
    async fn states(&self) -> Result<HashMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, state FROM mock_scenarios")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    async fn transition(&self, names: &[String], pick: Picker<'_>) -> Result<Pick, StoreError> {
        let mut tx = self.pool.begin().await?;
        // A row for each scenario, so that there is a row to lock; locked in
        // name order, so two requests over the same scenarios cannot deadlock.
        sqlx::query(
            "INSERT INTO mock_scenarios (name, state) SELECT unnest($1::text[]), 'Started' \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(names)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, state FROM mock_scenarios WHERE name = ANY($1) ORDER BY name FOR UPDATE",
        )
        .bind(names)
        .fetch_all(&mut *tx)
        .await?;
        let picked = pick(&rows.into_iter().collect());
        if let Some((name, state)) = &picked.transition {
            sqlx::query("UPDATE mock_scenarios SET state = $2 WHERE name = $1")
                .bind(name)
                .bind(state)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(picked)
    }

    async fn set(&self, name: &str, state: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mock_scenarios (name, state) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET state = excluded.state",
        )
        .bind(name)
        .bind(state)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn reset(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mock_scenarios")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn retain(&self, names: &[String]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mock_scenarios WHERE NOT (name = ANY($1))")
            .bind(names)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
