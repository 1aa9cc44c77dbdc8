//! API keys with scopes.
//!
//! A key is a random token (`ebk_` + 43 base64url characters, 256 bits) that
//! the server knows only by its SHA-256: the config holds
//! `"<id>:<sha256-hex>:<scope>,<scope>"` lines (`auth.keys`), made by
//! `echobase keys generate`. A plain hash is enough because keys are random
//! and long; a password hash (argon2) would only slow every request down.
//! Clients send the key as `Authorization: Bearer <key>` or `X-API-Key: <key>`;
//! the presented key's hash is compared with every configured hash in
//! constant time. Only the key's id ever reaches logs and metrics.
//!
//! # Scopes
//! `<module>:read`, `<module>:write` (which includes read) and `admin` (which
//! includes everything). Which routes need which scope: [`super::require_scope`].

use std::fmt;
use std::str::FromStr;

use axum::http::{HeaderMap, Method, header};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::module::Module;

/// Header alternative to `Authorization: Bearer`.
pub const X_API_KEY: &str = "x-api-key";
/// Every generated key starts with this, so leaked keys are easy to grep for.
pub const KEY_PREFIX: &str = "ebk_";

/// Read or write access to a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    Write,
}

/// What a key may do: `<module>:read`, `<module>:write`, or `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Admin,
    Module(Module, Access),
}

impl Scope {
    pub const fn new(module: Module, access: Access) -> Scope {
        Scope::Module(module, access)
    }

    pub const fn read(module: Module) -> Scope {
        Scope::Module(module, Access::Read)
    }

    pub const fn write(module: Module) -> Scope {
        Scope::Module(module, Access::Write)
    }

    /// Whether a key holding `self` may use a route that requires `required`.
    pub fn grants(self, required: Scope) -> bool {
        match (self, required) {
            (Scope::Admin, _) => true,
            (Scope::Module(..), Scope::Admin) => false,
            (Scope::Module(held, held_access), Scope::Module(module, access)) => {
                held == module && (held_access == Access::Write || access == Access::Read)
            }
        }
    }

    /// The module whose limits apply to requests under this scope.
    pub fn module(self) -> Option<Module> {
        match self {
            Scope::Admin => None,
            Scope::Module(module, _) => Some(module),
        }
    }

    /// The scope `<module>.auth = "all"` requires for a method.
    pub fn for_method(module: Module, method: &Method) -> Scope {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            Scope::read(module)
        } else {
            Scope::write(module)
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "admin" {
            return Ok(Scope::Admin);
        }
        let (module, access) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}`: expected admin or <module>:read|write"))?;
        let module: Module = module.parse()?;
        let access = match access {
            "read" => Access::Read,
            "write" => Access::Write,
            other => return Err(format!("`{other}` in `{s}`: expected read or write")),
        };
        Ok(Scope::Module(module, access))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Admin => f.write_str("admin"),
            Scope::Module(module, Access::Read) => write!(f, "{}:read", module.name()),
            Scope::Module(module, Access::Write) => write!(f, "{}:write", module.name()),
        }
    }
}

/// `auth.*`: the API keys, as hashes; none means the server runs open.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// `"<id>:<sha256-hex>:<scope>,<scope>"` lines: a TOML array, or text
    /// with one line per `;` or newline.
    #[serde(deserialize_with = "key_lines", serialize_with = "show_keys")]
    pub keys: Vec<ApiKey>,
}

fn key_lines<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<ApiKey>, D::Error> {
    crate::setting::read(deserializer, |value| {
        let lines: Vec<String> = match value {
            toml::Value::Array(items) => items
                .iter()
                .map(crate::setting::text)
                .collect::<Result<_, _>>()?,
            other => crate::setting::text(other)?
                .split([';', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        let keys: Vec<ApiKey> = lines
            .iter()
            .map(|line| line.parse())
            .collect::<Result<_, String>>()?;
        let mut ids: Vec<&str> = keys.iter().map(ApiKey::id).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(format!("key id `{}` appears twice", pair[0]));
        }
        Ok(keys)
    })
}

/// Ids and scopes only: the hashes are not secret, but they are noise here.
fn show_keys<S: serde::Serializer>(keys: &[ApiKey], serializer: S) -> Result<S::Ok, S::Error> {
    if keys.is_empty() {
        return serializer.serialize_str("(none: the server is open)");
    }
    let shown: Vec<String> = keys
        .iter()
        .map(|key| format!("{} ({})", key.id(), key.scopes_text()))
        .collect();
    serializer.serialize_str(&shown.join("; "))
}

/// A configured key: its id, the SHA-256 of the key, and its scopes. Its
/// `Debug` shows the id only.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    id: String,
    hash: [u8; 32],
    scopes: Vec<Scope>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({} {})", self.id, self.scopes_text())
    }
}

impl ApiKey {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    pub fn scopes_text(&self) -> String {
        self.scopes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn grants(&self, required: Scope) -> bool {
        self.scopes.iter().any(|held| held.grants(required))
    }
}

impl FromStr for ApiKey {
    type Err = String;
    /// `<id>:<sha256-hex>:<scope>[,<scope>...]`.
    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let mut parts = line.trim().splitn(3, ':');
        let (Some(id), Some(hash), Some(scopes)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "key line `{}`: expected <id>:<sha256-hex>:<scopes> (from `echobase keys generate`)",
                redact_line(line)
            ));
        };
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(format!(
                "key id `{id}`: use letters, digits and -_. only (it appears in logs and metrics)"
            ));
        }
        if hash.starts_with(KEY_PREFIX) {
            return Err(format!(
                "key `{id}`: this looks like the key itself; configure its SHA-256 \
                 (echobase keys generate prints the line)"
            ));
        }
        let hash = decode_hex32(hash).ok_or_else(|| {
            format!("key `{id}`: the hash must be 64 hexadecimal digits (SHA-256)")
        })?;
        let scopes = scopes
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse())
            .collect::<Result<Vec<Scope>, _>>()
            .map_err(|e| format!("key `{id}`: {e}"))?;
        if scopes.is_empty() {
            return Err(format!("key `{id}`: give at least one scope"));
        }
        Ok(ApiKey {
            id: id.to_owned(),
            hash,
            scopes,
        })
    }
}

/// A bad line is echoed in errors without anything that may be a secret.
fn redact_line(line: &str) -> String {
    line.split(':').next().unwrap_or_default().to_owned() + ":…"
}

fn decode_hex32(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.trim().as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a key, as configured.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// A new random key (256 bits).
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The `auth.keys` line for a key.
pub fn config_line(id: &str, key: &str, scopes: &[Scope]) -> String {
    let scopes: Vec<String> = scopes.iter().map(ToString::to_string).collect();
    format!("{id}:{}:{}", hex(&hash_key(key)), scopes.join(","))
}

/// The configured keys.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<ApiKey>,
}

/// The result of looking at a request's credentials.
#[derive(Debug)]
pub enum Credentials<'a> {
    Missing,
    /// A key was presented and no configured key has its hash.
    Unknown,
    /// Both `X-API-Key` and `Authorization`: which one counts would be a
    /// guess, and a proxy's credential could stand in for the client's.
    Ambiguous,
    Valid(&'a ApiKey),
}

impl KeyRing {
    pub fn new(keys: Vec<ApiKey>) -> Self {
        KeyRing { keys }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Finds the key presented in `Authorization: Bearer` or `X-API-Key`.
    /// Every configured hash is compared, in constant time, whatever matches.
    pub fn authenticate(&self, headers: &HeaderMap) -> Credentials<'_> {
        if headers.contains_key(X_API_KEY) && headers.contains_key(header::AUTHORIZATION) {
            return Credentials::Ambiguous;
        }
        let Some(presented) = presented_key(headers) else {
            return Credentials::Missing;
        };
        let hash = hash_key(presented);
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.hash.ct_eq(&hash)) {
                found = Some(key);
            }
        }
        match found {
            Some(key) => Credentials::Valid(key),
            None => Credentials::Unknown,
        }
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(X_API_KEY) {
        return value.to_str().ok().map(str::trim).filter(|k| !k.is_empty());
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|k| !k.is_empty())
}

/// The key that authenticated a request, in its extensions for handlers
/// that want to know who called.
#[derive(Debug, Clone)]
pub struct KeyId(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn write_includes_read_and_admin_includes_everything() {
        let mocks_write = Scope::write(Module::Mocks);
        assert!(mocks_write.grants(Scope::read(Module::Mocks)));
        assert!(mocks_write.grants(Scope::write(Module::Mocks)));
        assert!(!mocks_write.grants(Scope::read(Module::Events)));
        assert!(!Scope::read(Module::Mocks).grants(mocks_write));
        assert!(!mocks_write.grants(Scope::Admin));
        assert!(Scope::Admin.grants(Scope::write(Module::People)));
    }

    #[test]
    fn scopes_round_trip_through_text() {
        for text in ["admin", "mocks:write", "events:read"] {
            assert_eq!(text.parse::<Scope>().unwrap().to_string(), text);
        }
        assert!("mocks:delete".parse::<Scope>().is_err());
        assert!("telepathy:read".parse::<Scope>().is_err());
    }

    #[test]
    fn generated_key_matches_its_config_line_and_nothing_else() {
        let key = generate_key();
        assert!(key.starts_with(KEY_PREFIX));
        let line = config_line("ci", &key, &[Scope::write(Module::Mocks)]);
        assert!(!line.contains(&key), "the line never holds the key");
        let parsed: ApiKey = line.parse().unwrap();
        let ring = KeyRing::new(vec![parsed]);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
        );
        assert!(matches!(ring.authenticate(&headers), Credentials::Valid(k) if k.id() == "ci"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer nope"),
        );
        assert!(matches!(ring.authenticate(&headers), Credentials::Unknown));
        headers.clear();
        assert!(matches!(ring.authenticate(&headers), Credentials::Missing));
        headers.insert(X_API_KEY, HeaderValue::from_str(&key).unwrap());
        assert!(matches!(ring.authenticate(&headers), Credentials::Valid(_)));
        // A valid key beside any other credential is refused, whichever is valid.
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer nope"),
        );
        assert!(matches!(
            ring.authenticate(&headers),
            Credentials::Ambiguous
        ));
    }

    #[test]
    fn key_lines_are_checked() {
        assert!("ci:abc:admin".parse::<ApiKey>().is_err(), "short hash");
        let hash = "0".repeat(64);
        assert!(format!("ci:{hash}:").parse::<ApiKey>().is_err(), "no scope");
        assert!(
            format!("c i:{hash}:admin").parse::<ApiKey>().is_err(),
            "bad id"
        );
        assert!(
            format!("ci:{hash}:admin,mocks:write")
                .parse::<ApiKey>()
                .is_ok()
        );
        let err = format!("ci:{}:admin", generate_key())
            .parse::<ApiKey>()
            .unwrap_err();
        assert!(err.contains("SHA-256"), "{err}");
    }
}
