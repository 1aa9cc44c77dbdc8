//! Near misses: the stubs nearest to a request, and the journaled requests
//! nearest to a request pattern. WireMock's Java client asks the second when
//! a `verify` finds no match, and builds its failure's diff from the answer.
//!
//! WireMock's `NearMiss` model refuses fields it does not know, so echobase's
//! reasons (why each did not match) come only with `?reasons=true`.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::{AdminResult, WireMockErrors};
use super::storage;
use super::wire::logged_json;
use super::{Json, TAG, json_body};
use crate::http::extract::Body;
use crate::http::{ApiError, FieldError};
use crate::mocks::engine::{Engine, NEAR_MISSES};
use crate::mocks::matcher::{Incoming, MatchResult};
use crate::mocks::openapi::{DescribedRequestSchema, RequestPatternSchema};
use crate::mocks::parse::request::parse_request_pattern;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearMissQuery {
    /// Add echobase's `reasons` (why each did not match) to every near miss.
    /// WireMock's Java client refuses that field: leave it off for it.
    reasons: Option<bool>,
}

fn wants_reasons(query: Result<Query<NearMissQuery>, QueryRejection>) -> AdminResult<bool> {
    match query {
        Ok(Query(q)) => Ok(q.reasons == Some(true)),
        Err(rejection) => {
            Err(ApiError::BadQuery(vec![FieldError::new("reasons", rejection.body_text())]).into())
        }
    }
}

fn match_result(result: &MatchResult, reasons: bool) -> (Value, Option<Value>) {
    let reasons = reasons.then(|| json!(result.reasons));
    (json!({ "distance": result.distance }), reasons)
}

fn near_miss(mut fields: Map<String, Value>, result: &MatchResult, reasons: bool) -> Value {
    let (match_result, reasons) = match_result(result, reasons);
    fields.insert("matchResult".into(), match_result);
    if let Some(reasons) = reasons {
        fields.insert("reasons".into(), reasons);
    }
    Value::Object(fields)
}

/// For each unmatched request, the nearest stubs.
#[utoipa::path(get, path = "/__admin/requests/unmatched/near-misses", tag = TAG, params(NearMissQuery),
    responses(
        (status = 200, description = "`{\"nearMisses\": [{\"request\", \"stubMapping\", \"matchResult\": {\"distance\"}}]}`", body = Value),
        (status = 400, description = "`reasons` is not true or false", body = WireMockErrors),
    ))]
pub async fn unmatched_near_misses(
    State(engine): State<Arc<Engine>>,
    query: Result<Query<NearMissQuery>, QueryRejection>,
) -> AdminResult<Json> {
    let reasons = wants_reasons(query)?;
    let index = engine.snapshot();
    let mut out = Vec::new();
    let unmatched = engine
        .journal_entries()
        .await
        .map_err(storage)?
        .into_iter()
        .filter(|e| e.stub.is_none());
    for entry in unmatched {
        for (stub, result) in engine.near_misses(&index, &entry.incoming()).await {
            let fields = Map::from_iter([
                ("request".to_owned(), logged_json(&entry)),
                ("stubMapping".to_owned(), stub.mapping()),
            ]);
            out.push(near_miss(fields, &result, reasons));
        }
    }
    Ok(axum::Json(json!({ "nearMisses": out })))
}

/// A request as WireMock's `LoggedRequest` JSON describes it, owned, to be
/// matched as if it had been received.
struct DescribedRequest {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl DescribedRequest {
    fn parse(value: &Value) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(fields) = value.as_object() else {
            return Err(vec![FieldError::new(
                "",
                "must be a request such as {\"url\": \"/orders\"}",
            )]);
        };
        // A member of the wrong type is refused, not read as left out.
        let text = |key: &str, errors: &mut Vec<FieldError>| match fields.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                errors.push(FieldError::new(key, "must be a string"));
                None
            }
        };
        let url = match text("url", &mut errors) {
            Some(url) if url.starts_with('/') => url,
            _ => {
                errors.push(FieldError::new(
                    "url",
                    "must be the request's path and query, e.g. /orders?x=1",
                ));
                "/"
            }
        };
        let (path, query) = match url.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (url.to_owned(), None),
        };
        let method = match text("method", &mut errors) {
            None => Method::GET,
            Some(m) => Method::from_bytes(m.as_bytes()).unwrap_or_else(|_| {
                errors.push(FieldError::new("method", "must be an HTTP method"));
                Method::GET
            }),
        };
        let mut headers = HeaderMap::new();
        match fields.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(described)) => {
                for (name, values) in described {
                    let values: Vec<&Value> = match values {
                        Value::Array(list) => list.iter().collect(),
                        one => vec![one],
                    };
                    for v in values {
                        let parsed = v.as_str().map(|v| {
                            (
                                HeaderName::try_from(name.as_str()),
                                HeaderValue::from_str(v),
                            )
                        });
                        match parsed {
                            Some((Ok(name), Ok(v))) => {
                                headers.append(name, v);
                            }
                            _ => errors.push(FieldError::new(
                                format!("headers.{name}"),
                                "is not a valid header (a name, and a string or a list of strings)",
                            )),
                        }
                    }
                }
            }
            Some(_) => errors.push(FieldError::new("headers", "must be an object")),
        }
        let body = match (text("bodyAsBase64", &mut errors), text("body", &mut errors)) {
            (Some(encoded), _) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap_or_else(|_| {
                    errors.push(FieldError::new("bodyAsBase64", "is not base64"));
                    Vec::new()
                }),
            (None, Some(text)) => text.as_bytes().to_vec(),
            (None, None) => Vec::new(),
        };
        if errors.is_empty() {
            Ok(DescribedRequest {
                method,
                path,
                query,
                headers,
                body,
            })
        } else {
            Err(errors)
        }
    }

    fn incoming(&self) -> Incoming<'_> {
        Incoming::new(
            &self.method,
            &self.path,
            self.query.as_deref(),
            &self.headers,
            &self.body,
        )
    }
}

/// The stubs nearest to a request described as WireMock's `LoggedRequest`.
#[utoipa::path(post, path = "/__admin/near-misses/request", tag = TAG, params(NearMissQuery),
    request_body(content = DescribedRequestSchema, description = "A request as the journal shows it: `{\"url\": \"/orders?x=1\", \"method\": \"POST\", \"headers\": {...}, \"body\": \"...\"}`"),
    responses(
        (status = 400, description = "`reasons` is not true or false", body = WireMockErrors),
        (status = 200, description = "`{\"nearMisses\": [{\"request\", \"stubMapping\", \"matchResult\": {\"distance\"}}]}`, nearest first", body = Value),
        (status = 422, description = "Not JSON, or not a request", body = WireMockErrors),
    ))]
pub async fn for_request(
    State(engine): State<Arc<Engine>>,
    query: Result<Query<NearMissQuery>, QueryRejection>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let reasons = wants_reasons(query)?;
    let value = json_body(body)?;
    let request = DescribedRequest::parse(&value).map_err(ApiError::Validation)?;
    let near = engine
        .near_misses(&engine.snapshot(), &request.incoming())
        .await;
    let out: Vec<Value> = near
        .iter()
        .map(|(stub, result)| {
            let fields = Map::from_iter([
                ("request".to_owned(), value.clone()),
                ("stubMapping".to_owned(), stub.mapping()),
            ]);
            near_miss(fields, result, reasons)
        })
        .collect();
    Ok(axum::Json(json!({ "nearMisses": out })))
}

/// The journaled requests nearest to a request pattern (those it does not
/// match), nearest first: what a failed `verify` shows.
#[utoipa::path(post, path = "/__admin/near-misses/request-pattern", tag = TAG, params(NearMissQuery),
    request_body(content = RequestPatternSchema, description = "A request pattern, as a stub's `request`; without a body, every request matches"),
    responses(
        (status = 400, description = "`reasons` is not true or false", body = WireMockErrors),
        (status = 200, description = "`{\"nearMisses\": [{\"request\", \"requestPattern\", \"matchResult\": {\"distance\"}}]}`, nearest first", body = Value),
        (status = 422, description = "Not JSON, or an invalid pattern", body = WireMockErrors),
    ))]
pub async fn for_pattern(
    State(engine): State<Arc<Engine>>,
    query: Result<Query<NearMissQuery>, QueryRejection>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let reasons = wants_reasons(query)?;
    let value = json_body(body)?;
    let pattern = parse_request_pattern(&value, "").map_err(ApiError::Validation)?;
    let mut near: Vec<_> = engine
        .journal_entries()
        .await
        .map_err(storage)?
        .into_iter()
        .map(|entry| {
            let result = pattern.evaluate(&entry.incoming());
            (entry, result)
        })
        .filter(|(_, result)| !result.is_exact())
        .collect();
    near.sort_by(|a, b| a.1.distance.total_cmp(&b.1.distance));
    let out: Vec<Value> = near
        .iter()
        .take(NEAR_MISSES)
        .map(|(entry, result)| {
            let fields = Map::from_iter([
                ("request".to_owned(), logged_json(entry)),
                ("requestPattern".to_owned(), value.clone()),
            ]);
            near_miss(fields, result, reasons)
        })
        .collect();
    Ok(axum::Json(json!({ "nearMisses": out })))
}
