//! Router assembly from the enabled modules, the listener, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::config::{Module, Settings};
use crate::db::{Database, DbError};
use crate::http::ApiError;
use crate::http::middleware::{RequestContext, RequestContextLayer, RequestLimits};
use crate::http::ops::{self, OpsState};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Module(#[from] ModuleError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A module that could not start.
#[derive(Debug, thiserror::Error)]
#[error("module {module}: {reason}")]
pub struct ModuleError {
    module: &'static str,
    reason: String,
}

impl ModuleError {
    pub fn new(module: &'static str, reason: impl Into<String>) -> Self {
        ModuleError {
            module,
            reason: reason.into(),
        }
    }
}

/// What a module contributes: its routes, and lines for the start-up banner.
pub struct Mounted {
    pub router: OpenApiRouter,
    /// Shown to the operator on standard output, never logged.
    pub notices: Vec<String>,
    /// Answers every request no route takes, instead of the 404 problem
    /// (the mocks module serves its stubs this way: built-in routes first).
    pub fallback: Option<Router>,
}

impl Mounted {
    /// Routes only: no notices, no fallback.
    pub fn new(router: OpenApiRouter) -> Self {
        Mounted {
            router,
            notices: Vec::new(),
            fallback: None,
        }
    }
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
    tags((name = "operations", description = "Liveness, readiness, metrics and this document")),
)]
struct ApiDoc;

/// A bound, migrated, ready-to-serve echobase.
pub struct App {
    listener: TcpListener,
    router: Router,
    db: Database,
    settings: Settings,
    notices: Vec<String>,
}

impl App {
    /// Opens the database, applies migrations, assembles the routes of the
    /// enabled modules and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings) -> Result<App, StartupError> {
        // Install the metrics recorder before the first request is counted.
        crate::telemetry::prometheus();
        let db =
            Database::connect(&settings.database_url, settings.database_max_connections).await?;
        db.migrate().await?;
        let (router, notices) = assemble_router(&settings, &db).await?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        Ok(App {
            listener,
            router,
            db,
            settings,
            notices,
        })
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
            router,
            db,
            settings,
            ..
        } = self;
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections, finishing requests in flight");
            let _ = stopping_tx.send(());
        };
        // Small responses must not wait for Nagle's algorithm.
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
        });
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .into_future();
        tokio::pin!(serve);
        let upkeep = crate::telemetry::spawn_metrics_upkeep();

        tokio::select! {
            result = &mut serve => result?,
            _ = stopping_rx => {
                match tokio::time::timeout(settings.shutdown_timeout, &mut serve).await {
                    Ok(result) => result?,
                    Err(_) => tracing::warn!(
                        timeout_ms = settings.shutdown_timeout.as_millis() as u64,
                        "requests still in flight at the shutdown deadline were abandoned"
                    ),
                }
            }
        }
        upkeep.abort();
        db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// What a module needs to build its routes.
pub struct ModuleContext<'a> {
    pub settings: &'a Settings,
    pub db: &'a Database,
}

async fn mount_module(
    module: Module,
    ctx: &ModuleContext<'_>,
) -> Result<Option<Mounted>, ModuleError> {
    Ok(match module {
        Module::Echo => Some(crate::echo::mount(ctx).await?),
        Module::Messages => Some(crate::messages::mount(ctx)),
        Module::People => Some(crate::people::mount(ctx)),
        Module::Events => Some(crate::events::mount(ctx)),
        Module::Mocks => Some(crate::mocks::mount(ctx).await?),
    })
}

async fn assemble_router(
    settings: &Settings,
    db: &Database,
) -> Result<(Router, Vec<String>), ModuleError> {
    let spec = Arc::new(OnceLock::new());
    let ops_state = OpsState {
        db: db.clone(),
        openapi: spec.clone(),
    };
    let ctx = ModuleContext { settings, db };
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(ops::router(ops_state));
    let mut notices = Vec::new();
    let mut fallback = None;
    for module in &settings.modules {
        if let Some(mounted) = mount_module(*module, &ctx).await? {
            api = api.merge(mounted.router);
            notices.extend(mounted.notices);
            fallback = mounted.fallback.or(fallback);
        }
    }
    let (router, mut openapi) = api.split_for_parts();
    openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // Serialising a derived OpenAPI document cannot fail; an empty spec would show it.
    let _ = spec.set(openapi.to_pretty_json().unwrap_or_default());

    let limits = RequestLimits {
        body_limit: settings.body_limit,
        request_timeout: settings.request_timeout,
    };
    let router = match fallback {
        Some(fallback) => router.fallback_service(fallback),
        None => router.fallback(not_found),
    };
    let router = router
        .method_not_allowed_fallback(method_not_allowed)
        .layer(RequestContextLayer::new(RequestContext::new(limits)))
        .layer(DefaultBodyLimit::max(settings.body_limit));
    Ok((router, notices))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
    }
}
