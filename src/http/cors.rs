//! CORS: off unless `cors.allow_origins` lists origins (or `*`).

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// `cors.*`: off (no CORS headers at all) unless `allow_origins` lists origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSettings {
    /// `https://app.example` entries, or `*` for any origin.
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub max_age: Duration,
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
