//! Echo: the original `GET`/`POST /` echo server behind a `server_key`
//! header, and an httpbin-compatible API under a prefix (`/echo` by default),
//! with server-sent events, a WebSocket echo and JWT decoding beside it.

pub mod auth;
pub mod compat;
pub mod conventions;
pub mod digest;
pub mod dynamic;
pub mod formats;
pub mod gohttpbin;
pub mod httpbin;
pub mod inspect;
pub mod key;
pub mod live;
pub mod redirects;
pub mod responses;
pub mod schemas;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::module::mount::{ModuleContext, ModuleError, Mounted};
use settings::EchoSettings;

/// Resolves the server key (settings, else the one stored in the database,
/// else a new one stored there) and mounts the routes.
pub async fn mount(
    ctx: &ModuleContext<'_>,
    settings: &EchoSettings,
) -> Result<Mounted, ModuleError> {
    let mut notices = Vec::new();
    let key = match &settings.server_key {
        Some(key) => key.clone(),
        None => {
            let key = key::store_for(ctx.db)
                .get_or_insert(&key::generate())
                .await
                .map_err(|e| {
                    ModuleError::new("echo", format!("cannot store the server key: {e}"))
                })?;
            // A banner line on standard output for the operator, never a log line.
            notices.push(format!(
                "echo: no server_key is configured; using the generated key {} \
                 (stored in the database; set echo.server_key or SERVER_KEY to choose one)",
                key.expose()
            ));
            key
        }
    };
    let server_key = key::ServerKey::new(&key);
    let compat = OpenApiRouter::new()
        .routes(routes!(compat::greet, compat::echo))
        .with_state(server_key);
    let config = EchoConfig {
        prefix: settings.prefix.clone(),
        max_delay: settings.max_delay,
        redirect_allow: settings.redirect_allow.clone(),
        max_response_bytes: ctx.body_limit,
        max_events: settings.max_events,
        cors: settings.cors,
    };
    let prefix = config.prefix.clone();
    // The metrics' label for the one undocumented path; built once per mount
    // from the prefix, a setting, hence leaked to be `'static`.
    let unstable: &'static str = Box::leak(format!("{prefix}/unstable").into_boxed_str());
    Ok(Mounted {
        notices,
        undocumented_routes: vec![unstable],
        direct_routes: vec![compat::direct_route(server_key)],
        ..Mounted::new(compat.nest(&prefix, httpbin_router(config)))
    })
}

/// What the httpbin routes need to know.
#[derive(Debug, Clone)]
pub struct EchoConfig {
    /// Where the routes are mounted, for the `Location`s they build.
    pub prefix: String,
    pub max_delay: Duration,
    pub redirect_allow: Vec<String>,
    /// Largest body `/bytes` and `/drip` produce.
    pub max_response_bytes: usize,
    /// Most events one `/sse` request sends (`echo.max_events`).
    pub max_events: u64,
    /// CORS headers and preflights as httpbin's (`echo.cors`).
    pub cors: bool,
}

/// The httpbin-compatible route table, relative to the prefix.
fn httpbin_router(config: EchoConfig) -> OpenApiRouter {
    let mut router = OpenApiRouter::new()
        // The request, described.
        .routes(routes!(httpbin::anything))
        .routes(routes!(httpbin::anything_below))
        .routes(routes!(httpbin::get))
        .routes(routes!(httpbin::post))
        .routes(routes!(httpbin::put))
        .routes(routes!(httpbin::patch))
        .routes(routes!(httpbin::delete))
        .routes(routes!(httpbin::headers))
        .routes(routes!(httpbin::ip))
        .routes(routes!(httpbin::user_agent))
        .routes(routes!(httpbin::delay))
        // Chosen responses.
        .routes(routes!(responses::status))
        .routes(routes!(responses::bytes))
        .routes(routes!(responses::stream))
        .routes(routes!(responses::drip))
        .routes(routes!(responses::base64_decode_legacy))
        .routes(routes!(responses::base64_decode))
        .routes(routes!(responses::base64_encode))
        .routes(routes!(responses::uuid))
        .routes(routes!(responses::cache))
        .routes(routes!(responses::cache_for))
        .routes(routes!(responses::etag))
        .routes(routes!(responses::response_headers))
        .routes(routes!(responses::gzip))
        .routes(routes!(responses::deflate))
        .routes(routes!(responses::brotli))
        .routes(routes!(dynamic::stream_bytes))
        .routes(routes!(dynamic::range))
        .routes(routes!(dynamic::links))
        .routes(routes!(dynamic::links_first))
        // Fixed documents.
        .routes(routes!(formats::json_document))
        .routes(routes!(formats::html))
        .routes(routes!(formats::xml))
        .routes(routes!(formats::robots_txt))
        .routes(routes!(formats::deny))
        .routes(routes!(formats::encoding_utf8))
        .routes(routes!(formats::forms_post))
        .routes(routes!(formats::image))
        .routes(routes!(formats::image_png))
        .routes(routes!(formats::image_jpeg))
        .routes(routes!(formats::image_webp))
        .routes(routes!(formats::image_svg))
        // Credentials and cookies.
        .routes(routes!(auth::basic_auth))
        .routes(routes!(auth::hidden_basic_auth))
        .routes(routes!(auth::bearer))
        .routes(routes!(digest::digest_auth_md5))
        .routes(routes!(digest::digest_auth_algorithm))
        .routes(routes!(digest::digest_auth_stale_after))
        .routes(routes!(auth::jwt))
        .routes(routes!(auth::cookies))
        .routes(routes!(auth::cookies_set))
        .routes(routes!(auth::cookies_set_one))
        .routes(routes!(auth::cookies_delete))
        // Redirects.
        .routes(routes!(redirects::redirect_n))
        .routes(routes!(redirects::relative_redirect))
        .routes(routes!(redirects::absolute_redirect))
        .routes(routes!(redirects::redirect_to))
        // go-httpbin's.
        .routes(routes!(gohttpbin::hostname))
        .routes(routes!(gohttpbin::dump_request))
        .routes(routes!(gohttpbin::env))
        .routes(routes!(gohttpbin::version))
        .routes(routes!(gohttpbin::head))
        .routes(routes!(gohttpbin::upload))
        .routes(routes!(gohttpbin::trailers))
        .routes(routes!(gohttpbin::jsonl))
        // Beyond httpbin.
        .routes(routes!(live::sse))
        .routes(routes!(live::websocket_echo))
        // 5xx half the time by design, which .ci/schemathesis.toml exempts only
        // for the operations it names: routed, left out of the document until
        // it names this one too. docs/echo.md lists it.
        .route("/unstable", axum::routing::get(gohttpbin::unstable));
    schemas::document_limits(router.get_openapi_mut(), &config);
    let config = Arc::new(config);
    let (router, openapi) = router.split_for_parts();
    // A refused method gets its answer here, inside the conventions layer
    // (the server's own fallback would be set past it, as problem+json).
    let router = router
        .method_not_allowed_fallback(conventions::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            config.clone(),
            conventions::httpbin_conventions,
        ))
        .with_state(config);
    let mut router = OpenApiRouter::from(router);
    *router.get_openapi_mut() = openapi;
    router
}
