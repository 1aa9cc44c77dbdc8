//! Webhooks from GitHub, GitLab, PagerDuty, Opsgenie, Jenkins, Argo CD and
//! CloudEvents/CDEvents senders, turned into events.
//!
//! - GitHub (`POST /v1/webhooks/github`): `X-Hub-Signature-256`, an
//!   HMAC-SHA256 of the raw body with `events.github_secret`, is verified in
//!   constant time before anything is read. `X-GitHub-Delivery` is the
//!   idempotency key: a replayed delivery stores nothing new.
//!   `deployment_status` (success, failure, error) becomes `deploy`, and so
//!   does a completed `workflow_run` of a deploy workflow (its name or path
//!   holds `events.github_deploy_workflow`); `push`
//!   becomes one `commit` per commit; `issues` carrying the incident label
//!   (`events.incident_label`, default `incident`) become `incident_opened`
//!   (opened, edited, labeled, reopened) and `incident_resolved` (closed).
//! - GitLab (`POST /v1/webhooks/gitlab`): `X-Gitlab-Token` must equal
//!   `events.gitlab_token` (compared in constant time). `Idempotency-Key`
//!   (or `X-Gitlab-Event-UUID`) is the idempotency key. `Deployment Hook`
//!   (success, failed) becomes `deploy`; `Pipeline Hook` (once finished)
//!   becomes a `stage` at the pipeline's start plus a `commit`; `Push Hook`
//!   becomes `commit`s; a `System Hook` push is read as a `Push Hook`.
//!   A delivery is JSON (content type `json`) or, GitHub's default,
//!   `payload=<URL-encoded JSON>` (content type `form`).
//! - PagerDuty (`POST /v1/webhooks/pagerduty`), v3 webhooks:
//!   `X-PagerDuty-Signature` (`v1=<hex>`, several while a secret rotates) is
//!   verified against `events.pagerduty_secret`; `X-Webhook-Id` is the
//!   idempotency key. `incident.triggered`/`reopened` become
//!   `incident_opened`, `incident.resolved` becomes `incident_resolved`.
//! - Opsgenie (`POST /v1/webhooks/opsgenie`), the Webhook integration: it
//!   signs nothing, so it must send `X-Opsgenie-Token` (a custom header on
//!   the integration) equal to `events.opsgenie_token`. `Create` becomes
//!   `incident_opened`, `Close` `incident_resolved`.
//! - Jenkins (`POST /v1/webhooks/jenkins`), the Notification plugin's JSON:
//!   `events.jenkins_token` as a bearer token, `X-Echobase-Token`, or the
//!   password of HTTP Basic auth (the plugin sends only Basic auth, from the
//!   endpoint URL's user info). A `COMPLETED` build of a deploy job
//!   (`events.jenkins_deploy_job`) becomes `deploy` ([`jenkins`]). The
//!   plugin sends no delivery id: the build's URL and phase are the key.
//! - Argo CD (`POST /v1/webhooks/argocd`), the notifications webhook with
//!   the template `docs/events.md` gives: `events.argocd_token` as for
//!   Jenkins; a finished sync becomes `deploy` ([`argocd`]). The application,
//!   revision, finishing time and phase are the key.
//! - CloudEvents (`POST /v1/webhooks/cloudevents`), structured JSON mode (one
//!   event or a batch), binary mode (`ce-*` headers, the CDEvent as the
//!   body), or bare CDEvents; the CDEvent as `data` (an object or a string of
//!   JSON) or `data_base64`: `dev.cdevents.service.deployed` and
//!   `service.upgraded` become `deploy`, `incident.detected`/`resolved` become
//!   `incident_opened`/`incident_resolved`, `change.merged` becomes
//!   `change_merged`. CDEvents carry no commit sha of their own: it is read
//!   from `customData.sha` (or `subject.content.sha`). The CloudEvents
//!   `source` and `id` (`ce-source`, `ce-id`) are the idempotency key, so one
//!   event sent in two modes is stored once.
//!
//! Event ids are derived from what the payload is about (a deployment
//! status, a commit, an incident and its opening time), so the same fact
//! sent twice, by two deliveries or two hooks, is stored once; incident
//! events carry `attributes.incident_id`, so edits never count an incident twice.

pub mod argocd;
pub mod jenkins;
pub mod payloads;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

pub use argocd::{argocd_delivery, argocd_events};
pub use jenkins::{JenkinsRules, jenkins_delivery, jenkins_events};
pub use payloads::{
    GithubRules, Mapped, cloudevent_events, github_events, gitlab_events, opsgenie_events,
    pagerduty_events,
};

use super::EventsState;
use super::model::{self, Event};
use super::settings::EventsSettings;
use super::store::InsertOutcome;
use crate::http::extract::Body;
use crate::http::{ApiError, FieldError};
use crate::setting::Secret;

/// The webhook settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub github_secret: Option<Secret>,
    pub gitlab_token: Option<Secret>,
    pub pagerduty_secret: Option<Secret>,
    pub opsgenie_token: Option<Secret>,
    pub jenkins_token: Option<Secret>,
    pub argocd_token: Option<Secret>,
    pub incident_label: String,
    pub github_deploy_workflow: String,
    pub jenkins_deploy_job: String,
}

impl From<&EventsSettings> for WebhookConfig {
    fn from(settings: &EventsSettings) -> Self {
        WebhookConfig {
            github_secret: settings.github_secret.clone(),
            gitlab_token: settings.gitlab_token.clone(),
            pagerduty_secret: settings.pagerduty_secret.clone(),
            opsgenie_token: settings.opsgenie_token.clone(),
            jenkins_token: settings.jenkins_token.clone(),
            argocd_token: settings.argocd_token.clone(),
            incident_label: settings.incident_label.clone(),
            github_deploy_workflow: settings.github_deploy_workflow.clone(),
            jenkins_deploy_job: settings.jenkins_deploy_job.clone(),
        }
    }
}

/// What a webhook delivery did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryOutcome {
    /// The idempotency key, when the sender gave one.
    pub delivery: Option<String>,
    /// The delivery was processed before: nothing was stored now.
    pub replayed: bool,
    pub stored: u64,
    pub duplicates: u64,
    /// Why nothing was taken from the payload, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// 401; the payload is not even parsed. Counted per source in
/// `echobase_webhook_signature_failures_total` and logged (as the API's
/// refusals are, under `echobase::audit`): a burst is someone guessing, or
/// a secret rotated on one side only.
fn unauthorized(source: &'static str, detail: &str) -> Response {
    metrics::counter!("echobase_webhook_signature_failures_total", "source" => source).increment(1);
    tracing::warn!(target: "echobase::audit", source, "webhook refused: {detail}");
    ApiError::Unauthorized {
        detail: detail.to_owned(),
        challenge: None,
    }
    .into_response()
}

/// A source's secret, or the 503 that says which setting turns it on.
fn configured<'s>(
    secret: &'s Option<Secret>,
    source: &str,
    setting: &str,
) -> Result<&'s Secret, ApiError> {
    secret.as_ref().ok_or_else(|| {
        ApiError::Unavailable(format!("{source} webhooks are off: set events.{setting}"))
    })
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under
/// `secret`. The comparison takes the same time wherever the first wrong byte is.
pub fn github_signature_valid(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Some(expected) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Whether `header` (`v1=<hex>`, several comma-separated while a secret is
/// being rotated) holds the HMAC-SHA256 of `body` under `secret`: any one
/// matching will do, each compared in constant time.
pub fn pagerduty_signature_valid(secret: &[u8], body: &[u8], header: &str) -> bool {
    header
        .split(',')
        .filter_map(|signature| signature.trim().strip_prefix("v1="))
        .any(|hex| github_signature_valid(secret, body, &format!("sha256={hex}")))
}

/// Compares two tokens in constant time (over their SHA-256, so that the
/// length of the expected token does not show either).
pub fn token_matches(expected: &str, given: &str) -> bool {
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(given.as_bytes());
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

/// The custom header a sender that can set headers but not sign (Argo CD)
/// may carry its token in.
const TOKEN_HEADER: &str = "x-echobase-token";

/// The tokens a request presents: `Authorization: Bearer <token>`, the
/// password of `Authorization: Basic` (what a client sends for a URL with
/// user info, as Jenkins' Notification plugin does), and `X-Echobase-Token`.
fn presented_tokens(headers: &HeaderMap) -> Vec<String> {
    use base64::Engine as _;
    let mut tokens = Vec::new();
    if let Some((scheme, credentials)) =
        header(headers, "authorization").and_then(|value| value.split_once(' '))
    {
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            tokens.push(credentials.to_owned());
        } else if scheme.eq_ignore_ascii_case("basic") {
            let password = base64::engine::general_purpose::STANDARD
                .decode(credentials)
                .ok()
                .and_then(|decoded| String::from_utf8(decoded).ok())
                .and_then(|pair| {
                    pair.split_once(':')
                        .map(|(_, password)| password.to_owned())
                });
            tokens.extend(password);
        }
    }
    tokens.extend(header(headers, TOKEN_HEADER).map(str::to_owned));
    // `user:` presents no password, not an empty one.
    tokens.retain(|token| !token.is_empty());
    tokens
}

/// Whether any token the request presents is `expected`; each is compared
/// in constant time, and all of them are compared whatever matches.
fn presents_token(headers: &HeaderMap, expected: &Secret) -> bool {
    presented_tokens(headers)
        .iter()
        .fold(false, |found, given| {
            token_matches(expected.expose(), given) | found
        })
}

/// A delivery id derived from a payload (for senders that send none): kept
/// as it reads while it is short and clean, else its hash, so that no body
/// can put an over-long key or a NUL character (which PostgreSQL refuses)
/// into the deliveries table.
fn derived_delivery(key: String) -> String {
    if key.len() <= model::MAX_TEXT_LEN && !key.contains('\0') {
        return key;
    }
    format!("sha256:{}", model::sha256_hex(&key, 32))
}

fn now_ms() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    hex.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Stores a delivery's events once: with a delivery id, a replay stores
/// nothing; without one, the events' own ids keep them from doubling.
async fn record_delivery(
    state: &EventsState,
    source: &str,
    delivery: Option<String>,
    mapped: Mapped,
) -> Result<DeliveryOutcome, ApiError> {
    let (events, ignored) = match mapped {
        Mapped::Events(events) => (events, None),
        Mapped::Ignored(reason) => (Vec::new(), Some(reason)),
    };
    let outcome = match &delivery {
        Some(id) => state.store.insert_delivery(source, id, &events).await?,
        None => Some(state.store.insert(&events).await?),
    };
    let (replayed, outcome) = match outcome {
        Some(outcome) => (false, outcome),
        None => (true, InsertOutcome::default()),
    };
    Ok(DeliveryOutcome {
        delivery,
        replayed,
        stored: outcome.inserted,
        duplicates: outcome.duplicates,
        ignored,
    })
}

/// Refuses a delivery with a text no backend may be given (see
/// [`model::refuse_nul`]), before anything of it is stored.
fn refuse_nul_in(mapped: &Mapped) -> Result<(), ApiError> {
    let Mapped::Events(events) = mapped else {
        return Ok(());
    };
    match events.iter().find_map(Event::nul_field) {
        Some(field) => Err(ApiError::Validation(vec![FieldError::new(
            field,
            model::NUL_REFUSED,
        )])),
        None => Ok(()),
    }
}

/// One delivery's answer: 202 when nothing in it was an event.
async fn store_delivery(
    state: &EventsState,
    source: &str,
    delivery: Option<String>,
    mapped: Mapped,
) -> Result<Response, ApiError> {
    refuse_nul_in(&mapped)?;
    let outcome = record_delivery(state, source, delivery, mapped).await?;
    let status = if outcome.ignored.is_some() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(outcome)).into_response())
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

/// The JSON of a GitHub delivery: the body itself (content type `json`), or
/// its `payload` field (content type `form`, GitHub's default:
/// `payload=<URL-encoded JSON>`). The signature covers the raw body either way.
fn github_payload(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, ApiError> {
    let content_type = header(headers, "content-type").unwrap_or_default();
    let is_form = content_type.split(';').next().is_some_and(|media| {
        media
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !is_form {
        return parse_json(bytes);
    }
    let payload = form_urlencoded::parse(bytes)
        .find(|(name, _)| name == "payload")
        .map(|(_, value)| value)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "a form-encoded delivery needs a `payload` field holding the JSON".into(),
            )
        })?;
    parse_json(payload.as_bytes())
}

/// A CloudEvent in binary mode (`ce-specversion` among the headers, the data
/// as the body), as the structured event it stands for: its identity comes
/// from `ce-id` and `ce-source`, as in structured mode from `id` and `source`.
fn binary_cloudevent(headers: &HeaderMap, bytes: &[u8]) -> Result<Option<Value>, ApiError> {
    let Some(specversion) = header(headers, "ce-specversion") else {
        return Ok(None);
    };
    let required = |name: &str| {
        header(headers, name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| ApiError::BadRequest(format!("a binary-mode CloudEvent needs `{name}`")))
    };
    let mut event = json!({
        "specversion": specversion,
        "id": required("ce-id")?,
        "source": required("ce-source")?,
        "type": required("ce-type")?,
    });
    if let Some(time) = header(headers, "ce-time") {
        event["time"] = Value::String(time.to_owned());
    }
    if !bytes.is_empty() {
        let content_type = header(headers, "content-type").unwrap_or("application/json");
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let json = media.eq_ignore_ascii_case("application/json")
            || media.to_ascii_lowercase().ends_with("+json");
        if !json {
            return Err(ApiError::BadRequest(format!(
                "a binary-mode CloudEvent's data must be JSON (a CDEvent), not `{content_type}`"
            )));
        }
        event["data"] = parse_json(bytes)?;
    }
    Ok(Some(event))
}

/// A GitHub webhook delivery.
#[utoipa::path(post, path = "/v1/webhooks/github", tag = "events", operation_id = "events_webhook_github",
    request_body(content((Object = "application/json"), (GithubForm = "application/x-www-form-urlencoded")),
        description = "A GitHub webhook payload (`deployment_status`, `workflow_run`, `push`, `issues`): the JSON itself (content type `json`), or `payload=<the JSON>` (content type `form`, GitHub's default)"),
    params(
        ("X-GitHub-Event" = String, Header, description = "The event name"),
        ("X-GitHub-Delivery" = String, Header, description = "The delivery id: the idempotency key"),
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` HMAC-SHA256 of the body with the secret"),
    ),
    responses(
        (status = 200, description = "Stored (or replayed: nothing new)", body = DeliveryOutcome),
        (status = 202, description = "Verified, but nothing in it is an event (e.g. an issue without the incident label)", body = DeliveryOutcome),
        (status = 400, description = "Malformed payload", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A text the payload maps to holds a NUL character; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`events.github_secret` is not set", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn github(
    State(state): State<EventsState>,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let secret = configured(&state.webhooks.github_secret, "GitHub", "github_secret")?;
    let Body(bytes) = body?;
    let signature = header(&headers, "x-hub-signature-256").unwrap_or_default();
    if !github_signature_valid(secret.expose().as_bytes(), &bytes, signature) {
        return Ok(unauthorized(
            "github",
            "X-Hub-Signature-256 is missing or is not the HMAC-SHA256 of this body",
        ));
    }
    let event_type = header(&headers, "x-github-event").unwrap_or_default();
    if event_type == "ping" {
        return Ok((StatusCode::OK, axum::Json(json!({"pong": true}))).into_response());
    }
    let delivery = header(&headers, "x-github-delivery").map(str::to_owned);
    let payload = github_payload(&headers, &bytes)?;
    let rules = GithubRules {
        incident_label: &state.webhooks.incident_label,
        deploy_workflow: &state.webhooks.github_deploy_workflow,
    };
    let mapped = github_events(event_type, &payload, rules).map_err(ApiError::BadRequest)?;
    store_delivery(&state, "github", delivery, mapped).await
}

/// A GitLab webhook.
#[utoipa::path(post, path = "/v1/webhooks/gitlab", tag = "events", operation_id = "events_webhook_gitlab",
    request_body(content = Object, description = "A GitLab webhook payload (`Deployment Hook`, `Pipeline Hook`, `Push Hook`)"),
    params(
        ("X-Gitlab-Event" = String, Header, description = "The hook name"),
        ("X-Gitlab-Token" = String, Header, description = "The secret token"),
        ("Idempotency-Key" = Option<String>, Header, description = "The idempotency key (else `X-Gitlab-Event-UUID`)"),
    ),
    responses(
        (status = 200, description = "Stored (or replayed: nothing new)", body = DeliveryOutcome),
        (status = 202, description = "Verified, but nothing in it is an event", body = DeliveryOutcome),
        (status = 400, description = "Malformed payload", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A text the payload maps to holds a NUL character; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong token; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`events.gitlab_token` is not set", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn gitlab(
    State(state): State<EventsState>,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let token = configured(&state.webhooks.gitlab_token, "GitLab", "gitlab_token")?;
    let given = header(&headers, "x-gitlab-token").unwrap_or_default();
    if !token_matches(token.expose(), given) {
        return Ok(unauthorized("gitlab", "X-Gitlab-Token is missing or wrong"));
    }
    let Body(bytes) = body?;
    let delivery = header(&headers, "idempotency-key")
        .or_else(|| header(&headers, "x-gitlab-event-uuid"))
        .map(str::to_owned);
    let hook = header(&headers, "x-gitlab-event").unwrap_or_default();
    let payload = parse_json(&bytes)?;
    let mapped = gitlab_events(hook, &payload).map_err(ApiError::BadRequest)?;
    store_delivery(&state, "gitlab", delivery, mapped).await
}

/// A GitHub delivery with content type `form` (documentation only):
/// `payload=<the JSON>`.
pub struct GithubForm;

impl utoipa::PartialSchema for GithubForm {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .property(
                "payload",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The delivery's JSON")),
            )
            .into()
    }
}

impl utoipa::ToSchema for GithubForm {}

/// A PagerDuty v3 webhook.
#[utoipa::path(post, path = "/v1/webhooks/pagerduty", tag = "events", operation_id = "events_webhook_pagerduty",
    request_body(content = Object, description = "A PagerDuty v3 webhook payload (`{\"event\": {\"event_type\": \"incident.triggered\", ...}}`)"),
    params(
        ("X-PagerDuty-Signature" = String, Header, description = "`v1=` HMAC-SHA256 of the body with the secret (several, comma-separated, while rotating)"),
        ("X-Webhook-Id" = Option<String>, Header, description = "The delivery id, the same on every retry: the idempotency key"),
    ),
    responses(
        (status = 200, description = "Stored (or replayed: nothing new)", body = DeliveryOutcome),
        (status = 202, description = "Verified, but not an incident opening or resolution", body = DeliveryOutcome),
        (status = 400, description = "Malformed payload", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A text the payload maps to holds a NUL character; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`events.pagerduty_secret` is not set", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn pagerduty(
    State(state): State<EventsState>,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let secret = configured(
        &state.webhooks.pagerduty_secret,
        "PagerDuty",
        "pagerduty_secret",
    )?;
    let Body(bytes) = body?;
    let signature = header(&headers, "x-pagerduty-signature").unwrap_or_default();
    if !pagerduty_signature_valid(secret.expose().as_bytes(), &bytes, signature) {
        return Ok(unauthorized(
            "pagerduty",
            "X-PagerDuty-Signature is missing or holds no v1 HMAC-SHA256 of this body",
        ));
    }
    let payload = parse_json(&bytes)?;
    // The delivery id is the same on every retry; the event's own id otherwise.
    let delivery = header(&headers, "x-webhook-id")
        .map(str::to_owned)
        .or_else(|| {
            payload
                .pointer("/event/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let mapped = pagerduty_events(&payload).map_err(ApiError::BadRequest)?;
    store_delivery(&state, "pagerduty", delivery, mapped).await
}

/// An Opsgenie Webhook integration's alert action.
#[utoipa::path(post, path = "/v1/webhooks/opsgenie", tag = "events", operation_id = "events_webhook_opsgenie",
    request_body(content = Object, description = "An Opsgenie alert action (`{\"action\": \"Create\", \"alert\": {...}}`)"),
    params(
        ("X-Opsgenie-Token" = String, Header, description = "The token set as a custom header on the integration (Opsgenie signs nothing)"),
    ),
    responses(
        (status = 200, description = "Stored (or already stored: nothing new)", body = DeliveryOutcome),
        (status = 202, description = "Verified, but not an alert created or closed", body = DeliveryOutcome),
        (status = 400, description = "Malformed payload", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A text the payload maps to holds a NUL character; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong token; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`events.opsgenie_token` is not set", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn opsgenie(
    State(state): State<EventsState>,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let token = configured(&state.webhooks.opsgenie_token, "Opsgenie", "opsgenie_token")?;
    let given = header(&headers, "x-opsgenie-token").unwrap_or_default();
    if !token_matches(token.expose(), given) {
        return Ok(unauthorized(
            "opsgenie",
            "X-Opsgenie-Token is missing or wrong",
        ));
    }
    let Body(bytes) = body?;
    let payload = parse_json(&bytes)?;
    // Opsgenie sends no delivery id: the events' own ids (alert, action,
    // time) keep a resent action from counting twice.
    let mapped = opsgenie_events(&payload).map_err(ApiError::BadRequest)?;
    store_delivery(&state, "opsgenie", None, mapped).await
}

/// A Jenkins build's notification (the Notification plugin's JSON).
#[utoipa::path(post, path = "/v1/webhooks/jenkins", tag = "events", operation_id = "events_webhook_jenkins",
    request_body(content = Object, description = "A Jenkins Notification plugin payload (`{\"name\": \"deploy-web\", \"build\": {\"number\": 42, \"phase\": \"COMPLETED\", \"status\": \"SUCCESS\", \"full_url\": ..., \"parameters\": {...}, \"scm\": {\"commit\": ...}}}`): a COMPLETED build of a deploy job is a `deploy`"),
    params(
        ("X-Echobase-Token" = Option<String>, Header, description = "The token (`events.jenkins_token`), when not sent as `Authorization: Bearer <token>` or as the password of HTTP Basic auth"),
    ),
    responses(
        (status = 200, description = "Stored (or replayed: nothing new)", body = DeliveryOutcome),
        (status = 202, description = "Authenticated, but not a deploy: another phase than COMPLETED, a job that is not a deploy job, a build that ended NOT_BUILT", body = DeliveryOutcome),
        (status = 400, description = "Malformed payload", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A text the payload maps to holds a NUL character; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong token; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`events.jenkins_token` is not set", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn jenkins(
    State(state): State<EventsState>,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let token = configured(&state.webhooks.jenkins_token, "Jenkins", "jenkins_token")?;
    if !presents_token(&headers, token) {
        return Ok(unauthorized(
            "jenkins",
            "no token, or a wrong one: send events.jenkins_token as `Authorization: Bearer <token>` or as the Basic auth password",
        ));
    }
    let Body(bytes) = body?;
    let payload = parse_json(&bytes)?;
    let delivery = jenkins_delivery(&payload).map_err(ApiError::BadRequest)?;
    let rules = JenkinsRules {
        deploy_job: &state.webhooks.jenkins_deploy_job,
    };
    let mapped = jenkins_events(&payload, rules, now_ms()).map_err(ApiError::BadRequest)?;
    store_delivery(&state, "jenkins", Some(derived_delivery(delivery)), mapped).await
}

/// An Argo CD notification (the webhook template `docs/events.md` gives).
#[utoipa::path(post, path = "/v1/webhooks/argocd", tag = "events", operation_id = "events_webhook_argocd",
    request_body(content = Object, description = "The body of echobase's Argo CD notification template (`{\"app\": ..., \"phase\": \"Succeeded\", \"revision\": ..., \"finishedAt\": ..., \"environment\": ...}`): a Succeeded, Failed or Error sync is a `deploy`"),
    params(
        ("X-Echobase-Token" = Option<String>, Header, description = "The token (`events.argocd_token`), when not sent as `Authorization: Bearer <token>` or as the password of HTTP Basic auth"),
    ),
    responses(
        (status = 200, description = "Stored (or replayed: nothing new)", body = DeliveryOutcome),
        (status = 202, description = "Authenticated, but not a finished sync (phase Running, Terminating, or one not known)", body = DeliveryOutcome),
        (status = 400, description = "Malformed payload", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A text the payload maps to holds a NUL character; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong token; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`events.argocd_token` is not set", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn argocd(
    State(state): State<EventsState>,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let token = configured(&state.webhooks.argocd_token, "Argo CD", "argocd_token")?;
    if !presents_token(&headers, token) {
        return Ok(unauthorized(
            "argocd",
            "no token, or a wrong one: send events.argocd_token as `Authorization: Bearer <token>` or `X-Echobase-Token`",
        ));
    }
    let Body(bytes) = body?;
    let payload = parse_json(&bytes)?;
    let delivery = argocd_delivery(&payload).map_err(ApiError::BadRequest)?;
    let mapped = argocd_events(&payload).map_err(ApiError::BadRequest)?;
    store_delivery(&state, "argocd", Some(derived_delivery(delivery)), mapped).await
}

/// The body `POST /v1/webhooks/cloudevents` takes (documentation only): one
/// event object, or a batch array of them (an empty batch stores nothing).
pub struct CloudEventsBody;

impl utoipa::PartialSchema for CloudEventsBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        let event = || ObjectBuilder::new().schema_type(Type::Object);
        OneOfBuilder::new()
            .item(event())
            .item(ArrayBuilder::new().items(event()))
            .into()
    }
}

impl utoipa::ToSchema for CloudEventsBody {}

/// CloudEvents in structured JSON mode (one event, or a batch array), or
/// bare CDEvents.
#[utoipa::path(post, path = "/v1/webhooks/cloudevents", tag = "events", operation_id = "events_webhook_cloudevents",
    request_body(content = CloudEventsBody, content_type = "application/cloudevents+json",
        description = "A CloudEvent whose data is a CDEvent, a batch of them, or a bare CDEvent; or, in binary mode, the CDEvent itself with the CloudEvent's attributes in `ce-*` headers"),
    params(
        ("ce-specversion" = Option<String>, Header, description = "Binary mode: the CloudEvents version (with it, `ce-id`, `ce-source` and `ce-type` are required)"),
        ("ce-id" = Option<String>, Header, description = "Binary mode: the event id (with `ce-source`, the idempotency key)"),
        ("ce-source" = Option<String>, Header, description = "Binary mode: the event source"),
        ("ce-type" = Option<String>, Header, description = "Binary mode: the event type"),
        ("ce-time" = Option<String>, Header, description = "Binary mode: the event time"),
    ),
    responses(
        (status = 200, description = "Stored (or replayed: nothing new)", body = Vec<DeliveryOutcome>),
        (status = 202, description = "Nothing sent is an event to store (each outcome says why)", body = Vec<DeliveryOutcome>),
        (status = 400, description = "Malformed event", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A text an event maps to holds a NUL character; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn cloudevents(
    State(state): State<EventsState>,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let Body(bytes) = body?;
    let items = match binary_cloudevent(&headers, &bytes)? {
        Some(event) => vec![event],
        None => match parse_json(&bytes)? {
            Value::Array(items) => items,
            other => vec![other],
        },
    };
    // Map everything first: a malformed event in a batch stores nothing.
    let mut mapped = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (key, events) = cloudevent_events(item)
            .map_err(|message| ApiError::BadRequest(format!("event {i}: {message}")))?;
        refuse_nul_in(&events)?;
        mapped.push((key, events));
    }
    let mut outcomes = Vec::with_capacity(mapped.len());
    for (key, events) in mapped {
        outcomes.push(record_delivery(&state, "cloudevents", Some(key), events).await?);
    }
    // As the other sources: 202 when nothing sent was an event to store.
    let status = if !outcomes.is_empty() && outcomes.iter().all(|o| o.ignored.is_some()) {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(outcomes)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_signature_is_checked_against_the_documented_example() {
        // From GitHub's "Validating webhook deliveries" documentation.
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(github_signature_valid(secret, body, good));
        assert!(!github_signature_valid(secret, b"Hello, World?", good));
        assert!(!github_signature_valid(b"other", body, good));
        assert!(!github_signature_valid(
            secret,
            body,
            &good.replace("sha256=", "sha1=")
        ));
        assert!(!github_signature_valid(secret, body, "sha256=zz"));
        assert!(!github_signature_valid(secret, body, ""));
    }

    #[test]
    fn a_derived_delivery_key_is_kept_unless_long_or_holding_nul() {
        assert_eq!(
            derived_delivery("job/x/#1:COMPLETED".into()),
            "job/x/#1:COMPLETED"
        );
        let nul = derived_delivery("job\0x".into());
        assert!(nul.starts_with("sha256:") && !nul.contains('\0'), "{nul}");
        let long = derived_delivery("x".repeat(model::MAX_TEXT_LEN + 1));
        assert_eq!(long.len(), "sha256:".len() + 64);
    }

    #[test]
    fn tokens_are_read_from_bearer_basic_and_the_custom_header() {
        use axum::http::HeaderValue;
        let with = |name: &'static str, value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_str(value).unwrap());
            presented_tokens(&headers)
        };
        assert_eq!(with("authorization", "Bearer t0k"), ["t0k"]);
        // base64 of "jenkins:t0k:with:colons": the password is all after the first colon.
        assert_eq!(
            with("authorization", "basic amVua2luczp0MGs6d2l0aDpjb2xvbnM="),
            ["t0k:with:colons"]
        );
        assert!(with("authorization", "Basic !!").is_empty());
        // base64 of "jenkins:", a user without a password.
        assert!(with("authorization", "Basic amVua2luczo=").is_empty());
        assert!(with("authorization", "Digest t0k").is_empty());
        assert_eq!(with("x-echobase-token", " t0k "), ["t0k"]);
    }

    #[test]
    fn tokens_match_only_exactly() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cret", "s3cre"));
        assert!(!token_matches("s3cret", ""));
    }
}
