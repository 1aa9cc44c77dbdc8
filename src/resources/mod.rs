//! Resources: any JSON collection as a REST API, json-server 0.17
//! compatible, on SQLite or PostgreSQL.
//!
//! `resources.seed` (`serve --data db.json`) loads a json-server `db.json`
//! once; `/v1/collections` creates and removes collections at run time; the
//! json-server routes ([`compat`]) serve them under `resources.prefix`.
//! Documents are stored one row each ([`store`]) and queried with
//! json-server's own semantics ([`query`]).

pub mod compat;
pub mod model;
pub mod native;
pub mod query;
pub mod schema;
pub mod settings;
pub mod store;

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::Database;
use crate::http::require_scope::RequireScope;
use crate::module::Module;
use crate::module::mount::{ModuleContext, ModuleError, Mounted};
use compat::{Catalog, CompatState};
use native::NativeState;
use settings::ResourcesSettings;
use store::ResourceStore;

/// How soon this process learns of collections another process created
/// or removed (PostgreSQL only: a SQLite file has one process).
pub const CATALOG_REFRESH: Duration = Duration::from_secs(2);

pub async fn mount(
    ctx: &ModuleContext<'_>,
    settings: &ResourcesSettings,
) -> Result<Mounted, ModuleError> {
    let failed = |reason: String| ModuleError::new("resources", reason);
    let indexing = store::Indexing {
        fields: settings.indexes.clone(),
        automatic_after: settings.auto_index_after,
        automatic_max: settings.auto_index_max,
    };
    let store = store::for_database(ctx.db, settings.cached_documents, indexing);
    store
        .create_indexes()
        .await
        .map_err(|error| failed(format!("cannot create the indexes: {error}")))?;
    let mut notices = Vec::new();
    if let Some(path) = &settings.seed {
        let text = std::fs::read_to_string(path)
            .map_err(|error| failed(format!("cannot read {}: {error}", path.display())))?;
        let collections = native::read_seed(&text)
            .map_err(|error| failed(format!("{}: {error}", path.display())))?;
        let (mut loaded, mut kept) = (0, 0);
        for (name, content) in collections {
            if store
                .create(&name, content, None)
                .await
                .map_err(|error| failed(format!("{}: {error}", path.display())))?
            {
                loaded += 1;
            } else {
                kept += 1;
            }
        }
        notices.push(format!(
            "resources: {} from {}: {loaded} loaded, {kept} kept as stored",
            if loaded + kept == 1 {
                "1 collection"
            } else {
                "collections"
            },
            path.display()
        ));
    }
    let catalog = Arc::new(Catalog::default());
    refresh(store.as_ref(), &catalog)
        .await
        .map_err(|error| failed(error.to_string()))?;
    if matches!(ctx.db, Database::Postgres(_)) {
        tokio::spawn(keep_refreshed(store.clone(), Arc::downgrade(&catalog)));
    }
    let prefix = settings.prefix.clone();
    let claims_catalog = catalog.clone();
    let claims_prefix = prefix.clone();
    let fallback = Router::new()
        .fallback(compat::handle)
        .with_state(CompatState {
            store: store.clone(),
            catalog: catalog.clone(),
            prefix,
            cors: settings.cors,
            body_limit: ctx.body_limit,
        });
    let router = OpenApiRouter::new()
        .routes(routes!(native::list))
        .routes(routes!(native::create, native::delete))
        .routes(routes!(native::events))
        .routes(routes!(native::insert_many))
        .require_access(Module::Resources, ctx.scope_checks())
        .with_state(NativeState {
            store,
            catalog,
            prefix: settings.prefix.clone(),
        });
    let mut mounted = Mounted::new(router);
    mounted.notices = notices;
    mounted.fallback = Some(fallback);
    mounted.fallback_claims = Some(Arc::new(move |uri: &axum::http::Uri| {
        claims_catalog.claims(&claims_prefix, uri.path())
    }));
    Ok(mounted)
}

async fn refresh(store: &dyn ResourceStore, catalog: &Catalog) -> Result<(), store::StoreError> {
    let names = store.collections().await?.into_iter().map(|c| c.name);
    catalog.replace(names);
    Ok(())
}

/// Re-reads the collection names until the module is gone.
async fn keep_refreshed(store: Arc<dyn ResourceStore>, catalog: Weak<Catalog>) {
    let mut ticker = tokio::time::interval(CATALOG_REFRESH);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(catalog) = catalog.upgrade() else {
            return;
        };
        if let Err(error) = refresh(store.as_ref(), &catalog).await {
            tracing::warn!(%error, "resources: cannot re-read the collections");
        }
    }
}
