//! `people.*` settings.

use serde::{Deserialize, Serialize};

use crate::setting;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeopleSettings {
    /// Most rows one page of `GET /v1/people` returns (`per_page` above it is a 400).
    #[serde(with = "setting::positive")]
    pub max_per_page: u64,
    /// Most people one `POST /v1/people:batch` creates.
    #[serde(with = "setting::positive")]
    pub max_batch: usize,
    /// People read by id kept in memory, on SQLite (0: none).
    #[serde(with = "setting::value")]
    pub cached_people: usize,
    /// Filter sets whose estimated count (`Prefer: count=estimated`) is kept
    /// for reuse, briefly (0: none).
    #[serde(with = "setting::value")]
    pub cached_estimates: usize,
}

impl Default for PeopleSettings {
    fn default() -> Self {
        PeopleSettings {
            max_per_page: 100,
            max_batch: 1000,
            cached_people: 10_000,
            cached_estimates: 1_000,
        }
    }
}
