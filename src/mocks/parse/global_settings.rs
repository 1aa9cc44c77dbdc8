//! WireMock's global settings document (`/__admin/settings`): delays added
//! to every stub's, and free-form `extended` values kept as they came.

use serde_json::Value;

use super::response::parse_global_delays;
use crate::http::FieldError;
use crate::mocks::stub::Delay;

/// WireMock's global settings: delays added to every stub's, and the
/// document as it was set, shown back as it came.
#[derive(Debug, Clone)]
pub struct GlobalSettings {
    pub fixed_delay: Delay,
    pub delay_distribution: Delay,
    pub document: serde_json::Map<String, Value>,
}

impl Default for GlobalSettings {
    fn default() -> Self {
        GlobalSettings {
            fixed_delay: Delay::None,
            delay_distribution: Delay::None,
            document: serde_json::Map::new(),
        }
    }
}

const KEYS: [&str; 4] = [
    "fixedDelay",
    "delayDistribution",
    "extended",
    "proxyPassThrough",
];

/// Reads a settings document (bare, or wrapped as `{"settings": {...}}`, the
/// shape `GET` answers, which WireMock takes back too).
pub fn parse_settings(value: &Value) -> Result<GlobalSettings, Vec<FieldError>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
