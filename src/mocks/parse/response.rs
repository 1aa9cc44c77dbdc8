//! A stub's `response`: status, headers, body, delays and faults.

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use base64::Engine as _;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

use super::{Errors, as_object, join, string_at, unknown_keys, whole_number};
use crate::http::FieldError;
use crate::http::connection::ConnectionFault;
use crate::http::hop_headers::is_hop_by_hop_or_framing;
use crate::mocks::files::file_name;
use crate::mocks::oas::OperationRef;
use crate::mocks::stub::{
    BodyDef, Delay, Dribble, FileName, HeaderText, Proxy, ProxyBaseUrl, ResponseDef,
};
use crate::mocks::template::{JsonTemplate, Syntax, Template};

/// Longest fixed or random delay a stub may ask for (the request timeout
/// usually cuts it shorter).
const MAX_DELAY_MS: u64 = 10 * 60 * 1000;

const RESPONSE_KEYS: [&str; 18] = [
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
    "proxyBaseUrl",
    "proxyUrlPrefixToRemove",
    "additionalProxyRequestHeaders",
    "removeProxyRequestHeaders",
    "openApiOperation",
];

/// The fields that only mean something beside `proxyBaseUrl`.
pub const PROXY_DETAIL_KEYS: [&str; 3] = [
    "proxyUrlPrefixToRemove",
    "additionalProxyRequestHeaders",
    "removeProxyRequestHeaders",
];

pub(super) fn empty_response() -> ResponseDef {
    ResponseDef {
        status: StatusCode::OK,
        reason: None,
        headers: Vec::new(),
        body: BodyDef::Empty,
        transformer_parameters: Value::Null,
        default_content_type: None,
        delay: Delay::None,
        dribble: None,
        fault: None,
        proxy: None,
        openapi: None,
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

pub(super) fn millis(value: &Value, field: &str, errors: &mut Errors) -> Option<u64> {
    match whole_number(value) {
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

/// Why a stub may not set `name`: the server frames every response from the
/// body it sends and owns the connection. A `Content-Length` from a stub that
/// does not match the body would desynchronise a kept-alive connection (the
/// surplus read as the next response); a `Transfer-Encoding` the body is not
/// in makes the reply unreadable.
fn framing_refusal(name: &str) -> String {
    format!(
        "`{name}` cannot be set by a stub: echobase frames every response from the body it \
         sends and owns the connection (Content-Length, Transfer-Encoding, Trailer, Connection, \
         Keep-Alive, Upgrade, TE and Proxy-Connection are its own)"
    )
}

/// Whether the stub's own `Content-Type` says JSON (`application/json`, or a
/// `+json` type such as `application/problem+json`).
fn sends_json(headers: &[(HeaderName, HeaderText)]) -> bool {
    headers.iter().any(|(name, value)| {
        let HeaderText::Fixed(value) = value else {
            return false;
        };
        if name != header::CONTENT_TYPE {
            return false;
        }
        let media_type = value
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        media_type == "application/json"
            || (media_type.starts_with("application/") && media_type.ends_with("+json"))
    })
}

/// A header's values as a stub gives them: a string (or a number or a
/// boolean, written out), or an array of strings.
fn header_texts(value: &Value, field: &str, errors: &mut Errors) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => {
            errors.add(field, "must be a string or an array of strings");
            Vec::new()
        }
    }
}

/// One header value: a template in a templated response, else fixed text.
fn header_text(text: &str, templated: bool) -> Result<HeaderText, String> {
    if templated && text.contains("{{") {
        Template::parse(text).map(HeaderText::Template)
    } else {
        HeaderValue::from_str(text)
            .map(HeaderText::Fixed)
            .map_err(|_| format!("`{text}` is not a valid header value"))
    }
}

/// A `bodyFileName`: a file name, or in a templated response a template
/// that renders one when served (WireMock's `{{request.pathSegments.[1]}}.json`).
fn body_file_name(name: &str, templated: bool) -> Result<FileName, String> {
    if templated && name.contains("{{") {
        return Template::parse_as(name, Syntax::Text).map(FileName::Template);
    }
    file_name(name).map(FileName::Fixed)
}

pub(super) fn response(value: &Value, errors: &mut Errors) -> Option<ResponseDef> {
    let obj = as_object(value, "response", errors)?;
    unknown_keys(obj, &RESPONSE_KEYS, "response", errors);
    let mut def = empty_response();
    if let Some(status) = obj.get("status") {
        match whole_number(status)
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
        {
            // A 1xx is interim: it cannot end a request, and a 101 would
            // switch the connection to another protocol.
            Some(code) if (200..=599).contains(&code.as_u16()) => def.status = code,
            _ => errors.add(
                "response.status",
                "must be a final HTTP status code, 200 to 599",
            ),
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
    match obj.get("transformerParameters") {
        None | Some(Value::Null) => {}
        Some(params @ Value::Object(_)) => def.transformer_parameters = params.clone(),
        Some(_) => errors.add(
            "response.transformerParameters",
            "must be an object (templates read it as `parameters`)",
        ),
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
            if is_hop_by_hop_or_framing(name) {
                errors.add(&field, framing_refusal(name));
                continue;
            }
            for text in header_texts(value, &field, errors) {
                match header_text(&text, templated) {
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
    // A templated text body sent as JSON has its placeholders' output escaped
    // for JSON, as a jsonBody's is.
    let syntax = if sends_json(&def.headers) {
        Syntax::Json
    } else {
        Syntax::Text
    };
    let text_body = |text: String, errors: &mut Errors| -> BodyDef {
        if templated {
            match Template::parse_as(&text, syntax) {
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
            def.body = if templated {
                match JsonTemplate::parse(&obj["jsonBody"]) {
                    Ok(t) => BodyDef::Json(t),
                    Err(e) => {
                        errors.add("response.jsonBody", e);
                        BodyDef::Empty
                    }
                }
            } else {
                BodyDef::Fixed(Bytes::from(obj["jsonBody"].to_string()))
            };
            def.default_content_type = Some("application/json");
        }
        Some("base64Body") => match obj["base64Body"]
            .as_str()
            .map(|s| base64::engine::general_purpose::STANDARD.decode(s))
        {
            Some(Ok(bytes)) => def.body = BodyDef::Fixed(Bytes::from(bytes)),
            _ => errors.add("response.base64Body", "must be a base64 string"),
        },
        Some(_) => match obj["bodyFileName"].as_str() {
            None => errors.add("response.bodyFileName", "must be a string"),
            Some(name) => match body_file_name(name, templated) {
                Ok(name) => {
                    def.body = BodyDef::File {
                        name,
                        template: templated.then_some(syntax),
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
        && let Some(delay) = delay_distribution(v, "response.delayDistribution", errors)
    {
        def.delay = delay;
    }
    if let Some(v) = obj.get("chunkedDribbleDelay").filter(|v| !v.is_null())
        && let Some(d) = as_object(v, "response.chunkedDribbleDelay", errors)
    {
        let field = "response.chunkedDribbleDelay";
        unknown_keys(d, &["numberOfChunks", "totalDuration"], field, errors);
        let chunks = d
            .get("numberOfChunks")
            .and_then(whole_number)
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
    def.proxy = proxy(obj, templated, errors);
    if def.proxy.is_some() {
        if let Some(body) = bodies.first() {
            errors.add(
                &format!("response.{body}"),
                "a proxy stub sends the target's body: give no body beside proxyBaseUrl",
            );
        }
        if def.dribble.is_some() {
            errors.add(
                "response.chunkedDribbleDelay",
                "a proxy stub streams the target's body as it arrives: no chunkedDribbleDelay \
                 beside proxyBaseUrl",
            );
        }
    }
    if let Some(reference) = obj.get("openApiOperation").filter(|v| !v.is_null()) {
        def.openapi = openapi_operation(reference, errors);
        let beside = bodies.first().copied().or_else(|| {
            [
                "proxyBaseUrl",
                "fault",
                "chunkedDribbleDelay",
                "status",
                "headers",
            ]
            .into_iter()
            .find(|key| obj.get(*key).is_some_and(|v| !v.is_null()))
        });
        if let Some(key) = beside {
            errors.add(
                &format!("response.{key}"),
                "a stub made from an OpenAPI document answers from the document: \
                 nothing beside openApiOperation but delays",
            );
        }
    }
    Some(def)
}

/// `openApiOperation`: which operation of which loaded document answers.
fn openapi_operation(value: &Value, errors: &mut Errors) -> Option<OperationRef> {
    let field = "response.openApiOperation";
    let obj = as_object(value, field, errors)?;
    unknown_keys(
        obj,
        &["document", "sha256", "method", "path", "prefix"],
        field,
        errors,
    );
    let text = |key: &str, errors: &mut Errors| match obj.get(key).and_then(Value::as_str) {
        Some(text) => Some(text.to_owned()),
        None if key == "prefix" && obj.get(key).is_none_or(Value::is_null) => Some(String::new()),
        None => {
            errors.add(&format!("{field}.{key}"), "must be a string");
            None
        }
    };
    let reference = OperationRef {
        document: text("document", errors)?,
        sha256: text("sha256", errors)?,
        method: text("method", errors)?,
        path: text("path", errors)?,
        prefix: text("prefix", errors)?,
    };
    if let Err(e) = crate::mocks::oas::document::check_name(&reference.document) {
        errors.add(&format!("{field}.document"), e);
    }
    if !crate::mocks::oas::document::METHODS.contains(&reference.method.as_str()) {
        errors.add(
            &format!("{field}.method"),
            "must be an OpenAPI operation's method in lowercase, such as get",
        );
    }
    if !reference.path.starts_with('/') {
        errors.add(
            &format!("{field}.path"),
            "must be a path template starting with `/`",
        );
    }
    Some(reference)
}

/// What a proxy target URL may be, checked before it is parsed and published
/// as the OpenAPI document's pattern, so that both say the same: http or
/// https; a host name (labels of letters, digits and single inner `-`/`_`,
/// each starting with a letter, so it is never read as an IPv4 address nor
/// as punycode), an IPv4 address or a bracketed IPv6 address; a port up to
/// 65535; a path; a query, which is dropped (as WireMock drops it: the
/// request's own query is sent). No user information or fragment.
pub const PROXY_URL_PATTERN: &str = concat!(
    r"^[Hh][Tt][Tt][Pp][Ss]?://",
    r"(?:[A-Za-z](?:[-_]?[A-Za-z0-9])*(?:\.[A-Za-z](?:[-_]?[A-Za-z0-9])*)*",
    r"|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
    r"|\[(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,7}:",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5}",
    r"|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6}",
    r"|:(?:(?::[0-9A-Fa-f]{1,4}){1,7}|:))\])",
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?",
    r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?",
    r"(?:\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$",
);

/// A fixed `proxyBaseUrl` (or a recording's `targetBaseUrl`): an absolute
/// `http` or `https` URL of [`PROXY_URL_PATTERN`]'s shape, its query dropped.
pub fn proxy_base_url(text: &str) -> Result<url::Url, String> {
    static SHAPE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(PROXY_URL_PATTERN).expect("a valid constant pattern"));
    if !SHAPE.is_match(text) {
        return Err(format!(
            "`{text}` must be an http or https URL of a host name or IP address, an optional port and path, \
             such as http://api.example.com:8080/v2"
        ));
    }
    let mut url =
        url::Url::parse(text).map_err(|e| format!("`{text}` is not an absolute URL: {e}"))?;
    url.set_query(None);
    Ok(url)
}

/// `proxyBaseUrl` and the fields beside it, or `None` without one.
fn proxy(
    obj: &serde_json::Map<String, Value>,
    templated: bool,
    errors: &mut Errors,
) -> Option<Box<Proxy>> {
    let present = |key: &str| obj.get(key).filter(|v| !v.is_null());
    let Some(base) = present("proxyBaseUrl") else {
        for key in PROXY_DETAIL_KEYS
            .iter()
            .filter(|key| present(key).is_some())
        {
            errors.add(
                &format!("response.{key}"),
                "only means something beside proxyBaseUrl",
            );
        }
        return None;
    };
    let base_url = match base.as_str() {
        None => {
            errors.add("response.proxyBaseUrl", "must be a URL (a string)");
            return None;
        }
        Some(text) if templated && text.contains("{{") => {
            Template::parse_as(text, Syntax::Text).map(ProxyBaseUrl::Template)
        }
        Some(text) => proxy_base_url(text).map(ProxyBaseUrl::Fixed),
    };
    let base_url = match base_url {
        Ok(url) => url,
        Err(e) => {
            errors.add("response.proxyBaseUrl", e);
            return None;
        }
    };
    let prefix_to_remove = match present("proxyUrlPrefixToRemove") {
        None => None,
        Some(Value::String(prefix)) if prefix.starts_with('/') => Some(prefix.clone()),
        Some(_) => {
            errors.add(
                "response.proxyUrlPrefixToRemove",
                "must be a path starting with `/`, such as /api",
            );
            None
        }
    };
    let mut add_headers = Vec::new();
    if let Some(headers) = present("additionalProxyRequestHeaders")
        && let Some(map) = as_object(headers, "response.additionalProxyRequestHeaders", errors)
    {
        for (name, value) in map {
            let field = format!("response.additionalProxyRequestHeaders.{name}");
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                errors.add(&field, format!("`{name}` is not a valid header name"));
                continue;
            };
            if is_hop_by_hop_or_framing(name) {
                errors.add(&field, framing_refusal(name));
                continue;
            }
            for text in header_texts(value, &field, errors) {
                match header_text(&text, templated) {
                    Ok(value) => add_headers.push((header.clone(), value)),
                    Err(e) => errors.add(&field, e),
                }
            }
        }
    }
    let mut remove_headers = Vec::new();
    if let Some(names) = present("removeProxyRequestHeaders") {
        let field = "response.removeProxyRequestHeaders";
        match names.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item
                        .as_str()
                        .and_then(|name| HeaderName::from_bytes(name.as_bytes()).ok())
                    {
                        Some(name) => remove_headers.push(name),
                        None => errors.add(&format!("{field}.{i}"), "must be a header name"),
                    }
                }
            }
            None => errors.add(field, "must be an array of header names"),
        }
    }
    Some(Box::new(Proxy {
        base_url,
        prefix_to_remove,
        add_headers,
        remove_headers,
    }))
}

/// A `delayDistribution` object (a stub's, or the global settings').
pub(super) fn delay_distribution(value: &Value, field: &str, errors: &mut Errors) -> Option<Delay> {
    let d = as_object(value, field, errors)?;
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
                // WireMock takes the stub whatever the order (and fails
                // when it serves it); the delay between the two bounds
                // is what such a stub can only mean.
                (Some(lower), Some(upper)) => Some(Delay::Uniform {
                    lower: lower.min(upper),
                    upper: lower.max(upper),
                }),
                _ => {
                    errors.add(field, "uniform needs lower and upper, in milliseconds");
                    None
                }
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
                    Some(Delay::LogNormal { median, sigma, max })
                }
                _ => {
                    errors.add(field, "lognormal needs median (ms) and sigma");
                    None
                }
            }
        }
        _ => {
            errors.add(&join(field, "type"), "must be \"uniform\" or \"lognormal\"");
            None
        }
    }
}

/// The global settings' delays: `fixedDelay` and `delayDistribution`, as a
/// stub's `fixedDelayMilliseconds` and `delayDistribution` read them.
pub fn parse_global_delays(
    fixed: Option<&Value>,
    distribution: Option<&Value>,
) -> Result<(Delay, Delay), Vec<FieldError>> {
    let mut errors = Errors::default();
    let fixed = fixed
        .filter(|v| !v.is_null())
        .and_then(|v| millis(v, "fixedDelay", &mut errors))
        .map_or(Delay::None, Delay::Fixed);
    let distribution = distribution
        .filter(|v| !v.is_null())
        .and_then(|v| delay_distribution(v, "delayDistribution", &mut errors))
        .unwrap_or(Delay::None);
    if errors.0.is_empty() {
        Ok((fixed, distribution))
    } else {
        Err(errors.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_of_the_documented_shape_parse() {
        for text in [
            "http://example.com",
            "HTTPS://API.Example.com:443/v2/",
            "http://my_service:8080",
            "http://a-b.c-d.internal/x%20y/~z",
            "http://127.0.0.1:65535",
            "http://0.0.0.0",
            "http://[::1]:9000/",
            "http://[::]",
            "http://[fd00::5:1]",
            "http://[1:2:3:4:5:6:7:8]",
            "http://[1::8]",
            "http://[1:2:3:4:5:6:7::]",
            "http://example.com/v1?dropped=1&x=%20",
        ] {
            assert!(proxy_base_url(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn proxy_urls_outside_the_shape_are_refused() {
        for text in [
            "https://host*",
            "http://example.com/#top",
            "http://user:secret@example.com",
            "http://xn--a.example",
            "http://3com.example",
            "http://256.0.0.1",
            "http://example.com:65536",
            "http://example.com:",
            "http://[1:2:3:4:5:6:7:8:9]",
            "http://[:::]",
            "ftp://example.com",
            "/relative",
            "http://example.com/a b",
        ] {
            assert!(proxy_base_url(text).is_err(), "{text}");
        }
    }
}
