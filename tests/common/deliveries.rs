//! Webhook deliveries in tests: a body sent with the sender's headers, the
//! fixtures it comes from, and the credentials senders present.

use std::path::PathBuf;

use serde_json::Value;

use super::TestApp;

/// POSTs `body` to `path` with `headers`; the status and the JSON answer
/// (`Null` when the answer is not JSON).
pub async fn deliver(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = app.client.post(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .body(body)
        .send()
        .await
        .expect("the delivery is sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A fixture under `tests/data/events/`, parsed.
pub fn fixture(path: &str) -> Value {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/events")
        .join(path);
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", full.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", full.display()))
}

/// `Authorization: Basic` for `user:password`, as a client sends it for a
/// URL with user info.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}
