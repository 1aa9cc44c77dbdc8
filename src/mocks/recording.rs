//! Record and playback, as WireMock does it (`/__admin/recordings/*`): a
//! recording adds a proxy stub that sends every request to the target, and
//! when it stops, each proxied request and its answer in the journal becomes
//! a stub. A snapshot does the same over the whole journal at any time.
//!
//! The recording's state is its proxy stub, marked in its metadata with when
//! it started and its spec: it is stored like any stub, so on PostgreSQL
//! every process sees the recording, serves through its proxy, and can stop
//! it (the shared journal holds every process's requests).

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::journal::LoggedRequest;
use super::matcher::RequestPattern;
use crate::http::extract::media_type;

/// The metadata key of a recording's proxy stub.
pub const RECORDING_KEY: &str = "echobaseRecording";

#[derive(Debug, Default)]
pub struct RecordSpec {
    /// Where the recording's proxy stub sends requests (start only).
    pub target_base_url: Option<url::Url>,
    pub filters: Filters,
    pub capture_headers: Vec<CaptureHeader>,
    pub body_pattern: BodyPattern,
    /// Response bodies larger than these go to a body file.
    pub extract_bodies: Option<Thresholds>,
    pub output: Output,
    /// The stubs are marked `persistent`.
    pub persist: bool,
    /// Repeated requests become the states of a scenario; otherwise only
    /// the first answer of each is kept.
    pub repeats_as_scenarios: bool,
}

/// Which journal entries become stubs.
#[derive(Debug, Default)]
pub struct Filters {
    pub pattern: Option<RequestPattern>,
    pub ids: Option<Vec<uuid::Uuid>>,
    /// Entries not answered by a proxy stub too.
    pub allow_non_proxied: bool,
}

#[derive(Debug)]
pub struct CaptureHeader {
    pub name: String,
    pub case_insensitive: bool,
}

/// How a recorded request's body is matched.
#[derive(Debug, Clone, Copy)]
pub enum BodyPattern {
    /// `equalToJson` for JSON, `equalToXml` for XML, `binaryEqualTo` for
    /// other binary types, `anything` for multipart, else `equalTo`.
    Auto {
        ignore_array_order: bool,
        ignore_extra_elements: bool,
        case_insensitive: bool,
    },
    EqualTo {
        case_insensitive: bool,
    },
    EqualToJson {
        ignore_array_order: bool,
        ignore_extra_elements: bool,
    },
    EqualToXml,
}

impl Default for BodyPattern {
    fn default() -> Self {
        BodyPattern::Auto {
            ignore_array_order: true,
            ignore_extra_elements: true,
            case_insensitive: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub text: u64,
    pub binary: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `{"mappings": [...]}`
    #[default]
    Full,
    /// `{"ids": [...]}`
    Ids,
}

/// A stub made from a journal entry, and the body file it needs, if any.
pub struct Recorded {
    pub mapping: Value,
    pub file: Option<(String, Vec<u8>)>,
}

/// Whether a journal entry is recorded: it has a response, was answered by
/// a proxy stub (unless non-proxied ones are allowed), and passes the filters.
pub fn is_recorded(entry: &LoggedRequest, filters: &Filters) -> bool {
    if entry.response.get().is_none() {
        return false;
    }
    let proxied = entry
        .stub
        .as_ref()
        .and_then(|answered| answered.stub())
        .is_some_and(|stub| stub.response.proxy.is_some());
    if !proxied && !filters.allow_non_proxied {
        return false;
    }
    if let Some(pattern) = &filters.pattern
        && !pattern.is_match(&entry.incoming())
    {
        return false;
    }
    filters
        .ids
        .as_ref()
        .is_none_or(|ids| ids.contains(&entry.id))
}

/// Whether the journal kept less of the response body than was sent: its
/// `Content-Length` says more, or without one it filled the journal's
/// per-body bound (`mocks.max_journal_body`).
pub fn is_cut(entry: &LoggedRequest, max_body: usize) -> bool {
    let Some(response) = entry.response.get() else {
        return false;
    };
    let sent = response
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match sent {
        Some(length) => length > response.body.len(),
        None => response.body.len() >= max_body,
    }
}

/// The stubs for `entries` (newest first, as WireMock lists serve events),
/// in that order: repeats made into scenarios or dropped, large bodies
/// moved to files.
pub fn stubs_for(entries: &[&LoggedRequest], spec: &RecordSpec) -> Vec<Recorded> {
    let mut mappings: Vec<Value> = entries.iter().map(|e| stub_for(e, spec)).collect();
    let keys: Vec<String> = mappings.iter().map(|m| m["request"].to_string()).collect();
    if spec.repeats_as_scenarios {
        into_scenarios(&mut mappings, &keys);
    } else {
        let mut seen = std::collections::HashSet::new();
        let mut kept = Vec::new();
        for (mapping, key) in mappings.into_iter().zip(&keys) {
            if seen.insert(key.clone()) {
                kept.push(mapping);
            }
        }
        mappings = kept;
    }
    mappings
        .into_iter()
        .map(|mut mapping| {
            let file = spec
                .extract_bodies
                .and_then(|thresholds| extract_body(&mut mapping, thresholds));
            Recorded { mapping, file }
        })
        .collect()
}

/// One stub: the request as it came (method, URL, captured headers, body)
/// and the response as it went.
fn stub_for(entry: &LoggedRequest, spec: &RecordSpec) -> Value {
    let id = uuid::Uuid::new_v4().to_string();
    let mut stub = json!({
        "id": id,
        "name": name_for(&entry.path),
        "request": request_for(entry, spec),
        "response": entry.response.get().map_or_else(|| json!({}), response_for),
    });
    if spec.persist {
        stub["persistent"] = Value::Bool(true);
    }
    stub
}

/// WireMock's stub name for a path: `/api/users/1` is `api_users_1`.
fn name_for(path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let slug: String = decoded
        .chars()
        .map(|c| match c {
            '/' => '_',
            c if c.is_whitespace() => '-',
            c => c,
        })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect::<String>()
        .to_ascii_lowercase();
    slug.trim_matches('_').chars().take(200).collect()
}

fn request_for(entry: &LoggedRequest, spec: &RecordSpec) -> Value {
    let incoming = entry.incoming();
    let mut request = Map::new();
    request.insert("method".into(), Value::String(entry.method.to_string()));
    let pairs = incoming.query_pairs();
    if pairs.is_empty() {
        let url = match &entry.query {
            Some(query) => format!("{}?{query}", entry.path),
            None => entry.path.clone(),
        };
        request.insert("url".into(), Value::String(url));
    } else {
        request.insert("urlPath".into(), Value::String(entry.path.clone()));
        let mut by_name: Vec<(&str, Vec<&str>)> = Vec::new();
        for (name, value) in pairs {
            match by_name.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(value),
                None => by_name.push((name, vec![value])),
            }
        }
        let parameters: Map<String, Value> = by_name
            .into_iter()
            .map(|(name, values)| {
                let matcher = match values.as_slice() {
                    [one] => json!({"equalTo": one}),
                    many => json!({"hasExactly": many.iter().map(|v| json!({"equalTo": v})).collect::<Vec<_>>()}),
                };
                (name.to_owned(), matcher)
            })
            .collect();
        request.insert("queryParameters".into(), Value::Object(parameters));
    }
    let mut headers = Map::new();
    for capture in &spec.capture_headers {
        if let Some(value) = incoming.header_values(&capture.name).next() {
            let mut matcher = json!({"equalTo": value});
            if capture.case_insensitive {
                matcher["caseInsensitive"] = Value::Bool(true);
            }
            headers.insert(capture.name.clone(), matcher);
        }
    }
    if !headers.is_empty() {
        request.insert("headers".into(), Value::Object(headers));
    }
    if !entry.body.is_empty() {
        let content_type = incoming.header_values("content-type").next().unwrap_or("");
        request.insert(
            "bodyPatterns".into(),
            json!([body_matcher(&entry.body, content_type, spec.body_pattern)]),
        );
    }
    Value::Object(request)
}

fn body_matcher(body: &[u8], content_type: &str, pattern: BodyPattern) -> Value {
    let text = || String::from_utf8_lossy(body).into_owned();
    match pattern {
        BodyPattern::EqualTo { case_insensitive } => equal_to(text(), case_insensitive),
        BodyPattern::EqualToJson {
            ignore_array_order,
            ignore_extra_elements,
        } => equal_to_json(body, ignore_array_order, ignore_extra_elements),
        BodyPattern::EqualToXml => json!({"equalToXml": text()}),
        BodyPattern::Auto {
            ignore_array_order,
            ignore_extra_elements,
            case_insensitive,
        } => {
            let media_type = media_type(content_type);
            if media_type.contains("json") && serde_json::from_slice::<Value>(body).is_ok() {
                equal_to_json(body, ignore_array_order, ignore_extra_elements)
            } else if media_type.contains("xml") {
                json!({"equalToXml": text()})
            } else if media_type == "multipart/form-data" {
                json!({"anything": "anything"})
            } else if !media_type.is_empty() && !is_text(&media_type) {
                json!({"binaryEqualTo": base64::engine::general_purpose::STANDARD.encode(body)})
            } else {
                equal_to(text(), case_insensitive)
            }
        }
    }
}

fn equal_to(text: String, case_insensitive: bool) -> Value {
    let mut matcher = json!({"equalTo": text});
    if case_insensitive {
        matcher["caseInsensitive"] = Value::Bool(true);
    }
    matcher
}

fn equal_to_json(body: &[u8], ignore_array_order: bool, ignore_extra_elements: bool) -> Value {
    let mut matcher = match serde_json::from_slice::<Value>(body) {
        Ok(document) => json!({"equalToJson": document}),
        Err(_) => json!({"equalToJson": String::from_utf8_lossy(body)}),
    };
    if ignore_array_order {
        matcher["ignoreArrayOrder"] = Value::Bool(true);
    }
    if ignore_extra_elements {
        matcher["ignoreExtraElements"] = Value::Bool(true);
    }
    matcher
}

/// The response as sent: status, headers (less the encoding and framing
/// ones: the body is stored decoded and the server frames it), the body as
/// text or base64.
fn response_for(response: &super::journal::LoggedResponse) -> Value {
    let gzipped = response
        .headers
        .get_all("content-encoding")
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("gzip")));
    let body = if gzipped {
        gunzip(&response.body).unwrap_or_else(|| response.body.to_vec())
    } else {
        response.body.to_vec()
    };
    let mut headers: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in &response.headers {
        if matches!(
            name.as_str(),
            "content-encoding" | "content-length" | "transfer-encoding"
        ) || crate::http::hop_headers::is_hop_by_hop_or_framing(name.as_str())
        {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.iter_mut().find(|(n, _)| n == name.as_str()) {
            Some((_, values)) => values.push(value),
            None => headers.push((name.as_str().to_owned(), vec![value])),
        }
    }
    let mut out = json!({"status": response.status});
    if !body.is_empty() {
        let content_type = response
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media_type = media_type(content_type);
        // Without a type, the body is binary, as WireMock records it.
        match String::from_utf8(body) {
            Ok(text) if is_text(&media_type) => {
                out["body"] = Value::String(text);
            }
            Ok(text) => out["base64Body"] = base64_of(text.as_bytes()),
            Err(binary) => out["base64Body"] = base64_of(binary.as_bytes()),
        }
    }
    if !headers.is_empty() {
        let headers: Map<String, Value> = headers
            .into_iter()
            .map(|(name, mut values)| {
                let value = if values.len() == 1 {
                    Value::String(values.remove(0))
                } else {
                    json!(values)
                };
                (name, value)
            })
            .collect();
        out["headers"] = Value::Object(headers);
    }
    out
}

fn base64_of(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// Whether a media type is text, as WireMock tells (`text/*`, JSON, XML,
/// JavaScript, form data, HTML and the like).
fn is_text(media_type: &str) -> bool {
    media_type.starts_with("text/")
        || [
            "json",
            "xml",
            "javascript",
            "html",
            "x-www-form-urlencoded",
            "yaml",
            "csv",
        ]
        .iter()
        .any(|kind| media_type.contains(kind))
}

/// Puts each group of stubs with the same request into a scenario, the
/// oldest answer first (WireMock's names: `scenario-N-<path parts>`, states
/// `scenario-N-<path parts>-2`, ...). `mappings` are newest first.
fn into_scenarios(mappings: &mut [Value], keys: &[String]) {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let mut scenario = 0;
    for (_, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
        scenario += 1;
        let first = &mappings[members[0]]["request"];
        let url = first["url"]
            .as_str()
            .or(first["urlPath"].as_str())
            .unwrap_or("");
        let path = url.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let name = format!("scenario-{scenario}-{}", parts.join("-"));
        let in_order: Vec<usize> = members.into_iter().rev().collect();
        let count = in_order.len();
        for (step, index) in in_order.into_iter().enumerate() {
            let step = step + 1;
            let stub = &mut mappings[index];
            stub["scenarioName"] = Value::String(name.clone());
            stub["requiredScenarioState"] = Value::String(if step == 1 {
                super::stub::STARTED.to_owned()
            } else {
                format!("{name}-{step}")
            });
            if step < count {
                stub["newScenarioState"] = Value::String(format!("{name}-{}", step + 1));
            }
        }
    }
}

/// Moves a response body over its threshold into a body file named as
/// WireMock names them (`<name>-<id>.<extension>`).
fn extract_body(mapping: &mut Value, thresholds: Thresholds) -> Option<(String, Vec<u8>)> {
    let response = mapping.get_mut("response")?.as_object_mut()?;
    let (content, threshold) = if let Some(text) = response.get("body").and_then(Value::as_str) {
        (text.as_bytes().to_vec(), thresholds.text)
    } else {
        let encoded = response.get("base64Body").and_then(Value::as_str)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        (bytes, thresholds.binary)
    };
    if content.len() as u64 <= threshold {
        return None;
    }
    let content_type = response
        .get("headers")
        .and_then(|h| {
            h.as_object()?
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                .and_then(|(_, v)| v.as_str().map(str::to_owned))
        })
        .unwrap_or_default();
    let extension = match media_type(&content_type) {
        t if t.contains("json") => "json",
        t if t.contains("xml") => "xml",
        t if t.contains("html") => "html",
        t if t.starts_with("text/") => "txt",
        _ => "bin",
    };
    response.remove("body");
    response.remove("base64Body");
    let stub_name = mapping["name"].as_str().unwrap_or("body");
    let id = mapping["id"].as_str().unwrap_or_default();
    let file = format!("{stub_name}-{id}.{extension}");
    mapping["response"]["bodyFileName"] = Value::String(file.clone());
    Some((file, content))
}

/// When a recording started, from its proxy stub's metadata.
pub fn started_at(mapping: &Value) -> Option<i64> {
    mapping["metadata"][RECORDING_KEY]["startedAtMs"].as_i64()
}

/// The proxy stub a recording adds: every request, any method, to the target.
pub fn recording_stub(target: &url::Url, spec: &Value, started_at_ms: i64) -> Value {
    json!({
        "request": {"method": "ANY", "urlPattern": ".*"},
        "response": {"proxyBaseUrl": target.as_str().trim_end_matches('/')},
        "metadata": {RECORDING_KEY: {"startedAtMs": started_at_ms, "spec": spec}},
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::sync::OnceLock;

    use axum::body::Bytes;
    use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};

    use super::*;
    use crate::mocks::journal::LoggedResponse;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn entry(
        method: Method,
        url: &str,
        request: (&[(&str, &str)], &[u8]),
        response: (u16, &[(&str, &str)], &[u8]),
    ) -> LoggedRequest {
        let (path, query) = match url.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (url, None),
        };
        LoggedRequest {
            id: uuid::Uuid::new_v4(),
            origin: Default::default(),
            method,
            path: path.to_owned(),
            query,
            headers: headers(request.0),
            body: Bytes::copy_from_slice(request.1),
            body_truncated: false,
            logged_at_ms: 0,
            stub: None,
            response: OnceLock::from(LoggedResponse {
                status: response.0,
                headers: headers(response.1),
                body: Bytes::copy_from_slice(response.2),
                fault: None,
            }),
        }
    }

    fn spec() -> RecordSpec {
        RecordSpec {
            persist: true,
            repeats_as_scenarios: true,
            ..RecordSpec::default()
        }
    }

    #[test]
    fn names_are_wiremocks_slugs_of_the_path() {
        assert_eq!(name_for("/api/users/1"), "api_users_1");
        assert_eq!(name_for("/a%20b/C.json"), "a-b_c.json");
        assert_eq!(name_for("/"), "");
        assert_eq!(name_for(&format!("/{}", "x".repeat(300))).len(), 200);
    }

    #[test]
    fn queries_become_parameter_matchers_and_bodies_fit_their_type() {
        let json = entry(
            Method::POST,
            "/p?a=1&b=2&b=3",
            (&[("content-type", "application/json")], br#"{"x": [1, 2]}"#),
            (200, &[], b""),
        );
        let stub = stub_for(&json, &spec());
        let request = &stub["request"];
        assert_eq!(request["urlPath"], "/p");
        assert!(request.get("url").is_none());
        assert_eq!(request["queryParameters"]["a"], json!({"equalTo": "1"}));
        assert_eq!(
            request["queryParameters"]["b"],
            json!({"hasExactly": [{"equalTo": "2"}, {"equalTo": "3"}]})
        );
        assert_eq!(
            request["bodyPatterns"][0],
            json!({"equalToJson": {"x": [1, 2]}, "ignoreArrayOrder": true, "ignoreExtraElements": true})
        );
        let cases: [(&str, &[u8], Value); 4] = [
            ("text/plain", b"hi", json!({"equalTo": "hi"})),
            ("application/xml", b"<a/>", json!({"equalToXml": "<a/>"})),
            (
                "application/octet-stream",
                b"\x00\x01",
                json!({"binaryEqualTo": "AAE="}),
            ),
            (
                "multipart/form-data; boundary=x",
                b"--x--",
                json!({"anything": "anything"}),
            ),
        ];
        for (content_type, body, expected) in cases {
            let e = entry(
                Method::PUT,
                "/b",
                (&[("content-type", content_type)], body),
                (200, &[], b""),
            );
            assert_eq!(
                stub_for(&e, &spec())["request"]["bodyPatterns"][0],
                expected,
                "{content_type}"
            );
        }
    }

    #[test]
    fn responses_are_decoded_and_framing_headers_left_out() {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(b"{\"ok\":true}").unwrap();
        let gzipped = gzip.finish().unwrap();
        let e = entry(
            Method::GET,
            "/z",
            (&[], b""),
            (
                201,
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                    ("content-length", "31"),
                    ("set-cookie", "a=1"),
                    ("set-cookie", "b=2"),
                ],
                &gzipped,
            ),
        );
        let response = &stub_for(&e, &spec())["response"];
        assert_eq!(response["status"], 201);
        assert_eq!(response["body"], "{\"ok\":true}");
        assert_eq!(
            response["headers"],
            json!({"content-type": "application/json", "set-cookie": ["a=1", "b=2"]})
        );
        // No type: binary, as WireMock records it.
        let e = entry(Method::GET, "/raw", (&[], b""), (200, &[], b"plain"));
        assert_eq!(stub_for(&e, &spec())["response"]["base64Body"], "cGxhaW4=");
    }

    #[test]
    fn repeats_become_a_scenario_oldest_answer_first() {
        // Newest first, as the journal is read for recording.
        let newest = entry(
            Method::GET,
            "/api/c",
            (&[], b""),
            (200, &[("content-type", "text/plain")], b"2"),
        );
        let oldest = entry(
            Method::GET,
            "/api/c",
            (&[], b""),
            (200, &[("content-type", "text/plain")], b"1"),
        );
        let other = entry(Method::GET, "/other", (&[], b""), (200, &[], b""));
        let recorded = stubs_for(&[&newest, &other, &oldest], &spec());
        let m: Vec<&Value> = recorded.iter().map(|r| &r.mapping).collect();
        assert_eq!(m[2]["response"]["body"], "1");
        assert_eq!(m[2]["scenarioName"], "scenario-1-api-c");
        assert_eq!(m[2]["requiredScenarioState"], "Started");
        assert_eq!(m[2]["newScenarioState"], "scenario-1-api-c-2");
        assert_eq!(m[0]["requiredScenarioState"], "scenario-1-api-c-2");
        assert!(m[0].get("newScenarioState").is_none());
        assert!(m[1].get("scenarioName").is_none());
        // Without scenarios, the newest answer of each request is kept.
        let spec = RecordSpec {
            repeats_as_scenarios: false,
            ..spec()
        };
        let recorded = stubs_for(&[&newest, &other, &oldest], &spec);
        assert_eq!(recorded.len(), 2);
        assert_eq!(recorded[0].mapping["response"]["body"], "2");
    }

    #[test]
    fn large_bodies_go_to_files_by_their_threshold() {
        let text = entry(
            Method::GET,
            "/t",
            (&[], b""),
            (200, &[("content-type", "text/html")], b"<p>hello</p>"),
        );
        let spec = RecordSpec {
            extract_bodies: Some(Thresholds {
                text: 5,
                binary: 100,
            }),
            ..spec()
        };
        let recorded = stubs_for(&[&text], &spec);
        let (name, content) = recorded[0].file.clone().unwrap();
        assert!(name.starts_with("t-") && name.ends_with(".html"), "{name}");
        assert_eq!(content, b"<p>hello</p>");
        assert_eq!(recorded[0].mapping["response"]["bodyFileName"], name);
        assert!(recorded[0].mapping["response"].get("body").is_none());
        let small = entry(Method::GET, "/s", (&[], b""), (200, &[], b"tiny"));
        assert!(
            stubs_for(&[&small], &spec)[0].file.is_none(),
            "4 bytes, binary threshold 100"
        );
    }

    #[test]
    fn a_body_the_journal_cut_is_known() {
        let cut = entry(
            Method::GET,
            "/c",
            (&[], b""),
            (200, &[("content-length", "10")], b"12345"),
        );
        assert!(is_cut(&cut, 5));
        let whole = entry(
            Method::GET,
            "/w",
            (&[], b""),
            (200, &[("content-length", "5")], b"12345"),
        );
        assert!(!is_cut(&whole, 5));
        let chunked = entry(Method::GET, "/x", (&[], b""), (200, &[], b"12345"));
        assert!(is_cut(&chunked, 5), "filled the bound: maybe cut");
        assert!(!is_cut(&chunked, 6));
    }
}
