//! Messages: store a message, get its SHA-256, look it up by digest.
//!
//! The compatible surface keeps the original `sha_api` contract
//! (`POST /messages`, `GET /messages/{digest}`); the native API lives under
//! `/v1/messages`, with lower-case digests and problem+json errors.

pub mod compat;
pub mod model;
pub mod native;
pub mod store;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Module;
use crate::http::auth::{RequireScope, Scope};
use crate::server::{ModuleContext, Mounted};

pub fn mount(ctx: &ModuleContext<'_>) -> Mounted {
    let store = store::for_database(ctx.db);
    // Writing through the native API needs `messages:write` when keys are configured.
    let writes = OpenApiRouter::new()
        .routes(routes!(native::create))
        .require_scope(Scope::write(Module::Messages));
    let router = OpenApiRouter::new()
        .routes(routes!(compat::post_message))
        .routes(routes!(compat::get_message))
        .routes(routes!(native::fetch))
        .merge(writes)
        .with_state(store);
    Mounted::new(router)
}
