//! The stub-mapping parser: WireMock mapping JSON into a [`Stub`], and request
//! patterns into a [`RequestPattern`], every problem reported as an error
//! naming its field.
//!
//! Parsing is strict: a field echobase does not implement is refused with an
//! error naming it (a 422 on the admin API), never silently ignored, because a
//! stub that ignores half its conditions answers requests it should not.
//!
//! [`Stub`]: crate::mocks::stub::Stub
//! [`RequestPattern`]: crate::mocks::matcher::RequestPattern

mod document_matchers;
pub mod global_settings;
pub mod record_spec;
pub mod request;
pub mod response;
pub mod stub;
mod webhook;

use serde_json::{Map, Value};

use crate::http::FieldError;

/// Collects field errors while walking a document.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn unknown_keys(obj: &Map<String, Value>, allowed: &[&str], path: &str, errors: &mut Errors) {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            errors.add(
                &join(path, key),
                format!("`{}` is not supported by echobase", join(path, key)),
            );
        }
    }
}

fn as_object<'v>(
    value: &'v Value,
    path: &str,
    errors: &mut Errors,
) -> Option<&'v Map<String, Value>> {
    let obj = value.as_object();
    if obj.is_none() {
        errors.add(path, "must be a JSON object");
    }
    obj
}

fn string_at(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Errors,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.add(&join(path, key), "must be a string");
            None
        }
    }
}

/// A whole number, written as an integer or as a float with no fraction
/// (`200.0`): WireMock (Jackson) reads both into its integer fields.
fn whole_number(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|n| n.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(n))
            // Exact: a whole f64 up to 2^53 converts without loss.
            .map(|n| n as u64)
    })
}
