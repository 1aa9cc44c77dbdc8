//! What a template sees: WireMock's model (`request.*`, `parameters`) as
//! JSON, and how a value prints, as WireMock's Java objects print.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::Context;
use super::json_doc::Json;
use crate::mocks::matcher::Incoming;
use crate::mocks::matcher::host_and_port;

/// The model of one request: built once per response, read by every
/// template of it.
pub(super) fn build(ctx: &Context<'_>) -> Value {
    let req = ctx.req;
    let https = ctx.req.origin.https;
    let scheme = if https { "https" } else { "http" };
    let authority = req
        .header_values("host")
        .next()
        .unwrap_or("localhost")
        .to_owned();
    let (host, port) = host_and_port(&authority, https);
    let default_port = if https { 443 } else { 80 };
    let base_url = if port == default_port {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{port}")
    };
    let mut request = json!({
        "url": req.url(),
        "path": path_model(req, ctx.path_params),
        "pathSegments": path_model(req, ctx.path_params),
        "method": req.method.as_str(),
        "body": req.body_text(),
        "bodyAsBase64": base64::engine::general_purpose::STANDARD.encode(req.body),
        "scheme": scheme,
        "host": host,
        "port": port,
        "baseUrl": base_url,
        "query": multi_map(req.query_pairs().iter().map(|(k, v)| (k.clone(), v.clone()))),
        "headers": multi_map(req.headers.iter().filter_map(|(name, value)| {
            // Lower-case keys: templates' header names are lower-cased when
            // compiled, so the lookup ignores case, as WireMock's does.
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })),
        "cookies": multi_map(req.cookies().iter().cloned()),
    });
    if let Some(ip) = ctx.req.origin.client_ip {
        request["clientIp"] = Value::String(ip.to_string());
    }
    json!({"request": request, "parameters": ctx.parameters})
}

/// `request.path`: the segments (WireMock's `UrlPath`, a list), or with
/// `urlPathTemplate` parameters the segments by index and the parameters by
/// name (its `TemplatedUrlPath`, a map).
fn path_model(req: &Incoming<'_>, params: &[(String, String)]) -> Value {
    let segments = req.path_segments();
    if params.is_empty() {
        return Value::Array(segments.into_iter().map(Value::String).collect());
    }
    let mut map: Map<String, Value> = segments
        .into_iter()
        .enumerate()
        .map(|(i, s)| (i.to_string(), Value::String(s)))
        .collect();
    for (name, value) in params {
        map.insert(name.clone(), Value::String(value.clone()));
    }
    Value::Object(map)
}

/// Each name with all its values (WireMock's `ListOrSingle`), in order.
fn multi_map(pairs: impl Iterator<Item = (String, String)>) -> Value {
    let mut map = Map::new();
    for (name, value) in pairs {
        if let Value::Array(values) = map.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
            values.push(Value::String(value));
        }
    }
    Value::Object(map)
}

/// Whether a path names one of WireMock's `ListOrSingle` values (a query
/// parameter, a header, a cookie), which prints as its first value.
fn is_list_or_single(path: &str) -> bool {
    let mut parts = from_root(path).split(['.', '/']);
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (
            Some("request"),
            Some("query" | "headers" | "cookies"),
            Some(_),
            None
        )
    )
}

/// Whether a path names `request.path` itself, which prints as the path.
fn is_whole_path(path: &str) -> bool {
    matches!(from_root(path), "request.path" | "request.pathSegments")
}

/// A path without the `@root.` the compiler puts before the model's paths.
fn from_root(path: &str) -> &str {
    path.strip_prefix("@root.")
        .or_else(|| path.strip_prefix("@root/"))
        .unwrap_or(path)
}

/// A value as a helper takes it: a `ListOrSingle` is its first value.
pub(super) fn scalar<'v>(path: Option<&String>, value: &'v Value) -> &'v Value {
    match value {
        Value::Array(items) if path.is_some_and(|p| is_list_or_single(p)) => {
            items.first().unwrap_or(&Value::Null)
        }
        _ => value,
    }
}

/// A value as WireMock prints it, knowing where it came from.
pub(super) fn text_at(path: Option<&String>, value: &Value, model: &Value) -> String {
    if path.is_some_and(|p| is_whole_path(p)) {
        let url = model["request"]["url"].as_str().unwrap_or_default();
        return url.split('?').next().unwrap_or_default().to_owned();
    }
    java_text(scalar(path, value))
}

/// The member under which a node `xPath` selected keeps how it prints
/// (WireMock's `XmlNode`, which prints as its markup or its text).
pub(super) const XML_NODE: &str = "__echobase_xml_node";

/// How an `xPath` node prints, if `value` is one.
fn xml_node_text(value: &Value) -> Option<&str> {
    value.as_object()?.get(XML_NODE)?.as_str()
}

/// A value as Java's `toString` prints it: lists as `[a, b]`, maps as
/// `{k=v}`, `null` as nothing; an `xPath` node as its markup or text, and
/// a list of them as its first (WireMock's `ListOrSingle`).
pub(super) fn java_text(value: &Value) -> String {
    let mut out = String::new();
    push_java_text(&mut out, value);
    out
}

fn push_java_text(out: &mut String, value: &Value) {
    if let Some(text) = xml_node_text(value) {
        out.push_str(text);
        return;
    }
    match value {
        Value::Array(items)
            if !items.is_empty() && items.iter().all(|i| xml_node_text(i).is_some()) =>
        {
            push_java_text(out, &items[0]);
        }
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_java_text(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                push_java_text(out, item);
            }
            out.push('}');
        }
    }
}

/// JSON as WireMock's `Json.write` prints it (Jackson's default pretty
/// printer): objects one member a line, arrays on one line.
pub(super) fn jackson_pretty(value: &Value) -> String {
    Json::from_value(value)
        .pretty(usize::MAX)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_as_wiremock_prints_them() {
        let list = json!(["1", "2"]);
        let query = "request.query.x".to_owned();
        assert_eq!(text_at(Some(&query), &list, &Value::Null), "1");
        assert_eq!(text_at(None, &list, &Value::Null), "[1, 2]");
        assert_eq!(java_text(&json!({"k": [1]})), "{k=[1]}");
        assert_eq!(
            jackson_pretty(&json!({"b": [1, 2], "c": {"d": 1}})),
            "{\n  \"b\" : [ 1, 2 ],\n  \"c\" : {\n    \"d\" : 1\n  }\n}"
        );
        assert_eq!(jackson_pretty(&json!([1, "b"])), "[ 1, \"b\" ]");
        let path = "request.path".to_owned();
        let model = json!({"request": {"url": "/a/b?x=1"}});
        assert_eq!(text_at(Some(&path), &json!(["a", "b"]), &model), "/a/b");
    }
}
