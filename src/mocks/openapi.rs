//! The OpenAPI schemas of the mocks' request bodies: a WireMock stub mapping,
//! a request pattern, an import, an `/endpoints` envelope. The parsers
//! ([`super::parse`], [`super::endpoint_view`]) decide; these schemas say the
//! same in JSON Schema, so that a client (or a fuzzer) can tell from the
//! document which bodies are accepted. A rule JSON Schema cannot state (a
//! regular expression must compile, a template must parse) is in the descriptions.
//!
//! They are written as JSON Schema text rather than derived: the stub format
//! needs `not`, `if`/`then` and `propertyNames`, which utoipa has no builder
//! for. [`raw`] carries such a schema whole.

use std::borrow::Cow;

use serde_json::{Map, Value, json};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType};
use utoipa::openapi::{Ref, RefOr};

use super::matcher::{COMPARISON_TYPES, SCHEMA_VERSIONS};
use super::parse::request::URL_KEYS;
use super::parse::response::{PROXY_DETAIL_KEYS, PROXY_URL_PATTERN};
use crate::http::hop_headers::HOP_BY_HOP_AND_FRAMING;

/// A schema given as JSON Schema text. utoipa's `Object` with no type
/// serializes nothing of its own, and its extension map is written flattened,
/// so every keyword of `schema` comes out as written.
fn raw(schema: Value) -> RefOr<Schema> {
    let keywords: Map<String, Value> = match schema {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    RefOr::T(Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::AnyValue)
            .extensions(Some(Extensions::from_iter(keywords)))
            .build(),
    ))
}

fn component(name: &str) -> Value {
    json!({ "$ref": Ref::from_schema_name(name).ref_location })
}

/// An HTTP token (RFC 9110 §5.6.2): a method or a header name.
const TOKEN: &str = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/// What a header value may hold: no control character but tab (bytes
/// past ASCII are obs-text, which `HeaderValue` takes).
const HEADER_VALUE: &str = r"^[^\x00-\x08\x0a-\x1f\x7f]*$";
/// A UUID as the `uuid` crate reads one: hyphenated, plain, braced or URN.
const UUID: &str = r"^(?:[0-9a-fA-F]{32}|(?:urn:uuid:)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\})$";
/// Canonical standard base64, padded (the decoder refuses stray trailing bits).
const BASE64: &str =
    r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$";
/// A JSONPath starts with `$`; whether the rest parses is the parser's to say
/// (RFC 9535 and Jayway's forms), as the description tells.
const JSON_PATH: &str = r"^\s*\$";
/// A URL path template: segments, or whole-segment `{name}` parameters.
const PATH_TEMPLATE: &str = r"^(?:/(?:[^/{}]*|\{[^/{}*]+\}))+$";
/// The longest delay a stub may ask for, in milliseconds (the parser's limit).
const MAX_DELAY_MS: u64 = 10 * 60 * 1000;

/// The paths echobase's own routes serve ([`super::reserved_paths`]), as a
/// pattern: `/`, and each prefix with everything below it.
fn reserved_path_pattern(query_after_root: bool) -> String {
    let prefixes: Vec<String> = super::reserved_paths::RESERVED_PREFIXES
        .iter()
        .map(|p| regex::escape(p.trim_start_matches('/')))
        .collect();
    let root_query = if query_after_root { r"|\?[\s\S]*" } else { "" };
    format!(
        r"^/(?:(?:{})(?:[/?][\s\S]*)?{root_query})?$",
        prefixes.join("|")
    )
}

/// A header name in any case, as a pattern.
fn any_case(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else {
                regex::escape(&c.to_string())
            }
        })
        .collect()
}

/// Header names a mock may set: tokens, but not the headers the server owns.
fn settable_header_name() -> Value {
    let owned: Vec<String> = HOP_BY_HOP_AND_FRAMING.iter().map(|n| any_case(n)).collect();
    json!({
        "pattern": TOKEN,
        "not": {"pattern": format!("^(?:{})$", owned.join("|"))},
    })
}

fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

/// Leaf matchers; `and`/`or` hold these.
fn leaf_matchers() -> Vec<Value> {
    let text = |op: &str| {
        json!({"type": "object", "required": [op], "additionalProperties": false,
            "properties": {op: {"type": "string"}}})
    };
    let regex = |op: &str| {
        json!({"type": "object", "required": [op], "additionalProperties": false,
            "properties": {op: {"type": "string", "format": "regex",
                "description": "A regular expression (Rust `regex` syntax), matched against the whole value"}}})
    };
    let schema_versions: Vec<Value> = SCHEMA_VERSIONS
        .iter()
        .map(|(name, _)| json!(name))
        .chain([Value::Null])
        .collect();
    vec![
        json!({"type": "object", "required": ["equalTo"], "additionalProperties": false,
            "properties": {"equalTo": {"type": "string"}, "caseInsensitive": {"type": "boolean"}}}),
        text("contains"),
        text("doesNotContain"),
        regex("matches"),
        regex("doesNotMatch"),
        json!({"type": "object", "required": ["absent"], "additionalProperties": false,
            "properties": {"absent": {"type": "boolean"}}}),
        json!({"type": "object", "required": ["equalToJson"], "additionalProperties": false,
            "properties": {
                "equalToJson": {"type": ["object", "array", "number", "boolean", "null"],
                    "description": "The JSON to compare with (WireMock's string form, JSON text in a string, is read too)"},
                "ignoreArrayOrder": {"type": "boolean"},
                "ignoreExtraElements": {"type": "boolean"}}}),
        json!({"type": "object", "required": ["binaryEqualTo"], "additionalProperties": false,
            "properties": {"binaryEqualTo": {"type": "string", "pattern": BASE64,
                "description": "The exact bytes, in base64"}}}),
        date_time("before"),
        date_time("after"),
        date_time("equalToDateTime"),
        json!({"type": "object", "required": ["matchesJsonPath"], "additionalProperties": false,
            "properties": {"matchesJsonPath": {"type": "string", "pattern": JSON_PATH,
                "description": "A JSONPath, as WireMock users write it (Jayway's dialect, evaluated per RFC 9535): names, indices, wildcards, filters (`[?(@.qty > 2)]`), recursive descent (`..name`), slices, unions and `.length()`; one that does not parse is a 422. An object form `{\"expression\": ..., <matcher>}` is read too."}}}),
        json!({"type": "object", "required": ["equalToXml"], "additionalProperties": false,
            "properties": {
                "equalToXml": {"type": "string", "minLength": 1,
                    "description": "Well-formed XML without entity declarations (else a 422), compared as WireMock's XMLUnit does (whitespace, comments, prefixes and order aside)"},
                "enablePlaceholders": {"type": ["boolean", "null"]},
                "placeholderOpeningDelimiterRegex": {"type": ["string", "null"], "format": "regex"},
                "placeholderClosingDelimiterRegex": {"type": ["string", "null"], "format": "regex"},
                "exemptedComparisons": nullable(json!({"type": "array", "items": {"enum": COMPARISON_TYPES.as_slice()}})),
                "ignoreOrderOfSameNode": {"type": ["boolean", "null"]},
                "namespaceAwareness": {"enum": ["STRICT", "NONE", "LEGACY", null],
                    "description": "STRICT: namespaces and local names; NONE: names as written, prefixes included; LEGACY: local names only"}}}),
        json!({"type": "object", "required": ["matchesXPath"], "additionalProperties": false,
            "properties": {
                "matchesXPath": {"type": "string", "minLength": 1, "maxLength": 1024,
                    "description": "An XPath 1.0 expression (at most 1,024 bytes, brackets nested at most 32 deep, every prefix declared in xPathNamespaces; one that does not parse is a 422). An object form `{\"expression\": ..., <matcher>}` is read too"},
                "xPathNamespaces": nullable(json!({"type": "object",
                    "propertyNames": {"minLength": 1},
                    "additionalProperties": {"type": "string"}}))}}),
        json!({"type": "object", "required": ["matchesJsonSchema"], "additionalProperties": false,
            "properties": {
                "matchesJsonSchema": json_schema_document(),
                "schemaVersion": {"enum": schema_versions}}}),
    ]
}

/// A JSON Schema document: whether it compiles is the parser's to say.
fn json_schema_document() -> Value {
    json!({
        "type": ["object", "boolean", "string"],
        "description": "A JSON Schema (draft 4 to 2020-12, by schemaVersion or its own $schema), or its JSON text; one that does not compile, or a $ref outside the schema (never fetched), is a 422",
    })
}

/// `before`, `after` or `equalToDateTime`: a date-time or `now` with an
/// offset, and options; whether the texts parse is the parser's to say.
fn date_time(op: &str) -> Value {
    let text = json!({"type": ["string", "null"]});
    json!({"type": "object", "required": [op], "additionalProperties": false,
    "description": "Compares a date-time (RFC 3339, a local date-time or date read as UTC, or RFC 1123) with this one: a date-time, or `now` with an offset such as `now +3 days`. `expectedOffset` (a whole number) with `expectedOffsetUnit` (seconds to years) moves it; `truncateExpected` / `truncateActual` (`first minute of hour`, `first hour of day`, `first day of month`, `first day of next month`, `last day of month`, `first day of year`, `first day of next year`, `last day of year`, `first second of minute`) round either side; `actualFormat` (a Java pattern such as `dd/MM/yyyy HH:mm:ss`, or `unix` / `epoch`) reads the actual value. A text that does not parse is a 422",
    "properties": {
        op: {"type": "string"},
        "expectedOffset": {"type": ["integer", "null"]},
        "expectedOffsetUnit": text,
        "truncateExpected": text,
        "truncateActual": text,
        "actualFormat": text,
    }})
}

/// A string matcher such as `{"equalTo": "x"}`: exactly one operator.
fn string_matcher() -> Value {
    let mut variants = leaf_matchers();
    let leaf = json!({"anyOf": leaf_matchers()});
    for op in ["and", "or", "hasExactly", "includes"] {
        variants.push(
            json!({"type": "object", "required": [op], "additionalProperties": false,
            "properties": {op: {"type": "array", "items": leaf}}}),
        );
    }
    variants.push(
        json!({"type": "object", "required": ["not"], "additionalProperties": false,
        "properties": {"not": leaf}}),
    );
    json!({"anyOf": variants})
}

fn named_matchers(description: &str) -> Value {
    nullable(json!({"type": "object", "description": description,
        "additionalProperties": component(STRING_MATCHER)}))
}

const STRING_MATCHER: &str = "MockStringMatcher";
const REQUEST_PATTERN: &str = "MockRequestPattern";
const RESPONSE_DEFINITION: &str = "MockResponseDefinition";
const STUB_MAPPING: &str = "MockStubMapping";

/// A request pattern: every condition optional, at most one URL condition.
fn request_pattern() -> Value {
    let path = |reserved_query: bool, description: &str| {
        nullable(json!({"type": "string", "pattern": "^/",
            "not": {"pattern": reserved_path_pattern(reserved_query)},
            "description": description}))
    };
    let regex = nullable(json!({"type": "string", "format": "regex"}));
    let mut both_given = Vec::new();
    for (i, a) in URL_KEYS.iter().enumerate() {
        for b in &URL_KEYS[i + 1..] {
            both_given.push(json!({"required": [a, b],
                "properties": {*a: {"type": "string"}, *b: {"type": "string"}}}));
        }
    }
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "Conditions a request must meet, all optional; at most one of url, urlPath, urlPattern, urlPathPattern, urlPathTemplate. A path echobase serves itself cannot be mocked.",
        "properties": {
            "method": nullable(json!({"type": "string", "pattern": TOKEN, "description": "An HTTP method, or ANY"})),
            "url": path(true, "The path and query, exactly"),
            "urlPath": path(false, "The path, exactly"),
            "urlPattern": regex,
            "urlPathPattern": regex,
            "urlPathTemplate": nullable(json!({"type": "string", "pattern": PATH_TEMPLATE,
                "not": {"pattern": reserved_path_pattern(false)},
                "description": "A path with `{name}` segments (each name once)"})),
            "pathParameters": nullable(json!({"type": "object", "maxProperties": 0,
                "description": "Matchers for the urlPathTemplate's parameters, by name (only its own names; this schema shows none)"})),
            "queryParameters": named_matchers("Matchers by query parameter name"),
            "headers": named_matchers("Matchers by header name (any case)"),
            "cookies": named_matchers("Matchers by cookie name"),
            "bodyPatterns": nullable(json!({"type": "array", "items": component(STRING_MATCHER)})),
            "formParameters": named_matchers("Matchers by field of an `application/x-www-form-urlencoded` body"),
            "multipartPatterns": nullable(json!({"type": "array",
                "description": "Conditions on the parts of a multipart body: some part (ANY, the default) or every part (ALL) meets its headers' and body's matchers",
                "items": {"type": "object", "additionalProperties": false, "properties": {
                    "matchingType": {"enum": ["ANY", "ALL", null]},
                    "name": {"type": ["string", "null"], "description": "Shorthand for a Content-Disposition naming the part"},
                    "headers": named_matchers("Matchers by the part's header name (any case)"),
                    "bodyPatterns": nullable(json!({"type": "array", "items": component(STRING_MATCHER)})),
                }}})),
            "scheme": nullable(json!({"enum": ["http", "https"]})),
            "host": nullable(component(STRING_MATCHER)),
            "port": nullable(json!({"type": "integer", "minimum": 0, "maximum": 65535,
                "description": "The port the client addressed (the `Host` header's, else the scheme's default)"})),
            "clientIp": nullable(component(STRING_MATCHER)),
            "basicAuthCredentials": nullable(json!({"type": "object", "additionalProperties": false,
                "required": ["username", "password"],
                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                "description": "Shorthand for an `Authorization: Basic` header of these credentials"})),
        },
        "not": {"anyOf": both_given},
    })
}

/// A recording's spec: which journal entries become stubs and how. `start`
/// needs the target; a snapshot has none.
fn record_spec(start: bool) -> Value {
    let flag = json!({"type": ["boolean", "null"]});
    let mut filters = request_pattern();
    filters["description"] = json!(
        "Only the journal entries this request pattern matches (any, without conditions), of these serve event ids, and answered by a proxy stub unless allowNonProxied"
    );
    filters["properties"]["ids"] =
        nullable(json!({"type": "array", "items": {"type": "string", "pattern": UUID}}));
    filters["properties"]["allowNonProxied"] = flag.clone();
    let size = nullable(json!({"anyOf": [{"type": "integer", "minimum": 0},
        {"type": "string", "pattern": "^ *[0-9]+(?:[.,][0-9]+)? *[KkMmGg]?[Bb]? *$"}]}));
    let body_pattern = json!({"anyOf": [
        {"type": "object", "additionalProperties": false, "properties": {
            "matcher": {"enum": ["auto", null]}, "ignoreArrayOrder": flag, "ignoreExtraElements": flag,
            "caseInsensitive": flag}},
        {"type": "object", "required": ["matcher"], "additionalProperties": false, "properties": {
            "matcher": {"const": "equalTo"}, "caseInsensitive": flag}},
        {"type": "object", "required": ["matcher"], "additionalProperties": false, "properties": {
            "matcher": {"const": "equalToJson"}, "ignoreArrayOrder": flag, "ignoreExtraElements": flag}},
        {"type": "object", "required": ["matcher"], "additionalProperties": false, "properties": {
            "matcher": {"const": "equalToXml"}}},
    ]});
    let target = if start {
        json!({"type": "string", "pattern": PROXY_URL_PATTERN,
            "description": "Where the recording's proxy stub sends every request (it must be in mocks.proxy_allowed_targets to be reached)"})
    } else {
        nullable(
            json!({"type": "string", "pattern": PROXY_URL_PATTERN, "description": "Not used by a snapshot"}),
        )
    };
    let mut spec = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "targetBaseUrl": target,
            "filters": nullable(filters),
            "captureHeaders": nullable(json!({"type": "object",
                "additionalProperties": nullable(json!({"type": "object", "additionalProperties": false,
                    "properties": {"caseInsensitive": flag}})),
                "description": "Request headers matched (equalTo) in the recorded stubs, by name"})),
            "requestBodyPattern": nullable(body_pattern.clone()),
            "requestBodyPatternFactory": nullable(body_pattern),
            "extractBodyCriteria": nullable(json!({"type": "object", "additionalProperties": false,
                "properties": {"textSizeThreshold": size, "binarySizeThreshold": size},
                "description": "Response bodies larger than these (bytes, or \"10 KB\") go to body files"})),
            "outputFormat": nullable(json!({"type": "string", "pattern": "^(?:[Ff][Uu][Ll][Ll]|[Ii][Dd][Ss])$"})),
            "persist": flag,
            "repeatsAsScenarios": flag,
            "transformers": nullable(json!({"type": "array", "maxItems": 0,
                "description": "Stub mapping transformers are WireMock extensions; none here"})),
            "transformerParameters": {"description": "Ignored (there are no transformers)"},
        },
    });
    if start {
        spec["required"] = json!(["targetBaseUrl"]);
    }
    spec
}

/// A `delayDistribution`: uniform or lognormal.
fn delay_distribution() -> Value {
    let millis = json!({"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS});
    json!({"anyOf": [
        {"type": "object", "required": ["type", "lower", "upper"], "additionalProperties": false,
            "description": "A delay between lower and upper, whichever is the larger",
            "properties": {"type": {"const": "uniform"}, "lower": millis, "upper": millis}},
        {"type": "object", "required": ["type", "median", "sigma"], "additionalProperties": false,
            "properties": {"type": {"const": "lognormal"},
                "median": {"type": "number", "minimum": 0, "maximum": MAX_DELAY_MS},
                "sigma": {"type": "number", "minimum": 0},
                "maxValue": {"type": "number", "minimum": 0}}},
    ]})
}

/// A webhook's parameters: every text is a template over `originalRequest`
/// and `parameters` (the keys not listed here).
fn webhook() -> Value {
    let millis = json!({"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS});
    let fixed = json!({"type": "object", "required": ["type", "milliseconds"],
        "additionalProperties": false,
        "properties": {"type": {"const": "fixed"}, "milliseconds": millis}});
    let mut delays = delay_distribution();
    if let Some(list) = delays["anyOf"].as_array_mut() {
        list.push(fixed);
    }
    json!({
        "type": "object",
        "required": ["url"],
        "description": "Sent after the stub answers, to an address inside mocks.webhook_allowed_networks; any other key is a parameter templates read as {{parameters.key}}",
        "properties": {
            "method": {"type": ["string", "null"], "description": "GET unless given"},
            "url": {"type": "string"},
            "headers": nullable(json!({"type": "object", "propertyNames": {"pattern": TOKEN},
                "additionalProperties": {"anyOf": [{"type": "string"},
                    {"type": "array", "items": {"type": "string"}}]}})),
            "body": {"type": ["string", "null"]},
            "base64Body": nullable(json!({"type": "string", "pattern": BASE64})),
            "delay": nullable(delays),
        },
    })
}

fn serve_event_listener() -> Value {
    json!({"type": "object", "required": ["name", "parameters"], "additionalProperties": false,
    "properties": {
        "name": {"const": "webhook"},
        "parameters": webhook(),
        "requestPhases": nullable(json!({"type": "array", "items": {"const": "AFTER_COMPLETE"}})),
    }})
}

/// WireMock's global settings, as `POST`/`PUT /__admin/settings` take them.
fn global_settings() -> Value {
    let millis = json!({"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS});
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "fixedDelay": nullable(millis),
            "delayDistribution": nullable(delay_distribution()),
            "extended": {"type": ["object", "null"], "description": "Kept as given, for clients that set it"},
            "proxyPassThrough": {"type": ["boolean", "null"]},
        },
    })
}

/// A stub's response: status, headers, one body, delays, a fault.
fn response_definition() -> Value {
    let header_text = json!({"type": "string", "pattern": HEADER_VALUE});
    let millis = json!({"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS});
    let bodies = ["body", "jsonBody", "base64Body"];
    let mut two_bodies = Vec::new();
    for (i, a) in bodies.iter().enumerate() {
        for b in &bodies[i + 1..] {
            two_bodies.push(json!({"required": [a, b],
                "properties": {*a: {"not": {"type": "null"}}, *b: {"not": {"type": "null"}}}}));
        }
    }
    // A proxy stub sends the target's body, as it arrives.
    for sent_by_target in [
        "body",
        "jsonBody",
        "base64Body",
        "bodyFileName",
        "chunkedDribbleDelay",
    ] {
        two_bodies.push(json!({"required": ["proxyBaseUrl", sent_by_target],
            "properties": {"proxyBaseUrl": {"not": {"type": "null"}},
                sent_by_target: {"not": {"type": "null"}}}}));
    }
    // A stub made from an OpenAPI document answers from the document.
    for answered_by_document in [
        "body",
        "jsonBody",
        "base64Body",
        "bodyFileName",
        "chunkedDribbleDelay",
        "proxyBaseUrl",
        "fault",
        "status",
        "headers",
    ] {
        two_bodies.push(
            json!({"required": ["openApiOperation", answered_by_document],
            "properties": {"openApiOperation": {"not": {"type": "null"}},
                answered_by_document: {"not": {"type": "null"}}}}),
        );
    }
    let beside_proxy = PROXY_DETAIL_KEYS.map(|detail| {
        json!({
            "if": {"required": [detail], "properties": {detail: {"not": {"type": "null"}}}},
            "then": {"required": ["proxyBaseUrl"], "properties": {"proxyBaseUrl": {"type": "string"}}},
        })
    });
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "What the stub answers; at most one of body, jsonBody, base64Body, bodyFileName, or proxyBaseUrl to answer with another server's response. With transformers [\"response-template\"], body, jsonBody, header values and proxyBaseUrl are Handlebars templates and must parse.",
        "allOf": beside_proxy,
        "properties": {
            "status": {"type": "integer", "minimum": 200, "maximum": 599},
            "statusMessage": {"type": ["string", "null"]},
            "headers": nullable(json!({"type": "object",
                "propertyNames": settable_header_name(),
                "additionalProperties": {"anyOf": [header_text, {"type": ["number", "boolean"]},
                    {"type": "array", "items": header_text}]},
                "description": "Header values by name. Connection, Content-Length, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding and Upgrade are the server's own"})),
            "body": {"type": ["string", "null"]},
            "jsonBody": {"description": "Any JSON, sent as the body"},
            "base64Body": nullable(json!({"type": "string", "pattern": BASE64})),
            "bodyFileName": nullable(json!({"anyOf": [file_name(), {"type": "string", "pattern": r"\{\{"}],
                "description": "A body file's name (`PUT /__admin/files/{name}`, or DIR/__files of `--mappings DIR`); in a templated response, a template that renders one"})),
            "fixedDelayMilliseconds": nullable(millis.clone()),
            "delayDistribution": nullable(delay_distribution()),
            "chunkedDribbleDelay": nullable(json!({"type": "object",
                "required": ["numberOfChunks", "totalDuration"], "additionalProperties": false,
                "properties": {"numberOfChunks": {"type": "integer", "minimum": 1, "maximum": 10_000},
                    "totalDuration": millis}})),
            "fault": nullable(json!({"enum": ["CONNECTION_RESET_BY_PEER", "EMPTY_RESPONSE",
                "MALFORMED_RESPONSE_CHUNK", "RANDOM_DATA_THEN_CLOSE"]})),
            "transformers": nullable(json!({"type": "array", "items": {"const": "response-template"}})),
            "transformerParameters": nullable(json!({"type": "object"})),
            "proxyBaseUrl": nullable(json!({"type": "string", "pattern": PROXY_URL_PATTERN,
                "description": "Forward the request to this http or https URL (the request's path and query appended) and answer with the response; the target must be in the setting mocks.proxy_allowed_targets. In a templated response it may also be a template that renders one"})),
            "proxyUrlPrefixToRemove": nullable(json!({"type": "string", "pattern": "^/",
                "description": "Cut from the start of the request's path before it is appended; only beside proxyBaseUrl"})),
            "additionalProxyRequestHeaders": nullable(json!({"type": "object",
                "propertyNames": settable_header_name(),
                "additionalProperties": {"anyOf": [header_text, {"type": ["number", "boolean"]},
                    {"type": "array", "items": header_text}]},
                "description": "Headers set on the forwarded request; only beside proxyBaseUrl"})),
            "removeProxyRequestHeaders": nullable(json!({"type": "array",
                "items": {"type": "string", "pattern": TOKEN},
                "description": "Headers of the request not forwarded; only beside proxyBaseUrl"})),
            "openApiOperation": nullable(json!({"type": "object",
                "required": ["document", "sha256", "method", "path"],
                "additionalProperties": false,
                "properties": {
                    "document": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
                    "sha256": {"type": "string"},
                    "method": {"enum": crate::mocks::oas::document::METHODS},
                    "path": {"type": "string", "pattern": "^/"},
                    "prefix": {"type": ["string", "null"]},
                },
                "description": "Written by POST /__admin/openapi: answer as this operation of that loaded OpenAPI document (checking the request against it); nothing beside it but delays"})),
        },
        "not": {"anyOf": two_bodies},
    })
}

/// A whole stub mapping. On update the path names the stub: the body's `id`
/// and `uuid` are replaced, whatever they hold.
fn stub_mapping(update: bool) -> Value {
    let uuid = if update {
        json!({"description": "Ignored: the path's id is the stub's"})
    } else {
        nullable(json!({"type": "string", "pattern": UUID}))
    };
    let needs_scenario = |state: &str| {
        json!({
            "if": {"required": [state], "properties": {state: {"type": "string"}}},
            "then": {"required": ["scenarioName"], "properties": {"scenarioName": {"type": "string"}}},
        })
    };
    json!({
        "type": "object",
        "required": ["request"],
        "additionalProperties": false,
        "description": "A WireMock stub mapping. A field echobase does not implement is refused (422), never ignored.",
        "properties": {
            "id": uuid,
            "uuid": uuid,
            "name": {"type": ["string", "null"]},
            "request": component(REQUEST_PATTERN),
            "response": nullable(component(RESPONSE_DEFINITION)),
            "priority": nullable(json!({"type": "integer", "minimum": 1, "maximum": i64::MAX})),
            "scenarioName": {"type": ["string", "null"]},
            "requiredScenarioState": {"type": ["string", "null"]},
            "newScenarioState": {"type": ["string", "null"]},
            "persistent": {"type": ["boolean", "null"]},
            "metadata": {"description": "Anything; kept and shown back"},
            "insertionIndex": {"description": "Ignored (WireMock's own bookkeeping)"},
            "serveEventListeners": nullable(json!({"type": "array", "items": serve_event_listener()})),
            "postServeActions": nullable(json!({"anyOf": [
                {"type": "array", "items": serve_event_listener()},
                {"type": "object", "additionalProperties": false,
                    "description": "WireMock 2's form", "properties": {"webhook": webhook()}},
            ]})),
        },
        "allOf": [needs_scenario("requiredScenarioState"), needs_scenario("newScenarioState")],
    })
}

/// Marks the POST and PUT request bodies of `paths` optional: utoipa
/// documents a body as required unless its type is an `Option`, which would
/// also let `null` in, and these routes refuse `null` but take no body at all
/// (WireMock counts every request then, or resets the settings).
pub fn body_optional(openapi: &mut utoipa::openapi::OpenApi, paths: &[&str]) {
    for path in paths {
        let Some(item) = openapi.paths.paths.get_mut(*path) else {
            continue;
        };
        for operation in [item.post.as_mut(), item.put.as_mut(), item.patch.as_mut()]
            .into_iter()
            .flatten()
        {
            if let Some(RefOr::T(body)) = operation.request_body.as_mut() {
                body.required = Some(utoipa::openapi::Required::False);
            }
        }
    }
}

/// Adds the shared schemas that the mocks' request bodies refer to by `$ref`.
pub fn add_components(openapi: &mut utoipa::openapi::OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    for (name, schema) in [
        (STRING_MATCHER, string_matcher()),
        (REQUEST_PATTERN, request_pattern()),
        (RESPONSE_DEFINITION, response_definition()),
        (STUB_MAPPING, stub_mapping(false)),
    ] {
        components.schemas.insert(name.to_owned(), raw(schema));
    }
}

macro_rules! schema_type {
    ($(#[$doc:meta])* $type:ident, $name:expr, $build:expr) => {
        $(#[$doc])*
        pub struct $type;

        impl utoipa::PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                raw($build)
            }
        }

        // The components these schemas refer to come from [`add_components`],
        // once: built for every route that names a schema, they were a third
        // of the server's start-up.
        impl utoipa::ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

fn file_name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": crate::mocks::files::MAX_NAME_LEN,
        "pattern": crate::mocks::files::name_pattern()})
}

schema_type!(
    /// A body file's name: folders and a file, joined by `/`.
    FileNameSchema,
    "MockFileName",
    file_name()
);

schema_type!(
    /// A WireMock stub mapping (the body of `POST /__admin/mappings`).
    StubMappingSchema,
    STUB_MAPPING,
    stub_mapping(false)
);

schema_type!(
    /// The body of `PUT /__admin/mappings/{id}`.
    StubMappingUpdateSchema,
    "MockStubMappingUpdate",
    stub_mapping(true)
);

schema_type!(
    /// The body of `PUT /__admin/scenarios/{name}/state`.
    ScenarioStateSchema,
    "MockScenarioState",
    json!({
        "type": "object",
        "properties": {"state": {"type": ["string", "null"],
            "description": "The state to set; Started when left out or null"}},
    })
);

schema_type!(
    /// A request pattern (the body of `requests/count` and `requests/find`).
    RequestPatternSchema,
    REQUEST_PATTERN,
    request_pattern()
);

schema_type!(
    /// The body of `POST /__admin/recordings/snapshot`.
    RecordSpecSchema,
    "MockRecordSpec",
    record_spec(false)
);

schema_type!(
    /// The body of `POST /__admin/recordings/start`.
    RecordStartSchema,
    "MockRecordStart",
    record_spec(true)
);

schema_type!(
    /// The body of `POST /__admin/mappings/import`.
    ImportSchema,
    "MockImport",
    json!({
        "type": "object",
        "required": ["mappings"],
        "additionalProperties": false,
        "properties": {
            "mappings": {"type": "array", "items": component(STUB_MAPPING)},
            "importOptions": {"type": ["object", "null"], "properties": {
                "duplicatePolicy": {"enum": ["OVERWRITE", "IGNORE", null]},
                "deleteAllNotInImport": {"type": ["boolean", "null"]},
            }},
            "meta": {"description": "Ignored (WireMock's listing metadata)"},
        },
    })
);

schema_type!(
    /// A value matcher (the body of the `*-by-metadata` routes, applied to `metadata` as JSON).
    StringMatcherSchema,
    STRING_MATCHER,
    string_matcher()
);

schema_type!(
    /// WireMock's global settings, bare or inside `{"settings": ...}` (as `GET` shows them).
    GlobalSettingsSchema,
    "MockGlobalSettings",
    json!({"anyOf": [
        global_settings(),
        {"type": "object", "required": ["settings"], "additionalProperties": false,
            "properties": {"settings": global_settings()}},
    ]})
);

schema_type!(
    /// Values merged into the global settings' `extended`.
    ExtendedSettingsSchema,
    "MockExtendedSettings",
    json!({"type": "object", "description": "Any members, merged into `extended`"})
);

schema_type!(
    /// A request as the journal shows one (the body of `POST /__admin/near-misses/request`).
    DescribedRequestSchema,
    "MockLoggedRequest",
    json!({
        "type": "object",
        "required": ["url"],
        "description": "WireMock's LoggedRequest: other members (absoluteUrl, loggedDate, ...) are ignored",
        "properties": {
            "url": {"type": "string", "pattern": "^/", "description": "The path and query"},
            "method": {"type": ["string", "null"], "pattern": TOKEN},
            "headers": {"type": ["object", "null"],
                "propertyNames": {"pattern": TOKEN},
                "additionalProperties": {"anyOf": [
                    {"type": "string", "pattern": HEADER_VALUE},
                    {"type": "array", "items": {"type": "string", "pattern": HEADER_VALUE}},
                ]}},
            "body": {"type": ["string", "null"]},
            "bodyAsBase64": {"type": ["string", "null"], "pattern": BASE64},
        },
    })
);

/// The original `/endpoints` response fields, for create (`code` required)
/// or patch (each optional, merged into the endpoint's).
fn endpoint_response(patch: bool) -> Value {
    let required: &[&str] = if patch { &[] } else { &["code"] };
    let header_text = json!({"type": "string", "pattern": HEADER_VALUE});
    json!({
        "type": "object",
        "required": required,
        "additionalProperties": false,
        "minProperties": 1,
        "properties": {
            "code": {"type": "integer", "minimum": 200, "maximum": 599,
                "description": "A whole number written without a decimal point: as the original, `290.0` is a 400"},
            "headers": {
                "description": "A dictionary of header values; as the original, an empty value of another type (\"\", 0, false, []) or null is no headers",
                "anyOf": [
                    {"type": "object", "propertyNames": settable_header_name(),
                        "additionalProperties": {"anyOf": [header_text, {"type": "number"}]}},
                    {"enum": [null, "", 0, false]},
                    {"type": "array", "maxItems": 0},
                ]},
            "body": {"description": "A string is sent as is; other JSON is sent as JSON"},
        },
    })
}

fn endpoint_envelope(patch: bool) -> Value {
    let required: &[&str] = if patch {
        &[]
    } else {
        &["verb", "path", "response"]
    };
    let attributes = json!({
        "type": "object",
        "required": required,
        "properties": {
            "verb": {"enum": super::endpoint_view::ENDPOINT_VERBS},
            "path": {"type": "string", "minLength": 1,
                "not": {"pattern": reserved_path_pattern(false).replacen("^/", "^/?", 1)},
                "description": "The exact path (a leading / is added when missing); a path echobase serves itself is refused"},
            "response": endpoint_response(patch),
        },
    });
    json!({
        "type": "object",
        "required": ["data"],
        "properties": {"data": {
            "type": "object",
            "required": ["attributes"],
            "properties": {"type": {"description": "`endpoints` (not checked)"}, "attributes": attributes},
        }},
    })
}

schema_type!(
    /// The body of `POST /endpoints`.
    EndpointCreateSchema,
    "EndpointCreate",
    endpoint_envelope(false)
);

schema_type!(
    /// The body of `PATCH /endpoints/{id}`.
    EndpointPatchSchema,
    "EndpointPatch",
    endpoint_envelope(true)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_schema_serializes_as_written() {
        let schema = json!({"type": "object", "not": {"required": ["a"]}});
        assert_eq!(serde_json::to_value(raw(schema.clone())).ok(), Some(schema));
    }

    #[test]
    fn the_reserved_path_pattern_agrees_with_is_reserved() {
        let pattern = regex::Regex::new(&reserved_path_pattern(false)).ok();
        let Some(pattern) = pattern else {
            panic!("the reserved path pattern does not compile");
        };
        for path in [
            "/",
            "/echo",
            "/echo/x",
            "/echo?x",
            "/__admin/mappings",
            "/echoes",
            "/api",
            "/x/echo",
        ] {
            assert_eq!(
                pattern.is_match(path),
                super::super::reserved_paths::is_reserved(path),
                "{path}"
            );
        }
    }

    #[test]
    fn patterns_compile() {
        for p in [TOKEN, HEADER_VALUE, UUID, BASE64, JSON_PATH, PATH_TEMPLATE] {
            assert!(regex::Regex::new(p).is_ok(), "{p}");
        }
    }

    /// The document matchers: the schema takes every shape the parser takes
    /// and refuses the shapes it refuses; whether a text (XML, XPath, a JSON
    /// Schema) parses is left to the parser, as the descriptions say.
    #[test]
    fn document_matchers_agree_with_the_parser() {
        use crate::mocks::parse::request::parse_string_matcher;
        let schema = match jsonschema::validator_for(&string_matcher()) {
            Ok(v) => v,
            Err(e) => panic!("the matcher schema compiles: {e}"),
        };
        let both = [
            json!({"equalToXml": "<a/>"}),
            json!({"equalToXml": "<order_1.x/>", "enablePlaceholders": true,
                "placeholderOpeningDelimiterRegex": "#\\{", "placeholderClosingDelimiterRegex": null,
                "exemptedComparisons": ["NAMESPACE_URI", "ELEMENT_TAG_NAME"],
                "ignoreOrderOfSameNode": false, "namespaceAwareness": "STRICT"}),
            json!({"matchesXPath": "/a/b"}),
            json!({"matchesXPath": "/and/or/div/mod/text/node/comment"}),
            json!({"matchesXPath": "/a", "xPathNamespaces": {"s": "urn:s"}}),
            json!({"matchesJsonSchema": true}),
            json!({"matchesJsonSchema": {}, "schemaVersion": "V4"}),
            json!({"matchesJsonSchema": {"title": "t", "examples": [1], "x-any": {"type": 1}, "default": 3},
                "schemaVersion": "V202012"}),
            json!({"or": [{"equalToXml": "<a/>"}, {"matchesXPath": "/a"}]}),
            json!({"equalToXml": "<a/>", "namespaceAwareness": "LEGACY"}),
            json!({"equalToXml": "<a/>", "namespaceAwareness": "NONE"}),
        ];
        for matcher in &both {
            assert!(schema.is_valid(matcher), "schema refuses {matcher}");
            assert!(
                parse_string_matcher(matcher).is_ok(),
                "parser refuses {matcher}"
            );
        }
        let neither = [
            json!({"equalToXml": 1}),
            json!({"equalToXml": "<a/>", "exemptedComparisons": ["NOPE"]}),
            json!({"equalToXml": "<a/>", "namespaceAwareness": "SOME"}),
            json!({"equalToXml": "<a/>", "enablePlaceholders": "yes"}),
            json!({"equalToXml": "<a/>", "xPathNamespaces": {"s": "urn:s"}}),
            json!({"matchesXPath": ""}),
            json!({"matchesXPath": "/a", "xPathNamespaces": {"s": 1}}),
            json!({"matchesXPath": "/a", "schemaVersion": "V4"}),
            json!({"matchesJsonSchema": {}, "schemaVersion": "V5"}),
            json!({"matchesJsonSchema": 3}),
        ];
        for matcher in &neither {
            assert!(!schema.is_valid(matcher), "schema accepts {matcher}");
            assert!(
                parse_string_matcher(matcher).is_err(),
                "parser accepts {matcher}"
            );
        }
        // Shapes the schema takes, with texts the parser refuses (a 422).
        let texts_refused = [
            json!({"equalToXml": "<a>"}),
            json!({"equalToXml": "plain text"}),
            json!({"equalToXml": "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>"}),
            json!({"matchesXPath": "//\\&&&"}),
            json!({"matchesXPath": "/t:a"}),
            json!({"matchesJsonSchema": {"type": 12}}),
            json!({"matchesJsonSchema": {"$ref": "https://127.0.0.1:9/s.json"}}),
        ];
        for matcher in &texts_refused {
            assert!(schema.is_valid(matcher), "schema refuses {matcher}");
            assert!(
                parse_string_matcher(matcher).is_err(),
                "parser accepts {matcher}"
            );
        }
        let parser_only = [
            json!({"equalToXml": "<order><id>7</id></order>"}),
            json!({"matchesXPath": "count(//a) > 1"}),
            json!({"matchesXPath": {"expression": "/a/text()", "equalTo": "x"}}),
            json!({"matchesJsonSchema": "{\"type\": \"object\"}"}),
            json!({"matchesJsonSchema": {"type": "object", "required": ["id"]}}),
        ];
        for matcher in &parser_only {
            assert!(
                parse_string_matcher(matcher).is_ok(),
                "parser refuses {matcher}"
            );
        }
    }
}
