//! The request journal: the last N requests the mocks answered (or did not),
//! in a ring buffer. WireMock's journal grows until the JVM runs out of
//! memory; this one holds at most `mocks.journal_size` entries and at most
//! `mocks.journal_bodies_size` bytes of bodies, dropping the oldest first.
//!
//! The journal is shown to every holder of `mocks:write`, so it keeps
//! credential headers redacted unless `mocks.journal_credentials` is on.
//! Matching a stub sees the request as sent; only what is kept is redacted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};

use super::matcher::{Incoming, RequestPattern};
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
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub body_truncated: bool,
    pub logged_at_ms: i64,
    /// The stub that answered, if one did.
    pub stub: Option<Arc<Stub>>,
}

impl LoggedRequest {
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming::new(
            &self.method,
            &self.path,
            self.query.as_deref(),
            &self.headers,
            &self.body,
        )
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

    pub fn record(&self, entry: LoggedRequest) {
        if self.limits.entries == 0 {
            return;
        }
        let entry = Arc::new(entry);
        let mut ring = self.lock();
        ring.body_bytes += entry.body.len();
        ring.entries.push_back(entry);
        while ring.entries.len() > self.limits.entries || ring.body_bytes > self.limits.body_budget
        {
            match ring.entries.pop_front() {
                Some(old) => ring.body_bytes -= old.body.len(),
                None => break,
            }
        }
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
            method: Method::GET,
            path: format!("/{n}"),
            query: None,
            headers: HeaderMap::new(),
            body: Bytes::from(vec![b'x'; body]),
            body_truncated: false,
            logged_at_ms: 0,
            stub: None,
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
