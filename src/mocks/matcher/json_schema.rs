//! `matchesJsonSchema`: the value must be valid against a JSON Schema (draft 4
//! to 2020-12), compiled once when the stub is made. References are resolved
//! within the schema only: a remote `$ref` makes the schema invalid (it is
//! never fetched).

use std::fmt;
use std::sync::Arc;

use jsonschema::{Draft, Validator};
use serde_json::Value;

/// WireMock's `schemaVersion` names, with the draft each means.
pub const SCHEMA_VERSIONS: [(&str, Draft); 5] = [
    ("V4", Draft::Draft4),
    ("V6", Draft::Draft6),
    ("V7", Draft::Draft7),
    ("V201909", Draft::Draft201909),
    ("V202012", Draft::Draft202012),
];

/// A compiled `matchesJsonSchema`.
#[derive(Clone)]
pub struct JsonSchemaMatcher {
    schema: Arc<Value>,
    validator: Arc<Validator>,
    /// WireMock's denominator for the distance: how many properties the
    /// schema describes, nested ones included.
    property_count: usize,
}

impl fmt::Debug for JsonSchemaMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonSchemaMatcher")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl JsonSchemaMatcher {
    /// Compiles `schema` for `version` (a `$schema` in it wins, as in
    /// WireMock); `Err` says why it is not a usable schema.
    pub fn new(schema: Value, version: Draft) -> Result<JsonSchemaMatcher, String> {
        let mut options = jsonschema::options().offline();
        if schema.get("$schema").is_none() {
            options = options.with_draft(version);
        }
        let validator = options
            .build(&schema)
            .map_err(|e| format!("is not a valid JSON Schema: {e}"))?;
        Ok(JsonSchemaMatcher {
            property_count: property_count(&schema),
            schema: Arc::new(schema),
            validator: Arc::new(validator),
        })
    }

    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// 0 when `actual` is valid. As in WireMock, text that is not JSON is
    /// validated as a JSON string, and a number, boolean or null that fails is
    /// tried again as its text (so `"5"` in a header passes `{"type": "string"}`).
    /// A miss is the share of the schema's properties in error, above 0.
    pub fn distance(&self, actual: &str) -> f64 {
        let text = || Value::String(actual.to_owned());
        let parsed = serde_json::from_str::<Value>(actual).unwrap_or_else(|_| text());
        let mut errors = self.validator.iter_errors(&parsed).count();
        let scalar = !matches!(
            parsed,
            Value::String(_) | Value::Array(_) | Value::Object(_)
        );
        if errors > 0 && scalar {
            errors = self.validator.iter_errors(&text()).count();
        }
        match (errors, self.property_count) {
            (0, _) => 0.0,
            (_, 0) => 1.0,
            (errors, properties) => (errors as f64 / properties as f64).clamp(0.01, 1.0),
        }
    }
}

/// Counts `properties` members, recursing into each property's own.
fn property_count(schema: &Value) -> usize {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map_or(0, |properties| {
            properties
                .values()
                .map(|property| 1 + property_count(property))
                .sum()
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn matcher(schema: Value, version: Draft) -> JsonSchemaMatcher {
        match JsonSchemaMatcher::new(schema, version) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn valid_values_match_and_invalid_ones_are_near_misses() {
        let m = matcher(
            json!({"type": "object", "required": ["id"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}),
            Draft::Draft202012,
        );
        assert_eq!(m.distance(r#"{"id": 3}"#), 0.0);
        let d = m.distance(r#"{"id": "x"}"#);
        assert!(d > 0.0 && d < 1.0, "{d}");
        assert_eq!(m.distance(r#"{"id": "x", "name": 1}"#), 1.0);
        assert!(m.distance("not json") > 0.0);
    }

    #[test]
    fn scalars_are_also_tried_as_text() {
        let text = matcher(json!({"type": "string"}), Draft::Draft7);
        assert_eq!(text.distance("5"), 0.0);
        assert_eq!(text.distance("hello"), 0.0);
        let number = matcher(json!({"type": "integer"}), Draft::Draft7);
        assert_eq!(number.distance("5"), 0.0);
        assert_eq!(number.distance("five"), 1.0);
    }

    #[test]
    fn the_version_decides_what_keywords_mean() {
        // `exclusiveMaximum` is a boolean modifier in draft 4, a number from draft 6.
        let at_most = |n| json!({"properties": {"n": n}});
        let v4 = matcher(
            at_most(json!({"maximum": 5, "exclusiveMaximum": true})),
            Draft::Draft4,
        );
        assert_eq!(v4.distance(r#"{"n": 5}"#), 1.0);
        assert_eq!(v4.distance(r#"{"n": 4}"#), 0.0);
        let v7 = matcher(at_most(json!({"exclusiveMaximum": 5})), Draft::Draft7);
        assert_eq!(v7.distance(r#"{"n": 5}"#), 1.0);
        assert_eq!(v7.distance(r#"{"n": 4}"#), 0.0);
        // `prefixItems` exists from 2020-12 on.
        let tuple = json!({"prefixItems": [{"type": "integer"}]});
        assert_eq!(
            matcher(tuple.clone(), Draft::Draft202012).distance(r#"["a"]"#),
            1.0
        );
        assert_eq!(matcher(tuple, Draft::Draft7).distance(r#"["a"]"#), 0.0);
        // A `$schema` in the schema wins over the version.
        let mut declared = at_most(json!({"maximum": 5, "exclusiveMaximum": true}));
        declared["$schema"] = json!("http://json-schema.org/draft-04/schema#");
        assert_eq!(
            matcher(declared, Draft::Draft202012).distance(r#"{"n": 5}"#),
            1.0
        );
    }

    #[test]
    fn local_references_resolve_and_remote_ones_fail_closed() {
        let local = matcher(
            json!({"$defs": {"id": {"type": "integer"}}, "properties": {"id": {"$ref": "#/$defs/id"}}}),
            Draft::Draft202012,
        );
        assert_eq!(local.distance(r#"{"id": 1}"#), 0.0);
        assert!(local.distance(r#"{"id": "x"}"#) > 0.0);
        for reference in [
            "http://127.0.0.1:9/schema.json",
            "https://example.com/schema.json#/x",
            "file:///etc/passwd",
        ] {
            let remote = json!({"properties": {"id": {"$ref": reference}}});
            assert!(
                JsonSchemaMatcher::new(remote, Draft::Draft202012).is_err(),
                "{reference}"
            );
        }
    }

    #[test]
    fn invalid_schemas_are_refused() {
        assert!(JsonSchemaMatcher::new(json!({"type": 12}), Draft::Draft7).is_err());
        assert!(JsonSchemaMatcher::new(json!({"pattern": "("}), Draft::Draft7).is_err());
    }
}
