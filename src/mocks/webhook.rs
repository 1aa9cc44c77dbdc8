//! Sending webhooks: after a stub with webhooks answers, each is rendered
//! from the request (in the request's task) and handed to a background task
//! that waits its delay and sends it, with a timeout and a few retries. The
//! mock's answer never waits for it.
//!
//! A webhook is a request the server makes on a client's say-so, so where it
//! may go is limited: every address it would connect to must be inside
//! `mocks.webhook_allowed_networks` (default: loopback only). Host names are
//! checked after they resolve, against each address, so a name cannot point
//! the server elsewhere; redirects are not followed.
//!
//! Pending webhooks are bounded (`mocks.webhook_max_pending`); past it a
//! webhook is dropped and recorded as such. Each attempt is recorded in a
//! ring (`GET /__admin/webhooks`) and counted in `/metrics`
//! (`echobase_mock_webhooks_total{outcome}`). Webhooks live in the process
//! that served the request: one still waiting when it stops is not sent.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method};
use ipnet::IpNet;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::matcher::Incoming;
use super::stub::{Stub, Webhook, WebhookBody, WebhookText};
use super::template::Context;
use crate::clock::now_ms;
use crate::http::outbound::{caused_by, describe_failure};

/// Waits between attempts: the n-th retry waits `RETRY_BACKOFF * 2^(n-1)`.
const RETRY_BACKOFF: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub allowed_networks: Vec<IpNet>,
    pub max_pending: usize,
    pub timeout: Duration,
    pub retries: u32,
    /// Attempts kept for `GET /__admin/webhooks` (`mocks.webhook_attempts_kept`).
    pub kept_attempts: usize,
}

/// A rendered webhook, ready to send.
#[derive(Debug)]
pub struct Outbound {
    pub stub_id: String,
    pub method: Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub delay: Option<Duration>,
}

/// Renders a stub's webhooks for the request it answers: each one ready to
/// send, or why it cannot be sent.
pub fn render(
    stub: &Stub,
    req: &Incoming<'_>,
    path_params: &[(String, String)],
) -> Vec<Result<Outbound, String>> {
    stub.webhooks
        .iter()
        .map(|hook| render_one(&stub.id, hook, req, path_params))
        .collect()
}

fn render_one(
    stub_id: &str,
    hook: &Webhook,
    req: &Incoming<'_>,
    path_params: &[(String, String)],
) -> Result<Outbound, String> {
    let ctx = Context::new(req, path_params).with_parameters(&hook.parameters);
    let method = match &hook.method {
        WebhookText::Fixed(m) => m.clone(),
        WebhookText::Template(t) => t.render(&ctx)?,
    };
    let method = Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("method `{method}` is not an HTTP method"))?;
    let url_text = hook.url.render(&ctx)?;
    let url = url::Url::parse(url_text.trim())
        .map_err(|e| format!("url `{url_text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("url `{url_text}` is not http or https"));
    }
    let mut headers = HeaderMap::new();
    for (name, template) in &hook.headers {
        let text = template.render(&ctx)?;
        let value = HeaderValue::from_str(&text)
            .map_err(|_| format!("header `{name}` renders to a value no header can hold"))?;
        headers.append(name.clone(), value);
    }
    // As WireMock: a body goes only with a method that carries one.
    let carries_body = matches!(method, Method::POST | Method::PUT | Method::PATCH);
    let body = match &hook.body {
        _ if !carries_body => Bytes::new(),
        None => Bytes::new(),
        Some(WebhookBody::Fixed(bytes)) => bytes.clone(),
        Some(WebhookBody::Template(t)) => Bytes::from(t.render(&ctx)?),
    };
    Ok(Outbound {
        stub_id: stub_id.to_owned(),
        method,
        url,
        headers,
        body,
        delay: hook.delay.sample(),
    })
}

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Sent, and answered (any status).
    Sent,
    /// Sent, and no answer came (refused, timed out) or a 5xx: retried while
    /// retries are left.
    Failed,
    /// Its address is outside `mocks.webhook_allowed_networks`: never sent.
    Denied,
    /// Too many webhooks were pending: never sent.
    Dropped,
    /// It could not be rendered into a request (its URL, method or a header
    /// value was not valid once rendered): never sent.
    Invalid,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Failed => "failed",
            Outcome::Denied => "denied",
            Outcome::Dropped => "dropped",
            Outcome::Invalid => "invalid",
        }
    }
}

/// One attempt, as `GET /__admin/webhooks` shows it. The URL is shown
/// without credentials; headers and bodies are never kept (they may hold
/// secrets).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub stub_id: String,
    pub method: String,
    pub url: String,
    /// 1 for the first try.
    pub attempt: u32,
    pub timestamp_ms: i64,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

pub struct Webhooks {
    /// Built on the first webhook: a server whose stubs send none never
    /// loads the TLS roots and connection pool it needs.
    client: std::sync::OnceLock<reqwest::Client>,
    timeout: Duration,
    allowed: Arc<Vec<IpNet>>,
    pending: Arc<Semaphore>,
    retries: u32,
    kept_attempts: usize,
    attempts: Mutex<VecDeque<Attempt>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Webhooks {
    pub fn new(settings: &WebhookSettings) -> Webhooks {
        Webhooks {
            client: std::sync::OnceLock::new(),
            timeout: settings.timeout,
            allowed: Arc::new(settings.allowed_networks.clone()),
            pending: Arc::new(Semaphore::new(settings.max_pending)),
            retries: settings.retries,
            kept_attempts: settings.kept_attempts,
            attempts: Mutex::new(VecDeque::new()),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(AllowedResolver {
                allowed: self.allowed.clone(),
            }))
            .build()
            .map_err(|e| format!("the webhook client could not be built: {e}"))?;
        Ok(self.client.get_or_init(|| client))
    }

    /// Hands a webhook to a background task, or drops it (recorded) when
    /// too many are pending. Never waits.
    pub fn send(self: &Arc<Self>, outbound: Outbound) {
        let Ok(permit) = self.pending.clone().try_acquire_owned() else {
            self.record(&outbound, 1, Outcome::Dropped, None, None, Duration::ZERO);
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            if let Some(delay) = outbound.delay {
                tokio::time::sleep(delay).await;
            }
            this.deliver(&outbound).await;
            drop(permit);
        });
    }

    /// Records a webhook that could not be rendered into a request.
    pub fn invalid(&self, stub_id: &str, reason: String) {
        metrics::counter!("echobase_mock_webhooks_total", "outcome" => Outcome::Invalid.label())
            .increment(1);
        self.keep(Attempt {
            stub_id: stub_id.to_owned(),
            method: String::new(),
            url: String::new(),
            attempt: 1,
            timestamp_ms: now_ms(),
            outcome: Outcome::Invalid,
            status: None,
            error: Some(reason),
            duration_ms: 0,
        });
    }

    async fn deliver(&self, outbound: &Outbound) {
        if let Some(ip) = literal_ip(&outbound.url)
            && !is_allowed(&self.allowed, ip)
        {
            let error = format!("{ip} is outside mocks.webhook_allowed_networks");
            self.record(
                outbound,
                1,
                Outcome::Denied,
                None,
                Some(error),
                Duration::ZERO,
            );
            return;
        }
        for attempt in 1..=self.retries + 1 {
            let started = Instant::now();
            let (outcome, status, error) = self.try_once(outbound).await;
            self.record(outbound, attempt, outcome, status, error, started.elapsed());
            if outcome != Outcome::Failed || attempt > self.retries {
                return;
            }
            tokio::time::sleep(RETRY_BACKOFF * 2u32.saturating_pow(attempt - 1)).await;
        }
    }

    async fn try_once(&self, outbound: &Outbound) -> (Outcome, Option<u16>, Option<String>) {
        let client = match self.client() {
            Ok(client) => client,
            Err(error) => return (Outcome::Failed, None, Some(error)),
        };
        let request = client
            .request(outbound.method.clone(), outbound.url.clone())
            .headers(outbound.headers.clone())
            .body(outbound.body.clone());
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                // The answer's body is read (and dropped) so the connection
                // can be reused; the timeout covers it.
                let _ = response.bytes().await;
                let outcome = if status.is_server_error() {
                    Outcome::Failed
                } else {
                    Outcome::Sent
                };
                (outcome, Some(status.as_u16()), None)
            }
            Err(error) if caused_by::<Denied>(&error) => {
                (Outcome::Denied, None, Some(describe_failure(&error)))
            }
            Err(error) => (Outcome::Failed, None, Some(describe_failure(&error))),
        }
    }

    fn record(
        &self,
        outbound: &Outbound,
        attempt: u32,
        outcome: Outcome,
        status: Option<u16>,
        error: Option<String>,
        took: Duration,
    ) {
        metrics::counter!("echobase_mock_webhooks_total", "outcome" => outcome.label())
            .increment(1);
        if outcome != Outcome::Sent {
            tracing::warn!(
                stub = %outbound.stub_id, url = %shown_url(&outbound.url), attempt,
                outcome = outcome.label(), status, error = error.as_deref().unwrap_or(""),
                "mocks: webhook not delivered"
            );
        }
        self.keep(Attempt {
            stub_id: outbound.stub_id.clone(),
            method: outbound.method.to_string(),
            url: shown_url(&outbound.url),
            attempt,
            timestamp_ms: now_ms(),
            outcome,
            status,
            error,
            duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        });
    }

    /// Keeps `attempt`, forgetting the oldest past `kept_attempts`: the
    /// history is a diagnosis, and its memory is bounded by a setting.
    fn keep(&self, attempt: Attempt) {
        if self.kept_attempts == 0 {
            return;
        }
        let mut attempts = lock(&self.attempts);
        while attempts.len() >= self.kept_attempts {
            attempts.pop_front();
        }
        attempts.push_back(attempt);
    }

    /// Every kept attempt, newest first.
    pub fn attempts(&self) -> Vec<Attempt> {
        lock(&self.attempts).iter().rev().cloned().collect()
    }

    pub fn clear(&self) {
        lock(&self.attempts).clear();
    }
}

/// The URL without its user name and password.
fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

fn is_allowed(allowed: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    allowed.iter().any(|net| net.contains(&ip))
}

/// A host name whose addresses are all outside the allow list.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to addresses outside mocks.webhook_allowed_networks")]
struct Denied {
    host: String,
}

/// Resolves host names as the system does, then keeps only the allowed
/// addresses: the connection can only go where the allow list says.
struct AllowedResolver {
    allowed: Arc<Vec<IpNet>>,
}

impl reqwest::dns::Resolve for AllowedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_allowed(&allowed, addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(Denied { host }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn webhooks_keeping(kept_attempts: usize) -> Webhooks {
        Webhooks::new(&WebhookSettings {
            allowed_networks: Vec::new(),
            max_pending: 1,
            timeout: Duration::from_secs(1),
            retries: 0,
            kept_attempts,
        })
    }

    #[test]
    fn the_attempt_history_keeps_the_newest_within_its_setting() {
        let webhooks = webhooks_keeping(2);
        for stub in ["a", "b", "c"] {
            webhooks.invalid(stub, "bad".into());
        }
        let kept: Vec<String> = webhooks.attempts().into_iter().map(|a| a.stub_id).collect();
        assert_eq!(kept, ["c", "b"]);

        let none = webhooks_keeping(0);
        none.invalid("a", "bad".into());
        assert!(none.attempts().is_empty());
    }

    #[test]
    fn the_allow_list_holds_for_mapped_addresses_too() {
        let loopback = nets(&["127.0.0.0/8", "::1/128"]);
        assert!(is_allowed(&loopback, "127.0.0.1".parse().unwrap()));
        assert!(is_allowed(&loopback, "::1".parse().unwrap()));
        assert!(is_allowed(&loopback, "::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_allowed(&loopback, "::ffff:10.0.0.1".parse().unwrap()));
        assert!(!is_allowed(&loopback, "169.254.169.254".parse().unwrap()));
        assert!(!is_allowed(&[], "127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn shown_urls_carry_no_credentials() {
        let url = url::Url::parse("http://user:secret@127.0.0.1:9/cb?x=1").unwrap();
        assert_eq!(shown_url(&url), "http://127.0.0.1:9/cb?x=1");
    }
}
