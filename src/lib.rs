//! echobase: one server for five small APIs (echo, mock endpoints, people,
//! deployment events, message digests), each with its original compatible
//! routes and a native `/v1` API, on SQLite or PostgreSQL.

pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod echo;
pub mod events;
pub mod http;
pub mod json;
pub mod memory;
pub mod messages;
pub mod mocks;
pub mod module;
pub mod ops;
pub mod people;
pub mod resources;
pub mod server;
pub mod setting;
pub mod telemetry;

#[cfg(test)]
mod layering;

pub use config::Settings;
pub use server::App;
