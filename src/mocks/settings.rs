//! `mocks.*` settings.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::setting;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MocksSettings {
    /// Requests kept in the request journal (a ring buffer; 0 turns it off).
    #[serde(with = "setting::value")]
    pub journal_size: usize,
    /// Largest body kept per journal entry; the rest is cut (and the entry says so).
    #[serde(with = "setting::size")]
    pub max_journal_body: usize,
    /// Bytes of bodies kept across the journal; the oldest entries go first.
    #[serde(with = "setting::size")]
    pub journal_bodies_size: usize,
    /// A WireMock root (`mappings/`, `__files/`) whose stubs are loaded at start-up.
    #[serde(with = "setting::value")]
    pub mappings_dir: Option<PathBuf>,
    /// Keep credential headers (`Authorization`, `Proxy-Authorization`, `X-API-Key`,
    /// `Cookie` values) in the journal as sent; otherwise they are kept redacted.
    #[serde(with = "setting::value")]
    pub journal_credentials: bool,
}

impl Default for MocksSettings {
    fn default() -> Self {
        MocksSettings {
            journal_size: 10_000,
            max_journal_body: 64 * 1024,
            journal_bodies_size: 16 * 1024 * 1024,
            mappings_dir: None,
            journal_credentials: false,
        }
    }
}
