//! Response templating, as WireMock's `response-template` transformer: the
//! handlebars engine with WireMock's model (`request.*`, `parameters`) and
//! helper library (`docs/mocks.md` lists them). Each template is compiled
//! once, when the stub is created; a template that does not compile, or
//! calls a helper that does not exist, is refused then (a 422 naming the
//! field). A missing request field renders empty, as on WireMock.
//!
//! Output is escaped for JSON where the response is JSON, so that a request
//! cannot change the document's shape: a `jsonBody` is rendered string by
//! string ([`JsonTemplate`]), and a text body sent as JSON is read for where
//! each placeholder stands ([`Syntax::Json`], see `compile`). No HTML
//! escaping (WireMock turns it off). Rendering is bounded (`limits`).

use std::cell::OnceCell;

use handlebars::{RenderContext, RenderError, RenderErrorReason, Renderable};
use serde_json::Value;

use super::matcher::Incoming;

mod compile;
mod helpers;
mod json_body;
mod json_doc;
mod limits;
mod model;
mod time;

pub use json_body::{JsonKey, JsonTemplate};
pub use time::iso_millis;

/// The language of the text a template writes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Plain text: output is written as it is.
    Text,
    /// JSON text: output is escaped for where each placeholder stands.
    Json,
}

/// A compiled template.
#[derive(Debug, Clone)]
pub struct Template {
    compiled: handlebars::Template,
}

/// What a template may read: the request, how it came, and the matched
/// stub's path parameters and `transformerParameters`.
pub struct Context<'a> {
    pub req: &'a Incoming<'a>,
    /// `urlPathTemplate` parameters of the matched stub.
    pub path_params: &'a [(String, String)],
    /// The stub's `transformerParameters` (`{{parameters.x}}`), or null.
    pub parameters: &'a Value,
    /// The model, built on first use and shared by the response's templates.
    model: OnceCell<handlebars::Context>,
}

impl<'a> Context<'a> {
    pub fn new(req: &'a Incoming<'a>, path_params: &'a [(String, String)]) -> Context<'a> {
        Context {
            req,
            path_params,
            parameters: &Value::Null,
            model: OnceCell::new(),
        }
    }

    pub fn with_parameters(mut self, parameters: &'a Value) -> Context<'a> {
        self.parameters = parameters;
        self
    }

    fn model(&self) -> &handlebars::Context {
        self.model
            .get_or_init(|| handlebars::Context::from(model::build(self)))
    }
}

impl Template {
    /// A template for plain text.
    pub fn parse(text: &str) -> Result<Template, String> {
        Template::parse_as(text, Syntax::Text)
    }

    /// A template for text in `syntax`.
    pub fn parse_as(text: &str, syntax: Syntax) -> Result<Template, String> {
        compile::compile(text, syntax).map(|compiled| Template { compiled })
    }

    /// The rendered text, or why it could not be rendered (a helper ran
    /// over the render's bounds): the response is then a 500.
    pub fn render(&self, ctx: &Context<'_>) -> Result<String, String> {
        let _budget = limits::Session::start();
        time::forget_written();
        let mut out = limits::CappedOutput::default();
        let mut rc = RenderContext::new(None);
        self.compiled
            .render(&helpers::REGISTRY, ctx.model(), &mut rc, &mut out)
            .map_err(|e| describe_render_error(&e))?;
        Ok(out.0)
    }
}

fn describe_render_error(e: &RenderError) -> String {
    let reason = match e.reason() {
        RenderErrorReason::IOError(io) => io.to_string(),
        RenderErrorReason::Other(message) => message.clone(),
        other => other.to_string(),
    };
    match (e.line_no, e.column_no) {
        (Some(line), Some(column)) => {
            format!("template (line {line}, column {column}): {reason}")
        }
        _ => format!("template: {reason}"),
    }
}

#[cfg(test)]
mod helper_tests;
#[cfg(test)]
mod tests;
