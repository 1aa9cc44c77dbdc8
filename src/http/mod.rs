//! Cross-cutting HTTP: the problem+json error, extractors that use it, the
//! request-context middleware, the operations endpoints, and security: API
//! keys, client addresses, rate limits, TLS and the connection limits.

pub mod auth;
pub mod client_ip;
pub mod cors;
pub mod direct;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod ops;
pub mod require_scope;
pub mod security;
pub mod serve;
pub mod tls;

pub use error::{ApiError, FieldError, Problem};
