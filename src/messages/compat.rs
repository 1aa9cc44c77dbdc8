//! The original `sha_api` routes: `POST /messages`, `GET /messages/{digest}`,
//! with its upper-case digests and `{"err_msg": ...}` errors.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::model::{Content, Digest};
use super::store::MessageStore;
use crate::http::ApiError;
use crate::http::extract::Body;
use crate::http::original_error::{OriginalError, OriginalShape, Shape};

pub const ERR_NOT_JSON: &str = "Invalid content type, expected JSON";
pub const ERR_NO_MESSAGE: &str = "Invalid JSON request, no message key found";
pub const ERR_STORAGE: &str = "Failed to add message and its SHA256 digest to database";
pub const ERR_NOT_FOUND: &str = "Message not found";

/// Every error of this API, as the original shaped it: the schema the
/// OpenAPI document shows for what [`CompatError`] writes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrMsg {
    err_msg: String,
}

/// The original `sha_api` answered every error as `{"err_msg": ...}`.
pub struct ShaApi;

impl OriginalShape for ShaApi {
    const SHAPE: Shape = Shape::Member("err_msg");
}

pub type CompatError = OriginalError<ShaApi>;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MessageIn {
    /// The text to store; its SHA-256 is computed over its UTF-8 bytes.
    /// Required (a 400 without it, as in the original).
    #[schema(value_type = String, required = true)]
    message: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DigestOut {
    /// SHA-256 of the message, upper-case hex (as the original returned it).
    digest: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageOut {
    message: String,
}

/// Store a message; answers its SHA-256. Storing it again is harmless.
#[utoipa::path(post, path = "/messages", tag = "messages (compatible)", operation_id = "messages_compat_post",
    request_body(content = MessageIn, description = "`{\"message\": \"foo\"}`"),
    responses(
        (status = 200, description = "Stored (or already stored)", body = DigestOut),
        (status = 400, description = "Not JSON, or no `message` string", body = ErrMsg),
        (status = 413, description = "Body over the configured limit", body = ErrMsg),
        (status = 500, description = "Storage failed; nothing was acknowledged", body = ErrMsg),
    ))]
pub async fn post_message(
    State(store): State<Arc<dyn MessageStore>>,
    body: Result<Body, ApiError>,
) -> Result<axum::Json<DigestOut>, CompatError> {
    let Body(bytes) = body?;
    // The original read any body that parsed as JSON; so do we, whatever the content type.
    let input: MessageIn = serde_json::from_slice(&bytes)
        .map_err(|_| CompatError::new(StatusCode::BAD_REQUEST, ERR_NOT_JSON))?;
    let text = match input.message {
        None | Some(serde_json::Value::Null) => {
            return Err(CompatError::new(StatusCode::BAD_REQUEST, ERR_NO_MESSAGE));
        }
        Some(serde_json::Value::String(text)) => text,
        // The original crashed here; say what is wrong instead.
        Some(_) => {
            return Err(CompatError::new(
                StatusCode::BAD_REQUEST,
                "Invalid JSON request, message must be a string",
            ));
        }
    };
    let content = Content::new(text.into_bytes());
    let digest = content.digest();
    store
        .put(content, "text/plain; charset=utf-8".to_owned())
        .await
        .map_err(|error| CompatError::internal("storing a message", error, ERR_STORAGE))?;
    Ok(axum::Json(DigestOut {
        digest: digest.to_upper_hex(),
    }))
}

/// Fetch a message by its digest (hex, either case).
#[utoipa::path(get, path = "/messages/{digest}", tag = "messages (compatible)", operation_id = "messages_compat_get",
    params(("digest" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "SHA-256, 64 hex characters, either case")),
    responses(
        (status = 200, description = "The message", body = MessageOut),
        (status = 400, description = "Not a SHA-256 hex digest", body = ErrMsg),
        (status = 404, description = "No message has this digest", body = ErrMsg),
        (status = 422, description = "The content is not text (stored through the native API)", body = ErrMsg),
    ))]
pub async fn get_message(
    State(store): State<Arc<dyn MessageStore>>,
    Path(digest): Path<String>,
) -> Result<axum::Json<MessageOut>, CompatError> {
    let digest = Digest::parse(&digest)
        .map_err(|e| CompatError::new(StatusCode::BAD_REQUEST, format!("Invalid digest: {e}")))?;
    let stored = store
        .get(&digest)
        .await
        .map_err(|error| {
            CompatError::internal(
                "reading a message",
                error,
                "Failed to read message from database",
            )
        })?
        .ok_or_else(|| CompatError::new(StatusCode::NOT_FOUND, ERR_NOT_FOUND))?;
    let message = String::from_utf8(stored.content.to_vec()).map_err(|_| {
        CompatError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Message is binary, not text: fetch its bytes from /v1/messages/{digest}",
        )
    })?;
    Ok(axum::Json(MessageOut { message }))
}
