//! Stubs: the WireMock stub-mapping JSON, parsed once into a form the matcher
//! and the responder use, and the compatible `/endpoints` view of the same stub.
//!
//! Parsing is strict: a field echobase does not implement is refused with an
//! error naming it (a 422 on the admin API), never silently ignored, because a
//! stub that ignores half its conditions answers requests it should not.

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use base64::Engine as _;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::files::FilesRoot;
use super::jsonpath::JsonPath;
use super::matcher::{PathTemplate, RequestPattern, StringMatcher, UrlMatcher};
use super::template::Template;
use crate::http::FieldError;
use crate::http::connection::ConnectionFault;

/// WireMock's default priority (1 is the highest).
pub const DEFAULT_PRIORITY: i64 = 5;
/// The state every scenario starts in.
pub const STARTED: &str = "Started";
/// The methods the original `/endpoints` API accepted.
pub const ENDPOINT_VERBS: [&str; 9] = [
    "GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
];
/// Longest fixed or random delay a stub may ask for (the request timeout
/// usually cuts it shorter).
const MAX_DELAY_MS: u64 = 10 * 60 * 1000;

/// Paths served by echobase's own routes: a mock there would never answer,
/// so creating one is refused. Each entry covers itself and everything below it.
const RESERVED_PREFIXES: [&str; 13] = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/v1",
    "/messages",
    "/endpoints",
    "/__admin",
    "/echo",
    "/resources",
    "/listevents",
    "/summaryevents",
];

/// Whether `path` belongs to a built-in route.
pub fn is_reserved(path: &str) -> bool {
    path == "/"
        || RESERVED_PREFIXES.iter().any(|prefix| {
            path == *prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
        })
}

/// A stub, ready to match and to answer.
#[derive(Debug)]
pub struct Stub {
    pub id: String,
    /// Creation order: among equal priorities the newest (highest) wins.
    /// Stubs loaded from a mappings folder have negative numbers: older than any stored one.
    pub seq: i64,
    pub name: Option<String>,
    pub priority: i64,
    pub request: RequestPattern,
    pub response: ResponseDef,
    pub scenario: Option<ScenarioRule>,
    /// The mapping as the admin API shows it (with `id` and `uuid`), as JSON
    /// text: a parsed `Value` costs kilobytes per stub, which at 10,000 stubs
    /// is most of the process's memory; it is parsed again when shown.
    pub mapping_text: Box<str>,
    /// Loaded from the mappings folder rather than the store.
    pub from_file: bool,
}

impl Stub {
    pub fn with_seq(self, seq: i64) -> Stub {
        Stub { seq, ..self }
    }

    /// The mapping as the admin API shows it.
    pub fn mapping(&self) -> Value {
        serde_json::from_str(&self.mapping_text).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone)]
pub struct ScenarioRule {
    pub name: String,
    pub required: Option<String>,
    pub new_state: Option<String>,
}

#[derive(Debug)]
pub struct ResponseDef {
    pub status: StatusCode,
    pub reason: Option<String>,
    pub headers: Vec<(HeaderName, HeaderText)>,
    pub body: BodyDef,
    /// Sent as `content-type` when the stub's headers do not set one.
    pub default_content_type: Option<&'static str>,
    pub delay: Delay,
    pub dribble: Option<Dribble>,
    /// Sent instead of the response; the connection layer does it.
    pub fault: Option<ConnectionFault>,
}

#[derive(Debug)]
pub enum HeaderText {
    Fixed(HeaderValue),
    Template(Template),
}

#[derive(Debug)]
pub enum BodyDef {
    Empty,
    Fixed(Bytes),
    Template(Template),
    /// Read from the files folder when served.
    File {
        name: String,
        template: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delay {
    None,
    Fixed(u64),
    Uniform {
        lower: u64,
        upper: u64,
    },
    LogNormal {
        median: f64,
        sigma: f64,
        max: Option<f64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dribble {
    pub chunks: u32,
    pub total_ms: u64,
}

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

fn anchored_regex(pattern: &str, field: &str, errors: &mut Errors) -> Option<Regex> {
    match regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
    {
        Ok(re) => Some(re),
        Err(e) => {
            errors.add(field, format!("not a valid regular expression: {e}"));
            None
        }
    }
}

const MATCHER_OPS: [&str; 10] = [
    "equalTo",
    "contains",
    "doesNotContain",
    "matches",
    "doesNotMatch",
    "absent",
    "equalToJson",
    "matchesJsonPath",
    "and",
    "or",
];
const MATCHER_MODIFIERS: [&str; 3] = ["caseInsensitive", "ignoreArrayOrder", "ignoreExtraElements"];

fn parse_matcher(value: &Value, path: &str, errors: &mut Errors) -> Option<StringMatcher> {
    let Some(obj) = value.as_object() else {
        errors.add(
            path,
            "must be a matcher object such as {\"equalTo\": \"x\"}",
        );
        return None;
    };
    for key in obj.keys() {
        if !MATCHER_OPS.contains(&key.as_str()) && !MATCHER_MODIFIERS.contains(&key.as_str()) {
            errors.add(
                &join(path, key),
                format!(
                    "matcher `{key}` is not supported by echobase (supported: {})",
                    MATCHER_OPS.join(", ")
                ),
            );
        }
    }
    let ops: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| MATCHER_OPS.contains(k))
        .collect();
    let [op] = ops.as_slice() else {
        if !obj
            .keys()
            .any(|k| !MATCHER_OPS.contains(&k.as_str()) && !MATCHER_MODIFIERS.contains(&k.as_str()))
        {
            errors.add(
                path,
                format!("needs exactly one of {}", MATCHER_OPS.join(", ")),
            );
        }
        return None;
    };
    let op = *op;
    let flag = |key: &str, errors: &mut Errors| -> bool {
        match obj.get(key) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errors.add(&join(path, key), "must be true or false");
                false
            }
        }
    };
    let case_insensitive = flag("caseInsensitive", errors);
    let ignore_array_order = flag("ignoreArrayOrder", errors);
    let ignore_extra_elements = flag("ignoreExtraElements", errors);
    if case_insensitive && op != "equalTo" {
        errors.add(&join(path, "caseInsensitive"), "only applies to equalTo");
    }
    if (ignore_array_order || ignore_extra_elements) && op != "equalToJson" {
        errors.add(
            path,
            "ignoreArrayOrder and ignoreExtraElements only apply to equalToJson",
        );
    }
    let field = join(path, op);
    let operand = &obj[op];
    let text = |errors: &mut Errors| -> Option<String> {
        match operand {
            Value::String(s) => Some(s.clone()),
            _ => {
                errors.add(&field, "must be a string");
                None
            }
        }
    };
    Some(match op {
        "equalTo" => StringMatcher::EqualTo {
            value: text(errors)?,
            case_insensitive,
        },
        "contains" => StringMatcher::Contains(text(errors)?),
        "doesNotContain" => StringMatcher::DoesNotContain(text(errors)?),
        "matches" => StringMatcher::Matches(anchored_regex(&text(errors)?, &field, errors)?),
        "doesNotMatch" => {
            StringMatcher::DoesNotMatch(anchored_regex(&text(errors)?, &field, errors)?)
        }
        "absent" => match operand {
            Value::Bool(true) => StringMatcher::Absent,
            Value::Bool(false) => StringMatcher::Present,
            _ => {
                errors.add(&field, "must be true or false");
                return None;
            }
        },
        "equalToJson" => {
            let value = match operand {
                Value::String(s) => match serde_json::from_str(s) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.add(&field, format!("is not JSON: {e}"));
                        return None;
                    }
                },
                other => other.clone(),
            };
            StringMatcher::EqualToJson {
                value,
                ignore_array_order,
                ignore_extra_elements,
            }
        }
        "matchesJsonPath" => match operand {
            Value::String(expr) => StringMatcher::MatchesJsonPath {
                path: JsonPath::parse(expr)
                    .map_err(|e| errors.add(&field, e))
                    .ok()?,
                then: None,
            },
            Value::Object(inner) => {
                let Some(Value::String(expr)) = inner.get("expression") else {
                    errors.add(&join(&field, "expression"), "must be a JSONPath string");
                    return None;
                };
                let path = JsonPath::parse(expr)
                    .map_err(|e| errors.add(&join(&field, "expression"), e))
                    .ok()?;
                let mut rest = inner.clone();
                rest.remove("expression");
                let then = parse_matcher(&Value::Object(rest), &field, errors)?;
                StringMatcher::MatchesJsonPath {
                    path,
                    then: Some(Box::new(then)),
                }
            }
            _ => {
                errors.add(
                    &field,
                    "must be a JSONPath string or {\"expression\": ..., <matcher>}",
                );
                return None;
            }
        },
        "and" | "or" => {
            let Value::Array(items) = operand else {
                errors.add(&field, "must be an array of matchers");
                return None;
            };
            let parsed: Vec<StringMatcher> = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| parse_matcher(item, &format!("{field}.{i}"), errors))
                .collect();
            if parsed.len() != items.len() {
                return None;
            }
            if op == "and" {
                StringMatcher::And(parsed)
            } else {
                StringMatcher::Or(parsed)
            }
        }
        _ => return None,
    })
}

fn parse_named_matchers(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    lower_case_names: bool,
    errors: &mut Errors,
) -> Vec<(String, StringMatcher)> {
    let Some(value) = obj.get(key) else {
        return Vec::new();
    };
    let field = join(path, key);
    let Some(map) = as_object(value, &field, errors) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, m)| {
            let matcher = parse_matcher(m, &join(&field, name), errors)?;
            let name = if lower_case_names {
                name.to_ascii_lowercase()
            } else {
                name.clone()
            };
            Some((name, matcher))
        })
        .collect()
}

const URL_KEYS: [&str; 5] = [
    "url",
    "urlPath",
    "urlPattern",
    "urlPathPattern",
    "urlPathTemplate",
];
const REQUEST_KEYS: [&str; 11] = [
    "method",
    "url",
    "urlPath",
    "urlPattern",
    "urlPathPattern",
    "urlPathTemplate",
    "pathParameters",
    "queryParameters",
    "headers",
    "cookies",
    "bodyPatterns",
];

/// Parses a request pattern (a stub's `request`, or the body of
/// `requests/count` and `requests/find`).
pub fn parse_request_pattern(value: &Value, path: &str) -> Result<RequestPattern, Vec<FieldError>> {
    let mut errors = Errors::default();
    let pattern = request_pattern(value, path, &mut errors);
    match pattern {
        Some(p) if errors.0.is_empty() => Ok(p),
        _ => Err(errors.0),
    }
}

fn request_pattern(value: &Value, path: &str, errors: &mut Errors) -> Option<RequestPattern> {
    let obj = as_object(value, path, errors)?;
    unknown_keys(obj, &REQUEST_KEYS, path, errors);
    let method = match obj.get("method") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if m == "ANY" => None,
        Some(Value::String(m)) => match Method::from_bytes(m.as_bytes()) {
            Ok(method) => Some(method),
            Err(_) => {
                errors.add(
                    &join(path, "method"),
                    format!("`{m}` is not an HTTP method"),
                );
                None
            }
        },
        Some(_) => {
            errors.add(&join(path, "method"), "must be a string such as GET or ANY");
            None
        }
    };
    let given: Vec<&str> = URL_KEYS
        .iter()
        .copied()
        .filter(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    if given.len() > 1 {
        errors.add(
            path,
            format!(
                "give only one of {} (got {})",
                URL_KEYS.join(", "),
                given.join(", ")
            ),
        );
    }
    let url = match given.first().copied() {
        None => UrlMatcher::Any,
        Some(key) => {
            let field = join(path, key);
            let text = string_at(obj, key, path, errors)?;
            match key {
                "url" | "urlPath" if !text.starts_with('/') => {
                    errors.add(&field, "must start with /");
                    return None;
                }
                "url" => UrlMatcher::Url(text),
                "urlPath" => UrlMatcher::UrlPath(text),
                "urlPattern" => UrlMatcher::UrlPattern(anchored_regex(&text, &field, errors)?),
                "urlPathPattern" => {
                    UrlMatcher::UrlPathPattern(anchored_regex(&text, &field, errors)?)
                }
                _ => match PathTemplate::parse(&text) {
                    Ok(t) => UrlMatcher::UrlPathTemplate(t),
                    Err(e) => {
                        errors.add(&field, e);
                        return None;
                    }
                },
            }
        }
    };
    let path_params = parse_named_matchers(obj, "pathParameters", path, false, errors);
    match &url {
        UrlMatcher::UrlPathTemplate(t) => {
            for (name, _) in &path_params {
                if !t.names.contains(name) {
                    errors.add(
                        &join(&join(path, "pathParameters"), name),
                        format!("`{name}` is not a parameter of the urlPathTemplate"),
                    );
                }
            }
        }
        _ if !path_params.is_empty() => {
            errors.add(&join(path, "pathParameters"), "needs a urlPathTemplate");
        }
        _ => {}
    }
    let query = parse_named_matchers(obj, "queryParameters", path, false, errors);
    let headers = parse_named_matchers(obj, "headers", path, true, errors);
    let cookies = parse_named_matchers(obj, "cookies", path, false, errors);
    let body = match obj.get("bodyPatterns") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                parse_matcher(m, &format!("{}.{i}", join(path, "bodyPatterns")), errors)
            })
            .collect(),
        Some(_) => {
            errors.add(&join(path, "bodyPatterns"), "must be an array of matchers");
            Vec::new()
        }
    };
    Some(RequestPattern {
        method,
        url,
        path_params,
        query,
        headers,
        cookies,
        body,
    })
}

const STUB_KEYS: [&str; 12] = [
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
];
const RESPONSE_KEYS: [&str; 13] = [
    "status",
    "statusMessage",
    "headers",
    "body",
    "jsonBody",
    "base64Body",
    "bodyFileName",
    "fixedDelayMilliseconds",
    "delayDistribution",
    "chunkedDribbleDelay",
    "fault",
    "transformers",
    "transformerParameters",
];

/// Parses a stub mapping. `files` is the folder `bodyFileName` reads from, if any.
/// The stub's `seq` is 0 until the store gives it one.
pub fn parse_stub(value: &Value, files: Option<&FilesRoot>) -> Result<Stub, Vec<FieldError>> {
    let mut errors = Errors::default();
    let stub = stub(value, files, &mut errors);
    match stub {
        Some(stub) if errors.0.is_empty() => Ok(stub),
        _ => Err(errors.0),
    }
}

fn stub(value: &Value, files: Option<&FilesRoot>, errors: &mut Errors) -> Option<Stub> {
    let obj = as_object(value, "", errors)?;
    unknown_keys(obj, &STUB_KEYS, "", errors);
    let id = match (
        string_at(obj, "id", "", errors),
        string_at(obj, "uuid", "", errors),
    ) {
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
        Some(v) => match v.as_i64() {
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
        errors.add(
            "persistent",
            "must be true or false (every stub is persisted anyway)",
        );
    }
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
        Some(v) => response(v, files, errors),
    };
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

fn empty_response() -> ResponseDef {
    ResponseDef {
        status: StatusCode::OK,
        reason: None,
        headers: Vec::new(),
        body: BodyDef::Empty,
        default_content_type: None,
        delay: Delay::None,
        dribble: None,
        fault: None,
    }
}

fn number(value: &Value, field: &str, errors: &mut Errors) -> Option<f64> {
    match value.as_f64() {
        Some(n) if n >= 0.0 && n.is_finite() => Some(n),
        _ => {
            errors.add(field, "must be a number, 0 or more");
            None
        }
    }
}

fn millis(value: &Value, field: &str, errors: &mut Errors) -> Option<u64> {
    match value.as_u64() {
        Some(ms) if ms <= MAX_DELAY_MS => Some(ms),
        _ => {
            errors.add(
                field,
                format!("must be whole milliseconds, 0 to {MAX_DELAY_MS}"),
            );
            None
        }
    }
}

fn response(value: &Value, files: Option<&FilesRoot>, errors: &mut Errors) -> Option<ResponseDef> {
    let obj = as_object(value, "response", errors)?;
    unknown_keys(obj, &RESPONSE_KEYS, "response", errors);
    let mut def = empty_response();
    if let Some(status) = obj.get("status") {
        match status
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
        {
            Some(code) if (100..=599).contains(&code.as_u16()) => def.status = code,
            _ => errors.add("response.status", "must be an HTTP status code, 100 to 599"),
        }
    }
    def.reason = string_at(obj, "statusMessage", "response", errors);
    let templated = match obj.get("transformers") {
        None | Some(Value::Null) => false,
        Some(Value::Array(items)) => {
            for (i, t) in items.iter().enumerate() {
                if t.as_str() != Some("response-template") {
                    errors.add(
                        &format!("response.transformers.{i}"),
                        format!("transformer {t} is not supported (only \"response-template\")"),
                    );
                }
            }
            !items.is_empty()
        }
        Some(_) => {
            errors.add(
                "response.transformers",
                "must be an array such as [\"response-template\"]",
            );
            false
        }
    };
    if let Some(params) = obj.get("transformerParameters")
        && !params.as_object().is_some_and(Map::is_empty)
        && !params.is_null()
    {
        errors.add(
            "response.transformerParameters",
            "transformer parameters are not supported",
        );
    }
    if let Some(headers) = obj.get("headers").filter(|h| !h.is_null())
        && let Some(map) = as_object(headers, "response.headers", errors)
    {
        for (name, value) in map {
            let field = format!("response.headers.{name}");
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                errors.add(&field, format!("`{name}` is not a valid header name"));
                continue;
            };
            let values: Vec<String> = match value {
                Value::String(s) => vec![s.clone()],
                Value::Number(n) => vec![n.to_string()],
                Value::Bool(b) => vec![b.to_string()],
                Value::Array(items) if items.iter().all(Value::is_string) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => {
                    errors.add(&field, "must be a string or an array of strings");
                    continue;
                }
            };
            for text in values {
                let parsed = if templated && text.contains("{{") {
                    Template::parse(&text).map(HeaderText::Template)
                } else {
                    HeaderValue::from_str(&text)
                        .map(HeaderText::Fixed)
                        .map_err(|_| format!("`{text}` is not a valid header value"))
                };
                match parsed {
                    Ok(h) => def.headers.push((header.clone(), h)),
                    Err(e) => errors.add(&field, e),
                }
            }
        }
    }
    let bodies: Vec<&str> = ["body", "jsonBody", "base64Body", "bodyFileName"]
        .into_iter()
        .filter(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    if bodies.len() > 1 {
        errors.add(
            "response",
            format!(
                "give only one of body, jsonBody, base64Body, bodyFileName (got {})",
                bodies.join(", ")
            ),
        );
    }
    let text_body = |text: String, errors: &mut Errors| -> BodyDef {
        if templated {
            match Template::parse(&text) {
                Ok(t) => BodyDef::Template(t),
                Err(e) => {
                    errors.add("response.body", e);
                    BodyDef::Empty
                }
            }
        } else {
            BodyDef::Fixed(Bytes::from(text))
        }
    };
    match bodies.first().copied() {
        Some("body") => match &obj["body"] {
            Value::String(s) => def.body = text_body(s.clone(), errors),
            _ => errors.add("response.body", "must be a string (use jsonBody for JSON)"),
        },
        Some("jsonBody") => {
            def.body = text_body(obj["jsonBody"].to_string(), errors);
            def.default_content_type = Some("application/json");
        }
        Some("base64Body") => match obj["base64Body"].as_str().map(|s| base64::engine::general_purpose::STANDARD.decode(s)) {
            Some(Ok(bytes)) => def.body = BodyDef::Fixed(Bytes::from(bytes)),
            _ => errors.add("response.base64Body", "must be a base64 string"),
        },
        Some(_) => match (obj["bodyFileName"].as_str(), files) {
            (None, _) => errors.add("response.bodyFileName", "must be a string"),
            (Some(_), None) => errors.add(
                "response.bodyFileName",
                "needs a files folder: start echobase with --mappings DIR (DIR/__files) or set mocks.mappings_dir",
            ),
            (Some(name), Some(root)) => match root.check(name) {
                Ok(()) => {
                    def.body = BodyDef::File {
                        name: name.to_owned(),
                        template: templated,
                    }
                }
                Err(e) => errors.add("response.bodyFileName", e),
            },
        },
        None => {}
    }
    if let Some(v) = obj.get("fixedDelayMilliseconds").filter(|v| !v.is_null()) {
        def.delay =
            millis(v, "response.fixedDelayMilliseconds", errors).map_or(Delay::None, Delay::Fixed);
    }
    if let Some(v) = obj.get("delayDistribution").filter(|v| !v.is_null())
        && let Some(d) = as_object(v, "response.delayDistribution", errors)
    {
        let field = "response.delayDistribution";
        match d.get("type").and_then(Value::as_str) {
            Some("uniform") => {
                unknown_keys(d, &["type", "lower", "upper"], field, errors);
                let lower = d
                    .get("lower")
                    .and_then(|v| millis(v, &join(field, "lower"), errors));
                let upper = d
                    .get("upper")
                    .and_then(|v| millis(v, &join(field, "upper"), errors));
                match (lower, upper) {
                    (Some(lower), Some(upper)) if lower <= upper => {
                        def.delay = Delay::Uniform { lower, upper }
                    }
                    _ => errors.add(field, "uniform needs lower <= upper, in milliseconds"),
                }
            }
            Some("lognormal") => {
                unknown_keys(d, &["type", "median", "sigma", "maxValue"], field, errors);
                let median = d
                    .get("median")
                    .and_then(|v| number(v, &join(field, "median"), errors));
                let sigma = d
                    .get("sigma")
                    .and_then(|v| number(v, &join(field, "sigma"), errors));
                let max = d
                    .get("maxValue")
                    .and_then(|v| number(v, &join(field, "maxValue"), errors));
                match (median, sigma) {
                    (Some(median), Some(sigma)) if median <= MAX_DELAY_MS as f64 => {
                        def.delay = Delay::LogNormal { median, sigma, max }
                    }
                    _ => errors.add(field, "lognormal needs median (ms) and sigma"),
                }
            }
            _ => errors.add(&join(field, "type"), "must be \"uniform\" or \"lognormal\""),
        }
    }
    if let Some(v) = obj.get("chunkedDribbleDelay").filter(|v| !v.is_null())
        && let Some(d) = as_object(v, "response.chunkedDribbleDelay", errors)
    {
        let field = "response.chunkedDribbleDelay";
        unknown_keys(d, &["numberOfChunks", "totalDuration"], field, errors);
        let chunks = d
            .get("numberOfChunks")
            .and_then(Value::as_u64)
            .filter(|n| (1..=10_000).contains(n));
        let total = d
            .get("totalDuration")
            .and_then(|v| millis(v, &join(field, "totalDuration"), errors));
        match (chunks, total) {
            (Some(chunks), Some(total_ms)) => {
                def.dribble = Some(Dribble {
                    chunks: u32::try_from(chunks).unwrap_or(1),
                    total_ms,
                })
            }
            _ => errors.add(
                field,
                "needs numberOfChunks (1 to 10000) and totalDuration (ms)",
            ),
        }
    }
    if let Some(v) = obj.get("fault").filter(|v| !v.is_null()) {
        def.fault = match v.as_str() {
            Some("CONNECTION_RESET_BY_PEER") => Some(ConnectionFault::Reset),
            Some("EMPTY_RESPONSE") => Some(ConnectionFault::Empty),
            Some("MALFORMED_RESPONSE_CHUNK") => Some(ConnectionFault::MalformedChunk),
            Some("RANDOM_DATA_THEN_CLOSE") => Some(ConnectionFault::RandomData),
            _ => {
                errors.add(
                    "response.fault",
                    "must be CONNECTION_RESET_BY_PEER, EMPTY_RESPONSE, MALFORMED_RESPONSE_CHUNK or RANDOM_DATA_THEN_CLOSE",
                );
                None
            }
        };
    }
    Some(def)
}

// ---- the compatible /endpoints view -------------------------------------------

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
    let Some(code) = code.filter(|c| (100..=599).contains(c)) else {
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
    }))
}

/// The `/endpoints` view of a stub, when the stub is one an endpoint can
/// describe (a verb, an exact path, a status, headers and a body, nothing else).
pub fn endpoint_view(stub: &Stub) -> Option<Value> {
    let mapping = stub.mapping();
    let mapping = mapping.as_object()?;
    if mapping
        .keys()
        .any(|k| !["id", "uuid", "request", "response", "persistent"].contains(&k.as_str()))
    {
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

    fn err_fields(v: Value) -> Vec<String> {
        parse_stub(&v, None)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn unsupported_fields_are_named() {
        let fields = err_fields(json!({
            "request": {"method": "GET", "urlPath": "/a", "multipartPatterns": []},
            "response": {"status": 200, "proxyBaseUrl": "http://x"},
            "postServeActions": []
        }));
        assert!(
            fields.contains(&"request.multipartPatterns".to_owned()),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"response.proxyBaseUrl".to_owned()),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"postServeActions".to_owned()),
            "{fields:?}"
        );
        let fields = err_fields(json!({
            "request": {"urlPath": "/a", "headers": {"X": {"equalToXml": "<a/>"}}}
        }));
        assert_eq!(fields, vec!["request.headers.X.equalToXml"]);
    }

    #[test]
    fn reserved_paths_are_refused() {
        assert!(is_reserved("/healthz"));
        assert!(is_reserved("/v1/messages"));
        assert!(is_reserved("/"));
        assert!(is_reserved("/__admin/mappings"));
        assert!(!is_reserved("/healthzz"));
        assert!(!is_reserved("/api/v1"));
        assert_eq!(
            err_fields(json!({"request": {"urlPath": "/metrics"}})),
            vec!["request.urlPath"]
        );
    }

    #[test]
    fn endpoint_round_trips_through_a_stub() {
        let attrs = json!({"verb": "GET", "path": "/x", "response": {"code": 200, "headers": {"A": "b"}, "body": {"k": 1}}});
        let mapping = endpoint_mapping(
            "7f2c1b40-0000-4000-8000-000000000000",
            attrs.as_object().unwrap(),
        )
        .unwrap();
        let stub = parse_stub(&mapping, None).unwrap();
        let view = endpoint_view(&stub).unwrap();
        assert_eq!(view["attributes"], attrs);
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
