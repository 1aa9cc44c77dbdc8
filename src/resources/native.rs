//! `/v1/collections`: list, create and remove collections at run time.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::broadcast::error::RecvError;

use super::compat::Catalog;
use super::model::{self, Document};
use super::store::{
    ChangeKind, CollectionEvent, CollectionInfo, NewCollection, ResourceStore, StoreError,
};
use crate::http::{ApiError, Problem};

#[derive(Clone)]
pub struct NativeState {
    pub store: Arc<dyn ResourceStore>,
    pub catalog: Arc<Catalog>,
    /// `resources.prefix`: where the json-server routes are.
    pub prefix: String,
}

/// A collection as listed: what it holds, and where its routes are.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListedCollection {
    #[serde(flatten)]
    info: CollectionInfo,
    /// The path of its json-server routes: `/posts`, or `/api/posts` under
    /// the prefix `/api`.
    url: String,
}

/// A new collection's content: documents, or one singular document.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCollectionBody {
    /// Its first documents, in order; those without an `id` get one.
    #[schema(value_type = Option<Vec<Object>>)]
    documents: Option<Vec<Document>>,
    /// A singular resource (a top-level object in json-server's db.json).
    #[schema(value_type = Option<Object>)]
    singular: Option<Document>,
    /// A JSON Schema (draft 2020-12 unless its `$schema` says otherwise)
    /// that every document written to the collection must meet; a write
    /// that does not is a 422 naming each property. Remote `$ref`s are refused.
    #[schema(value_type = Option<Object>)]
    schema: Option<Value>,
}

/// Adds documents to a collection in one transaction, in order, each with
/// its `id` or json-server's next one: all or none. One taken id (409) or
/// one document that does not meet the collection's schema (422, each field
/// starting with the document's place: `[3].title`) refuses the batch.
#[utoipa::path(post, path = "/v1/collections/{name}/documents", tag = "resources", operation_id = "collections_insert_many",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$", description = "A collection (not a singular resource)")),
    request_body(content = Vec<Object>, description = "The documents: a JSON array of objects", content_type = "application/json"),
    responses(
        (status = 201, description = "Every document as stored, ids included, in order", body = Vec<Object>),
        (status = 400, description = "Not an array of objects, or not a collection name", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An id is taken, or given twice", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A document does not meet the schema", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn insert_many(
    State(state): State<NativeState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    model::check_name(&name).map_err(ApiError::BadRequest)?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|error| ApiError::MalformedJson(error.to_string()))?;
    let Value::Array(items) = value else {
        return Err(ApiError::BadRequest(
            "the body is a JSON array of documents (objects)".to_owned(),
        ));
    };
    let documents = items
        .into_iter()
        .enumerate()
        .map(|(place, item)| match item {
            Value::Object(document) => Ok(document),
            other => Err(ApiError::BadRequest(format!(
                "document {place} is {}: each document is an object",
                crate::json::kind(&other)
            ))),
        })
        .collect::<Result<Vec<Document>, ApiError>>()?;
    let stored = state.store.insert_many(&name, documents).await?;
    let documents: Vec<Value> = stored
        .into_iter()
        .map(|stored| Value::Object(stored.document))
        .collect();
    Ok((StatusCode::CREATED, Json(documents)).into_response())
}

/// Changes to a collection as server-sent events, made by any client on
/// any process, from the moment of the request: `inserted`, `updated`,
/// `deleted` (with the document's id), `set` (a singular resource),
/// `created`, `dropped`, and `reset` when changes may have been missed
/// (read the collection again). The stream stays open; a comment every 15
/// seconds keeps it so through proxies.
#[utoipa::path(get, path = "/v1/collections/{name}/events", tag = "resources", operation_id = "collections_events",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$", description = "A collection or singular resource")),
    responses(
        (status = 200, description = "`text/event-stream`: `event: inserted`, `data: {\"collection\":\"posts\",\"change\":\"inserted\",\"id\":\"12\"}`, ...",
            content_type = "text/event-stream"),
        (status = 400, description = "Not a collection name", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn events(
    State(state): State<NativeState>,
    Path(name): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    model::check_name(&name).map_err(ApiError::BadRequest)?;
    // Watching first: a change made while the collection is looked up is
    // still sent.
    let watched = state.store.watch().await?;
    if state.store.kind(&name).await?.is_none() {
        return Err(ApiError::NotFound(format!("no collection named `{name}`")));
    }
    let events = futures_util::stream::unfold(watched, move |mut watched| {
        let name = name.clone();
        async move {
            loop {
                let event = match watched.recv().await {
                    Ok(event) if event.collection == name || event.change == ChangeKind::Reset => {
                        event
                    }
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => CollectionEvent {
                        collection: name.clone(),
                        change: ChangeKind::Reset,
                        id: None,
                    },
                    Err(RecvError::Closed) => return None,
                };
                let data = serde_json::json!({
                    "collection": name,
                    "change": event.change,
                    "id": event.id,
                });
                let sent = Event::default()
                    .event(event.change.name())
                    .data(data.to_string());
                return Some((Ok(sent), watched));
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Every collection and singular resource, in creation order.
#[utoipa::path(get, path = "/v1/collections", tag = "resources", operation_id = "collections_list",
    responses((status = 200, description = "The collections", body = Vec<ListedCollection>)))]
pub async fn list(
    State(state): State<NativeState>,
) -> Result<Json<Vec<ListedCollection>>, ApiError> {
    let base = state.prefix.trim_end_matches('/');
    let listed = state
        .store
        .collections()
        .await?
        .into_iter()
        .map(|info| ListedCollection {
            url: format!("{base}/{}", info.name),
            info,
        })
        .collect();
    Ok(Json(listed))
}

/// Creates a collection, empty or with documents, or a singular resource.
/// An existing one is left as it is (200).
#[utoipa::path(put, path = "/v1/collections/{name}", tag = "resources", operation_id = "collections_create",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$", description = "Letters, digits, `_`, `-`, `.` (not first); at most 64")),
    request_body(content = Option<NewCollectionBody>, description = "Optional: no body creates an empty collection. `documents` and `singular` exclude each other (400); a `schema` must be a usable JSON Schema (400) that the first documents meet (422)."),
    responses(
        (status = 201, description = "Created", body = CollectionInfo),
        (status = 200, description = "It existed already: unchanged", body = CollectionInfo),
        (status = 400, description = "A bad name, body or schema", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two documents with one id", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A document does not meet the schema", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<NativeState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    model::check_name(&name).map_err(ApiError::BadRequest)?;
    let mut body: NewCollectionBody = if body.iter().all(u8::is_ascii_whitespace) {
        NewCollectionBody::default()
    } else {
        let value: Value = serde_json::from_slice(&body)
            .map_err(|error| ApiError::MalformedJson(error.to_string()))?;
        match value {
            // `null` says "no content", as no body does.
            Value::Null => NewCollectionBody::default(),
            // Not through serde's derive, which would read an array as the
            // struct's fields in order.
            Value::Object(_) => serde_json::from_value(value)
                .map_err(|error| ApiError::BadRequest(format!("the body: {error}")))?,
            _ => {
                return Err(ApiError::BadRequest(
                    "the body is a JSON object: {\"documents\": [...]} or {\"singular\": {...}}"
                        .to_owned(),
                ));
            }
        }
    };
    let content = match (body.documents.take(), body.singular.take()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give `documents` or `singular`, not both".to_owned(),
            ));
        }
        (documents, None) => NewCollection::Plural(documents.unwrap_or_default()),
        (None, Some(document)) => NewCollection::Singular(document),
    };
    if let Some(schema) = &body.schema {
        // `true` and `false` are JSON Schemas too, but the document says object.
        if !schema.is_object() {
            return Err(ApiError::BadRequest(
                "`schema` is a JSON Schema object".to_owned(),
            ));
        }
        super::schema::compile(schema)
            .map_err(|reason| ApiError::BadRequest(format!("`schema`: {reason}")))?;
    }
    let created = state
        .store
        .create(&name, content, body.schema.as_ref())
        .await?;
    state.catalog.add(&name);
    let info = state
        .store
        .collections()
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("collection `{name}` was removed meanwhile")))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info)).into_response())
}

/// Removes a collection and every document in it.
#[utoipa::path(delete, path = "/v1/collections/{name}", tag = "resources", operation_id = "collections_delete",
    params(("name" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<NativeState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.drop_collection(&name).await? {
        state.catalog.remove(&name);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no collection named `{name}`")))
    }
}

/// A json-server `db.json`'s collections (top-level arrays of objects) and
/// singular resources (objects), in its order; `$schema` is skipped.
pub fn read_seed(text: &str) -> Result<Vec<(String, NewCollection)>, String> {
    let db: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let Value::Object(db) = db else {
        return Err("the data must be a JSON object of collections".to_owned());
    };
    let mut collections = Vec::new();
    for (name, value) in db {
        if name == "$schema" {
            continue;
        }
        model::check_name(&name)?;
        let content = match value {
            Value::Object(document) => NewCollection::Singular(document),
            Value::Array(items) => NewCollection::Plural(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::Object(document) => Ok(document),
                        other => Err(format!(
                            "`{name}` holds {other}: a collection holds objects"
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => {
                return Err(format!(
                    "`{name}` is {other}: use objects or arrays of objects"
                ));
            }
        };
        collections.push((name, content));
    }
    Ok(collections)
}

/// Every collection and singular resource, in creation order, in db.json's
/// shape: `GET /db` and `echobase resources export`.
pub async fn export(store: &dyn ResourceStore) -> Result<Value, StoreError> {
    let mut db = Map::new();
    for collection in store.collections().await? {
        let value = if collection.singular {
            store.singular(&collection.name).await?.map(Value::Object)
        } else {
            store.documents(&collection.name).await?.map(|documents| {
                Value::Array(documents.iter().cloned().map(Value::Object).collect())
            })
        };
        if let Some(value) = value {
            db.insert(collection.name, value);
        }
    }
    Ok(Value::Object(db))
}
