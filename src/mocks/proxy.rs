//! Proxy stubs (`response.proxyBaseUrl`): a matched request is forwarded to
//! another server and that server's answer is sent back, as WireMock does.
//! The target URL is the base URL, then the request's path (less
//! `proxyUrlPrefixToRemove`) and query. The request's headers go along,
//! less hop-by-hop ones, `Host` (the target's own is sent), and those the
//! stub names in `removeProxyRequestHeaders`; `additionalProxyRequestHeaders`
//! are set on top. The answer's status, headers (hop-by-hop ones dropped)
//! and body come back as they are, the body streamed as it arrives, with the
//! stub's own `headers` added.
//!
//! A proxy stub makes this server send requests for whoever may create
//! stubs, so where it may send them is limited by
//! `mocks.proxy_allowed_targets` (empty by default: nowhere). A target
//! named by host name is reached at whatever it resolves to; otherwise every
//! address connected to must be inside one of the listed networks, checked
//! after the name resolves so that a name cannot point the server elsewhere.
//! Redirects are passed back, not followed. The client is built on the
//! first proxied request and pools its connections (HTTP/1.1, and HTTP/2
//! where a TLS target offers it).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use hyper::body::{Frame, SizeHint};
use ipnet::IpNet;

use super::journal::{Logged, LoggedResponse};
use super::matcher::Incoming;
use super::parse::response::proxy_base_url;
use super::respond::add_headers;
use super::stub::{HeaderText, Proxy, ProxyBaseUrl};
use super::template::Context as TemplateContext;
use crate::http::ApiError;
use crate::http::hop_headers::is_hop_by_hop_or_framing;
use crate::http::outbound::{caused_by, describe_failure};
use crate::setting::SettingValue;

/// Longest wait to open a connection to a proxy target.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections kept per target (each closes after 90 s unused). As
/// many as the requests in flight to one target under load: with 32, 64
/// clients through one proxy stub closed and reopened a connection for every
/// other request (10,000 sockets in TIME-WAIT after a few seconds of wrk),
/// and opening them was a tenth of the proxy's CPU time.
const IDLE_CONNECTIONS_PER_TARGET: usize = 1024;

/// One entry of `mocks.proxy_allowed_targets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyTarget {
    /// Addresses a target may connect to (`127.0.0.0/8`, `10.1.2.3`).
    Network(IpNet),
    /// A host name, reached at whatever it resolves to (`api.example.com`).
    Host(String),
    /// The subdomains of a name (`*.example.com`), not the name itself.
    Subdomains(String),
}

impl ProxyTarget {
    fn allows_name(&self, host: &str) -> bool {
        match self {
            ProxyTarget::Network(_) => false,
            ProxyTarget::Host(name) => host.eq_ignore_ascii_case(name),
            ProxyTarget::Subdomains(parent) => {
                host.len().checked_sub(parent.len() + 1).is_some_and(|cut| {
                    host.as_bytes()[cut] == b'.' && host[cut + 1..].eq_ignore_ascii_case(parent)
                })
            }
        }
    }

    fn allows_address(&self, ip: IpAddr) -> bool {
        // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is that IPv4 address.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        matches!(self, ProxyTarget::Network(net) if net.contains(&ip))
    }
}

/// `127.0.0.0/8`, `10.1.2.3`, `api.example.com` or `*.example.com`.
impl SettingValue for ProxyTarget {
    fn from_setting(value: &toml::Value) -> Result<Self, String> {
        if let Ok(net) = IpNet::from_setting(value) {
            return Ok(ProxyTarget::Network(net));
        }
        let text = String::from_setting(value)?.to_ascii_lowercase();
        let (name, subdomains) = match text.strip_prefix("*.") {
            Some(parent) => (parent.to_owned(), true),
            None => (text.clone(), false),
        };
        let valid = !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !valid {
            return Err(format!(
                "`{text}` is not a network (10.0.0.0/8), an address, a host name \
                 (api.example.com) or a host name's subdomains (*.example.com)"
            ));
        }
        Ok(if subdomains {
            ProxyTarget::Subdomains(name)
        } else {
            ProxyTarget::Host(name)
        })
    }

    fn shown(&self) -> String {
        match self {
            ProxyTarget::Network(net) => net.to_string(),
            ProxyTarget::Host(name) => name.clone(),
            ProxyTarget::Subdomains(parent) => format!("*.{parent}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProxySettings {
    pub allowed: Vec<ProxyTarget>,
    pub timeout: Duration,
    pub ca_file: Option<PathBuf>,
}

/// Why a request could not be proxied. None carries the target's full URL:
/// it may hold credentials, and the problem is sent to the client.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the stub's proxyBaseUrl rendered `{0}`, which is not an http or https URL")]
    BadTarget(String),
    #[error(
        "the proxy target {0} is not in mocks.proxy_allowed_targets (it names the hosts and \
         networks proxy stubs may reach; empty, the default, allows none)"
    )]
    Denied(String),
    #[error("the proxy target {authority} did not answer: {reason}")]
    Unreachable { authority: String, reason: String },
    #[error("the proxy target {0} sent no response headers within {1:?}")]
    TimedOut(String, Duration),
    #[error("the proxy client could not be built: {0}")]
    Client(String),
}

impl From<ProxyError> for ApiError {
    fn from(error: ProxyError) -> Self {
        match error {
            ProxyError::BadTarget(_) | ProxyError::Client(_) => {
                ApiError::Internal(error.to_string())
            }
            ProxyError::Denied(_) => ApiError::Forbidden(error.to_string()),
            ProxyError::Unreachable { .. } => ApiError::BadGateway(error.to_string()),
            ProxyError::TimedOut(..) => ApiError::GatewayTimeout(error.to_string()),
        }
    }
}

/// A proxied request, rendered from the request while it is at hand: where
/// it goes and the headers it carries.
pub struct Forward {
    url: url::Url,
    headers: HeaderMap,
    /// The stub's own `headers`, added to the answer.
    answer_headers: HeaderMap,
    /// Whether a body goes along: one was sent, or at least a length (as
    /// `Content-Length: 0`), as WireMock decides.
    with_body: bool,
}

/// What the stub's templates render to (its target, the headers it adds to
/// the request and to the answer), and what is forwarded of the request. A
/// template that fails is a 500 naming the field.
pub fn prepare(
    proxy: &Proxy,
    stub_headers: &[(HeaderName, HeaderText)],
    req: &Incoming<'_>,
    ctx: &TemplateContext<'_>,
) -> Result<Forward, String> {
    let base = match &proxy.base_url {
        ProxyBaseUrl::Fixed(url) => url.clone(),
        ProxyBaseUrl::Template(t) => {
            let text = t.render(ctx).map_err(|e| format!("proxyBaseUrl: {e}"))?;
            proxy_base_url(&text).map_err(|e| format!("proxyBaseUrl: {e}"))?
        }
    };
    let path = match &proxy.prefix_to_remove {
        Some(prefix) => req.path.strip_prefix(prefix.as_str()).unwrap_or(req.path),
        None => req.path,
    };
    let mut url = base;
    let joined = format!("{}{path}", url.path().trim_end_matches('/'));
    url.set_path(&joined);
    url.set_query(req.query);

    let mut headers = HeaderMap::with_capacity(req.headers.len());
    let named_by_connection: Vec<String> = req
        .headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    for (name, value) in req.headers {
        let forwarded = name != header::HOST
            && !is_hop_by_hop_or_framing(name.as_str())
            && !named_by_connection.iter().any(|n| n == name.as_str())
            && !proxy.remove_headers.contains(name);
        if forwarded {
            headers.append(name.clone(), value.clone());
        }
    }
    for (name, _) in &proxy.add_headers {
        headers.remove(name);
    }
    for (name, value) in &proxy.add_headers {
        let value = match value {
            HeaderText::Fixed(v) => v.clone(),
            HeaderText::Template(t) => t
                .render(ctx)
                .ok()
                .and_then(|text| HeaderValue::from_str(&text).ok())
                .ok_or_else(|| format!("additionalProxyRequestHeaders.{name}: did not render"))?,
        };
        headers.append(name.clone(), value);
    }
    let mut answer_headers = HeaderMap::new();
    add_headers(stub_headers, ctx, &mut answer_headers)?;
    let with_body = !req.body.is_empty() || req.headers.contains_key(header::CONTENT_LENGTH);
    Ok(Forward {
        url,
        headers,
        answer_headers,
        with_body,
    })
}

pub struct Proxies {
    /// Built on the first proxied request: a server without proxy stubs
    /// never loads the TLS roots and pool it needs.
    client: OnceLock<reqwest::Client>,
    allowed: Arc<[ProxyTarget]>,
    timeout: Duration,
    ca_file: Option<PathBuf>,
}

impl Proxies {
    pub fn new(settings: &ProxySettings) -> Proxies {
        Proxies {
            client: OnceLock::new(),
            allowed: settings.allowed.clone().into(),
            timeout: settings.timeout,
            ca_file: settings.ca_file.clone(),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, ProxyError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_max_idle_per_host(IDLE_CONNECTIONS_PER_TARGET)
            // A body that stops arriving for this long ends the answer.
            .read_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(AllowedResolver {
                allowed: self.allowed.clone(),
            }));
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| ProxyError::Client(format!("{}: {e}", path.display())))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ProxyError::Client(format!("{}: {e}", path.display())))?;
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder
            .build()
            .map_err(|e| ProxyError::Client(e.to_string()))?;
        Ok(self.client.get_or_init(|| client))
    }

    /// Whether `url`'s host may be reached as far as can be told before it
    /// resolves: an address must be in a listed network; a name must be
    /// listed, or there must be networks its addresses can be checked against.
    fn check(&self, url: &url::Url) -> Result<(), ProxyError> {
        let allowed = match url.host() {
            None => false,
            Some(url::Host::Ipv4(ip)) => self.allowed.iter().any(|t| t.allows_address(ip.into())),
            Some(url::Host::Ipv6(ip)) => self.allowed.iter().any(|t| t.allows_address(ip.into())),
            Some(url::Host::Domain(name)) => self
                .allowed
                .iter()
                .any(|t| t.allows_name(name) || matches!(t, ProxyTarget::Network(_))),
        };
        if allowed {
            Ok(())
        } else {
            Err(ProxyError::Denied(authority(url)))
        }
    }

    /// Sends the request; the answer comes back with its hop-by-hop
    /// headers dropped and its body still to be read.
    pub async fn forward(
        &self,
        forward: Forward,
        method: Method,
        body: Bytes,
    ) -> Result<axum::http::Response<reqwest::Body>, ProxyError> {
        self.check(&forward.url)?;
        let client = self.client()?;
        let target = authority(&forward.url);
        let mut request = client.request(method, forward.url).headers(forward.headers);
        if forward.with_body {
            request = request.body(body);
        }
        let answer = match tokio::time::timeout(self.timeout, request.send()).await {
            Err(_) => return Err(ProxyError::TimedOut(target, self.timeout)),
            Ok(Err(error)) if caused_by::<Denied>(&error) => {
                return Err(ProxyError::Denied(target));
            }
            // The client's read timeout (the same bound) may fire first.
            Ok(Err(error)) if error.is_timeout() => {
                return Err(ProxyError::TimedOut(target, self.timeout));
            }
            Ok(Err(error)) => {
                return Err(ProxyError::Unreachable {
                    authority: target,
                    reason: describe_failure(&error),
                });
            }
            Ok(Ok(answer)) => answer,
        };
        let mut answer: axum::http::Response<reqwest::Body> = answer.into();
        remove_hop_by_hop(answer.headers_mut());
        for (name, value) in &forward.answer_headers {
            answer.headers_mut().append(name.clone(), value.clone());
        }
        Ok(answer)
    }
}

/// The answer as sent to the client, its body streamed. `logged` gets the
/// response once the body ends (or the client goes): `headers` as the
/// journal keeps them, and the body's first `kept_body` bytes.
pub fn journaled(
    answer: axum::http::Response<reqwest::Body>,
    logged: Logged,
    headers: HeaderMap,
    kept_body: usize,
) -> Response {
    let (parts, body) = answer.into_parts();
    let body = JournaledBody {
        inner: body,
        tail: Some(JournalTail {
            logged,
            status: parts.status.as_u16(),
            headers,
            kept: Vec::new(),
            limit: kept_body,
        }),
    };
    Response::from_parts(parts, Body::new(body))
}

/// Drops the hop-by-hop headers of an answer, and those its `Connection`
/// names. `Content-Length` stays: the body is sent on unchanged.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    let hop_by_hop: Vec<HeaderName> = headers
        .keys()
        .filter(|name| *name != header::CONTENT_LENGTH && is_hop_by_hop_or_framing(name.as_str()))
        .cloned()
        .collect();
    for name in hop_by_hop {
        headers.remove(name);
    }
}

/// `host:port` of a URL, for messages: never its path, query or credentials.
fn authority(url: &url::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => "(no host)".to_owned(),
    }
}

/// A host name whose addresses are all outside the allowed networks.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to addresses outside mocks.proxy_allowed_targets")]
struct Denied {
    host: String,
}

/// Resolves as the system does. A name the allow list names keeps all its
/// addresses; any other keeps only those inside the listed networks.
struct AllowedResolver {
    allowed: Arc<[ProxyTarget]>,
}

impl reqwest::dns::Resolve for AllowedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let by_name = allowed.iter().any(|t| t.allows_name(&host));
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| by_name || allowed.iter().any(|t| t.allows_address(addr.ip())))
                .collect();
            if found.is_empty() {
                return Err(Box::new(Denied { host }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The target's body on its way to the client; the journal entry gets the
/// response, with the body's first bytes, when it ends or is dropped.
struct JournaledBody {
    inner: reqwest::Body,
    tail: Option<JournalTail>,
}

struct JournalTail {
    logged: Logged,
    status: u16,
    headers: HeaderMap,
    kept: Vec<u8>,
    limit: usize,
}

impl Drop for JournalTail {
    fn drop(&mut self) {
        self.logged.respond(LoggedResponse {
            status: self.status,
            headers: std::mem::take(&mut self.headers),
            body: Bytes::from(std::mem::take(&mut self.kept)),
            fault: None,
        });
    }
}

impl hyper::body::Body for JournaledBody {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        // Both fields are Unpin: no projection is needed.
        let this = &mut *self;
        let frame = std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let (Some(data), Some(tail)) = (frame.data_ref(), this.tail.as_mut()) {
                    let room = tail.limit.saturating_sub(tail.kept.len());
                    tail.kept.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            // The end, or the target broke off: the entry is complete either way.
            None | Some(Err(_)) => drop(this.tail.take()),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(text: &str) -> Result<ProxyTarget, String> {
        ProxyTarget::from_setting(&toml::Value::String(text.to_owned()))
    }

    #[test]
    fn targets_are_networks_addresses_names_or_subdomains() {
        assert_eq!(
            target("10.0.0.0/8"),
            Ok(ProxyTarget::Network("10.0.0.0/8".parse().unwrap()))
        );
        assert_eq!(
            target("127.0.0.1"),
            Ok(ProxyTarget::Network("127.0.0.1/32".parse().unwrap()))
        );
        assert_eq!(
            target("API.example.com"),
            Ok(ProxyTarget::Host("api.example.com".into()))
        );
        assert_eq!(
            target("*.example.com"),
            Ok(ProxyTarget::Subdomains("example.com".into()))
        );
        for bad in ["", "*.", "a..b", "http://x", "x/y", "a b"] {
            assert!(target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn subdomains_do_not_include_the_name_or_lookalikes() {
        let t = target("*.example.com").unwrap();
        assert!(t.allows_name("api.example.com"));
        assert!(t.allows_name("a.b.EXAMPLE.com"));
        assert!(!t.allows_name("example.com"));
        assert!(!t.allows_name("badexample.com"));
        assert!(!t.allows_name("example.com.evil.net"));
    }

    #[test]
    fn mapped_ipv4_addresses_are_checked_as_ipv4() {
        let t = target("127.0.0.0/8").unwrap();
        assert!(t.allows_address("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!t.allows_address("::ffff:10.0.0.1".parse().unwrap()));
    }

    fn proxies(allowed: &[&str]) -> Proxies {
        Proxies::new(&ProxySettings {
            allowed: allowed.iter().map(|t| target(t).unwrap()).collect(),
            timeout: Duration::from_secs(1),
            ca_file: None,
        })
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let none = proxies(&[]);
        for url in [
            "http://127.0.0.1:1/",
            "http://localhost/",
            "https://[::1]/x",
        ] {
            let url = url::Url::parse(url).unwrap();
            assert!(
                matches!(none.check(&url), Err(ProxyError::Denied(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn addresses_need_a_network_and_names_a_name_or_a_network() {
        let named = proxies(&["api.example.com"]);
        let check = |p: &Proxies, url: &str| p.check(&url::Url::parse(url).unwrap()).is_ok();
        assert!(check(&named, "https://api.example.com/v1"));
        assert!(!check(&named, "https://other.example.com/v1"));
        assert!(!check(&named, "http://127.0.0.1/"));
        let loopback = proxies(&["127.0.0.0/8"]);
        assert!(check(&loopback, "http://127.0.0.2:8080/"));
        assert!(!check(&loopback, "http://10.0.0.1/"));
        // Checked again once resolved, by the resolver.
        assert!(check(&loopback, "http://localhost/"));
    }

    #[test]
    fn denial_messages_never_carry_credentials_or_paths() {
        let url = url::Url::parse("http://user:secret@10.0.0.1:81/private?token=t").unwrap();
        let text = proxies(&[]).check(&url).unwrap_err().to_string();
        assert!(text.contains("10.0.0.1:81"), "{text}");
        for secret in ["secret", "user", "private", "token"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    /// The forwarded URL and headers for a request to `path_and_query`
    /// through a stub with this `response`.
    fn forwarded(
        response: serde_json::Value,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Forward {
        let stub = crate::mocks::parse::stub::parse_stub(
            &serde_json::json!({"request": {"urlPathPattern": "/.*"}, "response": response}),
        )
        .unwrap();
        let proxy = stub.response.proxy.as_ref().unwrap();
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let method = Method::GET;
        let incoming = Incoming::new(&method, path, query, &map, b"");
        let ctx = TemplateContext::new(&incoming, &[]);
        prepare(proxy, &stub.response.headers, &incoming, &ctx).unwrap()
    }

    #[test]
    fn the_target_url_is_the_base_then_the_path_less_its_prefix_then_the_query() {
        let url = |base: &str, prefix: Option<&str>, request: &str| {
            let mut response = serde_json::json!({"proxyBaseUrl": base});
            if let Some(prefix) = prefix {
                response["proxyUrlPrefixToRemove"] = prefix.into();
            }
            forwarded(response, request, &[]).url.to_string()
        };
        assert_eq!(url("http://h", None, "/a/b?x=1"), "http://h/a/b?x=1");
        assert_eq!(url("http://h/root/", None, "/a"), "http://h/root/a");
        assert_eq!(
            url("http://h/root?dropped=1", None, "/a"),
            "http://h/root/a"
        );
        assert_eq!(
            url("http://h/root", Some("/api"), "/api/v1?q"),
            "http://h/root/v1?q"
        );
        assert_eq!(url("http://h", Some("/api"), "/api"), "http://h/");
        assert_eq!(url("http://h", Some("/api"), "/other"), "http://h/other");
        assert_eq!(
            url("https://h:8443", None, "/%2F?a=%20"),
            "https://h:8443/%2F?a=%20"
        );
    }

    #[test]
    fn hop_by_hop_host_and_removed_request_headers_are_not_forwarded() {
        let forward = forwarded(
            serde_json::json!({"proxyBaseUrl": "http://h",
                "removeProxyRequestHeaders": ["X-Gone"],
                "additionalProxyRequestHeaders": {"x-set": "new"}}),
            "/",
            &[
                ("host", "mock.local"),
                ("connection", "x-hop"),
                ("x-hop", "1"),
                ("te", "trailers"),
                ("content-length", "0"),
                ("x-gone", "1"),
                ("x-set", "old"),
                ("x-kept", "1"),
                ("x-kept", "2"),
            ],
        );
        let mut names: Vec<&str> = forward.headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["x-kept", "x-set"]);
        assert_eq!(forward.headers.get_all("x-kept").iter().count(), 2);
        assert_eq!(forward.headers["x-set"], "new");
        assert!(
            forward.with_body,
            "a Content-Length was sent, so a body goes"
        );
    }

    #[test]
    fn hop_by_hop_answer_headers_go_and_the_length_stays() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-trace"),
            ("x-trace", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("content-length", "12"),
            ("content-type", "text/plain"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        remove_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-length", "content-type"]);
    }
}
