//! Mocks served from an OpenAPI document (3.0 or 3.1, JSON or YAML): each
//! operation becomes a stub ([`document::prepare`]) whose response names the
//! operation; serving it checks the request against the document and
//! answers with an example from it, or with one generated from the schema.
//! The document itself is a body file, so every process reads the same one;
//! each compiles it once (per version) when first asked.

pub mod document;
pub mod generate;
pub mod load;
pub mod operation;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonschema::{Draft, Registry};
use serde_json::Value;
use sha2::{Digest, Sha256};

use self::document::{Version, file_name, normalise_30, version};
use self::operation::{DOCUMENT_URI, Operation};
use super::store::FileStore;
use crate::http::ApiError;

/// What a stub made from a document answers with: that operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRef {
    pub document: String,
    /// Of the stored document the stub was made from.
    pub sha256: String,
    pub method: String,
    pub path: String,
    pub prefix: String,
}

/// A stored document, compiled: normalised, registered for `$ref`s, and its
/// operations compiled on first use.
struct Compiled {
    sha256: String,
    document: Arc<Value>,
    registry: Registry<'static>,
    operations: Mutex<HashMap<(String, String, String), Arc<Operation>>>,
}

/// The documents this process has compiled, by name.
#[derive(Default)]
pub struct Documents {
    compiled: Mutex<HashMap<String, Arc<Compiled>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Documents {
    /// The operation a stub names, compiling its document when this process
    /// has not got the version the stub was made from.
    pub async fn operation(
        &self,
        files: &dyn FileStore,
        reference: &OperationRef,
    ) -> Result<Arc<Operation>, ApiError> {
        let cached = lock(&self.compiled)
            .get(&reference.document)
            .filter(|c| c.sha256 == reference.sha256)
            .cloned();
        let compiled = match cached {
            Some(compiled) => compiled,
            None => {
                let stored = files
                    .get(&file_name(&reference.document))
                    .await
                    .map_err(|e| ApiError::storage(&e, e.is_unavailable()))?
                    .ok_or_else(|| {
                        ApiError::NotFound(format!(
                            "the OpenAPI document `{}` is no longer stored; load it again",
                            reference.document
                        ))
                    })?;
                let compiled = Arc::new(compile(&stored).map_err(|e| unservable(reference, &e))?);
                lock(&self.compiled).insert(reference.document.clone(), compiled.clone());
                compiled
            }
        };
        let key = (
            reference.method.clone(),
            reference.path.clone(),
            reference.prefix.clone(),
        );
        if let Some(operation) = lock(&compiled.operations).get(&key) {
            return Ok(operation.clone());
        }
        let operation = Operation::compile(
            compiled.document.clone(),
            &compiled.registry,
            &reference.method,
            &reference.path,
            &reference.prefix,
        )
        .map_err(|e| unservable(reference, &e))?;
        let operation = Arc::new(operation);
        lock(&compiled.operations).insert(key, operation.clone());
        Ok(operation)
    }
}

/// A stored document that does not compile: it was written as a body file
/// rather than loaded (which checks it), so it is the stored state that is
/// wrong, not the request.
fn unservable(reference: &OperationRef, reason: &str) -> ApiError {
    ApiError::Conflict(format!(
        "the stored OpenAPI document `{}` cannot serve {} {}: {reason}; load it again with POST /__admin/openapi",
        reference.document,
        reference.method.to_uppercase(),
        reference.path
    ))
}

fn compile(stored: &[u8]) -> Result<Compiled, String> {
    let sha256: String = Sha256::digest(stored)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut document: Value =
        serde_json::from_slice(stored).map_err(|e| format!("stored OpenAPI document: {e}"))?;
    if version(&document)? == Version::V30 {
        normalise_30(&mut document);
    }
    let registry = Registry::new()
        .add(
            DOCUMENT_URI,
            Draft::Draft202012.create_resource(document.clone()),
        )
        .and_then(|builder| builder.prepare())
        .map_err(|e| format!("the document's schemas cannot be read: {e}"))?;
    Ok(Compiled {
        sha256,
        document: Arc::new(document),
        registry,
        operations: Mutex::new(HashMap::new()),
    })
}

/// Checks `document` as [`Documents::operation`] will read it: every
/// operation compiles (its schemas are valid, its `$ref`s resolve).
pub fn check_compiles(stored: &[u8], prefix: &str) -> Result<(), String> {
    let compiled = compile(stored)?;
    for key in document::operations(&compiled.document) {
        Operation::compile(
            compiled.document.clone(),
            &compiled.registry,
            &key.method,
            &key.path,
            prefix,
        )?;
    }
    Ok(())
}
