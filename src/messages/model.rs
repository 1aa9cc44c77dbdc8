//! The message digest: the only way to name a stored message.

use std::fmt;

use axum::body::Bytes;
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest. It can only be built by hashing bytes or by parsing 64
/// hexadecimal characters (either case), so a `Digest` is always valid.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 32]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a digest is 64 hexadecimal characters (SHA-256), got {0}")]
pub struct InvalidDigest(String);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }

    /// Parses 64 hex characters, upper- or lower-case.
    pub fn parse(text: &str) -> Result<Self, InvalidDigest> {
        let describe = || {
            if text.len() == 64 {
                "a character that is not hexadecimal".to_owned()
            } else {
                format!("{} characters", text.chars().count())
            }
        };
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return Err(InvalidDigest(describe()));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let high = hex_value(pair[0]).ok_or_else(|| InvalidDigest(describe()))?;
            let low = hex_value(pair[1]).ok_or_else(|| InvalidDigest(describe()))?;
            out[i] = (high << 4) | low;
        }
        Ok(Digest(out))
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Digest)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Upper-case hex, as the original service returned it.
    pub fn to_upper_hex(self) -> String {
        self.hex_with(b"0123456789ABCDEF")
    }

    /// Lower-case hex, as the native API returns it.
    pub fn to_lower_hex(self) -> String {
        self.hex_with(b"0123456789abcdef")
    }

    fn hex_with(self, alphabet: &[u8; 16]) -> String {
        // Into a byte buffer first: a `String::push` per character was
        // ~1,300 instructions a digest, a tenth of a cached GET.
        let mut out = [0u8; 64];
        for (pair, byte) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = alphabet[usize::from(byte >> 4)];
            pair[1] = alphabet[usize::from(byte & 0x0f)];
        }
        // Hex digits are ASCII: this never falls back.
        std::str::from_utf8(&out)
            .map(str::to_owned)
            .unwrap_or_default()
    }
}

/// Bytes together with their digest: built only by hashing them, so the digest
/// is always the right one and is never computed twice.
#[derive(Clone, PartialEq, Eq)]
pub struct Content {
    digest: Digest,
    bytes: Bytes,
}

impl Content {
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Content {
            digest: Digest::of(&bytes),
            bytes,
        }
    }

    pub fn digest(&self) -> Digest {
        self.digest
    }

    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Content({:?}, {} bytes)", self.digest, self.bytes.len())
    }
}

/// Hashes a body while it streams in, so the bytes are read once.
#[derive(Default)]
pub struct ContentHasher {
    hasher: Sha256,
    buffer: Vec<u8>,
}

impl ContentHasher {
    /// `expected` is a capacity hint (a `Content-Length`), already bounded by the caller.
    pub fn with_capacity(expected: usize) -> Self {
        ContentHasher {
            hasher: Sha256::new(),
            buffer: Vec::with_capacity(expected),
        }
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.buffer.extend_from_slice(chunk);
    }

    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    pub fn finish(self) -> Content {
        Content {
            digest: Digest(self.hasher.finalize().into()),
            bytes: Bytes::from(self.buffer),
        }
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_lower_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOO: &str = "2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE";

    #[test]
    fn digest_of_foo_matches_the_original_readme() {
        assert_eq!(Digest::of(b"foo").to_upper_hex(), FOO);
        assert_eq!(Digest::of(b"foo").to_lower_hex(), FOO.to_lowercase());
    }

    #[test]
    fn parse_accepts_either_case_and_round_trips() {
        let upper = Digest::parse(FOO).unwrap();
        let lower = Digest::parse(&FOO.to_lowercase()).unwrap();
        assert_eq!(upper, lower);
        assert_eq!(upper, Digest::of(b"foo"));
    }

    #[test]
    fn streamed_content_hashes_like_content_in_one_piece() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let mut hasher = ContentHasher::with_capacity(16);
        for chunk in bytes.chunks(777) {
            hasher.update(chunk);
        }
        let streamed = hasher.finish();
        assert_eq!(streamed, Content::new(bytes.clone()));
        assert_eq!(streamed.digest(), Digest::of(&bytes));
        assert_eq!(streamed.len(), 10_000);
    }

    #[test]
    fn parse_rejects_wrong_length_and_non_hex() {
        assert!(Digest::parse("abc").is_err());
        assert!(Digest::parse(&FOO[..63]).is_err());
        assert!(Digest::parse(&format!("{}g", &FOO[..63])).is_err());
        // Multi-byte characters must not be split into a "valid" length.
        assert!(Digest::parse(&"é".repeat(32)).is_err());
    }
}
