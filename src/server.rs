//! Router assembly from the enabled modules, the listener, and graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::http::{Method, Uri};
use axum::response::Response;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Settings;
use crate::db::{Database, DbError};
use crate::http::ApiError;
use crate::http::direct::DirectRoute;
use crate::http::middleware::{InFlightCount, RequestContext, RequestLimits, SERVER_MODULE_LABEL};
use crate::http::security::{self, Security};
use crate::http::serve::{self, Listener};
use crate::http::tls::{self, CertStore, TlsError};
use crate::module::mount::{FallbackClaims, ModuleContext, ModuleError, Mounted};
use crate::module::{Module, ServedBy};
use crate::ops::{self, OpsState};
use axum::response::IntoResponse as _;
use tower::ServiceExt as _;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Module(#[from] ModuleError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("the server stopped with an error: {0}")]
pub struct ServeError(#[from] std::io::Error);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "echobase",
        description = "Echo, mock endpoints, people, deployment events and message digests in one server.",
    ),
    components(schemas(crate::http::Problem, crate::http::FieldError)),
    modifiers(&ApiKeySchemes),
    tags((name = "operations", description = "Liveness, readiness, metrics and this document")),
)]
struct ApiDoc;

/// The two ways to present an API key, for the routes a module declares
/// with `RequireScope::require_access`.
struct ApiKeySchemes;

impl utoipa::Modify for ApiKeySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key from `echobase keys generate`",
            ))),
        );
    }
}

/// A bound, migrated, ready-to-serve echobase.
pub struct App {
    listener: TcpListener,
    /// A second, HTTPS listener (`tls.listen`); otherwise TLS, when on, is on `listener`.
    tls_listener: Option<TcpListener>,
    tls: Option<Arc<CertStore>>,
    tls_acceptor: Option<tokio_rustls::TlsAcceptor>,
    security: Arc<Security>,
    routes: AssembledRoutes,
    db: Database,
    settings: Settings,
    notices: Vec<String>,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })
}

impl App {
    /// Opens the database, applies migrations, assembles the routes of the
    /// enabled modules and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings) -> Result<App, StartupError> {
        // Install the metrics recorder before the first request is counted.
        crate::telemetry::prometheus();
        // One rustls crypto provider for the process, before any TLS use.
        tls::install_crypto_provider();
        let mut notices = Vec::new();
        let (tls, tls_acceptor) = if settings.tls.enabled() {
            let (store, tls_notices) = CertStore::from_settings(&settings.tls)?;
            notices.extend(tls_notices);
            let config = tls::server_config(store.clone())?;
            (Some(store), Some(tokio_rustls::TlsAcceptor::from(config)))
        } else {
            (None, None)
        };
        let security = Arc::new(Security::new(
            settings.auth.keys.clone(),
            settings.trusted_proxies.clone(),
            settings.rate_limit.per_key,
            settings.modules.iter().map(|module| {
                let (own, limits) = settings.security_of(*module);
                (*module, own, limits)
            }),
        ));
        if security.is_open() {
            tracing::warn!(
                "no API keys are configured (auth.keys): every route is open to anyone who can \
                 reach this server"
            );
            notices.push(
                "auth: WARNING: no API keys configured (auth.keys); every route is open. \
                 Create one with `echobase keys generate --scopes admin`."
                    .to_owned(),
            );
        }
        let db = Database::connect_with_cache(
            &settings.database_url,
            settings.database_max_connections,
            settings.database_acquire_timeout,
            settings.database_sqlite_cache_size,
        )
        .await?;
        db.migrate().await?;
        let (routes, module_notices) =
            assemble_router(&settings, &db, security.clone(), tls.clone()).await?;
        notices.extend(module_notices);
        let listener = bind(settings.listen).await?;
        let tls_listener = match (settings.tls.listen, &tls) {
            (Some(addr), Some(_)) => Some(bind(addr).await?),
            _ => None,
        };
        Ok(App {
            listener,
            tls_listener,
            tls,
            tls_acceptor,
            security,
            routes,
            db,
            settings,
            notices,
        })
    }

    /// The address serving HTTPS, if TLS is on (`tls.listen`, else `listen`).
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref()?;
        match &self.tls_listener {
            Some(listener) => listener.local_addr().ok(),
            None => Some(self.local_addr()),
        }
    }

    /// The serving certificate's store: reload it, or look at it.
    pub fn tls(&self) -> Option<Arc<CertStore>> {
        self.tls.clone()
    }

    /// Start-up banner lines from the modules, for the operator's eyes.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The address actually bound, which tells tests the port.
    pub fn local_addr(&self) -> SocketAddr {
        // A bound TcpListener always has a local address.
        self.listener.local_addr().unwrap_or(self.settings.listen)
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets requests in
    /// flight finish for up to `shutdown_timeout`, and closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let App {
            listener,
            tls_listener,
            tls,
            tls_acceptor,
            security,
            routes,
            db,
            settings,
            ..
        } = self;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        if let Some(store) = tls {
            tokio::spawn(store.watch(settings.tls.reload_interval, stop_rx.clone()));
        }
        tokio::spawn(forget_idle_clients(security.clone(), stop_rx));
        let mut listeners = Vec::new();
        match tls_listener {
            // HTTP on `listen`, HTTPS on `tls.listen`.
            Some(tls_listener) => {
                listeners.push(Listener {
                    tcp: listener,
                    tls: None,
                });
                listeners.push(Listener {
                    tcp: tls_listener,
                    tls: tls_acceptor,
                });
            }
            None => listeners.push(Listener {
                tcp: listener,
                tls: tls_acceptor,
            }),
        }
        let upkeep = crate::telemetry::spawn_metrics_upkeep();
        serve::serve(
            listeners,
            serve::Routes {
                router: routes.router,
                direct: routes.direct,
                context: routes.context,
            },
            security,
            settings.limits,
            settings.body_limit,
            shutdown,
            settings.shutdown_timeout,
        )
        .await;
        let _ = stop_tx.send(true);
        upkeep.abort();
        db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Mounts `module` with its own settings.
async fn mount_module(
    module: Module,
    ctx: &ModuleContext<'_>,
    settings: &Settings,
) -> Result<Option<Mounted>, ModuleError> {
    Ok(match module {
        Module::Echo => Some(crate::echo::mount(ctx, &settings.echo).await?),
        Module::Messages => Some(crate::messages::mount(ctx, &settings.messages).await?),
        Module::Resources => Some(crate::resources::mount(ctx, &settings.resources).await?),
        Module::People => Some(crate::people::mount(ctx, &settings.people)),
        Module::Events => Some(crate::events::mount(ctx, &settings.events)),
        Module::Mocks => Some(crate::mocks::mount(ctx, &settings.mocks).await?),
    })
}

/// Rate-limit state of clients that went quiet is dropped once a minute.
async fn forget_idle_clients(
    security: Arc<Security>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = ticker.tick() => security.forget_idle_clients(),
            _ = stop.changed() => return,
        }
    }
}

/// The router of the enabled modules, the direct routes that may pass it
/// by, and the request context around both.
struct AssembledRoutes {
    router: Router,
    direct: Vec<DirectRoute>,
    context: RequestContext,
}

async fn assemble_router(
    settings: &Settings,
    db: &Database,
    security: Arc<Security>,
    tls: Option<Arc<CertStore>>,
) -> Result<(AssembledRoutes, Vec<String>), ModuleError> {
    let spec = Arc::new(OnceLock::new());
    let in_flight = InFlightCount::default();
    let ops_state = OpsState {
        db: db.clone(),
        openapi: spec.clone(),
        tls,
        tls_expiry_warning_days: settings.tls.expiry_warning_days,
        requests_in_flight: in_flight.clone(),
        security: security.clone(),
        modules: settings.modules.clone(),
    };
    let ctx = ModuleContext {
        db,
        body_limit: settings.body_limit,
        security: &security,
    };
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(ops::router(ops_state))
        .merge(crate::console::router());
    let mut notices = Vec::new();
    let mut fallbacks = Vec::new();
    let mut undocumented_routes: Vec<&str> = ops::UNDOCUMENTED_ROUTES.to_vec();
    undocumented_routes.extend(crate::console::UNDOCUMENTED_ROUTES);
    // Each route template's module, for the request metrics' `module` label.
    let mut route_modules: HashMap<String, &'static str> = HashMap::new();
    let cors = crate::http::cors::layer(&settings.cors);
    let mut direct = Vec::new();
    let mut waits = Vec::new();
    for module in &settings.modules {
        if let Some(mounted) = mount_module(*module, &ctx, settings).await? {
            waits.extend(mounted.ready);
            let mut router = mounted.router;
            // Allow list, per-IP limit, `<module>.auth = "all"`: only when configured.
            if security.module_needs_gate(*module) {
                router = router.route_layer(axum::middleware::from_fn_with_state(
                    (security.clone(), *module),
                    security::module_gate,
                ));
            } else if cors.is_none() {
                // A direct route would pass by a layer; with none, it answers as the router would.
                direct.extend(mounted.direct_routes);
            }
            route_modules.extend(
                router
                    .get_openapi()
                    .paths
                    .paths
                    .keys()
                    .map(|template| (template.clone(), module.name())),
            );
            route_modules.extend(
                mounted
                    .undocumented_routes
                    .iter()
                    .map(|template| ((*template).to_owned(), module.name())),
            );
            api = api.merge(router);
            notices.extend(mounted.notices);
            undocumented_routes.extend(mounted.undocumented_routes);
            // The mocks' catch-all answers what no route does; it takes the
            // module's gate too.
            let module_fallback = mounted.fallback.map(|router| {
                let served_by = ServedBy(*module);
                let router = router.layer(axum::middleware::map_response(
                    move |mut response: Response| async move {
                        response.extensions_mut().insert(served_by);
                        response
                    },
                ));
                if security.module_needs_gate(*module) {
                    router.layer(axum::middleware::from_fn_with_state(
                        (security.clone(), *module),
                        security::module_gate,
                    ))
                } else {
                    router
                }
            });
            if let Some(router) = module_fallback {
                fallbacks.push((router, mounted.fallback_claims));
            }
        }
    }
    // Bounded by each module's own timeout.
    futures_util::future::join_all(waits).await;
    let (router, mut openapi) = api.split_for_parts();
    let context = RequestContext::new(
        RequestLimits {
            request_timeout: settings.request_timeout,
        },
        in_flight,
        openapi
            .paths
            .paths
            .keys()
            .map(String::as_str)
            .chain(undocumented_routes)
            .map(|template| {
                let module = route_modules.get(template).copied();
                (template, module.unwrap_or(SERVER_MODULE_LABEL))
            }),
    );
    openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
    crate::http::openapi_document::finish(&mut openapi);
    // Serialising a derived OpenAPI document cannot fail; an empty spec would show it.
    let _ = spec.set(openapi.to_pretty_json().unwrap_or_default());

    let router = match chain_fallbacks(fallbacks) {
        Some(fallback) => router.fallback_service(fallback),
        None => router.fallback(not_found),
    };
    let mut router = router.method_not_allowed_fallback(method_not_allowed);
    // Only when configured: a `layer` wraps every route in another boxed
    // service, which each request then clones and calls through.
    if let Some(cors) = cors {
        router = router.layer(cors);
    }
    Ok((
        AssembledRoutes {
            router,
            direct,
            context,
        },
        notices,
    ))
}

/// The modules' fallbacks as one: each request goes to the first that
/// claims it (those that claim some requests first, a catch-all last), or
/// is a 404 problem.
fn chain_fallbacks(mut fallbacks: Vec<(Router, Option<FallbackClaims>)>) -> Option<Router> {
    match fallbacks.len() {
        0 => return None,
        1 if fallbacks[0].1.is_none() => return fallbacks.pop().map(|(router, _)| router),
        _ => {}
    }
    fallbacks.sort_by_key(|(_, claims)| claims.is_none());
    let fallbacks = Arc::new(fallbacks);
    Some(
        Router::new().fallback(move |request: axum::extract::Request| {
            let fallbacks = fallbacks.clone();
            async move {
                let chosen = fallbacks
                    .iter()
                    .find(|(_, claims)| claims.as_ref().is_none_or(|claims| claims(request.uri())));
                match chosen {
                    Some((router, _)) => match router.clone().oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    },
                    None => not_found(request.uri().clone()).await.into_response(),
                }
            }
        }),
    )
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
    }
}
