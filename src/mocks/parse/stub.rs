//! A whole stub mapping: its id, name, priority, scenario, request and response.

use serde_json::Value;

use super::request::request_pattern;
use super::response::{empty_response, response};
use super::webhook::webhooks;
use super::{Errors, as_object, string_at, unknown_keys, whole_number};
use crate::http::FieldError;
use crate::http::hop_headers::is_hop_by_hop_or_framing;
use crate::mocks::matcher::UrlMatcher;
use crate::mocks::reserved_paths::is_reserved;
use crate::mocks::stub::{ScenarioRule, Stub};

/// WireMock's default priority (1 is the highest).
pub const DEFAULT_PRIORITY: i64 = 5;

const STUB_KEYS: [&str; 14] = [
    "id",
    "uuid",
    "name",
    "request",
    "response",
    "priority",
    "scenarioName",
    "requiredScenarioState",
    "newScenarioState",
    "persistent",
    "metadata",
    "insertionIndex",
    "serveEventListeners",
    "postServeActions",
];

/// Parses a stub mapping. The stub's `seq` is 0 until the store gives it one.
pub fn parse_stub(value: &Value) -> Result<Stub, Vec<FieldError>> {
    let mut errors = Errors::default();
    let stub = stub(value, &mut errors);
    match stub {
        Some(stub) if errors.0.is_empty() => Ok(stub),
        _ => Err(errors.0),
    }
}

/// Parses a stub that was stored, or written in a mappings folder, rather
/// than one being created now. Such a stub may set hop-by-hop or framing
/// headers ([`crate::http::hop_headers`]), which creation refuses: stored
/// before echobase refused them, or recorded by a tool that kept them. They
/// are dropped, rather than the whole stub, and their names returned to be
/// reported.
pub fn parse_loaded_stub(value: &Value) -> Result<(Stub, Vec<String>), Vec<FieldError>> {
    let dropped: Vec<String> = value
        .pointer("/response/headers")
        .and_then(Value::as_object)
        .map(|headers| {
            headers
                .keys()
                .filter(|name| is_hop_by_hop_or_framing(name))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if dropped.is_empty() {
        return parse_stub(value).map(|stub| (stub, dropped));
    }
    let mut value = value.clone();
    if let Some(headers) = value
        .pointer_mut("/response/headers")
        .and_then(Value::as_object_mut)
    {
        headers.retain(|name, _| !is_hop_by_hop_or_framing(name));
    }
    parse_stub(&value).map(|stub| (stub, dropped))
}

fn stub(value: &Value, errors: &mut Errors) -> Option<Stub> {
    let obj = as_object(value, "", errors)?;
    unknown_keys(obj, &STUB_KEYS, "", errors);
    let given_id = string_at(obj, "id", "", errors);
    let given_uuid = string_at(obj, "uuid", "", errors);
    // Both given: the id names the stub, but a uuid that is no UUID is
    // still refused (as WireMock refuses it), not ignored.
    if let (Some(_), Some(uuid)) = (&given_id, &given_uuid)
        && uuid::Uuid::parse_str(uuid).is_err()
    {
        errors.add("uuid", format!("`{uuid}` is not a UUID"));
    }
    let id = match (given_id, given_uuid) {
        (Some(id), _) | (None, Some(id)) => match uuid::Uuid::parse_str(&id) {
            Ok(uuid) => uuid.to_string(),
            Err(_) => {
                errors.add("id", format!("`{id}` is not a UUID"));
                return None;
            }
        },
        (None, None) => uuid::Uuid::new_v4().to_string(),
    };
    let name = string_at(obj, "name", "", errors);
    let priority = match obj.get("priority") {
        None | Some(Value::Null) => DEFAULT_PRIORITY,
        Some(v) => match whole_number(v).and_then(|p| i64::try_from(p).ok()) {
            Some(p) if p >= 1 => p,
            _ => {
                errors.add("priority", "must be a whole number, 1 (highest) or more");
                DEFAULT_PRIORITY
            }
        },
    };
    let scenario_name = string_at(obj, "scenarioName", "", errors);
    let required = string_at(obj, "requiredScenarioState", "", errors);
    let new_state = string_at(obj, "newScenarioState", "", errors);
    let scenario = match scenario_name {
        Some(name) => Some(ScenarioRule {
            name,
            required,
            new_state,
        }),
        None => {
            if required.is_some() || new_state.is_some() {
                errors.add(
                    "scenarioName",
                    "is needed with requiredScenarioState or newScenarioState",
                );
            }
            None
        }
    };
    if let Some(v) = obj.get("persistent")
        && !v.is_boolean()
        && !v.is_null()
    {
        errors.add("persistent", "must be true or false");
    }
    let persistent = obj.get("persistent") == Some(&Value::Bool(true));
    let Some(request_value) = obj.get("request") else {
        errors.add("request", "is required");
        return None;
    };
    let request = request_pattern(request_value, "request", errors);
    if let Some(request) = &request {
        check_not_reserved(&request.url, errors);
    }
    let response = match obj.get("response") {
        None | Some(Value::Null) => Some(empty_response()),
        Some(v) => response(v, errors),
    };
    let webhooks = webhooks(obj, errors);
    let mut mapping = value.clone();
    if let Some(m) = mapping.as_object_mut() {
        m.insert("id".into(), Value::String(id.clone()));
        m.insert("uuid".into(), Value::String(id.clone()));
        m.remove("insertionIndex");
    }
    Some(Stub {
        id,
        seq: 0,
        name,
        priority,
        request: request?,
        response: response?,
        scenario,
        mapping_text: mapping.to_string().into_boxed_str(),
        from_file: false,
        persistent,
        webhooks,
    })
}

fn check_not_reserved(url: &UrlMatcher, errors: &mut Errors) {
    let (field, path) = match url {
        UrlMatcher::Url(u) => (
            "request.url",
            u.split('?').next().unwrap_or_default().to_owned(),
        ),
        UrlMatcher::UrlPath(p) => ("request.urlPath", p.clone()),
        UrlMatcher::UrlPathTemplate(t) => (
            "request.urlPathTemplate",
            t.segments
                .iter()
                .map(|s| format!("/{}", s.as_deref().unwrap_or("x")))
                .collect(),
        ),
        _ => return,
    };
    if is_reserved(&path) {
        errors.add(
            field,
            format!("{path} is served by echobase's own routes; a mock there would never answer"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err_fields(v: Value) -> Vec<String> {
        parse_stub(&v)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn unsupported_fields_are_named() {
        let fields = err_fields(json!({
            "request": {"method": "GET", "urlPath": "/a", "customMatcher": {}},
            "response": {"status": 200, "browserProxyUrl": "http://x"},
            "serveEventListeners": [{"name": "log", "parameters": {}}]
        }));
        assert!(
            fields.contains(&"request.customMatcher".to_owned()),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"response.browserProxyUrl".to_owned()),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"serveEventListeners.0.name".to_owned()),
            "{fields:?}"
        );
        let fields = err_fields(json!({
            "request": {"urlPath": "/a", "headers": {"X": {"greaterThanNumber": 5}}}
        }));
        assert_eq!(fields, vec!["request.headers.X.greaterThanNumber"]);
    }

    #[test]
    fn framing_headers_are_refused_on_creation_and_dropped_on_load() {
        let mapping = json!({"request": {"urlPath": "/a"}, "response": {
            "headers": {"Content-Length": "2", "x-fine": "yes", "connection": ["close"]}, "body": "hello"}});
        let mut fields = err_fields(mapping.clone());
        fields.sort();
        assert_eq!(
            fields,
            [
                "response.headers.Content-Length",
                "response.headers.connection"
            ]
        );
        let (stub, mut dropped) = parse_loaded_stub(&mapping).unwrap();
        dropped.sort();
        assert_eq!(dropped, ["Content-Length", "connection"]);
        let names: Vec<&str> = stub
            .response
            .headers
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(names, ["x-fine"]);
        assert_eq!(
            stub.mapping()["response"]["headers"],
            json!({"x-fine": "yes"})
        );
    }

    #[test]
    fn whole_floats_are_read_as_integers_and_a_bad_uuid_beside_an_id_is_refused() {
        let stub = parse_stub(
            &json!({"priority": 3.0, "request": {"urlPath": "/a"}, "response": {
                "status": 201.0, "fixedDelayMilliseconds": 5.0,
                "chunkedDribbleDelay": {"numberOfChunks": 2.0, "totalDuration": 10.0}}}),
        );
        assert!(stub.is_ok(), "{:?}", stub.err());
        assert_eq!(
            err_fields(json!({"priority": 1.5, "request": {"urlPath": "/a"}})),
            vec!["priority"]
        );
        assert_eq!(
            err_fields(
                json!({"id": "00000000-0000-0000-0000-000000000000", "uuid": "AAA",
                "request": {"urlPath": "/a"}})
            ),
            vec!["uuid"]
        );
    }

    #[test]
    fn a_uniform_delay_takes_its_bounds_in_either_order() {
        let stub = parse_stub(&json!({"request": {"urlPath": "/a"}, "response": {
                "delayDistribution": {"type": "uniform", "lower": 50, "upper": 10}}}));
        assert_eq!(
            stub.map(|s| s.response.delay).ok(),
            Some(crate::mocks::stub::Delay::Uniform {
                lower: 10,
                upper: 50
            })
        );
    }

    #[test]
    fn reserved_paths_are_refused() {
        assert_eq!(
            err_fields(json!({"request": {"urlPath": "/metrics"}})),
            vec!["request.urlPath"]
        );
    }
}
