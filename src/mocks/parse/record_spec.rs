//! A recording's spec (the body of `/__admin/recordings/start` and
//! `/snapshot`), as WireMock's `RecordSpec` reads it.

use serde_json::Value;

use super::request::parse_request_pattern;
use super::response::proxy_base_url;
use super::{Errors, as_object, join, unknown_keys};
use crate::http::FieldError;
use crate::mocks::recording::{
    BodyPattern, CaptureHeader, Filters, Output, RecordSpec, Thresholds,
};

const SPEC_KEYS: [&str; 11] = [
    "targetBaseUrl",
    "filters",
    "captureHeaders",
    "requestBodyPattern",
    // What WireMock's Java client writes for requestBodyPattern (its getter's name).
    "requestBodyPatternFactory",
    "extractBodyCriteria",
    "outputFormat",
    "persist",
    "repeatsAsScenarios",
    "transformers",
    "transformerParameters",
];

/// Parses a spec (an object; `{}` is every default).
pub fn parse_record_spec(value: &Value) -> Result<RecordSpec, Vec<FieldError>> {
    let mut errors = Errors::default();
    let Some(obj) = as_object(value, "", &mut errors) else {
        return Err(errors.0);
    };
    unknown_keys(obj, &SPEC_KEYS, "", &mut errors);
    let present = |key: &str| obj.get(key).filter(|v| !v.is_null());
    let mut spec = RecordSpec::default();
    if let Some(target) = present("targetBaseUrl") {
        match target.as_str().map(proxy_base_url) {
            Some(Ok(url)) => spec.target_base_url = Some(url),
            Some(Err(e)) => errors.add("targetBaseUrl", e),
            None => errors.add("targetBaseUrl", "must be a URL (a string)"),
        }
    }
    if let Some(filters) = present("filters") {
        spec.filters = filters_at(filters, &mut errors);
    }
    if let Some(headers) = present("captureHeaders")
        && let Some(map) = as_object(headers, "captureHeaders", &mut errors)
    {
        for (name, options) in map {
            let field = join("captureHeaders", name);
            let case_insensitive = match options {
                Value::Null => false,
                Value::Object(options) => {
                    unknown_keys(options, &["caseInsensitive"], &field, &mut errors);
                    flag(options.get("caseInsensitive"), false, &field, &mut errors)
                }
                _ => {
                    errors.add(
                        &field,
                        "must be an object such as {\"caseInsensitive\": true}",
                    );
                    false
                }
            };
            spec.capture_headers.push(CaptureHeader {
                name: name.clone(),
                case_insensitive,
            });
        }
    }
    for key in ["requestBodyPattern", "requestBodyPatternFactory"] {
        if let Some(pattern) = present(key) {
            spec.body_pattern = body_pattern(pattern, key, &mut errors);
        }
    }
    if let Some(criteria) = present("extractBodyCriteria")
        && let Some(criteria) = as_object(criteria, "extractBodyCriteria", &mut errors)
    {
        unknown_keys(
            criteria,
            &["textSizeThreshold", "binarySizeThreshold"],
            "extractBodyCriteria",
            &mut errors,
        );
        let size = |key: &str, errors: &mut Errors| match criteria.get(key) {
            None | Some(Value::Null) => u64::MAX,
            Some(value) => file_size(value).unwrap_or_else(|e| {
                errors.add(&join("extractBodyCriteria", key), e);
                u64::MAX
            }),
        };
        spec.extract_bodies = Some(Thresholds {
            text: size("textSizeThreshold", &mut errors),
            binary: size("binarySizeThreshold", &mut errors),
        });
    }
    if let Some(format) = present("outputFormat") {
        match format.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("full") => spec.output = Output::Full,
            Some("ids") => spec.output = Output::Ids,
            _ => errors.add("outputFormat", "must be FULL or IDS"),
        }
    }
    spec.persist = flag(obj.get("persist"), true, "persist", &mut errors);
    spec.repeats_as_scenarios = flag(
        obj.get("repeatsAsScenarios"),
        true,
        "repeatsAsScenarios",
        &mut errors,
    );
    match present("transformers") {
        None => {}
        Some(Value::Array(names)) if names.is_empty() => {}
        Some(_) => errors.add(
            "transformers",
            "stub mapping transformers are WireMock extensions (Java code); echobase has none",
        ),
    }
    if errors.0.is_empty() {
        Ok(spec)
    } else {
        Err(errors.0)
    }
}

fn flag(value: Option<&Value>, default: bool, field: &str, errors: &mut Errors) -> bool {
    match value {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.add(field, "must be true or false");
            default
        }
    }
}

/// `filters`: a request pattern, plus `ids` and `allowNonProxied`.
fn filters_at(value: &Value, errors: &mut Errors) -> Filters {
    let mut filters = Filters::default();
    let Some(obj) = as_object(value, "filters", errors) else {
        return filters;
    };
    let mut pattern = obj.clone();
    if let Some(ids) = pattern.remove("ids").filter(|v| !v.is_null()) {
        match ids.as_array() {
            Some(items) => {
                let mut kept = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()) {
                        Some(id) => kept.push(id),
                        None => errors.add(&format!("filters.ids.{i}"), "must be a UUID"),
                    }
                }
                filters.ids = Some(kept);
            }
            None => errors.add("filters.ids", "must be an array of serve event ids"),
        }
    }
    filters.allow_non_proxied = flag(
        pattern.remove("allowNonProxied").as_ref(),
        false,
        "filters.allowNonProxied",
        errors,
    );
    if !pattern.is_empty() {
        match parse_request_pattern(&Value::Object(pattern), "filters") {
            Ok(pattern) => filters.pattern = Some(pattern),
            Err(found) => errors.0.extend(found),
        }
    }
    filters
}

/// `requestBodyPattern`: `{"matcher": "auto" | "equalTo" | "equalToJson" |
/// "equalToXml", ...its options}`.
fn body_pattern(value: &Value, field: &str, errors: &mut Errors) -> BodyPattern {
    let Some(obj) = as_object(value, field, errors) else {
        return BodyPattern::default();
    };
    let option = |key: &str, default: bool, errors: &mut Errors| {
        flag(obj.get(key), default, &join(field, key), errors)
    };
    let matcher = match obj.get("matcher") {
        None | Some(Value::Null) => "auto",
        Some(Value::String(matcher)) => matcher.as_str(),
        Some(_) => "",
    };
    match matcher {
        "auto" => {
            unknown_keys(
                obj,
                &[
                    "matcher",
                    "ignoreArrayOrder",
                    "ignoreExtraElements",
                    "caseInsensitive",
                ],
                field,
                errors,
            );
            BodyPattern::Auto {
                ignore_array_order: option("ignoreArrayOrder", true, errors),
                ignore_extra_elements: option("ignoreExtraElements", true, errors),
                case_insensitive: option("caseInsensitive", false, errors),
            }
        }
        "equalTo" => {
            unknown_keys(obj, &["matcher", "caseInsensitive"], field, errors);
            BodyPattern::EqualTo {
                case_insensitive: option("caseInsensitive", false, errors),
            }
        }
        "equalToJson" => {
            unknown_keys(
                obj,
                &["matcher", "ignoreArrayOrder", "ignoreExtraElements"],
                field,
                errors,
            );
            BodyPattern::EqualToJson {
                ignore_array_order: option("ignoreArrayOrder", false, errors),
                ignore_extra_elements: option("ignoreExtraElements", false, errors),
            }
        }
        "equalToXml" => {
            unknown_keys(obj, &["matcher"], field, errors);
            BodyPattern::EqualToXml
        }
        _ => {
            errors.add(
                &join(field, "matcher"),
                "must be auto, equalTo, equalToJson or equalToXml",
            );
            BodyPattern::default()
        }
    }
}

/// A size as WireMock reads one: a number of bytes, or text such as
/// `"10240"`, `"10 KB"`, `"1.5m"` (K, M, G are powers of 1,024).
fn file_size(value: &Value) -> Result<u64, String> {
    if let Some(n) = value.as_u64() {
        return Ok(n);
    }
    let refuse = || format!("{value} is not a size such as 10240 or \"10 KB\"");
    let text = value.as_str().ok_or_else(refuse)?.trim().replace(',', ".");
    let lower = text.to_ascii_lowercase();
    let without_b = lower.strip_suffix('b').unwrap_or(&lower);
    let (number, scale) = match without_b.chars().last() {
        Some('k') => (&without_b[..without_b.len() - 1], 1024.0),
        Some('m') => (&without_b[..without_b.len() - 1], 1024.0 * 1024.0),
        Some('g') => (&without_b[..without_b.len() - 1], 1024.0 * 1024.0 * 1024.0),
        _ => (without_b, 1.0),
    };
    let number = number.trim();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(refuse());
    }
    number
        .parse::<f64>()
        .map(|n| (n * scale).round() as u64)
        .map_err(|_| refuse())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sizes_read_as_wiremock_reads_them() {
        assert_eq!(file_size(&json!(10240)), Ok(10240));
        assert_eq!(file_size(&json!("10240")), Ok(10240));
        assert_eq!(file_size(&json!("10 KB")), Ok(10240));
        assert_eq!(file_size(&json!("1,5m")), Ok(1_572_864));
        assert_eq!(file_size(&json!("2g")), Ok(2 * 1024 * 1024 * 1024));
        for bad in [
            json!("ten"),
            json!("5 TB"),
            json!(-1),
            json!(""),
            json!(true),
        ] {
            assert!(file_size(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_spec_is_every_default() {
        let spec = parse_record_spec(&json!({})).unwrap();
        assert!(
            parse_record_spec(&Value::Null).is_err(),
            "null is not a spec"
        );
        assert!(spec.persist && spec.repeats_as_scenarios);
        assert_eq!(spec.output, Output::Full);
        assert!(spec.target_base_url.is_none() && spec.extract_bodies.is_none());
        assert!(matches!(
            spec.body_pattern,
            BodyPattern::Auto {
                ignore_array_order: true,
                ignore_extra_elements: true,
                case_insensitive: false
            }
        ));
    }

    #[test]
    fn a_full_spec_reads_every_field() {
        let spec = parse_record_spec(&json!({
            "targetBaseUrl": "http://127.0.0.1:9000",
            "filters": {"urlPathPattern": "/api/.*", "method": "GET",
                "ids": ["40a93c4a-d378-4e07-8321-6158d5dbcb29"], "allowNonProxied": true},
            "captureHeaders": {"Accept": {}, "X-Tenant": {"caseInsensitive": true}},
            "requestBodyPatternFactory": {"matcher": "equalToJson", "ignoreArrayOrder": true},
            "extractBodyCriteria": {"textSizeThreshold": "2 kb", "binarySizeThreshold": 0},
            "outputFormat": "ids", "persist": false, "repeatsAsScenarios": false,
            "transformers": []
        }))
        .unwrap();
        assert_eq!(
            spec.target_base_url.unwrap().as_str(),
            "http://127.0.0.1:9000/"
        );
        assert!(spec.filters.pattern.is_some() && spec.filters.allow_non_proxied);
        assert_eq!(spec.filters.ids.unwrap().len(), 1);
        assert_eq!(spec.capture_headers.len(), 2);
        assert!(spec.capture_headers[1].case_insensitive);
        assert!(matches!(
            spec.body_pattern,
            BodyPattern::EqualToJson {
                ignore_array_order: true,
                ignore_extra_elements: false
            }
        ));
        assert_eq!(
            spec.extract_bodies,
            Some(Thresholds {
                text: 2048,
                binary: 0
            })
        );
        assert_eq!(spec.output, Output::Ids);
        assert!(!spec.persist && !spec.repeats_as_scenarios);
    }

    #[test]
    fn bad_fields_are_named() {
        let fields = |value: Value| -> Vec<String> {
            parse_record_spec(&value)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            fields(json!({"targetBaseUrl": "ftp://x"})),
            ["targetBaseUrl"]
        );
        assert_eq!(fields(json!({"outputFormat": "yaml"})), ["outputFormat"]);
        assert_eq!(fields(json!({"transformers": ["x"]})), ["transformers"]);
        assert_eq!(
            fields(json!({"filters": {"ids": ["nope"]}})),
            ["filters.ids.0"]
        );
        assert_eq!(
            fields(json!({"filters": {"urlPattern": 5}})),
            ["filters.urlPattern"]
        );
        assert_eq!(
            fields(json!({"requestBodyPattern": {"matcher": "regex"}})),
            ["requestBodyPattern.matcher"]
        );
        assert_eq!(fields(json!({"persist": "yes"})), ["persist"]);
        assert_eq!(fields(json!({"unknown": 1})), ["unknown"]);
    }
}
