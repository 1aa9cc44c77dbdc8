//! JSON as WireMock's JSON helpers keep it (`formatJson`, `jsonMerge`,
//! `jsonRemove`, `jsonArrayAdd`, `jsonSort`): members in the order written
//! and numbers as written (WireMock reads numbers as big decimals, so
//! `2.50` stays `2.50`), where a `serde_json::Value` here sorts members and
//! rewrites numbers. Written compact, or pretty as Jackson's default
//! pretty printer writes it.

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::mocks::jsonpath::Step;

/// Deeper than this is refused, as `serde_json` refuses it for a `Value`.
const MAX_DEPTH: usize = 128;

/// A JSON document that keeps what it was written with.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json {
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
    String(String),
    /// A number, `true`, `false` or `null`, as written.
    Literal(String),
}

/// Why text is not a JSON document.
#[derive(Debug, thiserror::Error)]
pub(super) enum JsonError {
    #[error("{0}")]
    Syntax(#[from] serde_json::Error),
    #[error("nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

/// Why writing stopped.
#[derive(Debug, thiserror::Error)]
#[error("the JSON written is over {0} bytes")]
pub(super) struct TooLarge(pub usize);

/// An object's members in the order written; a repeated name keeps its
/// first place and its last value, as Jackson reads it.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Members<'de>, M::Error> {
                let mut members: Vec<(String, &'de RawValue)> = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, &'de RawValue>()? {
                    match members.iter_mut().find(|(n, _)| *n == name) {
                        Some(member) => member.1 = value,
                        None => members.push((name, value)),
                    }
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

impl Json {
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let raw: &RawValue = serde_json::from_str(text)?;
        Json::from_raw(raw, 0)
    }

    /// Each level reads its own text again: depth is bounded, so the cost
    /// is too.
    fn from_raw(raw: &RawValue, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        let text = raw.get();
        Ok(match text.as_bytes().first() {
            Some(b'{') => {
                let Members(members) = serde_json::from_str(text)?;
                Json::Object(
                    members
                        .into_iter()
                        .map(|(name, value)| Ok((name, Json::from_raw(value, depth + 1)?)))
                        .collect::<Result<_, JsonError>>()?,
                )
            }
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(text)?;
                Json::Array(
                    items
                        .into_iter()
                        .map(|item| Json::from_raw(item, depth + 1))
                        .collect::<Result<_, _>>()?,
                )
            }
            Some(b'"') => Json::String(serde_json::from_str(text)?),
            _ => Json::Literal(text.to_owned()),
        })
    }

    /// The same document as a `Value`, for JSONPath to select in (a path
    /// names members and items, which are the same in both).
    pub fn to_value(&self) -> Value {
        match self {
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(name, value)| (name.clone(), value.to_value()))
                    .collect(),
            ),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::String(text) => Value::String(text.clone()),
            Json::Literal(text) => serde_json::from_str(text).unwrap_or_default(),
        }
    }

    /// A `Value` as JSON (members in the `Value`'s order).
    pub fn from_value(value: &Value) -> Json {
        match value {
            Value::Object(members) => Json::Object(
                members
                    .iter()
                    .map(|(name, value)| (name.clone(), Json::from_value(value)))
                    .collect(),
            ),
            Value::Array(items) => Json::Array(items.iter().map(Json::from_value).collect()),
            Value::String(text) => Json::String(text.clone()),
            other => Json::Literal(other.to_string()),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Literal(text) if text == "null")
    }

    /// The value at `steps` down from this one.
    pub fn at_mut(&mut self, steps: &[Step]) -> Option<&mut Json> {
        let Some((first, rest)) = steps.split_first() else {
            return Some(self);
        };
        let child = match (self, first) {
            (Json::Object(members), Step::Name(name)) => {
                members.iter_mut().find(|(n, _)| n == name).map(|(_, v)| v)
            }
            (Json::Array(items), Step::Index(index)) => items.get_mut(*index),
            _ => None,
        }?;
        child.at_mut(rest)
    }

    /// Removes the value at `steps` (not this one: `steps` is not empty);
    /// false when there is none.
    pub fn remove(&mut self, steps: &[Step]) -> bool {
        let Some((last, parent)) = steps.split_last() else {
            return false;
        };
        match (self.at_mut(parent), last) {
            (Some(Json::Object(members)), Step::Name(name)) => {
                let before = members.len();
                members.retain(|(n, _)| n != name);
                members.len() != before
            }
            (Some(Json::Array(items)), Step::Index(index)) if *index < items.len() => {
                items.remove(*index);
                true
            }
            _ => false,
        }
    }

    /// As Jackson writes it without a pretty printer: no whitespace.
    pub fn compact(&self, limit: usize) -> Result<String, TooLarge> {
        let mut out = String::new();
        self.write(&mut out, None, limit)?;
        Ok(out)
    }

    /// As Jackson's default pretty printer writes it (WireMock's
    /// `Json.prettyPrint`): an object one member a line, a list on one line.
    pub fn pretty(&self, limit: usize) -> Result<String, TooLarge> {
        let mut out = String::new();
        self.write(&mut out, Some(0), limit)?;
        Ok(out)
    }

    /// Writes this value; `depth` is the indentation when pretty.
    fn write(&self, out: &mut String, depth: Option<usize>, limit: usize) -> Result<(), TooLarge> {
        if out.len() > limit {
            return Err(TooLarge(limit));
        }
        match self {
            Json::Literal(text) => out.push_str(text),
            Json::String(text) => push_string(out, text),
            Json::Array(items) if items.is_empty() => {
                out.push_str(if depth.is_some() { "[ ]" } else { "[]" })
            }
            Json::Array(items) => {
                let (open, separator, close) = match depth {
                    Some(_) => ("[ ", ", ", " ]"),
                    None => ("[", ",", "]"),
                };
                out.push_str(open);
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(separator);
                    }
                    item.write(out, depth, limit)?;
                }
                out.push_str(close);
            }
            Json::Object(members) if members.is_empty() => {
                out.push_str(if depth.is_some() { "{ }" } else { "{}" })
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if let Some(depth) = depth {
                        out.push('\n');
                        out.push_str(&"  ".repeat(depth + 1));
                    }
                    push_string(out, name);
                    out.push_str(if depth.is_some() { " : " } else { ":" });
                    value.write(out, depth.map(|d| d + 1), limit)?;
                }
                if let Some(depth) = depth {
                    out.push('\n');
                    out.push_str(&"  ".repeat(depth));
                }
                out.push('}');
            }
        }
        Ok(())
    }
}

/// A string as JSON, escaped as Jackson escapes it (control characters,
/// `"` and `\`; anything else as it is).
fn push_string(out: &mut String, text: &str) {
    let _ = write!(out, "{}", Value::String(text.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_numbers_as_written() {
        let doc =
            Json::parse(r#" {"z": 1, "a": {"k": [1, 2.50, 1e2, {"x": null}]}, "z": 3} "#).unwrap();
        assert_eq!(
            doc.compact(usize::MAX).unwrap(),
            r#"{"z":3,"a":{"k":[1,2.50,1e2,{"x":null}]}}"#
        );
        assert_eq!(
            doc.pretty(usize::MAX).unwrap(),
            "{\n  \"z\" : 3,\n  \"a\" : {\n    \"k\" : [ 1, 2.50, 1e2, {\n      \"x\" : null\n    } ]\n  }\n}"
        );
        assert_eq!(
            Json::parse("[]").unwrap().pretty(usize::MAX).unwrap(),
            "[ ]"
        );
        assert!(Json::parse(&"[".repeat(200)).is_err());
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(Json::parse(&deep), Err(JsonError::TooDeep)));
        assert!(doc.pretty(10).is_err());
    }

    #[test]
    fn finds_and_removes_by_steps() {
        let mut doc = Json::parse(r#"{"a": [1, {"b": 2}]}"#).unwrap();
        let b = [
            Step::Name("a".into()),
            Step::Index(1),
            Step::Name("b".into()),
        ];
        assert_eq!(doc.at_mut(&b), Some(&mut Json::Literal("2".into())));
        assert!(doc.remove(&b));
        assert!(!doc.remove(&b));
        assert!(doc.remove(&[Step::Name("a".into()), Step::Index(0)]));
        assert_eq!(doc.compact(usize::MAX).unwrap(), r#"{"a":[{}]}"#);
    }
}
