//! The fallback handler: every request no built-in route takes comes here and
//! is answered by a stub, or by a 404 that says which stubs came nearest.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use axum::body::Bytes;

use super::engine::{Engine, Outcome};
use super::journal::LoggedResponse;
use super::matcher::{Incoming, MatchResult, Origin};
use super::oas::{Documents, OperationRef};
use super::proxy::{self, Forward, Proxies};
use super::respond;
use super::stub::{Delay, Stub};
use super::template::Context;
use super::webhook;
use crate::http::ApiError;
use crate::http::auth::Scope;
use crate::http::connection::{Connection, ConnectionFault};
use crate::http::extract::Body;
use crate::http::security::Security;
use crate::module::Module;

/// What the fallback needs: the stubs, and who may see near misses.
#[derive(Clone)]
pub struct Serving {
    pub engine: Arc<Engine>,
    pub security: Arc<Security>,
    /// Forwards the requests of proxy stubs.
    pub proxies: Arc<Proxies>,
    /// The OpenAPI documents that stubs made from one answer from.
    pub documents: Arc<Documents>,
}

/// What a matched stub answers with: its own response, or another server's.
enum Answer {
    Stub(respond::Prepared),
    /// The request to forward, or why its templates failed.
    Proxy(Result<Forward, String>),
    /// An operation of an OpenAPI document answers.
    OpenApi(OperationRef),
}

pub async fn serve(State(serving): State<Serving>, mut req: Request) -> Response {
    let engine = &serving.engine;
    let origin = {
        let connection = req.extensions().get::<Connection>();
        Origin {
            client_ip: connection.map(|c| c.client_ip),
            https: connection.is_some_and(|c| c.tls().is_some()),
            version: req.version(),
        }
    };
    let method = req.method().clone();
    let uri = req.uri().clone();
    let headers = std::mem::take(req.headers_mut());
    let body = match Body::from_request(req, &()).await {
        Ok(Body(bytes)) => bytes,
        Err(error) => return error.into_response(),
    };
    let (answer, webhooks, path_params, stub, logged) = {
        let incoming =
            Incoming::new(&method, uri.path(), uri.query(), &headers, &body).with_origin(origin);
        let outcome = match engine.handle(&incoming, &body).await {
            Ok(outcome) => outcome,
            Err(error) => return ApiError::storage(&error, error.is_unavailable()).into_response(),
        };
        match outcome {
            Outcome::Matched {
                stub,
                path_params,
                logged,
            } => {
                let answer = match &stub.response.proxy {
                    // A fault is sent instead of any response, proxied or not.
                    Some(proxy) if stub.response.fault.is_none() => {
                        let ctx = Context::new(&incoming, &path_params)
                            .with_parameters(&stub.response.transformer_parameters);
                        Answer::Proxy(proxy::prepare(
                            proxy,
                            &stub.response.headers,
                            &incoming,
                            &ctx,
                        ))
                    }
                    _ => match &stub.response.openapi {
                        Some(reference) => Answer::OpenApi(reference.clone()),
                        None => Answer::Stub(respond::prepare(&stub, &incoming, &path_params)),
                    },
                };
                (
                    answer,
                    webhook::render(&stub, &incoming, &path_params),
                    path_params,
                    stub,
                    logged,
                )
            }
            Outcome::Unmatched {
                near_misses,
                logged,
            } => {
                let may_see = serving
                    .security
                    .grants(&headers, Scope::write(Module::Mocks));
                let response = not_found(&incoming, may_see.then_some(&near_misses[..]));
                logged.respond(LoggedResponse {
                    status: response.status().as_u16(),
                    headers: response.headers().clone(),
                    body: Default::default(),
                    fault: None,
                });
                return response;
            }
        }
    };
    let settings = engine.settings();
    let global_delays = [settings.fixed_delay, settings.delay_distribution];
    let response = match answer {
        Answer::Stub(mut prepared) => {
            prepared.delay_more(&global_delays);
            let sent = |response: &Response, body: &Bytes, fault: Option<ConnectionFault>| {
                let fault = fault.and_then(|_| {
                    let mapping = stub.mapping();
                    mapping["response"]["fault"].as_str().map(str::to_owned)
                });
                logged.respond(LoggedResponse {
                    status: response.status().as_u16(),
                    headers: engine.journal.keep_headers(response.headers()),
                    body: engine.journal.keep_body(body).0,
                    fault,
                });
            };
            let rerender = |template: &super::template::Template| {
                let incoming = Incoming::new(&method, uri.path(), uri.query(), &headers, &body)
                    .with_origin(origin);
                template.render(
                    &Context::new(&incoming, &path_params)
                        .with_parameters(&stub.response.transformer_parameters),
                )
            };
            respond::finish(prepared, engine.files(), rerender, sent).await
        }
        Answer::Proxy(forward) => {
            wait(stub.response.delay, &global_delays).await;
            let proxied = match forward {
                Ok(forward) => serving
                    .proxies
                    .forward(forward, method.clone(), body.clone())
                    .await
                    .map_err(ApiError::from),
                Err(reason) => Err(respond::template_failure(&reason)),
            };
            match proxied {
                Ok(answer) => {
                    let kept_headers = engine.journal.keep_headers(answer.headers());
                    proxy::journaled(answer, logged, kept_headers, engine.journal.max_body())
                }
                Err(error) => {
                    let response = error.into_response();
                    logged.respond(LoggedResponse {
                        status: response.status().as_u16(),
                        headers: engine.journal.keep_headers(response.headers()),
                        body: Bytes::new(),
                        fault: None,
                    });
                    response
                }
            }
        }
        Answer::OpenApi(reference) => {
            wait(stub.response.delay, &global_delays).await;
            let incoming = Incoming::new(&method, uri.path(), uri.query(), &headers, &body)
                .with_origin(origin);
            let answered = match serving
                .documents
                .operation(engine.files(), &reference)
                .await
            {
                Ok(operation) => operation
                    .check(&incoming)
                    .and_then(|()| operation.answer(&incoming)),
                Err(error) => Err(error),
            };
            let response = match answered {
                Ok((status, answer_headers, bytes)) => {
                    let mut response = Response::new(axum::body::Body::from(bytes));
                    *response.status_mut() = status;
                    *response.headers_mut() = answer_headers;
                    response
                }
                Err(error) => error.into_response(),
            };
            let (parts, answer_body) = response.into_parts();
            // Small (an example, or a problem document): read whole to journal it.
            let bytes = axum::body::to_bytes(answer_body, usize::MAX)
                .await
                .unwrap_or_default();
            logged.respond(LoggedResponse {
                status: parts.status.as_u16(),
                headers: engine.journal.keep_headers(&parts.headers),
                body: engine.journal.keep_body(&bytes).0,
                fault: None,
            });
            Response::from_parts(parts, axum::body::Body::from(bytes))
        }
    };
    // After the answer is ready (its delay waited), as WireMock sends them
    // once the response is complete.
    for hook in webhooks {
        match hook {
            Ok(outbound) => engine.webhooks.send(outbound),
            Err(reason) => engine.webhooks.invalid(&stub.id, reason),
        }
    }
    response
}

/// Waits the stub's delay and the global ones, for answers made here
/// rather than by [`respond::finish`].
async fn wait(delay: Delay, global: &[Delay]) {
    let total: std::time::Duration = std::iter::once(delay)
        .chain(global.iter().copied())
        .filter_map(|delay| delay.sample())
        .sum();
    if !total.is_zero() {
        tokio::time::sleep(total).await;
    }
}

/// One near miss, as the 404 body and the admin API report it.
pub fn near_miss_json(stub: &Stub, result: &MatchResult) -> Value {
    let mut out = json!({
        "id": stub.id,
        "distance": (result.distance * 1000.0).round() / 1000.0,
        "request": stub.mapping().get("request").cloned().unwrap_or(Value::Null),
        "reasons": result.reasons,
    });
    if let Some(name) = &stub.name {
        out["name"] = Value::String(name.clone());
    }
    out
}

/// The 404 for a request no stub answers: problem+json (as every unknown
/// route in echobase), which also carries the original mock service's
/// `error` member and, for a caller who may read the stubs (`None`
/// otherwise), the nearest stubs with why they did not match.
fn not_found(req: &Incoming<'_>, near_misses: Option<&[(Arc<Stub>, MatchResult)]>) -> Response {
    let path = req.path.strip_prefix('/').unwrap_or(req.path);
    let mut members = serde_json::Map::from_iter([(
        "error".to_owned(),
        Value::String(format!("Endpoint {} {} not found", req.method, path)),
    )]);
    if let Some(near_misses) = near_misses {
        let near_misses = near_misses
            .iter()
            .map(|(stub, result)| near_miss_json(stub, result))
            .collect();
        members.insert("nearMisses".to_owned(), Value::Array(near_misses));
    }
    ApiError::WithMembers {
        error: Box::new(ApiError::NotFound(format!(
            "no route and no mock for {} {}",
            req.method, req.path
        ))),
        members,
    }
    .into_response()
}
