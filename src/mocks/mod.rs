//! Mocks: the original mock-endpoint creator (`/endpoints`) and a
//! WireMock-compatible mock server (`/__admin`, stub mapping JSON), one engine.
//!
//! Every request that no built-in route takes falls through to the mocks
//! ([`serve::serve`]): a stub answers it, or a 404 names the nearest stubs.
//! Stubs are stored (both backends) and held in memory in an index that is
//! swapped atomically on change ([`index`]), so matching never scans every
//! stub and never takes a lock. On PostgreSQL, processes sharing the database
//! keep their indexes in step through `LISTEN/NOTIFY` ([`sync`]).

pub mod admin;
pub mod compat;
pub mod endpoint_view;
pub mod engine;
pub mod files;
pub mod folder;
pub mod index;
pub mod journal;
pub mod jsonpath;
pub mod matcher;
pub mod oas;
pub mod openapi;
pub mod parse;
pub mod proxy;
pub mod recording;
pub mod reserved_paths;
pub mod respond;
pub mod serve;
pub mod settings;
pub mod store;
pub mod stub;
pub mod sync;
pub mod template;
pub mod truncation;
pub mod webhook;

use std::sync::Arc;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::Database;
use crate::http::auth::Scope;
use crate::http::require_scope::RequireScope;
use crate::module::Module;
use crate::module::mount::{ModuleContext, ModuleError, Mounted, Ready};
use engine::Engine;
use settings::MocksSettings;

/// How long start-up waits for the PostgreSQL change listener.
const LISTENER_START: std::time::Duration = std::time::Duration::from_secs(5);

/// Loads the stubs (mappings folder, then the store), starts the change
/// listener on PostgreSQL, and mounts the admin and compatible routes plus
/// the fallback that serves the mocks.
pub async fn mount(
    ctx: &ModuleContext<'_>,
    settings: &MocksSettings,
) -> Result<Mounted, ModuleError> {
    let fail = |reason: String| ModuleError::new("mocks", reason);
    let instance = uuid::Uuid::new_v4().to_string();
    let store = store::for_database(ctx.db, &instance);
    let mappings = settings
        .mappings_dir
        .as_deref()
        .map(files::MappingsDir::open)
        .transpose()
        .map_err(fail)?;
    let folder = mappings.as_ref().map(|m| m.path().display().to_string());
    let files = store::files_for_database(ctx.db);
    let webhooks = webhook::Webhooks::new(&settings.into());
    let scenarios = store::scenarios_for_database(ctx.db);
    let journal =
        store::journal_for_database(ctx.db, &instance, settings.into(), settings.journal_shared);
    let engine = Arc::new(Engine::new(
        store, files, webhooks, scenarios, journal, mappings, settings,
    ));
    let ready = if let Database::Postgres(pool) = ctx.db {
        let (joined, listening) = tokio::sync::oneshot::channel();
        sync::spawn_listener(pool.clone(), Arc::downgrade(&engine), instance, joined);
        // Serve only once listening: from then on every stub change reaches
        // this process, and readers of the shared journal wait for its entries.
        // Started first, so that its connection opens while the stubs load.
        let ready: Ready = Box::pin(async move {
            if tokio::time::timeout(LISTENER_START, listening)
                .await
                .is_err()
            {
                tracing::warn!(
                    "mocks: not yet listening for stub changes; serving anyway (it keeps trying)"
                );
            }
        });
        Some(ready)
    } else {
        None
    };
    let body_files = engine.load_body_files().await.map_err(fail)?;
    let (from_files, _) = engine.load().await.map_err(fail)?;
    let mut notices = Vec::new();
    if let Some(path) = &settings.openapi {
        for (file, loaded) in oas::load::load_path(&engine, path).await.map_err(fail)? {
            let skipped = if loaded.skipped.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} on echobase's own routes skipped)",
                    loaded.skipped.len()
                )
            };
            notices.push(format!(
                "mocks: {} operations of {file} served as OpenAPI document `{}`{skipped}",
                loaded.operations, loaded.name
            ));
        }
    }
    if let Some(folder) = folder {
        notices.push(format!(
            "mocks: {from_files} stub mappings and {body_files} body files loaded from {folder}"
        ));
    }
    // With API keys configured, the WireMock admin API needs `mocks:write`,
    // reads included: it is the control plane, and the request journal holds
    // other clients' requests, headers and all. The original `/endpoints`
    // routes, the health probe and the mocks themselves stay open.
    let admin = admin::router().require_scope(Scope::write(Module::Mocks), ctx.scope_checks());
    let mut router = OpenApiRouter::new()
        .routes(routes!(compat::list, compat::create))
        .routes(routes!(compat::patch, compat::delete))
        .routes(routes!(admin::health))
        .merge(admin)
        .with_state(engine.clone());
    openapi::add_components(router.get_openapi_mut());
    openapi::body_optional(
        router.get_openapi_mut(),
        &[
            "/__admin/requests/count",
            "/__admin/requests/find",
            "/__admin/near-misses/request-pattern",
            "/__admin/settings",
            "/__admin/settings/extended",
            // No body: an empty file.
            "/__admin/files/{*name}",
            // No body: every default, as WireMock's snapshot.
            "/__admin/recordings/snapshot",
        ],
    );
    // The 404 of an unmatched mock request lists the nearest stubs, request
    // patterns included: with keys configured, only for a caller who could
    // read them through `/__admin` anyway.
    let serving = serve::Serving {
        engine,
        security: ctx.security.clone(),
        proxies: Arc::new(proxy::Proxies::new(&settings.into())),
        documents: Arc::new(oas::Documents::default()),
    };
    let fallback = Router::new().fallback(serve::serve).with_state(serving);
    Ok(Mounted {
        notices,
        fallback: Some(fallback),
        ready,
        ..Mounted::new(router)
    })
}
