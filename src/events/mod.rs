//! Events: deployment-pipeline events (commits, stages, deploys, incidents),
//! their queries, and the DORA metrics computed from them.
//!
//! The compatible surface keeps the original `event_descriptor` contract
//! (`/listevents...`, `/summaryevents...`, see [`compat`]); the native API
//! lives under `/v1` ([`native`], [`webhooks`]). Both sit on one
//! [`store::EventStore`].

pub mod buckets;
pub mod compat;
pub mod document;
pub mod dora;
pub mod import;
pub mod ingest;
pub mod model;
pub mod native;
pub mod settings;
pub mod store;
pub mod summary;
pub mod webhooks;

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::require_scope::RequireScope;
use crate::module::Module;
use crate::module::mount::{ModuleContext, Mounted};
use ingest::IngestLimits;
use settings::EventsSettings;
use store::EventStore;
use webhooks::WebhookConfig;

/// What every events handler shares.
#[derive(Clone)]
pub struct EventsState {
    pub store: Arc<dyn EventStore>,
    pub webhooks: Arc<WebhookConfig>,
    /// Largest `limit` of `GET /v1/events` (`events.max_per_page`).
    pub max_per_page: u32,
    pub ingest: IngestLimits,
}

pub fn mount(ctx: &ModuleContext<'_>, settings: &EventsSettings) -> Mounted {
    let state = EventsState {
        store: store::for_database(ctx.db),
        webhooks: Arc::new(WebhookConfig::from(settings)),
        max_per_page: settings.max_per_page,
        ingest: IngestLimits::from(settings),
    };
    // The NDJSON body is streamed and never held whole, so the body limit does
    // not apply to it: the handler reads the body itself, not through the
    // extractor that applies the limit.
    let ndjson = OpenApiRouter::new().routes(routes!(native::create_ndjson));
    // With API keys configured, the native API (and CloudEvents, which has no
    // signature of its own) needs `events:read`/`:write`. The original routes
    // stay open for the clients that exist; the GitHub, GitLab, PagerDuty,
    // Opsgenie, Jenkins and Argo CD webhooks carry their own secrets.
    let native = OpenApiRouter::new()
        .routes(routes!(native::create, native::list))
        .merge(ndjson)
        .routes(routes!(native::summary))
        .routes(routes!(native::fetch))
        .routes(routes!(native::engineers))
        .routes(routes!(native::dora_metrics))
        .routes(routes!(webhooks::cloudevents))
        .require_access(Module::Events, ctx.scope_checks());
    let mut router = OpenApiRouter::new()
        .routes(routes!(compat::list_events))
        .routes(routes!(compat::get_engineers))
        .routes(routes!(compat::list_engineer_events))
        .routes(routes!(compat::summary))
        .routes(routes!(compat::summary_day))
        .merge(native)
        .routes(routes!(webhooks::github))
        .routes(routes!(webhooks::gitlab))
        .routes(routes!(webhooks::pagerduty))
        .routes(routes!(webhooks::opsgenie))
        .routes(routes!(webhooks::jenkins))
        .routes(routes!(webhooks::argocd))
        .with_state(state);
    document::finish(router.get_openapi_mut(), settings.max_per_page);
    Mounted::new(router)
}
