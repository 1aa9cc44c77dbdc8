//! The request journal: the last N requests the mocks answered (or did not),
//! in a ring buffer. WireMock's journal grows until the JVM runs out of
//! memory; this one holds at most `mocks.journal_size` entries and at most
//! `mocks.journal_bodies_size` bytes of bodies, dropping the oldest first.
//!
//! The journal is shown to every holder of `mocks:write`, so it keeps
//! credential headers redacted unless `mocks.journal_credentials` is on.
//! Matching a stub sees the request as sent; only what is kept is redacted.

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};

use super::matcher::{Incoming, Origin};
use super::settings::MocksSettings;
use super::store::{JournalStore, StoreError, StubLookup};
use super::stub::Stub;
use crate::http::auth::X_API_KEY;

/// What a redacted credential is kept as.
pub const REDACTED: &str = "[redacted]";

/// What the journal keeps (the `mocks.journal_*` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalSettings {
    /// Entries kept.
    pub entries: usize,
    /// Largest body kept per entry; the rest is cut (and the entry says so).
    pub max_body: usize,
    /// Bodies kept in total across the journal.
    pub body_budget: usize,
    /// Credential headers kept as sent rather than redacted.
    pub keep_credentials: bool,
}

impl JournalSettings {
    /// A body over the whole budget would push out every entry, itself included.
    pub fn bounded(mut self) -> Self {
        self.max_body = self.max_body.min(self.body_budget);
        self
    }
}

impl From<&MocksSettings> for JournalSettings {
    fn from(settings: &MocksSettings) -> Self {
        JournalSettings {
            entries: settings.journal_size,
            max_body: settings.max_journal_body,
            body_budget: settings.journal_bodies_size,
            keep_credentials: settings.journal_credentials,
        }
    }
}

/// Request headers that carry credentials.
fn is_credential(name: &HeaderName) -> bool {
    name == header::AUTHORIZATION
        || name == header::PROXY_AUTHORIZATION
        || name == header::COOKIE
        || name.as_str() == X_API_KEY
}

/// A credential header's value as the journal keeps it: `Cookie` keeps each
/// cookie's name (which cookies were sent), any other is replaced whole.
fn redacted(name: &HeaderName, value: &HeaderValue) -> HeaderValue {
    let whole = HeaderValue::from_static(REDACTED);
    if name != header::COOKIE {
        return whole;
    }
    let cookies: Vec<String> = String::from_utf8_lossy(value.as_bytes())
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((cookie, _)) => format!("{}={REDACTED}", cookie.trim()),
            None => REDACTED.to_owned(),
        })
        .collect();
    HeaderValue::from_str(&cookies.join("; ")).unwrap_or(whole)
}

/// The stub that answered a journaled request.
#[derive(Debug, Clone)]
pub enum AnsweredBy {
    Stub(Arc<Stub>),
    /// A stub removed since: the shared journal stores only the id, and
    /// finds the stub when read.
    Removed(String),
}

impl AnsweredBy {
    pub fn id(&self) -> &str {
        match self {
            AnsweredBy::Stub(stub) => &stub.id,
            AnsweredBy::Removed(id) => id,
        }
    }

    pub fn stub(&self) -> Option<&Arc<Stub>> {
        match self {
            AnsweredBy::Stub(stub) => Some(stub),
            AnsweredBy::Removed(_) => None,
        }
    }
}

/// One request as received.
#[derive(Debug)]
pub struct LoggedRequest {
    pub id: uuid::Uuid,
    pub origin: Origin,
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub body_truncated: bool,
    pub logged_at_ms: i64,
    /// The stub that answered, if one did.
    pub stub: Option<AnsweredBy>,
    /// What was sent back, once it is known (set through [`Logged::respond`]).
    pub response: OnceLock<LoggedResponse>,
}

/// The response a journaled request got.
#[derive(Debug)]
pub struct LoggedResponse {
    pub status: u16,
    pub headers: HeaderMap,
    /// At most `mocks.max_journal_body` bytes of it.
    pub body: Bytes,
    /// The connection fault sent instead of a response, if any.
    pub fault: Option<String>,
}

impl LoggedRequest {
    /// Body bytes this entry holds against the journal's budget.
    pub fn kept_bytes(&self) -> usize {
        self.body.len() + self.response.get().map_or(0, |r| r.body.len())
    }

    pub fn incoming(&self) -> Incoming<'_> {
        Incoming::new(
            &self.method,
            &self.path,
            self.query.as_deref(),
            &self.headers,
            &self.body,
        )
        .with_origin(self.origin)
    }
}

/// A journaled request being answered. Its response is added with
/// [`Logged::respond`]; when it is dropped (answered, or abandoned by a
/// client that went away) the store is told, once.
pub struct Logged {
    entry: Arc<LoggedRequest>,
    store: Option<Arc<dyn JournalStore>>,
    changes: Option<Changes>,
}

impl Logged {
    pub fn entry(&self) -> &Arc<LoggedRequest> {
        &self.entry
    }

    /// Adds the response (the first one given counts).
    pub fn respond(&self, response: LoggedResponse) {
        let _ = self.entry.response.set(response);
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        if let Some(store) = &self.store {
            store.answered(&self.entry);
        }
        if let Some(changes) = &self.changes {
            changes.tell();
        }
    }
}

/// Tells live readers (`/__admin/requests/events`) that this process's
/// journal changed: a count they wait on, bumped only while one listens.
#[derive(Clone)]
struct Changes(Arc<tokio::sync::watch::Sender<u64>>);

impl Default for Changes {
    fn default() -> Self {
        Changes(Arc::new(tokio::sync::watch::Sender::new(0)))
    }
}

impl Changes {
    fn tell(&self) {
        if self.0.receiver_count() > 0 {
            self.0.send_modify(|count| *count = count.wrapping_add(1));
        }
    }
}

pub struct Journal {
    limits: JournalSettings,
    store: Arc<dyn JournalStore>,
    changes: Changes,
}

impl Journal {
    /// `store` keeps the entries (see [`crate::mocks::store::journal_for_database`]).
    pub fn new(limits: JournalSettings, store: Arc<dyn JournalStore>) -> Self {
        Journal {
            limits: limits.bounded(),
            store,
            changes: Changes::default(),
        }
    }

    /// Keeps a request (unless the journal is off).
    pub fn record(&self, entry: LoggedRequest) -> Logged {
        let entry = Arc::new(entry);
        if self.is_disabled() {
            return Logged {
                entry,
                store: None,
                changes: None,
            };
        }
        self.store.received(&entry);
        Logged {
            entry,
            store: Some(self.store.clone()),
            changes: Some(self.changes.clone()),
        }
    }

    /// Every entry, oldest first (on a shared journal, every process's);
    /// `stubs` finds the stubs that answered, by id.
    pub async fn entries(
        &self,
        stubs: StubLookup<'_>,
    ) -> Result<Vec<Arc<LoggedRequest>>, StoreError> {
        let mut entries = self.store.entries(stubs).await?;
        // Processes sharing a journal each write in their own order; the
        // fleet's is the time logged (stable: ties keep the store's order).
        entries.sort_by_key(|e| e.logged_at_ms);
        Ok(entries)
    }

    pub async fn remove(&self, entries: &[Arc<LoggedRequest>]) -> Result<(), StoreError> {
        let ids: Vec<uuid::Uuid> = entries.iter().map(|e| e.id).collect();
        self.store.remove(&ids).await?;
        self.changes.tell();
        Ok(())
    }

    pub async fn clear(&self) -> Result<(), StoreError> {
        self.store.clear().await?;
        self.changes.tell();
        Ok(())
    }

    /// Changes when this process answers a request or removes entries.
    /// Other processes sharing the journal do not tell it: read it again
    /// now and then.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.0.subscribe()
    }

    /// Off: `mocks.journal_size` is 0.
    pub fn is_disabled(&self) -> bool {
        self.limits.entries == 0
    }

    /// The change listener (re)started listening through the connection of
    /// backend `pid` (see [`JournalStore::listening`]).
    pub async fn listening(&self, pid: i32) -> Result<(), StoreError> {
        self.store.listening(pid).await
    }

    /// A reader asked every process to write its journal entries.
    pub async fn barrier_requested(&self, barrier: i64) -> Result<(), StoreError> {
        self.store.barrier_requested(barrier).await
    }

    /// The request headers as the journal keeps them: credentials redacted
    /// (unless configured otherwise), and copied so that they own their bytes.
    /// A plain clone would share the connection's read buffer (hyper parses
    /// header values as slices of it), so each entry would pin kilobytes it
    /// does not use.
    pub fn keep_headers(&self, headers: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            let value = if !self.limits.keep_credentials && is_credential(name) {
                Ok(redacted(name, value))
            } else {
                HeaderValue::from_bytes(value.as_bytes())
            };
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_str().as_bytes()), value)
            {
                out.append(name, value);
            }
        }
        out
    }

    /// A copy of at most `max_body` bytes of a body (a copy, so that a large
    /// body is not kept whole by its slice); says whether it was cut.
    /// The most bytes of a body an entry keeps.
    pub fn max_body(&self) -> usize {
        self.limits.max_body
    }

    pub fn keep_body(&self, body: &Bytes) -> (Bytes, bool) {
        let max = self.limits.max_body;
        let kept = body.len().min(max);
        (Bytes::copy_from_slice(&body[..kept]), body.len() > max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mocks::store::MemoryJournalStore;

    fn journal(limits: JournalSettings) -> Journal {
        Journal::new(limits, Arc::new(MemoryJournalStore::new(limits)))
    }

    fn limits(entries: usize) -> JournalSettings {
        JournalSettings {
            entries,
            ..JournalSettings::from(&MocksSettings::default())
        }
    }

    #[test]
    fn a_body_is_never_kept_beyond_the_whole_budget() {
        let journal = journal(JournalSettings {
            entries: 10,
            max_body: 64,
            body_budget: 8,
            keep_credentials: false,
        });
        let (kept, cut) = journal.keep_body(&Bytes::from(vec![b'x'; 20]));
        assert_eq!((kept.len(), cut), (8, true));
    }

    #[test]
    fn credentials_are_kept_redacted_unless_configured() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer abc"),
            ("proxy-authorization", "Basic xyz"),
            ("x-api-key", "k"),
            ("cookie", "a=1; b=2;"),
            ("cookie", "lonely"),
            ("x-other", "seen"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let shown = |keep_credentials: bool| -> Vec<(String, String)> {
            let journal = journal(JournalSettings {
                keep_credentials,
                ..limits(10)
            });
            journal
                .keep_headers(&headers)
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                .collect()
        };
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            shown(false),
            pairs(&[
                ("authorization", "[redacted]"),
                ("proxy-authorization", "[redacted]"),
                ("x-api-key", "[redacted]"),
                ("cookie", "a=[redacted]; b=[redacted]"),
                ("cookie", "[redacted]"),
                ("x-other", "seen"),
            ])
        );
        assert_eq!(
            shown(true),
            pairs(&[
                ("authorization", "Bearer abc"),
                ("proxy-authorization", "Basic xyz"),
                ("x-api-key", "k"),
                ("cookie", "a=1; b=2;"),
                ("cookie", "lonely"),
                ("x-other", "seen"),
            ])
        );
    }
}
