//! A `jsonBody` template: each string of the document that holds a
//! placeholder is rendered on its own, so a request fills a string and never
//! ends it.

use serde_json::Value;

use super::{Context, Template, limits};

/// A `jsonBody` with placeholders. Each string in it (a value or a key)
/// that holds one is a template of its own, so what it renders is that
/// string's content, escaped when the document is written: a request can
/// fill a string, never end it.
#[derive(Debug, Clone)]
pub enum JsonTemplate {
    /// No placeholder below here.
    Fixed(Value),
    String(Template),
    Array(Vec<JsonTemplate>),
    Object(Vec<(JsonKey, JsonTemplate)>),
}

#[derive(Debug, Clone)]
pub enum JsonKey {
    Fixed(String),
    Template(Template),
}

impl JsonTemplate {
    pub fn parse(value: &Value) -> Result<JsonTemplate, String> {
        let parsed = match value {
            Value::String(text) if text.contains("{{") => {
                JsonTemplate::String(Template::parse(text)?)
            }
            Value::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .map(JsonTemplate::parse)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(members) => JsonTemplate::Object(
                members
                    .iter()
                    .map(|(key, value)| {
                        let key = if key.contains("{{") {
                            JsonKey::Template(Template::parse(key)?)
                        } else {
                            JsonKey::Fixed(key.clone())
                        };
                        Ok((key, JsonTemplate::parse(value)?))
                    })
                    .collect::<Result<_, String>>()?,
            ),
            other => JsonTemplate::Fixed(other.clone()),
        };
        Ok(match parsed {
            JsonTemplate::Array(_) | JsonTemplate::Object(_) if !parsed.has_placeholders() => {
                JsonTemplate::Fixed(value.clone())
            }
            parsed => parsed,
        })
    }

    fn has_placeholders(&self) -> bool {
        match self {
            JsonTemplate::Fixed(_) => false,
            JsonTemplate::String(_) => true,
            JsonTemplate::Array(items) => items.iter().any(JsonTemplate::has_placeholders),
            JsonTemplate::Object(members) => members.iter().any(|(key, value)| {
                matches!(key, JsonKey::Template(_)) || value.has_placeholders()
            }),
        }
    }

    /// The rendered document, or why it could not be rendered (the
    /// response is then a 500). Its strings share one render budget.
    pub fn render(&self, ctx: &Context<'_>) -> Result<Value, String> {
        let _budget = limits::Session::start();
        self.render_in_session(ctx)
    }

    fn render_in_session(&self, ctx: &Context<'_>) -> Result<Value, String> {
        Ok(match self {
            JsonTemplate::Fixed(value) => value.clone(),
            JsonTemplate::String(template) => Value::String(template.render(ctx)?),
            JsonTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| item.render_in_session(ctx))
                    .collect::<Result<_, _>>()?,
            ),
            JsonTemplate::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(key, value)| {
                        let key = match key {
                            JsonKey::Fixed(key) => key.clone(),
                            JsonKey::Template(template) => template.render(ctx)?,
                        };
                        Ok((key, value.render_in_session(ctx)?))
                    })
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}
