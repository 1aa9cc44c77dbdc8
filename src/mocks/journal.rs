//! The request journal: the last N requests the mocks answered (or did not),
//! in a ring buffer. WireMock's journal grows until the JVM runs out of
//! memory; this one holds at most `mocks.journal_size` entries and at most
//! `mocks.journal_bodies_size` bytes of bodies, dropping the oldest first.
//!
//! The journal is shown to every holder of `mocks:write`, so it keeps
//! credential headers redacted unless `mocks.journal_credentials` is on.
//! Matching a stub sees the request as sent; only what is kept is redacted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};

use super::matcher::{Incoming, Origin, RequestPattern};
use super::settings::MocksSettings;
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
    pub stub: Option<Arc<Stub>>,
    /// What was sent back, once it is known (set by [`Journal::record_response`]).
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
    fn kept_bytes(&self) -> usize {
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

struct Ring {
    entries: VecDeque<Arc<LoggedRequest>>,
    body_bytes: usize,
}

pub struct Journal {
    limits: JournalSettings,
    ring: Mutex<Ring>,
}

impl Journal {
    pub fn new(mut limits: JournalSettings) -> Self {
        // A body over the whole budget would push out every entry, itself included.
        limits.max_body = limits.max_body.min(limits.body_budget);
        Journal {
            limits,
            ring: Mutex::new(Ring {
                entries: VecDeque::with_capacity(limits.entries.min(1024)),
                body_bytes: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A panic while holding this lock cannot leave the ring inconsistent
        // in a way that matters; keep serving.
        self.ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps a request (unless the journal is off); the entry is returned so
    /// that its response can be added once it is known.
    pub fn record(&self, entry: LoggedRequest) -> Arc<LoggedRequest> {
        let entry = Arc::new(entry);
        if self.limits.entries == 0 {
            return entry;
        }
        let mut ring = self.lock();
        ring.body_bytes += entry.kept_bytes();
        ring.entries.push_back(entry.clone());
        self.evict(&mut ring);
        entry
    }

    /// Drops the oldest entries until the ring is within its limits.
    fn evict(&self, ring: &mut Ring) {
        while ring.entries.len() > self.limits.entries || ring.body_bytes > self.limits.body_budget
        {
            match ring.entries.pop_front() {
                Some(old) => ring.body_bytes -= old.kept_bytes(),
                None => break,
            }
        }
    }

    /// Adds the response to a recorded entry; its body counts against the
    /// budget from then on (under the ring's lock, so the count stays exact).
    pub fn record_response(&self, entry: &Arc<LoggedRequest>, response: LoggedResponse) {
        let mut ring = self.lock();
        if entry.response.set(response).is_err() {
            return;
        }
        // Usually the newest entry: searched from the back.
        if ring.entries.iter().rev().any(|e| Arc::ptr_eq(e, entry)) {
            ring.body_bytes += entry.response.get().map_or(0, |r| r.body.len());
            self.evict(&mut ring);
        }
    }

    /// One entry by id.
    pub fn get(&self, id: &uuid::Uuid) -> Option<Arc<LoggedRequest>> {
        self.lock()
            .entries
            .iter()
            .rev()
            .find(|e| e.id == *id)
            .cloned()
    }

    /// Removes the entries `remove` picks; returns them, oldest first.
    pub fn remove_where(&self, remove: impl Fn(&LoggedRequest) -> bool) -> Vec<Arc<LoggedRequest>> {
        let mut ring = self.lock();
        let (removed, kept): (Vec<_>, Vec<_>) = ring.entries.drain(..).partition(|e| remove(e));
        ring.entries = kept.into();
        ring.body_bytes = ring.entries.iter().map(|e| e.kept_bytes()).sum();
        removed
    }

    /// Off: `mocks.journal_size` is 0.
    pub fn is_disabled(&self) -> bool {
        self.limits.entries == 0
    }

    /// Oldest first.
    pub fn snapshot(&self) -> Vec<Arc<LoggedRequest>> {
        self.lock().entries.iter().cloned().collect()
    }

    pub fn clear(&self) {
        let mut ring = self.lock();
        ring.entries.clear();
        ring.body_bytes = 0;
    }

    pub fn matching(&self, pattern: &RequestPattern) -> Vec<Arc<LoggedRequest>> {
        self.snapshot()
            .into_iter()
            .filter(|entry| pattern.is_match(&entry.incoming()))
            .collect()
    }

    pub fn unmatched(&self) -> Vec<Arc<LoggedRequest>> {
        self.snapshot()
            .into_iter()
            .filter(|entry| entry.stub.is_none())
            .collect()
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
    pub fn keep_body(&self, body: &Bytes) -> (Bytes, bool) {
        let max = self.limits.max_body;
        let kept = body.len().min(max);
        (Bytes::copy_from_slice(&body[..kept]), body.len() > max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize, body: usize) -> LoggedRequest {
        LoggedRequest {
            id: uuid::Uuid::new_v4(),
            origin: Origin::default(),
            method: Method::GET,
            path: format!("/{n}"),
            query: None,
            headers: HeaderMap::new(),
            body: Bytes::from(vec![b'x'; body]),
            body_truncated: false,
            logged_at_ms: 0,
            stub: None,
            response: OnceLock::new(),
        }
    }

    fn limits(entries: usize) -> JournalSettings {
        JournalSettings {
            entries,
            ..JournalSettings::from(&MocksSettings::default())
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_entries() {
        let journal = Journal::new(limits(3));
        for n in 0..10 {
            journal.record(entry(n, 0));
        }
        let paths: Vec<String> = journal.snapshot().iter().map(|e| e.path.clone()).collect();
        assert_eq!(paths, ["/7", "/8", "/9"]);
    }

    #[test]
    fn the_ring_keeps_bodies_under_the_budget() {
        let limits = limits(10_000);
        let journal = Journal::new(limits);
        for n in 0..1000 {
            journal.record(entry(n, limits.max_body));
        }
        let kept = journal.snapshot();
        assert_eq!(kept.len(), limits.body_budget / limits.max_body);
        assert_eq!(kept.last().map(|e| e.path.as_str()), Some("/999"));
    }

    fn response(body: usize) -> LoggedResponse {
        LoggedResponse {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from(vec![b'y'; body]),
            fault: None,
        }
    }

    #[test]
    fn response_bodies_count_against_the_budget() {
        let journal = Journal::new(JournalSettings {
            entries: 100,
            max_body: 10,
            body_budget: 30,
            keep_credentials: false,
        });
        for n in 0..3 {
            let entry = journal.record(entry(n, 5));
            journal.record_response(&entry, response(5));
        }
        // 3 entries of 10 bytes each fill the budget; one more pushes out the oldest.
        assert_eq!(journal.snapshot().len(), 3);
        let newest = journal.record(entry(3, 5));
        journal.record_response(&newest, response(5));
        let paths: Vec<String> = journal.snapshot().iter().map(|e| e.path.clone()).collect();
        assert_eq!(paths, ["/1", "/2", "/3"]);
        assert_eq!(newest.response.get().map(|r| r.body.len()), Some(5));
    }

    #[test]
    fn removing_entries_frees_their_bytes() {
        let journal = Journal::new(JournalSettings {
            entries: 100,
            max_body: 10,
            body_budget: 20,
            keep_credentials: false,
        });
        for n in 0..2 {
            journal.record(entry(n, 10));
        }
        let removed = journal.remove_where(|e| e.path == "/0");
        assert_eq!(removed.len(), 1);
        let id = journal.record(entry(2, 10)).id;
        let paths: Vec<String> = journal.snapshot().iter().map(|e| e.path.clone()).collect();
        assert_eq!(paths, ["/1", "/2"]);
        assert!(journal.get(&id).is_some());
    }

    #[test]
    fn a_body_is_never_kept_beyond_the_whole_budget() {
        let journal = Journal::new(JournalSettings {
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
            let journal = Journal::new(JournalSettings {
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
