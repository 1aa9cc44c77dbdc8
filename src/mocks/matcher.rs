//! Request patterns and how far a request is from one.
//!
//! Matching returns a *distance* (0 is a match, 1 is as far as it gets), not a
//! bool, so the same code answers "does this stub answer" and "which stubs came
//! nearest, and why not" (WireMock's `MatchResult`). The hot path asks only
//! [`RequestPattern::is_match`], which stops at the first difference.

pub mod date_time;
mod json_schema;
pub mod multipart;
mod url_matcher;
mod xml;
mod xml_placeholder;
mod xml_print;
mod xpath;

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::OnceLock;

use axum::http::{HeaderMap, Method};
use regex::Regex;
use serde_json::Value;

pub use json_schema::{JsonSchemaMatcher, SCHEMA_VERSIONS};
pub use url_matcher::{PathTemplate, UrlMatcher};
pub use xml::{COMPARISON_TYPES, Namespaces, XmlEquality, XmlOptions, XmlPatternError};
pub use xml_print::NodeView;
pub use xpath::{
    Selected, TemplateXPathError, XPathQuery, format_xml, java_number, template_xpath,
};

use super::jsonpath::{JsonPath, value_text};
use date_time::DateTimeMatcher;

/// Where a request came from and how (for `scheme`, `clientIp`, and the
/// journal).
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// The client (the TCP peer, or what a trusted proxy reports).
    pub client_ip: Option<std::net::IpAddr>,
    pub https: bool,
    pub version: axum::http::Version,
}

impl Default for Origin {
    fn default() -> Self {
        Origin {
            client_ip: None,
            https: false,
            version: axum::http::Version::HTTP_11,
        }
    }
}

/// `Host`'s name and port (the scheme's default when it names none).
pub fn host_and_port(authority: &str, https: bool) -> (&str, u16) {
    let default = if https { 443 } else { 80 };
    // `[::1]:8080`, `example.com:8080`, `example.com`
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()),
        _ => (authority, None),
    };
    (host, port.unwrap_or(default))
}

/// A request as the matcher sees it; derived views are computed once, on demand.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub origin: Origin,
    /// The path as received (percent-encoding kept).
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    // OnceLock, not OnceCell: a request is read across the scenario store's await.
    query_pairs: OnceLock<Vec<(String, String)>>,
    form_pairs: OnceLock<Vec<(String, String)>>,
    parts: OnceLock<Option<Vec<multipart::Part>>>,
    cookies: OnceLock<Vec<(String, String)>>,
    body_json: OnceLock<Option<Value>>,
}

impl<'a> Incoming<'a> {
    pub fn new(
        method: &'a Method,
        path: &'a str,
        query: Option<&'a str>,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Self {
        Incoming {
            method,
            path,
            query,
            headers,
            body,
            origin: Origin::default(),
            query_pairs: OnceLock::new(),
            form_pairs: OnceLock::new(),
            parts: OnceLock::new(),
            cookies: OnceLock::new(),
            body_json: OnceLock::new(),
        }
    }

    pub fn with_origin(self, origin: Origin) -> Self {
        Incoming { origin, ..self }
    }

    /// The `Host` header's name, without its port.
    pub fn host(&self) -> Option<&str> {
        let authority = self.headers.get(axum::http::header::HOST)?.to_str().ok()?;
        Some(host_and_port(authority, self.origin.https).0)
    }

    /// The port the client addressed (`Host`'s, else the scheme's default).
    pub fn port(&self) -> u16 {
        let authority = self
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        host_and_port(authority, self.origin.https).1
    }

    pub fn scheme(&self) -> &'static str {
        if self.origin.https { "https" } else { "http" }
    }

    /// The parts of a `multipart/*` body, read once.
    pub fn parts(&self) -> Option<&[multipart::Part]> {
        self.parts
            .get_or_init(|| multipart::parts(self.headers, self.body))
            .as_deref()
    }

    /// The body's fields when it is `application/x-www-form-urlencoded`.
    pub fn form_values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.form_pairs
            .get_or_init(|| {
                let is_form = self
                    .header_values("content-type")
                    .any(|ct| ct.starts_with("application/x-www-form-urlencoded"));
                if !is_form {
                    return Vec::new();
                }
                form_urlencoded::parse(self.body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Path and query, as WireMock's `url` sees them.
    pub fn url(&self) -> Cow<'a, str> {
        match self.query {
            Some(query) => Cow::Owned(format!("{}?{}", self.path, query)),
            None => Cow::Borrowed(self.path),
        }
    }

    pub fn query_pairs(&self) -> &[(String, String)] {
        self.query_pairs.get_or_init(|| {
            self.query
                .map(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    pub fn query_values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.query_pairs()
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header_values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
    }

    pub fn cookies(&self) -> &[(String, String)] {
        self.cookies.get_or_init(|| {
            self.header_values("cookie")
                .flat_map(|h| h.split(';'))
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    Some((k.trim().to_owned(), v.trim().to_owned()))
                })
                .collect()
        })
    }

    pub fn body_text(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.body)
    }

    pub fn body_json(&self) -> Option<&Value> {
        self.body_json
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }

    /// Path segments, percent-decoded, without the empty leading one.
    pub fn path_segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .skip(1)
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect()
    }
}

/// How a value (a header, a query parameter, a cookie, the body) must look.
#[derive(Debug, Clone)]
pub enum StringMatcher {
    EqualTo {
        value: String,
        case_insensitive: bool,
    },
    Contains(String),
    DoesNotContain(String),
    Matches(Regex),
    DoesNotMatch(Regex),
    Absent,
    Present,
    EqualToJson {
        value: Value,
        ignore_array_order: bool,
        ignore_extra_elements: bool,
    },
    MatchesJsonPath {
        path: JsonPath,
        then: Option<Box<StringMatcher>>,
    },
    And(Vec<StringMatcher>),
    Or(Vec<StringMatcher>),
    Not(Box<StringMatcher>),
    /// `before`, `after`, `equalToDateTime`.
    DateTime(Box<DateTimeMatcher>),
    /// The raw bytes (a body's, or a value's), given in base64.
    BinaryEqualTo(Vec<u8>),
    /// Multi-value: every matcher matches some value, and there are no others.
    HasExactly(Vec<StringMatcher>),
    /// Multi-value: every matcher matches some value.
    Includes(Vec<StringMatcher>),
    EqualToXml(Arc<XmlEquality>),
    MatchesXPath {
        query: Arc<XPathQuery>,
        then: Option<Box<StringMatcher>>,
    },
    MatchesJsonSchema(JsonSchemaMatcher),
}

impl StringMatcher {
    /// 0 when `actual` satisfies the matcher, up to 1 the further it is.
    pub fn distance(&self, actual: Option<&str>) -> f64 {
        use StringMatcher::*;
        match (self, actual) {
            (Absent, None) | (Present, Some(_)) => 0.0,
            (Absent, Some(_)) | (Present, None) => 1.0,
            (And(all), _) => {
                if all.is_empty() {
                    return 0.0;
                }
                all.iter().map(|m| m.distance(actual)).sum::<f64>() / all.len() as f64
            }
            (Or(any), _) => any.iter().map(|m| m.distance(actual)).fold(1.0, f64::min),
            (HasExactly(_) | Includes(_), _) => self.distance_any(actual.into_iter()),
            // Only `absent` matches a value that is not there (as on WireMock).
            (_, None) => 1.0,
            (Not(inner), Some(_)) => flag(inner.distance(actual) != 0.0),
            (DateTime(m), Some(actual)) => flag(m.matches(actual)),
            (BinaryEqualTo(bytes), Some(actual)) => flag(actual.as_bytes() == bytes.as_slice()),
            (
                EqualTo {
                    value,
                    case_insensitive,
                },
                Some(actual),
            ) => {
                if *case_insensitive && value.to_lowercase() == actual.to_lowercase() {
                    0.0
                } else {
                    text_distance(value, actual)
                }
            }
            (Contains(part), Some(actual)) => flag(actual.contains(part.as_str())),
            (DoesNotContain(part), Some(actual)) => flag(!actual.contains(part.as_str())),
            (Matches(re), Some(actual)) => flag(re.is_match(actual)),
            (DoesNotMatch(re), Some(actual)) => flag(!re.is_match(actual)),
            (
                EqualToJson {
                    value,
                    ignore_array_order,
                    ignore_extra_elements,
                },
                Some(actual),
            ) => match serde_json::from_str::<Value>(actual) {
                Ok(actual) => flag(json_equal(
                    value,
                    &actual,
                    *ignore_array_order,
                    *ignore_extra_elements,
                )),
                Err(_) => 1.0,
            },
            (MatchesJsonPath { path, then }, Some(actual)) => {
                match serde_json::from_str::<Value>(actual) {
                    Ok(doc) => json_path_distance(path, then.as_deref(), &doc),
                    Err(_) => 1.0,
                }
            }
            (EqualToXml(expected), Some(actual)) => expected.distance(actual),
            (MatchesXPath { query, then }, Some(actual)) => query.distance(actual, then.as_deref()),
            (MatchesJsonSchema(schema), Some(actual)) => schema.distance(actual),
        }
    }

    /// The smallest distance over several values (a repeated header or query
    /// parameter matches when any of its values does).
    pub fn distance_any<'v>(&self, values: impl Iterator<Item = &'v str>) -> f64 {
        match self {
            StringMatcher::HasExactly(matchers) => {
                return multi_value_distance(matchers, values, true);
            }
            StringMatcher::Includes(matchers) => {
                return multi_value_distance(matchers, values, false);
            }
            _ => {}
        }
        let mut best: Option<f64> = None;
        for value in values {
            let d = self.distance(Some(value));
            if d == 0.0 {
                return 0.0;
            }
            best = Some(best.map_or(d, |b: f64| b.min(d)));
        }
        best.unwrap_or_else(|| self.distance(None))
    }

    /// The matcher in a few words, for near-miss reasons.
    pub fn describe(&self) -> String {
        use StringMatcher::*;
        match self {
            EqualTo {
                value,
                case_insensitive: true,
            } => format!("equal to `{value}` (any case)"),
            EqualTo { value, .. } => format!("equal to `{value}`"),
            Contains(s) => format!("containing `{s}`"),
            DoesNotContain(s) => format!("not containing `{s}`"),
            Matches(re) => format!("matching `{}`", re.as_str()),
            DoesNotMatch(re) => format!("not matching `{}`", re.as_str()),
            Absent => "absent".into(),
            Present => "present".into(),
            EqualToJson { value, .. } => format!("JSON equal to {value}"),
            MatchesJsonPath { path, .. } => format!("JSON with `{}`", path.as_str()),
            EqualToXml(expected) => format!("XML similar to `{}`", expected.expected()),
            MatchesXPath { query, then: None } => format!("XML with `{}`", query.expression()),
            MatchesXPath {
                query,
                then: Some(then),
            } => format!("XML with `{}` {}", query.expression(), then.describe()),
            MatchesJsonSchema(schema) => {
                format!("valid against the JSON Schema {}", schema.schema())
            }
            And(all) => all
                .iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join(" and "),
            Or(any) => any
                .iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join(" or "),
            Not(inner) => format!("not {}", inner.describe()),
            DateTime(m) => m.describe(),
            BinaryEqualTo(bytes) => format!("{} given bytes", bytes.len()),
            HasExactly(all) | Includes(all) => {
                let what = if matches!(self, HasExactly(_)) {
                    "exactly"
                } else {
                    "including"
                };
                let each: Vec<String> = all.iter().map(|m| m.describe()).collect();
                format!("values {what}: {}", each.join(", "))
            }
        }
    }
}

/// `hasExactly` / `includes`: each matcher must match a value of its own;
/// with `exactly`, no value may be left over. The distance is the share of
/// matchers (and, for `exactly`, values) left without a partner.
fn multi_value_distance<'v>(
    matchers: &[StringMatcher],
    values: impl Iterator<Item = &'v str>,
    exactly: bool,
) -> f64 {
    let values: Vec<&str> = values.collect();
    let mut used = vec![false; values.len()];
    let mut unmatched = 0usize;
    for matcher in matchers {
        let partner = values
            .iter()
            .enumerate()
            .find(|(i, v)| !used[*i] && matcher.distance(Some(v)) == 0.0);
        match partner {
            Some((i, _)) => used[i] = true,
            None => unmatched += 1,
        }
    }
    let leftover = if exactly {
        used.iter().filter(|u| !**u).count()
    } else {
        0
    };
    let total = matchers.len() + if exactly { values.len() } else { 0 };
    if total == 0 {
        return 0.0;
    }
    (unmatched + leftover) as f64 / total as f64
}

/// How far a text is from the one expected: 0 when they are equal, else
/// their edit distance but never 0 (a near miss is still a miss).
fn text_distance(expected: &str, actual: &str) -> f64 {
    if expected == actual {
        0.0
    } else {
        miss_distance(expected, actual)
    }
}

/// The distance of a text known not to match: its edit distance, above 0.
fn miss_distance(expected: &str, actual: &str) -> f64 {
    normalized_levenshtein(expected, actual).max(0.01)
}

fn flag(ok: bool) -> f64 {
    if ok { 0.0 } else { 1.0 }
}

/// `matchesJsonPath`: with a value matcher, some selected value must match it
/// (on a body the matcher sees it as text, so `equalTo` works on numbers too).
pub fn json_path_distance(path: &JsonPath, then: Option<&StringMatcher>, doc: &Value) -> f64 {
    let selected = path.select(doc);
    match then {
        None => flag(!selected.is_empty()),
        Some(matcher) if selected.is_empty() => matcher.distance(None),
        Some(matcher) => selected
            .iter()
            .map(|v| matcher.distance(Some(&value_text(v))))
            .fold(1.0, f64::min),
    }
}

/// JsonUnit's placeholders, which WireMock's `equalToJson` honours by
/// default: `"${json-unit.any-string}"` and the like stand for a kind of
/// value. `None`: the text is no placeholder.
fn placeholder_matches(expected: &str, actual: &Value) -> Option<bool> {
    if let Some(pattern) = expected.strip_prefix("${json-unit.regex}") {
        let matches = actual.as_str().is_some_and(|text| {
            Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(text))
        });
        return Some(matches);
    }
    match expected.strip_prefix("${json-unit.")?.strip_suffix('}')? {
        "any-string" => Some(actual.is_string()),
        "any-number" => Some(actual.is_number()),
        "any-boolean" => Some(actual.is_boolean()),
        "ignore" | "ignore-element" => Some(true),
        _ => None,
    }
}

/// `"${json-unit.ignore-element}"`: the member may be missing altogether.
fn may_be_missing(expected: &Value) -> bool {
    expected.as_str() == Some("${json-unit.ignore-element}")
}

/// JSON equality with WireMock's two relaxations and JsonUnit's placeholders.
pub fn json_equal(expected: &Value, actual: &Value, any_order: bool, extra_ok: bool) -> bool {
    match (expected, actual) {
        (Value::String(e), a) if let Some(matches) = placeholder_matches(e, a) => matches,
        (Value::Object(e), Value::Object(a)) => {
            let members_match = e.iter().all(|(k, ev)| match a.get(k) {
                Some(av) => json_equal(ev, av, any_order, extra_ok),
                None => may_be_missing(ev),
            });
            members_match && (extra_ok || a.keys().all(|k| e.contains_key(k)))
        }
        (Value::Array(e), Value::Array(a)) => {
            if !extra_ok && e.len() != a.len() || e.len() > a.len() {
                return false;
            }
            if any_order {
                let mut used = vec![false; a.len()];
                e.iter().all(|ev| {
                    let found = a
                        .iter()
                        .enumerate()
                        .find(|(i, av)| !used[*i] && json_equal(ev, av, any_order, extra_ok));
                    match found {
                        Some((i, _)) => {
                            used[i] = true;
                            true
                        }
                        None => false,
                    }
                })
            } else {
                e.iter()
                    .zip(a.iter())
                    .all(|(ev, av)| json_equal(ev, av, any_order, extra_ok))
            }
        }
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        (e, a) => e == a,
    }
}

/// Edit distance scaled to 0..1; long strings are compared on their first
/// 256 characters (near-miss ranking needs no more).
pub fn normalized_levenshtein(a: &str, b: &str) -> f64 {
    const CAP: usize = 256;
    let a: Vec<char> = a.chars().take(CAP).collect();
    let b: Vec<char> = b.chars().take(CAP).collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()] as f64 / longest as f64
}

/// The `request` half of a stub (also the body of `requests/count` and `find`).
#[derive(Debug, Clone)]
pub struct RequestPattern {
    /// `None`: any method.
    pub method: Option<Method>,
    pub url: UrlMatcher,
    pub path_params: Vec<(String, StringMatcher)>,
    pub query: Vec<(String, StringMatcher)>,
    /// Header names in lower case.
    pub headers: Vec<(String, StringMatcher)>,
    pub cookies: Vec<(String, StringMatcher)>,
    pub body: Vec<StringMatcher>,
    /// `formParameters`: fields of a form-encoded body.
    pub form: Vec<(String, StringMatcher)>,
    pub host: Option<StringMatcher>,
    /// `http` or `https`.
    pub scheme: Option<String>,
    pub port: Option<u16>,
    pub client_ip: Option<StringMatcher>,
    /// `multipartPatterns`.
    pub multipart: Vec<multipart::MultipartPattern>,
}

/// How far a request is from a pattern, and why it is not a match.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchResult {
    pub distance: f64,
    pub reasons: Vec<String>,
}

impl MatchResult {
    pub fn is_exact(&self) -> bool {
        self.reasons.is_empty()
    }
}

impl RequestPattern {
    /// A pattern that matches every request.
    pub fn any() -> Self {
        RequestPattern {
            method: None,
            url: UrlMatcher::Any,
            path_params: Vec::new(),
            query: Vec::new(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: Vec::new(),
            form: Vec::new(),
            host: None,
            scheme: None,
            port: None,
            client_ip: None,
            multipart: Vec::new(),
        }
    }

    /// The distances of the request's origin conditions (`scheme`, `host`,
    /// `port`, `clientIp`), with what each expected.
    fn origin_distances(&self, req: &Incoming<'_>) -> Vec<(f64, String)> {
        let mut out = Vec::new();
        if let Some(scheme) = &self.scheme {
            out.push((
                flag(scheme.eq_ignore_ascii_case(req.scheme())),
                format!("scheme: expected {scheme}, got {}", req.scheme()),
            ));
        }
        if let Some(host) = &self.host {
            out.push((
                host.distance(req.host()),
                format!("host: expected {}", host.describe()),
            ));
        }
        if let Some(port) = self.port {
            out.push((
                flag(port == req.port()),
                format!("port: expected {port}, got {}", req.port()),
            ));
        }
        if let Some(ip) = &self.client_ip {
            let actual = req.origin.client_ip.map(|ip| ip.to_string());
            out.push((
                ip.distance(actual.as_deref()),
                format!("client IP: expected {}", ip.describe()),
            ));
        }
        out
    }

    /// Does the request match? Stops at the first difference.
    pub fn is_match(&self, req: &Incoming<'_>) -> bool {
        if self.method.as_ref().is_some_and(|m| m != req.method) {
            return false;
        }
        if self.url.distance(req) != 0.0 {
            return false;
        }
        if !self.path_params.is_empty() && self.path_param_distances(req).any(|(_, d)| d != 0.0) {
            return false;
        }
        self.query
            .iter()
            .all(|(name, m)| m.distance_any(req.query_values(name)) == 0.0)
            && self
                .headers
                .iter()
                .all(|(name, m)| m.distance_any(req.header_values(name)) == 0.0)
            && self.cookies.iter().all(|(name, m)| {
                m.distance_any(
                    req.cookies()
                        .iter()
                        .filter(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str()),
                ) == 0.0
            })
            && self.body.iter().all(|m| body_distance(m, req) == 0.0)
            && self
                .form
                .iter()
                .all(|(name, m)| m.distance_any(req.form_values(name)) == 0.0)
            && self.origin_distances(req).iter().all(|(d, _)| *d == 0.0)
            && self
                .multipart
                .iter()
                .all(|m| m.distance(req.parts()) == 0.0)
    }

    fn path_param_distances<'s>(
        &'s self,
        req: &Incoming<'_>,
    ) -> impl Iterator<Item = (&'s str, f64)> {
        let captured = match &self.url {
            UrlMatcher::UrlPathTemplate(t) => t.capture(req.path).unwrap_or_default(),
            _ => Vec::new(),
        };
        self.path_params.iter().map(move |(name, m)| {
            let value = captured
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str());
            (name.as_str(), m.distance(value))
        })
    }

    /// The full evaluation: distance over every field, with a reason per
    /// field that differs.
    pub fn evaluate(&self, req: &Incoming<'_>) -> MatchResult {
        let mut total = 0.0;
        let mut fields = 0usize;
        let mut reasons = Vec::new();
        let mut add = |d: f64, reason: &dyn Fn() -> String| {
            fields += 1;
            total += d;
            if d != 0.0 {
                reasons.push(reason());
            }
        };
        let method_distance = match &self.method {
            Some(m) if m != req.method => 1.0,
            _ => 0.0,
        };
        add(method_distance, &|| {
            format!(
                "method: expected {}, got {}",
                self.method.as_ref().map_or("ANY", |m| m.as_str()),
                req.method
            )
        });
        add(self.url.distance(req), &|| {
            format!("url: expected {}, got `{}`", self.url.describe(), req.url())
        });
        let path_params: Vec<(&str, f64)> = self.path_param_distances(req).collect();
        for ((name, d), (_, m)) in path_params.iter().zip(&self.path_params) {
            add(*d, &|| {
                format!("path parameter `{name}`: expected {}", m.describe())
            });
        }
        for (name, m) in &self.query {
            add(m.distance_any(req.query_values(name)), &|| {
                format!("query parameter `{name}`: expected {}", m.describe())
            });
        }
        for (name, m) in &self.headers {
            add(m.distance_any(req.header_values(name)), &|| {
                format!("header `{name}`: expected {}", m.describe())
            });
        }
        for (name, m) in &self.cookies {
            let d = m.distance_any(
                req.cookies()
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str()),
            );
            add(d, &|| format!("cookie `{name}`: expected {}", m.describe()));
        }
        for m in &self.body {
            add(body_distance(m, req), &|| {
                format!("body: expected {}", m.describe())
            });
        }
        for (name, m) in &self.form {
            add(m.distance_any(req.form_values(name)), &|| {
                format!("form field `{name}`: expected {}", m.describe())
            });
        }
        for (d, reason) in self.origin_distances(req) {
            add(d, &|| reason.clone());
        }
        for m in &self.multipart {
            add(m.distance(req.parts()), &|| {
                format!("multipart: expected {}", m.describe())
            });
        }
        MatchResult {
            distance: if fields == 0 {
                0.0
            } else {
                total / fields as f64
            },
            reasons,
        }
    }
}

/// Body matchers see the body as text; JSON matchers reuse one parse.
fn body_distance(m: &StringMatcher, req: &Incoming<'_>) -> f64 {
    match m {
        StringMatcher::MatchesJsonPath { path, then } => match req.body_json() {
            Some(doc) => json_path_distance(path, then.as_deref(), doc),
            None => 1.0,
        },
        StringMatcher::EqualToJson {
            value,
            ignore_array_order,
            ignore_extra_elements,
        } => match req.body_json() {
            Some(doc) => flag(json_equal(
                value,
                doc,
                *ignore_array_order,
                *ignore_extra_elements,
            )),
            None => 1.0,
        },
        StringMatcher::Absent if req.body.is_empty() => 0.0,
        StringMatcher::Absent => 1.0,
        StringMatcher::BinaryEqualTo(bytes) => flag(req.body == bytes.as_slice()),
        other => other.distance(Some(&req.body_text())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_come_from_the_host_header() {
        assert_eq!(
            host_and_port("example.com:8080", false),
            ("example.com", 8080)
        );
        assert_eq!(host_and_port("example.com", true), ("example.com", 443));
        assert_eq!(host_and_port("[::1]:9000", false), ("[::1]", 9000));
        assert_eq!(host_and_port("[::1]", false), ("[::1]", 80));
    }

    #[test]
    fn json_unit_placeholders_stand_for_a_kind_of_value() {
        let expected = json!({
            "id": "${json-unit.any-string}",
            "n": "${json-unit.any-number}",
            "ok": "${json-unit.any-boolean}",
            "anything": "${json-unit.ignore}",
            "code": "${json-unit.regex}[A-Z]{3}",
            "optional": "${json-unit.ignore-element}",
        });
        let good = json!({"id": "a", "n": 7, "ok": false, "anything": [1], "code": "ABC"});
        assert!(json_equal(&expected, &good, false, false));
        for (field, bad) in [
            ("id", json!(1)),
            ("n", json!("7")),
            ("ok", json!("no")),
            ("code", json!("ABCD")),
        ] {
            let mut wrong = good.clone();
            wrong[field] = bad;
            assert!(!json_equal(&expected, &wrong, false, false), "{field}");
        }
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("anything");
        assert!(
            !json_equal(&expected, &missing, false, false),
            "ignore still needs the member"
        );
        let mut extra = good.clone();
        extra["more"] = json!(1);
        assert!(!json_equal(&expected, &extra, false, false));
        assert!(json_equal(&expected, &extra, false, true));
        // Not a placeholder: compared as text.
        assert!(!json_equal(
            &json!("${json-unit.unknown}"),
            &json!("x"),
            false,
            false
        ));
    }
    use serde_json::json;

    #[test]
    fn json_equality_honours_order_and_extras() {
        let e = json!({"a": [1, 2], "b": "x"});
        assert!(json_equal(
            &e,
            &json!({"b": "x", "a": [1, 2]}),
            false,
            false
        ));
        assert!(!json_equal(
            &e,
            &json!({"a": [2, 1], "b": "x"}),
            false,
            false
        ));
        assert!(json_equal(&e, &json!({"a": [2, 1], "b": "x"}), true, false));
        assert!(!json_equal(
            &e,
            &json!({"a": [1, 2], "b": "x", "c": 1}),
            false,
            false
        ));
        assert!(json_equal(
            &e,
            &json!({"a": [1, 2], "b": "x", "c": 1}),
            false,
            true
        ));
    }

    #[test]
    fn levenshtein_is_scaled() {
        assert_eq!(normalized_levenshtein("abc", "abc"), 0.0);
        assert!((normalized_levenshtein("abcd", "abce") - 0.25).abs() < 1e-9);
    }
}
