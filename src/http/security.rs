//! The request-level security gate: client address, IP allow lists, rate
//! limits (GCRA, per client IP and per API key) and scope checks, with the
//! audit trail (`echobase_auth_failures_total{reason}` and a warn line with
//! the client address) for every refusal.
//!
//! Three steps:
//! 1. The connection layer (`serve.rs`) puts the [`Connection`] in every
//!    request's extensions: the client address (trusted proxies applied) and
//!    the shared [`Security`].
//! 2. [`module_gate`], wired in `server.rs`, around each module's routes, only when that module has
//!    an allow list, a per-IP rate limit or `<module>.auth = "all"`.
//! 3. The route-level scope check a module declares with
//!    [`RequireScope`](super::require_scope::RequireScope), which calls [`authorize`].

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::auth::{ApiKey, Credentials, KeyId, KeyRing, Scope};
use super::client_ip::TrustedProxies;
use super::connection::Connection;
use super::error::ApiError;
use crate::module::Module;
use crate::setting::{self, SettingValue};

/// A request rate: `count` requests per `period`, which is also the burst
/// (a client that was quiet may send `count` at once, GCRA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl FromStr for Rate {
    type Err = String;
    /// `100/s`, `600/m`, `10000/h`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}`: expected a rate such as 100/s, 600/m or 10000/h");
        let (count, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!(
                "`{s}`: the count must be at least 1 (use off to disable)"
            ));
        }
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Rate { count, period })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "s",
            60 => "m",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// A rate limit as a setting: a [`Rate`], or `off` (also `none`).
fn rate_limit(value: &toml::Value) -> Result<Option<Rate>, String> {
    match setting::text(value)?.trim() {
        "off" | "none" => Ok(None),
        rate => rate.parse().map(Some),
    }
}

fn show_rate(rate: Option<Rate>) -> String {
    rate.map_or_else(|| "off".to_owned(), |rate| rate.to_string())
}

/// `rate_limit.*`: a rate, or `off`.
mod rate_setting {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Rate>, D::Error> {
        setting::read(d, rate_limit)
    }

    pub fn serialize<S: Serializer>(rate: &Option<Rate>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&show_rate(*rate))
    }
}

/// `<module>.rate_limit.*`: unset (the global limit applies), a rate, or `off`.
mod rate_override {
    use super::*;

    pub fn deserialize<'de, D>(d: D) -> Result<Option<Option<Rate>>, D::Error>
    where
        D: Deserializer<'de>,
    {
        setting::read(d, |value| rate_limit(value).map(Some))
    }

    pub fn serialize<S>(rate: &Option<Option<Rate>>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
    {
        match rate {
            Some(rate) => s.serialize_str(&show_rate(*rate)),
            None => s.serialize_none(),
        }
    }
}

/// Rate limits by client IP and by API key; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    #[serde(with = "rate_setting")]
    pub per_ip: Option<Rate>,
    #[serde(with = "rate_setting")]
    pub per_key: Option<Rate>,
}

/// Which routes of a module need an API key (when keys are configured).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ModuleAuth {
    /// Only the routes the module declares with a scope (its admin and write
    /// routes); compatible routes stay open. The default.
    #[default]
    Declared,
    /// Every route: `<module>:read` for GET/HEAD/OPTIONS, `<module>:write` otherwise.
    All,
}

impl SettingValue for ModuleAuth {
    fn from_setting(value: &toml::Value) -> Result<Self, String> {
        match setting::text(value)?.trim() {
            "declared" => Ok(ModuleAuth::Declared),
            "all" => Ok(ModuleAuth::All),
            other => Err(format!("`{other}`: expected declared or all")),
        }
    }

    fn shown(&self) -> String {
        match self {
            ModuleAuth::Declared => "declared",
            ModuleAuth::All => "all",
        }
        .to_owned()
    }
}

/// Security settings of one module; unset fields fall back to the global ones.
/// In the settings they sit in the module's own table (`echo.allow_ips`,
/// `echo.rate_limit.per_ip`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModuleSecurity {
    /// Only these networks may use the module (`<module>.allow_ips`); others get 403.
    #[serde(with = "setting::value", skip_serializing_if = "Option::is_none")]
    pub allow_ips: Option<Vec<ipnet::IpNet>>,
    /// `<module>.auth`: `declared` (default) or `all`.
    #[serde(with = "setting::value")]
    pub auth: ModuleAuth,
    /// `<module>.rate_limit.*`.
    pub rate_limit: ModuleRateLimits,
}

/// A module's own rate limits; unset, the global ones apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModuleRateLimits {
    /// `<module>.rate_limit.per_ip`; `Some(None)` is `off`, overriding the global limit.
    #[serde(with = "rate_override", skip_serializing_if = "Option::is_none")]
    pub per_ip: Option<Option<Rate>>,
    /// `<module>.rate_limit.per_key`.
    #[serde(with = "rate_override", skip_serializing_if = "Option::is_none")]
    pub per_key: Option<Option<Rate>>,
}

pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
pub const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Why a request was refused, as counted in `echobase_auth_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials on a route that needs them (401).
    Missing,
    /// A key nobody configured (403).
    Invalid,
    /// Both `Authorization` and `X-API-Key` (401).
    Ambiguous,
    /// A valid key without the route's scope (403).
    Scope,
    /// Over a rate limit (429).
    RateLimited,
    /// The client address is not in the module's allow list (403).
    Ip,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::Invalid => "invalid",
            Refusal::Ambiguous => "ambiguous",
            Refusal::Scope => "scope",
            Refusal::RateLimited => "rate_limited",
            Refusal::Ip => "ip",
        }
    }
}

type KeyedLimiter<K> =
    RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// A GCRA limiter keyed by client address or key id.
pub struct Limiter<K: Hash + Eq + Clone> {
    rate: Rate,
    inner: KeyedLimiter<K>,
}

/// What a limiter said, as `RateLimit-*` headers.
#[derive(Debug, Clone, Copy)]
pub struct RateStatus {
    limit: u32,
    remaining: u32,
    /// Seconds until the full burst is available again.
    reset: u64,
    window: u64,
    /// Set when refused: seconds until one more request is allowed.
    retry_after: Option<u64>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(rate: Rate) -> Self {
        let count = NonZeroU32::new(rate.count).unwrap_or(NonZeroU32::MIN);
        let per_request = rate.period / count.get();
        let quota = Quota::with_period(per_request.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(count))
            .allow_burst(count);
        Limiter {
            rate,
            inner: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        }
    }

    pub fn check(&self, key: &K) -> RateStatus {
        let interval = self.rate.period.as_secs_f64() / f64::from(self.rate.count);
        let window = self.rate.period.as_secs();
        match self.inner.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = self.rate.count.saturating_sub(remaining);
                RateStatus {
                    limit: self.rate.count,
                    remaining,
                    reset: (f64::from(used) * interval).ceil() as u64,
                    window,
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let retry = wait.as_secs_f64().ceil().max(1.0) as u64;
                RateStatus {
                    limit: self.rate.count,
                    remaining: 0,
                    reset: (f64::from(self.rate.count) * interval).ceil() as u64,
                    window,
                    retry_after: Some(retry),
                }
            }
        }
    }

    /// Forgets clients whose buckets are full again, so memory follows the
    /// number of recent clients, not of all clients ever.
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}

impl RateStatus {
    /// Adds the draft IETF `RateLimit-*` fields (and `Retry-After` when refused).
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(RATELIMIT_LIMIT, HeaderValue::from(self.limit));
        headers.insert(RATELIMIT_REMAINING, HeaderValue::from(self.remaining));
        headers.insert(RATELIMIT_RESET, HeaderValue::from(self.reset));
        if let Ok(policy) = HeaderValue::from_str(&format!("{};w={}", self.limit, self.window)) {
            headers.insert(RATELIMIT_POLICY, policy);
        }
        if let Some(retry) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry));
        }
    }
}

/// One module's gate.
struct ModuleGuard {
    allow_ips: Option<Vec<IpNet>>,
    per_ip: Option<Limiter<IpAddr>>,
    per_key: Option<Limiter<String>>,
    auth_all: bool,
}

impl ModuleGuard {
    fn needs_gate(&self, keys_configured: bool) -> bool {
        self.allow_ips.is_some() || self.per_ip.is_some() || (self.auth_all && keys_configured)
    }
}

/// Everything the gate knows, shared by every request.
pub struct Security {
    keys: KeyRing,
    trusted: TrustedProxies,
    modules: HashMap<Module, ModuleGuard>,
    /// Per-key limit for routes under the `admin` scope.
    admin_per_key: Option<Limiter<String>>,
}

impl Security {
    /// The gate for `keys`, `trusted_proxies` and each served module's own
    /// settings with its effective limits; `admin_per_key` limits the
    /// routes under the `admin` scope.
    pub fn new(
        keys: Vec<ApiKey>,
        trusted_proxies: Vec<IpNet>,
        admin_per_key: Option<Rate>,
        modules: impl IntoIterator<Item = (Module, ModuleSecurity, RateLimits)>,
    ) -> Self {
        let modules = modules
            .into_iter()
            .map(|(module, own, limits)| {
                (
                    module,
                    ModuleGuard {
                        allow_ips: own.allow_ips,
                        per_ip: limits.per_ip.map(Limiter::new),
                        per_key: limits.per_key.map(Limiter::new),
                        auth_all: own.auth == ModuleAuth::All,
                    },
                )
            })
            .collect();
        Security {
            keys: KeyRing::new(keys),
            trusted: TrustedProxies::new(trusted_proxies),
            modules,
            admin_per_key: admin_per_key.map(Limiter::new),
        }
    }

    /// The client address of a request from `peer` (see [`TrustedProxies`]).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        self.trusted.client_ip(peer, headers)
    }

    /// Who a connection from `peer` counts against for
    /// `limits.max_connections_per_client`: its address (an IPv6 /64), or
    /// nobody when `peer` is a trusted proxy (many clients share it).
    pub fn connection_client(&self, peer: IpAddr) -> Option<IpAddr> {
        let peer = super::client_ip::canonical(peer);
        (!self.trusted.contains(peer)).then(|| rate_key(peer))
    }

    /// Whether the server runs without keys (every route open).
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether these headers carry a key granting `scope` (always, with no
    /// keys configured). Asks only: nothing is counted or logged, for an open
    /// route that shows more to a caller who could read it elsewhere.
    pub fn grants(&self, headers: &axum::http::HeaderMap, scope: Scope) -> bool {
        self.is_open()
            || matches!(self.keys.authenticate(headers), Credentials::Valid(key) if key.grants(scope))
    }

    /// Whether `module` needs its own gate layer (allow list, per-IP limit, auth for all).
    pub fn module_needs_gate(&self, module: Module) -> bool {
        self.modules
            .get(&module)
            .is_some_and(|guard| guard.needs_gate(!self.keys.is_empty()))
    }

    /// The key `req` presents: `None` when it presents none; a refusal,
    /// counted and logged as every refusal is, when the key is unknown (403)
    /// or two credentials are sent (401).
    pub fn presented_key(&self, req: &Request) -> Result<Option<&ApiKey>, Box<Response>> {
        match self.keys.authenticate(req.headers()) {
            Credentials::Missing => Ok(None),
            Credentials::Valid(key) => Ok(Some(key)),
            Credentials::Unknown => Err(Box::new(refuse(
                Refusal::Invalid,
                req,
                None,
                "the API key is not valid".to_owned(),
            ))),
            Credentials::Ambiguous => Err(Box::new(refuse(
                Refusal::Ambiguous,
                req,
                None,
                "send one credential: Authorization: Bearer <key> or X-API-Key: <key>, not both"
                    .to_owned(),
            ))),
        }
    }

    /// Drops idle rate-limit state; called periodically by the server.
    pub fn forget_idle_clients(&self) {
        for guard in self.modules.values() {
            if let Some(limiter) = &guard.per_ip {
                limiter.forget_idle();
            }
            if let Some(limiter) = &guard.per_key {
                limiter.forget_idle();
            }
        }
        if let Some(limiter) = &self.admin_per_key {
            limiter.forget_idle();
        }
    }
}

/// Per-module gate: allow list, per-IP limit and `<module>.auth = "all"`.
pub async fn module_gate(
    State((security, module)): State<(Arc<Security>, Module)>,
    req: Request,
    next: Next,
) -> Response {
    let Some(guard) = security.modules.get(&module) else {
        return next.run(req).await;
    };
    let client = client_of(&req);
    if let Some(allowed) = &guard.allow_ips
        && !allowed.iter().any(|net| net.contains(&client))
    {
        return refuse(
            Refusal::Ip,
            &req,
            None,
            format!(
                "the {} module does not accept requests from {client}",
                module.name()
            ),
        );
    }
    let mut ip_status = None;
    if let Some(limiter) = &guard.per_ip {
        let status = limiter.check(&rate_key(client));
        if status.retry_after.is_some() {
            return rate_limited(&req, None, status, "this client address");
        }
        ip_status = Some(status);
    }
    let req = if guard.auth_all && !security.keys.is_empty() {
        let scope = Scope::for_method(module, req.method());
        match authorize(&security, scope, req) {
            Ok(req) => req,
            Err(response) => return *response,
        }
    } else {
        req
    };
    // The per-key status, when a key was checked, is the more specific one.
    let status = req.extensions().get::<RateStatus>().copied().or(ip_status);
    let mut response = next.run(req).await;
    if let Some(status) = status
        && !response.headers().contains_key(RATELIMIT_LIMIT)
    {
        status.apply(response.headers_mut());
    }
    response
}

/// The per-IP budget's key: the address, or for IPv6 its /64, which is what
/// one subscriber usually gets (else a client could rotate through 2^64
/// addresses, each with a fresh budget).
pub fn rate_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// Marks a request whose key has been counted against its rate limit.
#[derive(Clone, Copy)]
struct KeyCharged;

/// Checks the request's key against `scope` (and its per-key rate limit).
/// Open when no keys are configured. Used by the route-level scope layer.
pub fn authorize(
    security: &Security,
    scope: Scope,
    mut req: Request,
) -> Result<Request, Box<Response>> {
    if security.keys.is_empty() {
        return Ok(req);
    }
    let Some(key) = security.presented_key(&req)? else {
        return Err(Box::new(refuse(
            Refusal::Missing,
            &req,
            None,
            format!(
                "this route needs an API key with the {scope} scope: send Authorization: Bearer <key> or X-API-Key: <key>"
            ),
        )));
    };
    if !key.grants(scope) {
        return Err(Box::new(refuse(
            Refusal::Scope,
            &req,
            Some(key.id()),
            format!(
                "the API key `{}` does not have the {scope} scope (it has {})",
                key.id(),
                key.scopes_text()
            ),
        )));
    }
    let id = key.id().to_owned();
    if req.extensions().get::<KeyCharged>().is_none() {
        let limiter = match scope.module() {
            Some(module) => security
                .modules
                .get(&module)
                .and_then(|g| g.per_key.as_ref()),
            None => security.admin_per_key.as_ref(),
        };
        if let Some(limiter) = limiter {
            let status = limiter.check(&id);
            if status.retry_after.is_some() {
                return Err(Box::new(rate_limited(
                    &req,
                    Some(&id),
                    status,
                    "this API key",
                )));
            }
            req.extensions_mut().insert(status);
        }
        req.extensions_mut().insert(KeyCharged);
    }
    metrics::counter!("echobase_authenticated_requests_total", "key_id" => id.clone()).increment(1);
    req.extensions_mut().insert(KeyId(id));
    Ok(req)
}

fn client_of(req: &Request) -> IpAddr {
    req.extensions()
        .get::<Connection>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.client_ip)
}

fn rate_limited(req: &Request, key_id: Option<&str>, status: RateStatus, who: &str) -> Response {
    let mut response = refuse(
        Refusal::RateLimited,
        req,
        key_id,
        format!(
            "{who} is over its rate limit of {} requests per {}s; retry in {}s",
            status.limit,
            status.window,
            status.retry_after.unwrap_or(1)
        ),
    );
    status.apply(response.headers_mut());
    response
}

/// Counts, logs and answers a refusal.
fn refuse(refusal: Refusal, req: &Request, key_id: Option<&str>, detail: String) -> Response {
    let client = client_of(req);
    let route = req
        .extensions()
        .get::<Connection>()
        .map_or(super::route_label::UNMATCHED_ROUTE, |connection| {
            connection.route_label(req.uri().path())
        });
    metrics::counter!("echobase_auth_failures_total", "reason" => refusal.reason()).increment(1);
    tracing::warn!(
        target: "echobase::audit",
        reason = refusal.reason(),
        client_ip = %client,
        key_id = key_id.unwrap_or("-"),
        method = %req.method(),
        route,
        "request refused"
    );
    match refusal {
        Refusal::Missing | Refusal::Ambiguous => ApiError::Unauthorized {
            detail,
            challenge: Some("Bearer realm=\"echobase\""),
        },
        Refusal::Invalid | Refusal::Scope | Refusal::Ip => ApiError::Forbidden(detail),
        Refusal::RateLimited => ApiError::TooManyRequests(detail),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_a_budget_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(rate_key(a), rate_key(b));
        assert_ne!(rate_key(a), rate_key(c));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(rate_key(v4), v4);
    }

    #[test]
    fn limiter_allows_the_burst_then_refuses_with_a_retry_time() {
        let limiter = Limiter::new(Rate {
            count: 3,
            period: Duration::from_secs(60),
        });
        let key: IpAddr = "192.0.2.1".parse().unwrap();
        for expected_remaining in [2, 1, 0] {
            let status = limiter.check(&key);
            assert!(status.retry_after.is_none());
            assert_eq!(status.remaining, expected_remaining);
        }
        let refused = limiter.check(&key);
        assert!(
            refused.retry_after.is_some_and(|s| (1..=20).contains(&s)),
            "{refused:?}"
        );
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(
            limiter.check(&other).retry_after.is_none(),
            "keys are separate"
        );
    }
}
