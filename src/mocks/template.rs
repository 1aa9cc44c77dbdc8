//! Response templating: the Handlebars forms WireMock users write most, and
//! only those, in a small hand-written renderer. A full Handlebars engine
//! would bring a template language we would then have to document, secure
//! and keep compatible in every corner; this one parses each template once,
//! when the stub is created, and refuses any other expression with a clear
//! 422 rather than rendering it wrongly.
//!
//! Supported: `{{request.url}}`, `{{request.path}}`, `{{request.path.[0]}}`,
//! `{{request.path.id}}` (a `urlPathTemplate` parameter),
//! `{{request.pathSegments.[0]}}`, `{{request.query.x}}`,
//! `{{request.query.x.[1]}}`, `{{request.headers.X}}`,
//! `{{request.cookies.x}}`, `{{request.method}}`, `{{request.body}}`,
//! `{{jsonPath request.body '$.a'}}`, `{{now}}` (with optional
//! `format='yyyy-MM-dd'` / `'epoch'` / `'unix'` and `offset='3 days'`),
//! `{{randomValue length=8 type='ALPHANUMERIC' uppercase=true}}`. Output is
//! not HTML-escaped; `{{{...}}}` is accepted as the same thing.
//!
//! Output is escaped for JSON where the response is JSON, so that a request
//! cannot change the document's shape: a `jsonBody` is rendered string by
//! string ([`JsonTemplate`]), and a text body sent as JSON is read for where
//! each placeholder stands ([`Syntax::Json`]).

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::jsonpath::JsonPath;
use super::matcher::Incoming;

mod json_body;
mod time;

pub use json_body::{JsonKey, JsonTemplate};
pub use time::iso_millis;
use time::{TimeFormat, format_time};

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Expr(Expr, Placement),
}

/// The language of the text a template writes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Plain text: output is written as it is.
    Text,
    /// JSON text: output is escaped for where each placeholder stands.
    Json,
}

/// Where a placeholder stands, which says how its output is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// In plain text: as it is.
    Text,
    /// Inside a JSON string: escaped as that string's content.
    JsonString,
    /// Where a JSON value goes: as it is when it is one whole JSON value (a
    /// number, `true`, an object a `jsonPath` picked), else as a JSON string.
    JsonValue,
}

#[derive(Debug, Clone)]
enum Expr {
    Url,
    Path,
    PathSegment(usize),
    PathParam(String),
    Query(String, usize),
    Header(String),
    Cookie(String),
    Method,
    Body,
    JsonPath(JsonPath),
    Now {
        format: TimeFormat,
        offset_seconds: i64,
    },
    Random {
        length: usize,
        kind: RandomKind,
        uppercase: bool,
    },
}

#[derive(Debug, Clone, Copy)]
enum RandomKind {
    Alphanumeric,
    Alphabetic,
    Numeric,
    Hexadecimal,
    AlphanumericAndSymbols,
    Uuid,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

/// What a template may read besides the request.
pub struct Context<'a> {
    pub req: &'a Incoming<'a>,
    /// `urlPathTemplate` parameters of the matched stub.
    pub path_params: &'a [(String, String)],
}

impl Template {
    /// A template for plain text.
    pub fn parse(text: &str) -> Result<Template, String> {
        Template::parse_as(text, Syntax::Text)
    }

    /// A template for text in `syntax`.
    pub fn parse_as(text: &str, syntax: Syntax) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut json = JsonScan::default();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                json.read(&rest[..start]);
                parts.push(Part::Literal(rest[..start].to_owned()));
            }
            let after = &rest[start..];
            let (open, close) = if after.starts_with("{{{") {
                (3, "}}}")
            } else {
                (2, "}}")
            };
            let Some(end) = after[open..].find(close) else {
                return Err(format!(
                    "unclosed `{{{{` in template near `{}`",
                    excerpt(after)
                ));
            };
            let inner = after[open..open + end].trim();
            let placement = match syntax {
                Syntax::Text => Placement::Text,
                Syntax::Json => json.placement(),
            };
            parts.push(Part::Expr(parse_expr(inner)?, placement));
            rest = &after[open + end + close.len()..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    pub fn render(&self, ctx: &Context<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Expr(expr, placement) => {
                    let value = eval(expr, ctx);
                    match placement {
                        Placement::Text => out.push_str(&value),
                        Placement::JsonString => push_json_string_content(&mut out, &value),
                        Placement::JsonValue if is_one_json_value(&value) => out.push_str(&value),
                        Placement::JsonValue => out.push_str(&Value::String(value).to_string()),
                    }
                }
            }
        }
        out
    }
}

/// Where JSON text stands after the literal text read so far: inside a
/// string or not. Only strings matter: a placeholder outside one stands
/// where a value (or a key) goes.
#[derive(Default)]
struct JsonScan {
    in_string: bool,
    /// After a backslash inside a string.
    escaped: bool,
}

impl JsonScan {
    fn read(&mut self, text: &str) {
        for c in text.chars() {
            match (self.in_string, self.escaped, c) {
                (true, true, _) => self.escaped = false,
                (true, false, '\\') => self.escaped = true,
                (true, false, '"') => self.in_string = false,
                (false, _, '"') => self.in_string = true,
                _ => {}
            }
        }
    }

    fn placement(&mut self) -> Placement {
        if self.in_string {
            // A backslash before a placeholder escapes its output's first
            // character, which the escaping already did.
            self.escaped = false;
            Placement::JsonString
        } else {
            Placement::JsonValue
        }
    }
}

/// `text` escaped as the content of a JSON string (without the quotes).
fn push_json_string_content(out: &mut String, text: &str) {
    let quoted = Value::String(text.to_owned()).to_string();
    out.push_str(&quoted[1..quoted.len() - 1]);
}

/// Whether `text` is exactly one JSON value (whitespace around allowed).
fn is_one_json_value(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

fn excerpt(s: &str) -> &str {
    let end = s.char_indices().nth(30).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

fn unsupported(inner: &str) -> String {
    format!(
        "unsupported template expression `{{{{{inner}}}}}` (supported: request.url, request.path, \
         request.path.[n], request.path.<param>, request.pathSegments.[n], request.query.<name>, \
         request.headers.<name>, request.cookies.<name>, request.method, request.body, \
         jsonPath request.body '<path>', now, randomValue)"
    )
}

/// `[0]` or `0` as an index; `[X-Name]` or `X-Name` as a name.
fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s)
}

fn parse_expr(inner: &str) -> Result<Expr, String> {
    let words = split_words(inner).ok_or_else(|| unsupported(inner))?;
    let Some((head, args)) = words.split_first() else {
        return Err(unsupported(inner));
    };
    match head.as_str() {
        "jsonPath" => {
            let [source, path] = args else {
                return Err(unsupported(inner));
            };
            if source != "request.body" {
                return Err(unsupported(inner));
            }
            let path = unquote(path).ok_or_else(|| unsupported(inner))?;
            return JsonPath::parse(path).map(Expr::JsonPath);
        }
        "now" => {
            let mut format = TimeFormat::Iso;
            let mut offset_seconds = 0;
            for arg in args {
                match arg.split_once('=') {
                    Some(("format", value)) => {
                        let value = unquote(value).ok_or_else(|| unsupported(inner))?;
                        format = match value {
                            "epoch" => TimeFormat::EpochMillis,
                            "unix" => TimeFormat::UnixSeconds,
                            pattern => TimeFormat::Pattern(pattern.to_owned()),
                        };
                    }
                    Some(("offset", value)) => {
                        let value = unquote(value).ok_or_else(|| unsupported(inner))?;
                        offset_seconds = parse_offset(value)?;
                    }
                    _ => return Err(unsupported(inner)),
                }
            }
            return Ok(Expr::Now {
                format,
                offset_seconds,
            });
        }
        "randomValue" => {
            let mut length = 36;
            let mut kind = RandomKind::Alphanumeric;
            let mut uppercase = false;
            for arg in args {
                match arg.split_once('=') {
                    Some(("length", n)) => {
                        length = n
                            .parse::<usize>()
                            .ok()
                            .filter(|n| *n <= 10_000)
                            .ok_or_else(|| format!("randomValue length `{n}` must be 0..=10000"))?
                    }
                    Some(("uppercase", b)) => uppercase = b == "true",
                    Some(("type", t)) => {
                        kind = match unquote(t).ok_or_else(|| unsupported(inner))? {
                            "ALPHANUMERIC" => RandomKind::Alphanumeric,
                            "ALPHABETIC" => RandomKind::Alphabetic,
                            "NUMERIC" => RandomKind::Numeric,
                            "HEXADECIMAL" => RandomKind::Hexadecimal,
                            "ALPHANUMERIC_AND_SYMBOLS" => RandomKind::AlphanumericAndSymbols,
                            "UUID" => RandomKind::Uuid,
                            other => {
                                return Err(format!("randomValue type `{other}` is not supported"));
                            }
                        }
                    }
                    _ => return Err(unsupported(inner)),
                }
            }
            return Ok(Expr::Random {
                length,
                kind,
                uppercase,
            });
        }
        _ => {}
    }
    if !args.is_empty() {
        return Err(unsupported(inner));
    }
    let parts: Vec<&str> = head.split('.').collect();
    let expr = match parts.as_slice() {
        ["request", "url"] => Expr::Url,
        ["request", "path"] => Expr::Path,
        ["request", "method"] => Expr::Method,
        ["request", "body"] => Expr::Body,
        ["request", "path" | "pathSegments", seg] => {
            let seg = strip_brackets(seg);
            match seg.parse::<usize>() {
                Ok(n) => Expr::PathSegment(n),
                Err(_) if parts[1] == "path" => Expr::PathParam(seg.to_owned()),
                Err(_) => return Err(unsupported(inner)),
            }
        }
        ["request", "query", name] => Expr::Query(strip_brackets(name).to_owned(), 0),
        ["request", "query", name, n] => Expr::Query(
            strip_brackets(name).to_owned(),
            strip_brackets(n).parse().map_err(|_| unsupported(inner))?,
        ),
        ["request", "headers", name] => Expr::Header(strip_brackets(name).to_ascii_lowercase()),
        ["request", "cookies", name] => Expr::Cookie(strip_brackets(name).to_owned()),
        _ => return Err(unsupported(inner)),
    };
    Ok(expr)
}

/// Words separated by spaces; quoted strings keep their spaces.
fn split_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                current.push(c);
            }
            None if c.is_whitespace() => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            None => current.push(c),
        }
    }
    if quote.is_some() {
        return None;
    }
    if !current.is_empty() {
        words.push(current);
    }
    Some(words)
}

fn unquote(s: &str) -> Option<&str> {
    s.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
}

fn parse_offset(s: &str) -> Result<i64, String> {
    let bad = || format!("offset `{s}`: expected e.g. '3 days' or '-1 hours'");
    let (n, unit) = s.trim().split_once(' ').ok_or_else(bad)?;
    let n: i64 = n.trim().parse().map_err(|_| bad())?;
    let unit_seconds = match unit.trim().trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        "week" => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_seconds).ok_or_else(bad)
}

fn eval(expr: &Expr, ctx: &Context<'_>) -> String {
    let req = ctx.req;
    match expr {
        Expr::Url => req.url().into_owned(),
        Expr::Path => req.path.to_owned(),
        Expr::Method => req.method.to_string(),
        Expr::Body => req.body_text().into_owned(),
        Expr::PathSegment(n) => req.path_segments().get(*n).cloned().unwrap_or_default(),
        Expr::PathParam(name) => ctx
            .path_params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        Expr::Query(name, n) => req
            .query_values(name)
            .nth(*n)
            .unwrap_or_default()
            .to_owned(),
        Expr::Header(name) => req
            .header_values(name)
            .next()
            .unwrap_or_default()
            .to_owned(),
        Expr::Cookie(name) => req
            .cookies()
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        Expr::JsonPath(path) => req
            .body_json()
            .and_then(|doc| path.render(doc))
            .unwrap_or_default(),
        Expr::Now {
            format,
            offset_seconds,
        } => {
            let now = SystemTime::now();
            let shifted = if *offset_seconds >= 0 {
                now.checked_add(Duration::from_secs(offset_seconds.unsigned_abs()))
            } else {
                now.checked_sub(Duration::from_secs(offset_seconds.unsigned_abs()))
            }
            .unwrap_or(now);
            format_time(shifted, format)
        }
        Expr::Random {
            length,
            kind,
            uppercase,
        } => {
            let value = random_value(*length, *kind);
            if *uppercase {
                value.to_uppercase()
            } else {
                value
            }
        }
    }
}

fn random_value(length: usize, kind: RandomKind) -> String {
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const SYMBOLS: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_=+[]{};:,.<>/?";
    let alphabet: &[u8] = match kind {
        RandomKind::Uuid => return uuid::Uuid::new_v4().to_string(),
        RandomKind::Alphanumeric => ALNUM,
        RandomKind::Alphabetic => ALPHA,
        RandomKind::Numeric => b"0123456789",
        RandomKind::Hexadecimal => b"0123456789abcdef",
        RandomKind::AlphanumericAndSymbols => SYMBOLS,
    };
    (0..length)
        .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Method};

    #[test]
    fn renders_request_parts() {
        let mut headers = HeaderMap::new();
        headers.insert("x-trace", HeaderValue::from_static("abc"));
        let body = br#"{"a": {"b": 7}, "name": "ann"}"#;
        let req = Incoming::new(
            &Method::POST,
            "/users/42/edit",
            Some("x=1&x=2"),
            &headers,
            body,
        );
        let params = vec![("id".to_owned(), "42".to_owned())];
        let ctx = Context {
            req: &req,
            path_params: &params,
        };
        let t = Template::parse(
            "{{request.path.[0]}}|{{request.path.id}}|{{request.query.x}}|{{request.query.x.[1]}}|\
             {{request.headers.X-Trace}}|{{jsonPath request.body '$.a.b'}}|{{{request.method}}}",
        )
        .unwrap();
        assert_eq!(t.render(&ctx), "users|42|1|2|abc|7|POST");
        assert_eq!(
            Template::parse("{{request.body}}").unwrap().render(&ctx),
            String::from_utf8_lossy(body)
        );
    }

    #[test]
    fn now_and_random_have_their_shapes() {
        let headers = HeaderMap::new();
        let req = Incoming::new(&Method::GET, "/", None, &headers, b"");
        let ctx = Context {
            req: &req,
            path_params: &[],
        };
        let now = Template::parse("{{now}}").unwrap().render(&ctx);
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z'));
        let day = Template::parse("{{now format='yyyy-MM-dd'}}")
            .unwrap()
            .render(&ctx);
        assert_eq!(&day, &now[..10]);
        let r = Template::parse("{{randomValue length=12 type='NUMERIC'}}")
            .unwrap()
            .render(&ctx);
        assert_eq!(r.len(), 12);
        assert!(r.chars().all(|c| c.is_ascii_digit()));
    }

    fn render_with_query(template: &Template, query: &str) -> String {
        let headers = HeaderMap::new();
        let req = Incoming::new(&Method::GET, "/", Some(query), &headers, b"");
        template.render(&Context {
            req: &req,
            path_params: &[],
        })
    }

    #[test]
    fn json_text_escapes_each_placeholder_for_where_it_stands() {
        let template = Template::parse_as(
            r#"{"s": "<{{request.query.q}}>", "n": {{request.query.n}}, "after \"quote\" and \\": "{{request.query.q}}"}"#,
            Syntax::Json,
        )
        .unwrap();
        for (q, n, expected_n) in [
            (r#"","admin":true,"x":""#, "7", serde_json::json!(7)),
            (
                "\\\"\n\u{1}",
                r#"1,"admin":true"#,
                serde_json::json!(r#"1,"admin":true"#),
            ),
            ("plain", r#"{"a":[1]}"#, serde_json::json!({"a": [1]})),
            ("", "", serde_json::json!("")),
        ] {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("q", q)
                .append_pair("n", n)
                .finish();
            let text = render_with_query(&template, &query);
            let value: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(
                value,
                serde_json::json!({"s": format!("<{q}>"), "n": expected_n, "after \"quote\" and \\": q}),
                "{text}"
            );
        }
        // In plain text, output is written as it is.
        let plain = Template::parse(r#"{"s": "{{request.query.q}}"}"#).unwrap();
        assert_eq!(render_with_query(&plain, "q=%22"), r#"{"s": """}"#);
    }

    #[test]
    fn json_templates_render_strings_and_keys_as_strings() {
        let body = serde_json::json!({"{{request.query.k}}": ["{{request.query.q}}", 1, {"fixed": "{x}"}], "n": null});
        let template = JsonTemplate::parse(&body).unwrap();
        let headers = HeaderMap::new();
        let req = Incoming::new(&Method::GET, "/", Some("k=%22%7D&q=%5C%22"), &headers, b"");
        let value = template.render(&Context {
            req: &req,
            path_params: &[],
        });
        assert_eq!(
            value,
            serde_json::json!({"\"}": ["\\\"", 1, {"fixed": "{x}"}], "n": null})
        );
        // Without a placeholder the document is kept whole.
        assert!(matches!(
            JsonTemplate::parse(&serde_json::json!({"a": ["{b}"]})).unwrap(),
            JsonTemplate::Fixed(_)
        ));
        assert!(JsonTemplate::parse(&serde_json::json!({"a": "{{request.nope}}"})).is_err());
    }

    #[test]
    fn unknown_expressions_are_refused() {
        for bad in [
            "{{request.foo}}",
            "{{#each x}}",
            "{{math 1 '+' 2}}",
            "{{request.path",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
