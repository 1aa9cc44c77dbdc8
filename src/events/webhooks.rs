//! Webhooks from GitHub, GitLab and CloudEvents/CDEvents senders, turned into
//! events.
//!
//! - GitHub (`POST /v1/webhooks/github`): `X-Hub-Signature-256`, an
//!   HMAC-SHA256 of the raw body with `events.github_secret`, is verified in
//!   constant time before anything is read. `X-GitHub-Delivery` is the
//!   idempotency key: a replayed delivery stores nothing new.
//!   `deployment_status` (success, failure, error) becomes `deploy`; `push`
//!   becomes one `commit` per commit; `issues` carrying the incident label
//!   (`events.incident_label`, default `incident`) become `incident_opened`
//!   (opened, edited, labeled, reopened) and `incident_resolved` (closed).
//! - GitLab (`POST /v1/webhooks/gitlab`): `X-Gitlab-Token` must equal
//!   `events.gitlab_token` (compared in constant time). `Idempotency-Key`
//!   (or `X-Gitlab-Event-UUID`) is the idempotency key. `Deployment Hook`
//!   (success, failed) becomes `deploy`; `Pipeline Hook` (once finished)
//!   becomes a `stage` at the pipeline's start plus a `commit`; `Push Hook`
//!   becomes `commit`s.
//! - CloudEvents (`POST /v1/webhooks/cloudevents`), structured JSON mode, one
//!   event or a batch, or bare CDEvents: `dev.cdevents.service.deployed` and
//!   `service.upgraded` become `deploy`, `incident.detected`/`resolved` become
//!   `incident_opened`/`incident_resolved`, `change.merged` becomes
//!   `change_merged`. CDEvents carry no commit sha of their own: it is read
//!   from `customData.sha` (or `subject.content.sha`). The CloudEvents
//!   `source` and `id` are the idempotency key.
//!
//! Event ids are derived from what the payload is about (a deployment
//! status, a commit, an incident and its opening time), so the same fact
//! sent twice, by two deliveries or two hooks, is stored once; incident
//! events carry `attributes.incident_id`, so edits never count an incident twice.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::EventsState;
use super::model::{self, Event, kind};
use super::store::InsertOutcome;
use crate::http::ApiError;
use crate::http::extract::Body;
use crate::setting::Secret;

/// The webhook settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub github_secret: Option<Secret>,
    pub gitlab_token: Option<Secret>,
    pub incident_label: String,
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

/// What a payload means.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    Events(Vec<Event>),
    Ignored(String),
}

/// 401; the payload is not even parsed.
fn unauthorized(detail: &str) -> Response {
    ApiError::Unauthorized {
        detail: detail.to_owned(),
        challenge: None,
    }
    .into_response()
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

/// Compares two tokens in constant time (over their SHA-256, so that the
/// length of the expected token does not show either).
pub fn token_matches(expected: &str, given: &str) -> bool {
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(given.as_bytes());
    bool::from(a.as_slice().ct_eq(b.as_slice()))
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

fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn store_delivery(
    state: &EventsState,
    source: &str,
    delivery: Option<String>,
    mapped: Mapped,
) -> Result<Response, ApiError> {
    let (events, ignored) = match mapped {
        Mapped::Events(events) => (events, None),
        Mapped::Ignored(reason) => (Vec::new(), Some(reason)),
    };
    let outcome = match &delivery {
        Some(id) => state.store.insert_delivery(source, id, &events).await?,
        None => Some(state.store.insert(&events).await?),
    };
    let (
        replayed,
        InsertOutcome {
            inserted,
            duplicates,
        },
    ) = match outcome {
        Some(outcome) => (false, outcome),
        None => (true, InsertOutcome::default()),
    };
    let status = if ignored.is_some() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let body = DeliveryOutcome {
        delivery,
        replayed,
        stored: inserted,
        duplicates,
        ignored,
    };
    Ok((status, axum::Json(body)).into_response())
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

/// A GitHub webhook delivery.
#[utoipa::path(post, path = "/v1/webhooks/github", tag = "events",
    request_body(content = Object, description = "A GitHub webhook payload (`deployment_status`, `push`, `issues`)"),
    params(
        ("X-GitHub-Event" = String, Header, description = "The event name"),
        ("X-GitHub-Delivery" = String, Header, description = "The delivery id: the idempotency key"),
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` HMAC-SHA256 of the body with the secret"),
    ),
    responses(
        (status = 200, description = "Stored (or replayed: nothing new)", body = DeliveryOutcome),
        (status = 202, description = "Verified, but nothing in it is an event (e.g. an issue without the incident label)", body = DeliveryOutcome),
        (status = 400, description = "Malformed payload", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`events.github_secret` is not set", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn github(
    State(state): State<EventsState>,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let Some(secret) = &state.webhooks.github_secret else {
        return Err(ApiError::Unavailable(
            "GitHub webhooks are off: set events.github_secret".into(),
        ));
    };
    let Body(bytes) = body?;
    let signature = header(&headers, "x-hub-signature-256").unwrap_or_default();
    if !github_signature_valid(secret.expose().as_bytes(), &bytes, signature) {
        return Ok(unauthorized(
            "X-Hub-Signature-256 is missing or is not the HMAC-SHA256 of this body",
        ));
    }
    let event_type = header(&headers, "x-github-event").unwrap_or_default();
    if event_type == "ping" {
        return Ok((StatusCode::OK, axum::Json(json!({"pong": true}))).into_response());
    }
    let delivery = header(&headers, "x-github-delivery").map(str::to_owned);
    let payload = parse_json(&bytes)?;
    let mapped = github_events(event_type, &payload, &state.webhooks.incident_label)
        .map_err(ApiError::BadRequest)?;
    store_delivery(&state, "github", delivery, mapped).await
}

/// A GitLab webhook.
#[utoipa::path(post, path = "/v1/webhooks/gitlab", tag = "events",
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
        (status = 401, description = "Missing or wrong token; nothing stored", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`events.gitlab_token` is not set", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn gitlab(
    State(state): State<EventsState>,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let Some(token) = &state.webhooks.gitlab_token else {
        return Err(ApiError::Unavailable(
            "GitLab webhooks are off: set events.gitlab_token".into(),
        ));
    };
    let given = header(&headers, "x-gitlab-token").unwrap_or_default();
    if !token_matches(token.expose(), given) {
        return Ok(unauthorized("X-Gitlab-Token is missing or wrong"));
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

/// CloudEvents in structured JSON mode (one event, or a batch array), or
/// bare CDEvents.
#[utoipa::path(post, path = "/v1/webhooks/cloudevents", tag = "events",
    request_body(content = Object, content_type = "application/cloudevents+json",
        description = "A CloudEvent whose data is a CDEvent, a batch of them, or a bare CDEvent"),
    responses(
        (status = 200, description = "Stored (or replayed: nothing new)", body = Vec<DeliveryOutcome>),
        (status = 400, description = "Malformed event", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn cloudevents(
    State(state): State<EventsState>,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let Body(bytes) = body?;
    let payload = parse_json(&bytes)?;
    let items = match payload {
        Value::Array(items) => items,
        other => vec![other],
    };
    // Map everything first: a malformed event in a batch stores nothing.
    let mut mapped = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (key, events) = cloudevent_events(item)
            .map_err(|message| ApiError::BadRequest(format!("event {i}: {message}")))?;
        mapped.push((key, events));
    }
    let mut outcomes = Vec::with_capacity(mapped.len());
    for (key, events) in mapped {
        let (events, ignored) = match events {
            Mapped::Events(events) => (events, None),
            Mapped::Ignored(reason) => (Vec::new(), Some(reason)),
        };
        let outcome = state
            .store
            .insert_delivery("cloudevents", &key, &events)
            .await?;
        let (replayed, outcome) = match outcome {
            Some(outcome) => (false, outcome),
            None => (true, InsertOutcome::default()),
        };
        outcomes.push(DeliveryOutcome {
            delivery: Some(key),
            replayed,
            stored: outcome.inserted,
            duplicates: outcome.duplicates,
            ignored,
        });
    }
    Ok((StatusCode::OK, axum::Json(outcomes)).into_response())
}

// --- payload mapping (pure) ------------------------------------------------

fn text<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn required<'v>(value: &'v Value, pointer: &str) -> Result<&'v str, String> {
    text(value, pointer).ok_or_else(|| format!("the payload has no `{pointer}`"))
}

fn time_at(value: &Value, pointer: &str) -> Result<i64, String> {
    let raw = required(value, pointer)?;
    model::parse_timestamp(raw).map_err(|e| format!("`{pointer}`: {e}"))
}

fn owned(value: Option<&str>) -> Option<String> {
    value.map(|v| v.chars().take(model::MAX_TEXT_LEN).collect())
}

fn number_or_text(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn attributes(pairs: &[(&str, Option<String>)]) -> Map<String, Value> {
    pairs
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| ((*k).to_owned(), Value::String(v.clone())))
        })
        .collect()
}

/// The events in a GitHub payload.
pub fn github_events(
    event_type: &str,
    payload: &Value,
    incident_label: &str,
) -> Result<Mapped, String> {
    let repo = owned(text(payload, "/repository/full_name"));
    match event_type {
        "deployment_status" => {
            let state = required(payload, "/deployment_status/state")?;
            let result = match state {
                "success" => "success",
                "failure" => "failure",
                "error" => "error",
                other => {
                    return Ok(Mapped::Ignored(format!(
                        "deployment state `{other}` is not final"
                    )));
                }
            };
            let status_id = number_or_text(payload, "/deployment_status/id");
            let deployment_id = number_or_text(payload, "/deployment/id");
            let time_ms = time_at(payload, "/deployment_status/created_at")
                .or_else(|_| time_at(payload, "/deployment_status/updated_at"))?;
            let environment = text(payload, "/deployment_status/environment")
                .or_else(|| text(payload, "/deployment/environment"));
            let id_part = status_id.clone().unwrap_or_else(|| format!("{time_ms}"));
            Ok(Mapped::Events(vec![Event {
                id: format!(
                    "github:deployment_status:{}:{id_part}",
                    repo.as_deref().unwrap_or("-")
                ),
                time_ms,
                kind: kind::DEPLOY.into(),
                actor: owned(
                    text(payload, "/deployment/creator/login")
                        .or_else(|| text(payload, "/sender/login")),
                ),
                service: repo.clone(),
                environment: owned(environment),
                sha: owned(Some(required(payload, "/deployment/sha")?)),
                result: Some(result.into()),
                attributes: attributes(&[
                    ("source", Some("github".into())),
                    ("deployment_id", deployment_id),
                    ("ref", owned(text(payload, "/deployment/ref"))),
                ]),
            }]))
        }
        "push" => {
            let commits = payload
                .get("commits")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if commits.is_empty() {
                return Ok(Mapped::Ignored("a push without commits".into()));
            }
            let git_ref = owned(text(payload, "/ref"));
            commits
                .iter()
                .map(|commit| {
                    let sha = required(commit, "/id")?;
                    Ok(Event {
                        id: format!("github:commit:{}:{sha}", repo.as_deref().unwrap_or("-")),
                        time_ms: time_at(commit, "/timestamp")?,
                        kind: kind::COMMIT.into(),
                        actor: owned(
                            text(commit, "/author/username")
                                .or_else(|| text(commit, "/author/name")),
                        ),
                        service: repo.clone(),
                        environment: None,
                        sha: owned(Some(sha)),
                        result: None,
                        attributes: attributes(&[
                            ("source", Some("github".into())),
                            ("ref", git_ref.clone()),
                        ]),
                    })
                })
                .collect::<Result<Vec<_>, String>>()
                .map(Mapped::Events)
        }
        "issues" => {
            let labelled = payload
                .pointer("/issue/labels")
                .and_then(Value::as_array)
                .is_some_and(|labels| {
                    labels.iter().any(|l| {
                        l.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| n.eq_ignore_ascii_case(incident_label))
                    })
                });
            if !labelled {
                return Ok(Mapped::Ignored(format!(
                    "the issue has no `{incident_label}` label"
                )));
            }
            let action = required(payload, "/action")?;
            let (kind, time_ms) = match action {
                // Edits and relabels carry the original opening time: the same event again.
                "opened" | "edited" | "labeled" => (
                    kind::INCIDENT_OPENED,
                    time_at(payload, "/issue/created_at")?,
                ),
                "reopened" => (
                    kind::INCIDENT_OPENED,
                    time_at(payload, "/issue/updated_at")?,
                ),
                "closed" => (
                    kind::INCIDENT_RESOLVED,
                    time_at(payload, "/issue/closed_at")
                        .or_else(|_| time_at(payload, "/issue/updated_at"))?,
                ),
                other => return Ok(Mapped::Ignored(format!("issue action `{other}`"))),
            };
            let number = number_or_text(payload, "/issue/number")
                .ok_or("the payload has no `/issue/number`")?;
            let incident_id = format!("github:{}#{number}", repo.as_deref().unwrap_or("-"));
            let actor = if kind == kind::INCIDENT_OPENED {
                text(payload, "/issue/user/login")
            } else {
                text(payload, "/sender/login")
            };
            Ok(Mapped::Events(vec![Event {
                id: format!("{incident_id}:{kind}:{time_ms}"),
                time_ms,
                kind: kind.into(),
                actor: owned(actor),
                service: repo.clone(),
                environment: None,
                sha: None,
                result: None,
                attributes: attributes(&[
                    ("source", Some("github".into())),
                    ("incident_id", Some(incident_id)),
                    ("title", owned(text(payload, "/issue/title"))),
                    ("url", owned(text(payload, "/issue/html_url"))),
                ]),
            }]))
        }
        "" => Err("the X-GitHub-Event header is missing".into()),
        other => Ok(Mapped::Ignored(format!(
            "GitHub event `{other}` is not used"
        ))),
    }
}

/// The full sha at the end of a GitLab `commit_url`, if it is one.
fn sha_from_commit_url(url: &str) -> Option<&str> {
    let last = url.rsplit('/').next()?;
    (last.len() == 40 && last.bytes().all(|b| b.is_ascii_hexdigit())).then_some(last)
}

/// The events in a GitLab payload.
pub fn gitlab_events(hook: &str, payload: &Value) -> Result<Mapped, String> {
    let project = owned(text(payload, "/project/path_with_namespace"));
    let project_key = project.clone().unwrap_or_else(|| "-".into());
    match hook {
        "Deployment Hook" => {
            let status = required(payload, "/status")?;
            let result = match status {
                "success" => "success",
                "failed" => "failure",
                other => {
                    return Ok(Mapped::Ignored(format!(
                        "deployment status `{other}` is not final"
                    )));
                }
            };
            let sha = text(payload, "/commit_url")
                .and_then(sha_from_commit_url)
                .or_else(|| text(payload, "/short_sha"))
                .ok_or("the payload has no `/commit_url` or `/short_sha`")?;
            let deployment = number_or_text(payload, "/deployment_id")
                .ok_or("the payload has no `/deployment_id`")?;
            // The tier (production, staging, ...) is what DORA filters on; the name is kept.
            let environment =
                text(payload, "/environment_tier").or_else(|| text(payload, "/environment"));
            Ok(Mapped::Events(vec![Event {
                id: format!("gitlab:deployment:{project_key}:{deployment}:{result}"),
                time_ms: time_at(payload, "/status_changed_at")?,
                kind: kind::DEPLOY.into(),
                actor: owned(text(payload, "/user/username")),
                service: project.clone(),
                environment: owned(environment),
                sha: owned(Some(sha)),
                result: Some(result.into()),
                attributes: attributes(&[
                    ("source", Some("gitlab".into())),
                    ("deployment_id", Some(deployment)),
                    ("environment_name", owned(text(payload, "/environment"))),
                ]),
            }]))
        }
        "Pipeline Hook" => {
            let status = required(payload, "/object_attributes/status")?;
            if !["success", "failed", "canceled", "skipped"].contains(&status) {
                return Ok(Mapped::Ignored(format!(
                    "pipeline status `{status}` is not final"
                )));
            }
            let sha = required(payload, "/object_attributes/sha")?;
            let pipeline = number_or_text(payload, "/object_attributes/id")
                .ok_or("the payload has no `/object_attributes/id`")?;
            let mut events = vec![Event {
                id: format!("gitlab:pipeline:{project_key}:{pipeline}"),
                // The pipeline's start: when the change entered the delivery pipeline.
                time_ms: time_at(payload, "/object_attributes/created_at")?,
                kind: kind::STAGE.into(),
                actor: owned(text(payload, "/user/username")),
                service: project.clone(),
                environment: None,
                sha: owned(Some(sha)),
                result: Some(if status == "failed" {
                    "failure".into()
                } else {
                    status.into()
                }),
                attributes: attributes(&[
                    ("source", Some("gitlab".into())),
                    ("pipeline_id", Some(pipeline)),
                    ("ref", owned(text(payload, "/object_attributes/ref"))),
                ]),
            }];
            if let Ok(committed) = time_at(payload, "/commit/timestamp") {
                events.push(gitlab_commit(
                    &project,
                    text(payload, "/commit/author/name"),
                    sha,
                    committed,
                ));
            }
            Ok(Mapped::Events(events))
        }
        "Push Hook" => {
            let commits = payload
                .get("commits")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if commits.is_empty() {
                return Ok(Mapped::Ignored("a push without commits".into()));
            }
            commits
                .iter()
                .map(|commit| {
                    Ok(gitlab_commit(
                        &project,
                        text(commit, "/author/name"),
                        required(commit, "/id")?,
                        time_at(commit, "/timestamp")?,
                    ))
                })
                .collect::<Result<Vec<_>, String>>()
                .map(Mapped::Events)
        }
        "" => Err("the X-Gitlab-Event header is missing".into()),
        other => Ok(Mapped::Ignored(format!(
            "GitLab hook `{other}` is not used"
        ))),
    }
}

fn gitlab_commit(project: &Option<String>, author: Option<&str>, sha: &str, time_ms: i64) -> Event {
    Event {
        id: format!("gitlab:commit:{}:{sha}", project.as_deref().unwrap_or("-")),
        time_ms,
        kind: kind::COMMIT.into(),
        actor: owned(author),
        service: project.clone(),
        environment: None,
        sha: owned(Some(sha)),
        result: None,
        attributes: attributes(&[("source", Some("gitlab".into()))]),
    }
}

/// The idempotency key and the events of one CloudEvent (or bare CDEvent).
pub fn cloudevent_events(event: &Value) -> Result<(String, Mapped), String> {
    if !event.is_object() {
        return Err("not a JSON object".into());
    }
    // A CloudEvent carries the CDEvent in `data`; a bare CDEvent is its own data.
    let cdevent = if event.get("specversion").is_some() {
        event.get("data").unwrap_or(&Value::Null)
    } else {
        event
    };
    let source = text(event, "/source")
        .or_else(|| text(cdevent, "/context/source"))
        .ok_or("no `source`")?;
    let id = text(event, "/id")
        .or_else(|| text(cdevent, "/context/id"))
        .ok_or("no `id`")?;
    let key = short_hash(&format!("{source}\n{id}"));
    let event_type = text(event, "/type")
        .or_else(|| text(cdevent, "/context/type"))
        .ok_or("no `type`")?;
    let time_ms = time_at(cdevent, "/context/timestamp").or_else(|_| time_at(event, "/time"))?;
    let custom = |name: &str| owned(text(cdevent, &format!("/customData/{name}")));
    let sha = custom("sha")
        .or_else(|| custom("commit"))
        .or_else(|| owned(text(cdevent, "/subject/content/sha")));
    let subject_id = owned(text(cdevent, "/subject/id"));
    let environment = owned(text(cdevent, "/subject/content/environment/id"));
    let of = |prefix: &str| event_type.starts_with(prefix);
    let (kind, service, incident) =
        if of("dev.cdevents.service.deployed.") || of("dev.cdevents.service.upgraded.") {
            (kind::DEPLOY, subject_id.clone(), None)
        } else if of("dev.cdevents.incident.detected.") {
            (
                kind::INCIDENT_OPENED,
                owned(text(cdevent, "/subject/content/service/id")),
                subject_id.clone(),
            )
        } else if of("dev.cdevents.incident.resolved.") {
            (
                kind::INCIDENT_RESOLVED,
                owned(text(cdevent, "/subject/content/service/id")),
                subject_id.clone(),
            )
        } else if of("dev.cdevents.change.merged.") {
            (
                kind::CHANGE_MERGED,
                owned(text(cdevent, "/subject/content/repository/id")),
                None,
            )
        } else {
            return Ok((
                key,
                Mapped::Ignored(format!("event type `{event_type}` is not used")),
            ));
        };
    if kind != kind::DEPLOY && kind != kind::CHANGE_MERGED && incident.is_none() {
        return Err("an incident event needs `subject.id`".into());
    }
    Ok((
        key.clone(),
        Mapped::Events(vec![Event {
            id: format!("ce:{key}"),
            time_ms,
            kind: kind.into(),
            actor: custom("actor"),
            service,
            environment,
            sha,
            result: (kind == kind::DEPLOY).then(|| "success".into()),
            attributes: attributes(&[
                ("source", Some("cloudevents".into())),
                ("type", owned(Some(event_type))),
                ("incident_id", incident.map(|i| format!("cdevents:{i}"))),
                ("subject", subject_id),
                (
                    "artifact",
                    owned(text(cdevent, "/subject/content/artifactId")),
                ),
                ("chain_id", owned(text(cdevent, "/context/chainId"))),
            ]),
        }]),
    ))
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
    fn tokens_match_only_exactly() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cret", "s3cre"));
        assert!(!token_matches("s3cret", ""));
    }

    #[test]
    fn gitlab_commit_url_gives_the_full_sha() {
        assert_eq!(
            sha_from_commit_url(
                "http://x/root/p/-/commit/279484c09fbe69ededfced8c1bb6e6d24616b468"
            ),
            Some("279484c09fbe69ededfced8c1bb6e6d24616b468")
        );
        assert_eq!(
            sha_from_commit_url("http://x/root/p/-/commit/279484c0"),
            None
        );
    }

    #[test]
    fn an_edited_incident_maps_to_the_same_event_as_its_opening() {
        let issue = |action: &str| {
            json!({
                "action": action,
                "issue": {"number": 7, "created_at": "2024-01-01T10:00:00Z",
                          "updated_at": "2024-01-01T11:00:00Z",
                          "labels": [{"name": "Incident"}], "user": {"login": "amy"}},
                "repository": {"full_name": "acme/web"}
            })
        };
        let opened = github_events("issues", &issue("opened"), "incident").unwrap();
        let edited = github_events("issues", &issue("edited"), "incident").unwrap();
        assert_eq!(opened, edited);
        let Mapped::Events(events) = opened else {
            panic!("events")
        };
        assert_eq!(events[0].attributes["incident_id"], "github:acme/web#7");
    }
}
