//! Turning a matched stub into an HTTP response: status, headers, body
//! (fixed, templated or from a file), delays, dribbling and faults (asked of
//! the connection layer, which owns the socket).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;

use super::files::file_name;
use super::matcher::Incoming;
use super::store::FileStore;
use super::stub::{BodyDef, Delay, Dribble, FileName, HeaderText, Stub};
use super::template::{Context, Syntax, Template};
use crate::http::ApiError;
use crate::http::connection::ConnectionFault;
use crate::http::hop_headers::is_hop_by_hop_or_framing;

/// What is left to do after the synchronous part: the body may still have to
/// be read from a file, and the response may have to wait.
pub struct Prepared {
    response: Response,
    body: PendingBody,
    delay: Option<Duration>,
    dribble: Option<Dribble>,
    fault: Option<ConnectionFault>,
}

enum PendingBody {
    Ready(Bytes),
    /// A template could not be rendered: the response is a 500 saying why.
    Failed(String),
    File {
        name: String,
        template: Option<Syntax>,
    },
}

/// Everything that needs the request (templates) happens here, before any
/// waiting, so the request need not be kept across an await.
pub fn prepare(stub: &Stub, req: &Incoming<'_>, path_params: &[(String, String)]) -> Prepared {
    let def = &stub.response;
    let ctx = Context::new(req, path_params).with_parameters(&def.transformer_parameters);
    let mut response = Response::new(Body::empty());
    *response.status_mut() = def.status;
    if let Some(reason) = &def.reason
        && let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(reason.as_bytes().to_vec())
    {
        response.extensions_mut().insert(phrase);
    }
    let headers = response.headers_mut();
    let failure = add_headers(&def.headers, &ctx, headers).err();
    if let Some(content_type) = def.default_content_type
        && !headers.contains_key(header::CONTENT_TYPE)
    {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    let body = match &def.body {
        BodyDef::Empty => PendingBody::Ready(Bytes::new()),
        BodyDef::Fixed(bytes) => PendingBody::Ready(bytes.clone()),
        BodyDef::Template(t) => match t.render(&ctx) {
            Ok(text) => PendingBody::Ready(Bytes::from(text)),
            Err(e) => PendingBody::Failed(format!("body: {e}")),
        },
        BodyDef::Json(t) => match t.render(&ctx) {
            Ok(value) => PendingBody::Ready(Bytes::from(value.to_string())),
            Err(e) => PendingBody::Failed(format!("jsonBody: {e}")),
        },
        BodyDef::File { name, template } => match name {
            FileName::Fixed(name) => PendingBody::File {
                name: name.clone(),
                template: *template,
            },
            FileName::Template(t) => match t.render(&ctx) {
                Ok(name) => PendingBody::File {
                    name,
                    template: *template,
                },
                Err(e) => PendingBody::Failed(format!("bodyFileName: {e}")),
            },
        },
    };
    let body = match failure {
        Some(e) => PendingBody::Failed(e),
        None => body,
    };
    Prepared {
        response,
        body,
        delay: def.delay.sample(),
        dribble: def.dribble,
        fault: def.fault,
    }
}

/// Appends a stub's `headers`, templates rendered; the first failure is
/// the error (the headers before it are added).
pub fn add_headers(
    stub_headers: &[(HeaderName, HeaderText)],
    ctx: &Context<'_>,
    headers: &mut HeaderMap,
) -> Result<(), String> {
    let mut failure = None;
    for (name, value) in stub_headers {
        // The parser refuses these and loading drops them; this holds
        // whatever a stub was built from: the server frames the response.
        if is_hop_by_hop_or_framing(name.as_str()) {
            continue;
        }
        let value = match value {
            HeaderText::Fixed(v) => Some(v.clone()),
            HeaderText::Template(t) => match t.render(ctx) {
                Ok(text) => HeaderValue::from_str(&text).ok(),
                Err(e) => {
                    failure.get_or_insert(format!("header `{name}`: {e}"));
                    None
                }
            },
        };
        if let Some(value) = value {
            headers.append(name.clone(), value);
        }
    }
    failure.map_or(Ok(()), Err)
}

impl Prepared {
    /// Adds delays to the stub's own (the global settings' delays).
    pub fn delay_more(&mut self, delays: &[Delay]) {
        for extra in delays.iter().filter_map(|d| d.sample()) {
            self.delay = Some(self.delay.unwrap_or_default() + extra);
        }
    }
}

/// Waits, fetches a file body if needed, and sends. `rerender` rebuilds the
/// request view for a templated file body; `sent` is told what is sent (the
/// response, its whole body, or the fault sent instead), for the journal.
pub async fn finish(
    prepared: Prepared,
    files: &dyn FileStore,
    rerender: impl FnOnce(&Template) -> Result<String, String>,
    sent: impl FnOnce(&Response, &Bytes, Option<ConnectionFault>),
) -> Response {
    let Prepared {
        mut response,
        body,
        delay,
        dribble,
        fault,
    } = prepared;
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(fault) = fault {
        // Nothing of the response is sent, so its body is not even read.
        sent(&response, &Bytes::new(), Some(fault));
        response.extensions_mut().insert(fault);
        return response;
    }
    let bytes = match body {
        PendingBody::Ready(bytes) => bytes,
        PendingBody::Failed(e) => return template_failed(&e),
        PendingBody::File { name, template } => match body_file(files, &name).await {
            Ok(content) => match template {
                Some(syntax) => match std::str::from_utf8(&content)
                    .map_err(|e| e.to_string())
                    .and_then(|text| Template::parse_as(text, syntax))
                    .and_then(|t| rerender(&t))
                {
                    Ok(text) => Bytes::from(text),
                    Err(e) => return template_failed(&format!("body file `{name}`: {e}")),
                },
                None => Bytes::from(content),
            },
            Err(error) => return error.into_response(),
        },
    };
    sent(&response, &bytes, None);
    match dribble {
        Some(dribble) if !bytes.is_empty() => {
            response.headers_mut().remove(header::CONTENT_LENGTH);
            *response.body_mut() = dribbled(bytes, dribble);
        }
        _ => *response.body_mut() = Body::from(bytes),
    }
    response
}

/// A body file's content. A file that is not there is a 500, as on
/// WireMock: the stub names a file nobody put (`PUT /__admin/files/{name}`).
async fn body_file(files: &dyn FileStore, name: &str) -> Result<Vec<u8>, ApiError> {
    let name = file_name(name).map_err(ApiError::Internal)?;
    match files.get(&name).await {
        Ok(Some(content)) => Ok(content),
        Ok(None) => Err(ApiError::Internal(format!(
            "the stub's body file `{name}` does not exist"
        ))),
        Err(e) => Err(ApiError::storage(&e, e.is_unavailable())),
    }
}

/// A response whose template could not be rendered (it ran over its
/// bounds): a 500 that says so (the error middleware logs the reason).
fn template_failed(reason: &str) -> Response {
    template_failure(reason).into_response()
}

pub fn template_failure(reason: &str) -> ApiError {
    ApiError::Internal(format!("the stub's response template failed: {reason}"))
}

/// The body in `chunks` pieces spread over `total_ms`.
fn dribbled(bytes: Bytes, dribble: Dribble) -> Body {
    let chunks = usize::try_from(dribble.chunks)
        .unwrap_or(1)
        .clamp(1, bytes.len());
    let size = bytes.len().div_ceil(chunks);
    let pause = Duration::from_millis(dribble.total_ms / u64::from(dribble.chunks.max(1)));
    let pieces: Vec<Bytes> = (0..bytes.len())
        .step_by(size)
        .map(|start| bytes.slice(start..(start + size).min(bytes.len())))
        .collect();
    let stream = stream::unfold(pieces.into_iter(), move |mut pieces| async move {
        let piece = pieces.next()?;
        tokio::time::sleep(pause).await;
        Some((Ok::<_, std::io::Error>(piece), pieces))
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mocks::parse::stub::parse_stub;
    use axum::http::{HeaderMap, HeaderName, Method};
    use serde_json::json;

    #[test]
    fn framing_headers_never_reach_the_response() {
        let mut stub = parse_stub(
            &json!({"request": {"urlPath": "/a"}, "response": {"headers": {"X-Fine": "yes"}, "body": "hello"}}),
        )
        .unwrap();
        // As if a stub had been built past the parser's refusal.
        for (name, value) in [
            ("content-length", "2"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
        ] {
            stub.response.headers.push((
                HeaderName::from_static(name),
                HeaderText::Fixed(HeaderValue::from_static(value)),
            ));
        }
        let headers = HeaderMap::new();
        let req = Incoming::new(&Method::GET, "/a", None, &headers, b"");
        let prepared = prepare(&stub, &req, &[]);
        let names: Vec<&str> = prepared
            .response
            .headers()
            .keys()
            .map(HeaderName::as_str)
            .collect();
        assert_eq!(names, ["x-fine"]);
    }
}
