//! Mocks served from an OpenAPI document (3.0 or 3.1, JSON or YAML): each
//! operation becomes a stub that validates the request against the document
//! and answers with an example from it, or with one generated from the schema.

pub mod generate;
