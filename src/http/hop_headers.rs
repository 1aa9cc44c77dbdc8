//! The header names that describe one connection or the framing of a message
//! rather than the message: hop-by-hop headers (RFC 9110 §7.6.1, plus the
//! non-standard `Keep-Alive` and `Proxy-Connection`) and the framing headers
//! `Content-Length` and `Transfer-Encoding` (RFC 9112 §6).
//!
//! The server sets these itself. A route that lets a client choose response
//! headers must never pass one of these through: a `Content-Length` that does
//! not match the body desynchronises a kept-alive connection (the surplus is
//! read as the next response, by a proxy reusing the connection too), and a
//! `Transfer-Encoding` the body is not encoded in makes the reply unreadable.

/// Every such name, lower-case.
pub const HOP_BY_HOP_AND_FRAMING: [&str; 8] = [
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether `name` (any case) is a hop-by-hop or framing header.
pub fn is_hop_by_hop_or_framing(name: &str) -> bool {
    HOP_BY_HOP_AND_FRAMING
        .iter()
        .any(|listed| listed.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_listed_name_matches_in_any_case() {
        for name in HOP_BY_HOP_AND_FRAMING {
            assert!(is_hop_by_hop_or_framing(name), "{name}");
            assert!(
                is_hop_by_hop_or_framing(&name.to_ascii_uppercase()),
                "{name}"
            );
        }
        assert!(is_hop_by_hop_or_framing("Content-Length"));
        assert!(is_hop_by_hop_or_framing("Transfer-Encoding"));
        assert!(is_hop_by_hop_or_framing("TE"));
        assert!(is_hop_by_hop_or_framing("Proxy-Connection"));
    }

    #[test]
    fn end_to_end_headers_are_not_listed() {
        for name in [
            "content-type",
            "content-encoding",
            "content-length-x",
            "x-content-length",
            "trailers",
            "tea",
            "retry-after",
            "",
        ] {
            assert!(!is_hop_by_hop_or_framing(name), "{name}");
        }
    }
}
