//! The native API: `/v1/people`, JSON in and out, problem+json errors,
//! `ETag`s with `If-None-Match` (304) and `If-Match` (412 on a stale write).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::PeopleState;
use super::model::{NewPerson, Person, PersonOut, Rules, patch_target, person_from_json};
use super::query::{Counting, ListQuery, Window, encode_cursor, parse_list_query};
use super::store::{Expected, StoreError, WriteError};
use crate::http::conditional::{self, Condition};
use crate::http::extract::{Body, Json};
use crate::http::{ApiError, FieldError, Problem};
use crate::json::merge_patch;

const MERGE_PATCH_JSON: &str = "application/merge-patch+json";
/// How often a `PATCH` without `If-Match` re-reads and retries when another
/// write lands between its read and its write.
const PATCH_ATTEMPTS: usize = 3;
/// RFC 7240's request header; not among `http`'s constants.
const PREFER: &str = "prefer";

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::storage(&error, error.is_unavailable())
    }
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("no person has id {id}"))
}

/// 412: `If-Match` named a version of person `id` that is no longer current.
fn stale(id: i64, current: i64) -> ApiError {
    ApiError::PreconditionFailed {
        detail: format!(
            "person {id} has changed since you read it (If-Match does not match its \
             current ETag {}); fetch it again and reapply your change",
            etag_of(id, current)
        ),
        current_etag: etag_of(id, current),
    }
}

/// The answer to a write on person `id` that did not happen.
fn write_error(id: i64, error: WriteError) -> ApiError {
    match error {
        WriteError::NotFound => not_found(id),
        WriteError::Stale { current } => stale(id, current),
        WriteError::Store(error) => error.into(),
    }
}

/// The strong `ETag` of a person at a version: `"<id>.<version>"`.
pub fn etag_of(id: i64, version: i64) -> String {
    format!("\"{id}.{version}\"")
}

/// The version an entity tag names for person `id`, if it is one of ours.
fn version_in(opaque: &str, id: i64) -> Option<i64> {
    let (tag_id, version) = opaque.split_once('.')?;
    (tag_id.parse::<i64>().ok()? == id)
        .then(|| version.parse::<i64>().ok())
        .flatten()
}

/// `If-Match` as the versions a write may apply to. Strong comparison: a
/// weak tag never matches.
fn expected_versions(headers: &HeaderMap, id: i64) -> Expected {
    match Condition::of(headers, header::IF_MATCH) {
        None | Some(Condition::Any) => Expected::AnyVersion,
        Some(condition) => Expected::OneOf(
            condition
                .strong_tags()
                .filter_map(|tag| version_in(tag, id))
                .collect(),
        ),
    }
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().map_err(|_| {
        ApiError::BadRequest(format!(
            "the person id in the URL must be an integer, not '{text}'"
        ))
    })
}

/// Writes the configured limits into the document, where the annotations can
/// only name the setting: `per_page`'s maximum, a batch's most items.
pub fn document_limits(openapi: &mut utoipa::openapi::OpenApi, limits: &super::Limits) {
    use utoipa::openapi::{RefOr, Schema};
    let paths = &mut openapi.paths.paths;
    let list = paths
        .get_mut("/v1/people")
        .and_then(|item| item.get.as_mut());
    let parameters = list.and_then(|operation| operation.parameters.as_mut());
    for parameter in parameters.into_iter().flatten() {
        if let RefOr::T(parameter) = parameter
            && parameter.name == "per_page"
            && let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut()
        {
            schema.maximum = Some(limits.max_per_page.into());
        }
    }
    let batch = paths
        .get_mut("/v1/people:batch")
        .and_then(|item| item.post.as_mut());
    if let Some(RefOr::T(body)) = batch.and_then(|operation| operation.request_body.as_mut()) {
        for content in body.content.values_mut() {
            if let RefOr::T(content) = content
                && let Some(RefOr::T(Schema::Array(array))) = content.schema.as_mut()
            {
                array.max_items = Some(limits.max_batch);
            }
        }
    }
}

fn header_value(text: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(text).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A person's representation: its JSON with `ETag`.
fn representation(status: StatusCode, person: &Person) -> Result<Response, ApiError> {
    let mut response = (status, axum::Json(PersonOut::from(person))).into_response();
    response.headers_mut().insert(
        header::ETAG,
        header_value(&etag_of(person.id, person.version))?,
    );
    Ok(response)
}

fn read_person(value: &Value, rules: Rules<'_>) -> Result<NewPerson, ApiError> {
    person_from_json(value, rules, "").map_err(ApiError::Validation)
}

/// Create a person. Answers 201 with `Location` and `ETag`.
#[utoipa::path(post, path = "/v1/people", tag = "people",
    request_body(content = super::model::PersonIn, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = PersonOut, headers(
            ("location" = String, description = "`/v1/people/{id}`"),
            ("etag" = String, description = "The version, for `If-Match`"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, one entry each", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<PeopleState>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let person = read_person(&body, Rules::NativeCreate)?;
    let created = state.store.create(&person).await?;
    let mut response = representation(StatusCode::CREATED, &created)?;
    response.headers_mut().insert(
        header::LOCATION,
        header_value(&format!("/v1/people/{}", created.id))?,
    );
    Ok(response)
}

/// Fetch a person. `If-None-Match` with its current `ETag` answers 304.
#[utoipa::path(get, path = "/v1/people/{id}", tag = "people",
    params(
        ("id" = i64, Path, description = "The person's id"),
        ("if-none-match" = Option<String>, Header, description = "An `ETag` you hold; 304 when it is current"),
    ),
    responses(
        (status = 200, description = "The person", body = PersonOut,
            headers(("etag" = String, description = "The version, for `If-Match`"))),
        (status = 304, description = "Your copy is current"),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No person has this id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn fetch(
    State(state): State<PeopleState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let person = state.store.get(id).await?.ok_or_else(|| not_found(id))?;
    let etag = etag_of(person.id, person.version);
    if conditional::none_match(&headers, &etag) {
        return Ok(conditional::not_modified(&etag));
    }
    representation(StatusCode::OK, &person)
}

/// Replace a person's fields. With `If-Match`, only if it is still at that version.
#[utoipa::path(put, path = "/v1/people/{id}", tag = "people",
    params(
        ("id" = i64, Path, description = "The person's id"),
        ("if-match" = Option<String>, Header, description = "The `ETag` you read; 412 when it is stale"),
    ),
    request_body(content = super::model::PersonIn, content_type = "application/json",
        description = "All of name, age and locale; an `id` equal to the URL's is allowed"),
    responses(
        (status = 200, description = "Replaced", body = PersonOut,
            headers(("etag" = String, description = "The new version"))),
        (status = 400, description = "The id is not an integer, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No person has this id", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is stale", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    State(state): State<PeopleState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let person = read_person(
        &body,
        Rules::NativeReplace {
            id,
            unchanged_locale: None,
        },
    )?;
    let expected = expected_versions(&headers, id);
    let replaced = state
        .store
        .replace(id, &person, &expected)
        .await
        .map_err(|e| write_error(id, e))?;
    representation(StatusCode::OK, &replaced)
}

/// Change some fields with a JSON merge patch (RFC 7396): keys set replace,
/// `null` removes (and every field is required, so that is a 422).
#[utoipa::path(patch, path = "/v1/people/{id}", tag = "people",
    params(
        ("id" = i64, Path, description = "The person's id"),
        ("if-match" = Option<String>, Header, description = "The `ETag` you read; 412 when it is stale"),
    ),
    request_body(content = super::model::PersonPatch, content_type = "application/merge-patch+json",
        description = "`application/json` is accepted too"),
    responses(
        (status = 200, description = "Patched", body = PersonOut,
            headers(("etag" = String, description = "The new version"))),
        (status = 400, description = "The id is not an integer, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No person has this id", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is stale", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a merge patch", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The patched person is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch(
    State(state): State<PeopleState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case(MERGE_PATCH_JSON)
        && !essence.eq_ignore_ascii_case("application/json")
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "PATCH takes a JSON merge patch: Content-Type: {MERGE_PATCH_JSON} (or application/json), not '{content_type}'"
        )));
    }
    let patch: Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    let expected = expected_versions(&headers, id);
    for _ in 0..PATCH_ATTEMPTS {
        let current = state.store.get(id).await?.ok_or_else(|| not_found(id))?;
        if let Expected::OneOf(versions) = &expected
            && !versions.contains(&current.version)
        {
            return Err(stale(id, current.version));
        }
        let mut document = patch_target(&current);
        merge_patch(&mut document, &patch);
        let rules = Rules::NativeReplace {
            id,
            unchanged_locale: Some(&current.locale),
        };
        let person = read_person(&document, rules)?;
        match state
            .store
            .replace(id, &person, &Expected::OneOf(vec![current.version]))
            .await
        {
            Ok(patched) => return representation(StatusCode::OK, &patched),
            // Another write landed between our read and our write. With
            // If-Match the caller's version is now stale; without, try again.
            Err(WriteError::Stale { current }) if expected != Expected::AnyVersion => {
                return Err(stale(id, current));
            }
            Err(WriteError::Stale { .. }) => continue,
            Err(other) => return Err(write_error(id, other)),
        }
    }
    Err(ApiError::Conflict(format!(
        "person {id} kept changing while the patch was applied; try again"
    )))
}

/// Delete a person. With `If-Match`, only if it is still at that version.
/// Its id is never given to anyone else.
#[utoipa::path(delete, path = "/v1/people/{id}", tag = "people",
    params(
        ("id" = i64, Path, description = "The person's id"),
        ("if-match" = Option<String>, Header, description = "The `ETag` you read; 412 when it is stale"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No person has this id", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is stale", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<PeopleState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let expected = expected_versions(&headers, id);
    state
        .store
        .delete(id, &expected)
        .await
        .map_err(|e| write_error(id, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// List people: filters, sort, and pagination by page or by cursor.
///
/// Filters: `field=value` or `field[op]=value` on `id`, `name`, `age`, `locale`
/// with `op` one of `eq`, `ne`, `gt`, `gte`, `lt`, `lte`, and `contains`
/// (case-sensitive substring) on `name` and `locale`; all must hold.
/// `sort=-age,name` (`-` for descending; `id` always breaks ties).
/// Pages: `page` (from 1) and `per_page`, with `X-Total-Count` and a `Link`
/// header (`first`, `prev`, `next`, `last`), as json-server does; with
/// `Prefer: count=estimated` the total is estimated beyond 1,000 matches, with
/// `count=none` there is none (and no `last`). Cursor:
/// `cursor=` (empty to start) then the token from `X-Next-Cursor` or the
/// `next` link; stable while people are added or removed.
#[utoipa::path(get, path = "/v1/people", tag = "people",
    params(
        ("age[gte]" = Option<i32>, Query, description = "Example filter: age 30 or more (any of eq, ne, gt, gte, lt, lte on id, name, age, locale; contains on name, locale)"),
        ("locale" = Option<String>, Query, description = "Example filter: exact locale; a tag in any case finds its canonical form"),
        ("name[contains]" = Option<String>, Query, description = "Example filter: name contains this (case-sensitive)"),
        ("sort" = Option<String>, Query, description = "Comma-separated id, name, age, locale; `-` for descending"),
        ("page" = Option<u64>, Query, minimum = 1, description = "Page number, from 1 (default 1); not with `cursor`"),
        ("per_page" = Option<u64>, Query, minimum = 1, description = "Rows per page (default 20, at most `people.max_per_page`)"),
        ("cursor" = Option<String>, Query, description = "Empty to start cursor paging, then the `X-Next-Cursor` token; not with `page`"),
        ("if-none-match" = Option<String>, Header, description = "The `ETag` of a listing you hold; 304 when unchanged"),
        ("prefer" = Option<String>, Header, description = "`count=exact` (default with `page`), `count=estimated` (exact up to 1,000 matches, then an estimate that costs the same at any size; `planned` is read the same), or `count=none` (default with `cursor`)"),
    ),
    responses(
        (status = 200, description = "One page, in order", body = Vec<PersonOut>, headers(
            ("x-total-count" = u64, description = "Matching people, exact or estimated as `Prefer: count=` asked (by default: page mode, exact)"),
            ("link" = String, description = "first/prev/next/last (page mode; `last` only with a count) or next (cursor mode)"),
            ("preference-applied" = String, description = "The `count` preference honoured, when one was sent"),
            ("vary" = String, description = "`prefer`"),
            ("x-next-cursor" = String, description = "Token for the rows after this page, when there are any"),
            ("etag" = String, description = "Of this page"))),
        (status = 304, description = "Unchanged since your `ETag`"),
        (status = 400, description = "Unknown parameter or operator, or a bad value; one entry each", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<PeopleState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query = parse_list_query(
        raw.as_deref().unwrap_or_default(),
        state.limits.max_per_page,
    )
    .map_err(ApiError::BadQuery)?;
    let per_page = query.window.per_page();
    let mut rows = state.store.list(&query).await?;
    let has_more = rows.len() as u64 > per_page;
    rows.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
    let next_cursor = rows
        .last()
        .filter(|_| has_more)
        .map(|last| encode_cursor(&query.sort, last));

    let preferred = Counting::preferred(
        headers
            .get_all(PREFER)
            .iter()
            .filter_map(|value| value.to_str().ok()),
    );
    // Pages count exactly unless told otherwise, as json-server's clients
    // expect `X-Total-Count`; cursors, made for tables too large to count,
    // do not.
    let counting = preferred.unwrap_or(match query.window {
        Window::Page { .. } => Counting::Exact,
        Window::Cursor { .. } => Counting::None,
    });
    // A page that ends the listing tells the total itself: nothing to count.
    let known_total = match query.window {
        Window::Page { page, per_page } if !has_more && (page == 1 || !rows.is_empty()) => {
            Some((page - 1).saturating_mul(per_page) + rows.len() as u64)
        }
        _ => None,
    };
    let total = match (counting, known_total) {
        (Counting::None, _) => None,
        (_, Some(total)) => Some(total),
        (Counting::Exact, None) => Some(state.store.count(&query.filters).await?),
        (Counting::Estimated, None) => {
            Some(state.estimates.count(&*state.store, &query.filters).await?)
        }
    };

    let mut response_headers = HeaderMap::new();
    let mut links = Vec::new();
    match query.window {
        Window::Page { page, per_page } => {
            let last = total.map(|total| total.div_ceil(per_page).max(1));
            links.push((page_url(&query, 1), "first"));
            if page > 1 {
                let prev = (page - 1).min(last.unwrap_or(u64::MAX));
                links.push((page_url(&query, prev), "prev"));
            }
            // The one extra row read says it, whatever the count (an
            // estimate may be off either way).
            if has_more {
                links.push((page_url(&query, page + 1), "next"));
            }
            if let Some(last) = last {
                links.push((page_url(&query, last), "last"));
            }
        }
        Window::Cursor { .. } => {
            if let Some(token) = &next_cursor {
                links.push((cursor_url(&query, token), "next"));
            }
        }
    }
    if let Some(total) = total {
        response_headers.insert("x-total-count", HeaderValue::from(total));
    }
    if let Some(preferred) = preferred {
        let applied = format!("count={}", preferred.name());
        response_headers.insert("preference-applied", header_value(&applied)?);
    }
    // The answer depends on the count asked for: caches must keep them apart.
    response_headers.insert(header::VARY, HeaderValue::from_static("prefer"));
    if !links.is_empty() {
        let link = links
            .iter()
            .map(|(url, rel)| format!("<{url}>; rel=\"{rel}\""))
            .collect::<Vec<_>>()
            .join(", ");
        response_headers.insert(header::LINK, header_value(&link)?);
    }
    if let Some(token) = &next_cursor {
        response_headers.insert("x-next-cursor", header_value(token)?);
    }

    let people: Vec<PersonOut> = rows.iter().map(PersonOut::from).collect();
    let body = serde_json::to_vec(&people).map_err(|e| ApiError::Internal(e.to_string()))?;
    // The page's tag covers its body and its navigation headers.
    let mut hasher = Sha256::new();
    hasher.update(&body);
    for (name, value) in &response_headers {
        hasher.update(name.as_str().as_bytes());
        hasher.update(value.as_bytes());
    }
    let digest = hasher.finalize();
    let etag = format!(
        "\"{}\"",
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    if conditional::none_match(&headers, &etag) {
        return Ok(conditional::not_modified(&etag));
    }
    response_headers.insert(header::ETAG, header_value(&etag)?);
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((StatusCode::OK, response_headers, body).into_response())
}

fn listing_url(query: &ListQuery, last: (&str, &str)) -> String {
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in &query.kept_pairs {
        params.append_pair(key, value);
    }
    params.append_pair("per_page", &query.window.per_page().to_string());
    params.append_pair(last.0, last.1);
    format!("/v1/people?{}", params.finish())
}

fn page_url(query: &ListQuery, page: u64) -> String {
    listing_url(query, ("page", &page.to_string()))
}

fn cursor_url(query: &ListQuery, token: &str) -> String {
    listing_url(query, ("cursor", token))
}

/// Create many people in one transaction: all of them, or none. Any invalid
/// item fails the whole batch with a 422 naming each bad field as
/// `<index>.<field>`.
#[utoipa::path(post, path = "/v1/people:batch", tag = "people",
    request_body(content = Vec<super::model::PersonIn>, content_type = "application/json",
        description = "A JSON array of people, at most `people.max_batch` of them"),
    responses(
        (status = 201, description = "All created, in input order", body = Vec<PersonOut>),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an array, too many items, or invalid items (`3.age`); nothing was created", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_batch(
    State(state): State<PeopleState>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let Value::Array(items) = body else {
        return Err(ApiError::Validation(vec![FieldError::new(
            "body",
            format!(
                "must be a JSON array of people, not {}",
                crate::json::kind(&body)
            ),
        )]));
    };
    if items.len() > state.limits.max_batch {
        return Err(ApiError::Validation(vec![FieldError::new(
            "body",
            format!(
                "holds {} people; a batch takes at most {} (people.max_batch)",
                items.len(),
                state.limits.max_batch
            ),
        )]));
    }
    let mut people = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match person_from_json(item, Rules::NativeCreate, &format!("{index}.")) {
            Ok(person) => people.push(person),
            Err(item_errors) => errors.extend(item_errors),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let created = state.store.create_many(&people).await?;
    let out: Vec<PersonOut> = created.iter().map(PersonOut::from).collect();
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn if_match_reads_our_strong_tags_only() {
        let h = headers(header::IF_MATCH, &[r#""7.2", W/"7.3""#, r#""8.4", "7.5""#]);
        assert_eq!(expected_versions(&h, 7), Expected::OneOf(vec![2, 5]));
        let h = headers(header::IF_MATCH, &["*"]);
        assert_eq!(expected_versions(&h, 7), Expected::AnyVersion);
        assert_eq!(
            expected_versions(&HeaderMap::new(), 7),
            Expected::AnyVersion
        );
        let h = headers(header::IF_MATCH, &["garbage"]);
        assert_eq!(expected_versions(&h, 7), Expected::OneOf(vec![]));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let h = headers(header::IF_NONE_MATCH, &[r#"W/"7.2""#]);
        assert!(conditional::none_match(&h, &etag_of(7, 2)));
        assert!(!conditional::none_match(&h, &etag_of(7, 3)));
        assert!(conditional::none_match(
            &headers(header::IF_NONE_MATCH, &["*"]),
            &etag_of(1, 1)
        ));
        assert!(!conditional::none_match(&HeaderMap::new(), &etag_of(1, 1)));
    }
}
