//! Cross-cutting HTTP: the problem+json error, extractors that use it, the
//! request-context middleware and the operations endpoints.

pub mod error;
pub mod extract;
pub mod middleware;
pub mod ops;

pub use error::{ApiError, FieldError, Problem};
