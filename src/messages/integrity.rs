//! The digests a client may send with a body, checked before anything is
//! stored: `Digest` (RFC 3230, `sha-256=<base64>`) and `Content-Digest`
//! (RFC 9530, a structured-field dictionary, `sha-256=:<base64>:`).
//!
//! SHA-256 and SHA-512 are checked; other algorithms are ignored, but a header
//! that names none of the two is refused rather than silently unchecked (a
//! client that asks for a check should learn that none happened). Several
//! entries, or both headers, are all checked.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha512};

use super::model::Content;
use crate::http::ApiError;

const DIGEST: &str = "Digest";
const CONTENT_DIGEST: &str = "Content-Digest";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("sha-256") {
            Some(Algorithm::Sha256)
        } else if name.eq_ignore_ascii_case("sha-512") {
            Some(Algorithm::Sha512)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha-256",
            Algorithm::Sha512 => "sha-512",
        }
    }

    fn len(self) -> usize {
        match self {
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }
}

/// One digest the client claims for the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    header: &'static str,
    algorithm: Algorithm,
    value: Vec<u8>,
}

/// The digests claimed in the request's headers. A malformed header, or one
/// with no supported algorithm, is a 400 before the body is read.
pub fn claims(headers: &HeaderMap) -> Result<Vec<Claim>, ApiError> {
    let mut claims = Vec::new();
    for (header, byte_sequence) in [(DIGEST, false), (CONTENT_DIGEST, true)] {
        let mut present = false;
        let mut supported = false;
        for value in headers.get_all(header) {
            present = true;
            let text = value.to_str().map_err(|_| {
                ApiError::BadRequest(format!("{header}: the header is not ASCII text"))
            })?;
            for member in text.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                if let Some(claim) = parse_member(header, member, byte_sequence)? {
                    supported = true;
                    claims.push(claim);
                }
            }
        }
        if present && !supported {
            return Err(ApiError::BadRequest(format!(
                "{header}: no supported algorithm (sha-256 or sha-512); nothing could be checked"
            )));
        }
    }
    Ok(claims)
}

/// `alg=value` (`Digest`) or `alg=:value:;params` (`Content-Digest`); `None`
/// for an algorithm that is not checked.
fn parse_member(
    header: &'static str,
    member: &str,
    byte_sequence: bool,
) -> Result<Option<Claim>, ApiError> {
    let bad = |why: &str| ApiError::BadRequest(format!("{header}: `{member}` {why}"));
    let (name, value) = member
        .split_once('=')
        .ok_or_else(|| bad("is not `algorithm=value`"))?;
    let Some(algorithm) = Algorithm::from_name(name.trim()) else {
        return Ok(None);
    };
    let value = value.trim();
    let encoded = if byte_sequence {
        // Parameters after `;` carry nothing we use.
        let item = value.split(';').next().unwrap_or_default().trim();
        item.strip_prefix(':')
            .and_then(|rest| rest.strip_suffix(':'))
            .ok_or_else(|| bad("is not a byte sequence (`:base64:`)"))?
    } else {
        value
    };
    let decoded = STANDARD
        .decode(encoded)
        .map_err(|_| bad("is not valid base64"))?;
    if decoded.len() != algorithm.len() {
        return Err(bad(&format!(
            "is {} bytes long; a {} digest is {}",
            decoded.len(),
            algorithm.name(),
            algorithm.len()
        )));
    }
    Ok(Some(Claim {
        header,
        algorithm,
        value: decoded,
    }))
}

/// Checks every claim against the body as received; a mismatch is a 400 and
/// the caller stores nothing.
pub fn verify(claims: &[Claim], body: &Content) -> Result<(), ApiError> {
    let sha256 = body.digest();
    let mut sha512: Option<Vec<u8>> = None;
    for claim in claims {
        let actual: &[u8] = match claim.algorithm {
            Algorithm::Sha256 => sha256.as_bytes(),
            Algorithm::Sha512 => {
                sha512.get_or_insert_with(|| Sha512::digest(body.bytes()).to_vec())
            }
        };
        if actual != claim.value.as_slice() {
            return Err(ApiError::BadRequest(format!(
                "{}: the {} digest does not match the request body (the body's is {}); nothing was stored",
                claim.header,
                claim.algorithm.name(),
                STANDARD.encode(actual)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    /// SHA-256 of `foo`, base64.
    const FOO_SHA256: &str = "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564=";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn check(pairs: &[(&'static str, &str)], body: &[u8]) -> Result<(), ApiError> {
        verify(&claims(&headers(pairs))?, &Content::new(body.to_vec()))
    }

    #[test]
    fn no_header_checks_nothing() {
        assert!(check(&[], b"anything").is_ok());
    }

    #[test]
    fn matching_digests_pass_in_either_header_and_any_case() {
        assert!(check(&[("digest", &format!("SHA-256={FOO_SHA256}"))], b"foo").is_ok());
        assert!(
            check(
                &[("digest", &format!("md5=xyz, sha-256={FOO_SHA256}"))],
                b"foo"
            )
            .is_ok()
        );
        assert!(
            check(
                &[("content-digest", &format!("sha-256=:{FOO_SHA256}:"))],
                b"foo"
            )
            .is_ok()
        );
        let sha512 = STANDARD.encode(Sha512::digest(b"foo"));
        assert!(
            check(
                &[(
                    "content-digest",
                    &format!("sha-512=:{sha512}:, sha-256=:{FOO_SHA256}:;p=1")
                )],
                b"foo"
            )
            .is_ok()
        );
    }

    #[test]
    fn a_mismatch_in_any_claim_is_refused() {
        let err = check(&[("digest", &format!("sha-256={FOO_SHA256}"))], b"bar").unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        let err = check(
            &[
                ("digest", &format!("sha-256={FOO_SHA256}")),
                ("content-digest", "sha-512=:AAAA:"),
            ],
            b"foo",
        )
        .unwrap_err();
        assert!(err.to_string().contains("bytes long"), "{err}");
    }

    #[test]
    fn malformed_or_unsupported_headers_are_refused() {
        for (name, value) in [
            ("digest", "sha-256"),
            ("digest", "sha-256=!!!"),
            ("digest", "md5=rL0Y20zC+Fzt72VPzMSk2A=="),
            ("content-digest", &format!("sha-256={FOO_SHA256}")),
            ("content-digest", "sha-256=:AAAA:"),
        ] {
            assert!(check(&[(name, value)], b"foo").is_err(), "{name}: {value}");
        }
    }
}
