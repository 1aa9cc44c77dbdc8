//! A stub's webhooks: WireMock's `serveEventListeners` entries named
//! `webhook`, and the older `postServeActions` (a list of the same entries,
//! or WireMock 2's `{"webhook": {...}}`). Every text of a webhook (method,
//! URL, header values, body) is a template, as on WireMock, compiled here.

use axum::body::Bytes;
use axum::http::{HeaderName, Method};
use base64::Engine as _;
use serde_json::{Map, Value};

use super::response::{delay_distribution, millis};
use super::{Errors, as_object, join, string_at, unknown_keys};
use crate::mocks::stub::{Delay, Webhook, WebhookBody, WebhookText};
use crate::mocks::template::Template;

/// The parameters WireMock reads; any other key is kept for templates
/// (`{{parameters.x}}`), as WireMock keeps it.
const KNOWN: [&str; 6] = ["method", "url", "headers", "body", "base64Body", "delay"];

/// `serveEventListeners` and `postServeActions` of a stub.
pub(super) fn webhooks(stub: &Map<String, Value>, errors: &mut Errors) -> Vec<Webhook> {
    let mut out = Vec::new();
    for key in ["serveEventListeners", "postServeActions"] {
        match stub.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(listeners)) => {
                for (i, listener) in listeners.iter().enumerate() {
                    let field = format!("{key}.{i}");
                    if let Some(webhook) = listener_entry(listener, &field, errors) {
                        out.push(webhook);
                    }
                }
            }
            // WireMock 2: `{"webhook": {...parameters}}`.
            Some(Value::Object(actions)) if key == "postServeActions" => {
                for (name, parameters) in actions {
                    let field = join(key, name);
                    if name == "webhook" {
                        out.extend(webhook(parameters, &field, errors));
                    } else {
                        errors.add(&field, not_a_webhook(name));
                    }
                }
            }
            Some(_) => errors.add(
                key,
                "must be a list of {\"name\": \"webhook\", \"parameters\": {...}}",
            ),
        }
    }
    out
}

fn not_a_webhook(name: &str) -> String {
    format!("`{name}` is not supported by echobase: the one serve event listener is `webhook`")
}

/// `{"name": "webhook", "parameters": {...}}`.
fn listener_entry(value: &Value, field: &str, errors: &mut Errors) -> Option<Webhook> {
    let entry = as_object(value, field, errors)?;
    unknown_keys(
        entry,
        &["name", "parameters", "requestPhases"],
        field,
        errors,
    );
    match string_at(entry, "name", field, errors).as_deref() {
        Some("webhook") => {}
        Some(other) => {
            errors.add(&join(field, "name"), not_a_webhook(other));
            return None;
        }
        None => {
            errors.add(&join(field, "name"), "is required (\"webhook\")");
            return None;
        }
    }
    if let Some(phases) = entry.get("requestPhases").filter(|v| !v.is_null())
        && !phases
            .as_array()
            .is_some_and(|p| p.iter().all(|phase| phase == "AFTER_COMPLETE"))
    {
        errors.add(
            &join(field, "requestPhases"),
            "a webhook is sent after the response (AFTER_COMPLETE); no other phase is supported",
        );
    }
    match entry.get("parameters") {
        Some(parameters) => webhook(parameters, &join(field, "parameters"), errors),
        None => {
            errors.add(&join(field, "parameters"), "is required (at least a url)");
            None
        }
    }
}

/// A template of the webhook, or the error naming its field.
fn compile(text: &str, field: &str, key: &str, errors: &mut Errors) -> Option<Template> {
    match Template::parse(text) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.add(&join(field, key), e);
            None
        }
    }
}

fn webhook(value: &Value, field: &str, errors: &mut Errors) -> Option<Webhook> {
    let params = as_object(value, field, errors)?;
    let method = match params.get("method") {
        None | Some(Value::Null) => Some(WebhookText::Fixed("GET".to_owned())),
        Some(Value::String(text)) if text.contains("{{") => {
            compile(text, field, "method", errors).map(WebhookText::Template)
        }
        Some(Value::String(text)) => match Method::from_bytes(text.to_ascii_uppercase().as_bytes())
        {
            Ok(m) => Some(WebhookText::Fixed(m.to_string())),
            Err(_) => {
                errors.add(
                    &join(field, "method"),
                    format!("`{text}` is not an HTTP method"),
                );
                None
            }
        },
        Some(_) => {
            errors.add(&join(field, "method"), "must be a string");
            None
        }
    };
    let url = match params.get("url") {
        Some(Value::String(url)) => compile(url, field, "url", errors),
        _ => {
            errors.add(
                &join(field, "url"),
                "is required: the URL to send to (a template)",
            );
            None
        }
    };
    let headers = webhook_headers(params.get("headers"), &join(field, "headers"), errors);
    let text = params.get("body").filter(|v| !v.is_null());
    let base64 = params.get("base64Body").filter(|v| !v.is_null());
    let body = match (text, base64) {
        (Some(_), Some(_)) => {
            errors.add(field, "give body or base64Body, not both");
            None
        }
        (Some(Value::String(text)), None) => {
            compile(text, field, "body", errors).map(WebhookBody::Template)
        }
        (Some(_), None) => {
            errors.add(&join(field, "body"), "must be a string");
            None
        }
        (None, Some(encoded)) => match encoded
            .as_str()
            .map(|b| base64::engine::general_purpose::STANDARD.decode(b))
        {
            Some(Ok(bytes)) => Some(WebhookBody::Fixed(Bytes::from(bytes))),
            _ => {
                errors.add(&join(field, "base64Body"), "must be a base64 string");
                None
            }
        },
        (None, None) => None,
    };
    let delay = match params.get("delay") {
        None | Some(Value::Null) => Delay::None,
        Some(v) => webhook_delay(v, &join(field, "delay"), errors).unwrap_or(Delay::None),
    };
    let extra: Map<String, Value> = params
        .iter()
        .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(Webhook {
        method: method?,
        url: url?,
        headers,
        body,
        delay,
        parameters: Value::Object(extra),
    })
}

fn webhook_headers(
    value: Option<&Value>,
    field: &str,
    errors: &mut Errors,
) -> Vec<(HeaderName, Template)> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(headers) = as_object(value, field, errors) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, values) in headers {
        let at = join(field, name);
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            errors.add(&at, "is not a valid header name");
            continue;
        };
        let texts: Vec<&str> = match values {
            Value::String(s) => vec![s.as_str()],
            Value::Array(list) if list.iter().all(Value::is_string) => {
                list.iter().filter_map(Value::as_str).collect()
            }
            _ => {
                errors.add(&at, "must be a string or a list of strings");
                continue;
            }
        };
        for text in texts {
            match Template::parse(text) {
                Ok(t) => out.push((header.clone(), t)),
                Err(e) => errors.add(&at, e),
            }
        }
    }
    out
}

/// A webhook's `delay`: WireMock's `{"type": "fixed", "milliseconds": n}`,
/// or a uniform or lognormal distribution as a response's.
fn webhook_delay(value: &Value, field: &str, errors: &mut Errors) -> Option<Delay> {
    if value.get("type").and_then(Value::as_str) != Some("fixed") {
        return delay_distribution(value, field, errors);
    }
    let d = as_object(value, field, errors)?;
    unknown_keys(d, &["type", "milliseconds"], field, errors);
    match d.get("milliseconds") {
        Some(ms) => millis(ms, &join(field, "milliseconds"), errors).map(Delay::Fixed),
        None => {
            errors.add(
                &join(field, "milliseconds"),
                "is required for a fixed delay",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(stub: Value) -> (Vec<Webhook>, Vec<String>) {
        let mut errors = Errors::default();
        let hooks = webhooks(stub.as_object().unwrap(), &mut errors);
        (hooks, errors.0.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn both_forms_and_wiremock_2s_are_read() {
        let params = json!({"method": "post", "url": "http://127.0.0.1:9/cb",
            "headers": {"X-One": "1", "X-Many": ["a", "b"]}, "body": "{{originalRequest.path}}",
            "delay": {"type": "fixed", "milliseconds": 20}, "extraThing": 7});
        let (hooks, errors) = parse(json!({
            "serveEventListeners": [{"name": "webhook", "parameters": params}],
            "postServeActions": {"webhook": {"url": "http://127.0.0.1:9/two"}},
        }));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(hooks.len(), 2);
        assert!(matches!(&hooks[0].method, WebhookText::Fixed(m) if m == "POST"));
        assert_eq!(hooks[0].headers.len(), 3);
        assert_eq!(hooks[0].delay, Delay::Fixed(20));
        assert_eq!(hooks[0].parameters, json!({"extraThing": 7}));
        assert!(matches!(&hooks[1].method, WebhookText::Fixed(m) if m == "GET"));
        let (hooks, errors) = parse(json!({
            "postServeActions": [{"name": "webhook", "parameters": {"url": "http://x/",
                "base64Body": "aGk=", "delay": {"type": "uniform", "lower": 1, "upper": 5}}}],
        }));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(&hooks[0].body, Some(WebhookBody::Fixed(b)) if b.as_ref() == b"hi"));
    }

    #[test]
    fn what_cannot_be_sent_is_refused_naming_the_field() {
        let cases = [
            (
                json!({"serveEventListeners": [{"name": "other", "parameters": {}}]}),
                "serveEventListeners.0.name",
            ),
            (
                json!({"serveEventListeners": [{"name": "webhook", "parameters": {}}]}),
                "serveEventListeners.0.parameters.url",
            ),
            (
                json!({"serveEventListeners": [{"name": "webhook"}]}),
                "serveEventListeners.0.parameters",
            ),
            (
                json!({"serveEventListeners": [{"name": "webhook", "parameters": {"url": "{{#if}}"}}]}),
                "serveEventListeners.0.parameters.url",
            ),
            (
                json!({"serveEventListeners": [{"name": "webhook", "parameters": {"url": "u", "method": "NOT A METHOD"}}]}),
                "serveEventListeners.0.parameters.method",
            ),
            (
                json!({"serveEventListeners": [{"name": "webhook", "parameters": {"url": "u", "base64Body": "%%"}}]}),
                "serveEventListeners.0.parameters.base64Body",
            ),
            (
                json!({"serveEventListeners": [{"name": "webhook", "parameters": {"url": "u", "delay": {"type": "fixed"}}}]}),
                "serveEventListeners.0.parameters.delay.milliseconds",
            ),
            (
                json!({"serveEventListeners": [{"name": "webhook", "parameters": {"url": "u", "headers": {"bad name": "x"}}}]}),
                "serveEventListeners.0.parameters.headers.bad name",
            ),
            (
                json!({"serveEventListeners": [{"name": "webhook", "requestPhases": ["BEFORE_MATCH"], "parameters": {"url": "u"}}]}),
                "serveEventListeners.0.requestPhases",
            ),
            (
                json!({"postServeActions": {"other": {}}}),
                "postServeActions.other",
            ),
            (json!({"serveEventListeners": {}}), "serveEventListeners"),
        ];
        for (stub, field) in cases {
            let (_, errors) = parse(stub.clone());
            assert_eq!(errors, [field], "{stub}");
        }
    }
}
