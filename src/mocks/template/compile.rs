//! Compiling a template: the engine parses it, then we check and rewrite the
//! parsed tree once, when the stub is created:
//!
//! - every helper it calls must exist (a 422 otherwise, as WireMock's
//!   strict helpers); partials and decorators are refused (a template never
//!   reads anything but the request);
//! - header names in `request.headers.X` are lower-cased, so the lookup
//!   ignores case as WireMock's does;
//! - every expression is wrapped in one of our writers, which prints its
//!   value as WireMock prints it and, in JSON text, escapes it for where it
//!   stands: inside a JSON string, as that string's content; where a value
//!   goes, as one JSON value. Block helpers that are structure (`if`,
//!   `each`, ...) are read through, so each expression inside them is placed
//!   too; a block that transforms its content (`{{#trim}}`) is one value.

use std::sync::LazyLock;

use handlebars::template::{HelperTemplate, Parameter, Template as Compiled, TemplateElement};
use handlebars::{Path, TemplateError};
use serde_json::Value;

use super::Syntax;
use super::helpers::{
    JSON_STRING, JSON_VALUE, STEP, TEXT, WRAPPED_HELPER, is_helper, is_structural_block,
};

/// Blocks and subexpressions nested deeper than this are refused: the
/// engine renders them recursively.
const MAX_DEPTH: usize = 32;

/// Where a placeholder stands, which says how its output is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// In plain text: as it is.
    Text,
    /// Inside a JSON string: escaped as that string's content.
    JsonString,
    /// Where a JSON value goes: as it is when it is one whole JSON value,
    /// else as a JSON string.
    JsonValue,
}

/// Why a template was refused, and where (line, column) when known.
struct Refusal {
    message: String,
    at: Option<(usize, usize)>,
}

fn refuse<T>(message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        message: message.into(),
        at: None,
    })
}

pub(super) fn compile(text: &str, syntax: Syntax) -> Result<Compiled, String> {
    let mut template = Compiled::compile(text).map_err(|e| describe_template_error(&e))?;
    let mut json = match syntax {
        Syntax::Text => None,
        Syntax::Json => Some(JsonScan::default()),
    };
    rewrite(&mut template, &mut json, 0).map_err(|refusal| match refusal.at {
        Some((line, column)) => format!("{} (line {line}, column {column})", refusal.message),
        None => refusal.message,
    })?;
    Ok(template)
}

fn describe_template_error(e: &TemplateError) -> String {
    match e.pos() {
        Some((line, column)) => {
            format!(
                "template does not compile (line {line}, column {column}): {}",
                e.reason()
            )
        }
        None => format!("template does not compile: {}", e.reason()),
    }
}

fn rewrite(
    template: &mut Compiled,
    json: &mut Option<JsonScan>,
    depth: usize,
) -> Result<(), Refusal> {
    if depth > MAX_DEPTH {
        return refuse(format!("blocks are nested more than {MAX_DEPTH} deep"));
    }
    for (i, element) in template.elements.iter_mut().enumerate() {
        rewrite_element(element, json, depth).map_err(|mut refusal| {
            if refusal.at.is_none() {
                refusal.at = template.mapping.get(i).map(|m| (m.0, m.1));
            }
            refusal
        })?;
    }
    Ok(())
}

fn rewrite_element(
    element: &mut TemplateElement,
    json: &mut Option<JsonScan>,
    depth: usize,
) -> Result<(), Refusal> {
    match element {
        TemplateElement::RawString(text) => {
            if let Some(scan) = json {
                scan.read(text);
            }
        }
        TemplateElement::Comment(_) => {}
        TemplateElement::Expression(ht) | TemplateElement::HtmlExpression(ht) => {
            check_call(ht, depth)?;
            place_expression(ht, placement(json))?;
        }
        TemplateElement::HelperBlock(ht) => {
            check_call(ht, depth)?;
            let name = ht.name.as_name().unwrap_or_default().to_owned();
            if is_structural_block(&name) {
                let start = json.clone();
                if let Some(inner) = ht.template.as_mut() {
                    rewrite(inner, json, depth + 1)?;
                }
                if let Some(inverse) = ht.inverse.as_mut() {
                    let mut other = start.clone();
                    rewrite(inverse, &mut other, depth + 1)?;
                    if other != start {
                        return unbalanced(&name);
                    }
                }
                if *json != start {
                    return unbalanced(&name);
                }
                if name == "each" {
                    count_iterations(ht);
                }
            } else {
                let placement = placement(json);
                // Its content is the helper's input, not JSON structure.
                for inner in [ht.template.as_mut(), ht.inverse.as_mut()]
                    .into_iter()
                    .flatten()
                {
                    rewrite(inner, &mut None, depth + 1)?;
                }
                wrap_helper(ht, &name, placement);
            }
        }
        _ => return refuse("partials and decorators are not supported in templates"),
    }
    Ok(())
}

/// Puts the loop counter first in an `each` block, so every iteration
/// counts against the render's budget, however the loops nest.
fn count_iterations(ht: &mut HelperTemplate) {
    static STEP_ELEMENT: LazyLock<Option<TemplateElement>> = LazyLock::new(|| {
        Compiled::compile(&format!("{{{{{STEP}}}}}"))
            .ok()
            .and_then(|t| t.elements.into_iter().next())
    });
    let Some(step) = STEP_ELEMENT.as_ref() else {
        return;
    };
    let body = ht.template.get_or_insert_with(Compiled::new);
    body.elements.insert(0, step.clone());
    if let Some(first) = body.mapping.first().cloned() {
        body.mapping.insert(0, first);
    }
}

fn unbalanced<T>(name: &str) -> Result<T, Refusal> {
    refuse(format!(
        "in a body sent as JSON, a `{{{{#{name}}}}}` block must end where it started: \
         inside a JSON string or outside one, in each of its branches"
    ))
}

fn placement(json: &mut Option<JsonScan>) -> Placement {
    json.as_mut().map_or(Placement::Text, JsonScan::placement)
}

fn writer(placement: Placement) -> &'static str {
    match placement {
        Placement::Text => TEXT,
        Placement::JsonString => JSON_STRING,
        Placement::JsonValue => JSON_VALUE,
    }
}

/// A helper call (`{{name args}}`, `{{#name}}`, a subexpression) must name
/// a helper; its parameters are checked the same way, all the way down.
fn check_call(ht: &mut HelperTemplate, depth: usize) -> Result<(), Refusal> {
    if depth > MAX_DEPTH {
        return refuse(format!(
            "subexpressions are nested more than {MAX_DEPTH} deep"
        ));
    }
    let is_call = ht.block || !ht.params.is_empty() || !ht.hash.is_empty();
    match &mut ht.name {
        Parameter::Name(name) if is_call && !is_helper(name) => return unknown_helper(name),
        Parameter::Path(path) if is_call => return unknown_helper(&path_text(path)),
        Parameter::Path(path) => fix_path(path),
        Parameter::Subexpression(_) | Parameter::Literal(_) if is_call => {
            return refuse("a helper must be named, not computed");
        }
        _ => {}
    }
    for param in ht.params.iter_mut().chain(ht.hash.values_mut()) {
        check_param(param, depth + 1)?;
    }
    Ok(())
}

fn check_param(param: &mut Parameter, depth: usize) -> Result<(), Refusal> {
    match param {
        Parameter::Path(path) => fix_path(path),
        Parameter::Subexpression(sub) => match sub.element.as_mut() {
            TemplateElement::Expression(ht) => {
                if let Parameter::Name(name) = &ht.name
                    && !is_helper(name)
                {
                    return unknown_helper(name);
                }
                check_call(ht, depth)?;
            }
            _ => return refuse("a subexpression must call a helper"),
        },
        _ => {}
    }
    Ok(())
}

fn unknown_helper<T>(name: &str) -> Result<T, Refusal> {
    if name == "systemValue" {
        return refuse(
            "`systemValue` is not supported: a template cannot read the server's environment",
        );
    }
    refuse(format!(
        "unknown helper `{name}` (see docs/mocks.md for the helpers)"
    ))
}

fn path_text(path: &Path) -> String {
    match path {
        Path::Relative((_, raw)) => raw.clone(),
        Path::Local((_, name, _)) => format!("@{name}"),
    }
}

/// Paths into the model are read from its root, so inside `{{#each}}` or
/// `{{#with}}` `request.path` is still the request's (Handlebars.java finds
/// it in the enclosing contexts); and `request.headers.X-Name` looks up
/// `x-name`, the model's header names being lower case.
fn fix_path(path: &mut Path) {
    let Path::Relative((_, raw)) = path else {
        return;
    };
    // A webhook names the request it follows `originalRequest` (WireMock's
    // webhook model); it is the same request.
    if let Some(rest) = raw.strip_prefix("originalRequest")
        && (rest.is_empty() || rest.starts_with(['.', '/']))
    {
        *raw = format!("request{rest}");
    }
    let first = raw.split(['.', '/']).next().unwrap_or_default();
    if first != "request" && first != "parameters" {
        return;
    }
    let mut fixed = format!("@root.{raw}");
    if let Some(rest) = raw
        .strip_prefix("request.headers.")
        .or_else(|| raw.strip_prefix("request/headers/"))
    {
        let end = if rest.starts_with('[') {
            rest.find(']').map_or(rest.len(), |i| i + 1)
        } else {
            rest.find(['.', '/']).unwrap_or(rest.len())
        };
        fixed = format!(
            "@root.request.headers.{}{}",
            rest[..end].to_lowercase(),
            &rest[end..]
        );
    }
    if let Ok(parsed) = Path::parse(&fixed) {
        *path = parsed;
    }
}

/// `{{value}}` becomes `{{writer value}}`; `{{helper args}}` keeps its own
/// output in text, and in JSON becomes `{{writer args}}` naming the helper.
fn place_expression(ht: &mut HelperTemplate, placement: Placement) -> Result<(), Refusal> {
    let name_only = ht.params.is_empty() && ht.hash.is_empty();
    match &ht.name {
        // `{{now}}` parses as a path; the engine calls the helper first.
        Parameter::Name(_) | Parameter::Path(_) if ht.name.as_name().is_some_and(is_helper) => {
            let name = ht.name.as_name().unwrap_or_default().to_owned();
            wrap_helper(ht, &name, placement);
        }
        _ if !name_only => return refuse("an expression with arguments must call a helper"),
        Parameter::Path(path) => {
            ht.params = vec![Parameter::Path(path.clone())];
            ht.name = Parameter::Name(writer(placement).to_owned());
        }
        Parameter::Name(name) => {
            let path = Path::parse(name).map_err(|_| Refusal {
                message: format!("`{name}` is neither a helper nor a value"),
                at: None,
            })?;
            ht.params = vec![Parameter::Path(path)];
            ht.name = Parameter::Name(writer(placement).to_owned());
        }
        Parameter::Literal(value) => {
            ht.params = vec![Parameter::Literal(value.clone())];
            ht.name = Parameter::Name(writer(placement).to_owned());
        }
        Parameter::Subexpression(_) => return refuse("a helper must be named, not computed"),
        _ => return refuse("unsupported expression"),
    }
    Ok(())
}

/// In JSON, a helper's output goes through the writer for its placement.
fn wrap_helper(ht: &mut HelperTemplate, name: &str, placement: Placement) {
    if placement == Placement::Text {
        return;
    }
    ht.hash.insert(
        WRAPPED_HELPER.to_owned(),
        Parameter::Literal(Value::String(name.to_owned())),
    );
    ht.name = Parameter::Name(writer(placement).to_owned());
}

/// Where JSON text stands after the literal text read so far: inside a
/// string or not. Only strings matter: a placeholder outside one stands
/// where a value (or a key) goes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct JsonScan {
    in_string: bool,
    /// After a backslash inside a string.
    escaped: bool,
}

impl JsonScan {
    fn read(&mut self, text: &str) {
        for c in text.chars() {
            match (self.in_string, self.escaped, c) {
                (true, true, _) => self.escaped = false,
                (true, false, '\\') => self.escaped = true,
                (true, false, '"') => self.in_string = false,
                (false, _, '"') => self.in_string = true,
                _ => {}
            }
        }
    }

    fn placement(&mut self) -> Placement {
        if self.in_string {
            // A backslash before a placeholder escapes its output's first
            // character, which the escaping already did.
            self.escaped = false;
            Placement::JsonString
        } else {
            Placement::JsonValue
        }
    }
}
