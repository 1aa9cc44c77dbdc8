//! The WireMock admin API under `/__admin`, so that WireMock clients, stub
//! files and habits work against echobase. Errors are problem+json; a stub
//! field echobase does not implement is a 422 naming it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::engine::Engine;
use super::journal::LoggedRequest;
use super::matcher::RequestPattern;
use super::openapi::{
    ImportSchema, RequestPatternSchema, ScenarioStateSchema, StubMappingSchema,
    StubMappingUpdateSchema,
};
use super::parse::request::parse_request_pattern;
use super::serve::near_miss_json;
use super::store::StoreError;
use super::stub::Stub;
use super::template::iso_millis;
use crate::http::ApiError;
use crate::http::extract::Body;

type Json = axum::Json<Value>;
const TAG: &str = "mocks (WireMock admin)";

fn empty() -> Json {
    axum::Json(json!({}))
}

/// Admin bodies are JSON whatever the content type says (`curl -d @stub.json`
/// sends a form content type).
fn json_body(body: Result<Body, ApiError>) -> Result<Value, ApiError> {
    let Body(bytes) = body?;
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

fn storage(error: StoreError) -> ApiError {
    ApiError::storage(&error, error.is_unavailable())
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no stub mapping has id {id}"))
}

/// Newest first, as WireMock lists them.
fn mappings_of(stubs: &[Arc<Stub>]) -> Vec<Value> {
    stubs.iter().rev().map(|s| s.mapping()).collect()
}

/// Every stub mapping, newest first.
#[utoipa::path(get, path = "/__admin/mappings", tag = TAG,
    responses((status = 200, description = "`{\"mappings\": [...], \"meta\": {\"total\": n}}`", body = Value)))]
pub async fn list_mappings(State(engine): State<Arc<Engine>>) -> Json {
    let index = engine.snapshot();
    axum::Json(json!({
        "mappings": mappings_of(index.stubs()),
        "meta": {"total": index.len()},
    }))
}

/// Create a stub mapping (an `id` that exists replaces that stub).
#[utoipa::path(post, path = "/__admin/mappings", tag = TAG,
    request_body(content = StubMappingSchema, description = "A WireMock stub mapping"),
    responses(
        (status = 201, description = "The stored mapping, with its id", body = StubMappingSchema),
        (status = 400, description = "The body is not JSON", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, or uses a field echobase does not support (named in `errors`)", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_mapping(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> Result<(StatusCode, Json), ApiError> {
    let mapping = save_mapping(&engine, &json_body(body)?).await?;
    Ok((StatusCode::CREATED, axum::Json(mapping)))
}

/// Parses a stub mapping, stores it, and answers the stored mapping.
async fn save_mapping(engine: &Engine, value: &Value) -> Result<Value, ApiError> {
    let stub = engine.parse(value).map_err(ApiError::Validation)?;
    let saved = engine.save(vec![stub]).await.map_err(storage)?;
    Ok(saved.first().map(|s| s.mapping()).unwrap_or_default())
}

/// Delete every stub mapping.
#[utoipa::path(delete, path = "/__admin/mappings", tag = TAG,
    responses((status = 200, description = "Deleted", body = Value)))]
pub async fn delete_mappings(State(engine): State<Arc<Engine>>) -> Result<Json, ApiError> {
    engine.remove_all(false).await.map_err(ApiError::Internal)?;
    Ok(empty())
}

/// One stub mapping.
#[utoipa::path(get, path = "/__admin/mappings/{id}", tag = TAG,
    params(("id" = String, Path, description = "The stub's UUID")),
    responses(
        (status = 200, description = "The mapping", body = Value),
        (status = 404, description = "No such stub", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_mapping(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let index = engine.snapshot();
    let stub = index
        .get(&normalise_id(&id))
        .ok_or_else(|| not_found(&id))?;
    Ok(axum::Json(stub.mapping()))
}

fn normalise_id(id: &str) -> String {
    uuid::Uuid::parse_str(id).map_or_else(|_| id.to_owned(), |u| u.to_string())
}

/// Replace a stub mapping.
#[utoipa::path(put, path = "/__admin/mappings/{id}", tag = TAG,
    params(("id" = String, Path, description = "The stub's UUID")),
    request_body(content = StubMappingUpdateSchema, description = "The new mapping (its id, if any, is replaced by the path's)"),
    responses(
        (status = 200, description = "The stored mapping", body = StubMappingUpdateSchema),
        (status = 400, description = "The body is not JSON", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such stub", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid mapping", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_mapping(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<Json, ApiError> {
    let id = normalise_id(&id);
    if engine.snapshot().get(&id).is_none() {
        return Err(not_found(&id));
    }
    let mut value = json_body(body)?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("id".into(), Value::String(id.clone()));
        obj.remove("uuid");
    }
    Ok(axum::Json(save_mapping(&engine, &value).await?))
}

/// Delete one stub mapping.
#[utoipa::path(delete, path = "/__admin/mappings/{id}", tag = TAG,
    params(("id" = String, Path, description = "The stub's UUID")),
    responses(
        (status = 200, description = "Deleted", body = Value),
        (status = 404, description = "No such stub", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_mapping(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let removed = engine.remove(&[normalise_id(&id)]).await.map_err(storage)?;
    if removed.is_empty() {
        return Err(not_found(&id));
    }
    Ok(empty())
}

/// Import many mappings in one transaction.
#[utoipa::path(post, path = "/__admin/mappings/import", tag = TAG,
    request_body(content = ImportSchema, description = "`{\"mappings\": [...], \"importOptions\": {\"duplicatePolicy\": \"OVERWRITE\"|\"IGNORE\", \"deleteAllNotInImport\": false}}`"),
    responses(
        (status = 200, description = "Imported", body = Value),
        (status = 400, description = "Not JSON, or not an object of that shape", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A mapping is invalid (its index is in the field name); nothing was imported", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_mappings(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> Result<Json, ApiError> {
    let Body(bytes) = body?;
    let mut reader = serde_json::Deserializer::from_slice(&bytes);
    let imported =
        serde::de::DeserializeSeed::deserialize(ImportSeed { engine: &engine }, &mut reader)
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
        return Err(ApiError::Validation(errors));
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

/// Back to the mappings folder's stubs: every stub created through the API goes.
#[utoipa::path(post, path = "/__admin/mappings/reset", tag = TAG,
    responses((status = 200, description = "Reset", body = Value)))]
pub async fn reset_mappings(State(engine): State<Arc<Engine>>) -> Result<Json, ApiError> {
    engine.remove_all(true).await.map_err(ApiError::Internal)?;
    Ok(empty())
}

/// Stubs are always stored when created; kept for WireMock clients.
#[utoipa::path(post, path = "/__admin/mappings/save", tag = TAG,
    responses((status = 200, description = "Nothing to do: every stub is already stored", body = Value)))]
pub async fn save_mappings() -> Json {
    empty()
}

/// Reset stubs (to the mappings folder), the journal and every scenario.
#[utoipa::path(post, path = "/__admin/reset", tag = TAG,
    responses((status = 200, description = "Reset", body = Value)))]
pub async fn reset_all(State(engine): State<Arc<Engine>>) -> Result<Json, ApiError> {
    engine.remove_all(true).await.map_err(ApiError::Internal)?;
    engine.journal.clear();
    engine.reset_scenarios();
    Ok(empty())
}

/// A journal entry as WireMock's `LoggedRequest`.
fn logged_json(entry: &LoggedRequest) -> Value {
    let url = match &entry.query {
        Some(q) => format!("{}?{}", entry.path, q),
        None => entry.path.clone(),
    };
    let host = entry
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let mut headers = Map::new();
    for name in entry.headers.keys() {
        let values: Vec<Value> = entry
            .headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let value = match values.as_slice() {
            [one] => one.clone(),
            _ => Value::Array(values),
        };
        headers.insert(name.as_str().to_owned(), value);
    }
    let incoming = entry.incoming();
    let mut query = Map::new();
    for (key, value) in incoming.query_pairs() {
        let slot = query
            .entry(key.clone())
            .or_insert_with(|| json!({"key": key, "values": []}));
        if let Some(values) = slot.get_mut("values").and_then(Value::as_array_mut) {
            values.push(Value::String(value.clone()));
        }
    }
    let cookies: Map<String, Value> = incoming
        .cookies()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "url": url,
        "absoluteUrl": format!("http://{host}{url}"),
        "method": entry.method.as_str(),
        "headers": headers,
        "cookies": cookies,
        "queryParams": query,
        "body": String::from_utf8_lossy(&entry.body),
        "bodyAsBase64": base64::engine::general_purpose::STANDARD.encode(&entry.body),
        "bodyTruncated": entry.body_truncated,
        "loggedDate": entry.logged_at_ms,
        "loggedDateString": iso_millis(entry.logged_at_ms),
    })
}

fn serve_event_json(entry: &LoggedRequest) -> Value {
    let mut out = json!({
        "id": entry.id.to_string(),
        "request": logged_json(entry),
        "wasMatched": entry.stub.is_some(),
    });
    if let Some(stub) = &entry.stub {
        let mapping = stub.mapping();
        out["responseDefinition"] = mapping.get("response").cloned().unwrap_or(json!({}));
        out["stubMapping"] = mapping;
    } else {
        out["responseDefinition"] = json!({"status": 404});
    }
    out
}

/// The request journal, newest first.
#[utoipa::path(get, path = "/__admin/requests", tag = TAG,
    responses((status = 200, description = "`{\"requests\": [...], \"meta\": {\"total\": n}}`", body = Value)))]
pub async fn list_requests(State(engine): State<Arc<Engine>>) -> Json {
    let entries = engine.journal.snapshot();
    let requests: Vec<Value> = entries.iter().rev().map(|e| serve_event_json(e)).collect();
    axum::Json(json!({
        "requests": requests,
        "meta": {"total": entries.len()},
        "requestJournalDisabled": false,
    }))
}

/// Empty the journal.
#[utoipa::path(delete, path = "/__admin/requests", tag = TAG,
    responses((status = 200, description = "Emptied", body = Value)))]
pub async fn clear_requests(State(engine): State<Arc<Engine>>) -> Json {
    engine.journal.clear();
    empty()
}

/// How many journaled requests match a request pattern.
#[utoipa::path(post, path = "/__admin/requests/count", tag = TAG,
    request_body(content = RequestPatternSchema, description = "A request pattern, as a stub's `request`; without a body, every request matches"),
    responses(
        (status = 200, description = "`{\"count\": n}`", body = Value),
        (status = 400, description = "The body is not JSON", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid pattern", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn count_requests(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> Result<Json, ApiError> {
    let pattern = request_pattern(body)?;
    Ok(axum::Json(
        json!({"count": engine.journal.matching(&pattern).len()}),
    ))
}

fn request_pattern(body: Result<Body, ApiError>) -> Result<RequestPattern, ApiError> {
    parse_request_pattern(&json_body(body)?, "").map_err(ApiError::Validation)
}

/// Journal entries as WireMock's `{"requests": [...]}`.
fn requests_json(entries: &[Arc<LoggedRequest>]) -> Json {
    let requests: Vec<Value> = entries.iter().map(|e| logged_json(e)).collect();
    axum::Json(json!({ "requests": requests }))
}

/// The journaled requests that match a request pattern, oldest first.
#[utoipa::path(post, path = "/__admin/requests/find", tag = TAG,
    request_body(content = RequestPatternSchema, description = "A request pattern, as a stub's `request`; without a body, every request matches"),
    responses(
        (status = 200, description = "`{\"requests\": [...]}`", body = Value),
        (status = 400, description = "The body is not JSON", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid pattern", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn find_requests(
    State(engine): State<Arc<Engine>>,
    body: Result<Body, ApiError>,
) -> Result<Json, ApiError> {
    let pattern = request_pattern(body)?;
    Ok(requests_json(&engine.journal.matching(&pattern)))
}

/// Journaled requests no stub answered.
#[utoipa::path(get, path = "/__admin/requests/unmatched", tag = TAG,
    responses((status = 200, description = "`{\"requests\": [...]}`", body = Value)))]
pub async fn unmatched_requests(State(engine): State<Arc<Engine>>) -> Json {
    requests_json(&engine.journal.unmatched())
}

/// For each unmatched request, the nearest stubs and why they did not match.
#[utoipa::path(get, path = "/__admin/requests/unmatched/near-misses", tag = TAG,
    responses((status = 200, description = "`{\"nearMisses\": [{\"request\", \"stubMapping\", \"matchResult\": {\"distance\"}, \"reasons\"}]}`", body = Value)))]
pub async fn near_misses(State(engine): State<Arc<Engine>>) -> Json {
    let index = engine.snapshot();
    let mut out = Vec::new();
    for entry in engine.journal.unmatched() {
        let near = engine.near_misses(&index, &entry.incoming());
        for (stub, result) in near {
            let detail = near_miss_json(&stub, &result);
            out.push(json!({
                "request": logged_json(&entry),
                "stubMapping": stub.mapping(),
                "matchResult": {"distance": detail["distance"]},
                "reasons": result.reasons,
            }));
        }
    }
    axum::Json(json!({ "nearMisses": out }))
}

/// Every scenario with its current state.
#[utoipa::path(get, path = "/__admin/scenarios", tag = TAG,
    responses((status = 200, description = "`{\"scenarios\": [{\"id\", \"name\", \"state\", \"possibleStates\"}]}`", body = Value)))]
pub async fn list_scenarios(State(engine): State<Arc<Engine>>) -> Json {
    let scenarios: Vec<Value> = engine
        .scenarios()
        .into_iter()
        .map(|s| {
            json!({
                "id": s.name,
                "name": s.name,
                "state": s.state,
                "possibleStates": s.possible_states,
            })
        })
        .collect();
    axum::Json(json!({ "scenarios": scenarios }))
}

/// Every scenario back to `Started`.
#[utoipa::path(post, path = "/__admin/scenarios/reset", tag = TAG,
    responses((status = 200, description = "Reset", body = Value)))]
pub async fn reset_scenarios(State(engine): State<Arc<Engine>>) -> Json {
    engine.reset_scenarios();
    empty()
}

/// Put one scenario in a given state (`Started` when no state is given).
#[utoipa::path(put, path = "/__admin/scenarios/{name}/state", tag = TAG,
    params(("name" = String, Path, description = "The scenario's name")),
    request_body(content = ScenarioStateSchema, description = "`{\"state\": \"...\"}`"),
    responses(
        (status = 200, description = "Set", body = Value),
        (status = 400, description = "The body is not JSON", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an object, or a state that is not a string", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No stub mentions this scenario", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_scenario_state(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<Json, ApiError> {
    let value = json_body(body)?;
    let state = match &value {
        Value::Object(fields) => match fields.get("state") {
            None | Some(Value::Null) => super::stub::STARTED,
            Some(Value::String(state)) => state.as_str(),
            Some(_) => {
                return Err(ApiError::Validation(vec![crate::http::FieldError::new(
                    "state",
                    "must be a string (or null for Started)",
                )]));
            }
        },
        _ => {
            return Err(ApiError::Validation(vec![crate::http::FieldError::new(
                "",
                "must be a JSON object such as {\"state\": \"Started\"}",
            )]));
        }
    };
    if !engine.set_scenario(&name, state) {
        return Err(ApiError::NotFound(format!(
            "no stub mentions scenario {name}"
        )));
    }
    Ok(empty())
}

/// The mock server is up.
#[utoipa::path(get, path = "/__admin/health", tag = TAG,
    responses((status = 200, description = "`{\"status\": \"healthy\", ...}`", body = Value)))]
pub async fn health(State(engine): State<Arc<Engine>>) -> Json {
    let now = crate::clock::now_ms();
    axum::Json(json!({
        "status": "healthy",
        "message": "echobase mocks are serving",
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeInSeconds": engine.uptime_seconds(),
        "timestamp": iso_millis(now),
        "stubs": engine.snapshot().len(),
    }))
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
