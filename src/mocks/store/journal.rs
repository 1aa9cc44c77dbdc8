//! Where the request journal lives. In this process (a bounded ring) on
//! SQLite, or on PostgreSQL when `mocks.journal_shared` is off; otherwise in
//! PostgreSQL, shared by every process on the database, so that `verify`,
//! `count` and `find` through any process see every process's requests.
//!
//! The shared journal keeps the database off the answer's path: a process
//! queues each entry (bounded like the ring) and a background writer inserts
//! them in batches. A read must still see a request answered a moment ago by
//! another process, so it starts with a barrier: it takes a number, tells
//! every process on the journal's channel, and waits until each live process
//! has written what it held when told and answered that number (a few
//! milliseconds; at most [`BARRIER_WAIT`], after which it reads anyway and
//! logs which processes were late).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Version};
use sqlx::postgres::PgPool;
use tokio::sync::{Notify, watch};

use super::StoreError;
use crate::mocks::journal::{AnsweredBy, JournalSettings, LoggedRequest, LoggedResponse};
use crate::mocks::matcher::Origin;
use crate::mocks::stub::Stub;

/// The channel on which a reader asks every process to write its queued
/// entries; the payload is the barrier's number.
pub const JOURNAL_CHANNEL: &str = "echobase_mock_journal";

/// Longest a read waits for the other processes to write what they hold.
pub const BARRIER_WAIT: Duration = Duration::from_secs(2);

/// Finds a stub by id (the shared journal stores only the answering stub's id).
pub type StubLookup<'a> = &'a (dyn Fn(&str) -> Option<Arc<Stub>> + Send + Sync);

#[async_trait]
pub trait JournalStore: Send + Sync + 'static {
    /// A request came in; its response is not known yet.
    fn received(&self, entry: &Arc<LoggedRequest>);

    /// Its response is known (or never will be: the client went away). Never
    /// waits for the database.
    fn answered(&self, entry: &Arc<LoggedRequest>);

    /// Every entry, oldest first, including every request that any process
    /// answered before this call.
    async fn entries(&self, stubs: StubLookup<'_>) -> Result<Vec<Arc<LoggedRequest>>, StoreError>;

    async fn remove(&self, ids: &[uuid::Uuid]) -> Result<(), StoreError>;

    async fn clear(&self) -> Result<(), StoreError>;

    /// The process listens on [`JOURNAL_CHANNEL`] through the connection
    /// whose backend is `listener_pid` (it may have missed barriers before).
    async fn listening(&self, _listener_pid: i32) -> Result<(), StoreError> {
        Ok(())
    }

    /// A reader's barrier arrived on [`JOURNAL_CHANNEL`].
    async fn barrier_requested(&self, _barrier: i64) -> Result<(), StoreError> {
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic under this lock cannot leave a ring inconsistent in a way that
    // matters; keep serving.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Entries within the journal's bounds: the newest `entries`, and at most
/// `body_budget` bytes of bodies, the oldest going first.
struct Ring {
    limits: JournalSettings,
    entries: VecDeque<Arc<LoggedRequest>>,
    body_bytes: usize,
}

impl Ring {
    fn new(limits: JournalSettings) -> Self {
        Ring {
            limits,
            entries: VecDeque::with_capacity(limits.entries.min(1024)),
            body_bytes: 0,
        }
    }

    /// Returns when the newest entry it pushed out was logged, if any.
    fn push(&mut self, entry: Arc<LoggedRequest>) -> Option<i64> {
        self.body_bytes += entry.kept_bytes();
        self.entries.push_back(entry);
        self.evict()
    }

    fn evict(&mut self) -> Option<i64> {
        let mut newest_evicted = None;
        while self.entries.len() > self.limits.entries || self.body_bytes > self.limits.body_budget
        {
            match self.entries.pop_front() {
                Some(old) => {
                    self.body_bytes -= old.kept_bytes();
                    newest_evicted = Some(old.logged_at_ms);
                }
                None => break,
            }
        }
        newest_evicted
    }

    fn take(&mut self) -> Vec<Arc<LoggedRequest>> {
        self.body_bytes = 0;
        self.entries.drain(..).collect()
    }

    fn retain(&mut self, keep: impl Fn(&LoggedRequest) -> bool) {
        self.entries.retain(|e| keep(e));
        self.body_bytes = self.entries.iter().map(|e| e.kept_bytes()).sum();
    }
}

/// One process's journal: a ring in memory.
pub struct MemoryJournalStore {
    ring: Mutex<Ring>,
}

impl MemoryJournalStore {
    pub fn new(limits: JournalSettings) -> Self {
        MemoryJournalStore {
            ring: Mutex::new(Ring::new(limits)),
        }
    }
}

#[async_trait]
impl JournalStore for MemoryJournalStore {
    fn received(&self, entry: &Arc<LoggedRequest>) {
        // Kept at once, so that a request still waiting for its answer is seen.
        lock(&self.ring).push(entry.clone());
    }

    fn answered(&self, entry: &Arc<LoggedRequest>) {
        // The response body counts from now on (under the lock, so the count stays exact).
        let mut ring = lock(&self.ring);
        let response_bytes = entry.response.get().map_or(0, |r| r.body.len());
        // Usually the newest entry: searched from the back.
        if response_bytes > 0 && ring.entries.iter().rev().any(|e| Arc::ptr_eq(e, entry)) {
            ring.body_bytes += response_bytes;
            ring.evict();
        }
    }

    async fn entries(&self, _: StubLookup<'_>) -> Result<Vec<Arc<LoggedRequest>>, StoreError> {
        Ok(lock(&self.ring).entries.iter().cloned().collect())
    }

    async fn remove(&self, ids: &[uuid::Uuid]) -> Result<(), StoreError> {
        lock(&self.ring).retain(|e| !ids.contains(&e.id));
        Ok(())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        lock(&self.ring).take();
        Ok(())
    }
}

/// Entries queued for the writer, and how many were ever queued (which the
/// writer reports back as written, so that a flush knows when it is done).
struct Queue {
    ring: Ring,
    queued: u64,
    /// When the newest entry the queue's bounds pushed out was logged: every
    /// entry logged until then is beyond the journal's bounds too (newer
    /// entries alone fill them), those already written included.
    beyond_bounds_ms: Option<i64>,
}

struct Shared {
    pool: PgPool,
    instance: String,
    limits: JournalSettings,
    queue: Mutex<Queue>,
    wake: Notify,
    /// How many queued entries are written (or were pushed out of the queue
    /// by newer ones, as the journal's bounds would have dropped them anyway).
    written: watch::Sender<u64>,
    closed: AtomicBool,
}

/// The journal of every process on one PostgreSQL database.
pub struct PostgresJournalStore {
    shared: Arc<Shared>,
}

impl PostgresJournalStore {
    /// Starts this process's writer (on the current Tokio runtime).
    pub fn new(pool: PgPool, instance: &str, limits: JournalSettings) -> Self {
        let shared = Arc::new(Shared {
            pool,
            instance: instance.to_owned(),
            limits,
            queue: Mutex::new(Queue {
                ring: Ring::new(limits),
                queued: 0,
                beyond_bounds_ms: None,
            }),
            wake: Notify::new(),
            written: watch::Sender::new(0),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(write_behind(shared.clone()));
        PostgresJournalStore { shared }
    }

    /// Waits until every entry queued before the call is written.
    async fn flush(&self) -> Result<(), StoreError> {
        flush(&self.shared).await
    }

    /// Every live process has written what it held when this was called.
    async fn barrier(&self) -> Result<(), StoreError> {
        let shared = &self.shared;
        let barrier: i64 = sqlx::query_scalar(
            "SELECT b FROM nextval('mock_journal_barrier') AS b, \
             LATERAL (SELECT pg_notify($1, b::text)) AS told",
        )
        .bind(JOURNAL_CHANNEL)
        .fetch_one(&shared.pool)
        .await?;
        self.flush().await?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let late: Vec<String> = sqlx::query_scalar(
                "SELECT i.instance FROM mock_journal_instances i \
                 WHERE i.flushed < $1 AND i.instance <> $2 AND EXISTS ( \
                     SELECT 1 FROM pg_stat_activity a \
                     WHERE a.pid = i.pid AND a.backend_start = i.backend_start)",
            )
            .bind(barrier)
            .bind(&shared.instance)
            .fetch_all(&shared.pool)
            .await?;
            if late.is_empty() {
                return Ok(());
            }
            if started.elapsed() >= BARRIER_WAIT {
                tracing::warn!(
                    ?late,
                    "mocks: journal read without the entries these processes hold (they did not answer in time)"
                );
                return Ok(());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

impl Drop for PostgresJournalStore {
    fn drop(&mut self) {
        // The writer writes what is queued, then stops.
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

async fn flush(shared: &Shared) -> Result<(), StoreError> {
    let target = lock(&shared.queue).queued;
    let mut written = shared.written.subscribe();
    shared.wake.notify_one();
    match tokio::time::timeout(BARRIER_WAIT, written.wait_for(|w| *w >= target)).await {
        Ok(_) => Ok(()),
        Err(_) => Err(StoreError::JournalBehind),
    }
}

/// Inserts queued entries in batches until the store is dropped; a failed
/// insert is retried (the queue stays bounded meanwhile), so an entry is lost
/// only to the journal's own bounds or to the process stopping.
async fn write_behind(shared: Arc<Shared>) {
    let mut since_trim = 0usize;
    let mut last_trim = Instant::now();
    loop {
        let (batch, queued, beyond_bounds_ms) = {
            let mut queue = lock(&shared.queue);
            (
                queue.ring.take(),
                queue.queued,
                queue.beyond_bounds_ms.take(),
            )
        };
        if let Some(until) = beyond_bounds_ms {
            // Before the batch: its entries are newer than what is deleted.
            if let Err(error) = delete_until(&shared.pool, until).await {
                tracing::warn!(%error, "mocks: trimming the shared journal failed");
            }
        }
        if batch.is_empty() {
            shared.written.send_replace(queued);
            if shared.closed.load(Ordering::Acquire) || shared.pool.is_closed() {
                return;
            }
            shared.wake.notified().await;
            continue;
        }
        let mut pause = Duration::from_millis(50);
        while let Err(error) = insert(&shared.pool, &batch).await {
            if shared.pool.is_closed() {
                return;
            }
            tracing::warn!(%error, entries = batch.len(), "mocks: writing the shared journal failed; retrying");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
        shared.written.send_replace(queued);
        since_trim += batch.len();
        // The count bound once per tenth of the journal written (an index
        // range); the bytes bound reads every row, so once a second. Reads
        // apply both bounds themselves meanwhile.
        let trimmed = if last_trim.elapsed() >= Duration::from_secs(1) {
            Some(trim_bytes(&shared.pool, &shared.limits).await)
        } else if since_trim * 10 >= shared.limits.entries {
            Some(trim_count(&shared.pool, &shared.limits).await)
        } else {
            None
        };
        if let Some(result) = trimmed {
            if let Err(error) = result {
                tracing::warn!(%error, "mocks: trimming the shared journal failed");
            }
            since_trim = 0;
            last_trim = Instant::now();
        }
    }
}

/// A header map as `name:value` lines: neither a name nor a value can hold a
/// line feed (or a name a colon), so the lines read back exactly.
pub fn encode_headers(headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

pub fn decode_headers(bytes: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(&line[colon + 1..]),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

fn version_of(name: &str) -> Version {
    match name {
        "HTTP/0.9" => Version::HTTP_09,
        "HTTP/1.0" => Version::HTTP_10,
        "HTTP/2.0" => Version::HTTP_2,
        "HTTP/3.0" => Version::HTTP_3,
        _ => Version::HTTP_11,
    }
}

/// One statement per batch: a column per array.
async fn insert(pool: &PgPool, batch: &[Arc<LoggedRequest>]) -> Result<(), sqlx::Error> {
    let n = batch.len();
    let mut ids = Vec::with_capacity(n);
    let mut logged = Vec::with_capacity(n);
    let mut client_ips = Vec::with_capacity(n);
    let mut https = Vec::with_capacity(n);
    let mut versions = Vec::with_capacity(n);
    let mut methods = Vec::with_capacity(n);
    let mut paths = Vec::with_capacity(n);
    let mut queries = Vec::with_capacity(n);
    let mut headers = Vec::with_capacity(n);
    let mut bodies = Vec::with_capacity(n);
    let mut truncated = Vec::with_capacity(n);
    let mut stubs = Vec::with_capacity(n);
    let mut statuses = Vec::with_capacity(n);
    let mut response_headers = Vec::with_capacity(n);
    let mut response_bodies = Vec::with_capacity(n);
    let mut faults = Vec::with_capacity(n);
    let mut kept = Vec::with_capacity(n);
    for entry in batch {
        ids.push(entry.id.to_string());
        logged.push(entry.logged_at_ms);
        client_ips.push(entry.origin.client_ip.map(|ip| ip.to_string()));
        https.push(entry.origin.https);
        versions.push(version_name(entry.origin.version));
        methods.push(entry.method.as_str().to_owned());
        paths.push(entry.path.clone());
        queries.push(entry.query.clone());
        headers.push(encode_headers(&entry.headers));
        bodies.push(entry.body.to_vec());
        truncated.push(entry.body_truncated);
        stubs.push(entry.stub.as_ref().map(|s| s.id().to_owned()));
        let response = entry.response.get();
        statuses.push(response.map(|r| i32::from(r.status)));
        response_headers.push(response.map(|r| encode_headers(&r.headers)));
        response_bodies.push(response.map(|r| r.body.to_vec()));
        faults.push(response.and_then(|r| r.fault.clone()));
        kept.push(i64::try_from(entry.kept_bytes()).unwrap_or(i64::MAX));
    }
    sqlx::query(
        "INSERT INTO mock_journal (id, logged_at_ms, client_ip, https, version, method, path, \
         query, headers, body, body_truncated, stub_id, status, response_headers, response_body, \
         fault, kept_bytes) \
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::boolean[], $5::text[], \
         $6::text[], $7::text[], $8::text[], $9::bytea[], $10::bytea[], $11::boolean[], \
         $12::text[], $13::integer[], $14::bytea[], $15::bytea[], $16::text[], $17::bigint[])",
    )
    .bind(ids)
    .bind(logged)
    .bind(client_ips)
    .bind(https)
    .bind(versions)
    .bind(methods)
    .bind(paths)
    .bind(queries)
    .bind(headers)
    .bind(bodies)
    .bind(truncated)
    .bind(stubs)
    .bind(statuses)
    .bind(response_headers)
    .bind(response_bodies)
    .bind(faults)
    .bind(kept)
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes every entry logged until `until_ms` (milliseconds since the epoch).
async fn delete_until(pool: &PgPool, until_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM mock_journal WHERE logged_at_ms <= $1")
        .bind(until_ms)
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes all but the newest `entries` (fewer may stay where entries were
/// removed: `seq` then has gaps).
async fn trim_count(pool: &PgPool, limits: &JournalSettings) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM mock_journal WHERE seq <= (SELECT max(seq) FROM mock_journal) - $1")
        .bind(i64::try_from(limits.entries).unwrap_or(i64::MAX))
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes what is beyond both bounds (the oldest first).
async fn trim_bytes(pool: &PgPool, limits: &JournalSettings) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM mock_journal WHERE seq <= ( \
             SELECT seq FROM ( \
                 SELECT seq, row_number() OVER newest AS n, sum(kept_bytes) OVER newest AS bytes \
                 FROM mock_journal WINDOW newest AS (ORDER BY seq DESC) \
             ) AS counted WHERE n > $1 OR bytes > $2 ORDER BY seq DESC LIMIT 1)",
    )
    .bind(i64::try_from(limits.entries).unwrap_or(i64::MAX))
    .bind(i64::try_from(limits.body_budget).unwrap_or(i64::MAX))
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    logged_at_ms: i64,
    client_ip: Option<String>,
    https: bool,
    version: String,
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<u8>,
    body: Vec<u8>,
    body_truncated: bool,
    stub_id: Option<String>,
    status: Option<i32>,
    response_headers: Option<Vec<u8>>,
    response_body: Option<Vec<u8>>,
    fault: Option<String>,
    kept_bytes: i64,
}

impl Row {
    /// None for a row no process of this version wrote (an id or method that
    /// does not parse).
    fn into_entry(self, stubs: StubLookup<'_>) -> Option<LoggedRequest> {
        let response = self.status.map(|status| LoggedResponse {
            status: u16::try_from(status).unwrap_or(500),
            headers: decode_headers(self.response_headers.as_deref().unwrap_or_default()),
            body: Bytes::from(self.response_body.unwrap_or_default()),
            fault: self.fault,
        });
        Some(LoggedRequest {
            id: uuid::Uuid::parse_str(&self.id).ok()?,
            origin: Origin {
                client_ip: self.client_ip.and_then(|ip| ip.parse().ok()),
                https: self.https,
                version: version_of(&self.version),
            },
            method: Method::from_bytes(self.method.as_bytes()).ok()?,
            path: self.path,
            query: self.query,
            headers: decode_headers(&self.headers),
            body: Bytes::from(self.body),
            body_truncated: self.body_truncated,
            logged_at_ms: self.logged_at_ms,
            stub: self.stub_id.map(|id| match stubs(&id) {
                Some(stub) => AnsweredBy::Stub(stub),
                None => AnsweredBy::Removed(id),
            }),
            response: response.map(std::sync::OnceLock::from).unwrap_or_default(),
        })
    }
}

#[async_trait]
impl JournalStore for PostgresJournalStore {
    fn received(&self, _: &Arc<LoggedRequest>) {
        // Written once answered, in one row.
    }

    fn answered(&self, entry: &Arc<LoggedRequest>) {
        {
            let mut queue = lock(&self.shared.queue);
            if let Some(evicted) = queue.ring.push(entry.clone()) {
                queue.beyond_bounds_ms = queue.beyond_bounds_ms.max(Some(evicted));
            }
            queue.queued += 1;
        }
        self.shared.wake.notify_one();
    }

    async fn entries(&self, stubs: StubLookup<'_>) -> Result<Vec<Arc<LoggedRequest>>, StoreError> {
        self.barrier().await?;
        let limits = &self.shared.limits;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, logged_at_ms, client_ip, https, version, method, path, query, headers, \
             body, body_truncated, stub_id, status, response_headers, response_body, fault, \
             kept_bytes FROM mock_journal ORDER BY seq DESC LIMIT $1",
        )
        .bind(i64::try_from(limits.entries).unwrap_or(i64::MAX))
        .fetch_all(&self.shared.pool)
        .await?;
        // The bytes bound, as the ring applies it (the writer trims only now and then).
        let mut bytes = 0usize;
        let mut entries: Vec<Arc<LoggedRequest>> = rows
            .into_iter()
            .take_while(|row| {
                bytes = bytes.saturating_add(usize::try_from(row.kept_bytes).unwrap_or(usize::MAX));
                bytes <= limits.body_budget
            })
            .filter_map(|row| row.into_entry(stubs))
            .map(Arc::new)
            .collect();
        entries.reverse();
        Ok(entries)
    }

    async fn remove(&self, ids: &[uuid::Uuid]) -> Result<(), StoreError> {
        self.barrier().await?;
        let ids: Vec<String> = ids.iter().map(uuid::Uuid::to_string).collect();
        sqlx::query("DELETE FROM mock_journal WHERE id = ANY($1)")
            .bind(ids)
            .execute(&self.shared.pool)
            .await?;
        Ok(())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        // After the barrier: nothing answered before the reset comes back after it.
        self.barrier().await?;
        sqlx::query("DELETE FROM mock_journal")
            .execute(&self.shared.pool)
            .await?;
        Ok(())
    }

    async fn listening(&self, listener_pid: i32) -> Result<(), StoreError> {
        let shared = &self.shared;
        // Barriers sent before now may have been missed: answer the newest
        // one taken before this point, having written everything queued.
        let newest: i64 = sqlx::query_scalar(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM mock_journal_barrier",
        )
        .fetch_one(&shared.pool)
        .await?;
        self.flush().await?;
        let mut tx = shared.pool.begin().await?;
        // Rows of processes whose connection is gone.
        sqlx::query(
            "DELETE FROM mock_journal_instances i WHERE NOT EXISTS ( \
                 SELECT 1 FROM pg_stat_activity a \
                 WHERE a.pid = i.pid AND a.backend_start = i.backend_start)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO mock_journal_instances (instance, pid, backend_start, flushed) \
             SELECT $1, pid, backend_start, $3 FROM pg_stat_activity WHERE pid = $2 \
             ON CONFLICT (instance) DO UPDATE SET pid = excluded.pid, \
             backend_start = excluded.backend_start, \
             flushed = GREATEST(mock_journal_instances.flushed, excluded.flushed)",
        )
        .bind(&shared.instance)
        .bind(listener_pid)
        .bind(newest)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn barrier_requested(&self, barrier: i64) -> Result<(), StoreError> {
        self.flush().await?;
        sqlx::query(
            "UPDATE mock_journal_instances SET flushed = GREATEST(flushed, $2) WHERE instance = $1",
        )
        .bind(&self.shared.instance)
        .bind(barrier)
        .execute(&self.shared.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_read_back_exactly() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-one", "a: b"),
            ("x-one", ""),
            ("cookie", "a=1; b=2"),
            ("x-tab", "a\tb"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        headers.append(
            HeaderName::from_static("x-bytes"),
            HeaderValue::from_bytes(&[0xe2, 0x82, 0xac, 0xff]).unwrap(),
        );
        assert_eq!(decode_headers(&encode_headers(&headers)), headers);
    }

    #[test]
    fn every_version_reads_back() {
        for version in [
            Version::HTTP_09,
            Version::HTTP_10,
            Version::HTTP_11,
            Version::HTTP_2,
            Version::HTTP_3,
        ] {
            assert_eq!(version_of(version_name(version)), version);
        }
    }
}
