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
use crate::http::auth::RequireScope;
use crate::server::{ModuleContext, Mounted};

pub fn mount(ctx: &ModuleContext<'_>) -> Mounted {
    let store = store::for_database(ctx.db);
    // With API keys configured, the native API needs `messages:read`/`:write`;
    // the original routes stay open for the clients that exist.
    let native = OpenApiRouter::new()
        .routes(routes!(native::create))
        .routes(routes!(native::fetch))
        .require_access(Module::Messages);
    let router = OpenApiRouter::new()
        .routes(routes!(compat::post_message))
        .routes(routes!(compat::get_message))
        .merge(native)
        .with_state(store);
    Mounted::new(router)
}
