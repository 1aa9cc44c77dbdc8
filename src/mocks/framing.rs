//! The response headers a stub may not set: those that frame a message on
//! the wire (`Content-Length`, `Transfer-Encoding`, `Trailer`) or speak for
//! the connection rather than the response (`Connection`, `Keep-Alive`,
//! `Upgrade`, `TE`, `Proxy-Connection`). The server sets them from the body
//! it actually sends; one taken from a stub would misframe the response (on
//! a kept-alive connection the surplus bytes are read as the next response)
//! or speak for a connection the stub does not own.
//!
//! Creating a stub that sets one is refused; a stub loaded from the store or
//! a mappings folder has them dropped ([`crate::mocks::parse::stub::parse_loaded_stub`]);
//! and the responder drops them whatever it is given.

use axum::http::HeaderName;

/// In lower case, as a [`HeaderName`] holds them.
const FRAMING_HEADERS: [&str; 8] = [
    "content-length",
    "transfer-encoding",
    "trailer",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "proxy-connection",
];

/// A parsed header name the server keeps for itself.
pub fn is_framing(name: &HeaderName) -> bool {
    FRAMING_HEADERS.contains(&name.as_str())
}

/// A header name as a stub writes it (in any case) that the server keeps for itself.
pub fn is_framing_name(name: &str) -> bool {
    FRAMING_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Why a stub may not set `name`.
pub fn refusal(name: &str) -> String {
    format!(
        "`{name}` cannot be set by a stub: echobase frames every response from the body it \
         sends and owns the connection (Content-Length, Transfer-Encoding, Trailer, Connection, \
         Keep-Alive, Upgrade, TE and Proxy-Connection are its own)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_names_are_recognised_in_any_case() {
        for name in [
            "Content-Length",
            "TRANSFER-ENCODING",
            "te",
            "Proxy-Connection",
        ] {
            assert!(is_framing_name(name), "{name}");
            let parsed = HeaderName::from_bytes(name.as_bytes()).unwrap();
            assert!(is_framing(&parsed), "{name}");
        }
        for name in ["Content-Type", "X-Connection", "Tea", "Content-Length2"] {
            assert!(!is_framing_name(name), "{name}");
        }
    }
}
