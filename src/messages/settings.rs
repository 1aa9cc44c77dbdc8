//! `messages.*` settings.

use serde::{Deserialize, Deserializer, Serialize};

use crate::setting;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessagesSettings {
    /// Largest message `POST /v1/messages` accepts; unset: `body_limit`.
    #[serde(deserialize_with = "max_size", serialize_with = "setting::show")]
    pub max_size: Option<usize>,
    /// Bytes of hot messages kept in memory; 0 turns the cache off.
    #[serde(with = "setting::size")]
    pub cache_size: usize,
}

impl Default for MessagesSettings {
    fn default() -> Self {
        MessagesSettings {
            max_size: None,
            cache_size: 64 * 1024 * 1024,
        }
    }
}

fn max_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    setting::read(deserializer, |value| match setting::parse_size(value)? {
        0 => Err("must be at least 1 byte".into()),
        size => Ok(Some(size)),
    })
}
