//! People: a small collection resource (`name`, `age`, `locale`).
//!
//! The compatible surface keeps the original `rest_app` contract
//! (`PUT /resources/data/` with a form field `data`, `GET`/`DELETE
//! /resources/data/{id}`, JSON-string errors). The native API lives under
//! `/v1/people`: create, fetch, replace, merge-patch and delete with `ETag`s
//! and optimistic concurrency, a listing with filters, sort and page or cursor
//! pagination, and an all-or-nothing batch create. Both sit on one table.

pub mod compat;
pub mod estimates;
pub mod model;
pub mod native;
pub mod query;
pub mod settings;
pub mod store;

use std::sync::Arc;

use axum::routing::put;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::require_scope::RequireScope;
use crate::module::Module;
use crate::module::mount::{ModuleContext, Mounted};
use estimates::Estimates;
use settings::PeopleSettings;
use store::PersonStore;

/// What the handlers share.
#[derive(Clone)]
pub struct PeopleState {
    pub store: Arc<dyn PersonStore>,
    pub estimates: Arc<Estimates>,
    pub limits: Limits,
}

/// The module's limits, from `people.*` settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_per_page: u64,
    pub max_batch: usize,
}

pub fn mount(ctx: &ModuleContext<'_>, settings: &PeopleSettings) -> Mounted {
    let state = PeopleState {
        store: store::for_database(ctx.db, settings.cached_people),
        estimates: Arc::new(Estimates::new(settings.cached_estimates)),
        limits: Limits {
            max_per_page: settings.max_per_page,
            max_batch: settings.max_batch,
        },
    };
    // With API keys configured, the native API needs `people:read`/`:write`;
    // the original routes stay open for the clients that exist.
    let mut native = OpenApiRouter::new()
        .routes(routes!(native::create, native::list))
        .routes(routes!(
            native::fetch,
            native::replace,
            native::patch,
            native::delete
        ))
        .routes(routes!(native::create_batch))
        .require_access(Module::People, ctx.scope_checks());
    native::document_limits(native.get_openapi_mut(), &state.limits);
    let router = OpenApiRouter::new()
        .routes(routes!(compat::create))
        // The original's clients may leave out the trailing slash.
        .route(UNDOCUMENTED_CREATE, put(compat::create))
        .routes(routes!(compat::fetch, compat::delete))
        .merge(native)
        .with_state(state);
    Mounted {
        undocumented_routes: vec![UNDOCUMENTED_CREATE],
        ..Mounted::new(router)
    }
}

/// The original create route without its trailing slash.
const UNDOCUMENTED_CREATE: &str = "/resources/data";
