//! Declaring which routes need an API key scope.
//!
//! A module puts [`RequireScope::require_access`] after the routes that need
//! a key, on the router it mounts: those routes then need `<module>:read`
//! for GET/HEAD/OPTIONS and `<module>:write` otherwise. Every module declares
//! its native and admin APIs this way and leaves its original (compatible)
//! routes open, so existing clients keep working:
//!
//! ```ignore
//! use crate::http::require_scope::RequireScope;
//! let native = OpenApiRouter::new()
//!     .routes(routes!(native::create, native::list))
//!     .require_access(Module::People, ctx.scope_checks()); // the routes above only
//! OpenApiRouter::new().routes(routes!(compat::create)).merge(native)
//! ```
//!
//! The requirement is enforced only when `auth.keys` is not empty: with no
//! keys the server is open (and says so at start-up). Routes a module does not
//! declare stay open, unless the operator sets `<module>.auth = "all"` (then
//! every route of the module is checked by the same rule). Failures answer
//! 401 with `WWW-Authenticate` (no credentials) or 403 (unknown key, or a key without the scope), as
//! problem+json, and are counted in `echobase_auth_failures_total{reason}`.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::auth::Scope;
use super::security::{RateStatus, Security, authorize};
use crate::module::Module;

/// Adds the scope requirement to a module's routes (see the module documentation).
pub trait RequireScope {
    /// Every route added so far needs `<module>:read` for GET/HEAD/OPTIONS
    /// and `<module>:write` for everything else (when keys are configured).
    fn require_access(self, module: Module, checks: ScopeChecks) -> Self;

    /// Every route added so far needs `scope` whatever its method: for a
    /// POST that only reads, say.
    fn require_scope(self, scope: Scope, checks: ScopeChecks) -> Self;
}

/// Whether the scope guards run. Keys are fixed at start-up, and with none
/// every route is open: a guard could only wave requests through, and as a
/// layer on each route it would cost a boxed service and future per request
/// (~1,700 instructions of a ~31,000 request). The OpenAPI document lists
/// the scopes only when they are enforced.
#[derive(Clone)]
pub struct ScopeChecks {
    /// The gate's state; `None` while no keys are configured.
    enforced: Option<Arc<Security>>,
}

impl ScopeChecks {
    pub fn new(security: &Arc<Security>) -> Self {
        ScopeChecks {
            enforced: (!security.is_open()).then(|| security.clone()),
        }
    }
}

/// Which scope a guarded route needs.
#[derive(Debug, Clone, Copy)]
enum Requirement {
    ByMethod(Module),
    Fixed(Scope),
}

impl Requirement {
    fn scope(self, method: &Method) -> Scope {
        match self {
            Requirement::ByMethod(module) => Scope::for_method(module, method),
            Requirement::Fixed(scope) => scope,
        }
    }
}

impl<S: Clone + Send + Sync + 'static> RequireScope for utoipa_axum::router::OpenApiRouter<S> {
    fn require_access(self, module: Module, checks: ScopeChecks) -> Self {
        guard(self, Requirement::ByMethod(module), checks)
    }

    fn require_scope(self, scope: Scope, checks: ScopeChecks) -> Self {
        guard(self, Requirement::Fixed(scope), checks)
    }
}

fn guard<S: Clone + Send + Sync + 'static>(
    mut router: utoipa_axum::router::OpenApiRouter<S>,
    requirement: Requirement,
    checks: ScopeChecks,
) -> utoipa_axum::router::OpenApiRouter<S> {
    let enforced = checks.enforced.is_some();
    if let Some(security) = checks.enforced {
        router = router.route_layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let scope = requirement.scope(req.method());
                enforce_scope(security.clone(), scope, req, next)
            },
        ));
    }
    if enforced {
        document_access(router.get_openapi_mut(), requirement);
    }
    router
}

/// Writes the requirement the guard enforces into the OpenAPI document:
/// each operation's security requirement and its 401/403/429 answers, so
/// the spec cannot drift from the code. Only when keys are configured: an
/// open server documents no requirement it would not enforce.
fn document_access(openapi: &mut utoipa::openapi::OpenApi, requirement: Requirement) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, security::SecurityRequirement};
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            (Method::GET, &mut item.get),
            (Method::HEAD, &mut item.head),
            (Method::OPTIONS, &mut item.options),
            (Method::POST, &mut item.post),
            (Method::PUT, &mut item.put),
            (Method::PATCH, &mut item.patch),
            (Method::DELETE, &mut item.delete),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let scope = requirement.scope(&method).to_string();
            operation.security = Some(vec![
                SecurityRequirement::new("bearer", [scope.as_str()]),
                SecurityRequirement::new("api_key", [scope.as_str()]),
            ]);
            let answers = [
                (
                    "401",
                    "No API key, or two (`Authorization` and `X-API-Key`)".to_owned(),
                ),
                ("403", format!("Unknown key, or a key without {scope}")),
                ("429", "Over a rate limit; see Retry-After".to_owned()),
            ];
            for (status, description) in answers {
                let problem = ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build();
                let response = ResponseBuilder::new()
                    .description(description)
                    .content("application/problem+json", problem)
                    .build();
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert(response.into());
            }
        }
    }
}

async fn enforce_scope(
    security: Arc<Security>,
    scope: Scope,
    req: Request,
    next: Next,
) -> Response {
    match authorize(&security, scope, req) {
        Ok(req) => {
            let status = req.extensions().get::<RateStatus>().copied();
            let mut response = next.run(req).await;
            if let Some(status) = status {
                status.apply(response.headers_mut());
            }
            response
        }
        Err(response) => *response,
    }
}
