//! CORS: off unless `cors.allow_origins` lists origins (or `*`).

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::CorsSettings;

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
