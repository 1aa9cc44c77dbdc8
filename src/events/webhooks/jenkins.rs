//! A Jenkins build, as the Notification plugin (plugin id `notification`)
//! sends it, turned into a `deploy` event. No HTTP, no storage.
//!
//! The plugin posts one JSON document per phase of a build (`QUEUED`,
//! `STARTED`, `COMPLETED`, `FINALIZED`), field names in Gson's
//! `lower_case_with_underscores`:
//!
//! ```json
//! {"name": "deploy-web", "url": "job/deploy-web/",
//!  "build": {"number": 42, "phase": "COMPLETED", "status": "SUCCESS",
//!            "full_url": "https://ci/job/deploy-web/42/", "timestamp": 1714557600000,
//!            "duration": 93000, "parameters": {"SERVICE": "web", "ENVIRONMENT": "production"},
//!            "scm": {"url": "…", "branch": "origin/main", "commit": "6ba954d…"}}}
//! ```
//!
//! Only `COMPLETED` is a deploy: the plugin sends it when the build's result
//! is final, with `timestamp` = the build's start + its duration, the end of
//! the deploy. `FINALIZED` follows with the same result once the log is
//! closed (its `timestamp` is the sending time): taking both would count one
//! deploy twice, so it is ignored, as are `QUEUED` and `STARTED` (no result
//! yet). The event id names the build, not the phase, so even a build whose
//! `COMPLETED` is sent twice is one deploy.

use serde_json::Value;

use super::payloads::{Mapped, text};
use crate::events::model::{self, Event, kind};

/// What makes a Jenkins build a deploy: its job's name or URL holds this
/// text (any case), `events.jenkins_deploy_job`.
#[derive(Debug, Clone, Copy)]
pub struct JenkinsRules<'a> {
    pub deploy_job: &'a str,
}

/// Build parameters naming the service, first found wins (any case).
const SERVICE_PARAMETERS: &[&str] = &["SERVICE", "SERVICE_NAME"];
/// Build parameters naming the environment, first found wins (any case).
const ENVIRONMENT_PARAMETERS: &[&str] = &["ENVIRONMENT", "DEPLOY_ENV", "ENV"];
/// Build parameters holding the commit when the job has no Git checkout of
/// its own (a deploy job given the sha to deploy).
const SHA_PARAMETERS: &[&str] = &["GIT_COMMIT", "SHA", "COMMIT"];

fn bounded(value: &str) -> String {
    value.chars().take(model::MAX_TEXT_LEN).collect()
}

/// The first of `names` among the build's parameters (names compared in any
/// case, since jobs spell them as they like).
fn parameter<'v>(build: &'v Value, names: &[&str]) -> Option<&'v str> {
    let parameters = build.get("parameters")?.as_object()?;
    names.iter().find_map(|wanted| {
        parameters
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .and_then(|(_, value)| value.as_str())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    })
}

/// The build's number, as the plugin sends it (an integer).
fn build_number(build: &Value) -> Result<String, String> {
    match build.get("number") {
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        _ => Err("the payload has no `build.number`".into()),
    }
}

/// Which build this is, the same in every phase: its full URL (unique on a
/// Jenkins), else the job name and build number (when Jenkins has no root
/// URL configured, `full_url` is left out).
fn build_key(payload: &Value, build: &Value) -> Result<String, String> {
    if let Some(url) = text(build, "/full_url") {
        return Ok(url.to_owned());
    }
    let job = text(payload, "/url")
        .or_else(|| text(payload, "/name"))
        .ok_or("the payload has no `name` (the job)")?;
    Ok(format!("{job}#{}", build_number(build)?))
}

/// The event id of a build: `jenkins:<full URL>`, or a hash of it when the
/// URL is too long to be an id (cut short, two builds could share one).
fn event_id(build_key: &str) -> String {
    let id = format!("jenkins:{build_key}");
    if id.len() <= model::MAX_TEXT_LEN {
        return id;
    }
    format!("jenkins:sha256:{}", model::sha256_hex(build_key, 32))
}

/// The idempotency key of a delivery: the build and its phase (the plugin
/// sends no delivery id; a retry of one phase is the same delivery, another
/// phase of the build is not).
pub fn jenkins_delivery(payload: &Value) -> Result<String, String> {
    let build = jenkins_build(payload)?;
    let phase = text(build, "/phase").unwrap_or("-");
    Ok(format!("{}:{phase}", build_key(payload, build)?))
}

fn jenkins_build(payload: &Value) -> Result<&Value, String> {
    payload
        .get("build")
        .filter(|b| b.is_object())
        .ok_or_else(|| "not a Notification plugin payload: no `build` object".to_owned())
}

/// What a final build status means for a deploy: `None` for a build that
/// deployed nothing. `ABORTED` is a failure: Jenkins reports a build stopped
/// by a timeout as aborted, and a deploy stopped midway may have left
/// production half changed. `UNSTABLE` (the deploy ran, a check after it
/// failed) is a failure too.
fn deploy_result(status: &str) -> Option<&'static str> {
    match status.to_ascii_uppercase().as_str() {
        "SUCCESS" => Some("success"),
        "FAILURE" | "ABORTED" | "UNSTABLE" => Some("failure"),
        _ => None,
    }
}

/// The events in a Notification plugin payload. `now_ms` is when it came:
/// the deploy's time when the payload has no `build.timestamp` (older
/// plugin versions send none; `COMPLETED` is sent as the build ends).
pub fn jenkins_events(
    payload: &Value,
    rules: JenkinsRules<'_>,
    now_ms: i64,
) -> Result<Mapped, String> {
    let build = jenkins_build(payload)?;
    let job = text(payload, "/name").ok_or("the payload has no `name` (the job)")?;
    let phase = text(build, "/phase").ok_or("the payload has no `build.phase`")?;
    if !phase.eq_ignore_ascii_case("COMPLETED") {
        return Ok(Mapped::Ignored(format!(
            "build phase `{phase}`: only COMPLETED is a deploy (FINALIZED repeats it)"
        )));
    }
    let job_url = text(payload, "/url").unwrap_or_default();
    let wanted = rules.deploy_job.to_lowercase();
    if !job.to_lowercase().contains(&wanted) && !job_url.to_lowercase().contains(&wanted) {
        return Ok(Mapped::Ignored(format!(
            "job `{job}` is not a deploy job (events.jenkins_deploy_job = `{}`)",
            rules.deploy_job
        )));
    }
    let status = text(build, "/status").ok_or("a COMPLETED build has no `build.status`")?;
    let Some(result) = deploy_result(status) else {
        return Ok(Mapped::Ignored(format!(
            "a build that ended `{status}` deployed nothing"
        )));
    };
    let time_ms = match build.get("timestamp").and_then(Value::as_i64) {
        Some(ms) if ms > 0 => ms,
        Some(_) | None => now_ms,
    };
    if !(model::MIN_TIME_MS..=model::MAX_TIME_MS).contains(&time_ms) {
        return Err(format!(
            "`build.timestamp` {time_ms} is not a time in milliseconds"
        ));
    }
    let number = build_number(build)?;
    let sha = text(build, "/scm/commit").or_else(|| parameter(build, SHA_PARAMETERS));
    let mut attributes = serde_json::Map::new();
    let mut keep = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            attributes.insert(name.to_owned(), Value::String(value));
        }
    };
    keep("source", Some("jenkins".into()));
    keep("job", Some(bounded(job)));
    keep("build", Some(number));
    keep("status", Some(bounded(status)));
    keep("url", text(build, "/full_url").map(bounded));
    keep("ref", text(build, "/scm/branch").map(bounded));
    keep("repository", text(build, "/scm/url").map(bounded));
    Ok(Mapped::Events(vec![Event {
        id: event_id(&build_key(payload, build)?),
        time_ms,
        kind: kind::DEPLOY.into(),
        // The plugin names no user; a job that knows its deployer can pass it.
        actor: parameter(build, &["DEPLOYER", "BUILD_USER_ID"]).map(bounded),
        service: Some(bounded(parameter(build, SERVICE_PARAMETERS).unwrap_or(job))),
        environment: parameter(build, ENVIRONMENT_PARAMETERS).map(bounded),
        sha: sha.map(bounded),
        result: Some(result.into()),
        attributes,
    }]))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const RULES: JenkinsRules<'static> = JenkinsRules {
        deploy_job: "deploy",
    };

    fn completed(status: &str) -> Value {
        json!({"name": "deploy-web", "url": "job/deploy-web/",
               "build": {"number": 7, "phase": "COMPLETED", "status": status,
                         "full_url": "https://ci/job/deploy-web/7/",
                         "timestamp": 1_714_557_600_000_i64,
                         "parameters": {"service": "web", "Deploy_Env": "staging"},
                         "scm": {"commit": "6ba954d"}}})
    }

    #[test]
    fn statuses_map_to_results_and_parameters_name_the_service() {
        for (status, result) in [
            ("SUCCESS", "success"),
            ("FAILURE", "failure"),
            ("ABORTED", "failure"),
            ("UNSTABLE", "failure"),
        ] {
            let Ok(Mapped::Events(events)) = jenkins_events(&completed(status), RULES, 0) else {
                panic!("{status} is a deploy");
            };
            assert_eq!(events[0].result.as_deref(), Some(result));
            assert_eq!(events[0].service.as_deref(), Some("web"));
            assert_eq!(events[0].environment.as_deref(), Some("staging"));
            assert_eq!(events[0].id, "jenkins:https://ci/job/deploy-web/7/");
        }
        assert!(matches!(
            jenkins_events(&completed("NOT_BUILT"), RULES, 0),
            Ok(Mapped::Ignored(_))
        ));
    }

    #[test]
    fn the_delivery_key_names_the_build_and_its_phase() {
        let mut payload = completed("SUCCESS");
        assert_eq!(
            jenkins_delivery(&payload).as_deref(),
            Ok("https://ci/job/deploy-web/7/:COMPLETED")
        );
        if let Some(build) = payload["build"].as_object_mut() {
            build.remove("full_url");
        }
        assert_eq!(
            jenkins_delivery(&payload).as_deref(),
            Ok("job/deploy-web/#7:COMPLETED")
        );
    }
}
