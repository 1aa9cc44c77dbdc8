//! What a module gets to build its routes ([`ModuleContext`]) and what it
//! gives back ([`Mounted`]): the one interface between the server, which
//! assembles the modules, and each module, which knows nothing of the others.

use std::future::Future;
use std::pin::Pin;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::db::Database;
use std::sync::Arc;

use crate::http::direct::DirectRoute;
use crate::http::require_scope::ScopeChecks;
use crate::http::security::Security;

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
    /// When set, `fallback` answers only the requests this takes; the rest
    /// go on to the next module's fallback (resources claim the paths that
    /// name a collection, then the mocks' catch-all answers).
    pub fallback_claims: Option<FallbackClaims>,
    /// Routes without an OpenAPI entry, for the request metrics' route
    /// labels (the documented ones come from the document); a route left
    /// out is counted as `unmatched`.
    pub undocumented_routes: Vec<&'static str>,
    /// Hot routes of `router` offered again as direct routes (see
    /// [`crate::http::direct`]); used only while no layer wraps the module.
    pub direct_routes: Vec<DirectRoute>,
    /// What the module still waits for before it may serve (the mocks on
    /// PostgreSQL: listening for other processes' changes). The server awaits
    /// it once every module is mounted, so the modules' waits overlap.
    pub ready: Option<Ready>,
}

/// See [`Mounted::fallback_claims`].
pub type FallbackClaims = Arc<dyn Fn(&axum::http::Uri) -> bool + Send + Sync>;

/// A wait a module hands back from `mount`; see [`Mounted::ready`].
pub type Ready = Pin<Box<dyn Future<Output = ()> + Send>>;

impl Mounted {
    /// Routes only: no notices, no fallback.
    pub fn new(router: OpenApiRouter) -> Self {
        Mounted {
            router,
            notices: Vec::new(),
            fallback: None,
            fallback_claims: None,
            undocumented_routes: Vec::new(),
            direct_routes: Vec::new(),
            ready: None,
        }
    }
}

/// What every module gets to build its routes, besides its own settings
/// (which `server.rs` hands to its `mount`).
pub struct ModuleContext<'a> {
    pub db: &'a Database,
    /// `body_limit`: the largest request body any route reads.
    pub body_limit: usize,
    /// The security gate's state, for the scope guards.
    pub security: &'a Arc<Security>,
}

impl ModuleContext<'_> {
    /// For `RequireScope`: whether the scope guards run (API keys configured).
    pub fn scope_checks(&self) -> ScopeChecks {
        ScopeChecks::new(self.security)
    }
}
