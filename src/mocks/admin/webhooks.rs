//! What became of the stubs' webhooks (echobase's own: WireMock only logs
//! them). Per process, newest first, at most the last 1,000 attempts.

use std::sync::Arc;

use axum::extract::State;
use serde_json::json;

use super::{Json, TAG, empty};
use crate::mocks::engine::Engine;

/// Every kept webhook attempt, newest first: `{"attempts": [{"stubId",
/// "method", "url", "attempt", "timestampMs", "outcome", "status", "error",
/// "durationMs"}]}`. `outcome` is `sent`, `failed` (no answer or a 5xx;
/// retried), `denied` (outside `mocks.webhook_allowed_networks`), `dropped`
/// (too many pending) or `invalid` (it did not render into a request).
#[utoipa::path(get, path = "/__admin/webhooks", tag = TAG,
    responses((status = 200, description = "`{\"attempts\": [...]}`, newest first", body = serde_json::Value)))]
pub async fn list_webhooks(State(engine): State<Arc<Engine>>) -> Json {
    axum::Json(json!({ "attempts": engine.webhooks.attempts() }))
}

/// Forgets every kept attempt.
#[utoipa::path(delete, path = "/__admin/webhooks", tag = TAG,
    responses((status = 200, description = "Forgotten", body = serde_json::Value)))]
pub async fn clear_webhooks(State(engine): State<Arc<Engine>>) -> Json {
    engine.webhooks.clear();
    empty()
}
