//! The httpbin routes about credentials and cookies: `/basic-auth`,
//! `/hidden-basic-auth`, `/bearer`, `/jwt` and `/cookies`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq as _;

use super::EchoConfig;
use super::httpbin::{TAG, json_response};
use super::inspect::{Inspected, query_pairs};
use crate::http::ApiError;

/// Said in every decoded token: nothing here checks a signature.
const UNVERIFIED: &str = "decoded only: the signature was NOT verified; do not trust these claims";

/// `Basic` credentials as `(user, password)`, if the header holds them.
fn basic_credentials(request: &Inspected) -> Option<(String, String)> {
    let value = request.header_str(header::AUTHORIZATION)?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn bearer_token(request: &Inspected) -> Option<&str> {
    let value = request.header_str(header::AUTHORIZATION)?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|token| !token.is_empty())
}

fn credentials_match(request: &Inspected, user: &str, password: &str) -> bool {
    basic_credentials(request).is_some_and(|(given_user, given_password)| {
        // Both compared, always, so the answer's timing does not tell which was wrong.
        let user_ok = given_user.as_bytes().ct_eq(user.as_bytes());
        let password_ok = given_password.as_bytes().ct_eq(password.as_bytes());
        bool::from(user_ok & password_ok)
    })
}

/// `200` with the user when `Authorization: Basic` carries `{user}:{password}`,
/// else `401` with a `WWW-Authenticate` challenge.
#[utoipa::path(get, path = "/basic-auth/{user}/{password}", tag = TAG,
    params(("user" = String, Path, description = "Expected user"),
           ("password" = String, Path, description = "Expected password")),
    responses(
        (status = 200, description = "`{\"authenticated\": true, \"user\": ...}`"),
        (status = 401, description = "Missing or wrong credentials: `WWW-Authenticate`, empty body"),
    ))]
pub async fn basic_auth(
    Path((user, password)): Path<(String, String)>,
    request: Inspected,
) -> Response {
    if credentials_match(&request, &user, &password) {
        return json_response(
            StatusCode::OK,
            json!({ "authenticated": true, "user": user }),
        );
    }
    // httpbin's `/status/401`: the challenge and nothing else.
    super::responses::status_answer(StatusCode::UNAUTHORIZED, "")
}

/// As `/basic-auth`, but a failure is a `404` (no challenge for browsers).
#[utoipa::path(get, path = "/hidden-basic-auth/{user}/{password}", tag = TAG,
    params(("user" = String, Path, description = "Expected user"),
           ("password" = String, Path, description = "Expected password")),
    responses(
        (status = 200, description = "`{\"authenticated\": true, \"user\": ...}`"),
        (status = 404, description = "Missing or wrong credentials: an empty page"),
    ))]
pub async fn hidden_basic_auth(
    Path((user, password)): Path<(String, String)>,
    request: Inspected,
) -> Response {
    if credentials_match(&request, &user, &password) {
        json_response(
            StatusCode::OK,
            json!({ "authenticated": true, "user": user }),
        )
    } else {
        super::responses::status_answer(StatusCode::NOT_FOUND, "")
    }
}

fn bearer_challenge() -> Response {
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    let headers = response.headers_mut();
    headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::formats::HTML),
    );
    response
}

/// `200` with the token when `Authorization: Bearer` is present, else `401`.
/// A token that is a JWT is decoded too (`jwt`), without checking its signature.
#[utoipa::path(get, path = "/bearer", tag = TAG,
    responses(
        (status = 200, description = "`{\"authenticated\": true, \"token\": ...}` (+ `jwt` when decodable)"),
        (status = 401, description = "No bearer token"),
    ))]
pub async fn bearer(request: Inspected) -> Response {
    let Some(token) = bearer_token(&request) else {
        return bearer_challenge();
    };
    let mut body = json!({ "authenticated": true, "token": token });
    if let (Ok(decoded), Some(object)) = (decode_jwt(token), body.as_object_mut()) {
        object.insert("jwt".into(), Value::Object(decoded));
    }
    json_response(StatusCode::OK, body)
}

/// Decodes the bearer token (or the `token` query parameter) as a JWT and
/// shows its header and claims. The signature is not verified, and the
/// answer says so.
#[utoipa::path(get, path = "/jwt", tag = TAG,
    params(("token" = Option<String>, Query, description = "The JWT, if not sent as a bearer token")),
    responses(
        (status = 200, description = "`header`, `claims`, `signature`, `verified: false`, `warning`"),
        (status = 400, description = "Not a JWT", content_type = "text/plain"),
        (status = 401, description = "No token"),
    ))]
pub async fn jwt(request: Inspected) -> Result<Response, ApiError> {
    let from_query = query_pairs(request.uri.query().unwrap_or_default())
        .into_iter()
        .find_map(|(key, value)| (key == "token").then_some(value));
    let token = match (bearer_token(&request), from_query) {
        (Some(token), _) => token.to_owned(),
        (None, Some(token)) => token,
        (None, None) => return Ok(bearer_challenge()),
    };
    let decoded = decode_jwt(&token).map_err(ApiError::BadRequest)?;
    Ok(json_response(StatusCode::OK, Value::Object(decoded)))
}

/// A compact JWS's header and claims, labelled as unverified.
pub fn decode_jwt(token: &str) -> Result<Map<String, Value>, String> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("a JWT has three base64url parts separated by dots".into());
    };
    let part = |name: &str, text: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| format!("the JWT {name} is not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| format!("the JWT {name} is not JSON"))
    };
    let mut decoded = Map::new();
    decoded.insert("header".into(), part("header", header)?);
    decoded.insert("claims".into(), part("claims", claims)?);
    decoded.insert("signature".into(), json!(signature));
    decoded.insert("verified".into(), json!(false));
    decoded.insert("warning".into(), json!(UNVERIFIED));
    Ok(decoded)
}

/// The cookies the request carries.
fn cookies_of(request: &Inspected) -> Map<String, Value> {
    let mut cookies = Map::new();
    for value in request.headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                cookies.insert(name.to_owned(), json!(value));
            }
        }
    }
    cookies
}

/// The cookies sent with the request.
#[utoipa::path(get, path = "/cookies", tag = TAG,
    responses((status = 200, description = "`{\"cookies\": {...}}`")))]
pub async fn cookies(request: Inspected) -> Response {
    json_response(StatusCode::OK, json!({ "cookies": cookies_of(&request) }))
}

fn redirect_to_cookies(
    config: &EchoConfig,
    set_cookies: Vec<String>,
) -> Result<Response, ApiError> {
    let mut response =
        super::redirects::redirect_page(StatusCode::FOUND, &format!("{}/cookies", config.prefix))?;
    let headers = response.headers_mut();
    for cookie in set_cookies {
        let value = HeaderValue::try_from(cookie)
            .map_err(|_| ApiError::BadRequest("a cookie is not a valid header value".into()))?;
        headers.append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// A cookie name or value as RFC 6265 allows it (no separators, no controls).
fn check_cookie_part(text: &str) -> Result<&str, ApiError> {
    let ok = text
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\' | b'='));
    if ok && !text.is_empty() {
        Ok(text)
    } else {
        Err(ApiError::BadRequest(format!(
            "`{text}` cannot be a cookie name or value"
        )))
    }
}

fn set_cookie(name: &str, value: &str, attributes: &CookieAttributes) -> Result<String, ApiError> {
    Ok(format!(
        "{}={}{attributes}",
        check_cookie_part(name)?,
        check_cookie_part(value)?
    ))
}

/// go-httpbin's cookie attributes, asked for with `attr[Name]=value` query
/// parameters on `/cookies/set` and `/cookies/delete` (a cookie is deleted
/// only with the path and domain it was set with). Without them a cookie
/// gets httpbin's `Path=/` alone (go-httpbin adds `HttpOnly`, and `Secure`
/// over HTTPS). Such a name is no RFC 6265 cookie name (`[` and `]` are
/// separators), so no cookie a client could set is lost to them.
#[derive(Debug, PartialEq)]
struct CookieAttributes {
    path: String,
    domain: Option<String>,
    http_only: bool,
    secure: bool,
    same_site: Option<&'static str>,
}

impl Default for CookieAttributes {
    fn default() -> Self {
        CookieAttributes {
            path: "/".into(),
            domain: None,
            http_only: false,
            secure: false,
            same_site: None,
        }
    }
}

impl std::fmt::Display for CookieAttributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "; Path={}", self.path)?;
        if let Some(domain) = &self.domain {
            write!(f, "; Domain={domain}")?;
        }
        if self.http_only {
            f.write_str("; HttpOnly")?;
        }
        if self.secure {
            f.write_str("; Secure")?;
        }
        if let Some(same_site) = self.same_site {
            write!(f, "; SameSite={same_site}")?;
        }
        Ok(())
    }
}

/// A query parameter's name and value.
type QueryPair = (String, String);

/// `Name` of an `attr[Name]` parameter.
fn attribute_name(key: &str) -> Option<&str> {
    key.strip_prefix("attr[")?.strip_suffix(']')
}

/// The attributes the `attr[...]` parameters ask for, and the other
/// parameters: the cookies. As go-httpbin: the attribute's name in any case,
/// the first value of a repeated one, `1` or `true` (any case) for a flag,
/// other attributes and unknown `SameSite` values ignored. A value goes into
/// `Set-Cookie` as it is, so it must be a cookie part (no `;`).
fn split_attributes(pairs: &[QueryPair]) -> Result<(CookieAttributes, Vec<&QueryPair>), ApiError> {
    let mut attributes = CookieAttributes::default();
    let mut seen = Vec::new();
    let mut cookies = Vec::new();
    for pair in pairs {
        let Some(name) = attribute_name(&pair.0) else {
            cookies.push(pair);
            continue;
        };
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            continue;
        }
        let value = check_cookie_part(&pair.1)?;
        let flag = value == "1" || value.eq_ignore_ascii_case("true");
        match name.as_str() {
            "path" => attributes.path = value.to_owned(),
            "domain" => attributes.domain = Some(value.to_owned()),
            "httponly" => attributes.http_only = flag,
            "secure" => attributes.secure = flag,
            "samesite" => {
                attributes.same_site = match value.to_ascii_lowercase().as_str() {
                    "strict" => Some("Strict"),
                    "lax" => Some("Lax"),
                    "none" => Some("None"),
                    _ => attributes.same_site,
                }
            }
            _ => {}
        }
        seen.push(name);
    }
    Ok((attributes, cookies))
}

/// Sets each query parameter as a cookie, then redirects to `/cookies`.
#[utoipa::path(get, path = "/cookies/set", tag = TAG,
    params(("cookies" = inline(Option<super::schemas::CookiePairs>), Query, nullable = false, style = Form, explode,
        description = "`name=value` pairs: printable ASCII but `\"`, `,`, `;`, `=` and `\\`. go-httpbin's `attr[Path]`, `attr[Domain]`, `attr[HttpOnly]`, `attr[Secure]` (`1`/`true`) and `attr[SameSite]` (`Strict`, `Lax`, `None`) set those attributes on every cookie instead")),
    responses(
        (status = 302, description = "Cookies set; redirect to `/cookies`"),
        (status = 400, description = "A name or value that cannot be a cookie's", content_type = "text/plain"),
    ))]
pub async fn cookies_set(
    State(config): State<Arc<EchoConfig>>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(request.uri.query().unwrap_or_default());
    let (attributes, cookies) = split_attributes(&pairs)?;
    let cookies = cookies
        .iter()
        .map(|(name, value)| set_cookie(name, value, &attributes))
        .collect::<Result<_, _>>()?;
    redirect_to_cookies(&config, cookies)
}

/// Sets one cookie, then redirects to `/cookies`.
#[utoipa::path(get, path = "/cookies/set/{name}/{value}", tag = TAG,
    params(("name" = String, Path, pattern = "^[\\x21\\x23-\\x2B\\x2D-\\x3A\\x3C\\x3E-\\x5B\\x5D-\\x7E]+$",
            description = "Cookie name: printable ASCII but `\"`, `,`, `;`, `=` and `\\`"),
           ("value" = String, Path, pattern = "^[\\x21\\x23-\\x2B\\x2D-\\x3A\\x3C\\x3E-\\x5B\\x5D-\\x7E]+$", description = "Cookie value, as the name")),
    responses(
        (status = 302, description = "Cookie set; redirect to `/cookies`"),
        (status = 400, description = "A name or value that cannot be a cookie's", content_type = "text/plain"),
    ))]
pub async fn cookies_set_one(
    State(config): State<Arc<EchoConfig>>,
    Path((name, value)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    redirect_to_cookies(
        &config,
        vec![set_cookie(&name, &value, &CookieAttributes::default())?],
    )
}

/// Expires each cookie named in the query, then redirects to `/cookies`.
#[utoipa::path(get, path = "/cookies/delete", tag = TAG,
    params(("names" = inline(Option<super::schemas::CookieNames>), Query, nullable = false, style = Form, explode,
        description = "Cookie names (`?a&b`), as `/cookies/set` takes them; values are ignored. `attr[Path]`, `attr[Domain]` and the other `attr[...]` of `/cookies/set` are attributes, not cookies")),
    responses(
        (status = 302, description = "Cookies expired; redirect to `/cookies`"),
        (status = 400, description = "A name that cannot be a cookie's", content_type = "text/plain"),
    ))]
pub async fn cookies_delete(
    State(config): State<Arc<EchoConfig>>,
    request: Inspected,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(request.uri.query().unwrap_or_default());
    let (attributes, cookies) = split_attributes(&pairs)?;
    let expired = cookies
        .iter()
        .map(|(name, _)| {
            Ok(format!(
                "{}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0{attributes}",
                check_cookie_part(name)?
            ))
        })
        .collect::<Result<_, ApiError>>()?;
    redirect_to_cookies(&config, expired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_is_decoded_and_labelled_unverified() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"ada","admin":true}"#);
        let decoded = decode_jwt(&format!("{header}.{claims}.c2ln")).unwrap();
        assert_eq!(decoded["header"]["alg"], "HS256");
        assert_eq!(decoded["claims"]["sub"], "ada");
        assert_eq!(decoded["verified"], false);
        assert!(
            decoded["warning"]
                .as_str()
                .unwrap()
                .contains("NOT verified")
        );
    }

    #[test]
    fn tokens_that_are_not_jwts_are_refused() {
        assert!(decode_jwt("opaque-token").is_err());
        assert!(decode_jwt("a.b.c.d").is_err());
        assert!(decode_jwt("!!.e30.sig").is_err());
        let not_json = URL_SAFE_NO_PAD.encode(b"plain");
        assert!(decode_jwt(&format!("{not_json}.{not_json}.sig")).is_err());
    }

    #[test]
    fn cookie_parts_with_separators_are_refused() {
        let plain = CookieAttributes::default();
        assert_eq!(set_cookie("a", "b", &plain).unwrap(), "a=b; Path=/");
        assert!(set_cookie("a;b", "c", &plain).is_err());
        assert!(set_cookie("a", "b c", &plain).is_err());
        assert!(set_cookie("", "c", &plain).is_err());
    }

    fn pairs(query: &str) -> Vec<(String, String)> {
        query_pairs(query)
    }

    #[test]
    fn attr_parameters_are_attributes_not_cookies() {
        let query = pairs(
            "a=1&attr[Path]=/x&attr[domain]=example.test&attr[HttpOnly]=TRUE&attr[Secure]=1\
             &attr[SameSite]=lax&attr[Path]=/ignored&attr[Priority]=High&b=2",
        );
        let (attributes, cookies) = split_attributes(&query).unwrap();
        let names: Vec<&str> = cookies.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            attributes.to_string(),
            "; Path=/x; Domain=example.test; HttpOnly; Secure; SameSite=Lax"
        );
        let (attributes, _) =
            split_attributes(&pairs("attr[Secure]=no&attr[SameSite]=odd")).unwrap();
        assert_eq!(attributes, CookieAttributes::default());
        assert!(split_attributes(&pairs("attr[Path]=%2Fa%3Bb")).is_err());
    }
}
