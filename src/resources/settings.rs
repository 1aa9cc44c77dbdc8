//! `resources.*` settings.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

use crate::setting;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResourcesSettings {
    /// A json-server `db.json` whose top-level arrays become collections and
    /// objects singular resources, at start-up. Read once: a collection that
    /// is stored already is kept as stored, and the file is never written.
    #[serde(with = "setting::value")]
    pub seed: Option<PathBuf>,
    /// Where the json-server routes are: `/` (below every module's own
    /// routes) or a prefix such as `/api`.
    #[serde(deserialize_with = "prefix", serialize_with = "setting::show")]
    pub prefix: String,
    /// Answer cross-origin requests on the json-server routes as json-server
    /// does (any origin, with credentials), for a front end served elsewhere.
    #[serde(with = "setting::value")]
    pub cors: bool,
    /// Documents kept parsed in memory, over all collections, so that a
    /// list of an unchanged collection reads no document (0: none). A
    /// collection larger than this is read from the database each time.
    #[serde(with = "setting::value")]
    pub cached_documents: usize,
    /// Top-level fields whose equality filters (`?userId=7`) the database
    /// answers from an index, in every collection: a filtered page of a
    /// collection too large to keep in memory then reads only that page.
    #[serde(deserialize_with = "field_names", serialize_with = "setting::show")]
    pub indexes: Vec<String>,
    /// A field gets an index of its own, built in the background, once this
    /// many lists of collections too large for memory were filtered on it
    /// with no index to answer them (0: never). A field no document has
    /// gets none.
    #[serde(with = "setting::value")]
    pub auto_index_after: u32,
    /// Most fields indexed that way, over all processes and start-ups:
    /// every index costs each write a little.
    #[serde(with = "setting::value")]
    pub auto_index_max: usize,
}

impl Default for ResourcesSettings {
    fn default() -> Self {
        ResourcesSettings {
            seed: None,
            prefix: "/".to_owned(),
            cors: true,
            cached_documents: 100_000,
            indexes: Vec::new(),
            auto_index_after: 10,
            auto_index_max: 8,
        }
    }
}

/// `/`, or `/segment[/segment…]` without a trailing slash.
fn prefix<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    setting::read(deserializer, |value| {
        let text = setting::text(value)?;
        let trimmed = text.trim().trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok("/".to_owned());
        }
        let valid = trimmed.starts_with('/')
            && trimmed[1..].split('/').all(|segment| {
                !segment.is_empty()
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            });
        if valid {
            Ok(trimmed.to_owned())
        } else {
            Err(format!(
                "`{text}`: a path such as `/` or `/api` (letters, digits, `_`, `-`, `.`)"
            ))
        }
    })
}

/// Field names as `resources.indexes` takes them: top-level keys made of
/// letters, digits and `_`, which a JSON path names without quoting.
fn field_names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    setting::read(deserializer, |value| {
        let names: Vec<String> = setting::SettingValue::from_setting(value)?;
        for name in &names {
            if !super::model::is_plain_field(name) {
                return Err(format!(
                    "`{name}`: a top-level field name of letters, digits and `_` \
                     (at most 64, not starting with a digit)"
                ));
            }
        }
        Ok(names)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_a_plain_path() {
        let read = |text: &str| toml::from_str::<ResourcesSettings>(text).map(|s| s.prefix);
        assert_eq!(read("prefix = \"/api/\"").unwrap(), "/api");
        assert_eq!(read("prefix = \"\"").unwrap(), "/");
        assert_eq!(read("prefix = \"/v2/data\"").unwrap(), "/v2/data");
        for refused in ["prefix = \"api\"", "prefix = \"/a b\"", "prefix = \"/{x}\""] {
            assert!(read(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn indexes_name_plain_top_level_fields() {
        let read = |text: &str| toml::from_str::<ResourcesSettings>(text).map(|s| s.indexes);
        assert_eq!(
            read("indexes = [\"userId\", \"_kind\"]").unwrap(),
            ["userId", "_kind"]
        );
        assert_eq!(read("indexes = \"a, b\"").unwrap(), ["a", "b"]);
        for refused in ["[\"a.b\"]", "[\"1st\"]", "[\"a b\"]", "[\"\"]", "[\"x'\"]"] {
            assert!(read(&format!("indexes = {refused}")).is_err(), "{refused}");
        }
    }
}
