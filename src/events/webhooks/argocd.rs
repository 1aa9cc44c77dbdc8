//! An Argo CD sync, as the notifications webhook echobase documents sends it,
//! turned into a `deploy` event. No HTTP, no storage.
//!
//! Argo CD has no webhook payload of its own: the body is whatever the
//! operator's template renders. `docs/events.md` gives the template, whose
//! body is this shape (every value a string, rendered from the Application):
//!
//! ```json
//! {"app": "checkout", "appNamespace": "argocd", "project": "default",
//!  "environment": "production", "phase": "Succeeded",
//!  "revision": "6ba954d…", "startedAt": "2024-05-01T09:58:30Z",
//!  "finishedAt": "2024-05-01T10:00:00Z", "destinationServer": "https://kubernetes.default.svc",
//!  "destinationName": "", "destinationNamespace": "checkout", "initiatedBy": "amy",
//!  "url": "https://argocd.example.com/applications/checkout"}
//! ```
//!
//! `Succeeded` is a successful deploy, `Failed` and `Error` a failed one;
//! `Running` and `Terminating` are not finished and are ignored, as is any
//! phase Argo CD may add later.

use serde_json::Value;

use super::payloads::Mapped;
use crate::events::model::{self, Event, kind};

/// What Go's templates render for a field the Application does not have
/// (`.app.spec.destination.name` when the destination is a server URL): no value.
const NO_VALUE: &str = "<no value>";

/// A string field of the body, trimmed; empty and `<no value>` are absent.
fn field<'v>(payload: &'v Value, name: &str) -> Option<&'v str> {
    payload
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != NO_VALUE)
}

fn required<'v>(payload: &'v Value, name: &str) -> Result<&'v str, String> {
    field(payload, name).ok_or_else(|| format!("the payload has no `{name}`"))
}

fn bounded(value: &str) -> String {
    value.chars().take(model::MAX_TEXT_LEN).collect()
}

/// What a sync's phase means for a deploy; `None` while it is not finished
/// (or for a phase this version does not know).
fn deploy_result(phase: &str) -> Option<&'static str> {
    match phase {
        "Succeeded" => Some("success"),
        "Failed" | "Error" => Some("failure"),
        _ => None,
    }
}

/// The application, qualified by its namespace when the template gives one
/// (Argo CD can manage applications in several namespaces).
fn application(payload: &Value) -> Result<String, String> {
    let app = required(payload, "app")?;
    Ok(match field(payload, "appNamespace") {
        Some(namespace) => format!("{namespace}/{app}"),
        None => app.to_owned(),
    })
}

/// The idempotency key of a delivery: Argo CD sends no delivery id, and
/// retries a failed send with the same body, so the sync it reports (the
/// application, its revision, when the sync finished) and the phase are the key.
pub fn argocd_delivery(payload: &Value) -> Result<String, String> {
    if !payload.is_object() {
        return Err("the payload is not a JSON object".into());
    }
    Ok(format!(
        "{}:{}:{}:{}",
        application(payload)?,
        field(payload, "revision").unwrap_or("-"),
        field(payload, "finishedAt").unwrap_or("-"),
        field(payload, "phase").unwrap_or("-"),
    ))
}

/// The events in one notification.
pub fn argocd_events(payload: &Value) -> Result<Mapped, String> {
    if !payload.is_object() {
        return Err("the payload is not a JSON object".into());
    }
    let app = required(payload, "app")?;
    let phase = required(payload, "phase")?;
    let Some(result) = deploy_result(phase) else {
        return Ok(Mapped::Ignored(format!(
            "sync phase `{phase}` is not a finished sync (Succeeded, Failed or Error)"
        )));
    };
    let finished = required(payload, "finishedAt")?;
    let time_ms = model::parse_timestamp(finished).map_err(|e| format!("`finishedAt`: {e}"))?;
    let revision = field(payload, "revision");
    let mut attributes = serde_json::Map::new();
    let mut keep = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            attributes.insert(name.to_owned(), Value::String(bounded(value)));
        }
    };
    keep("source", Some("argocd"));
    keep("phase", Some(phase));
    keep("project", field(payload, "project"));
    keep("app_namespace", field(payload, "appNamespace"));
    keep("namespace", field(payload, "destinationNamespace"));
    keep(
        "cluster",
        field(payload, "destinationName").or_else(|| field(payload, "destinationServer")),
    );
    keep("started_at", field(payload, "startedAt"));
    keep("url", field(payload, "url"));
    let id = format!(
        "argocd:{}:{}:{time_ms}",
        application(payload)?,
        revision.unwrap_or("-")
    );
    Ok(Mapped::Events(vec![Event {
        id: bounded(&id),
        time_ms,
        kind: kind::DEPLOY.into(),
        actor: field(payload, "initiatedBy").map(bounded),
        service: Some(bounded(app)),
        environment: field(payload, "environment").map(bounded),
        sha: revision.map(bounded),
        result: Some(result.into()),
        attributes,
    }]))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn phases_map_to_results_and_unrendered_fields_are_absent() {
        let sync = |phase: &str| {
            json!({"app": "checkout", "phase": phase, "revision": "6ba954d",
                   "finishedAt": "2024-05-01T10:00:00Z", "environment": "<no value>",
                   "initiatedBy": ""})
        };
        for (phase, result) in [
            ("Succeeded", "success"),
            ("Failed", "failure"),
            ("Error", "failure"),
        ] {
            let Ok(Mapped::Events(events)) = argocd_events(&sync(phase)) else {
                panic!("{phase} is a deploy");
            };
            assert_eq!(events[0].result.as_deref(), Some(result));
            assert_eq!(events[0].environment, None);
            assert_eq!(events[0].actor, None);
        }
        assert!(matches!(
            argocd_events(&sync("Running")),
            Ok(Mapped::Ignored(_))
        ));
        assert!(argocd_events(&json!({"app": "checkout"})).is_err());
    }
}
