//! Operations endpoints: liveness, readiness, metrics, the OpenAPI document and
//! its offline documentation page.

use std::sync::Arc;

use axum::extract::Request;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::Database;
use crate::http::auth::Scope;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::Json;
use crate::http::page;
use crate::http::security::Security;
use crate::module::Module;

/// How long a scrape of `/metrics` waits for the database's answer.
const DATABASE_PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Everything the operations endpoints read.
#[derive(Clone)]
pub struct OpsState {
    pub db: Database,
    /// Filled in once the whole router (and so the whole spec) is assembled.
    pub openapi: Arc<std::sync::OnceLock<String>>,
    /// The serving certificate, when TLS is on.
    pub tls: Option<Arc<crate::http::tls::CertStore>>,
    /// `/readyz` warns when the certificate expires within this many days.
    pub tls_expiry_warning_days: u32,
    /// For the `http_requests_in_flight` gauge.
    pub requests_in_flight: crate::http::middleware::InFlightCount,
    /// For `/v1/access`: the keys and each module's auth.
    pub security: Arc<Security>,
    /// The modules this server runs.
    pub modules: Vec<Module>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccessReport {
    /// Whether API keys are configured (without, every route is open).
    keys_required: bool,
    /// The key presented, when one was (and is valid).
    key: Option<PresentedKey>,
    /// The modules this server runs, and what the presented credentials
    /// (or none) may do in each.
    modules: Vec<ModuleAccess>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PresentedKey {
    /// The key's id (the key itself is never shown).
    id: String,
    /// Its scopes: `admin`, `<module>:read`, `<module>:write`.
    scopes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ModuleAccess {
    /// `echo`, `mocks`, `people`, `events`, `messages` or `resources`.
    name: &'static str,
    /// The module's native routes that read (`/v1/...`). The original
    /// services' routes stay open unless `<module>.auth = "all"`; the
    /// mocks' admin API needs `write` even to read.
    read: bool,
    /// The module's routes that change data.
    write: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when the process is serving.
    status: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` when the database answers; `warning` when it does but
    /// something needs attention soon (see `warnings`). Both answer 200.
    status: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
    /// The serving certificate, when TLS is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<CertificateStatus>,
    /// What needs attention, for people.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CertificateStatus {
    /// Expiry of the serving certificate, Unix seconds.
    expires_at: i64,
    /// Whole days until it expires (negative once expired).
    days_left: i64,
    /// SHA-256 fingerprint of the serving certificate.
    fingerprint: String,
}

/// The routes of [`router`] that the OpenAPI document does not list: the
/// document itself and its viewer.
pub const UNDOCUMENTED_ROUTES: [&str; 6] = [
    "/openapi.json",
    "/docs",
    "/docs/",
    "/docs/init.js",
    "/docs/swagger-ui-bundle.js",
    "/docs/swagger-ui.css",
];

pub fn router(state: OpsState) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(access))
        .route("/openapi.json", get(openapi))
        .route("/docs", get(docs_page))
        .route("/docs/", get(docs_page))
        .route("/docs/init.js", get(docs_init))
        .route(
            "/docs/swagger-ui-bundle.js",
            get(swagger_ui_script).layer(page::compression()),
        )
        .route(
            "/docs/swagger-ui.css",
            get(swagger_ui_style).layer(page::compression()),
        )
        .with_state(state)
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the database answers. Load balancers should route only to ready instances.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = Readiness),
        (status = 503, description = "The database does not answer; `detail` says why",
            body = Problem, content_type = "application/problem+json"),
    ))]
async fn readyz(State(state): State<OpsState>) -> Result<Json<Readiness>, ApiError> {
    let database = state.db.backend_name();
    match state.db.ping().await {
        Ok(()) => {
            let mut warnings = Vec::new();
            let tls = state.tls.as_ref().map(|store| {
                let serving = store.current();
                let days_left = serving.days_left();
                if days_left < i64::from(state.tls_expiry_warning_days) {
                    warnings.push(format!(
                        "the TLS certificate expires in {days_left} days (warning threshold: \
                         tls.expiry_warning_days = {})",
                        state.tls_expiry_warning_days
                    ));
                }
                CertificateStatus {
                    expires_at: serving.not_after,
                    days_left,
                    fingerprint: serving.fingerprint.clone(),
                }
            });
            Ok(Json(Readiness {
                status: if warnings.is_empty() {
                    "ready"
                } else {
                    "warning"
                },
                database,
                tls,
                warnings,
            }))
        }
        Err(error) => {
            tracing::warn!(%error, database, "readiness check failed");
            Err(ApiError::Unavailable(format!(
                "the {database} database is not reachable: {error}"
            )))
        }
    }
}

/// What the presented API key (or none) may do: the web console asks this
/// to show only what the key allows.
#[utoipa::path(get, path = "/v1/access", tag = "operations",
    params(("X-API-Key" = Option<String>, Header, description = "The key to ask about (or `Authorization: Bearer <key>`)")),
    responses(
        (status = 200, description = "What the key (or no key) may do", body = AccessReport),
        (status = 401, description = "Two credentials were sent", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key is not valid", body = Problem, content_type = "application/problem+json"),
    ))]
async fn access(State(state): State<OpsState>, request: Request) -> Response {
    let security = &state.security;
    let key = match security.presented_key(&request) {
        Ok(key) => key,
        Err(refusal) => return *refusal,
    };
    let grants = |scope: Scope| security.is_open() || key.is_some_and(|key| key.grants(scope));
    let modules = state
        .modules
        .iter()
        .map(|&module| ModuleAccess {
            name: module.name(),
            read: grants(Scope::read(module)),
            write: grants(Scope::write(module)),
        })
        .collect();
    let report = AccessReport {
        keys_required: !security.is_open(),
        key: key.map(|key| PresentedKey {
            id: key.id().to_owned(),
            scopes: key.scopes().iter().map(ToString::to_string).collect(),
        }),
        modules,
    };
    axum::Json(report).into_response()
}

/// Prometheus metrics: requests by route and status class, latency, requests
/// in flight and database pool usage.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String,
        content_type = "text/plain; version=0.0.4")))]
async fn metrics(State(state): State<OpsState>) -> Response {
    metrics::gauge!("http_requests_in_flight").set(state.requests_in_flight.get() as f64);
    // What /readyz asks, for alerts: a scrape must not hang on a database
    // that does not answer, so the ping is bounded.
    let answered = tokio::time::timeout(DATABASE_PING_TIMEOUT, state.db.ping())
        .await
        .is_ok_and(|ping| ping.is_ok());
    metrics::gauge!("echobase_database_up").set(if answered { 1.0 } else { 0.0 });
    let pool = state.db.pool_stats();
    let backend = state.db.backend_name();
    metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "open")
        .set(f64::from(pool.open));
    metrics::gauge!("db_pool_connections", "backend" => backend, "state" => "idle")
        .set(f64::from(pool.idle));
    metrics::gauge!("db_pool_max_connections", "backend" => backend).set(f64::from(pool.max));
    if let Some(store) = &state.tls {
        // Set again here: several apps in one process (tests) share the registry.
        metrics::gauge!("echobase_tls_certificate_expiry_seconds")
            .set(store.current().not_after as f64);
    }
    let body = crate::telemetry::prometheus().render();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

async fn openapi(State(state): State<OpsState>) -> Response {
    match state.openapi.get() {
        Some(spec) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            spec.clone(),
        )
            .into_response(),
        None => {
            ApiError::Unavailable("the API description is not built yet".into()).into_response()
        }
    }
}

/// The page and its assets are compiled in: `/docs` works with no internet.
/// The page is Swagger UI, vendored (`docs/swagger-ui/README.md` says which
/// version, from where, and how to update it).
const DOCS_HTML: &str = include_str!("docs/index.html");
const DOCS_INIT: &str = include_str!("docs/init.js");
const SWAGGER_UI_JS: &str = include_str!("docs/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_UI_CSS: &str = include_str!("docs/swagger-ui/swagger-ui.css");
async fn docs_page() -> Response {
    page::asset(page::HTML, page::PAGE_CACHE, DOCS_HTML)
}

async fn docs_init() -> Response {
    page::asset(page::JAVASCRIPT, page::PAGE_CACHE, DOCS_INIT)
}

async fn swagger_ui_script() -> Response {
    page::asset(page::JAVASCRIPT, page::ASSET_CACHE, SWAGGER_UI_JS)
}

async fn swagger_ui_style() -> Response {
    page::asset(page::CSS, page::ASSET_CACHE, SWAGGER_UI_CSS)
}
