//! `matchesXPath`: an XPath 1.0 expression over an XML value, alone (it must
//! select something, or be true) or with a value matcher for what it selects.
//!
//! The document is parsed by [`super::xml::parse_document`] (the hardened
//! parser) and copied into `sxd-document`'s tree, which `sxd-xpath` evaluates.
//! As in WireMock, without `xPathNamespaces` names are matched by their local
//! part whatever their namespace; with them, the expression's prefixes name
//! namespaces and unprefixed names mean no namespace.
//!
//! Templates' `xPath`, `soapXPath` and `formatXml` use the same parser,
//! bounds and tree ([`template_xpath`], [`format_xml`]).

use sxd_document::Package;
use sxd_xpath::nodeset::Node;
use sxd_xpath::{Context, Factory, Value, XPath};

use super::StringMatcher;
use super::xml::parse_document;
use super::xml_print::{Names, NodeView, Printer, TooLarge, copy_document};

/// Bounds on an expression: `sxd-xpath` parses and evaluates recursively, so
/// a long operator chain or deep nesting would exhaust the stack.
const MAX_EXPRESSION_LEN: usize = 1024;
const MAX_EXPRESSION_NESTING: usize = 32;

/// A checked `matchesXPath` expression with its namespaces.
#[derive(Debug, Clone)]
pub struct XPathQuery {
    expression: String,
    namespaces: Vec<(String, String)>,
}

/// What an expression gives: the nodes it selects (each as the caller
/// sees it), or a value.
#[derive(Debug, PartialEq)]
pub enum Selected<N> {
    Nodes(Vec<N>),
    Boolean(bool),
    Number(f64),
    Text(String),
}

impl XPathQuery {
    /// Checks the expression (syntax and size); `Err` says what is wrong.
    pub fn new(expression: &str, namespaces: Vec<(String, String)>) -> Result<XPathQuery, String> {
        if expression.len() > MAX_EXPRESSION_LEN {
            return Err(format!(
                "is longer than {MAX_EXPRESSION_LEN} bytes, the most echobase evaluates"
            ));
        }
        if nesting(expression) > MAX_EXPRESSION_NESTING {
            return Err(format!(
                "nests brackets deeper than {MAX_EXPRESSION_NESTING}, the most echobase evaluates"
            ));
        }
        compile(expression)?;
        // sxd-xpath panics on a prefix its context lacks: each must be declared.
        for prefix in prefixes(expression) {
            if prefix != "xml" && !namespaces.iter().any(|(p, _)| *p == prefix) {
                return Err(format!(
                    "uses the prefix `{prefix}`, which xPathNamespaces does not declare"
                ));
            }
        }
        Ok(XPathQuery {
            expression: expression.to_owned(),
            namespaces,
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// 0 when the value matches. Without a value matcher: 0 when the
    /// expression selects a node or is true, else 1; with one, the nearest
    /// of the selected values. Not XML, or the expression fails on it: 1.
    pub fn distance(&self, actual: &str, then: Option<&StringMatcher>) -> f64 {
        let Some(selected) = self.select(actual) else {
            return 1.0;
        };
        match (then, selected) {
            (None, Selected::Nodes(nodes)) => flag(!nodes.is_empty()),
            (None, Selected::Boolean(b)) => flag(b),
            (None, Selected::Number(n)) => flag(n != 0.0 && !n.is_nan()),
            (None, Selected::Text(text)) => flag(!text.is_empty()),
            (Some(matcher), Selected::Nodes(nodes)) => nodes
                .iter()
                .map(|text| matcher.distance(Some(text)))
                .fold(1.0, f64::min),
            (Some(matcher), Selected::Boolean(b)) => matcher.distance(Some(&b.to_string())),
            (Some(matcher), Selected::Number(n)) => matcher.distance(Some(&java_number(n))),
            (Some(matcher), Selected::Text(text)) => matcher.distance(Some(&text)),
        }
    }

    fn select(&self, actual: &str) -> Option<Selected<String>> {
        // As WireMock: only what looks like XML is parsed.
        if !actual.trim_start().starts_with('<') {
            return None;
        }
        let parsed = parse_document(actual).ok()?;
        let names = if self.namespaces.is_empty() {
            Names::Local
        } else {
            Names::Namespaced
        };
        let selected = self.evaluate(&parsed, names, |node| Printer::MATCHER.node(node))?;
        Some(match selected {
            Selected::Nodes(nodes) => {
                Selected::Nodes(nodes.into_iter().collect::<Result<_, _>>().ok()?)
            }
            Selected::Boolean(b) => Selected::Boolean(b),
            Selected::Number(n) => Selected::Number(n),
            Selected::Text(t) => Selected::Text(t),
        })
    }

    /// The expression evaluated over a parsed document, copied with
    /// `names`; each selected node, in document order, is seen through
    /// `each`. `None` when the evaluation fails.
    pub fn evaluate<N>(
        &self,
        parsed: &roxmltree::Document<'_>,
        names: Names,
        each: impl FnMut(Node<'_>) -> N,
    ) -> Option<Selected<N>> {
        let xpath = compile(&self.expression).ok()?;
        let package = Package::new();
        let document = package.as_document();
        copy_document(document, parsed, names);
        let mut context = Context::new();
        context.set_namespace("xml", "http://www.w3.org/XML/1998/namespace");
        for (prefix, uri) in &self.namespaces {
            context.set_namespace(prefix, uri);
        }
        // Every prefix is declared (checked in `new`), so sxd-xpath has no
        // reason to panic; should it all the same, the value does not match
        // rather than the connection being dropped.
        let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            xpath.evaluate(&context, document.root()).ok()
        }));
        Some(match evaluated.ok()?? {
            Value::Nodeset(nodes) => {
                Selected::Nodes(nodes.document_order().into_iter().map(each).collect())
            }
            Value::Boolean(b) => Selected::Boolean(b),
            Value::Number(n) => Selected::Number(n),
            Value::String(s) => Selected::Text(s),
        })
    }
}

/// Why a template's `xPath` gave no value.
#[derive(Debug, thiserror::Error)]
pub enum TemplateXPathError {
    #[error("is not valid XML")]
    NotXml,
    #[error("is not a valid XPath expression")]
    Expression,
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
}

/// A template's `xPath`: `expression` over `xml`, as WireMock's helper
/// evaluates it (names by their local part, nodes printed as written, each
/// node's text and printed form within `limit` bytes). The same hardened
/// parser and expression bounds as `matchesXPath`; an expression may use no
/// prefix, there being no namespaces to give them.
pub fn template_xpath(
    xml: &str,
    expression: &str,
    limit: usize,
) -> Result<Selected<NodeView>, TemplateXPathError> {
    let parsed = parse_document(xml).map_err(|_| TemplateXPathError::NotXml)?;
    let query =
        XPathQuery::new(expression, Vec::new()).map_err(|_| TemplateXPathError::Expression)?;
    let printer = Printer {
        as_written: true,
        compact: false,
        drop_blank_text: false,
        limit,
    };
    let selected = query
        .evaluate(&parsed, Names::AsWritten, |node| {
            NodeView::of(node, &printer)
        })
        .ok_or(TemplateXPathError::Expression)?;
    Ok(match selected {
        Selected::Nodes(nodes) => Selected::Nodes(nodes.into_iter().collect::<Result<_, _>>()?),
        Selected::Boolean(b) => Selected::Boolean(b),
        Selected::Number(n) => Selected::Number(n),
        Selected::Text(t) => Selected::Text(t),
    })
}

/// A template's `formatXml`: the document printed as WireMock's helper
/// prints it (indented by two, or `compact`; whitespace between elements
/// dropped; no XML declaration), within `limit` bytes.
pub fn format_xml(xml: &str, compact: bool, limit: usize) -> Result<String, TemplateXPathError> {
    let parsed = parse_document(xml).map_err(|_| TemplateXPathError::NotXml)?;
    let package = Package::new();
    let document = package.as_document();
    copy_document(document, &parsed, Names::AsWritten);
    let printer = Printer {
        as_written: true,
        compact,
        drop_blank_text: true,
        limit,
    };
    let mut out = String::new();
    printer.document(&document.root().children(), &mut out)?;
    Ok(out)
}

fn compile(expression: &str) -> Result<XPath, String> {
    match Factory::new().build(expression) {
        Ok(Some(xpath)) => Ok(xpath),
        Ok(None) => Err("is an empty XPath expression".into()),
        Err(e) => Err(format!("is not a valid XPath 1.0 expression: {e}")),
    }
}

/// The namespace prefixes an expression uses (`p:name`, `p:*`), outside
/// string literals; an axis (`child::`) is not one.
fn prefixes(expression: &str) -> Vec<&str> {
    let bytes = expression.as_bytes();
    let name_byte =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.') || b >= 0x80;
    let mut found = Vec::new();
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b':') => {
                let after = bytes.get(i + 1).copied();
                let before = i.checked_sub(1).and_then(|j| bytes.get(j)).copied();
                if after == Some(b':') || before == Some(b':') {
                    continue;
                }
                let start = bytes[..i]
                    .iter()
                    .rposition(|&c| !name_byte(c))
                    .map_or(0, |j| j + 1);
                if start < i {
                    found.push(&expression[start..i]);
                }
            }
            _ => {}
        }
    }
    found
}

/// How deep brackets nest outside string literals.
fn nesting(expression: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    for c in expression.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ')' | ']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn flag(ok: bool) -> f64 {
    if ok { 0.0 } else { 1.0 }
}

/// A number as WireMock gives it to a value matcher (Java's default
/// `NumberFormat`): grouped thousands, at most three decimals.
pub fn java_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "∞" } else { "-∞" }.into();
    }
    let fixed = format!("{:.3}", n.abs());
    let (whole, fraction) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let fraction = fraction.trim_end_matches('0');
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if n.is_sign_negative() && (whole != "0" || !fraction.is_empty()) {
        "-"
    } else {
        ""
    };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction}")
    }
}

#[cfg(test)]
#[path = "xpath_tests.rs"]
mod tests;
