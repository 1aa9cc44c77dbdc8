//! `/digest-auth/{qop}/{user}/{passwd}[/{algorithm}[/{stale_after}]]`: HTTP
//! Digest authentication (RFC 7616) as httpbin runs it: MD5, SHA-256 and
//! SHA-512, `qop` `auth` and `auth-int`, and httpbin's cookies (`stale_after`
//! counts down the answers before a nonce is called stale, `last_nonce`
//! makes a replayed nonce stale, `require-cookie` refuses clients that drop
//! cookies).

use std::collections::HashMap;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use serde_json::json;
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;

use super::httpbin::{TAG, json_response};
use super::inspect::{Inspected, query_pairs};
use crate::http::ApiError;

/// httpbin's realm, kept so that clients with it written down still match.
const REALM: &str = "me@kennethreitz.com";

/// The hash a route asks for; any other name in the path means MD5, as in httpbin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn from_path(name: &str) -> Self {
        match name {
            "SHA-256" => Algorithm::Sha256,
            "SHA-512" => Algorithm::Sha512,
            _ => Algorithm::Md5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512 => "SHA-512",
        }
    }

    /// The lower-case hex digest RFC 7616 computes with.
    pub fn hex(self, data: &[u8]) -> String {
        let digest: Vec<u8> = match self {
            Algorithm::Md5 => md5::Md5::digest(data).to_vec(),
            Algorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Algorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        };
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// The protection a route asks for: one `qop`, or (any other word) either.
fn offered_qops(path_qop: &str) -> &'static [&'static str] {
    match path_qop {
        "auth" => &["auth"],
        "auth-int" => &["auth-int"],
        _ => &["auth", "auth-int"],
    }
}

/// The parameters of a `Digest` `Authorization` header, names in lower case;
/// `None` for another scheme or a header that does not parse.
pub fn digest_parameters(value: &str) -> Option<HashMap<String, String>> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut parameters = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return None;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => {
                        closed = true;
                        break;
                    }
                    _ => value.push(c),
                }
            }
            if !closed {
                return None;
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_owned();
        }
        parameters.insert(name, value);
    }
    Some(parameters)
}

/// What the client's `response` must be (RFC 7616 §3.4.1), for the
/// credentials it sent, the password expected and this request.
pub fn expected_response(
    algorithm: Algorithm,
    credentials: &HashMap<String, String>,
    password: &str,
    method: &str,
    uri: &str,
    body: &[u8],
) -> Option<String> {
    let get = |name: &str| credentials.get(name).map(String::as_str);
    let ha1 =
        algorithm.hex(format!("{}:{}:{password}", get("username")?, get("realm")?).as_bytes());
    let qop = get("qop");
    let ha2 = match qop {
        Some("auth-int") => {
            algorithm.hex(format!("{method}:{uri}:{}", algorithm.hex(body)).as_bytes())
        }
        _ => algorithm.hex(format!("{method}:{uri}").as_bytes()),
    };
    let nonce = get("nonce")?;
    let joined = match qop {
        None => format!("{ha1}:{nonce}:{ha2}"),
        Some(qop @ ("auth" | "auth-int")) => {
            format!(
                "{ha1}:{nonce}:{}:{}:{qop}:{ha2}",
                get("nc")?,
                get("cnonce")?
            )
        }
        Some(_) => return None,
    };
    Some(algorithm.hex(joined.as_bytes()))
}

fn cookie_of<'a>(request: &'a Inspected, name: &str) -> Option<&'a str> {
    request
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// `Name=value; Path=/`, or a 400 for a value that cannot be a cookie's.
fn cookie(name: &str, value: &str) -> Result<HeaderValue, ApiError> {
    let allowed = |b: u8| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\');
    if !value.bytes().all(allowed) {
        return Err(ApiError::BadRequest(format!(
            "`{value}` cannot be a cookie value"
        )));
    }
    HeaderValue::try_from(format!("{name}={value}; Path=/"))
        .map_err(|_| ApiError::BadRequest(format!("`{value}` cannot be a cookie value")))
}

fn with_cookies(mut response: Response, cookies: &[(&str, &str)]) -> Result<Response, ApiError> {
    for (name, value) in cookies {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookie(name, value)?);
    }
    Ok(response)
}

/// `401` with a fresh challenge.
fn challenge(algorithm: Algorithm, qops: &[&str], stale: bool) -> Response {
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    let nonce = algorithm.hex(&random[..16]);
    let opaque = algorithm.hex(&random[16..]);
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    let text = format!(
        "Digest realm=\"{REALM}\", nonce=\"{nonce}\", opaque=\"{opaque}\", qop=\"{}\", \
         algorithm={}, stale={}",
        qops.join(", "),
        algorithm.name(),
        if stale { "True" } else { "False" },
    );
    if let Ok(value) = HeaderValue::try_from(text) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::formats::HTML),
    );
    response
}

/// The countdown's next value: one less, or `never` for a value that is not a number.
fn next_stale_after(value: &str) -> String {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .map_or_else(|| "never".to_owned(), |n| n.to_string())
}

async fn digest_auth(
    request: Inspected,
    path_qop: &str,
    user: &str,
    password: &str,
    algorithm: &str,
    stale_after: &str,
) -> Result<Response, ApiError> {
    let algorithm = Algorithm::from_path(algorithm);
    let qops = offered_qops(path_qop);
    let require_cookie = query_pairs(request.uri.query().unwrap_or_default())
        .iter()
        .find_map(|(key, value)| (key == "require-cookie").then(|| value.to_ascii_lowercase()))
        .is_some_and(|value| matches!(value.as_str(), "1" | "t" | "true"));
    let credentials = request
        .header_str(header::AUTHORIZATION)
        .and_then(digest_parameters);
    let has_cookies = request.headers.contains_key(header::COOKIE);
    let Some(credentials) = credentials.filter(|_| !require_cookie || has_cookies) else {
        return with_cookies(
            challenge(algorithm, qops, false),
            &[("stale_after", stale_after), ("fake", "fake_value")],
        );
    };
    if require_cookie && cookie_of(&request, "fake") != Some("fake_value") {
        return with_cookies(
            json_response(
                StatusCode::FORBIDDEN,
                json!({ "errors": ["missing cookie set on challenge"] }),
            ),
            &[("fake", "fake_value")],
        );
    }
    let nonce = credentials.get("nonce").map_or("", String::as_str);
    let stale_after_cookie = cookie_of(&request, "stale_after");
    let replayed = cookie_of(&request, "last_nonce") == Some(nonce);
    if replayed || stale_after_cookie == Some("0") {
        return with_cookies(
            challenge(algorithm, qops, true),
            &[
                ("stale_after", stale_after),
                ("last_nonce", nonce),
                ("fake", "fake_value"),
            ],
        );
    }
    if !credentials_hold(&request, &credentials, algorithm, qops, user, password) {
        return with_cookies(
            challenge(algorithm, qops, false),
            &[
                ("stale_after", stale_after),
                ("last_nonce", nonce),
                ("fake", "fake_value"),
            ],
        );
    }
    let mut cookies = vec![("fake", "fake_value".to_owned())];
    if let Some(value) = stale_after_cookie.filter(|value| !value.is_empty()) {
        cookies.push(("stale_after", next_stale_after(value)));
    }
    let cookies: Vec<(&str, &str)> = cookies
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    with_cookies(
        json_response(
            StatusCode::OK,
            json!({ "authenticated": true, "user": user }),
        ),
        &cookies,
    )
}

/// Whether the credentials answer this route's challenge: the user, the
/// algorithm and `qop` it offers, and the response computed over this
/// request (its method, target and, for `auth-int`, body). The user and the
/// response are compared in constant time, both always.
fn credentials_hold(
    request: &Inspected,
    credentials: &HashMap<String, String>,
    algorithm: Algorithm,
    qops: &[&str],
    user: &str,
    password: &str,
) -> bool {
    let stated_algorithm = credentials.get("algorithm").map_or("MD5", String::as_str);
    let qop_offered = credentials
        .get("qop")
        .is_none_or(|qop| qops.contains(&qop.as_str()));
    let uri = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let expected = expected_response(
        algorithm,
        credentials,
        password,
        request.method.as_str(),
        uri,
        &request.body,
    )
    .unwrap_or_default();
    let given = credentials.get("response").map_or("", String::as_str);
    let given_user = credentials.get("username").map_or("", String::as_str);
    let user_ok = given_user.as_bytes().ct_eq(user.as_bytes());
    let response_ok = given.as_bytes().ct_eq(expected.as_bytes());
    let matched = bool::from(user_ok & response_ok);
    matched
        && !expected.is_empty()
        && qop_offered
        && stated_algorithm.eq_ignore_ascii_case(algorithm.name())
}

const DIGEST_RESPONSES: &str = "`200` `{\"authenticated\": true, \"user\": ...}`; `401` with a \
    `WWW-Authenticate: Digest` challenge (no or wrong credentials, or a stale nonce: `stale=True`); \
    `403` with `require-cookie` when the challenge's cookie did not come back";

/// Digest authentication, MD5.
#[utoipa::path(get, path = "/digest-auth/{qop}/{user}/{passwd}", tag = TAG, description = DIGEST_RESPONSES,
    params(("qop" = String, Path, description = "`auth`, `auth-int`, or anything else for either"),
           ("user" = String, Path, description = "Expected user"),
           ("passwd" = String, Path, description = "Expected password"),
           ("require-cookie" = Option<String>, Query, description = "`1`, `t` or `true`: refuse clients that do not send the challenge's cookies back")),
    responses(
        (status = 200, description = "Authenticated"),
        (status = 401, description = "A Digest challenge"),
        (status = 403, description = "`require-cookie` and the cookie did not come back"),
    ))]
pub async fn digest_auth_md5(
    Path((qop, user, passwd)): Path<(String, String, String)>,
    request: Inspected,
) -> Result<Response, ApiError> {
    digest_auth(request, &qop, &user, &passwd, "MD5", "never").await
}

/// Digest authentication with the given algorithm.
#[utoipa::path(get, path = "/digest-auth/{qop}/{user}/{passwd}/{algorithm}", tag = TAG, description = DIGEST_RESPONSES,
    params(("qop" = String, Path, description = "`auth`, `auth-int`, or anything else for either"),
           ("user" = String, Path, description = "Expected user"),
           ("passwd" = String, Path, description = "Expected password"),
           ("algorithm" = String, Path, description = "`MD5`, `SHA-256` or `SHA-512`; anything else is MD5"),
           ("require-cookie" = Option<String>, Query, description = "`1`, `t` or `true`: refuse clients that do not send the challenge's cookies back")),
    responses(
        (status = 200, description = "Authenticated"),
        (status = 401, description = "A Digest challenge"),
        (status = 403, description = "`require-cookie` and the cookie did not come back"),
    ))]
pub async fn digest_auth_algorithm(
    Path((qop, user, passwd, algorithm)): Path<(String, String, String, String)>,
    request: Inspected,
) -> Result<Response, ApiError> {
    digest_auth(request, &qop, &user, &passwd, &algorithm, "never").await
}

/// Digest authentication with the given algorithm, whose nonces go stale
/// after `stale_after` answers.
#[utoipa::path(get, path = "/digest-auth/{qop}/{user}/{passwd}/{algorithm}/{stale_after}", tag = TAG, description = DIGEST_RESPONSES,
    params(("qop" = String, Path, description = "`auth`, `auth-int`, or anything else for either"),
           ("user" = String, Path, description = "Expected user"),
           ("passwd" = String, Path, description = "Expected password"),
           ("algorithm" = String, Path, description = "`MD5`, `SHA-256` or `SHA-512`; anything else is MD5"),
           ("stale_after" = String, Path, pattern = "^[\\x21\\x23-\\x2B\\x2D-\\x3A\\x3C-\\x5B\\x5D-\\x7E]*$",
            description = "Answers before the nonce is stale (a number), or `never`; kept in a cookie, so printable ASCII but `\"`, `,`, `;` and `\\`"),
           ("require-cookie" = Option<String>, Query, description = "`1`, `t` or `true`: refuse clients that do not send the challenge's cookies back")),
    responses(
        (status = 200, description = "Authenticated"),
        (status = 400, description = "`stale_after` cannot be a cookie value", content_type = "text/plain"),
        (status = 401, description = "A Digest challenge"),
        (status = 403, description = "`require-cookie` and the cookie did not come back"),
    ))]
pub async fn digest_auth_stale_after(
    Path((qop, user, passwd, algorithm, stale_after)): Path<(
        String,
        String,
        String,
        String,
        String,
    )>,
    request: Inspected,
) -> Result<Response, ApiError> {
    digest_auth(request, &qop, &user, &passwd, &algorithm, &stale_after).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7616_example_computes() {
        // RFC 7616 §3.9.1, SHA-256 and MD5.
        let header = r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="8ca523f5e9506fed4657c9700eebdbec", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let credentials = digest_parameters(header).unwrap();
        assert_eq!(credentials["username"], "Mufasa");
        let md5 = expected_response(
            Algorithm::Md5,
            &credentials,
            "Circle of Life",
            "GET",
            "/dir/index.html",
            b"",
        );
        assert_eq!(md5.as_deref(), Some("8ca523f5e9506fed4657c9700eebdbec"));
        let sha256 = expected_response(
            Algorithm::Sha256,
            &credentials,
            "Circle of Life",
            "GET",
            "/dir/index.html",
            b"",
        );
        assert_eq!(
            sha256.as_deref(),
            Some("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
        );
    }

    #[test]
    fn other_schemes_and_broken_headers_are_not_digest() {
        assert!(digest_parameters("Basic dTpw").is_none());
        assert!(digest_parameters(r#"Digest username="unterminated"#).is_none());
        let parsed = digest_parameters(r#"digest a="x\"y", b=plain ,c="""#).unwrap();
        assert_eq!(parsed["a"], "x\"y");
        assert_eq!(parsed["b"], "plain");
        assert_eq!(parsed["c"], "");
    }

    #[test]
    fn the_stale_countdown_goes_down_then_never() {
        assert_eq!(next_stale_after("3"), "2");
        assert_eq!(next_stale_after("never"), "never");
    }
}
