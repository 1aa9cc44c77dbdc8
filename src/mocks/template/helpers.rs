//! WireMock's helper library on the handlebars engine: one registry, built
//! once, holding Handlebars' `if`, `unless`, `each`, `with` and `lookup`,
//! WireMock's helpers ([`data`], [`json`], [`logic`], [`text`], [`xml`]),
//! and the internal helpers the compiler wraps expressions in to write
//! their output as plain text or escaped for JSON.

mod data;
mod json;
mod logic;
mod text;
mod xml;

use std::collections::HashMap;
use std::sync::LazyLock;

use handlebars::{
    Context as Model, Handlebars, Helper, HelperDef, HelperResult, JsonTruthy, Output,
    RenderContext, RenderError, RenderErrorReason, Renderable, ScopedJson,
};
use serde_json::Value;

use super::limits::{self, CappedOutput};
use super::model::{jackson_pretty, java_text, scalar, text_at};

/// Hash key the compiler adds to a wrapped helper call: the helper it wraps.
pub(super) const WRAPPED_HELPER: &str = "__echobase_helper";
/// The compiler's loop counter (see [`Step`]).
pub(super) const STEP: &str = "__echobase_step";
/// An expression whose output is written as it is.
pub(super) const TEXT: &str = "__echobase_text";
/// An expression inside a JSON string: its output is that string's content.
pub(super) const JSON_STRING: &str = "__echobase_json_string";
/// An expression where a JSON value goes.
pub(super) const JSON_VALUE: &str = "__echobase_json_value";

/// What a helper computes: a value, or a variable for the rest of the
/// template (WireMock's assigning forms, e.g. `{{val x assign='y'}}`).
pub(super) enum Out {
    Value(Value),
    Assign(String, Value),
}

impl From<Value> for Out {
    fn from(value: Value) -> Out {
        Out::Value(value)
    }
}

/// Why a helper computed nothing.
pub(super) enum Failure {
    /// Bad input: written as WireMock writes a helper's error,
    /// `[ERROR: message]` in the output.
    Soft(String),
    /// Over the render's budget: the render stops.
    Hard(RenderError),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Soft(message)
    }
}

impl From<RenderError> for Failure {
    fn from(error: RenderError) -> Failure {
        Failure::Hard(error)
    }
}

/// Over the output budget: the render stops.
impl From<limits::Exceeded> for Failure {
    fn from(exceeded: limits::Exceeded) -> Failure {
        Failure::Hard(RenderErrorReason::Other(exceeded.0).into())
    }
}

pub(super) type Computed = Result<Out, Failure>;

/// How a helper behaves besides computing its value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Its value is its output.
    Value,
    /// As a block (`{{#eq a b}}yes{{else}}no{{/eq}}`), chooses a branch;
    /// `inverse` says whether it has an `{{else}}`.
    Condition { inverse: bool },
    /// As a block (`{{#trim}} x {{/trim}}`), works on its rendered content.
    Content,
    /// WireMock's `JsonData`: an object prints as pretty JSON, a list as JSON.
    JsonData,
}

/// What a helper function is given: its parameters and hash, seen as
/// WireMock's helpers see them.
pub(super) struct Args<'a, 'rc> {
    h: &'a Helper<'rc>,
    model: &'a Value,
    /// The rendered block, for a `Content` helper used as a block.
    content: Option<String>,
}

impl Args<'_, '_> {
    pub fn len(&self) -> usize {
        self.h.params().len()
    }

    /// A parameter as given (a query parameter is its list of values).
    pub fn raw(&self, i: usize) -> Option<&Value> {
        self.h.param(i).map(|p| p.value())
    }

    /// A parameter as a single value (a query parameter is its first value).
    pub fn value(&self, i: usize) -> Option<&Value> {
        self.h
            .param(i)
            .map(|p| scalar(p.relative_path(), p.value()))
    }

    /// A parameter as text; `None` when it is missing or null.
    pub fn text(&self, i: usize) -> Option<String> {
        let p = self.h.param(i)?;
        if p.value().is_null() {
            return None;
        }
        Some(text_at(p.relative_path(), p.value(), self.model))
    }

    /// What a `Content` helper works on: its block, or its first parameter.
    pub fn input(&self) -> Option<String> {
        self.content.clone().or_else(|| self.text(0))
    }

    pub fn hash(&self, key: &str) -> Option<&Value> {
        self.h
            .hash_get(key)
            .map(|p| p.value())
            .filter(|v| !v.is_null())
    }

    pub fn hash_text(&self, key: &str) -> Option<String> {
        self.hash(key).map(java_text)
    }

    pub fn hash_true(&self, key: &str) -> bool {
        self.hash(key) == Some(&Value::Bool(true))
    }

    /// Every parameter from `from` on, each as a single value.
    pub fn values_from(&self, from: usize) -> Vec<Value> {
        (from..self.len())
            .filter_map(|i| self.value(i).cloned())
            .collect()
    }
}

type HelperFn = fn(&Args<'_, '_>) -> Computed;

/// One of WireMock's helpers: a function and how it behaves.
struct WireMockHelper {
    f: HelperFn,
    kind: Kind,
}

impl WireMockHelper {
    fn compute<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        ctx: &'rc Model,
        rc: &mut RenderContext<'reg, 'rc>,
        content: Option<String>,
    ) -> Result<Value, RenderError> {
        limits::steps(1)?;
        let args = Args {
            h,
            model: ctx.data(),
            content,
        };
        match (self.f)(&args) {
            Ok(Out::Value(value)) => Ok(value),
            Ok(Out::Assign(name, value)) => {
                assign(ctx, rc, name, value)?;
                Ok(Value::Null)
            }
            Err(Failure::Hard(error)) => Err(error),
            Err(Failure::Soft(message)) => {
                tracing::debug!(helper = h.name(), %message, "template helper error");
                Ok(Value::String(format!("[ERROR: {message}]")))
            }
        }
    }
}

/// Sets a root variable for the rest of the render. The engine reads one
/// context, so it is copied with the variable in it (counted against the
/// render's budget).
fn assign<'reg: 'rc, 'rc>(
    ctx: &'rc Model,
    rc: &mut RenderContext<'reg, 'rc>,
    name: String,
    value: Value,
) -> Result<(), RenderError> {
    let current = rc.context();
    let current = current.as_ref().map_or(ctx.data(), |c| c.data());
    limits::copied(copy_cost(current) + limits::size_of(&value))?;
    let mut data = current.clone();
    if let Value::Object(members) = &mut data {
        members.insert(name, value);
    }
    rc.set_context(Model::from(data));
    Ok(())
}

/// What copying the model costs, counted before it is copied: the
/// request as its body (plus a little), and in full what was assigned
/// before, which is copied again each time (a value assigned from itself,
/// `{{val (array l l) assign='l'}}`, doubles).
fn copy_cost(model: &Value) -> usize {
    let Value::Object(members) = model else {
        return limits::size_of(model);
    };
    members
        .iter()
        .map(|(name, value)| match name.as_str() {
            "request" => value["body"].as_str().map_or(0, str::len) + 4096,
            _ => limits::size_of(value),
        })
        .sum()
}

impl HelperDef for WireMockHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Model,
        rc: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        self.compute(h, ctx, rc, None).map(ScopedJson::Derived)
    }

    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Model,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let content = match (self.kind, h.template()) {
            (Kind::Content, Some(block)) if h.is_block() => {
                let mut rendered = CappedOutput::default();
                block.render(r, ctx, rc, &mut rendered)?;
                Some(rendered.0)
            }
            _ => None,
        };
        let value = self.compute(h, ctx, rc, content)?;
        if let (Kind::Condition { inverse }, true) = (self.kind, h.is_block()) {
            let branch = if value.is_truthy(false) {
                h.template()
            } else if inverse {
                h.inverse()
            } else {
                None
            };
            return branch.map_or(Ok(()), |t| t.render(r, ctx, rc, out));
        }
        let text = match (&value, self.kind) {
            (Value::Object(_), Kind::JsonData) => jackson_pretty(&value),
            (Value::Array(_), Kind::JsonData) => value.to_string(),
            _ => java_text(&value),
        };
        out.write(&text).map_err(RenderError::from)
    }
}

/// Counts one loop iteration: the compiler puts it first in every `each`
/// block, so nested loops over a request's arrays stop at the budget.
struct Step;

impl HelperDef for Step {
    fn call<'reg: 'rc, 'rc>(
        &self,
        _: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Model,
        _: &mut RenderContext<'reg, 'rc>,
        _: &mut dyn Output,
    ) -> HelperResult {
        limits::steps(1)
    }
}

/// The compiler's wrapper: renders the expression it wraps (a path, or the
/// helper named by [`WRAPPED_HELPER`]) and writes it for where it stands.
struct Placed {
    escape: fn(&str, &mut dyn Output) -> HelperResult,
}

impl HelperDef for Placed {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Model,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let text = match h.hash_get(WRAPPED_HELPER).and_then(|v| v.value().as_str()) {
            Some(name) => {
                let helper = HELPERS.get(name).ok_or_else(|| {
                    RenderError::from(RenderErrorReason::HelperNotFound(name.to_owned()))
                })?;
                let mut rendered = CappedOutput::default();
                helper.call(h, r, ctx, rc, &mut rendered)?;
                rendered.0
            }
            None => h.param(0).map_or_else(String::new, |p| {
                text_at(p.relative_path(), p.value(), ctx.data())
            }),
        };
        (self.escape)(&text, out)
    }
}

fn write_text(text: &str, out: &mut dyn Output) -> HelperResult {
    out.write(text).map_err(RenderError::from)
}

fn write_json_string_content(text: &str, out: &mut dyn Output) -> HelperResult {
    let quoted = Value::String(text.to_owned()).to_string();
    out.write(&quoted[1..quoted.len() - 1])
        .map_err(RenderError::from)
}

/// As it is when it is one whole JSON value (a number, `true`, an object a
/// `jsonPath` picked), else as a JSON string.
fn write_json_value(text: &str, out: &mut dyn Output) -> HelperResult {
    let written = if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        text.to_owned()
    } else {
        Value::String(text.to_owned()).to_string()
    };
    out.write(&written).map_err(RenderError::from)
}

type Helpers = HashMap<&'static str, Box<dyn HelperDef + Send + Sync>>;

/// Every helper a template may call, by name.
static HELPERS: LazyLock<Helpers> = LazyLock::new(|| {
    let mut helpers: Helpers = HashMap::new();
    for (name, f, kind) in data::HELPERS
        .iter()
        .chain(json::HELPERS)
        .chain(logic::HELPERS)
        .chain(text::HELPERS)
        .chain(xml::HELPERS)
    {
        helpers.insert(name, Box::new(WireMockHelper { f: *f, kind: *kind }));
    }
    helpers
});

/// Handlebars' own block helpers, which the registry keeps.
const HANDLEBARS_BLOCKS: [&str; 4] = ["if", "unless", "each", "with"];

/// Whether `name` is a helper a template may call.
pub(super) fn is_helper(name: &str) -> bool {
    HELPERS.contains_key(name) || HANDLEBARS_BLOCKS.contains(&name)
}

/// Whether a block of this helper is template structure (its branches or
/// iterations are more of the template, read for JSON placement like the
/// rest) rather than content it transforms.
pub(super) fn is_structural_block(name: &str) -> bool {
    HANDLEBARS_BLOCKS.contains(&name) || logic::HELPERS.iter().any(|(n, _, _)| *n == name)
}

/// Forwards to the helper of that name in [`HELPERS`].
struct Forward(&'static (dyn HelperDef + Send + Sync));

impl HelperDef for Forward {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Model,
        rc: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        self.0.call_inner(h, r, ctx, rc)
    }

    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Model,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        self.0.call(h, r, ctx, rc, out)
    }
}

/// The registry: Handlebars' [`HANDLEBARS_BLOCKS`], [`HELPERS`] (which
/// replace its `eq`, `and`, ...) and the compiler's helpers; no HTML
/// escaping (WireMock turns it off), no partials or templates of its own.
pub(super) static REGISTRY: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut registry = Handlebars::new();
    registry.register_escape_fn(handlebars::no_escape);
    // Inside `{{#each}}`, `{{request.path}}` is found in the enclosing
    // contexts, as Handlebars.java finds it.
    registry.set_recursive_lookup(true);
    // Handlebars' others: not WireMock's (`log` writes to the server's log).
    for name in ["lookup", "raw", "log", "len", "ne"] {
        registry.unregister_helper(name);
    }
    for (name, helper) in HELPERS.iter() {
        registry.register_helper(name, Box::new(Forward(helper.as_ref())));
    }
    registry.register_helper(STEP, Box::new(Step));
    registry.register_helper(TEXT, Box::new(Placed { escape: write_text }));
    registry.register_helper(
        JSON_STRING,
        Box::new(Placed {
            escape: write_json_string_content,
        }),
    );
    registry.register_helper(
        JSON_VALUE,
        Box::new(Placed {
            escape: write_json_value,
        }),
    );
    registry
});
