//! An OpenAPI document as loaded: read from JSON or YAML, its version
//! checked, and each operation turned into a stub mapping that points back
//! at the document (`response.openApiOperation`). The stubs are ordinary
//! stubs: stored, shared by every process, listed and journaled as any other.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::mocks::reserved_paths::is_reserved;

/// Metadata key marking the stubs made from a document, with its name.
pub const METADATA_KEY: &str = "echobaseOpenapi";
/// The response field of such a stub.
pub const RESPONSE_KEY: &str = "openApiOperation";
/// Their priority: below every stub written without one (WireMock's default
/// is 5), so an explicit stub pins a case. A path with parameters comes
/// after a literal one (`/pets/mine` before `/pets/{id}`), as OpenAPI asks.
pub const PRIORITY: i64 = 100;
/// The operations' methods, as OpenAPI names path item fields.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Which OpenAPI the document is written in: their schemas differ (3.0's
/// `nullable`, boolean exclusive bounds) and are read alike once normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V30,
    V31,
}

/// Where a document's body file is kept.
pub fn file_name(name: &str) -> String {
    format!("openapi/{name}.json")
}

/// A document's name: a slug of lowercase letters, digits and `-`.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a document name: 1 to 64 lowercase letters, digits and `-`, such as petstore"
        ))
    }
}

/// A name made from `info.title` (or a file's stem): lowercase, `-` between words.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(64).collect();
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "api".into() } else { out }
}

/// The document in `bytes`, JSON or YAML (JSON is YAML, but read as JSON
/// when it looks like it, for exact numbers and its error messages).
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the document is not UTF-8 text")?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("the document is not JSON: {e}"));
    }
    let yaml: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| format!("the document is not YAML: {e}"))?;
    // Through serde_json's serializer, so that YAML's unquoted keys such as
    // `200:` become the strings OpenAPI means.
    serde_json::to_value(yaml)
        .map_err(|e| format!("the document has a value JSON cannot hold: {e}"))
}

/// The document's OpenAPI version, or why it is not one echobase serves.
pub fn version(document: &Value) -> Result<Version, String> {
    if document.get("swagger").is_some() {
        return Err("Swagger 2.0 documents are not served; convert it to OpenAPI 3 first".into());
    }
    match document.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0.") => Ok(Version::V30),
        Some(v) if v.starts_with("3.1.") => Ok(Version::V31),
        Some(v) => Err(format!("OpenAPI {v} is not served: 3.0 and 3.1 are")),
        None => Err("`openapi` (the version, such as 3.1.0) is missing".into()),
    }
}

/// A local `$ref` (`#/components/...`) resolved in `document`, following
/// chains of references (at most 32).
pub fn resolve<'a>(document: &'a Value, value: &'a Value) -> Option<&'a Value> {
    let mut current = value;
    for _ in 0..32 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(reference) => current = pointer(document, reference)?,
            None => return Some(current),
        }
    }
    None
}

/// A `#/json/pointer` reference's target.
pub fn pointer<'a>(document: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    let decoded = percent_encoding::percent_decode_str(fragment)
        .decode_utf8()
        .ok()?;
    document.pointer(&decoded)
}

/// One operation of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationKey {
    /// Lowercase, as the path item's field.
    pub method: String,
    /// The path template, as in `paths`.
    pub path: String,
}

/// Every operation, in the document's order.
pub fn operations(document: &Value) -> Vec<OperationKey> {
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (path, item) in paths {
        let Some(item) = resolve(document, item).and_then(Value::as_object) else {
            continue;
        };
        for method in METHODS {
            if item.get(method).is_some_and(Value::is_object) {
                found.push(OperationKey {
                    method: method.to_owned(),
                    path: path.clone(),
                });
            }
        }
    }
    found
}

/// One piece of a path template: text, or a `{parameter}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Literal(String),
    Parameter(String),
}

/// `/pets/{petId}.json` as its parts.
pub fn path_parts(template: &str) -> Vec<PathPart> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        if open > 0 {
            parts.push(PathPart::Literal(rest[..open].to_owned()));
        }
        parts.push(PathPart::Parameter(rest[open + 1..close].to_owned()));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(PathPart::Literal(rest.to_owned()));
    }
    parts
}

/// The regular expression a request's path (as received, percent-encoded)
/// must match, a group per parameter. A parameter is one non-empty segment
/// or part of one.
pub fn path_regex(prefix: &str, template: &str) -> String {
    let mut pattern = format!("^{}", regex::escape(prefix));
    for part in path_parts(template) {
        match part {
            PathPart::Literal(text) => pattern.push_str(&regex::escape(&text)),
            PathPart::Parameter(_) => pattern.push_str("([^/]+)"),
        }
    }
    pattern.push('$');
    pattern
}

/// A document to load: its stubs, and the operations that cannot be served.
#[derive(Debug)]
pub struct Prepared {
    /// The document as stored (JSON text).
    pub stored: Vec<u8>,
    pub sha256: String,
    pub stubs: Vec<Value>,
    /// `GET /echo/...`-like operations on echobase's own routes.
    pub skipped: Vec<String>,
}

/// The stubs for `document`, served under `prefix` (`""` or `/path`).
pub fn prepare(name: &str, prefix: &str, document: &Value) -> Result<Prepared, String> {
    version(document)?;
    if !(prefix.is_empty() || prefix.starts_with('/') && !prefix.ends_with('/')) {
        return Err(format!(
            "prefix `{prefix}` must start with `/` and not end with one, such as /petstore"
        ));
    }
    let stored = serde_json::to_vec(document).map_err(|e| e.to_string())?;
    let sha256 = hex(&Sha256::digest(&stored));
    let mut stubs = Vec::new();
    let mut skipped = Vec::new();
    for key in operations(document) {
        let label = format!("{} {prefix}{}", key.method.to_uppercase(), key.path);
        let literal_start: String = path_parts(&key.path)
            .first()
            .map(|part| match part {
                PathPart::Literal(text) => text.clone(),
                PathPart::Parameter(_) => String::new(),
            })
            .unwrap_or_default();
        if !key.path.starts_with('/') || is_reserved(&format!("{prefix}{literal_start}")) {
            skipped.push(label);
            continue;
        }
        let parameters = path_parts(&key.path)
            .iter()
            .filter(|part| matches!(part, PathPart::Parameter(_)))
            .count() as i64;
        let mut reference = Map::new();
        reference.insert("document".into(), json!(name));
        reference.insert("sha256".into(), json!(sha256));
        reference.insert("method".into(), json!(key.method));
        reference.insert("path".into(), json!(key.path));
        if !prefix.is_empty() {
            reference.insert("prefix".into(), json!(prefix));
        }
        stubs.push(json!({
            "id": stub_id(name, &key),
            "name": format!("{name}: {label}"),
            "priority": PRIORITY + parameters,
            "persistent": true,
            "request": {
                "method": key.method.to_uppercase(),
                "urlPathPattern": path_regex(prefix, &key.path),
            },
            "response": {RESPONSE_KEY: reference},
            "metadata": {METADATA_KEY: {"document": name}},
        }));
    }
    Ok(Prepared {
        stored,
        sha256,
        stubs,
        skipped,
    })
}

/// The same id for the same operation of the same document, so loading it
/// again replaces its stubs rather than adding others.
fn stub_id(name: &str, key: &OperationKey) -> String {
    let digest = Sha256::digest(format!("{name}\n{}\n{}", key.method, key.path));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::new_v8(bytes).to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// OpenAPI 3.0's schema dialect rewritten as JSON Schema 2020-12 (which 3.1
/// uses), so one validator and one generator read both: `nullable: true`
/// adds `null` to the type (or the enum), boolean `exclusiveMinimum` /
/// `exclusiveMaximum` become the numeric bounds.
pub fn normalise_30(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Bool(nullable)) = map.get("nullable") {
                if *nullable {
                    allow_null(map);
                }
                map.remove("nullable");
            }
            for (exclusive, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                match map.get(exclusive) {
                    Some(Value::Bool(true)) => match map.remove(bound) {
                        Some(limit) => {
                            map.insert(exclusive.into(), limit);
                        }
                        None => {
                            map.remove(exclusive);
                        }
                    },
                    Some(Value::Bool(false)) => {
                        map.remove(exclusive);
                    }
                    _ => {}
                }
            }
            for child in map.values_mut() {
                normalise_30(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_30),
        _ => {}
    }
}

fn allow_null(schema: &mut Map<String, Value>) {
    match schema.get_mut("type") {
        Some(Value::String(kind)) => {
            let kind = std::mem::take(kind);
            schema.insert("type".into(), json!([kind, "null"]));
        }
        Some(Value::Array(kinds)) if !kinds.contains(&json!("null")) => kinds.push(json!("null")),
        _ => {}
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_numeric_keys_become_strings() {
        let doc = parse(b"openapi: 3.0.3\npaths:\n  /a:\n    get:\n      responses:\n        200:\n          description: ok\n").unwrap();
        assert!(doc.pointer("/paths/~1a/get/responses/200").is_some());
        assert_eq!(version(&doc), Ok(Version::V30));
    }

    #[test]
    fn versions_other_than_3_0_and_3_1_are_refused() {
        assert!(version(&json!({"swagger": "2.0"})).is_err());
        assert!(version(&json!({"openapi": "4.0.0"})).is_err());
        assert!(version(&json!({})).is_err());
        assert_eq!(version(&json!({"openapi": "3.1.0"})), Ok(Version::V31));
    }

    #[test]
    fn path_templates_become_anchored_patterns() {
        let pattern = regex::Regex::new(&path_regex("/api", "/pets/{petId}.json")).unwrap();
        let caps = pattern.captures("/api/pets/42.json").unwrap();
        assert_eq!(&caps[1], "42");
        assert!(!pattern.is_match("/api/pets/4/2.json"));
        assert!(!pattern.is_match("/pets/42.json"));
    }

    #[test]
    fn operations_become_stubs_with_stable_ids_and_literal_paths_first() {
        let doc = json!({"openapi": "3.1.0", "paths": {
            "/pets/{id}": {"get": {}, "delete": {}},
            "/pets/mine": {"get": {}},
            "/echo/x": {"get": {}},
        }});
        let first = prepare("pets", "", &doc).unwrap();
        let again = prepare("pets", "", &doc).unwrap();
        assert_eq!(first.stubs, again.stubs);
        assert_eq!(first.stubs.len(), 3);
        assert_eq!(first.skipped, ["GET /echo/x"]);
        let priority = |path: &str| {
            first
                .stubs
                .iter()
                .find(|s| s["response"][RESPONSE_KEY]["path"] == path)
                .map(|s| s["priority"].as_i64().unwrap())
        };
        assert!(priority("/pets/mine") < priority("/pets/{id}"));
        assert!(prepare("pets", "/api/", &doc).is_err());
    }

    #[test]
    fn nullable_and_boolean_bounds_of_3_0_are_rewritten() {
        let mut schema = json!({"type": "object", "properties": {
            "a": {"type": "string", "nullable": true},
            "b": {"type": "integer", "minimum": 1, "exclusiveMinimum": true},
            "c": {"enum": ["x"], "nullable": true},
            "nullable": {"type": "boolean"},
        }});
        normalise_30(&mut schema);
        assert_eq!(
            schema["properties"]["a"],
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            schema["properties"]["b"],
            json!({"type": "integer", "exclusiveMinimum": 1})
        );
        assert_eq!(schema["properties"]["c"], json!({"enum": ["x", null]}));
        assert_eq!(schema["properties"]["nullable"], json!({"type": "boolean"}));
    }

    #[test]
    fn slugs_and_names() {
        assert_eq!(
            slug("Swagger Petstore - OpenAPI 3.0"),
            "swagger-petstore-openapi-3-0"
        );
        assert_eq!(slug("!!!"), "api");
        assert!(check_name("petstore").is_ok());
        assert!(check_name("Pet store").is_err());
        assert!(check_name("../x").is_err());
    }
}
