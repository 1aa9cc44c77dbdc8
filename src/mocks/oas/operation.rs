//! One operation of a document, compiled: its parameters and body with
//! their validators, its security requirements and its responses. It checks a
//! request against the document and chooses and renders the answer.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use jsonschema::{Draft, Registry, Validator};
use regex::Regex;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::document::{PathPart, path_parts, path_regex};
use super::generate::generate;
use crate::http::{ApiError, FieldError};
use crate::mocks::matcher::Incoming;

/// The URI the document is registered under, for `$ref`s into it.
pub const DOCUMENT_URI: &str = "urn:echobase:openapi";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Location {
    Path,
    Query,
    Header,
    Cookie,
}

impl Location {
    fn parse(text: &str) -> Option<Location> {
        match text {
            "path" => Some(Location::Path),
            "query" => Some(Location::Query),
            "header" => Some(Location::Header),
            "cookie" => Some(Location::Cookie),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
        }
    }
}

struct Parameter {
    name: String,
    location: Location,
    required: bool,
    /// The schema's type, to read the text as (`integer`, `array`, ...).
    kind: String,
    /// Of an array's items.
    item_kind: String,
    /// `explode` (form style's default is true): repeated names, not commas.
    explode: bool,
    delimiter: char,
    validator: Option<Validator>,
}

struct RequestBody {
    required: bool,
    /// Media ranges as the document names them, each with its schema.
    media: Vec<(String, Option<Validator>)>,
}

/// What a security scheme needs to be present.
#[derive(Debug, Clone)]
enum Credential {
    Authorization(&'static str),
    Header(String),
    Query(String),
    Cookie(String),
    /// Cannot be seen in a request (mutual TLS) or unknown: taken as present.
    Unchecked,
}

pub struct Operation {
    label: String,
    path: Regex,
    path_names: Vec<String>,
    parameters: Vec<Parameter>,
    body: Option<RequestBody>,
    /// Alternatives, each a list of credentials all needed; empty: none needed.
    security: Vec<Vec<Credential>>,
    /// Response objects by status (`200`, `4XX`, `default`), `$ref`s resolved.
    responses: Vec<(String, Value)>,
    document: Arc<Value>,
}

/// A JSON pointer's next segment.
fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// Follows `$ref`s from the value at `at`, returning where it ends and what is there.
fn follow(document: &Value, at: String) -> Option<(String, &Value)> {
    let mut at = at;
    for _ in 0..32 {
        let value = document.pointer(&at)?;
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let fragment = reference.strip_prefix('#')?;
                at = percent_encoding::percent_decode_str(fragment)
                    .decode_utf8()
                    .ok()?
                    .into_owned();
            }
            None => return Some((at, value)),
        }
    }
    None
}

/// The first non-null `type` of a schema (after its `$ref`s), or `""`.
fn schema_kind(document: &Value, schema: Option<&Value>) -> String {
    let Some(schema) = schema.and_then(|s| super::document::resolve(document, s)) else {
        return String::new();
    };
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => Some(kind.as_str()),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null"),
        _ => None,
    };
    kind.map(str::to_owned).unwrap_or_default()
}

/// What a JSON pointer may hold unencoded in a URI fragment (RFC 6901 §6).
const FRAGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'~')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// A validator for the schema at `at`, through the document's registry.
fn validator_at(registry: &Registry<'static>, at: &str) -> Result<Validator, String> {
    let fragment = percent_encoding::utf8_percent_encode(at, FRAGMENT);
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_registry(registry)
        .build(&json!({"$ref": format!("{DOCUMENT_URI}#{fragment}")}))
        .map_err(|e| format!("the schema at {at} is not valid: {e}"))
}

impl Operation {
    /// Compiles `method path` of `document` (normalised to JSON Schema 2020-12).
    pub fn compile(
        document: Arc<Value>,
        registry: &Registry<'static>,
        method: &str,
        path: &str,
        prefix: &str,
    ) -> Result<Operation, String> {
        let label = format!("{} {prefix}{path}", method.to_uppercase());
        let item_at = child("/paths", path);
        let (item_at, item) =
            follow(&document, item_at).ok_or_else(|| format!("{label} is not in the document"))?;
        let op_at = child(&item_at, method);
        let operation = item
            .get(method)
            .ok_or_else(|| format!("{label} is not in the document"))?;
        let path_names = path_parts(path)
            .into_iter()
            .filter_map(|part| match part {
                PathPart::Parameter(name) => Some(name),
                PathPart::Literal(_) => None,
            })
            .collect();
        let path = Regex::new(&path_regex(prefix, path)).map_err(|e| e.to_string())?;

        // Path item parameters, overridden by the operation's of the same name and place.
        let mut parameters: Vec<Parameter> = Vec::new();
        for list_at in [child(&item_at, "parameters"), child(&op_at, "parameters")] {
            let count = document
                .pointer(&list_at)
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            for index in 0..count {
                let Some((at, param)) = follow(&document, child(&list_at, &index.to_string()))
                else {
                    continue;
                };
                let Some(parameter) = compile_parameter(&document, registry, &at, param)? else {
                    continue;
                };
                parameters
                    .retain(|p| !(p.name == parameter.name && p.location == parameter.location));
                parameters.push(parameter);
            }
        }

        let body = match follow(&document, child(&op_at, "requestBody")) {
            Some((at, body)) => Some(compile_body(registry, &at, body)?),
            None => None,
        };

        let requirements = operation
            .get("security")
            .or_else(|| document.get("security"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let security = requirements
            .iter()
            .filter_map(Value::as_object)
            .map(|requirement| {
                requirement
                    .keys()
                    .map(|scheme| credential(&document, scheme))
                    .collect()
            })
            .collect::<Vec<Vec<Credential>>>();
        // An empty requirement (`{}`) among the alternatives: anonymous is allowed.
        let security = if security.iter().any(Vec::is_empty) {
            Vec::new()
        } else {
            security
        };

        let mut responses = Vec::new();
        if let Some(codes) = operation.get("responses").and_then(Value::as_object) {
            for code in codes.keys() {
                if let Some((_, response)) =
                    follow(&document, child(&child(&op_at, "responses"), code))
                {
                    responses.push((code.clone(), response.clone()));
                }
            }
        }
        Ok(Operation {
            label,
            path,
            path_names,
            parameters,
            body,
            security,
            responses,
            document,
        })
    }

    /// Security first (401), then parameters (400), then the body (415, 400, 422).
    pub fn check(&self, req: &Incoming<'_>) -> Result<(), ApiError> {
        self.check_security(req)?;
        self.check_parameters(req)?;
        self.check_body(req)
    }

    fn check_security(&self, req: &Incoming<'_>) -> Result<(), ApiError> {
        if self.security.is_empty() {
            return Ok(());
        }
        let present = |credential: &Credential| match credential {
            Credential::Authorization(scheme) => req.header_values("authorization").any(|value| {
                value.split_once(' ').is_some_and(|(s, token)| {
                    s.eq_ignore_ascii_case(scheme) && !token.trim().is_empty()
                })
            }),
            Credential::Header(name) => req.header_values(name).next().is_some(),
            Credential::Query(name) => req.query_values(name).next().is_some(),
            Credential::Cookie(name) => req.cookies().iter().any(|(k, _)| k == name),
            Credential::Unchecked => true,
        };
        if self.security.iter().any(|all| all.iter().all(present)) {
            return Ok(());
        }
        let challenge = match self.security.first().and_then(|all| all.first()) {
            Some(Credential::Authorization("Basic")) => Some("Basic"),
            Some(Credential::Authorization(_)) => Some("Bearer"),
            _ => None,
        };
        let wanted: Vec<String> = self
            .security
            .iter()
            .map(|all| all.iter().map(describe).collect::<Vec<_>>().join(" and "))
            .collect();
        Err(ApiError::Unauthorized {
            detail: format!("{} needs credentials: {}", self.label, wanted.join(", or ")),
            challenge,
        })
    }

    fn check_parameters(&self, req: &Incoming<'_>) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        let path_values: Vec<String> = self
            .path
            .captures(req.path)
            .map(|caps| {
                caps.iter()
                    .skip(1)
                    .map(|m| {
                        let raw = m.map_or("", |m| m.as_str());
                        percent_encoding::percent_decode_str(raw)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .collect()
            })
            .unwrap_or_default();
        for parameter in &self.parameters {
            let field = format!("{}.{}", parameter.location.label(), parameter.name);
            let values: Vec<String> = match parameter.location {
                Location::Path => self
                    .path_names
                    .iter()
                    .position(|n| *n == parameter.name)
                    .and_then(|i| path_values.get(i).cloned())
                    .into_iter()
                    .collect(),
                Location::Query => req
                    .query_values(&parameter.name)
                    .map(str::to_owned)
                    .collect(),
                Location::Header => req
                    .header_values(&parameter.name)
                    .map(str::to_owned)
                    .collect(),
                Location::Cookie => req
                    .cookies()
                    .iter()
                    .filter(|(k, _)| *k == parameter.name)
                    .map(|(_, v)| v.clone())
                    .collect(),
            };
            if values.is_empty() {
                if parameter.required {
                    errors.push(FieldError::new(field, "is required"));
                }
                continue;
            }
            let Some(validator) = &parameter.validator else {
                continue;
            };
            let value = parameter.read(&values);
            for error in validator.iter_errors(&value) {
                errors.push(FieldError::new(&field, error.to_string()));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::BadParameters(errors))
        }
    }

    fn check_body(&self, req: &Incoming<'_>) -> Result<(), ApiError> {
        let Some(body) = &self.body else {
            return Ok(());
        };
        if req.body.is_empty() {
            return if body.required {
                Err(ApiError::BadRequest(format!(
                    "{} needs a request body",
                    self.label
                )))
            } else {
                Ok(())
            };
        }
        let declared = || {
            body.media
                .iter()
                .map(|(range, _)| range.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(content_type) = req.header_values("content-type").next() else {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the body has no Content-Type; {} takes {}",
                self.label,
                declared()
            )));
        };
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let Some((_, validator)) = body
            .media
            .iter()
            .find(|(range, _)| media_matches(range, &essence))
        else {
            return Err(ApiError::UnsupportedMediaType(format!(
                "{} takes {}, not {essence}",
                self.label,
                declared()
            )));
        };
        let Some(validator) = validator else {
            return Ok(());
        };
        // Only JSON bodies are held to their schema: a form's or a
        // multipart's values are text, whose types the schema would need to read.
        if !is_json(&essence) {
            return Ok(());
        }
        let value = serde_json::from_slice::<Value>(req.body)
            .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        let errors: Vec<FieldError> = validator
            .iter_errors(&value)
            .map(|error| {
                let at = error.instance_path().to_string();
                FieldError::new(format!("body{at}"), error.to_string())
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// The response the document describes for this request: the status a
    /// `Prefer: code=` names (else the first 2xx, else `default`, else the
    /// first), the media type `Accept` allows, and the body from the example
    /// `Prefer: example=` names, else the first example, else generated from
    /// the schema (the same for the same request; `Prefer: dynamic=true` for
    /// fresh values).
    pub fn answer(&self, req: &Incoming<'_>) -> Result<(StatusCode, HeaderMap, Vec<u8>), ApiError> {
        let prefer = preferences(req);
        let wanted = |key: &str| {
            prefer
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        let (code, response) = self.response_for(wanted("code"))?;
        let status = code
            .parse::<u16>()
            .ok()
            .or_else(|| {
                code.strip_suffix("XX")
                    .and_then(|d| d.parse::<u16>().ok())
                    .map(|d| d * 100)
            })
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        let seed = if wanted("dynamic").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            fastrand::u64(..)
        } else {
            request_seed(req)
        };
        let mut headers = HeaderMap::new();
        if let Some(declared) = response.get("headers").and_then(Value::as_object) {
            for (name, header) in declared {
                let Some(header) = super::document::resolve(&self.document, header) else {
                    continue;
                };
                let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                    continue;
                };
                if name == header::CONTENT_TYPE || name == header::CONTENT_LENGTH {
                    continue;
                }
                let value = header
                    .get("example")
                    .cloned()
                    .or_else(|| first_example(&self.document, header))
                    .or_else(|| {
                        header
                            .get("schema")
                            .map(|s| generate(s, &self.document, seed))
                    });
                let text = match value {
                    Some(Value::String(text)) => text,
                    Some(other) => other.to_string(),
                    None => continue,
                };
                if let Ok(value) = HeaderValue::from_str(&text) {
                    headers.insert(name, value);
                }
            }
        }
        let Some(content) = response
            .get("content")
            .and_then(Value::as_object)
            .filter(|c| !c.is_empty())
        else {
            return Ok((status, headers, Vec::new()));
        };
        let media_type = choose_media_type(content, req).ok_or_else(|| {
            ApiError::NotAcceptable(format!(
                "{} answers {code} as {}, which Accept does not allow",
                self.label,
                content.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let media = super::document::resolve(&self.document, &content[&media_type])
            .cloned()
            .unwrap_or(Value::Null);
        let value = match wanted("example") {
            Some(name) => {
                let example = media
                    .get("examples")
                    .and_then(|e| e.get(name))
                    .and_then(|e| super::document::resolve(&self.document, e))
                    .and_then(|e| e.get("value"))
                    .cloned();
                example.ok_or_else(|| {
                    let names = media
                        .get("examples")
                        .and_then(Value::as_object)
                        .map(|e| e.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default();
                    ApiError::BadRequest(format!(
                        "{} has no example `{name}` for {code} {media_type} (it has: {})",
                        self.label,
                        if names.is_empty() { "none" } else { &names }
                    ))
                })?
            }
            None => media
                .get("example")
                .cloned()
                .or_else(|| first_example(&self.document, &media))
                .or_else(|| {
                    media
                        .get("schema")
                        .map(|s| generate(s, &self.document, seed))
                })
                .unwrap_or(Value::Null),
        };
        let body = match (&value, is_json(&media_type)) {
            (Value::String(text), false) => text.clone().into_bytes(),
            _ => serde_json::to_vec(&value).unwrap_or_default(),
        };
        let content_type = if media_type.contains('*') {
            "application/json".to_owned()
        } else {
            media_type
        };
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        Ok((status, headers, body))
    }

    fn response_for(&self, code: Option<&str>) -> Result<(String, &Value), ApiError> {
        let find = |code: &str| {
            self.responses
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(code))
        };
        let found = match code {
            Some(code) => {
                let range = code.get(..1).map(|d| format!("{d}XX"));
                find(code)
                    .or_else(|| range.and_then(|r| find(&r)))
                    .ok_or_else(|| {
                        let codes: Vec<&str> =
                            self.responses.iter().map(|(c, _)| c.as_str()).collect();
                        ApiError::BadRequest(format!(
                            "{} has no response {code} (it has: {})",
                            self.label,
                            codes.join(", ")
                        ))
                    })?
            }
            None => {
                let mut success: Vec<&(String, Value)> = self
                    .responses
                    .iter()
                    .filter(|(c, _)| c.starts_with('2'))
                    .collect();
                success.sort_by(|a, b| a.0.cmp(&b.0));
                match success.first() {
                    Some(found) => *found,
                    None => find("default")
                        .or_else(|| self.responses.first())
                        .ok_or_else(|| {
                            ApiError::Internal(format!("{} has no responses", self.label))
                        })?,
                }
            }
        };
        let code = if found.0 == "default" {
            "200".to_owned()
        } else {
            found.0.clone()
        };
        Ok((code, &found.1))
    }
}

fn compile_parameter(
    document: &Value,
    registry: &Registry<'static>,
    at: &str,
    param: &Value,
) -> Result<Option<Parameter>, String> {
    let (Some(name), Some(location)) = (
        param.get("name").and_then(Value::as_str),
        param
            .get("in")
            .and_then(Value::as_str)
            .and_then(Location::parse),
    ) else {
        return Ok(None);
    };
    // OpenAPI: header parameters of these names "SHALL be ignored" (the
    // media types and security schemes describe them).
    if location == Location::Header
        && ["accept", "content-type", "authorization"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
    {
        return Ok(None);
    }
    let schema = param.get("schema");
    let kind = schema_kind(document, schema);
    let item_kind = schema
        .and_then(|s| super::document::resolve(document, s))
        .map(|s| schema_kind(document, s.get("items")))
        .unwrap_or_default();
    let style = param
        .get("style")
        .and_then(Value::as_str)
        .unwrap_or(match location {
            Location::Query | Location::Cookie => "form",
            Location::Path | Location::Header => "simple",
        });
    let explode = param
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(style == "form");
    let delimiter = match style {
        "spaceDelimited" => ' ',
        "pipeDelimited" => '|',
        _ => ',',
    };
    // Objects in parameters (deepObject and friends) are checked for presence only.
    let validator = match schema {
        Some(_) if kind != "object" => Some(validator_at(registry, &child(at, "schema"))?),
        _ => None,
    };
    Ok(Some(Parameter {
        name: name.to_owned(),
        required: location == Location::Path
            || param
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        location,
        kind,
        item_kind,
        explode,
        delimiter,
        validator,
    }))
}

fn compile_body(
    registry: &Registry<'static>,
    at: &str,
    body: &Value,
) -> Result<RequestBody, String> {
    let mut media = Vec::new();
    if let Some(content) = body.get("content").and_then(Value::as_object) {
        for (range, object) in content {
            let validator = match object.get("schema") {
                Some(_) => Some(validator_at(
                    registry,
                    &child(&child(&child(at, "content"), range), "schema"),
                )?),
                None => None,
            };
            media.push((range.to_ascii_lowercase(), validator));
        }
    }
    Ok(RequestBody {
        required: body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        media,
    })
}

impl Parameter {
    /// The parameter's text read as its schema's type: numbers and booleans
    /// parsed (left as text when they do not parse, so the error says so),
    /// arrays split.
    fn read(&self, values: &[String]) -> Value {
        if self.kind == "array" {
            let items: Vec<&str> = if self.explode && self.location == Location::Query {
                values.iter().map(String::as_str).collect()
            } else {
                values
                    .iter()
                    .flat_map(|v| v.split(self.delimiter))
                    .collect()
            };
            return Value::Array(
                items
                    .into_iter()
                    .map(|v| typed(&self.item_kind, v))
                    .collect(),
            );
        }
        typed(&self.kind, values.first().map_or("", String::as_str))
    }
}

fn typed(kind: &str, text: &str) -> Value {
    match kind {
        "integer" | "number" => serde_json::from_str::<serde_json::Number>(text)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(text.to_owned())),
        "boolean" => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        },
        "null" if text.is_empty() => Value::Null,
        _ => Value::String(text.to_owned()),
    }
}

fn credential(document: &Value, scheme_name: &str) -> Credential {
    let scheme = document
        .pointer(&child("/components/securitySchemes", scheme_name))
        .and_then(|s| super::document::resolve(document, s));
    let Some(scheme) = scheme else {
        return Credential::Unchecked;
    };
    let name = || {
        scheme
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match scheme.get("type").and_then(Value::as_str) {
        Some("http") => match scheme
            .get("scheme")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("basic") => Credential::Authorization("Basic"),
            Some("digest") => Credential::Authorization("Digest"),
            _ => Credential::Authorization("Bearer"),
        },
        Some("apiKey") => match scheme.get("in").and_then(Value::as_str) {
            Some("header") => Credential::Header(name()),
            Some("query") => Credential::Query(name()),
            Some("cookie") => Credential::Cookie(name()),
            _ => Credential::Unchecked,
        },
        Some("oauth2" | "openIdConnect") => Credential::Authorization("Bearer"),
        _ => Credential::Unchecked,
    }
}

fn describe(credential: &Credential) -> String {
    match credential {
        Credential::Authorization(scheme) => format!("Authorization: {scheme}"),
        Credential::Header(name) => format!("header {name}"),
        Credential::Query(name) => format!("query parameter {name}"),
        Credential::Cookie(name) => format!("cookie {name}"),
        Credential::Unchecked => "(not checked)".into(),
    }
}

fn is_json(essence: &str) -> bool {
    essence == "application/json" || essence.ends_with("+json") || essence == "*/*"
}

/// Whether a media range of the document (`application/*`) takes `essence`.
fn media_matches(range: &str, essence: &str) -> bool {
    let range = range.split(';').next().unwrap_or_default().trim();
    range == essence
        || range == "*/*"
        || range
            .strip_suffix("/*")
            .is_some_and(|kind| essence.split('/').next() == Some(kind))
}

/// The response media type to send: the document's first that the request's
/// `Accept` takes (by preference), JSON first when anything goes.
fn choose_media_type(content: &Map<String, Value>, req: &Incoming<'_>) -> Option<String> {
    let mut accepted: Vec<(f32, String)> = req
        .header_values("accept")
        .flat_map(|v| v.split(','))
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (!media.is_empty() && q > 0.0).then_some((q, media))
        })
        .collect();
    if accepted.is_empty() {
        accepted.push((1.0, "*/*".into()));
    }
    accepted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut keys: Vec<&String> = content.keys().collect();
    // Among equals, JSON first.
    keys.sort_by_key(|k| !is_json(&k.to_ascii_lowercase()));
    for (_, range) in &accepted {
        if let Some(key) = keys.iter().find(|key| {
            media_matches(range, &key.to_ascii_lowercase())
                || media_matches(&key.to_ascii_lowercase(), range)
        }) {
            return Some((*key).clone());
        }
    }
    None
}

/// The first of an `examples` map's values (through `$ref`s), if it has one inline.
fn first_example(document: &Value, holder: &Value) -> Option<Value> {
    let examples = holder.get("examples")?.as_object()?;
    examples
        .values()
        .filter_map(|e| super::document::resolve(document, e))
        .find_map(|e| e.get("value").cloned())
}

/// `Prefer` preferences (RFC 7240), as name and value.
fn preferences(req: &Incoming<'_>) -> Vec<(String, String)> {
    req.header_values("prefer")
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((
                key.trim().to_owned(),
                value.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect()
}

/// The same number for the same method, path and query.
fn request_seed(req: &Incoming<'_>) -> u64 {
    let digest = Sha256::digest(format!("{} {}", req.method, req.url()));
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}
