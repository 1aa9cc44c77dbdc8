//! The native API: `/v1/messages`, content-addressed by lower-case SHA-256,
//! problem+json errors.

use std::sync::Arc;

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::model::Digest;
use super::store::{MessageStore, PutOutcome, StoreError};
use crate::http::ApiError;
use crate::http::extract::{Body, Json};

const OCTET_STREAM: &str = "application/octet-stream";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTextMessage {
    /// Stored as UTF-8 text.
    message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoredDigest {
    /// SHA-256 of the stored bytes, lower-case hex.
    digest: String,
    /// Size of the stored content in bytes.
    size: usize,
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

/// Store a message: a JSON `{"message": "..."}`, or any other body as raw
/// bytes with its content type. Answers 201, or 200 when it was already stored.
#[utoipa::path(post, path = "/v1/messages", tag = "messages",
    request_body(content(
        (NewTextMessage = "application/json"),
        (Vec<u8> = "application/octet-stream"),
    )),
    responses(
        (status = 201, description = "Stored", body = StoredDigest,
            headers(("location" = String, description = "Where to fetch it"))),
        (status = 200, description = "Already stored", body = StoredDigest),
        (status = 400, description = "Malformed JSON", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over the body limit", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(store): State<Arc<dyn MessageStore>>,
    request: Request,
) -> Result<Response, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(OCTET_STREAM)
        .to_owned();
    let (content, content_type) = if is_json(&content_type) {
        let Json(text) = Json::<NewTextMessage>::from_request(request, &()).await?;
        (
            text.message.into_bytes(),
            "text/plain; charset=utf-8".to_owned(),
        )
    } else {
        let Body(bytes) = Body::from_request(request, &()).await?;
        (bytes.to_vec(), content_type)
    };
    let (digest, outcome) = store.put(&content, &content_type).await?;
    let hex = digest.to_lower_hex();
    let status = match outcome {
        PutOutcome::Created => StatusCode::CREATED,
        PutOutcome::AlreadyStored => StatusCode::OK,
    };
    let location = HeaderValue::from_str(&format!("/v1/messages/{hex}"))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = StoredDigest {
        digest: hex,
        size: content.len(),
    };
    Ok((status, [(header::LOCATION, location)], axum::Json(body)).into_response())
}

/// The stored bytes, with their original content type. Content never changes,
/// so responses are cacheable forever.
#[utoipa::path(get, path = "/v1/messages/{digest}", tag = "messages",
    params(("digest" = String, Path, description = "SHA-256, 64 hex characters, either case")),
    responses(
        (status = 200, description = "The content", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "Not a SHA-256 hex digest", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown digest", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn fetch(
    State(store): State<Arc<dyn MessageStore>>,
    Path(digest): Path<String>,
) -> Result<Response, ApiError> {
    let digest = Digest::parse(&digest).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let stored = store.get(&digest).await?.ok_or_else(|| {
        ApiError::NotFound(format!("no message has digest {}", digest.to_lower_hex()))
    })?;
    let mut headers = HeaderMap::new();
    let content_type = HeaderValue::from_str(&stored.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static(OCTET_STREAM));
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", digest.to_lower_hex())) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok((headers, stored.content).into_response())
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}
