//! The original `/endpoints` API's view of the mocks: an endpoint's attributes,
//! checked as the original service checked them, become a stub mapping, and a
//! stub that an endpoint can describe is shown back as one.

use axum::http::{HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

use super::reserved_paths::is_reserved;
use super::stub::Stub;
use crate::http::hop_headers::is_hop_by_hop_or_framing;

/// The methods the original `/endpoints` API accepted.
pub const ENDPOINT_VERBS: [&str; 9] = [
    "GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
];

/// Why an `/endpoints` request was refused, in the original's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInvalid(pub String);

pub const INCOMPLETE_INPUT: &str = "Incomplete input";
pub const INVALID_VERB: &str = "Invalid HTTP verb";
pub const INVALID_CODE: &str = "Invalid response code";
pub const HEADERS_NOT_DICT: &str = "Headers must be a dictionary";

/// Python's truthiness, which the original's "Incomplete input" check used.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Bool(true)) => true,
    }
}

/// Checks `attributes` as the original did (same order, same messages) and
/// turns them into a stub mapping with this id.
pub fn endpoint_mapping(
    id: &str,
    attributes: &Map<String, Value>,
) -> Result<Value, EndpointInvalid> {
    let invalid = |m: &str| Err(EndpointInvalid(m.to_owned()));
    if !truthy(attributes.get("verb"))
        || !truthy(attributes.get("path"))
        || !truthy(attributes.get("response"))
    {
        return invalid(INCOMPLETE_INPUT);
    }
    let verb = match attributes.get("verb").and_then(Value::as_str) {
        Some(v) if ENDPOINT_VERBS.contains(&v) => v,
        _ => return invalid(INVALID_VERB),
    };
    let Some(path) = attributes.get("path").and_then(Value::as_str) else {
        return invalid("Path must be a string");
    };
    let Some(response) = attributes.get("response").and_then(Value::as_object) else {
        return invalid("Response must be a dictionary");
    };
    for key in response.keys() {
        if !["code", "headers", "body"].contains(&key.as_str()) {
            return Err(EndpointInvalid(format!(
                "Unknown response field {key} (expected code, headers, body)"
            )));
        }
    }
    let code = match response.get("code") {
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.as_u64(),
        _ => return invalid(INVALID_CODE),
    };
    // The original took 100 to 599; a 1xx cannot end a request (see the
    // stub parser), so it is an invalid code here too.
    let Some(code) = code.filter(|c| (200..=599).contains(c)) else {
        return invalid(INVALID_CODE);
    };
    let headers = match response.get("headers") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(h)) => h.clone(),
        Some(h) if !truthy(Some(h)) => Map::new(),
        Some(_) => return invalid(HEADERS_NOT_DICT),
    };
    for (name, value) in &headers {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(EndpointInvalid(format!("Header {name} must be a string"))),
        };
        if HeaderName::from_bytes(name.as_bytes()).is_err() || HeaderValue::from_str(&text).is_err()
        {
            return Err(EndpointInvalid(format!("Invalid header {name}")));
        }
        if is_hop_by_hop_or_framing(name) {
            return Err(EndpointInvalid(format!(
                "Header {name} is set by the server, not by a mock"
            )));
        }
    }
    // The original compared against '/' + the request path, so a path without
    // its leading slash never answered; echobase adds it.
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    if is_reserved(&path) {
        return Err(EndpointInvalid(format!(
            "Path {path} is served by echobase itself; choose another path"
        )));
    }
    let mut out = Map::new();
    out.insert("status".into(), json!(code));
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Object(headers));
    }
    match response.get("body") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            out.insert("body".into(), Value::String(s.clone()));
        }
        Some(other) => {
            out.insert("jsonBody".into(), other.clone());
        }
    }
    Ok(json!({
        "id": id,
        "request": {"method": verb, "urlPath": path},
        "response": Value::Object(out),
        "metadata": created_by_endpoints(),
    }))
}

/// The WireMock `metadata` that marks a stub as made through `/endpoints`.
/// The open route sees and changes only stubs carrying it: a stub made
/// through `/__admin` (which needs `mocks:write`, even to read) stays out of
/// its reach, whatever its shape. `/__admin` shows the mark like any metadata.
fn created_by_endpoints() -> Value {
    json!({"echobase": {"createdBy": "/endpoints"}})
}

/// The `/endpoints` view of a stub, when `/endpoints` made it (see
/// [`created_by_endpoints`]) and it is still one an endpoint can describe (a
/// verb, an exact path, a status, headers and a body, nothing else).
pub fn endpoint_view(stub: &Stub) -> Option<Value> {
    let mapping = stub.mapping();
    let mapping = mapping.as_object()?;
    if mapping.get("metadata") != Some(&created_by_endpoints()) {
        return None;
    }
    if mapping.keys().any(|k| {
        ![
            "id",
            "uuid",
            "request",
            "response",
            "persistent",
            "metadata",
        ]
        .contains(&k.as_str())
    }) {
        return None;
    }
    let request = mapping.get("request")?.as_object()?;
    if request.len() != 2 {
        return None;
    }
    let verb = request.get("method")?.as_str()?;
    let path = request.get("urlPath")?.as_str()?;
    if !ENDPOINT_VERBS.contains(&verb) {
        return None;
    }
    let empty = Map::new();
    let response = match mapping.get("response") {
        None => &empty,
        Some(r) => r.as_object()?,
    };
    if response
        .keys()
        .any(|k| !["status", "headers", "body", "jsonBody"].contains(&k.as_str()))
    {
        return None;
    }
    let headers = match response.get("headers") {
        None => Map::new(),
        Some(h) => {
            let h = h.as_object()?;
            if !h.values().all(|v| v.is_string() || v.is_number()) {
                return None;
            }
            h.clone()
        }
    };
    let body = response
        .get("body")
        .or_else(|| response.get("jsonBody"))
        .cloned()
        .unwrap_or_else(|| Value::String(String::new()));
    Some(json!({
        "type": "endpoints",
        "id": stub.id,
        "attributes": {
            "verb": verb,
            "path": path,
            "response": {
                "code": response.get("status").cloned().unwrap_or(json!(200)),
                "headers": headers,
                "body": body,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mocks::parse::stub::parse_stub;

    #[test]
    fn endpoint_round_trips_through_a_stub() {
        let attrs = json!({"verb": "GET", "path": "/x", "response": {"code": 200, "headers": {"A": "b"}, "body": {"k": 1}}});
        let mapping = endpoint_mapping(
            "7f2c1b40-0000-4000-8000-000000000000",
            attrs.as_object().unwrap(),
        )
        .unwrap();
        let stub = parse_stub(&mapping).unwrap();
        let view = endpoint_view(&stub).unwrap();
        assert_eq!(view["attributes"], attrs);
    }

    #[test]
    fn a_stub_of_the_same_shape_not_made_through_endpoints_has_no_view() {
        let mut mapping = endpoint_mapping(
            "7f2c1b40-0000-4000-8000-000000000001",
            json!({"verb": "GET", "path": "/x", "response": {"code": 200}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        mapping.as_object_mut().unwrap().remove("metadata");
        assert_eq!(endpoint_view(&parse_stub(&mapping).unwrap()), None);
    }

    #[test]
    fn endpoint_validation_keeps_the_original_order_and_messages() {
        let check = |v: Value| endpoint_mapping("x", v.as_object().unwrap()).unwrap_err().0;
        assert_eq!(
            check(json!({"verb": "GET", "path": "/x"})),
            INCOMPLETE_INPUT
        );
        assert_eq!(
            check(json!({"verb": "", "path": "/x", "response": {"code": 200}})),
            INCOMPLETE_INPUT
        );
        assert_eq!(
            check(json!({"verb": "FETCH", "path": "/x", "response": {"code": 200}})),
            INVALID_VERB
        );
        assert_eq!(
            check(json!({"verb": "GET", "path": "/x", "response": {"code": "200"}})),
            INVALID_CODE
        );
        assert_eq!(
            check(
                json!({"verb": "GET", "path": "/x", "response": {"code": 200, "headers": ["a"]}})
            ),
            HEADERS_NOT_DICT
        );
    }
}
