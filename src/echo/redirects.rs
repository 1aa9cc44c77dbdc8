//! The httpbin redirect routes: `/redirect/{n}`, `/relative-redirect/{n}`,
//! `/absolute-redirect/{n}` and `/redirect-to` (limited to an allow list, so
//! that echobase is not an open redirector).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::EchoConfig;
use super::formats::HTML;
use super::httpbin::TAG;
use super::inspect::{Inspected, query_pairs};
use crate::http::ApiError;

/// Longest redirect chain `/redirect/{n}` builds.
const MAX_REDIRECTS: u32 = 100;

/// A redirect with an empty body, as httpbin's `/relative-redirect` and
/// `/redirect-to` send it (Flask's default type on the empty page).
fn redirect(status: StatusCode, location: &str) -> Result<Response, ApiError> {
    let value = HeaderValue::try_from(location)
        .map_err(|_| ApiError::BadRequest("the target is not a valid header value".into()))?;
    let mut response = status.into_response();
    response.headers_mut().insert(header::LOCATION, value);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    Ok(response)
}

/// A redirect as Werkzeug's `redirect()` sends it, which httpbin's
/// `/redirect/{n}`, `/absolute-redirect/{n}`, `/links/{n}` and the cookie
/// routes use: the `Location` and a small HTML page that links to it.
pub fn redirect_page(status: StatusCode, location: &str) -> Result<Response, ApiError> {
    let mut response = redirect(status, location)?;
    let shown = html_escape(location);
    *response.body_mut() = axum::body::Body::from(format!(
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n\
         <h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: \
         <a href=\"{shown}\">{shown}</a>. If not, click the link.\n"
    ));
    Ok(response)
}

/// Text made safe inside HTML and its attributes (as markupsafe escapes it).
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
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

/// Redirects `n` times, then lands on `/get`: through `/relative-redirect`
/// (relative `Location`s), or with `?absolute=true` through
/// `/absolute-redirect` (absolute ones), as httpbin's chain goes.
#[utoipa::path(get, path = "/redirect/{n}", tag = TAG,
    params(("n" = u32, Path, minimum = 1, maximum = 100, description = "Hops, 1 to 100"),
           ("absolute" = Option<String>, Query, description = "`true` (any case): absolute `Location`s")),
    responses(
        (status = 302, description = "To the next hop, or `/get`", content_type = "text/html"),
        (status = 400, description = "`n` is not a whole number from 1 to 100", content_type = "text/plain"),
    ))]
pub async fn redirect_n(
    State(config): State<Arc<EchoConfig>>,
    Path(n): Path<String>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let n = parse_hops(&n)?;
    let absolute = query_pairs(request.uri.query().unwrap_or_default())
        .iter()
        .find_map(|(key, value)| (key == "absolute").then(|| value.eq_ignore_ascii_case("true")))
        .unwrap_or(false);
    if absolute {
        let path = next_hop(&config.prefix, "absolute-redirect", n);
        redirect_page(StatusCode::FOUND, &format!("{}{path}", origin_of(&request)))
    } else {
        redirect_page(
            StatusCode::FOUND,
            &next_hop(&config.prefix, "relative-redirect", n),
        )
    }
}

/// `http://` (or `https://`) and the `Host` header: this server as the client named it.
fn origin_of(request: &Inspected) -> String {
    let host = request.header_str(header::HOST).unwrap_or("localhost");
    let scheme = if request.tls.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// As `/redirect/{n}`.
#[utoipa::path(get, path = "/relative-redirect/{n}", tag = TAG,
    params(("n" = u32, Path, minimum = 1, maximum = 100, description = "Hops, 1 to 100")),
    responses(
        (status = 302, description = "To the next hop, or `/get`"),
        (status = 400, description = "`n` is not a whole number from 1 to 100", content_type = "text/plain"),
    ))]
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
    params(("n" = u32, Path, minimum = 1, maximum = 100, description = "Hops, 1 to 100")),
    responses(
        (status = 302, description = "To the next hop, or `/get`"),
        (status = 400, description = "`n` is not a whole number from 1 to 100", content_type = "text/plain"),
    ))]
pub async fn absolute_redirect(
    State(config): State<Arc<EchoConfig>>,
    Path(n): Path<String>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let n = parse_hops(&n)?;
    let path = next_hop(&config.prefix, "absolute-redirect", n);
    redirect_page(StatusCode::FOUND, &format!("{}{path}", origin_of(&request)))
}

/// Redirects to `url` with `status_code` (default 302). Paths on this server
/// are always allowed; other hosts only when listed in `echo.redirect_allow`.
/// The target is read as a browser reads it, and sent normalised.
#[utoipa::path(method(get, post, put, patch, delete, trace), path = "/redirect-to", tag = TAG,
    params(("url" = String, Query, description = "Target: a path, or a URL on an allowed host"),
           ("status_code" = Option<i64>, Query, description = "A 3xx status (default 302); any other number means 302, as in httpbin")),
    responses(
        (status = "3XX", description = "To `url`, normalised, with `status_code`"),
        (status = 400, description = "No url, a url that is not http(s), or a status that is not a number", content_type = "text/plain"),
        (status = 403, description = "The target's host is not in `echo.redirect_allow`", content_type = "text/plain"),
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
        // A number outside 3xx means the default, as in httpbin.
        Some(text) => match text.trim().parse::<i64>() {
            Ok(code) => u16::try_from(code)
                .ok()
                .filter(|code| (300..=399).contains(code))
                .and_then(|code| StatusCode::from_u16(code).ok())
                .unwrap_or(StatusCode::FOUND),
            Err(_) => {
                return Err(ApiError::BadRequest(format!(
                    "status_code `{text}` is not a number"
                )));
            }
        },
    };
    let scheme = if request.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let this_page = format!("{scheme}://{THIS_SERVER}{}/redirect-to", config.prefix);
    let location = redirect_location(target, &this_page, &config.redirect_allow)?;
    redirect(status, &location)
}

/// The host this server's own URLs are resolved on: a name that can never
/// be registered (RFC 6761), so only a target that stays on this server
/// resolves to it.
const THIS_SERVER: &str = "echobase.invalid";

/// The `Location` for a redirect to `target` from `this_page` (an absolute
/// URL on [`THIS_SERVER`]): a path on this server, or an http(s) URL whose
/// host is allowed (`*` allows any).
///
/// The target is resolved against the page as a browser resolves it (the
/// WHATWG URL standard, which the `url` crate implements): leading and
/// trailing control characters and spaces dropped, tabs and newlines dropped
/// anywhere, `\` read as `/`, `//host`, `https:host` and `http:path` forms.
/// Judging the raw text instead let `/\t/evil.example` through, which a
/// browser reads as `//evil.example`. What is sent is the resolved URL,
/// never the raw text: relative for this server, absolute for another host.
pub fn redirect_location(
    target: &str,
    this_page: &str,
    allow: &[String],
) -> Result<String, ApiError> {
    let base = url::Url::parse(this_page)
        .map_err(|e| ApiError::Internal(format!("the redirect base {this_page}: {e}")))?;
    let resolved = base
        .join(target)
        .map_err(|_| ApiError::BadRequest(format!("{target:?} is neither a path nor a URL")))?;
    if resolved.origin() == base.origin() {
        return path_on_this_server(&resolved);
    }
    if !matches!(resolved.scheme(), "http" | "https") {
        return Err(ApiError::BadRequest(format!(
            "only http and https targets are allowed, not `{}`",
            resolved.scheme()
        )));
    }
    let host = resolved.host_str().unwrap_or_default();
    if allow.iter().any(|allowed| is_allowed(allowed, host)) {
        Ok(resolved.into())
    } else {
        Err(ApiError::Forbidden(format!(
            "redirects to `{host}` are not allowed; add it to echo.redirect_allow"
        )))
    }
}

/// The path, query and fragment of a URL on this server, as a relative
/// `Location`. A path that starts with `//` (from `/.//host`) would be read
/// as another host once sent on its own, so it is refused.
fn path_on_this_server(resolved: &url::Url) -> Result<String, ApiError> {
    let path = resolved.path();
    if path.starts_with("//") {
        return Err(ApiError::BadRequest(format!(
            "the path `{path}` would be read as another host"
        )));
    }
    let mut location = path.to_owned();
    if let Some(query) = resolved.query() {
        location.push('?');
        location.push_str(query);
    }
    if let Some(fragment) = resolved.fragment() {
        location.push('#');
        location.push_str(fragment);
    }
    Ok(location)
}

/// Whether an `echo.redirect_allow` entry allows `host` (as the `url` crate
/// writes it: lower-case, IPv6 in brackets). An IPv6 entry may be written
/// with or without its brackets.
fn is_allowed(allowed: &str, host: &str) -> bool {
    let bare = |name: &str| -> String {
        name.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    };
    allowed == "*" || bare(allowed) == bare(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "http://echobase.invalid/echo/redirect-to";

    fn location(target: &str, allow: &[&str]) -> Result<String, u16> {
        let allow: Vec<String> = allow.iter().map(|host| host.to_string()).collect();
        redirect_location(target, PAGE, &allow).map_err(|e| e.status().as_u16())
    }

    #[test]
    fn local_paths_are_always_allowed_and_sent_relative() {
        assert_eq!(location("/echo/get", &[]), Ok("/echo/get".into()));
        assert_eq!(location("get?a=1#b", &[]), Ok("/echo/get?a=1#b".into()));
        assert_eq!(location("\t/echo/get\n", &[]), Ok("/echo/get".into()));
    }

    #[test]
    fn other_hosts_need_the_allow_list() {
        let allow = ["example.com"];
        assert_eq!(
            location("https://Example.COM/x", &allow),
            Ok("https://example.com/x".into())
        );
        assert_eq!(location("https://evil.test/x", &allow), Err(403));
        assert_eq!(location("//evil.test/x", &allow), Err(403));
        assert_eq!(location("/\\evil.test", &allow), Err(403));
        assert_eq!(location("/\t/evil.test", &allow), Err(403));
        assert_eq!(location("https:evil.test", &allow), Err(403));
        assert_eq!(location("https://example.com@evil.test", &allow), Err(403));
        assert_eq!(location("javascript:alert(1)", &["*"]), Err(400));
        assert_eq!(
            location("https://any.test/", &["*"]),
            Ok("https://any.test/".into())
        );
    }

    #[test]
    fn ipv6_entries_match_with_or_without_brackets() {
        for entry in ["::1", "[::1]"] {
            assert_eq!(
                location("http://[::1]:8080/x", &[entry]),
                Ok("http://[::1]:8080/x".into()),
                "{entry}"
            );
        }
        assert_eq!(location("http://[::2]/", &["::1"]), Err(403));
    }

    #[test]
    fn a_path_that_would_name_another_host_is_refused() {
        assert_eq!(location("/.//evil.test", &[]), Err(400));
        assert_eq!(location("/a/..//evil.test", &[]), Err(400));
    }

    #[test]
    fn the_last_hop_lands_on_get() {
        assert_eq!(next_hop("/echo", "redirect", 3), "/echo/redirect/2");
        assert_eq!(next_hop("/echo", "redirect", 1), "/echo/get");
    }
}
