//! The tree XPath is evaluated over, copied from the hardened parser's
//! ([`super::xml::parse_document`]) into `sxd-document`'s, and how its
//! nodes print: as WireMock prints them (Xalan's indenting serializer), for
//! `matchesXPath`'s value matchers and for templates' `xPath` and
//! `formatXml`.

use std::fmt::Write as _;

use roxmltree::NodeType;
use sxd_document::dom::{Attribute, ChildOfElement, ChildOfRoot, Document, Element};
use sxd_xpath::nodeset::Node;

/// How names are copied into the tree XPath evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Namespaces dropped: a name matches by its local part whatever its
    /// namespace (WireMock's `matchesXPath` without `xPathNamespaces`).
    Local,
    /// Matched as `Local`, but each name keeps its prefix and each element
    /// its namespace declarations (as attributes), so nodes print as
    /// written: WireMock's templates read XML with a parser that is not
    /// namespace aware.
    AsWritten,
    /// With their namespaces (`matchesXPath` with `xPathNamespaces`).
    Namespaced,
}

/// Copies a parsed document (its depth already bounded by the parser) into
/// `document`: the root element and the instructions beside it, and with
/// [`Names::AsWritten`] its comments too, which templates print.
pub fn copy_document(document: Document<'_>, parsed: &roxmltree::Document<'_>, names: Names) {
    for node in parsed.root().children() {
        match node.node_type() {
            NodeType::Element => {
                let element = copy_element(document, node, names);
                document.root().append_child(element);
            }
            NodeType::PI => {
                if let Some(pi) = node.pi() {
                    let instruction = document.create_processing_instruction(pi.target, pi.value);
                    document.root().append_child(instruction);
                }
            }
            NodeType::Comment if names == Names::AsWritten => {
                let comment = document.create_comment(node.text().unwrap_or_default());
                document.root().append_child(comment);
            }
            _ => {}
        }
    }
}

fn copy_element<'d>(
    document: Document<'d>,
    node: roxmltree::Node<'_, '_>,
    names: Names,
) -> Element<'d> {
    let name = node.tag_name();
    let element = match name.namespace() {
        Some(uri) if names == Names::Namespaced => document.create_element((uri, name.name())),
        _ => document.create_element(name.name()),
    };
    if names != Names::Local {
        let prefix = name.namespace().and_then(|uri| node.lookup_prefix(uri));
        element.set_preferred_prefix(prefix.filter(|p| !p.is_empty()));
    }
    if names == Names::AsWritten {
        copy_declarations(element, node);
    }
    for attribute in node.attributes() {
        let copied = match attribute.namespace() {
            Some(uri) if names == Names::Namespaced => {
                element.set_attribute_value((uri, attribute.name()), attribute.value())
            }
            _ => element.set_attribute_value(attribute.name(), attribute.value()),
        };
        if names == Names::AsWritten {
            let prefix = attribute
                .namespace()
                .and_then(|uri| node.lookup_prefix(uri));
            copied.set_preferred_prefix(prefix.filter(|p| !p.is_empty()));
        }
    }
    for child in node.children() {
        match child.node_type() {
            NodeType::Element => element.append_child(copy_element(document, child, names)),
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

/// The namespaces an element declares (not those it inherits), as the
/// `xmlns` attributes a parser that is not namespace aware sees.
fn copy_declarations(element: Element<'_>, node: roxmltree::Node<'_, '_>) {
    let inherited: Vec<(Option<&str>, &str)> = node
        .parent_element()
        .map(|p| p.namespaces().map(|n| (n.name(), n.uri())).collect())
        .unwrap_or_default();
    for namespace in node.namespaces() {
        let key = (namespace.name(), namespace.uri());
        if key.0 == Some("xml") || inherited.contains(&key) {
            continue;
        }
        let name = key
            .0
            .map_or_else(|| "xmlns".to_owned(), |p| format!("xmlns:{p}"));
        element.set_attribute_value(name.as_str(), key.1);
    }
}

/// Why printing stopped.
#[derive(Debug, thiserror::Error)]
#[error("the printed XML is over {0} bytes")]
pub struct TooLarge(pub usize);

/// How nodes print.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// As written (templates, [`Names::AsWritten`]): text beside elements
    /// untrimmed, namespace declarations first and the other attributes by
    /// name, as Xalan prints a DOM. Otherwise (the matchers) text beside
    /// elements is trimmed and attributes keep their order.
    pub as_written: bool,
    /// On one line, with no whitespace added (`formatXml format='compact'`).
    pub compact: bool,
    /// Whitespace-only text dropped even where it is an element's only
    /// content (`formatXml`, which removes it before printing).
    pub drop_blank_text: bool,
    /// Bytes past which printing stops: indenting a deep document makes
    /// far more text than it holds.
    pub limit: usize,
}

impl Printer {
    /// For the matchers: indented, unbounded (their input is bounded).
    pub const MATCHER: Printer = Printer {
        as_written: false,
        compact: false,
        drop_blank_text: false,
        limit: usize::MAX,
    };

    /// A selected node as WireMock prints it: an element as markup (with a
    /// line break after it), text and attributes as their text.
    pub fn node(&self, node: Node<'_>) -> Result<String, TooLarge> {
        let mut out = String::new();
        match node {
            Node::Element(element) => self.element(element, 0, &mut out)?,
            Node::Root(root) => self.document(&root.children(), &mut out)?,
            Node::Text(text) => out.push_str(text.text()),
            Node::Attribute(attribute) => out.push_str(attribute.value()),
            other => out.push_str(&other.string_value()),
        }
        Ok(out)
    }

    /// A document's nodes: what stands before the root element on its line
    /// (as Xalan writes it), the root indented.
    pub fn document(&self, children: &[ChildOfRoot<'_>], out: &mut String) -> Result<(), TooLarge> {
        for child in children {
            match child {
                ChildOfRoot::Element(e) => self.element(*e, 0, out)?,
                ChildOfRoot::Comment(c) => {
                    let _ = write!(out, "<!--{}-->", c.text());
                }
                ChildOfRoot::ProcessingInstruction(pi) => {
                    push_instruction(out, pi.target(), pi.value())
                }
            }
        }
        Ok(())
    }

    fn element(
        &self,
        element: Element<'_>,
        depth: usize,
        out: &mut String,
    ) -> Result<(), TooLarge> {
        if out.len() > self.limit {
            return Err(TooLarge(self.limit));
        }
        let indent = if self.compact {
            String::new()
        } else {
            "  ".repeat(depth)
        };
        let newline = if self.compact { "" } else { "\n" };
        let name = qualified(element.preferred_prefix(), element.name().local_part());
        let _ = write!(out, "{indent}<{name}");
        for attribute in self.attributes(element) {
            let attribute_name =
                qualified(attribute.preferred_prefix(), attribute.name().local_part());
            let _ = write!(
                out,
                " {attribute_name}=\"{}\"",
                escape(attribute.value(), true)
            );
        }
        let mut children = element.children();
        let is_blank = |c: &ChildOfElement<'_>| matches!(c, ChildOfElement::Text(t) if t.text().trim().is_empty());
        let only_text = children
            .iter()
            .all(|c| matches!(c, ChildOfElement::Text(_)));
        if self.drop_blank_text || !only_text {
            // Whitespace between elements is layout, which indenting redoes.
            children.retain(|c| !is_blank(c));
        }
        if children.is_empty() {
            let _ = write!(out, "/>{newline}");
            return Ok(());
        }
        if only_text || self.compact {
            out.push('>');
            for child in &children {
                self.inline_child(*child, out)?;
            }
            let _ = write!(out, "</{name}>{newline}");
            return Ok(());
        }
        out.push_str(">\n");
        for child in children {
            match child {
                ChildOfElement::Element(e) => self.element(e, depth + 1, out)?,
                ChildOfElement::Text(text) => {
                    let text = if self.as_written {
                        text.text()
                    } else {
                        text.text().trim()
                    };
                    let _ = writeln!(out, "{indent}  {}", escape(text, false));
                }
                ChildOfElement::Comment(comment) => {
                    let _ = writeln!(out, "{indent}  <!--{}-->", comment.text());
                }
                ChildOfElement::ProcessingInstruction(pi) => {
                    out.push_str(&indent);
                    out.push_str("  ");
                    push_instruction(out, pi.target(), pi.value());
                    out.push('\n');
                }
            }
        }
        let _ = writeln!(out, "{indent}</{name}>");
        Ok(())
    }

    /// A child written on its parent's line (text alone, or compact).
    fn inline_child(&self, child: ChildOfElement<'_>, out: &mut String) -> Result<(), TooLarge> {
        match child {
            ChildOfElement::Element(e) => self.element(e, 0, out)?,
            ChildOfElement::Text(text) => out.push_str(&escape(text.text(), false)),
            ChildOfElement::Comment(comment) => {
                let _ = write!(out, "<!--{}-->", comment.text());
            }
            ChildOfElement::ProcessingInstruction(pi) => {
                push_instruction(out, pi.target(), pi.value())
            }
        }
        Ok(())
    }

    fn attributes<'d>(&self, element: Element<'d>) -> Vec<Attribute<'d>> {
        let mut attributes = element.attributes();
        if self.as_written {
            // Xalan: the namespace declarations, then the other attributes,
            // each by name (a DOM keeps them sorted).
            attributes.sort_by_cached_key(|a| {
                let name = qualified(a.preferred_prefix(), a.name().local_part());
                (!is_declaration(&name), name)
            });
        }
        attributes
    }
}

fn is_declaration(name: &str) -> bool {
    name == "xmlns" || name.starts_with("xmlns:")
}

fn push_instruction(out: &mut String, target: &str, value: Option<&str>) {
    match value {
        Some(value) => {
            let _ = write!(out, "<?{target} {value}?>");
        }
        None => {
            let _ = write!(out, "<?{target}?>");
        }
    }
}

/// A name as written: `prefix:local`, or `local`.
pub fn qualified(prefix: Option<&str>, local: &str) -> String {
    match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_owned(),
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

/// A selected node as WireMock's templates see it (its `XmlNode`): `name`,
/// `text` (all the text inside), `attributes`, and how it prints.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    pub name: String,
    pub text: String,
    pub attributes: Vec<(String, String)>,
    pub printed: String,
}

impl NodeView {
    pub fn of(node: Node<'_>, printer: &Printer) -> Result<NodeView, TooLarge> {
        let (name, attributes) = match node {
            Node::Element(e) => (
                qualified(e.preferred_prefix(), e.name().local_part()),
                e.attributes()
                    .into_iter()
                    .map(|a| {
                        let name = qualified(a.preferred_prefix(), a.name().local_part());
                        (name, a.value().to_owned())
                    })
                    .collect(),
            ),
            Node::Attribute(a) => (
                qualified(a.preferred_prefix(), a.name().local_part()),
                Vec::new(),
            ),
            Node::Text(_) => ("#text".to_owned(), Vec::new()),
            Node::Comment(_) => ("#comment".to_owned(), Vec::new()),
            Node::Root(_) => ("#document".to_owned(), Vec::new()),
            Node::ProcessingInstruction(pi) => (pi.target().to_owned(), Vec::new()),
            Node::Namespace(ns) => (ns.prefix().to_owned(), Vec::new()),
        };
        let text = node.string_value();
        if text.len() > printer.limit {
            return Err(TooLarge(printer.limit));
        }
        Ok(NodeView {
            name,
            text,
            attributes,
            printed: printer.node(node)?,
        })
    }
}
