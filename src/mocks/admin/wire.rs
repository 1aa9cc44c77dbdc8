//! The journal's entries in WireMock's JSON shapes: `LoggedRequest`,
//! `LoggedResponse`, `ServeEvent`.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::mocks::journal::{LoggedRequest, LoggedResponse};
use crate::mocks::template::iso_millis;

/// Headers as WireMock shows them: one value as a string, several as a list.
fn headers_json(headers: &axum::http::HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for name in headers.keys() {
        let values: Vec<Value> = headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let value = match values.as_slice() {
            [one] => one.clone(),
            _ => Value::Array(values),
        };
        out.insert(name.as_str().to_owned(), value);
    }
    out
}

fn body_fields(out: &mut Value, body: &[u8]) {
    out["body"] = Value::String(String::from_utf8_lossy(body).into_owned());
    out["bodyAsBase64"] = Value::String(base64::engine::general_purpose::STANDARD.encode(body));
}

/// What a journaled request was answered, as WireMock's `LoggedResponse`.
pub fn logged_response_json(response: &LoggedResponse) -> Value {
    let mut out = json!({
        "status": response.status,
        "headers": headers_json(&response.headers),
    });
    body_fields(&mut out, &response.body);
    if let Some(fault) = &response.fault {
        out["fault"] = Value::String(fault.clone());
    }
    out
}

/// A journal entry as WireMock's `LoggedRequest`.
pub fn logged_json(entry: &LoggedRequest) -> Value {
    let url = match &entry.query {
        Some(q) => format!("{}?{}", entry.path, q),
        None => entry.path.clone(),
    };
    let host = entry
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let headers = headers_json(&entry.headers);
    let incoming = entry.incoming();
    let mut query = Map::new();
    for (key, value) in incoming.query_pairs() {
        let slot = query
            .entry(key.clone())
            .or_insert_with(|| json!({"key": key, "values": []}));
        if let Some(values) = slot.get_mut("values").and_then(Value::as_array_mut) {
            values.push(Value::String(value.clone()));
        }
    }
    let cookies: Map<String, Value> = incoming
        .cookies()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "url": url,
        "absoluteUrl": format!("http://{host}{url}"),
        "method": entry.method.as_str(),
        "headers": headers,
        "cookies": cookies,
        "queryParams": query,
        "body": String::from_utf8_lossy(&entry.body),
        "bodyAsBase64": base64::engine::general_purpose::STANDARD.encode(&entry.body),
        "bodyTruncated": entry.body_truncated,
        "loggedDate": entry.logged_at_ms,
        "loggedDateString": iso_millis(entry.logged_at_ms),
    })
}

/// A journal entry as WireMock's `ServeEvent` (whose Java model refuses any
/// field it does not know).
pub fn serve_event_json(entry: &LoggedRequest) -> Value {
    let mut out = json!({
        "id": entry.id.to_string(),
        "request": logged_json(entry),
        "wasMatched": entry.stub.is_some(),
    });
    if let Some(response) = entry.response.get() {
        out["response"] = logged_response_json(response);
    }
    if let Some(stub) = &entry.stub {
        let mapping = stub.mapping();
        out["responseDefinition"] = mapping.get("response").cloned().unwrap_or(json!({}));
        out["stubMapping"] = mapping;
    } else {
        out["responseDefinition"] = json!({"status": 404});
    }
    out
}
