//! WireMock's global settings: a delay added to every stub's response
//! (`fixedDelay`, `delayDistribution`), and `extended`, free-form values kept
//! for the clients that set them. Per process, like the journal.

use std::sync::Arc;

use axum::extract::State;
use serde_json::{Map, Value, json};

use super::error::{AdminResult, WireMockErrors};
use super::{Json, TAG, json_body};
use crate::http::extract::Body;
use crate::http::{ApiError, FieldError};
use crate::mocks::engine::{Engine, GlobalSettings};
use crate::mocks::openapi::{ExtendedSettingsSchema, GlobalSettingsSchema};
use crate::mocks::parse::response::parse_global_delays;

const KEYS: [&str; 4] = [
    "fixedDelay",
    "delayDistribution",
    "extended",
    "proxyPassThrough",
];

/// Reads a settings document (bare, or wrapped as `{"settings": {...}}`, the
/// shape `GET` answers, which WireMock takes back too).
fn parse_settings(value: &Value) -> Result<GlobalSettings, Vec<FieldError>> {
    let document = match value.get("settings") {
        Some(Value::Object(inner)) => {
            if let Some(other) = value
                .as_object()
                .and_then(|o| o.keys().find(|k| *k != "settings"))
            {
                return Err(vec![FieldError::new(
                    other,
                    "is not a global setting: give the settings bare, or only inside `settings`",
                )]);
            }
            inner
        }
        _ => match value.as_object() {
            Some(document) => document,
            None => {
                return Err(vec![FieldError::new(
                    "",
                    "must be an object such as {\"fixedDelay\": 100}",
                )]);
            }
        },
    };
    let mut errors: Vec<FieldError> = document
        .keys()
        .filter(|key| !KEYS.contains(&key.as_str()))
        .map(|key| {
            FieldError::new(
                key,
                format!("is not a global setting (known: {})", KEYS.join(", ")),
            )
        })
        .collect();
    if document
        .get("extended")
        .is_some_and(|e| !e.is_null() && !e.is_object())
    {
        errors.push(FieldError::new("extended", "must be an object"));
    }
    if document
        .get("proxyPassThrough")
        .is_some_and(|p| !p.is_null() && !p.is_boolean())
    {
        errors.push(FieldError::new("proxyPassThrough", "must be true or false"));
    }
    let delays = parse_global_delays(
        document.get("fixedDelay"),
        document.get("delayDistribution"),
    );
    match delays {
        Ok((fixed_delay, delay_distribution)) if errors.is_empty() => Ok(GlobalSettings {
            fixed_delay,
            delay_distribution,
            document: document.clone(),
        }),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

/// As WireMock shows them: `proxyPassThrough` is always there.
fn settings_json(settings: &GlobalSettings) -> Json {
    let mut document = settings.document.clone();
    document
        .entry("proxyPassThrough")
        .or_insert(Value::Bool(false));
    axum::Json(json!({ "settings": document }))
}

/// The global settings.
#[utoipa::path(get, path = "/__admin/settings", tag = TAG,
    responses((status = 200, description = "`{\"settings\": {\"fixedDelay\": 100, ...}}`", body = Value)))]
pub async fn get_settings(State(engine): State<Arc<Engine>>) -> Json {
    settings_json(&engine.settings())
}

async fn replace(engine: &Engine, body: Result<Body, ApiError>) -> AdminResult<Json> {
    let settings = parse_settings(&json_body(body)?).map_err(ApiError::Validation)?;
    engine.set_settings(settings);
    Ok(settings_json(&engine.settings()))
}

/// Replace the global settings (what is not given goes back to its default).
#[utoipa::path(post, path = "/__admin/settings", tag = TAG,
    request_body(content = GlobalSettingsSchema, description = "`{\"fixedDelay\": 100, \"delayDistribution\": {...}, \"extended\": {...}}`, or that inside `{\"settings\": ...}`; no body at all resets them"),
    responses(
        (status = 200, description = "The settings now", body = Value),
        (status = 422, description = "Not JSON, or not settings", body = WireMockErrors),
    ))]
pub async fn update_settings(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    replace(&engine, body).await
}

/// Replace the global settings (as `POST`).
#[utoipa::path(put, path = "/__admin/settings", tag = TAG,
    request_body(content = GlobalSettingsSchema, description = "As for `POST`"),
    responses(
        (status = 200, description = "The settings now", body = Value),
        (status = 422, description = "Not JSON, or not settings", body = WireMockErrors),
    ))]
pub async fn replace_settings(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    replace(&engine, body).await
}

/// Merge values into `extended`, keeping the other settings.
#[utoipa::path(patch, path = "/__admin/settings/extended", tag = TAG,
    request_body(content = ExtendedSettingsSchema, description = "An object merged into `extended` (no body: nothing to merge)"),
    responses(
        (status = 200, description = "The settings now", body = Value),
        (status = 422, description = "Not JSON, or not an object", body = WireMockErrors),
    ))]
pub async fn patch_extended(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let Value::Object(values) = json_body(body)? else {
        return Err(ApiError::Validation(vec![FieldError::new("", "must be an object")]).into());
    };
    let mut settings = (*engine.settings()).clone();
    let extended = settings
        .document
        .entry("extended")
        .or_insert_with(|| Value::Object(Map::new()));
    if !extended.is_object() {
        *extended = Value::Object(Map::new());
    }
    if let Value::Object(extended) = extended {
        extended.extend(values);
    }
    engine.set_settings(settings);
    Ok(settings_json(&engine.settings()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mocks::stub::Delay;

    #[test]
    fn settings_read_bare_or_wrapped() {
        let bare = parse_settings(&json!({"fixedDelay": 100})).unwrap();
        let wrapped = parse_settings(&json!({"settings": {"fixedDelay": 100}})).unwrap();
        assert_eq!(bare.fixed_delay, Delay::Fixed(100));
        assert_eq!(wrapped.fixed_delay, Delay::Fixed(100));
        let uniform = parse_settings(
            &json!({"delayDistribution": {"type": "uniform", "lower": 1, "upper": 5}}),
        )
        .unwrap();
        assert_eq!(
            uniform.delay_distribution,
            Delay::Uniform { lower: 1, upper: 5 }
        );
        assert_eq!(uniform.fixed_delay, Delay::None);
    }

    #[test]
    fn unknown_and_mistyped_settings_are_named() {
        let errors =
            parse_settings(&json!({"bogus": 1, "fixedDelay": "soon", "extended": 3})).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["bogus", "extended", "fixedDelay"]);
    }
}
