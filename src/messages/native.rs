//! The native API: `/v1/messages`, content-addressed by lower-case SHA-256,
//! problem+json errors.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::{Body as ResponseBody, Bytes};
use axum::extract::{FromRef, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use serde::{Deserialize, Serialize};

use super::integrity;
use super::model::{Content, ContentHasher, Digest};
use super::range::{self, RangeAnswer};
use super::store::{MessageStore, PutOutcome, StoreError};
use crate::http::conditional;
use crate::http::extract::{Json, json_rejection, media_type};
use crate::http::openapi_document::AnyBytes;
use crate::http::{ApiError, FieldError, Problem};

const OCTET_STREAM: &str = "application/octet-stream";
const TEXT_UTF8: &str = "text/plain; charset=utf-8";
/// Content is immutable: caches may keep it for a year without asking again.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Longest content type stored with a message.
const MAX_CONTENT_TYPE_LEN: usize = 255;

/// What the message routes share.
#[derive(Clone)]
pub struct MessagesState {
    pub store: Arc<dyn MessageStore>,
    /// Largest body `POST /v1/messages` reads (`messages.max_size`).
    pub max_size: usize,
    /// Most digests one lookup takes (`messages.max_lookup`).
    pub max_lookup: usize,
}

impl FromRef<MessagesState> for Arc<dyn MessageStore> {
    fn from_ref(state: &MessagesState) -> Self {
        state.store.clone()
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTextMessage {
    /// Stored as UTF-8 text (`text/plain; charset=utf-8`).
    message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoredDigest {
    /// SHA-256 of the stored bytes, lower-case hex.
    digest: String,
    /// Size of the stored content in bytes.
    size: u64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Up to `messages.max_lookup` (1000) SHA-256 digests, hex, either case.
    #[schema(inline, max_items = 1000, value_type = Vec<DigestText>)]
    digests: Vec<String>,
}

/// A SHA-256 digest: 64 hex characters, either case.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, pattern = "^[0-9a-fA-F]{64}$")]
#[allow(dead_code)] // Documentation only: digests are read as text and parsed.
pub struct DigestText(String);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LookupResult {
    /// The digests that are stored, with their sizes, in request order.
    found: Vec<StoredDigest>,
    /// The digests that are not, lower-case, in request order.
    missing: Vec<String>,
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::storage(&error, error.is_unavailable())
    }
}

/// Store a message: a JSON `{"message": "..."}` (stored as UTF-8 text), or
/// any other body as raw bytes with its content type. Answers 201, or 200 when
/// the content was already stored.
///
/// A `Content-Digest` (RFC 9530, `sha-256=:<base64>:`) or `Digest` (RFC 3230,
/// `sha-256=<base64>`) request header is checked against the body: SHA-256
/// and SHA-512 are checked, a header naming neither is refused, and a
/// mismatch stores nothing (400). They are not listed as parameters: a valid
/// one depends on the body.
#[utoipa::path(post, path = "/v1/messages", tag = "messages", operation_id = "messages_create",
    request_body(content(
        (NewTextMessage = "application/json"),
        (AnyBytes = "application/octet-stream"),
    ), description = "Optional (see `finish_document`): no body at all stores the empty message"),
    responses(
        (status = 201, description = "Stored", body = StoredDigest,
            headers(("location" = String, description = "Where to fetch it"))),
        (status = 200, description = "Already stored", body = StoredDigest,
            headers(("location" = String, description = "Where to fetch it"))),
        (status = 400, description = "Malformed JSON or digest header, or the body does not match the digest sent", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over `messages.max_size`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<MessagesState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let content_type = match parts.headers.get(header::CONTENT_TYPE) {
        None => OCTET_STREAM.to_owned(),
        Some(value) => content_type_of(value)?,
    };
    let claims = integrity::claims(&parts.headers)?;
    let received = read_body(body, &parts.headers, state.max_size).await?;
    integrity::verify(&claims, &received)?;

    let (content, content_type) = if is_json(&content_type) {
        let text = axum::Json::<NewTextMessage>::from_bytes(received.bytes())
            .map_err(|rejection| json_rejection(rejection, state.max_size))?;
        (
            Content::new(text.0.message.into_bytes()),
            TEXT_UTF8.to_owned(),
        )
    } else {
        (received, content_type)
    };
    let digest = content.digest();
    let size = content.len() as u64;
    let outcome = state.store.put(content, content_type).await?;
    let status = match outcome {
        PutOutcome::Created => StatusCode::CREATED,
        PutOutcome::AlreadyStored => StatusCode::OK,
    };
    let hex = digest.to_lower_hex();
    let location = HeaderValue::from_str(&format!("/v1/messages/{hex}"))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = StoredDigest { digest: hex, size };
    Ok((status, [(header::LOCATION, location)], axum::Json(body)).into_response())
}

/// The stored bytes with their original content type. `ETag` is the digest;
/// content never changes, so responses are cacheable forever. Supports
/// `If-None-Match` (304) and a single byte `Range` (206; 416 past the end;
/// several ranges get the whole content).
#[utoipa::path(get, path = "/v1/messages/{digest}", tag = "messages", operation_id = "messages_fetch",
    params(
        ("digest" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "SHA-256, 64 hex characters, either case"),
        ("range" = Option<String>, Header, description = "One byte range: `bytes=0-99`, `bytes=100-`, `bytes=-100`"),
        ("if-none-match" = Option<String>, Header, description = "The `ETag` you hold: 304 if it is still there"),
    ),
    responses(
        (status = 200, description = "The content, with the content type it was stored with", body = AnyBytes, content_type = "*/*"),
        (status = 206, description = "The requested range", body = AnyBytes, content_type = "*/*",
            headers(("content-range" = String, description = "`bytes first-last/size`"))),
        (status = 304, description = "Not modified (it never is)"),
        (status = 400, description = "Not a SHA-256 hex digest", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown digest", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range is past the end", body = Problem, content_type = "application/problem+json",
            headers(("content-range" = String, description = "`bytes */size`"))),
    ))]
pub async fn fetch(
    State(store): State<Arc<dyn MessageStore>>,
    Path(digest): Path<String>,
    // The whole request, to read its headers in place: the `HeaderMap`
    // extractor copies them all.
    request: Request,
) -> Result<Response, ApiError> {
    let headers = request.headers();
    let digest = parse_digest(&digest)?;
    let etag = etag_of(digest);
    if conditional::none_match(headers, &etag) {
        return match store.info(&digest).await? {
            Some(_) => Ok(not_modified(&etag)),
            None => Err(not_found(digest)),
        };
    }
    let stored = store.get(&digest).await?.ok_or_else(|| not_found(digest))?;
    let size = stored.content.len() as u64;
    let answer = range::evaluate(
        headers.get(header::RANGE),
        headers.get(header::IF_RANGE),
        &etag,
        size,
    );
    let mut response = match answer {
        RangeAnswer::Full => stored.content.into_response(),
        RangeAnswer::Partial(range) => {
            let part = slice(&stored.content, range.clone());
            let mut response = (StatusCode::PARTIAL_CONTENT, part).into_response();
            insert_text(
                response.headers_mut(),
                header::CONTENT_RANGE,
                &format!("bytes {}-{}/{size}", range.start, range.end - 1),
            );
            response
        }
        RangeAnswer::Unsatisfiable => {
            return Ok(ApiError::RangeNotSatisfiable { size }.into_response());
        }
    };
    content_headers(response.headers_mut(), &stored.content_type, &etag);
    Ok(response)
}

/// The headers `GET` would send (with the full `Content-Length`), no body,
/// and without reading the content when it is not in memory.
#[utoipa::path(head, path = "/v1/messages/{digest}", tag = "messages", operation_id = "messages_head",
    params(("digest" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "SHA-256, 64 hex characters, either case")),
    responses(
        (status = 200, description = "Stored: size in `Content-Length`"),
        (status = 304, description = "Not modified"),
        (status = 400, description = "Not a SHA-256 hex digest"),
        (status = 404, description = "Unknown digest"),
    ))]
pub async fn head(
    State(store): State<Arc<dyn MessageStore>>,
    Path(digest): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let digest = parse_digest(&digest)?;
    let etag = etag_of(digest);
    let info = store
        .info(&digest)
        .await?
        .ok_or_else(|| not_found(digest))?;
    if conditional::none_match(&headers, &etag) {
        return Ok(not_modified(&etag));
    }
    // A range is defined for GET only (RFC 9110 §14.2): HEAD ignores it.
    let mut response = ResponseBody::empty().into_response();
    let headers = response.headers_mut();
    content_headers(headers, &info.content_type, &etag);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size));
    Ok(response)
}

/// Delete a message. Behind the `messages:write` scope once API keys exist
/// (see `messages::write_routes`).
#[utoipa::path(delete, path = "/v1/messages/{digest}", tag = "messages", operation_id = "messages_delete",
    params(("digest" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "SHA-256, 64 hex characters, either case")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Not a SHA-256 hex digest", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown digest", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(store): State<Arc<dyn MessageStore>>,
    Path(digest): Path<String>,
) -> Result<StatusCode, ApiError> {
    let digest = parse_digest(&digest)?;
    if store.delete(&digest).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(digest))
    }
}

/// Which of many digests are stored, with their sizes: one round trip to
/// find what still needs uploading.
#[utoipa::path(post, path = "/v1/messages:lookup", tag = "messages", operation_id = "messages_lookup",
    request_body(content = LookupRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Found and missing digests", body = LookupResult),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over the body limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than `messages.max_lookup` (1000) digests, one that is not a digest, or a field that is not `digests`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn lookup(
    State(state): State<MessagesState>,
    Json(request): Json<LookupRequest>,
) -> Result<axum::Json<LookupResult>, ApiError> {
    let store = &state.store;
    if request.digests.len() > state.max_lookup {
        return Err(ApiError::Validation(vec![FieldError::new(
            "digests",
            format!(
                "at most {} digests per lookup (messages.max_lookup), got {}",
                state.max_lookup,
                request.digests.len()
            ),
        )]));
    }
    let mut errors = Vec::new();
    let mut seen = HashSet::with_capacity(request.digests.len());
    let mut digests = Vec::with_capacity(request.digests.len());
    for (i, text) in request.digests.iter().enumerate() {
        match Digest::parse(text) {
            Ok(digest) => {
                if seen.insert(digest) {
                    digests.push(digest);
                }
            }
            Err(e) => errors.push(FieldError::new(format!("digests.{i}"), e.to_string())),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let sizes: std::collections::HashMap<Digest, u64> =
        store.sizes(&digests).await?.into_iter().collect();
    let mut result = LookupResult {
        found: Vec::new(),
        missing: Vec::new(),
    };
    for digest in digests {
        match sizes.get(&digest) {
            Some(size) => result.found.push(StoredDigest {
                digest: digest.to_lower_hex(),
                size: *size,
            }),
            None => result.missing.push(digest.to_lower_hex()),
        }
    }
    Ok(axum::Json(result))
}

/// Writes into the messages routes' document what their annotations cannot
/// hold: the configured `messages.max_lookup` as the most digests a lookup
/// takes, and that `POST /v1/messages` needs no body (an annotation makes
/// a body optional only by making `null` a valid one, which it is not).
pub fn finish_document(openapi: &mut utoipa::openapi::OpenApi, max_lookup: usize) {
    use utoipa::openapi::{RefOr, Required, Schema};
    if let Some(body) = openapi
        .paths
        .paths
        .get_mut("/v1/messages")
        .and_then(|item| item.post.as_mut())
        .and_then(|operation| operation.request_body.as_mut())
        && let RefOr::T(body) = body
    {
        body.required = Some(Required::False);
    }
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(Schema::Object(request))) = components.schemas.get_mut("LookupRequest")
    else {
        return;
    };
    if let Some(RefOr::T(Schema::Array(digests))) = request.properties.get_mut("digests") {
        digests.max_items = Some(max_lookup);
    }
}

/// Reads the body as it streams in, hashing on the way, and refuses it as
/// soon as it is over `limit` (at once when `Content-Length` says so).
async fn read_body(
    body: axum::body::Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Content, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let expected = declared.map_or(0, |n| usize::try_from(n).unwrap_or(limit));
    let mut hasher = ContentHasher::with_capacity(expected.min(limit));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ApiError::BadRequest(format!("could not read the request body: {e}")))?;
        if let Ok(chunk) = frame.into_data() {
            if hasher.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            hasher.update(&chunk);
        }
    }
    Ok(hasher.finish())
}

fn content_type_of(value: &HeaderValue) -> Result<String, ApiError> {
    let text = value
        .to_str()
        .map_err(|_| ApiError::BadRequest("Content-Type must be ASCII text".into()))?;
    if text.len() > MAX_CONTENT_TYPE_LEN {
        return Err(ApiError::BadRequest(format!(
            "Content-Type is {} characters long; at most {MAX_CONTENT_TYPE_LEN} are stored",
            text.len()
        )));
    }
    Ok(text.to_owned())
}

fn parse_digest(text: &str) -> Result<Digest, ApiError> {
    Digest::parse(text).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn not_found(digest: Digest) -> ApiError {
    ApiError::NotFound(format!("no message has digest {}", digest.to_lower_hex()))
}

fn etag_of(digest: Digest) -> String {
    let mut etag = String::with_capacity(66);
    etag.push('"');
    etag.push_str(&digest.to_lower_hex());
    etag.push('"');
    etag
}

fn slice(content: &Bytes, range: std::ops::Range<u64>) -> Bytes {
    let len = content.len();
    let start = usize::try_from(range.start).unwrap_or(len).min(len);
    let end = usize::try_from(range.end).unwrap_or(len).clamp(start, len);
    content.slice(start..end)
}

fn insert_text(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn content_headers(headers: &mut HeaderMap, content_type: &str, etag: &str) {
    let content_type = HeaderValue::from_str(content_type)
        .unwrap_or_else(|_| HeaderValue::from_static(OCTET_STREAM));
    headers.insert(header::CONTENT_TYPE, content_type);
    validator_headers(headers, etag);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
}

fn validator_headers(headers: &mut HeaderMap, etag: &str) {
    insert_text(headers, header::ETAG, etag);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
}

fn not_modified(etag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    validator_headers(response.headers_mut(), etag);
    response
}

fn is_json(content_type: &str) -> bool {
    media_type(content_type) == "application/json"
}
