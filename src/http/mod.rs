//! Cross-cutting HTTP: the connection loop and its limits, the request
//! context, the problem+json error and the extractors that use it, and
//! security: API keys, client addresses, rate limits and TLS.
//!
//! Nothing here knows the database or the modules. Files here import their
//! siblings directly; the re-exports below are for the modules.

pub mod auth;
pub mod client_connections;
pub mod client_ip;
pub mod conditional;
pub mod connection;
pub mod cors;
pub mod direct;
pub mod error;
pub mod extract;
pub mod hop_headers;
mod io;
pub mod middleware;
pub mod openapi_document;
pub mod original_error;
pub mod outbound;
pub mod page;
pub mod require_scope;
pub mod route_label;
pub mod security;
pub mod serve;
mod timeouts;
pub mod tls;

pub use error::{ApiError, FieldError, Problem};
