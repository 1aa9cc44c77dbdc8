//! Loading, listing and removing documents: the document as a body file and
//! its operations as stubs, replacing those of an earlier version.

use serde::Serialize;
use serde_json::Value;

use super::check_compiles;
use super::document::{self, METADATA_KEY, file_name};
use crate::http::{ApiError, FieldError};
use crate::mocks::engine::Engine;

/// What a load did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Loaded {
    /// The document's name (its stubs' `metadata.echobaseOpenapi.document`).
    pub name: String,
    /// How many operations are served.
    pub operations: usize,
    /// Operations on echobase's own routes, which cannot be mocked.
    pub skipped: Vec<String>,
    /// Stubs of an earlier version of the document that were removed.
    pub removed: usize,
}

/// A loaded document, as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Listed {
    pub name: String,
    pub operations: usize,
}

fn storage(error: crate::mocks::store::StoreError) -> ApiError {
    ApiError::storage(&error, error.is_unavailable())
}

/// Loads `bytes` (JSON or YAML) as document `name` (else a slug of its
/// `info.title`), its operations served under `prefix`.
pub async fn load(
    engine: &Engine,
    name: Option<&str>,
    prefix: &str,
    bytes: &[u8],
) -> Result<Loaded, ApiError> {
    let parsed = document::parse(bytes).map_err(ApiError::BadRequest)?;
    if !parsed.is_object() {
        return Err(ApiError::BadRequest(
            "an OpenAPI document is an object (`openapi`, `info`, `paths`)".into(),
        ));
    }
    let invalid =
        |field: &str, message: String| ApiError::Validation(vec![FieldError::new(field, message)]);
    let name = match name {
        Some(name) => name.to_owned(),
        None => document::slug(
            parsed
                .pointer("/info/title")
                .and_then(Value::as_str)
                .unwrap_or("api"),
        ),
    };
    document::check_name(&name).map_err(|e| invalid("name", e))?;
    document::version(&parsed).map_err(|e| invalid("openapi", e))?;
    let prepared = document::prepare(&name, prefix, &parsed).map_err(|e| invalid("prefix", e))?;
    check_compiles(&prepared.stored, prefix).map_err(|e| invalid("paths", e))?;
    let mut stubs = Vec::with_capacity(prepared.stubs.len());
    for mapping in &prepared.stubs {
        let stub = engine.parse(mapping).map_err(|errors| {
            ApiError::Internal(format!(
                "a stub made from the document is invalid: {errors:?}"
            ))
        })?;
        stubs.push(stub);
    }
    let ids: Vec<String> = stubs.iter().map(|s| s.id.clone()).collect();
    engine
        .files()
        .put(&file_name(&name), &prepared.stored)
        .await
        .map_err(storage)?;
    engine.save(stubs).await.map_err(storage)?;
    let stale: Vec<String> = stub_ids(engine, &name)
        .into_iter()
        .filter(|id| !ids.contains(id))
        .collect();
    engine.remove(&stale).await.map_err(storage)?;
    Ok(Loaded {
        name,
        operations: ids.len(),
        skipped: prepared.skipped,
        removed: stale.len(),
    })
}

/// The ids of the stubs made from document `name`.
fn stub_ids(engine: &Engine, name: &str) -> Vec<String> {
    engine
        .snapshot()
        .stubs()
        .iter()
        .filter(|stub| stub.response.openapi.is_some())
        .filter(|stub| stub.mapping()["metadata"][METADATA_KEY]["document"] == name)
        .map(|stub| stub.id.clone())
        .collect()
}

/// Every loaded document with how many operations it serves.
pub async fn list(engine: &Engine) -> Result<Vec<Listed>, ApiError> {
    let names = engine.files().names().await.map_err(storage)?;
    Ok(names
        .iter()
        .filter_map(|file| file.strip_prefix("openapi/")?.strip_suffix(".json"))
        .map(|name| Listed {
            name: name.to_owned(),
            operations: stub_ids(engine, name).len(),
        })
        .collect())
}

/// Removes document `name` and its stubs; `false` when there was none.
pub async fn remove(engine: &Engine, name: &str) -> Result<bool, ApiError> {
    let ids = stub_ids(engine, name);
    engine.remove(&ids).await.map_err(storage)?;
    let existed = engine
        .files()
        .delete(&file_name(name))
        .await
        .map_err(storage)?;
    Ok(existed || !ids.is_empty())
}

/// Loads the document at `path`, or every `.json`, `.yaml` and `.yml` file
/// of the folder at `path`, each named after its file (`--openapi`).
pub async fn load_path(
    engine: &Engine,
    path: &std::path::Path,
) -> Result<Vec<(String, Loaded)>, String> {
    let files = if path.is_dir() {
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|file| {
                file.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "json" | "yaml" | "yml"))
            })
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut loaded = Vec::new();
    for file in files {
        let shown = file.display().to_string();
        let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {shown}: {e}"))?;
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("api");
        let result = load(engine, Some(&document::slug(stem)), "", &bytes)
            .await
            .map_err(|e| match e {
                ApiError::Validation(errors) => format!(
                    "{shown}: {}",
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                other => format!("{shown}: {other}"),
            })?;
        loaded.push((shown, result));
    }
    Ok(loaded)
}
