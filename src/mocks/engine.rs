//! The mock engine: the stubs (in an atomically swapped [`Index`]), the
//! scenarios, the journal, and the writes that keep the store and the index
//! in step.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use serde_json::Value;

use super::files::MappingsDir;
use super::index::Index;
use super::journal::{AnsweredBy, Journal, Logged, LoggedRequest};
use super::matcher::{Incoming, MatchResult};
use super::parse::stub::{parse_loaded_stub, parse_stub};
use super::settings::MocksSettings;
use super::store::{FileStore, JournalStore, Pick, ScenarioStore, StoreError, StubStore};
use super::stub::{STARTED, Stub};
use super::webhook::Webhooks;
use crate::http::FieldError;

/// Near misses reported per unmatched request.
pub const NEAR_MISSES: usize = 3;

/// What the engine decided for one request, and its journal entry (for the
/// response, once there is one).
pub enum Outcome {
    Matched {
        stub: Arc<Stub>,
        /// `urlPathTemplate` parameters, for templates.
        path_params: Vec<(String, String)>,
        logged: Logged,
    },
    Unmatched {
        near_misses: Vec<(Arc<Stub>, MatchResult)>,
        logged: Logged,
    },
}

pub use super::parse::global_settings::GlobalSettings;
use super::parse::global_settings::parse_settings;

/// A scenario and where it stands.
#[derive(Debug, Clone)]
pub struct ScenarioState {
    pub name: String,
    pub state: String,
    pub possible_states: Vec<String>,
    /// The stubs that name it.
    pub stubs: Vec<Arc<Stub>>,
}

/// Why a reset of the stubs failed: the mappings folder could not be read,
/// or the store failed (which may be the database being unreachable: a 503).
#[derive(Debug)]
pub enum ResetError {
    Files(String),
    Store(StoreError),
}

/// What setting a scenario's state came to.
#[derive(Debug, PartialEq, Eq)]
pub enum SetScenario {
    Set,
    /// No stub names the scenario.
    NoSuchScenario,
    /// No stub of the scenario names that state; these are the ones they do.
    NoSuchState(Vec<String>),
}

pub struct Engine {
    store: Arc<dyn StubStore>,
    files: Arc<dyn FileStore>,
    /// Sends stubs' webhooks and keeps what became of them.
    pub webhooks: Arc<Webhooks>,
    /// `mocks.max_file_size`.
    pub max_file_size: usize,
    index: ArcSwap<Index>,
    /// Serialises writers (store write + index rebuild); readers never take it.
    writer: tokio::sync::Mutex<()>,
    mappings: Option<MappingsDir>,
    file_stubs: Mutex<Vec<Arc<Stub>>>,
    /// Scenario states: shared by every process on PostgreSQL.
    scenarios: Arc<dyn ScenarioStore>,
    pub journal: Journal,
    settings: ArcSwap<GlobalSettings>,
    started: Instant,
    /// This process has stopped a recording (`/__admin/recordings/status`
    /// says `Stopped` rather than `NeverStarted`).
    pub recording_stopped: std::sync::atomic::AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine {
    pub fn new(
        store: Arc<dyn StubStore>,
        files: Arc<dyn FileStore>,
        webhooks: Webhooks,
        scenarios: Arc<dyn ScenarioStore>,
        journal: Arc<dyn JournalStore>,
        mappings: Option<MappingsDir>,
        settings: &MocksSettings,
    ) -> Self {
        Engine {
            store,
            files,
            webhooks: Arc::new(webhooks),
            max_file_size: settings.max_file_size,
            index: ArcSwap::from_pointee(Index::default()),
            writer: tokio::sync::Mutex::new(()),
            mappings,
            file_stubs: Mutex::new(Vec::new()),
            scenarios,
            journal: Journal::new(settings.into(), journal),
            settings: ArcSwap::from_pointee(GlobalSettings::default()),
            started: Instant::now(),
            recording_stopped: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The body files (`bodyFileName`, `/__admin/files`).
    pub fn files(&self) -> &dyn FileStore {
        self.files.as_ref()
    }

    pub fn uptime_seconds(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The request journal, oldest first: on a shared journal, every
    /// process's requests, including those answered a moment ago.
    pub async fn journal_entries(&self) -> Result<Vec<Arc<LoggedRequest>>, StoreError> {
        let index = self.snapshot();
        let lookup = |id: &str| index.get(id).cloned();
        self.journal.entries(&lookup).await
    }

    /// The current index: a consistent view of every stub.
    pub fn snapshot(&self) -> Arc<Index> {
        self.index.load_full()
    }

    pub fn settings(&self) -> Arc<GlobalSettings> {
        self.settings.load_full()
    }

    /// Stores the global settings and serves them at once; on PostgreSQL
    /// every other process is told, and reloads them with the stubs.
    pub async fn put_settings(&self, settings: GlobalSettings) -> Result<(), StoreError> {
        let document = Value::Object(settings.document.clone()).to_string();
        self.store.put_settings(&document).await?;
        self.settings.store(Arc::new(settings));
        Ok(())
    }

    /// Reads the stored global settings (a document that no longer parses is
    /// reported and left out).
    async fn reload_settings(&self) -> Result<(), StoreError> {
        let Some(document) = self.store.settings().await? else {
            return Ok(());
        };
        let parsed = serde_json::from_str::<Value>(&document)
            .map_err(|e| vec![FieldError::new("", e.to_string())])
            .and_then(|value| parse_settings(&value));
        match parsed {
            Ok(settings) => self.settings.store(Arc::new(settings)),
            Err(errors) => {
                tracing::warn!(
                    ?errors,
                    "mocks: the stored global settings no longer parse; ignored"
                )
            }
        }
        Ok(())
    }

    /// Serves a new index. A scenario's state belongs to the stubs that name
    /// it: once none does, the state goes, and stubs created again under
    /// that name start at `Started` (as on WireMock).
    async fn publish(&self, index: Index) {
        let mut named: Vec<String> = index
            .stubs()
            .iter()
            .filter_map(|s| s.scenario.as_ref().map(|r| r.name.clone()))
            .collect();
        named.sort();
        named.dedup();
        self.index.store(Arc::new(index));
        if let Err(error) = self.scenarios.retain(&named).await {
            tracing::warn!(%error, "mocks: forgetting the states of scenarios no stub names failed");
        }
    }

    pub fn parse(&self, value: &Value) -> Result<Stub, Vec<FieldError>> {
        parse_stub(value)
    }

    /// Copies the mappings folder's `__files` (if any) into the file store,
    /// each at most `mocks.max_file_size`; returns how many there were. Every
    /// process that starts on the folder writes the same files, so several
    /// starting at once agree.
    pub async fn load_body_files(&self) -> Result<usize, String> {
        let Some(dir) = &self.mappings else {
            return Ok(0);
        };
        let files = dir.read_body_files(self.max_file_size)?;
        for (name, content) in &files {
            self.files
                .put(name, content)
                .await
                .map_err(|e| format!("storing body file {name}: {e}"))?;
        }
        Ok(files.len())
    }

    /// Reads the mappings folder (if any) and the store, and builds the index.
    /// Returns how many stubs came from the folder and from the store.
    pub async fn load(&self) -> Result<(usize, usize), String> {
        let from_files = self.read_files()?;
        let files = from_files.len();
        *lock(&self.file_stubs) = from_files;
        let _guard = self.writer.lock().await;
        let stored = self.reload_locked().await.map_err(|e| e.to_string())?;
        Ok((files, stored))
    }

    fn read_files(&self) -> Result<Vec<Arc<Stub>>, String> {
        let Some(dir) = &self.mappings else {
            return Ok(Vec::new());
        };
        let docs = dir.read_all()?;
        let count = docs.len() as i64;
        let mut stubs = Vec::with_capacity(docs.len());
        for (i, (file, doc)) in docs.into_iter().enumerate() {
            match parse_loaded_stub(&doc) {
                Ok((stub, dropped)) => {
                    if !dropped.is_empty() {
                        tracing::warn!(
                            file = %file.display(), id = %stub.id, headers = ?dropped,
                            "mocks: a stub sets headers the server sets itself; they are not sent"
                        );
                    }
                    let seq = i as i64 - count; // older than anything stored
                    stubs.push(Arc::new(Stub {
                        from_file: true,
                        ..stub.with_seq(seq)
                    }));
                }
                Err(errors) => {
                    let reasons: Vec<String> = errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect();
                    return Err(format!("{}: {}", file.display(), reasons.join("; ")));
                }
            }
        }
        Ok(stubs)
    }

    /// Rebuilds the index from the folder's stubs and the store (the store
    /// wins for an id both have). Caller holds the writer lock.
    async fn reload_locked(&self) -> Result<usize, StoreError> {
        self.reload_settings().await?;
        let stored = self.store.list().await?;
        let count = stored.len();
        let mut by_id: HashMap<String, Arc<Stub>> = lock(&self.file_stubs)
            .iter()
            .map(|s| (s.id.clone(), s.clone()))
            .collect();
        for row in stored {
            let parsed = serde_json::from_str::<Value>(&row.mapping)
                .map_err(|e| vec![FieldError::new("", e.to_string())])
                .and_then(|v| parse_loaded_stub(&v));
            match parsed {
                Ok((stub, dropped)) => {
                    if !dropped.is_empty() {
                        tracing::warn!(
                            id = %row.id, headers = ?dropped,
                            "mocks: a stored stub sets headers the server sets itself; they are not sent"
                        );
                    }
                    by_id.insert(row.id.clone(), Arc::new(stub.with_seq(row.seq)));
                }
                Err(errors) => {
                    tracing::warn!(id = %row.id, ?errors, "stored stub no longer parses; skipped")
                }
            }
        }
        self.publish(Index::build(by_id.into_values().collect()))
            .await;
        Ok(count)
    }

    /// Reloads from the store (another process changed it).
    pub async fn reload(&self) -> Result<usize, StoreError> {
        let _guard = self.writer.lock().await;
        self.reload_locked().await
    }

    /// Stores stubs (inserting or replacing by id) and serves them at once.
    pub async fn save(&self, stubs: Vec<Stub>) -> Result<Vec<Arc<Stub>>, StoreError> {
        let _guard = self.writer.lock().await;
        let rows: Vec<(String, String)> = stubs
            .iter()
            .map(|s| (s.id.clone(), s.mapping_text.to_string()))
            .collect();
        let stored = self.store.upsert(&rows).await?;
        let seqs: HashMap<&str, i64> = stored.iter().map(|r| (r.id.as_str(), r.seq)).collect();
        let mut saved = Vec::with_capacity(stubs.len());
        let mut by_id: HashMap<String, Arc<Stub>> = self
            .snapshot()
            .stubs()
            .iter()
            .map(|s| (s.id.clone(), s.clone()))
            .collect();
        for stub in stubs {
            let seq = seqs.get(stub.id.as_str()).copied().unwrap_or_default();
            let stub = Arc::new(stub.with_seq(seq));
            by_id.insert(stub.id.clone(), stub.clone());
            saved.push(stub);
        }
        self.publish(Index::build(by_id.into_values().collect()))
            .await;
        Ok(saved)
    }

    /// Removes stubs by id; returns those that existed.
    pub async fn remove(&self, ids: &[String]) -> Result<Vec<Arc<Stub>>, StoreError> {
        let _guard = self.writer.lock().await;
        self.store.delete(ids).await?;
        let index = self.snapshot();
        let removed: Vec<Arc<Stub>> = ids.iter().filter_map(|id| index.get(id).cloned()).collect();
        if !removed.is_empty() {
            let kept = index
                .stubs()
                .iter()
                .filter(|s| !ids.contains(&s.id))
                .cloned()
                .collect();
            self.publish(Index::build(kept)).await;
        }
        Ok(removed)
    }

    /// Deletes every stored stub; with `reload_files` (WireMock's
    /// `mappings/reset`), persistent stubs stay and the mappings folder is
    /// read again, otherwise every stub goes, the folder's too.
    pub async fn remove_all(&self, reload_files: bool) -> Result<(), ResetError> {
        let files = if reload_files {
            self.read_files().map_err(ResetError::Files)?
        } else {
            Vec::new()
        };
        let _guard = self.writer.lock().await;
        let mut kept = files.clone();
        if reload_files {
            let (persistent, others): (Vec<_>, Vec<_>) = self
                .snapshot()
                .stubs()
                .iter()
                .filter(|s| !s.from_file)
                .cloned()
                .partition(|s| s.persistent);
            let ids: Vec<String> = others.iter().map(|s| s.id.clone()).collect();
            self.store.delete(&ids).await.map_err(ResetError::Store)?;
            kept.extend(persistent);
        } else {
            self.store.delete_all().await.map_err(ResetError::Store)?;
        }
        *lock(&self.file_stubs) = files;
        self.publish(Index::build(kept)).await;
        Ok(())
    }

    /// Marks every stub persistent (WireMock's `mappings/save`): a mappings
    /// reset keeps them from then on.
    pub async fn persist_all(&self) -> Result<(), StoreError> {
        let mut stubs = Vec::new();
        for stub in self.snapshot().stubs() {
            if stub.persistent || stub.from_file {
                continue;
            }
            let mut mapping = stub.mapping();
            mapping["persistent"] = Value::Bool(true);
            match self.parse(&mapping) {
                Ok(persistent) => stubs.push(persistent),
                Err(errors) => {
                    tracing::warn!(id = %stub.id, ?errors, "a stub no longer parses; not saved")
                }
            }
        }
        self.save(stubs).await.map(|_| ())
    }

    /// Picks the stub that answers, moves its scenario on, and journals the
    /// request (`body` is the request body `req` reads, shared rather than copied).
    pub async fn handle(
        &self,
        req: &Incoming<'_>,
        body: &axum::body::Bytes,
    ) -> Result<Outcome, StoreError> {
        let origin = req.origin;
        let index = self.index.load_full();
        let matching = index.matching(req);
        let chosen = if index.has_scenarios && matching.iter().any(|s| s.scenario.is_some()) {
            // Check and transition as one step of the scenario store: two
            // concurrent requests (through any process, on PostgreSQL) can
            // never both see the same state and both move it on.
            let mut names: Vec<String> = matching
                .iter()
                .filter_map(|s| s.scenario.as_ref().map(|r| r.name.clone()))
                .collect();
            names.sort();
            names.dedup();
            let pick = |states: &HashMap<String, String>| pick_stub(&matching, states);
            let picked = self.scenarios.transition(&names, &pick).await?;
            picked
                .chosen
                .and_then(|i| matching.get(i))
                .map(|s| (*s).clone())
        } else {
            matching.first().map(|s| (*s).clone())
        };
        let (body, body_truncated) = self.journal.keep_body(body);
        let logged_at_ms = crate::clock::now_ms();
        let logged = self.journal.record(LoggedRequest {
            origin,
            // A journal id needs no OS entropy: a syscall per request would cost more than the match.
            id: uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid(),
            method: req.method.clone(),
            path: req.path.to_owned(),
            query: req.query.map(str::to_owned),
            // Matching above saw the request as sent; the journal keeps credentials redacted.
            headers: self.journal.keep_headers(req.headers),
            body,
            body_truncated,
            logged_at_ms,
            stub: chosen.clone().map(AnsweredBy::Stub),
            response: std::sync::OnceLock::new(),
        });
        match chosen {
            Some(stub) => {
                let path_params = match &stub.request.url {
                    super::matcher::UrlMatcher::UrlPathTemplate(t) => {
                        t.capture(req.path).unwrap_or_default()
                    }
                    _ => Vec::new(),
                };
                Ok(Outcome::Matched {
                    stub,
                    path_params,
                    logged,
                })
            }
            None => Ok(Outcome::Unmatched {
                near_misses: self.near_misses(&index, req).await,
                logged,
            }),
        }
    }

    /// The nearest stubs to a request, with scenario states that blocked a
    /// stub whose request matched counted as a reason.
    pub async fn near_misses(
        &self,
        index: &Index,
        req: &Incoming<'_>,
    ) -> Vec<(Arc<Stub>, MatchResult)> {
        let mut near = index.near_misses(req, NEAR_MISSES);
        if !near
            .iter()
            .any(|(stub, _)| stub.scenario.as_ref().is_some_and(|r| r.required.is_some()))
        {
            return near;
        }
        // A diagnosis: without the states, the reasons just leave scenarios out.
        let scenarios = match self.scenarios.states().await {
            Ok(states) => states,
            Err(error) => {
                tracing::warn!(%error, "mocks: scenario states unreadable for near misses");
                return near;
            }
        };
        for (stub, result) in &mut near {
            if let Some(rule) = &stub.scenario
                && let Some(required) = &rule.required
            {
                let state = scenarios.get(&rule.name).map_or(STARTED, String::as_str);
                if state != required {
                    result.reasons.push(format!(
                        "scenario `{}` is in state `{state}`, the stub needs `{required}`",
                        rule.name
                    ));
                    if result.distance == 0.0 {
                        result.distance = 0.01;
                    }
                }
            }
        }
        near
    }

    /// Every scenario the stubs mention, with its state.
    pub async fn scenarios(&self) -> Result<Vec<ScenarioState>, StoreError> {
        let index = self.snapshot();
        let states = self.scenarios.states().await?;
        let mut out: Vec<ScenarioState> = Vec::new();
        for stub in index.stubs() {
            let Some(rule) = &stub.scenario else { continue };
            let position = match out.iter().position(|s| s.name == rule.name) {
                Some(p) => p,
                None => {
                    out.push(ScenarioState {
                        name: rule.name.clone(),
                        state: states
                            .get(&rule.name)
                            .cloned()
                            .unwrap_or_else(|| STARTED.to_owned()),
                        possible_states: vec![STARTED.to_owned()],
                        stubs: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            out[position].stubs.push(stub.clone());
            let possible = &mut out[position].possible_states;
            for state in rule.required.iter().chain(rule.new_state.iter()) {
                if !possible.contains(state) {
                    possible.push(state.clone());
                }
            }
        }
        Ok(out)
    }

    pub async fn reset_scenarios(&self) -> Result<(), StoreError> {
        self.scenarios.reset().await
    }

    /// Sets one scenario's state, which one of its stubs must name.
    pub async fn set_scenario(&self, name: &str, state: &str) -> Result<SetScenario, StoreError> {
        let Some(scenario) = self.scenarios().await?.into_iter().find(|s| s.name == name) else {
            return Ok(SetScenario::NoSuchScenario);
        };
        if !scenario.possible_states.iter().any(|s| s == state) {
            return Ok(SetScenario::NoSuchState(scenario.possible_states));
        }
        self.scenarios.set(name, state).await?;
        Ok(SetScenario::Set)
    }
}

/// The first of the matching stubs (best first) whose scenario is in the
/// state it requires, and the transition it makes.
fn pick_stub(matching: &[&Arc<Stub>], states: &HashMap<String, String>) -> Pick {
    let chosen = matching.iter().position(|stub| match &stub.scenario {
        None => true,
        Some(rule) => rule.required.as_ref().is_none_or(|required| {
            states.get(&rule.name).map_or(STARTED, String::as_str) == required
        }),
    });
    let transition = chosen
        .and_then(|i| matching[i].scenario.as_ref())
        .and_then(|rule| Some((rule.name.clone(), rule.new_state.clone()?)));
    Pick { chosen, transition }
}
