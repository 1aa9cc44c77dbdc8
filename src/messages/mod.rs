//! Messages: store a message, get its SHA-256, look it up by digest.
//!
//! The compatible surface keeps the original `sha_api` contract
//! (`POST /messages`, `GET /messages/{digest}`); the native API lives under
//! `/v1/messages`: raw bytes or JSON in, lower-case digests, `ETag`s, ranges,
//! batch lookup, problem+json errors. Both sit on one [`store::MessageStore`]
//! whose writes are acknowledged only once durable (group commit) and whose
//! hot reads come from memory.

pub mod compat;
pub mod integrity;
pub mod model;
pub mod native;
pub mod range;
pub mod settings;
pub mod store;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Scope;
use crate::http::require_scope::RequireScope;
use crate::module::Module;
use crate::module::mount::{ModuleContext, ModuleError, Mounted};
pub use native::MessagesState;
use settings::MessagesSettings;

pub async fn mount(
    ctx: &ModuleContext<'_>,
    settings: &MessagesSettings,
) -> Result<Mounted, ModuleError> {
    let options = store::StoreOptions {
        cache_bytes: settings.cache_size,
    };
    let store = store::for_database(ctx.db, options)
        .await
        .map_err(|error| ModuleError::new("messages", error.to_string()))?;
    let state = MessagesState {
        store,
        max_size: settings.max_size.unwrap_or(ctx.body_limit),
        max_lookup: settings.max_lookup,
    };
    // With API keys configured, the native API needs `messages:read`/`:write`
    // (a lookup only reads, though it is a POST); the original routes stay
    // open for the clients that exist.
    let native = OpenApiRouter::new()
        .routes(routes!(native::create))
        .routes(routes!(native::fetch, native::head, native::delete))
        .require_access(Module::Messages, ctx.scope_checks());
    // A colon inside a segment is literal text for axum 0.8 / matchit 0.8
    // (parameters are `{name}`; only a segment *starting* with `:` is refused).
    let lookup = OpenApiRouter::new()
        .routes(routes!(native::lookup))
        .require_scope(Scope::read(Module::Messages), ctx.scope_checks());
    let mut router = OpenApiRouter::new()
        .routes(routes!(compat::post_message))
        .routes(routes!(compat::get_message))
        .merge(native)
        .merge(lookup)
        .with_state(state);
    native::finish_document(router.get_openapi_mut(), settings.max_lookup);
    Ok(Mounted::new(router))
}
