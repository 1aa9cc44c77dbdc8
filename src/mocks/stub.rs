//! A stub: a WireMock stub mapping in the form the matcher and the responder
//! use, parsed once ([`super::parse`]) when it is created or loaded.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

use super::matcher::RequestPattern;
use super::template::{JsonTemplate, Syntax, Template};
use crate::http::connection::ConnectionFault;

/// The state every scenario starts in.
pub const STARTED: &str = "Started";

/// A stub, ready to match and to answer.
#[derive(Debug)]
pub struct Stub {
    pub id: String,
    /// Creation order: among equal priorities the newest (highest) wins.
    /// Stubs loaded from a mappings folder have negative numbers: older than any stored one.
    pub seq: i64,
    pub name: Option<String>,
    pub priority: i64,
    pub request: RequestPattern,
    pub response: ResponseDef,
    pub scenario: Option<ScenarioRule>,
    /// The mapping as the admin API shows it (with `id` and `uuid`), as JSON
    /// text: a parsed `Value` costs kilobytes per stub, which at 10,000 stubs
    /// is most of the process's memory; it is parsed again when shown.
    pub mapping_text: Box<str>,
    /// Loaded from the mappings folder rather than the store.
    pub from_file: bool,
    /// Kept by a mappings reset (`"persistent": true`, or saved by
    /// `/__admin/mappings/save`), as WireMock keeps the stubs it wrote to its
    /// mappings folder. Every stub is stored either way.
    pub persistent: bool,
    /// Sent after each request the stub answers.
    pub webhooks: Vec<Webhook>,
}

impl Stub {
    pub fn with_seq(self, seq: i64) -> Stub {
        Stub { seq, ..self }
    }

    /// The mapping as the admin API shows it.
    pub fn mapping(&self) -> Value {
        serde_json::from_str(&self.mapping_text).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone)]
pub struct ScenarioRule {
    pub name: String,
    pub required: Option<String>,
    pub new_state: Option<String>,
}

#[derive(Debug)]
pub struct ResponseDef {
    pub status: StatusCode,
    pub reason: Option<String>,
    pub headers: Vec<(HeaderName, HeaderText)>,
    pub body: BodyDef,
    /// `transformerParameters`: what templates read as `parameters` (an
    /// object, or null).
    pub transformer_parameters: serde_json::Value,
    /// Sent as `content-type` when the stub's headers do not set one.
    pub default_content_type: Option<&'static str>,
    pub delay: Delay,
    pub dribble: Option<Dribble>,
    /// Sent instead of the response; the connection layer does it.
    pub fault: Option<ConnectionFault>,
    /// Forward the request to another server and send back its answer
    /// (`proxyBaseUrl`); `status` and the body are then not used.
    pub proxy: Option<Box<Proxy>>,
    /// Answer as this operation of a loaded OpenAPI document does.
    pub openapi: Option<super::oas::OperationRef>,
}

/// A proxy stub's target and how the forwarded request differs from the
/// one received.
#[derive(Debug)]
pub struct Proxy {
    /// `proxyBaseUrl`: the request's path and query are appended to it.
    pub base_url: ProxyBaseUrl,
    /// `proxyUrlPrefixToRemove`: cut from the start of the request's path first.
    pub prefix_to_remove: Option<String>,
    /// `additionalProxyRequestHeaders`: set on the forwarded request,
    /// replacing a header of the same name.
    pub add_headers: Vec<(HeaderName, HeaderText)>,
    /// `removeProxyRequestHeaders`: not forwarded.
    pub remove_headers: Vec<HeaderName>,
}

#[derive(Debug)]
pub enum ProxyBaseUrl {
    /// An absolute `http` or `https` URL, without its query.
    Fixed(url::Url),
    /// Rendered for each request; what it renders is checked then.
    Template(Template),
}

#[derive(Debug)]
pub enum HeaderText {
    Fixed(HeaderValue),
    Template(Template),
}

#[derive(Debug)]
pub enum BodyDef {
    Empty,
    Fixed(Bytes),
    Template(Template),
    /// A templated `jsonBody`, rendered string by string.
    Json(JsonTemplate),
    /// Read from the file store when served.
    File {
        name: FileName,
        /// Rendered as a template in this syntax, or sent as it is.
        template: Option<Syntax>,
    },
}

/// A webhook (`serveEventListeners` / `postServeActions`): every text is a
/// template over `originalRequest` and `parameters`.
#[derive(Debug)]
pub struct Webhook {
    pub method: WebhookText,
    pub url: Template,
    pub headers: Vec<(HeaderName, Template)>,
    pub body: Option<WebhookBody>,
    pub delay: Delay,
    /// The parameters WireMock does not read itself (`{{parameters.x}}`).
    pub parameters: Value,
}

#[derive(Debug)]
pub enum WebhookText {
    Fixed(String),
    Template(Template),
}

#[derive(Debug)]
pub enum WebhookBody {
    Fixed(Bytes),
    Template(Template),
}

/// A `bodyFileName`.
#[derive(Debug)]
pub enum FileName {
    Fixed(String),
    /// Rendered for each request; what it renders must be a file name.
    Template(Template),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delay {
    None,
    Fixed(u64),
    Uniform {
        lower: u64,
        upper: u64,
    },
    LogNormal {
        median: f64,
        sigma: f64,
        max: Option<f64>,
    },
}

impl Delay {
    /// One wait drawn from the delay (at most ten minutes); none for `None`.
    pub fn sample(self) -> Option<Duration> {
        let ms = match self {
            Delay::None => return None,
            Delay::Fixed(ms) => ms as f64,
            Delay::Uniform { lower, upper } => {
                lower as f64 + fastrand::f64() * (upper - lower) as f64
            }
            Delay::LogNormal { median, sigma, max } => {
                // Box-Muller: a standard normal from two uniforms.
                let u1 = fastrand::f64().max(f64::MIN_POSITIVE);
                let u2 = fastrand::f64();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                let value = median * (sigma * z).exp();
                max.map_or(value, |m| value.min(m))
            }
        };
        Some(Duration::from_secs_f64((ms / 1000.0).clamp(0.0, 600.0)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dribble {
    pub chunks: u32,
    pub total_ms: u64,
}
