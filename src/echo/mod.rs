//! Echo: the original `GET`/`POST /` echo server behind a `server_key` header.

pub mod compat;
pub mod key;

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;

use crate::server::{ModuleContext, ModuleError, Mounted};

/// Resolves the server key (settings, else the one stored in the database,
/// else a new one stored there) and mounts the routes.
pub async fn mount(ctx: &ModuleContext<'_>) -> Result<Mounted, ModuleError> {
    let mut notices = Vec::new();
    let key = match &ctx.settings.echo_server_key {
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
    let router = OpenApiRouter::new().routes(utoipa_axum::routes!(compat::echo));
    Ok(Mounted {
        router: router.with_state(Arc::new(key::ServerKey::new(&key))),
        notices,
        fallback: None,
    })
}
