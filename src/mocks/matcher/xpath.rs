//! `matchesXPath`: an XPath 1.0 expression over an XML value, alone (it must
//! select something, or be true) or with a value matcher for what it selects.
//!
//! The document is parsed by [`super::xml::parse_document`] (the hardened
//! parser) and copied into `sxd-document`'s tree, which `sxd-xpath` evaluates.
//! As in WireMock, without `xPathNamespaces` names are matched by their local
//! part whatever their namespace; with them, the expression's prefixes name
//! namespaces and unprefixed names mean no namespace.

use std::fmt::Write as _;

use roxmltree::NodeType;
use sxd_document::Package;
use sxd_document::dom::{ChildOfElement, Document, Element};
use sxd_xpath::nodeset::Node;
use sxd_xpath::{Context, Factory, Value, XPath};

use super::StringMatcher;
use super::xml::parse_document;

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

/// What an expression gives: the nodes it selects (as text) or a value.
enum Selected {
    Nodes(Vec<String>),
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

    fn select(&self, actual: &str) -> Option<Selected> {
        // As WireMock: only what looks like XML is parsed.
        if !actual.trim_start().starts_with('<') {
            return None;
        }
        let parsed = parse_document(actual).ok()?;
        let xpath = compile(&self.expression).ok()?;
        let package = Package::new();
        let document = package.as_document();
        let namespace_aware = !self.namespaces.is_empty();
        for node in parsed.root().children() {
            match node.node_type() {
                NodeType::Element => {
                    let element = copy_element(document, node, namespace_aware);
                    document.root().append_child(element);
                }
                NodeType::PI => {
                    if let Some(pi) = node.pi() {
                        let instruction =
                            document.create_processing_instruction(pi.target, pi.value);
                        document.root().append_child(instruction);
                    }
                }
                _ => {}
            }
        }
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
                Selected::Nodes(nodes.document_order().into_iter().map(node_text).collect())
            }
            Value::Boolean(b) => Selected::Boolean(b),
            Value::Number(n) => Selected::Number(n),
            Value::String(s) => Selected::Text(s),
        })
    }
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

/// Copies an element (depth already bounded by the parser) into `document`.
fn copy_element<'d>(
    document: Document<'d>,
    node: roxmltree::Node<'_, '_>,
    namespace_aware: bool,
) -> Element<'d> {
    let name = node.tag_name();
    let element = match name.namespace() {
        Some(uri) if namespace_aware => document.create_element((uri, name.name())),
        _ => document.create_element(name.name()),
    };
    if namespace_aware {
        let prefix = name.namespace().and_then(|uri| node.lookup_prefix(uri));
        element.set_preferred_prefix(prefix.filter(|p| !p.is_empty()));
    }
    for attribute in node.attributes() {
        match attribute.namespace() {
            Some(uri) if namespace_aware => {
                element.set_attribute_value((uri, attribute.name()), attribute.value());
            }
            _ => {
                element.set_attribute_value(attribute.name(), attribute.value());
            }
        }
    }
    for child in node.children() {
        match child.node_type() {
            NodeType::Element => {
                element.append_child(copy_element(document, child, namespace_aware));
            }
            NodeType::Text => {
                element.append_child(document.create_text(child.text().unwrap_or_default()));
            }
            NodeType::Comment => {
                element.append_child(document.create_comment(child.text().unwrap_or_default()));
            }
            NodeType::PI => {
                if let Some(pi) = child.pi() {
                    element
                        .append_child(document.create_processing_instruction(pi.target, pi.value));
                }
            }
            NodeType::Root => {}
        }
    }
    element
}

/// A selected node as a value matcher sees it: text for text and attributes,
/// the markup for an element (indented by two, as WireMock prints it).
fn node_text(node: Node<'_>) -> String {
    match node {
        Node::Element(element) => {
            let mut out = String::new();
            render(element, 0, &mut out);
            out
        }
        Node::Text(text) => text.text().to_owned(),
        Node::Attribute(attribute) => attribute.value().to_owned(),
        other => other.string_value(),
    }
}

fn qualified(prefix: Option<&str>, local: &str) -> String {
    match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_owned(),
    }
}

fn render(element: Element<'_>, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let name = qualified(element.preferred_prefix(), element.name().local_part());
    let _ = write!(out, "{indent}<{name}");
    for attribute in element.attributes() {
        let attribute_name = qualified(attribute.preferred_prefix(), attribute.name().local_part());
        let _ = write!(
            out,
            " {attribute_name}=\"{}\"",
            escape(attribute.value(), true)
        );
    }
    let children = element.children();
    let only_text = children
        .iter()
        .all(|c| matches!(c, ChildOfElement::Text(_)));
    if children.is_empty() {
        out.push_str("/>\n");
    } else if only_text {
        out.push('>');
        for child in &children {
            if let ChildOfElement::Text(text) = child {
                out.push_str(&escape(text.text(), false));
            }
        }
        let _ = writeln!(out, "</{name}>");
    } else {
        out.push_str(">\n");
        for child in children {
            match child {
                ChildOfElement::Element(e) => render(e, depth + 1, out),
                ChildOfElement::Text(text) if !text.text().trim().is_empty() => {
                    let _ = writeln!(out, "{indent}  {}", escape(text.text().trim(), false));
                }
                ChildOfElement::Comment(comment) => {
                    let _ = writeln!(out, "{indent}  <!--{}-->", comment.text());
                }
                ChildOfElement::ProcessingInstruction(pi) => {
                    let _ = writeln!(
                        out,
                        "{indent}  <?{} {}?>",
                        pi.target(),
                        pi.value().unwrap_or_default()
                    );
                }
                ChildOfElement::Text(_) => {}
            }
        }
        let _ = writeln!(out, "{indent}</{name}>");
    }
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A number as WireMock gives it to a value matcher (Java's default
/// `NumberFormat`): grouped thousands, at most three decimals.
fn java_number(n: f64) -> String {
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
