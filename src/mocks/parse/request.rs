//! Request patterns (a stub's `request`, or the body of `requests/count` and
//! `requests/find`) and the string matchers inside them.

use axum::http::Method;
use base64::Engine as _;
use regex::Regex;
use serde_json::{Map, Value};

use super::{Errors, as_object, document_matchers, join, string_at, unknown_keys, whole_number};
use crate::http::FieldError;
use crate::mocks::jsonpath::JsonPath;
use crate::mocks::matcher::date_time::{Comparison, DATE_TIME_OPTIONS, DateTimeMatcher};
use crate::mocks::matcher::multipart::MultipartPattern;
use crate::mocks::matcher::{PathTemplate, RequestPattern, StringMatcher, UrlMatcher};

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

const MATCHER_OPS: [&str; 20] = [
    "not",
    "before",
    "after",
    "equalToDateTime",
    "binaryEqualTo",
    "hasExactly",
    "includes",
    "equalTo",
    "contains",
    "doesNotContain",
    "matches",
    "doesNotMatch",
    "absent",
    "equalToJson",
    "matchesJsonPath",
    "equalToXml",
    "matchesXPath",
    "matchesJsonSchema",
    "and",
    "or",
];
const MATCHER_MODIFIERS: [&str; 8] = [
    "caseInsensitive",
    "ignoreArrayOrder",
    "ignoreExtraElements",
    // date-time matchers' (matcher::date_time::DATE_TIME_OPTIONS)
    "actualFormat",
    "expectedOffset",
    "expectedOffsetUnit",
    "truncateExpected",
    "truncateActual",
];

pub(super) fn parse_matcher(
    value: &Value,
    path: &str,
    errors: &mut Errors,
) -> Option<StringMatcher> {
    let Some(obj) = value.as_object() else {
        errors.add(
            path,
            "must be a matcher object such as {\"equalTo\": \"x\"}",
        );
        return None;
    };
    for key in obj.keys() {
        if !MATCHER_OPS.contains(&key.as_str())
            && !MATCHER_MODIFIERS.contains(&key.as_str())
            && !document_matchers::is_option(key)
        {
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
        if !obj.keys().any(|k| {
            !MATCHER_OPS.contains(&k.as_str())
                && !MATCHER_MODIFIERS.contains(&k.as_str())
                && !document_matchers::is_option(k)
        }) {
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
    let date_time = match op {
        "before" => Some(Comparison::Before),
        "after" => Some(Comparison::After),
        "equalToDateTime" => Some(Comparison::EqualTo),
        _ => None,
    };
    if date_time.is_none() {
        for option in DATE_TIME_OPTIONS.iter().filter(|o| obj.contains_key(**o)) {
            errors.add(
                &join(path, option),
                "only applies to before, after and equalToDateTime",
            );
        }
    }
    document_matchers::check_options(obj, op, path, errors);
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
        "equalToXml" => document_matchers::equal_to_xml(obj, path, errors)?,
        "matchesXPath" => document_matchers::matches_xpath(obj, path, errors)?,
        "matchesJsonSchema" => document_matchers::matches_json_schema(obj, path, errors)?,
        "not" => StringMatcher::Not(Box::new(parse_matcher(operand, &field, errors)?)),
        "before" | "after" | "equalToDateTime" => {
            let comparison = date_time?;
            match DateTimeMatcher::parse(comparison, obj) {
                Ok(m) => StringMatcher::DateTime(Box::new(m)),
                Err(problems) => {
                    for (key, message) in problems {
                        errors.add(&join(path, &key), message);
                    }
                    return None;
                }
            }
        }
        "binaryEqualTo" => {
            let encoded = text(errors)?;
            match base64::engine::general_purpose::STANDARD.decode(encoded.as_bytes()) {
                Ok(bytes) => StringMatcher::BinaryEqualTo(bytes),
                Err(e) => {
                    errors.add(&field, format!("must be base64: {e}"));
                    return None;
                }
            }
        }
        "and" | "or" | "hasExactly" | "includes" => {
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
            match op {
                "and" => StringMatcher::And(parsed),
                "or" => StringMatcher::Or(parsed),
                "hasExactly" => StringMatcher::HasExactly(parsed),
                _ => StringMatcher::Includes(parsed),
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
    // null is left out, as WireMock (Jackson) reads it.
    let Some(value) = obj.get(key).filter(|v| !v.is_null()) else {
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

/// `multipartPatterns: [{"matchingType": "ANY"|"ALL", "headers": {...}, "bodyPatterns": [...]}]`.
fn multipart_patterns(
    obj: &Map<String, Value>,
    path: &str,
    errors: &mut Errors,
) -> Vec<MultipartPattern> {
    let field = join(path, "multipartPatterns");
    let items = match obj.get("multipartPatterns") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.add(&field, "must be an array of part patterns");
            return Vec::new();
        }
    };
    let mut patterns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}.{i}");
        let Some(part) = as_object(item, &at, errors) else {
            continue;
        };
        unknown_keys(
            part,
            &["matchingType", "headers", "bodyPatterns", "name"],
            &at,
            errors,
        );
        let all = match part.get("matchingType") {
            None | Some(Value::Null) => false,
            Some(Value::String(t)) if t == "ANY" => false,
            Some(Value::String(t)) if t == "ALL" => true,
            Some(_) => {
                errors.add(&join(&at, "matchingType"), "must be ANY or ALL");
                false
            }
        };
        let mut headers = parse_named_matchers(part, "headers", &at, true, errors);
        // The Java client's `withName`: a Content-Disposition naming the part.
        match part.get("name") {
            None | Some(Value::Null) => {}
            Some(Value::String(name)) => headers.push((
                "content-disposition".to_owned(),
                StringMatcher::Contains(format!("name=\"{name}\"")),
            )),
            Some(_) => errors.add(&join(&at, "name"), "must be a string"),
        }
        let body = match part.get("bodyPatterns") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(matchers)) => matchers
                .iter()
                .enumerate()
                .filter_map(|(j, m)| {
                    parse_matcher(m, &format!("{}.{j}", join(&at, "bodyPatterns")), errors)
                })
                .collect(),
            Some(_) => {
                errors.add(&join(&at, "bodyPatterns"), "must be an array of matchers");
                Vec::new()
            }
        };
        patterns.push(MultipartPattern { all, headers, body });
    }
    patterns
}

/// `basicAuthCredentials: {"username", "password"}`: WireMock's shorthand for
/// an `Authorization: Basic ...` header equal to those credentials.
fn basic_auth(obj: &Map<String, Value>, path: &str, errors: &mut Errors) -> Option<StringMatcher> {
    let value = obj.get("basicAuthCredentials").filter(|v| !v.is_null())?;
    let field = join(path, "basicAuthCredentials");
    let credentials = as_object(value, &field, errors)?;
    unknown_keys(credentials, &["username", "password"], &field, errors);
    let (Some(username), Some(password)) = (
        string_at(credentials, "username", &field, errors),
        string_at(credentials, "password", &field, errors),
    ) else {
        errors.add(&field, "needs a username and a password");
        return None;
    };
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    Some(StringMatcher::EqualTo {
        value: format!("Basic {token}"),
        case_insensitive: false,
    })
}

/// Parses one value matcher (`{"equalTo": "x"}`, `{"matchesJsonPath": ...}`),
/// as the admin API's metadata queries take it.
pub fn parse_string_matcher(value: &Value) -> Result<StringMatcher, Vec<FieldError>> {
    let mut errors = Errors::default();
    match parse_matcher(value, "", &mut errors) {
        Some(matcher) if errors.0.is_empty() => Ok(matcher),
        _ => Err(errors.0),
    }
}

/// The keys that name a URL condition; a pattern has at most one.
pub const URL_KEYS: [&str; 5] = [
    "url",
    "urlPath",
    "urlPattern",
    "urlPathPattern",
    "urlPathTemplate",
];
const REQUEST_KEYS: [&str; 18] = [
    "multipartPatterns",
    "basicAuthCredentials",
    "formParameters",
    "scheme",
    "host",
    "port",
    "clientIp",
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

pub(super) fn request_pattern(
    value: &Value,
    path: &str,
    errors: &mut Errors,
) -> Option<RequestPattern> {
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
    let mut headers = parse_named_matchers(obj, "headers", path, true, errors);
    if let Some(credentials) = basic_auth(obj, path, errors) {
        headers.push(("authorization".to_owned(), credentials));
    }
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
    let form = parse_named_matchers(obj, "formParameters", path, false, errors);
    let single = |key: &str, errors: &mut Errors| {
        let value = obj.get(key).filter(|v| !v.is_null())?;
        parse_matcher(value, &join(path, key), errors)
    };
    let host = single("host", errors);
    let client_ip = single("clientIp", errors);
    let scheme = match obj.get("scheme") {
        None | Some(Value::Null) => None,
        Some(Value::String(s))
            if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") =>
        {
            Some(s.to_ascii_lowercase())
        }
        Some(_) => {
            errors.add(&join(path, "scheme"), "must be http or https");
            None
        }
    };
    let port = match obj.get("port") {
        None | Some(Value::Null) => None,
        Some(v) => match whole_number(v).and_then(|p| u16::try_from(p).ok()) {
            Some(port) => Some(port),
            None => {
                errors.add(&join(path, "port"), "must be a port number (0 to 65535)");
                None
            }
        },
    };
    let multipart = multipart_patterns(obj, path, errors);
    Some(RequestPattern {
        multipart,
        form,
        host,
        scheme,
        port,
        client_ip,
        method,
        url,
        path_params,
        query,
        headers,
        cookies,
        body,
    })
}
