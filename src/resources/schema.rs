//! A collection's JSON Schema (draft 2020-12 unless its `$schema` says
//! otherwise), checked on every document written to the collection.
//! References resolve within the schema only: a remote `$ref` makes the
//! schema invalid, it is never fetched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use jsonschema::{Draft, Validator};
use serde_json::Value;

use super::model::Document;

/// What is wrong with a document: the property (a dotted path, empty for the
/// document itself) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub message: String,
}

impl Violation {
    /// The violation of the document at `place` in a batch: its field
    /// starts with the place (`[3].title`, `[3]` for the document itself).
    pub fn in_place(self, place: usize) -> Violation {
        let field = if self.field.is_empty() {
            format!("[{place}]")
        } else {
            format!("[{place}].{}", self.field)
        };
        Violation { field, ..self }
    }
}

/// Most violations reported for one document.
const MAX_VIOLATIONS: usize = 20;

/// Compiles `schema`; the error says why it cannot be used.
pub fn compile(schema: &Value) -> Result<Validator, String> {
    let mut options = jsonschema::options().offline();
    if schema.get("$schema").is_none() {
        options = options.with_draft(Draft::Draft202012);
    }
    options
        .build(schema)
        .map_err(|error| format!("not a usable JSON Schema: {error}"))
}

/// The violations of `document`, none when it is valid.
pub fn violations(validator: &Validator, document: &Document) -> Vec<Violation> {
    let document = Value::Object(document.clone());
    validator
        .iter_errors(&document)
        .take(MAX_VIOLATIONS)
        .map(|error| Violation {
            field: dotted(&error.instance_path().to_string()),
            message: error.to_string(),
        })
        .collect()
}

/// `/a/0/b` → `a.0.b`, as the problem details of the other modules name fields.
fn dotted(pointer: &str) -> String {
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|part| part.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

/// Compiled schemas by their text, so a write compiles its collection's
/// schema once per process, not once per write.
#[derive(Debug, Default)]
pub struct Validators {
    compiled: Mutex<HashMap<String, Arc<Validator>>>,
}

impl Validators {
    /// The validator of a stored schema's text.
    pub fn of(&self, text: &str) -> Result<Arc<Validator>, String> {
        if let Some(found) = self
            .compiled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(text)
        {
            return Ok(found.clone());
        }
        let schema: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
        let validator = Arc::new(compile(&schema)?);
        let mut compiled = self.compiled.lock().unwrap_or_else(PoisonError::into_inner);
        // Schemas change rarely; a process that saw many starts over.
        if compiled.len() >= 256 {
            compiled.clear();
        }
        compiled.insert(text.to_owned(), validator.clone());
        Ok(validator)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn violations_name_the_property() {
        let schema = json!({
            "type": "object",
            "required": ["title"],
            "properties": {"title": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}
        });
        let validator = compile(&schema).unwrap();
        let document = json!({"title": 3, "tags": ["a", 1]})
            .as_object()
            .cloned()
            .unwrap();
        let mut fields: Vec<String> = violations(&validator, &document)
            .into_iter()
            .map(|v| v.field)
            .collect();
        fields.sort();
        assert_eq!(fields, ["tags.1", "title"]);
        let missing = violations(&validator, &Document::new());
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].field, "");
        assert!(missing[0].message.contains("title"), "{:?}", missing[0]);
    }

    #[test]
    fn remote_references_and_bad_schemas_are_refused() {
        assert!(compile(&json!({"$ref": "https://example.com/schema.json"})).is_err());
        assert!(compile(&json!({"type": "no such type"})).is_err());
        let validators = Validators::default();
        let first = validators.of(r#"{"type": "object"}"#).unwrap();
        let again = validators.of(r#"{"type": "object"}"#).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "compiled once");
    }
}
