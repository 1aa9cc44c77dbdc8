//! What httpbin answers about a request: `args`, `headers`, `origin`, `url`,
//! and for requests with a body `data`, `form`, `files` and `json`, with
//! httpbin's rules (a key seen once maps to a string, a repeated key to a
//! list; a body that is not UTF-8 becomes a base64 `data:` URL).

use std::net::IpAddr;

use axum::body::Bytes;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{HeaderMap, Method, Uri, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::EchoConfig;
use crate::http::ApiError;
use crate::http::connection::Connection;
use crate::http::extract::Body;
use crate::http::tls::TlsInfo;

/// Everything about one request that the echo routes report.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    /// The client's address: the peer, or the forwarded client when the
    /// peer is a trusted proxy.
    pub client: Option<IpAddr>,
    /// The HTTPS connection's details; `None` over plain HTTP.
    pub tls: Option<TlsInfo>,
    pub body: Bytes,
}

impl<S> FromRequest<S> for Inspected
where
    Arc<EchoConfig>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let method = req.method().clone();
        // The path as the client sent it: the routes are nested under the
        // prefix, which the nested router's requests no longer carry.
        let uri = with_prefix(&Arc::<EchoConfig>::from_ref(state).prefix, req.uri());
        let headers = req.headers().clone();
        let extensions = req.extensions();
        let connection = extensions.get::<Connection>();
        let client = connection.map(|c| c.client_ip);
        let tls = connection.and_then(|c| c.tls().cloned());
        let Body(body) = Body::from_request(req, state).await?;
        Ok(Inspected {
            method,
            uri,
            headers,
            client,
            tls,
            body,
        })
    }
}

/// `uri` as seen above a router nested at `prefix`.
fn with_prefix(prefix: &str, uri: &Uri) -> Uri {
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    // The nested router sees `/` for the prefix itself.
    let full = match path_and_query.strip_prefix('/') {
        Some(rest) if rest.is_empty() || rest.starts_with('?') => format!("{prefix}{rest}"),
        _ => format!("{prefix}{path_and_query}"),
    };
    full.parse().unwrap_or_else(|_| uri.clone())
}

impl Inspected {
    /// The query string's parameters.
    pub fn args(&self) -> Map<String, Value> {
        multi_map(query_pairs(self.uri.query().unwrap_or_default()))
    }

    /// Header names in httpbin's `Title-Case`; repeated headers joined by `,`.
    pub fn headers_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        for name in self.headers.keys() {
            let joined = self
                .headers
                .get_all(name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(",");
            map.insert(title_case(name.as_str()), Value::String(joined));
        }
        map
    }

    /// The client's address (`X-Forwarded-For` counts only from a trusted proxy).
    pub fn origin(&self) -> String {
        self.client
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }

    /// The full URL the client asked for, as httpbin reports it.
    pub fn url(&self) -> String {
        let host = self
            .headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .unwrap_or("localhost");
        let path_and_query = self.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{host}{path_and_query}")
    }

    pub fn header_str(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    fn content_type(&self) -> &str {
        self.header_str(header::CONTENT_TYPE).unwrap_or_default()
    }

    /// `args`, `headers`, `origin` and `url`: the `/get` shape.
    pub fn basic(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("args".into(), Value::Object(self.args()));
        map.insert("headers".into(), Value::Object(self.headers_json()));
        map.insert("origin".into(), Value::String(self.origin()));
        map.insert("url".into(), Value::String(self.url()));
        map
    }

    /// The `/post` shape: the basic fields plus `data`, `files`, `form`, `json`.
    pub async fn with_body(&self) -> Result<Map<String, Value>, ApiError> {
        let mut map = self.basic();
        let parsed = parse_body(self.content_type(), &self.body).await?;
        map.insert("data".into(), Value::String(parsed.data));
        map.insert("files".into(), Value::Object(parsed.files));
        map.insert("form".into(), Value::Object(parsed.form));
        map.insert("json".into(), parsed.json);
        Ok(map)
    }

    /// The `/anything` shape: the `/post` shape plus `method`, and over
    /// HTTPS a `tls` object (protocol, cipher suite, SNI, ALPN) httpbin lacks.
    pub async fn anything(&self) -> Result<Map<String, Value>, ApiError> {
        let mut map = self.with_body().await?;
        map.insert("method".into(), Value::String(self.method.to_string()));
        if let Some(tls) = &self.tls {
            map.insert(
                "tls".into(),
                serde_json::json!({
                    "protocol": tls.protocol,
                    "cipher_suite": tls.cipher_suite,
                    "sni": tls.sni,
                    "alpn": tls.alpn,
                }),
            );
        }
        Ok(map)
    }
}

/// The body as httpbin reports it.
#[derive(Debug, Default)]
struct ParsedBody {
    data: String,
    form: Map<String, Value>,
    files: Map<String, Value>,
    json: Value,
}

async fn parse_body(content_type: &str, body: &Bytes) -> Result<ParsedBody, ApiError> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let mut parsed = ParsedBody::default();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            let text = String::from_utf8_lossy(body);
            parsed.form = multi_map(query_pairs(&text));
        }
        "multipart/form-data" => {
            let (form, files) = parse_multipart(content_type, body.clone()).await?;
            parsed.form = form;
            parsed.files = files;
        }
        _ => {
            parsed.data = json_safe(body, "application/octet-stream");
            parsed.json = serde_json::from_slice(body).unwrap_or(Value::Null);
        }
    }
    Ok(parsed)
}

async fn parse_multipart(
    content_type: &str,
    body: Bytes,
) -> Result<(Map<String, Value>, Map<String, Value>), ApiError> {
    let bad = |e: multer::Error| ApiError::BadRequest(format!("malformed multipart body: {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(bad)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = field.file_name().is_some();
        let part_type = field
            .content_type()
            .map_or_else(|| "application/octet-stream".to_owned(), |m| m.to_string());
        let content = field.bytes().await.map_err(bad)?;
        if is_file {
            files.push((name, json_safe(&content, &part_type)));
        } else {
            fields.push((name, String::from_utf8_lossy(&content).into_owned()));
        }
    }
    Ok((multi_map(fields), multi_map(files)))
}

/// Text when the bytes are UTF-8, else a base64 `data:` URL of the given type.
pub fn json_safe(bytes: &[u8], content_type: &str) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => format!("data:{content_type};base64,{}", BASE64.encode(bytes)),
    }
}

/// Decoded `key=value` pairs of a query string or urlencoded form.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// httpbin's multi-dict: a key seen once maps to its value, a key seen more
/// than once to the list of its values, in order.
pub fn multi_map(pairs: impl IntoIterator<Item = (String, String)>) -> Map<String, Value> {
    let mut map = Map::new();
    for (key, value) in pairs {
        match map.get_mut(&key) {
            None => {
                map.insert(key, Value::String(value));
            }
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(value)]);
            }
        }
    }
    map
}

/// `user-agent` → `User-Agent`, as httpbin shows header names.
pub fn title_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_seen_once_is_a_string_and_a_repeated_key_a_list() {
        let map = multi_map(query_pairs("a=1&b=2&a=3&a=4"));
        assert_eq!(map["a"], serde_json::json!(["1", "3", "4"]));
        assert_eq!(map["b"], serde_json::json!("2"));
    }

    #[test]
    fn header_names_are_title_cased() {
        assert_eq!(title_case("user-agent"), "User-Agent");
        assert_eq!(title_case("x-request-id"), "X-Request-Id");
        assert_eq!(title_case("host"), "Host");
    }

    #[test]
    fn bytes_that_are_not_utf8_become_a_base64_data_url() {
        assert_eq!(json_safe(b"plain", "text/plain"), "plain");
        assert_eq!(
            json_safe(&[0xff, 0x00, 0xfe], "application/octet-stream"),
            "data:application/octet-stream;base64,/wD+"
        );
    }

    #[tokio::test]
    async fn a_json_body_is_kept_as_data_and_parsed_as_json() {
        let parsed = parse_body("application/json", &Bytes::from_static(br#"{"a":[1,2]}"#))
            .await
            .unwrap();
        assert_eq!(parsed.data, r#"{"a":[1,2]}"#);
        assert_eq!(parsed.json, serde_json::json!({"a": [1, 2]}));
        assert!(parsed.form.is_empty());
    }

    #[tokio::test]
    async fn a_urlencoded_body_fills_form_not_data() {
        let parsed = parse_body(
            "application/x-www-form-urlencoded; charset=utf-8",
            &Bytes::from_static(b"name=ada&tag=x&tag=y"),
        )
        .await
        .unwrap();
        assert_eq!(parsed.data, "");
        assert_eq!(parsed.form["name"], "ada");
        assert_eq!(parsed.form["tag"], serde_json::json!(["x", "y"]));
        assert_eq!(parsed.json, Value::Null);
    }

    #[tokio::test]
    async fn a_malformed_multipart_body_is_a_400() {
        let error = parse_body("multipart/form-data", &Bytes::from_static(b"junk"))
            .await
            .unwrap_err();
        assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST);
    }
}
