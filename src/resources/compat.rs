//! json-server 0.17's routes over the store: `GET /db`, `/{name}`,
//! `/{name}/{id}`, `/{parent}/{id}/{name}`, with its status codes, its empty
//! `{}` bodies, its headers (`X-Total-Count`, `Link`, `Location`, no-cache,
//! CORS for any origin) and its two-space JSON.
//!
//! They are one handler behind the server's fallback: it answers the
//! requests [`Catalog::claims`] takes (paths naming a collection), so a
//! module's own route, and with the default prefix `/` a mock stub, is never
//! shadowed by a collection it does not name.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::model::{self, Document, ID};
use super::query::{self, ListQuery, Listed};
use super::store::{
    Change, Cut, Expected, Kind, ResourceStore, Snapshot, StoreError, Stored, Written,
};
use crate::http::ApiError;
use crate::http::conditional::{self, Condition};

/// The names of the collections, kept in memory so that routing a request
/// reads no database; this process's changes update it at once, other
/// processes' within [`super::CATALOG_REFRESH`].
#[derive(Debug, Default)]
pub struct Catalog {
    names: RwLock<HashSet<String>>,
}

impl Catalog {
    pub fn replace(&self, names: impl IntoIterator<Item = String>) {
        *self.names.write().unwrap_or_else(PoisonError::into_inner) = names.into_iter().collect();
    }

    pub fn add(&self, name: &str) {
        self.names
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned());
    }

    pub fn remove(&self, name: &str) {
        self.names
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    fn holds(&self, name: &str) -> bool {
        self.names
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(name)
    }

    fn is_empty(&self) -> bool {
        self.names
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// Whether the json-server routes answer `path`: under a prefix of
    /// their own, every path; under `/`, only the paths that name a
    /// collection (and `/db` once there is one).
    pub fn claims(&self, prefix: &str, path: &str) -> bool {
        let Some(segments) = segments(prefix, path) else {
            return false;
        };
        if prefix != "/" {
            return true;
        }
        match segments.as_slice() {
            [db] if db == "db" => !self.is_empty(),
            [name] | [name, _] | [_, _, name] => self.holds(name),
            _ => false,
        }
    }
}

/// The decoded path segments below `prefix` (a trailing slash ignored, as
/// Express does); `None` when the path is not below it.
fn segments(prefix: &str, path: &str) -> Option<Vec<String>> {
    let rest = if prefix == "/" {
        path
    } else {
        let rest = path.strip_prefix(prefix)?;
        if !rest.is_empty() && !rest.starts_with('/') {
            return None;
        }
        rest
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Some(Vec::new());
    }
    Some(
        rest.split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect(),
    )
}

/// What the handler needs.
#[derive(Clone)]
pub struct CompatState {
    pub store: Arc<dyn ResourceStore>,
    pub catalog: Arc<Catalog>,
    pub prefix: String,
    pub cors: bool,
    pub body_limit: usize,
}

/// Every json-server route.
pub async fn handle(State(state): State<CompatState>, request: Request) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = if state.cors && request.method() == Method::OPTIONS {
        preflight(request.headers())
    } else {
        match route(&state, request).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    };
    if state.cors {
        allow_origin(response.headers_mut(), origin);
    }
    response
}

/// What json-server's `cors({origin: true, credentials: true})` answers an
/// `OPTIONS`: 204, the methods, and the headers asked for.
fn preflight(request: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
    );
    if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        headers.append(
            header::VARY,
            HeaderValue::from_static("Access-Control-Request-Headers"),
        );
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

fn allow_origin(headers: &mut HeaderMap, origin: Option<HeaderValue>) {
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    // The `cors` package sends it with or without an `Origin`.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::DuplicateId { .. } => ApiError::Conflict(error.to_string()),
            StoreError::NoCollection(_) => ApiError::NotFound(error.to_string()),
            StoreError::Invalid(violations) => ApiError::Validation(
                violations
                    .into_iter()
                    .map(|v| crate::http::FieldError::new(v.field, v.message))
                    .collect(),
            ),
            other => ApiError::storage(&other, other.is_unavailable()),
        }
    }
}

/// The request as json-server routes it.
struct Call {
    method: Method,
    uri: Uri,
    host: String,
    query: Option<String>,
    headers: HeaderMap,
}

impl Call {
    /// `getFullURL`: the address the client asked for, query included.
    fn full_url(&self) -> String {
        let path = self.uri.path_and_query().map_or("/", |p| p.as_str());
        format!("http://{}{path}", self.host)
    }
}

async fn route(state: &CompatState, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let mut method = parts.method.clone();
    if method == Method::HEAD {
        method = Method::GET;
    }
    let call = Call {
        method,
        host: parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_owned(),
        query: parts.uri.query().map(str::to_owned),
        uri: parts.uri,
        headers: parts.headers,
    };
    let segments = segments(&state.prefix, call.uri.path()).unwrap_or_default();
    let store = state.store.as_ref();
    let reads_body = matches!(call.method, Method::POST | Method::PUT | Method::PATCH);
    let body = if reads_body {
        read_body(&call.headers, body, state.body_limit).await?
    } else {
        Document::new()
    };
    match segments.as_slice() {
        [db] if db == "db" && call.method == Method::GET => {
            Ok(json(StatusCode::OK, &super::native::export(store).await?))
        }
        [name] => match store.kind(name).await? {
            Some(Kind::Plural) => plural(store, &call, name, body).await,
            Some(Kind::Singular) => singular(store, &call, name, body).await,
            None => Ok(not_found()),
        },
        [name, id] if store.kind(name).await? == Some(Kind::Plural) => {
            one(store, &call, name, id, body).await
        }
        [parent, id, name] if store.kind(name).await? == Some(Kind::Plural) => {
            let key = model::foreign_key(parent);
            match call.method {
                Method::GET => {
                    let mut query = list_query(&call)?;
                    query.require(&key, id);
                    list(store, &call, name, query).await
                }
                Method::POST => {
                    let mut body = body;
                    body.insert(key, Value::String(id.clone()));
                    create(store, &call, name, body).await
                }
                _ => Ok(not_found()),
            }
        }
        _ => Ok(not_found()),
    }
}

/// Express's body parsers as json-server sets them up: JSON objects,
/// URL-encoded forms, and anything else as no fields at all.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Document, ApiError> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit })?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if bytes.is_empty() {
        return Ok(Document::new());
    }
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        return match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(document)) => Ok(document),
            Ok(_) => Err(ApiError::BadRequest(
                "a document is a JSON object".to_owned(),
            )),
            Err(error) => Err(ApiError::MalformedJson(error.to_string())),
        };
    }
    if mime == "application/x-www-form-urlencoded" {
        let mut form = Document::new();
        for (key, value) in query::parameters(std::str::from_utf8(&bytes).ok()) {
            let value = match <[String; 1]>::try_from(value) {
                Ok([one]) => Value::String(one),
                Err(many) => Value::from(many),
            };
            form.insert(key, value);
        }
        return Ok(form);
    }
    Ok(Document::new())
}

fn list_query(call: &Call) -> Result<ListQuery, ApiError> {
    ListQuery::parse(query::parameters(call.query.as_deref()))
        .map_err(|error| ApiError::BadRequest(error.to_string()))
}

/// `/{name}` of a collection.
async fn plural(
    store: &dyn ResourceStore,
    call: &Call,
    name: &str,
    body: Document,
) -> Result<Response, ApiError> {
    match call.method {
        Method::GET => list(store, call, name, list_query(call)?).await,
        Method::POST => create(store, call, name, body).await,
        _ => Ok(not_found()),
    }
}

async fn list(
    store: &dyn ResourceStore,
    call: &Call,
    name: &str,
    query: ListQuery,
) -> Result<Response, ApiError> {
    if let Some(after) = query.after() {
        return cursor_page(store, call, name, &query, after).await;
    }
    // A collection too large for memory answers equality filters on
    // indexed fields from its indexes, reading only the page.
    let found = match query.equalities() {
        Some(filters) => {
            let window = |total| query.window(total).range;
            store.find(name, &filters, Cut::Window(&window)).await?
        }
        None => None,
    };
    let (snapshot, page);
    let listed = match found {
        Some(found) => {
            let window = query.window(found.total);
            page = found.documents;
            Listed {
                items: page.iter().collect(),
                total: window.total,
                page: window.page,
            }
        }
        None => {
            let Some(documents) = store.documents(name).await? else {
                return Ok(not_found());
            };
            snapshot = documents;
            query.apply(&snapshot)
        }
    };
    let mut response = items_answer(store, name, &query, &listed.items).await?;
    let headers = response.headers_mut();
    if let Some(total) = listed.total {
        headers.insert("x-total-count", HeaderValue::from(total));
        let exposed = if listed.page.is_some() {
            "X-Total-Count, Link"
        } else {
            "X-Total-Count"
        };
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(exposed),
        );
    }
    if let Some(page) = listed.page
        && let Ok(link) = HeaderValue::from_str(&page.header(&call.full_url()))
    {
        headers.insert(header::LINK, link);
    }
    Ok(response)
}

/// `_cursor`'s page: the next `_limit` matching documents in insertion
/// order, and a `Link` to the page after it while any document follows.
async fn cursor_page(
    store: &dyn ResourceStore,
    call: &Call,
    name: &str,
    query: &ListQuery,
    after: i64,
) -> Result<Response, ApiError> {
    let limit = query.cursor_limit();
    let found = match query.equalities() {
        Some(filters) => {
            let cut = Cut::After {
                position: after,
                limit,
            };
            store.find(name, &filters, cut).await?
        }
        None => None,
    };
    let (snapshot, page);
    let (items, next) = match found {
        Some(found) => {
            let next = (found.documents.len() > limit)
                .then(|| found.positions.get(limit - 1).copied())
                .flatten();
            page = found.documents;
            (page.iter().take(limit).collect(), next)
        }
        None => {
            let Some(documents) = store.documents(name).await? else {
                return Ok(not_found());
            };
            snapshot = documents;
            query.after_page(&snapshot, snapshot.positions(), after)
        }
    };
    let mut response = items_answer(store, name, query, &items).await?;
    if let Some(next) = next {
        let url = with_cursor(&call.full_url(), next);
        if let Ok(link) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
            let headers = response.headers_mut();
            headers.insert(header::LINK, link);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("Link"),
            );
        }
    }
    Ok(response)
}

/// A list's documents as its answer, with `_embed` and `_expand` added.
async fn items_answer(
    store: &dyn ResourceStore,
    name: &str,
    query: &ListQuery,
    items: &[&Document],
) -> Result<Response, ApiError> {
    if query.embed.is_empty() && query.expand.is_empty() {
        return Ok(json(StatusCode::OK, &items));
    }
    let relations = Relations::load(store, name, query).await?;
    let items: Vec<Document> = items
        .iter()
        .map(|item| {
            let mut item = (*item).clone();
            relations.add(&mut item);
            item
        })
        .collect();
    Ok(json(StatusCode::OK, &items))
}

/// `url` with its `_cursor` parameter set to `position`.
fn with_cursor(url: &str, position: i64) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut rebuilt = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == "_cursor" {
            rebuilt.append_pair(&key, &position.to_string());
        } else {
            rebuilt.append_pair(&key, &value);
        }
    }
    format!("{path}?{}", rebuilt.finish())
}

async fn create(
    store: &dyn ResourceStore,
    call: &Call,
    name: &str,
    body: Document,
) -> Result<Response, ApiError> {
    let stored = store.insert(name, body).await?;
    let id = stored
        .document
        .get(ID)
        .map(model::js_string)
        .unwrap_or_default();
    let mut response = tagged(StatusCode::CREATED, &stored);
    located(&mut response, &format!("{}/{id}", call.full_url()));
    Ok(response)
}

fn located(response: &mut Response, location: &str) {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location"),
    );
    if let Ok(location) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, location);
    }
}

/// `/{name}/{id}`, with `ETag`s: `If-None-Match` on a read (304) and
/// `If-Match` on a write (412 when the document changed meanwhile).
async fn one(
    store: &dyn ResourceStore,
    call: &Call,
    name: &str,
    id: &str,
    body: Document,
) -> Result<Response, ApiError> {
    let expected = expected(&call.headers);
    let written = match call.method {
        Method::GET => {
            let Some(mut stored) = store.document(name, id).await? else {
                return Ok(not_found());
            };
            let etag = quoted(&stored.etag);
            if conditional::none_match(&call.headers, &etag) {
                return Ok(conditional::not_modified(&etag));
            }
            let query = list_query(call)?;
            if !query.embed.is_empty() || !query.expand.is_empty() {
                Relations::load(store, name, &query)
                    .await?
                    .add(&mut stored.document);
            }
            return Ok(tagged(StatusCode::OK, &stored));
        }
        Method::PUT => {
            store
                .update(name, id, body, Change::Replace, &expected)
                .await?
        }
        Method::PATCH => {
            let change = if is_merge_patch(&call.headers) {
                Change::MergePatch
            } else {
                Change::Merge
            };
            store.update(name, id, body, change, &expected).await?
        }
        Method::DELETE => match store.delete(name, id, &expected).await? {
            Written::Done(()) => return Ok(json(StatusCode::OK, &Map::new())),
            Written::Missing => Written::Missing,
            Written::Stale(current) => Written::Stale(current),
        },
        _ => Written::Missing,
    };
    match written {
        Written::Done(stored) => Ok(tagged(StatusCode::OK, &stored)),
        Written::Missing => Ok(not_found()),
        Written::Stale(current) => Err(ApiError::PreconditionFailed {
            detail: format!(
                "`{name}/{id}` has changed since you read it (If-Match does not match its \
                 current ETag \"{current}\"); fetch it again and reapply your change"
            ),
            current_etag: quoted(&current),
        }),
    }
}

/// The `If-Match` condition: strong tags only, as RFC 9110 compares them.
fn expected(headers: &HeaderMap) -> Expected {
    match Condition::of(headers, header::IF_MATCH) {
        None | Some(Condition::Any) => Expected::Any,
        Some(condition) => Expected::Tags(condition.strong_tags().map(str::to_owned).collect()),
    }
}

fn is_merge_patch(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/merge-patch+json")
        })
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// A document's answer with its `ETag`.
fn tagged(status: StatusCode, stored: &Stored) -> Response {
    let mut response = json(status, &stored.document);
    if let Ok(etag) = HeaderValue::from_str(&quoted(&stored.etag)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// `/{name}` of a singular resource.
async fn singular(
    store: &dyn ResourceStore,
    call: &Call,
    name: &str,
    body: Document,
) -> Result<Response, ApiError> {
    let (status, found) = match call.method {
        Method::GET => (StatusCode::OK, store.singular(name).await?),
        Method::POST => (
            StatusCode::CREATED,
            store.set_singular(name, body, Change::Replace).await?,
        ),
        Method::PUT => (
            StatusCode::OK,
            store.set_singular(name, body, Change::Replace).await?,
        ),
        Method::PATCH => (
            StatusCode::OK,
            store.set_singular(name, body, Change::Merge).await?,
        ),
        _ => (StatusCode::NOT_FOUND, None),
    };
    let Some(document) = found else {
        return Ok(not_found());
    };
    let mut response = json(status, &Value::Object(document));
    if status == StatusCode::CREATED {
        located(&mut response, &call.full_url());
    }
    Ok(response)
}

/// `_embed` and `_expand`, with the collections they read loaded once.
struct Relations {
    /// Per embedded collection: its documents, and the key naming ours.
    embed: Vec<(String, Arc<Snapshot>)>,
    /// Per expanded property: the documents of its collection by id text.
    expand: Vec<(String, Option<HashMap<String, Document>>)>,
    foreign_key: String,
}

impl Relations {
    async fn load(
        store: &dyn ResourceStore,
        name: &str,
        query: &ListQuery,
    ) -> Result<Relations, ApiError> {
        let mut embed = Vec::new();
        for other in &query.embed {
            // json-server embeds an empty list for a collection it lacks.
            let documents = store.documents(other).await?.unwrap_or_default();
            embed.push((other.clone(), documents));
        }
        let mut expand = Vec::new();
        for property in &query.expand {
            let documents = store
                .documents(&model::plural(property))
                .await?
                .map(|documents| {
                    let mut by_id = HashMap::new();
                    for document in documents.iter() {
                        if let Some(id) = model::id_text(document) {
                            by_id.entry(id).or_insert_with(|| document.clone());
                        }
                    }
                    by_id
                });
            expand.push((property.clone(), documents));
        }
        Ok(Relations {
            embed,
            expand,
            foreign_key: model::foreign_key(name),
        })
    }

    fn add(&self, document: &mut Document) {
        let id = document.get(ID).cloned().unwrap_or(Value::Null);
        for (other, documents) in &self.embed {
            let naming: Vec<Value> = documents
                .iter()
                .filter(|d| d.get(&self.foreign_key).is_some_and(|v| js_equal(v, &id)))
                .cloned()
                .map(Value::Object)
                .collect();
            document.insert(other.clone(), Value::Array(naming));
        }
        for (property, by_id) in &self.expand {
            let Some(by_id) = by_id else { continue };
            let key = format!("{property}{}", model::FOREIGN_KEY_SUFFIX);
            let found = document
                .get(&key)
                .filter(|v| !v.is_null())
                .and_then(|v| by_id.get(&model::js_string(v)))
                .cloned();
            match found {
                Some(found) => {
                    document.insert(property.clone(), Value::Object(found));
                }
                // `undefined` in json-server: the property is left out.
                None => {
                    document.shift_remove(property);
                }
            }
        }
    }
}

/// lodash's `isEqual` for JSON: numbers by value (`1` is `1.0`).
fn js_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}

/// json-server's answer when nothing is found: 404 with `{}`.
fn not_found() -> Response {
    json(StatusCode::NOT_FOUND, &Value::Object(Map::new()))
}

/// Express's `res.jsonp` with `json spaces` 2, and json-server's no-cache
/// headers.
fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_owned());
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::EXPIRES, HeaderValue::from_static("-1"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_prefix_claims_only_paths_naming_a_collection() {
        let catalog = Catalog::default();
        assert!(!catalog.claims("/", "/db"));
        catalog.add("posts");
        assert!(catalog.claims("/", "/posts"));
        assert!(catalog.claims("/", "/posts/"));
        assert!(catalog.claims("/", "/posts/1"));
        assert!(catalog.claims("/", "/users/1/posts"));
        assert!(catalog.claims("/", "/db"));
        assert!(!catalog.claims("/", "/comments"));
        assert!(!catalog.claims("/", "/posts/1/comments"));
        assert!(!catalog.claims("/", "/a/b/c/posts"));
        catalog.remove("posts");
        assert!(!catalog.claims("/", "/posts"));
    }

    #[test]
    fn a_prefix_of_its_own_claims_everything_below_it() {
        let catalog = Catalog::default();
        assert!(catalog.claims("/api", "/api/anything/at/all"));
        assert!(catalog.claims("/api", "/api"));
        assert!(!catalog.claims("/api", "/apiary"));
        assert!(!catalog.claims("/api", "/posts"));
        assert_eq!(
            segments("/api", "/api/a%20b/1/").unwrap(),
            vec!["a b".to_owned(), "1".to_owned()]
        );
    }
}
