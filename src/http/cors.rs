//! CORS: off unless `cors.allow_origins` lists origins (or `*`).

use std::time::Duration;

use serde::Deserializer;

use crate::setting::{self, SettingValue};

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// `cors.*`: off (no CORS headers at all) unless `allow_origins` lists origins.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsSettings {
    /// `https://app.example` entries, or `*` for any origin.
    #[serde(deserialize_with = "origins", serialize_with = "setting::show")]
    pub allow_origins: Vec<String>,
    #[serde(deserialize_with = "methods", serialize_with = "setting::show")]
    pub allow_methods: Vec<String>,
    #[serde(deserialize_with = "header_names", serialize_with = "setting::show")]
    pub allow_headers: Vec<String>,
    #[serde(with = "setting::value")]
    pub max_age: Duration,
}

/// Each entry of a list setting, checked by `valid`.
fn checked_list<'de, D: Deserializer<'de>>(
    deserializer: D,
    valid: fn(&str) -> Result<(), String>,
) -> Result<Vec<String>, D::Error> {
    setting::read(deserializer, |value| {
        let items = Vec::<String>::from_setting(value)?;
        items.iter().try_for_each(|item| valid(item))?;
        Ok(items)
    })
}

fn origins<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    checked_list(deserializer, |origin| {
        let ok = origin == "*"
            || ((origin.starts_with("http://") || origin.starts_with("https://"))
                && HeaderValue::from_str(origin).is_ok()
                && !origin.ends_with('/'));
        ok.then_some(()).ok_or_else(|| {
            format!(
                "`{origin}`: expected * or an origin such as https://app.example \
                 (scheme and host, no path)"
            )
        })
    })
}

fn methods<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    checked_list(deserializer, |method| {
        Method::from_bytes(method.as_bytes())
            .map(drop)
            .map_err(|_| format!("`{method}` is not an HTTP method"))
    })
}

fn header_names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    checked_list(deserializer, |name| {
        HeaderName::from_bytes(name.as_bytes())
            .map(drop)
            .map_err(|_| format!("`{name}` is not a header name"))
    })
}

impl Default for CorsSettings {
    fn default() -> Self {
        CorsSettings {
            allow_origins: Vec::new(),
            allow_methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
                .map(String::from)
                .to_vec(),
            allow_headers: ["authorization", "content-type", "x-api-key", "x-request-id"]
                .map(String::from)
                .to_vec(),
            max_age: Duration::from_secs(600),
        }
    }
}

/// The CORS layer for the settings, or `None` when CORS is off (no
/// `Access-Control-*` header is ever sent then, and browsers apply the
/// same-origin policy).
pub fn layer(settings: &CorsSettings) -> Option<CorsLayer> {
    if settings.allow_origins.is_empty() {
        return None;
    }
    let origins = if settings.allow_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            settings
                .allow_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    let methods: Vec<Method> = settings
        .allow_methods
        .iter()
        .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
        .collect();
    let headers: Vec<HeaderName> = settings
        .allow_headers
        .iter()
        .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods(methods)
            .allow_headers(headers)
            .expose_headers([
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("retry-after"),
                super::security::RATELIMIT_LIMIT,
                super::security::RATELIMIT_REMAINING,
                super::security::RATELIMIT_RESET,
            ])
            .max_age(settings.max_age),
    )
}
