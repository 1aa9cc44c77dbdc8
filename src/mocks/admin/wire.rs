//! The journal's entries in WireMock's JSON shapes: `LoggedRequest`,
//! `LoggedResponse`, `ServeEvent`.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::mocks::journal::{LoggedRequest, LoggedResponse};
use crate::mocks::matcher::host_and_port;
use crate::mocks::template::iso_millis;

/// A header name as most clients send it (`x-request-id` -> `X-Request-Id`).
/// HTTP/1 names are case-insensitive and the server keeps them lower-cased,
/// but WireMock shows them as sent and clients look them up that way
/// (`headers["Content-Type"]` in Python).
fn display_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Repeated keys as WireMock's `{"key": {"key": "key", "values": [...]}}`.
fn multi_values<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in pairs {
        let slot = out
            .entry(key.to_owned())
            .or_insert_with(|| json!({"key": key, "values": []}));
        if let Some(values) = slot.get_mut("values").and_then(Value::as_array_mut) {
            values.push(Value::String(value.to_owned()));
        }
    }
    out
}

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
        out.insert(display_name(name.as_str()), value);
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
    let scheme = if entry.origin.https { "https" } else { "http" };
    let authority = entry
        .headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let (host, port) = host_and_port(authority, entry.origin.https);
    let incoming = entry.incoming();
    let query = multi_values(
        incoming
            .query_pairs()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let is_form = entry
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let form_pairs: Vec<(String, String)> = if is_form {
        form_urlencoded::parse(&entry.body).into_owned().collect()
    } else {
        Vec::new()
    };
    let form = multi_values(form_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let cookies: Map<String, Value> = incoming
        .cookies()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut out = json!({
        "url": url,
        "absoluteUrl": format!("{scheme}://{authority}{url}"),
        "method": entry.method.as_str(),
        "browserProxyRequest": false,
        "scheme": scheme,
        "host": host,
        "port": port,
        "protocol": format!("{:?}", entry.origin.version),
        "headers": headers_json(&entry.headers),
        "cookies": cookies,
        "queryParams": query,
        "formParams": form,
        "bodyTruncated": entry.body_truncated,
        "loggedDate": entry.logged_at_ms,
        "loggedDateString": iso_millis(entry.logged_at_ms),
    });
    if let Some(ip) = entry.origin.client_ip {
        out["clientIp"] = Value::String(ip.to_string());
    }
    body_fields(&mut out, &entry.body);
    out
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
    if let Some(answered) = &entry.stub {
        // A stub removed since the request is known by its id only.
        let mapping = answered
            .stub()
            .map_or_else(|| json!({"id": answered.id()}), |stub| stub.mapping());
        out["responseDefinition"] = mapping.get("response").cloned().unwrap_or(json!({}));
        out["stubMapping"] = mapping;
    } else {
        // `fromConfiguredStub` is what WireMock's clients read `wasMatched` from.
        out["responseDefinition"] = json!({"status": 404, "fromConfiguredStub": false});
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_shown_as_clients_send_them() {
        assert_eq!(display_name("x-request-id"), "X-Request-Id");
        assert_eq!(display_name("content-type"), "Content-Type");
        assert_eq!(display_name("host"), "Host");
    }
}
