//! The httpbin redirect routes: `/redirect/{n}`, `/relative-redirect/{n}`,
//! `/absolute-redirect/{n}` and `/redirect-to` (limited to an allow list, so
//! that echobase is not an open redirector).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::EchoConfig;
use super::httpbin::TAG;
use super::inspect::{Inspected, query_pairs};
use crate::http::ApiError;

/// Longest redirect chain `/redirect/{n}` builds.
const MAX_REDIRECTS: u32 = 100;

fn redirect(status: StatusCode, location: &str) -> Result<Response, ApiError> {
    let value = HeaderValue::try_from(location)
        .map_err(|_| ApiError::BadRequest("the target is not a valid header value".into()))?;
    let mut response = status.into_response();
    response.headers_mut().insert(header::LOCATION, value);
    Ok(response)
}

fn parse_hops(text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_REDIRECTS).contains(n))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`{text}` is not a redirect count (expected 1 to {MAX_REDIRECTS})"
            ))
        })
}

/// Where hop `n` of a chain points: the next hop, or `/get` at the end.
fn next_hop(prefix: &str, route: &str, n: u32) -> String {
    if n <= 1 {
        format!("{prefix}/get")
    } else {
        format!("{prefix}/{route}/{}", n - 1)
    }
}

/// Redirects `n` times (relative `Location`s), then lands on `/get`.
#[utoipa::path(get, path = "/redirect/{n}", tag = TAG,
    params(("n" = u32, Path, description = "Hops, 1 to 100")),
    responses((status = 302, description = "To the next hop, or `/get`")))]
pub async fn redirect_n(
    State(config): State<Arc<EchoConfig>>,
    Path(n): Path<String>,
) -> Result<Response, ApiError> {
    let n = parse_hops(&n)?;
    redirect(StatusCode::FOUND, &next_hop(&config.prefix, "redirect", n))
}

/// As `/redirect/{n}`.
#[utoipa::path(get, path = "/relative-redirect/{n}", tag = TAG,
    params(("n" = u32, Path, description = "Hops, 1 to 100")),
    responses((status = 302, description = "To the next hop, or `/get`")))]
pub async fn relative_redirect(
    State(config): State<Arc<EchoConfig>>,
    Path(n): Path<String>,
) -> Result<Response, ApiError> {
    let n = parse_hops(&n)?;
    redirect(
        StatusCode::FOUND,
        &next_hop(&config.prefix, "relative-redirect", n),
    )
}

/// As `/redirect/{n}`, with absolute `Location`s built from `Host`.
#[utoipa::path(get, path = "/absolute-redirect/{n}", tag = TAG,
    params(("n" = u32, Path, description = "Hops, 1 to 100")),
    responses((status = 302, description = "To the next hop, or `/get`")))]
pub async fn absolute_redirect(
    State(config): State<Arc<EchoConfig>>,
    Path(n): Path<String>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let n = parse_hops(&n)?;
    let host = request.header_str(header::HOST).unwrap_or("localhost");
    let path = next_hop(&config.prefix, "absolute-redirect", n);
    redirect(StatusCode::FOUND, &format!("http://{host}{path}"))
}

/// Redirects to `url` with `status_code` (default 302). Paths on this server
/// are always allowed; other hosts only when listed in `echo.redirect_allow`.
#[utoipa::path(method(get, post, put, patch, delete), path = "/redirect-to", tag = TAG,
    params(("url" = String, Query, description = "Target: a path, or a URL on an allowed host"),
           ("status_code" = Option<u16>, Query, description = "A 3xx status (default 302)")),
    responses(
        (status = 302, description = "To `url`"),
        (status = 400, description = "No url, or a status that is not 3xx", body = crate::http::Problem),
        (status = 403, description = "The target's host is not in `echo.redirect_allow`", body = crate::http::Problem),
    ))]
pub async fn redirect_to(
    State(config): State<Arc<EchoConfig>>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(request.uri.query().unwrap_or_default());
    let value = |key: &str| {
        pairs
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v.as_str()))
    };
    let target = value("url")
        .ok_or_else(|| ApiError::BadRequest("the `url` query parameter is required".into()))?;
    let status = match value("status_code") {
        None => StatusCode::FOUND,
        Some(text) => text
            .parse::<u16>()
            .ok()
            .filter(|code| (300..=399).contains(code))
            .and_then(|code| StatusCode::from_u16(code).ok())
            .ok_or_else(|| {
                ApiError::BadRequest(format!("status_code `{text}` is not a 3xx status"))
            })?,
    };
    check_redirect_target(target, &config.redirect_allow)?;
    redirect(status, target)
}

/// A path on this server, or an http(s) URL whose host is allowed (`*` allows any).
pub fn check_redirect_target(target: &str, allow: &[String]) -> Result<(), ApiError> {
    // `//host` and `/\host` are protocol-relative in browsers: another host.
    let is_local_path =
        target.starts_with('/') && !target.starts_with("//") && !target.starts_with("/\\");
    if is_local_path {
        return Ok(());
    }
    // Judge a protocol-relative target by the host it names.
    let absolute = match target.strip_prefix("//") {
        Some(rest) => format!("http://{rest}"),
        None => target.to_owned(),
    };
    let url = url::Url::parse(&absolute)
        .map_err(|_| ApiError::BadRequest(format!("`{target}` is neither a path nor a URL")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::BadRequest(format!(
            "only http and https targets are allowed, not `{}`",
            url.scheme()
        )));
    }
    let host = url.host_str().unwrap_or_default();
    if allow
        .iter()
        .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(host))
    {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "redirects to `{host}` are not allowed; add it to echo.redirect_allow"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_always_allowed() {
        assert!(check_redirect_target("/echo/get", &[]).is_ok());
    }

    #[test]
    fn other_hosts_need_the_allow_list() {
        let allow = vec!["example.com".to_owned()];
        assert!(check_redirect_target("https://example.com/x", &allow).is_ok());
        assert!(check_redirect_target("https://evil.test/x", &allow).is_err());
        assert!(check_redirect_target("//evil.test/x", &allow).is_err());
        assert!(check_redirect_target("/\\evil.test", &allow).is_err());
        assert!(check_redirect_target("javascript:alert(1)", &["*".into()]).is_err());
        assert!(check_redirect_target("https://any.test/", &["*".into()]).is_ok());
    }

    #[test]
    fn the_last_hop_lands_on_get() {
        assert_eq!(next_hop("/echo", "redirect", 3), "/echo/redirect/2");
        assert_eq!(next_hop("/echo", "redirect", 1), "/echo/get");
    }
}
