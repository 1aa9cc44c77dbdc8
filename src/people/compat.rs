//! The original people resource (Flask-RESTful `rest_app`):
//! `PUT /resources/data/` with a form field `data` holding the person as JSON,
//! `GET` and `DELETE /resources/data/{id}`, with its JSON-string error bodies.
//!
//! Where the original answered bad input with `500 "Failed to create person"`,
//! this answers 400 with the same prefix and what was wrong, naming the field.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::PeopleState;
use super::model::{PersonOut, Rules, person_from_json};
use crate::http::ApiError;
use crate::http::extract::{Body, media_type};
use crate::http::original_error::{OriginalError, OriginalShape, Shape};

pub const ERR_CREATE: &str = "Failed to create person";
pub const ERR_GET_NOT_FOUND: &str =
    "Encountered an error. Are you sure the person ID you requested exists?";

/// The original's delete error, with the id filled in (the original printed
/// a literal `%s`).
pub fn err_delete_not_found(id: i64) -> String {
    format!("Failed to delete person with ID {id}, are you sure this ID exists?")
}

/// The original people service answered errors with a JSON string body,
/// prefixed with its create error when the request could not be read.
pub struct PeopleService;

impl OriginalShape for PeopleService {
    const SHAPE: Shape = Shape::JsonString;

    fn message_of(error: &ApiError) -> String {
        format!("{ERR_CREATE}: {error}")
    }
}

pub type CompatError = OriginalError<PeopleService>;

impl CompatError {
    fn bad_input(why: impl std::fmt::Display) -> Self {
        CompatError::new(StatusCode::BAD_REQUEST, format!("{ERR_CREATE}: {why}"))
    }
}

/// The form the original read (documentation only).
#[derive(Debug, utoipa::ToSchema)]
pub struct PersonForm {
    /// The person as JSON text: `{"name": "peter", "locale": "NYC", "age": 42}`
    /// (a non-blank `name` and `locale` of at most 200 and 64 characters without
    /// control characters, an `age` from 0 to 150; other keys are ignored).
    #[schema(
        example = r#"{"name": "peter", "locale": "NYC", "age": 42}"#,
        content_media_type = "application/json"
    )]
    pub data: String,
}

/// Create a person from the form field `data` (JSON). Answers 200 with the
/// person and its id, as the original did.
#[utoipa::path(put, path = "/resources/data/", tag = "people (compatible)",
    request_body(content = PersonForm, content_type = "application/x-www-form-urlencoded",
        description = "Also read from multipart/form-data, a JSON body `{\"data\": ...}`, or the query string"),
    responses(
        (status = 200, description = "Created", body = PersonOut),
        (status = 400, description = "`data` missing, not JSON, or a field invalid: a JSON string saying which", body = String, content_type = "application/json"),
        (status = 413, description = "Body over the configured limit", body = String, content_type = "application/json"),
        (status = 500, description = "Storage failed: `\"Failed to create person\"`", body = String, content_type = "application/json"),
    ))]
pub async fn create(
    State(state): State<PeopleState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Body, ApiError>,
) -> Result<axum::Json<PersonOut>, CompatError> {
    let Body(bytes) = body?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let data = data_field(&bytes, content_type, query.as_deref().unwrap_or_default())?;
    let person = person_from_json(&data, Rules::Compatible, "").map_err(|errors| {
        let details: Vec<String> = errors
            .iter()
            .map(|e| format!("{} {}", e.field, e.message))
            .collect();
        CompatError::bad_input(details.join("; "))
    })?;
    let created = state
        .store
        .create(&person)
        .await
        .map_err(|error| CompatError::internal("storing a person", error, ERR_CREATE))?;
    Ok(axum::Json(PersonOut::from(&created)))
}

/// Fetch a person by id.
#[utoipa::path(get, path = "/resources/data/{id}", tag = "people (compatible)",
    params(("id" = i64, Path, description = "The person's id")),
    responses(
        (status = 200, description = "The person", body = PersonOut),
        (status = 400, description = "The id is not an integer", body = String, content_type = "application/json"),
        (status = 404, description = "`\"Encountered an error. Are you sure the person ID you requested exists?\"`", body = String, content_type = "application/json"),
    ))]
pub async fn fetch(
    State(state): State<PeopleState>,
    Path(id): Path<String>,
) -> Result<axum::Json<PersonOut>, CompatError> {
    let id = parse_id(&id)?;
    let person = state
        .store
        .get(id)
        .await
        .map_err(|error| CompatError::internal("reading a person", error, ERR_GET_NOT_FOUND))?
        .ok_or_else(|| CompatError::new(StatusCode::NOT_FOUND, ERR_GET_NOT_FOUND))?;
    Ok(axum::Json(PersonOut::from(&person)))
}

/// Delete a person; answers with what was deleted.
#[utoipa::path(delete, path = "/resources/data/{id}", tag = "people (compatible)",
    params(("id" = i64, Path, description = "The person's id")),
    responses(
        (status = 200, description = "The deleted person", body = PersonOut),
        (status = 400, description = "The id is not an integer", body = String, content_type = "application/json"),
        (status = 404, description = "`\"Failed to delete person with ID <id>, are you sure this ID exists?\"`", body = String, content_type = "application/json"),
    ))]
pub async fn delete(
    State(state): State<PeopleState>,
    Path(id): Path<String>,
) -> Result<axum::Json<PersonOut>, CompatError> {
    use super::store::{Expected, WriteError};
    let id = parse_id(&id)?;
    match state.store.delete(id, &Expected::AnyVersion).await {
        Ok(deleted) => Ok(axum::Json(PersonOut::from(&deleted))),
        Err(WriteError::NotFound | WriteError::Stale { .. }) => Err(CompatError::new(
            StatusCode::NOT_FOUND,
            err_delete_not_found(id),
        )),
        Err(WriteError::Store(error)) => Err(CompatError::internal(
            "deleting a person",
            error,
            err_delete_not_found(id),
        )),
    }
}

fn parse_id(text: &str) -> Result<i64, CompatError> {
    text.parse::<i64>().map_err(|_| {
        CompatError::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid person ID '{text}': the ID must be an integer"),
        )
    })
}

/// Finds `data` where Flask-RESTful's `reqparse` looked (the JSON body, the
/// form, the query string) and parses it as JSON.
fn data_field(body: &[u8], content_type: &str, query: &str) -> Result<Value, CompatError> {
    let from_body: Option<String> = match media_type(content_type).as_str() {
        "application/json" => {
            let document: Value = serde_json::from_slice(body)
                .map_err(|e| CompatError::bad_input(format!("the body is not valid JSON: {e}")))?;
            match document.get("data") {
                // `{"data": {...}}`: the person itself.
                Some(person @ Value::Object(_)) => return Ok(person.clone()),
                Some(Value::String(text)) => Some(text.clone()),
                Some(_) => {
                    return Err(CompatError::bad_input(
                        "the field 'data' must hold the person as a JSON string or object",
                    ));
                }
                None => None,
            }
        }
        "multipart/form-data" => multipart_field(body, content_type, "data"),
        // curl -d sends application/x-www-form-urlencoded; accept a body
        // without a content type the same way.
        _ => form_field(body, "data"),
    };
    let text = from_body
        .or_else(|| form_field(query.as_bytes(), "data"))
        .ok_or_else(|| {
            CompatError::bad_input(
                "the form field 'data' is missing (send data={\"name\": ..., \"age\": ..., \"locale\": ...})",
            )
        })?;
    serde_json::from_str(&text).map_err(|e| {
        CompatError::bad_input(format!("the form field 'data' is not valid JSON: {e}"))
    })
}

fn form_field(encoded: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(encoded)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The text of the part named `name` of a `multipart/form-data` body.
fn multipart_field(body: &[u8], content_type: &str, name: &str) -> Option<String> {
    let boundary = content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.trim().split_once('=')?;
        key.eq_ignore_ascii_case("boundary")
            .then(|| value.trim_matches('"').to_owned())
    })?;
    let body = String::from_utf8_lossy(body);
    let wanted = format!("name=\"{name}\"");
    for part in body.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let Some((head, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let named = head.lines().any(|line| {
            let (field, value) = line.split_once(':').unwrap_or_default();
            field.trim().eq_ignore_ascii_case("content-disposition")
                && value.split(';').any(|param| param.trim() == wanted)
        });
        if named {
            return Some(content.strip_suffix("\r\n").unwrap_or(content).to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_read_from_form_multipart_json_and_query() {
        let person = serde_json::json!({"name": "peter", "locale": "NYC", "age": 42});
        let form = br#"data=%7B%22name%22%3A+%22peter%22%2C+%22locale%22%3A+%22NYC%22%2C+%22age%22%3A+42%7D"#;
        assert_eq!(
            data_field(form, "application/x-www-form-urlencoded", "").unwrap(),
            person
        );
        // curl -d sends the JSON unencoded; form decoding keeps it intact.
        let raw = br#"data={"name": "peter", "locale": "NYC", "age": 42}"#;
        assert_eq!(data_field(raw, "", "").unwrap(), person);
        let multipart = "--XyZ\r\nContent-Disposition: form-data; filename=\"x\"; name=\"other\"\r\n\r\nno\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{\"name\": \"peter\", \"locale\": \"NYC\", \"age\": 42}\r\n--XyZ--\r\n";
        assert_eq!(
            data_field(
                multipart.as_bytes(),
                "multipart/form-data; boundary=XyZ",
                ""
            )
            .unwrap(),
            person
        );
        let json = br#"{"data": "{\"name\": \"peter\", \"locale\": \"NYC\", \"age\": 42}"}"#;
        assert_eq!(data_field(json, "application/json", "").unwrap(), person);
        assert_eq!(
            data_field(
                b"",
                "",
                "data=%7B%22name%22%3A%22peter%22%2C%22locale%22%3A%22NYC%22%2C%22age%22%3A42%7D"
            )
            .unwrap(),
            person
        );
        assert!(data_field(b"other=1", "application/x-www-form-urlencoded", "").is_err());
        assert!(data_field(b"data=not-json", "application/x-www-form-urlencoded", "").is_err());
    }
}
