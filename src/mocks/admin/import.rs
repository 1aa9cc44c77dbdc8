//! `POST /__admin/mappings/import`: many mappings in one transaction, read
//! one mapping at a time.

use std::sync::Arc;

use axum::extract::State;
use serde_json::{Map, Value, json};

use super::error::{AdminResult, WireMockErrors};
use super::{Json, TAG, empty, storage};
use crate::http::ApiError;
use crate::http::extract::Body;
use crate::mocks::engine::Engine;
use crate::mocks::openapi::ImportSchema;
use crate::mocks::stub::Stub;

/// Import many mappings in one transaction.
#[utoipa::path(post, path = "/__admin/mappings/import", tag = TAG,
    request_body(content = ImportSchema, description = "`{\"mappings\": [...], \"importOptions\": {\"duplicatePolicy\": \"OVERWRITE\"|\"IGNORE\", \"deleteAllNotInImport\": false}}`"),
    responses(
        (status = 200, description = "Imported", body = Value),
        (status = 422, description = "Not JSON, not an object of that shape, or a mapping is invalid (its index is in the pointer); nothing was imported", body = WireMockErrors),
    ))]
pub async fn import_mappings(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let imported = import(&engine, body).await;
    // The body, each mapping's parse and the index built before this one are
    // garbage now: megabytes for a large import, which the allocator would
    // otherwise keep for this thread.
    crate::memory::release_freed_pages();
    imported
}

async fn import(engine: &Arc<Engine>, body: Result<Body, ApiError>) -> AdminResult<Json> {
    let Body(bytes) = body?;
    let mut reader = serde_json::Deserializer::from_slice(&bytes);
    let imported = serde::de::DeserializeSeed::deserialize(ImportSeed { engine }, &mut reader)
        .and_then(|imported| reader.end().map(|()| imported))
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    let Imported {
        mut stubs,
        mut errors,
        options,
        had_mappings,
    } = imported;
    if !had_mappings {
        errors.push(crate::http::FieldError::new(
            "mappings",
            "must be an array of stub mappings",
        ));
    }
    // Options of the wrong type are refused rather than read as the defaults:
    // an import meant to delete what it leaves out must not quietly keep it.
    let no_options = Map::new();
    let options = match &options {
        Value::Null => &no_options,
        Value::Object(options) => options,
        _ => {
            errors.push(crate::http::FieldError::new(
                "importOptions",
                "must be an object such as {\"duplicatePolicy\": \"IGNORE\"}",
            ));
            &no_options
        }
    };
    let ignore_duplicates = match options.get("duplicatePolicy") {
        None | Some(Value::Null) => false,
        Some(Value::String(policy)) if policy == "OVERWRITE" => false,
        Some(Value::String(policy)) if policy == "IGNORE" => true,
        Some(other) => {
            errors.push(crate::http::FieldError::new(
                "importOptions.duplicatePolicy",
                format!("`{other}`: expected OVERWRITE or IGNORE"),
            ));
            false
        }
    };
    let delete_others = match options.get("deleteAllNotInImport") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(delete)) => *delete,
        Some(_) => {
            errors.push(crate::http::FieldError::new(
                "importOptions.deleteAllNotInImport",
                "must be true or false",
            ));
            false
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors).into());
    }
    let index = engine.snapshot();
    if ignore_duplicates {
        stubs.retain(|s| index.get(&s.id).is_none());
    }
    if delete_others {
        let keep: std::collections::HashSet<&str> = stubs.iter().map(|s| s.id.as_str()).collect();
        let others: Vec<String> = index
            .stubs()
            .iter()
            .filter(|s| !keep.contains(s.id.as_str()))
            .map(|s| s.id.clone())
            .collect();
        engine.remove(&others).await.map_err(storage)?;
    }
    engine.save(stubs).await.map_err(storage)?;
    Ok(empty())
}

/// An import document read one mapping at a time: each mapping's JSON is
/// parsed into a stub and dropped before the next is read, so importing
/// 10,000 stubs never holds the whole document as a JSON tree.
struct ImportSeed<'e> {
    engine: &'e Engine,
}

struct Imported {
    stubs: Vec<Stub>,
    errors: Vec<crate::http::FieldError>,
    options: Value,
    had_mappings: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for ImportSeed<'_> {
    type Value = Imported;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Imported, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ImportSeed<'_> {
    type Value = Imported;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("{\"mappings\": [...], \"importOptions\": {...}}")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Imported, A::Error> {
        let mut imported = Imported {
            stubs: Vec::new(),
            errors: Vec::new(),
            options: json!({}),
            had_mappings: false,
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "mappings" => {
                    let (stubs, errors) = map.next_value_seed(MappingsSeed {
                        engine: self.engine,
                    })?;
                    imported.stubs = stubs;
                    imported.errors.extend(errors);
                    imported.had_mappings = true;
                }
                "importOptions" => imported.options = map.next_value()?,
                "meta" => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    imported.errors.push(crate::http::FieldError::new(
                        other,
                        format!("`{other}` is not supported by echobase"),
                    ));
                }
            }
        }
        Ok(imported)
    }
}

struct MappingsSeed<'e> {
    engine: &'e Engine,
}

impl<'de> serde::de::DeserializeSeed<'de> for MappingsSeed<'_> {
    type Value = (Vec<Stub>, Vec<crate::http::FieldError>);

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for MappingsSeed<'_> {
    type Value = (Vec<Stub>, Vec<crate::http::FieldError>);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of stub mappings")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut stubs = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut errors = Vec::new();
        let mut i = 0usize;
        while let Some(item) = seq.next_element::<Value>()? {
            match self.engine.parse(&item) {
                Ok(stub) => stubs.push(stub),
                Err(errs) => errors.extend(errs.into_iter().map(|mut e| {
                    e.field = format!("mappings.{i}.{}", e.field);
                    e
                })),
            }
            i += 1;
        }
        Ok((stubs, errors))
    }
}
