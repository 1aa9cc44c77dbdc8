//! The pure half of the webhooks: a GitHub, GitLab or CloudEvents payload
//! turned into events (or the reason it holds none). No HTTP, no storage:
//! the handlers in `webhooks.rs` verify, then call these.

use serde_json::{Map, Value};

use crate::events::model::{self, Event, kind};

/// What a payload means.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    Events(Vec<Event>),
    Ignored(String),
}

/// The trimmed, non-empty string at `pointer`.
pub(super) fn text<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
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

/// The commits of a push payload, if it has any.
fn pushed_commits(payload: &Value) -> Option<&[Value]> {
    payload
        .get("commits")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .filter(|commits| !commits.is_empty())
}

/// The events in a GitHub payload.
/// What makes a GitHub delivery an event: the issue label of incidents, and
/// the text a deploy workflow's name or path holds.
#[derive(Debug, Clone, Copy)]
pub struct GithubRules<'a> {
    pub incident_label: &'a str,
    pub deploy_workflow: &'a str,
}

pub fn github_events(
    event_type: &str,
    payload: &Value,
    rules: GithubRules<'_>,
) -> Result<Mapped, String> {
    let GithubRules {
        incident_label,
        deploy_workflow,
    } = rules;
    let repo = owned(text(payload, "/repository/full_name"));
    match event_type {
        "workflow_run" => github_workflow_run(payload, repo, deploy_workflow),
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
            let Some(commits) = pushed_commits(payload) else {
                return Ok(Mapped::Ignored("a push without commits".into()));
            };
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

/// A PagerDuty v3 webhook (`{"event": {...}}`): incidents triggered,
/// reopened and resolved; every other event type is ignored.
pub fn pagerduty_events(payload: &Value) -> Result<Mapped, String> {
    let event = payload
        .get("event")
        .filter(|e| e.is_object())
        .ok_or("not a PagerDuty v3 webhook: no `event` object")?;
    let event_type = required(event, "/event_type")?;
    let (kind, time_ms) = match event_type {
        // The opening time, so that a redelivery of another id is the same event.
        "incident.triggered" => (
            kind::INCIDENT_OPENED,
            time_at(event, "/data/created_at").or_else(|_| time_at(event, "/occurred_at"))?,
        ),
        "incident.reopened" => (kind::INCIDENT_OPENED, time_at(event, "/occurred_at")?),
        "incident.resolved" => (kind::INCIDENT_RESOLVED, time_at(event, "/occurred_at")?),
        other => {
            return Ok(Mapped::Ignored(format!(
                "PagerDuty event `{other}` is not used"
            )));
        }
    };
    let incident = required(event, "/data/id")?;
    let incident_id = format!("pagerduty:{incident}");
    Ok(Mapped::Events(vec![Event {
        id: format!("{incident_id}:{kind}:{time_ms}"),
        time_ms,
        kind: kind.into(),
        actor: owned(text(event, "/agent/summary")),
        // Named as in PagerDuty: name a service as its deploys name it.
        service: owned(text(event, "/data/service/summary")),
        environment: None,
        sha: None,
        result: None,
        attributes: attributes(&[
            ("source", Some("pagerduty".into())),
            ("incident_id", Some(incident_id)),
            ("title", owned(text(event, "/data/title"))),
            ("url", owned(text(event, "/data/html_url"))),
            ("urgency", owned(text(event, "/data/urgency"))),
        ]),
    }]))
}

/// The service an Opsgenie alert is about: its `entity`, else a
/// `service:<name>` tag (Opsgenie has no service field of its own).
fn opsgenie_service(alert: &Value) -> Option<String> {
    owned(text(alert, "/entity")).or_else(|| {
        alert
            .get("tags")
            .and_then(Value::as_array)?
            .iter()
            .filter_map(Value::as_str)
            .find_map(|tag| tag.strip_prefix("service:"))
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| name.chars().take(model::MAX_TEXT_LEN).collect())
    })
}

/// An Opsgenie Webhook integration's alert action: `Create` opens an
/// incident (at the alert's `createdAt`, milliseconds), `Close` resolves it
/// (at `updatedAt`, which Opsgenie sends in nanoseconds); other actions are
/// ignored.
pub fn opsgenie_events(payload: &Value) -> Result<Mapped, String> {
    let action = required(payload, "/action")?;
    let alert = payload
        .get("alert")
        .filter(|a| a.is_object())
        .ok_or("the payload has no `alert` object")?;
    let millis = |pointer: &str, per_milli: i64| -> Result<i64, String> {
        alert
            .pointer(pointer)
            .and_then(Value::as_i64)
            .filter(|t| *t > 0)
            .map(|t| t / per_milli)
            .ok_or_else(|| format!("the alert has no `{pointer}` time"))
    };
    let (kind, time_ms) = match action {
        "Create" => (kind::INCIDENT_OPENED, millis("/createdAt", 1)?),
        "Close" => (kind::INCIDENT_RESOLVED, millis("/updatedAt", 1_000_000)?),
        other => {
            return Ok(Mapped::Ignored(format!(
                "Opsgenie action `{other}` is not used"
            )));
        }
    };
    let alert_id = required(alert, "/alertId")?;
    let incident_id = format!("opsgenie:{alert_id}");
    Ok(Mapped::Events(vec![Event {
        id: format!("{incident_id}:{kind}:{time_ms}"),
        time_ms,
        kind: kind.into(),
        actor: owned(text(alert, "/username")),
        service: opsgenie_service(alert),
        environment: None,
        sha: None,
        result: None,
        attributes: attributes(&[
            ("source", Some("opsgenie".into())),
            ("incident_id", Some(incident_id)),
            ("title", owned(text(alert, "/message"))),
            ("alias", owned(text(alert, "/alias"))),
        ]),
    }]))
}

/// A completed GitHub Actions run of a deploy workflow (its name or path
/// holds `deploy_workflow`, any case) is a deploy of the repository, for
/// teams that deploy from Actions without deployments.
fn github_workflow_run(
    payload: &Value,
    repo: Option<String>,
    deploy_workflow: &str,
) -> Result<Mapped, String> {
    let action = required(payload, "/action")?;
    if action != "completed" {
        return Ok(Mapped::Ignored(format!(
            "workflow run `{action}`: only completed runs are deploys"
        )));
    }
    let run = payload
        .get("workflow_run")
        .filter(|r| r.is_object())
        .ok_or("the payload has no `workflow_run` object")?;
    let name = text(run, "/name")
        .or_else(|| text(payload, "/workflow/name"))
        .unwrap_or_default();
    let path = text(run, "/path").unwrap_or_default();
    let wanted = deploy_workflow.to_lowercase();
    if !name.to_lowercase().contains(&wanted) && !path.to_lowercase().contains(&wanted) {
        return Ok(Mapped::Ignored(format!(
            "workflow `{name}` ({path}) is not a deploy workflow (events.github_deploy_workflow = `{deploy_workflow}`)"
        )));
    }
    let result = match required(run, "/conclusion")? {
        "success" => "success",
        "failure" | "timed_out" => "failure",
        other => {
            return Ok(Mapped::Ignored(format!(
                "a run that ended `{other}` deployed nothing"
            )));
        }
    };
    let run_id = number_or_text(run, "/id").ok_or("the run has no `id`")?;
    let attempt = number_or_text(run, "/run_attempt").unwrap_or_else(|| "1".into());
    Ok(Mapped::Events(vec![Event {
        id: format!(
            "github:workflow_run:{}:{run_id}:{attempt}",
            repo.as_deref().unwrap_or("-")
        ),
        time_ms: time_at(run, "/updated_at")?,
        kind: kind::DEPLOY.into(),
        actor: owned(
            text(run, "/triggering_actor/login")
                .or_else(|| text(run, "/actor/login"))
                .or_else(|| text(payload, "/sender/login")),
        ),
        service: repo,
        environment: None,
        sha: owned(Some(required(run, "/head_sha")?)),
        result: Some(result.into()),
        attributes: attributes(&[
            ("source", Some("github".into())),
            (
                "workflow",
                owned(Some(name).filter(|n| !n.is_empty()).or(Some(path))),
            ),
            ("ref", owned(text(run, "/head_branch"))),
            ("url", owned(text(run, "/html_url"))),
        ]),
    }]))
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
            let Some(commits) = pushed_commits(payload) else {
                return Ok(Mapped::Ignored("a push without commits".into()));
            };
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
        // An instance's system hooks: a push there is a project's push.
        "System Hook" => {
            match text(payload, "/event_name").or_else(|| text(payload, "/object_kind")) {
                Some("push") => gitlab_events("Push Hook", payload),
                Some(other) => Ok(Mapped::Ignored(format!(
                    "GitLab system hook event `{other}` is not used"
                ))),
                None => Err("a system hook needs `event_name`".into()),
            }
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

/// A structured CloudEvent's data: `data` as JSON, `data` as a string of
/// JSON, or `data_base64` holding JSON (CDEvents are JSON, whichever way sent).
/// `Null` when the event has none.
fn cloudevent_data(event: &Value) -> Result<std::borrow::Cow<'_, Value>, String> {
    use base64::Engine as _;
    use std::borrow::Cow;
    match (event.get("data"), event.get("data_base64")) {
        (Some(_), Some(_)) => Err("`data` and `data_base64` exclude each other".into()),
        (None, Some(encoded)) => {
            let encoded = encoded.as_str().ok_or("`data_base64` is not a string")?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| format!("`data_base64` is not base64: {e}"))?;
            serde_json::from_slice(&bytes)
                .map(Cow::Owned)
                .map_err(|e| format!("`data_base64` does not hold JSON: {e}"))
        }
        (Some(Value::String(text)), None) => serde_json::from_str(text)
            .map(Cow::Owned)
            .map_err(|e| format!("`data` is a string that is not JSON: {e}")),
        (Some(data), None) => Ok(Cow::Borrowed(data)),
        (None, None) => Ok(Cow::Owned(Value::Null)),
    }
}

/// The idempotency key and the events of one CloudEvent (or bare CDEvent).
pub fn cloudevent_events(event: &Value) -> Result<(String, Mapped), String> {
    if !event.is_object() {
        return Err("not a JSON object".into());
    }
    // A CloudEvent carries the CDEvent in its data; a bare CDEvent is its own data.
    let data = if event.get("specversion").is_some() {
        cloudevent_data(event)?
    } else {
        std::borrow::Cow::Borrowed(event)
    };
    let cdevent = data.as_ref();
    let source = text(event, "/source")
        .or_else(|| text(cdevent, "/context/source"))
        .ok_or("no `source`")?;
    let id = text(event, "/id")
        .or_else(|| text(cdevent, "/context/id"))
        .ok_or("no `id`")?;
    let key = model::sha256_hex(&format!("{source}\n{id}"), 16);
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
    // Without its CDEvent, an event of a used type would be stored with no
    // service, environment or sha (and a deploy without an environment
    // counts as production).
    if !cdevent.is_object() {
        return Err(format!(
            "event type `{event_type}` needs its CDEvent as a JSON object in `data` (or `data_base64`)"
        ));
    }
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
    use serde_json::json;

    use super::*;

    const RULES: GithubRules<'static> = GithubRules {
        incident_label: "incident",
        deploy_workflow: "deploy",
    };

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
        let opened = github_events("issues", &issue("opened"), RULES).unwrap();
        let edited = github_events("issues", &issue("edited"), RULES).unwrap();
        assert_eq!(opened, edited);
        let Mapped::Events(events) = opened else {
            panic!("events")
        };
        assert_eq!(events[0].attributes["incident_id"], "github:acme/web#7");
    }
}
