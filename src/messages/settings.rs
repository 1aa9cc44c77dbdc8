//! `messages.*` settings.

use serde::{Deserialize, Deserializer, Serialize};

use crate::setting::{self, SettingValue};

/// The largest `max_lookup`: a lookup binds every digest in one query, and
/// SQLite binds at most 32,766 values (prefix collisions can add a few).
const LOOKUP_CEILING: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessagesSettings {
    /// Largest message `POST /v1/messages` accepts; unset: `body_limit`.
    #[serde(deserialize_with = "max_size", serialize_with = "setting::show")]
    pub max_size: Option<usize>,
    /// Bytes of hot messages kept in memory; 0 turns the cache off.
    #[serde(with = "setting::size")]
    pub cache_size: usize,
    /// Most digests one `POST /v1/messages:lookup` takes.
    #[serde(deserialize_with = "lookup_count", serialize_with = "setting::show")]
    pub max_lookup: usize,
}

impl Default for MessagesSettings {
    fn default() -> Self {
        MessagesSettings {
            max_size: None,
            cache_size: 64 * 1024 * 1024,
            max_lookup: 1000,
        }
    }
}

fn max_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    setting::read(deserializer, |value| match setting::parse_size(value)? {
        0 => Err("must be at least 1 byte".into()),
        size => Ok(Some(size)),
    })
}

fn lookup_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    setting::read(deserializer, |value| match usize::from_setting(value)? {
        n @ 1..=LOOKUP_CEILING => Ok(n),
        _ => Err(format!("must be 1 to {LOOKUP_CEILING}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_lookup_is_refused_outside_what_one_query_can_bind() {
        let read = |text: &str| toml::from_str::<MessagesSettings>(text);
        assert_eq!(read("max_lookup = 10000").unwrap().max_lookup, 10_000);
        assert_eq!(read("max_lookup = \"7\"").unwrap().max_lookup, 7);
        for refused in ["max_lookup = 0", "max_lookup = 10001"] {
            let error = read(refused).unwrap_err().to_string();
            assert!(error.contains("must be 1 to 10000"), "{refused}: {error}");
        }
    }
}
