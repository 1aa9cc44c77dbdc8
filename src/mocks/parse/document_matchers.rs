//! The matchers that read a value as a document: `equalToXml`,
//! `matchesXPath` and `matchesJsonSchema`, with their options. Each is
//! compiled here, once, so that a stub that could never match is a 422
//! naming the field rather than a stub that silently misses.

use serde_json::{Map, Value};

use super::request::parse_matcher;
use super::{Errors, join};
use crate::mocks::matcher::{
    COMPARISON_TYPES, JsonSchemaMatcher, Namespaces, SCHEMA_VERSIONS, StringMatcher, XPathQuery,
    XmlEquality, XmlOptions, XmlPatternError,
};
use std::sync::Arc;

/// Each option beside the operator it belongs to.
pub(super) const OPTIONS: [(&str, &str); 8] = [
    ("enablePlaceholders", "equalToXml"),
    ("placeholderOpeningDelimiterRegex", "equalToXml"),
    ("placeholderClosingDelimiterRegex", "equalToXml"),
    ("exemptedComparisons", "equalToXml"),
    ("ignoreOrderOfSameNode", "equalToXml"),
    ("namespaceAwareness", "equalToXml"),
    ("xPathNamespaces", "matchesXPath"),
    ("schemaVersion", "matchesJsonSchema"),
];

pub(super) fn is_option(key: &str) -> bool {
    OPTIONS.iter().any(|(option, _)| *option == key)
}

/// Refuses an option given beside another operator (null counts as not given).
pub(super) fn check_options(obj: &Map<String, Value>, op: &str, path: &str, errors: &mut Errors) {
    for (option, owner) in OPTIONS {
        if owner != op && obj.get(option).is_some_and(|v| !v.is_null()) {
            errors.add(&join(path, option), format!("only applies to {owner}"));
        }
    }
}

fn flag(obj: &Map<String, Value>, key: &str, path: &str, errors: &mut Errors) -> bool {
    match obj.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.add(&join(path, key), "must be true or false");
            false
        }
    }
}

fn text<'v>(
    obj: &'v Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Errors,
) -> Option<&'v str> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            errors.add(&join(path, key), "must be a string");
            None
        }
    }
}

/// `{"equalToXml": "<a/>", ...options}`.
pub(super) fn equal_to_xml(
    obj: &Map<String, Value>,
    path: &str,
    errors: &mut Errors,
) -> Option<StringMatcher> {
    let field = join(path, "equalToXml");
    let Some(Value::String(expected)) = obj.get("equalToXml") else {
        errors.add(&field, "must be a string of XML");
        return None;
    };
    let mut options = XmlOptions {
        enable_placeholders: flag(obj, "enablePlaceholders", path, errors),
        opening_delimiter: text(obj, "placeholderOpeningDelimiterRegex", path, errors),
        closing_delimiter: text(obj, "placeholderClosingDelimiterRegex", path, errors),
        exempted_comparisons: Vec::new(),
        ignore_order_of_same_node: flag(obj, "ignoreOrderOfSameNode", path, errors),
        names: Namespaces::Strict,
    };
    match obj.get("exemptedComparisons") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str().filter(|name| COMPARISON_TYPES.contains(name)) {
                    Some(name) => options.exempted_comparisons.push(name),
                    None => errors.add(
                        &format!("{}.{i}", join(path, "exemptedComparisons")),
                        format!("must be one of {}", COMPARISON_TYPES.join(", ")),
                    ),
                }
            }
        }
        Some(_) => errors.add(
            &join(path, "exemptedComparisons"),
            "must be an array of XMLUnit comparison types",
        ),
    }
    options.names = match text(obj, "namespaceAwareness", path, errors) {
        None | Some("STRICT") => Namespaces::Strict,
        Some("NONE") => Namespaces::Prefixed,
        Some("LEGACY") => Namespaces::Ignored,
        Some(_) => {
            errors.add(
                &join(path, "namespaceAwareness"),
                "must be STRICT, LEGACY or NONE",
            );
            Namespaces::Strict
        }
    };
    match XmlEquality::new(expected, &options) {
        Ok(equality) => Some(StringMatcher::EqualToXml(Arc::new(equality))),
        Err(XmlPatternError::Document(e)) => {
            errors.add(&field, e);
            None
        }
        Err(XmlPatternError::Delimiters(e)) => {
            let delimiter = if options.opening_delimiter.is_some() {
                "placeholderOpeningDelimiterRegex"
            } else {
                "placeholderClosingDelimiterRegex"
            };
            errors.add(&join(path, delimiter), e);
            None
        }
    }
}

/// `{"matchesXPath": "/a"}` or `{"matchesXPath": {"expression": "/a", <matcher>}}`,
/// with `xPathNamespaces` beside it.
pub(super) fn matches_xpath(
    obj: &Map<String, Value>,
    path: &str,
    errors: &mut Errors,
) -> Option<StringMatcher> {
    let field = join(path, "matchesXPath");
    let namespaces_field = join(path, "xPathNamespaces");
    let namespaces: Vec<(String, String)> = match obj.get("xPathNamespaces") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(prefix, uri)| match uri.as_str() {
                Some(uri) if !prefix.is_empty() => Some((prefix.clone(), uri.to_owned())),
                _ => {
                    errors.add(
                        &join(&namespaces_field, prefix),
                        "must be a namespace URI, under a non-empty prefix",
                    );
                    None
                }
            })
            .collect(),
        Some(_) => {
            errors.add(
                &namespaces_field,
                "must be an object of prefix: namespace URI",
            );
            Vec::new()
        }
    };
    let (expression, expression_field, then) = match obj.get("matchesXPath") {
        Some(Value::String(expression)) => (expression, field.clone(), None),
        Some(Value::Object(inner)) => {
            let expression_field = join(&field, "expression");
            let Some(Value::String(expression)) = inner.get("expression") else {
                errors.add(&expression_field, "must be an XPath string");
                return None;
            };
            let mut rest = inner.clone();
            rest.remove("expression");
            let then = parse_matcher(&Value::Object(rest), &field, errors)?;
            (expression, expression_field, Some(Box::new(then)))
        }
        _ => {
            errors.add(
                &field,
                "must be an XPath string or {\"expression\": ..., <matcher>}",
            );
            return None;
        }
    };
    match XPathQuery::new(expression, namespaces) {
        Ok(query) => Some(StringMatcher::MatchesXPath {
            query: Arc::new(query),
            then,
        }),
        Err(e) => {
            errors.add(&expression_field, e);
            None
        }
    }
}

/// `{"matchesJsonSchema": <schema or its JSON text>, "schemaVersion": "V7"}`.
pub(super) fn matches_json_schema(
    obj: &Map<String, Value>,
    path: &str,
    errors: &mut Errors,
) -> Option<StringMatcher> {
    let field = join(path, "matchesJsonSchema");
    let version = match text(obj, "schemaVersion", path, errors) {
        None => Some(SCHEMA_VERSIONS[SCHEMA_VERSIONS.len() - 1].1),
        Some(name) => {
            let found = SCHEMA_VERSIONS.iter().find(|(n, _)| *n == name);
            if found.is_none() {
                let names: Vec<&str> = SCHEMA_VERSIONS.iter().map(|(n, _)| *n).collect();
                errors.add(
                    &join(path, "schemaVersion"),
                    format!("must be one of {}", names.join(", ")),
                );
            }
            found.map(|(_, draft)| *draft)
        }
    };
    let schema = match obj.get("matchesJsonSchema") {
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(schema) => schema,
            Err(e) => {
                errors.add(&field, format!("is not JSON: {e}"));
                return None;
            }
        },
        Some(schema @ (Value::Object(_) | Value::Bool(_))) => schema.clone(),
        _ => {
            errors.add(
                &field,
                "must be a JSON Schema (an object or a boolean), or its JSON text",
            );
            return None;
        }
    };
    match JsonSchemaMatcher::new(schema, version?) {
        Ok(matcher) => Some(StringMatcher::MatchesJsonSchema(matcher)),
        Err(e) => {
            errors.add(&field, e);
            None
        }
    }
}
