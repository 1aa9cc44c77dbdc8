//! `equalToXml`: XML documents compared the way WireMock's XMLUnit setup
//! compares them ("similar"): whitespace between elements and around text
//! does not count, nor do comments, namespace prefixes, attribute order or the
//! order of differently named siblings. Also the one hardened XML parser the
//! XML matchers share.

use std::collections::HashSet;

use roxmltree::{Document, Node, NodeType, ParsingOptions};

use super::xml_placeholder::Placeholders;

/// Elements nested deeper than this are refused: the comparison and the
/// XPath copy walk the tree recursively.
pub const MAX_XML_DEPTH: usize = 256;
/// Nodes per document; the request body limit bounds the text, this bounds
/// the tree built from it.
const MAX_XML_NODES: u32 = 1_000_000;
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Parses XML with what a request may send kept harmless: a document that
/// declares entities is refused (internal ones can expand far past the body's
/// size, external ones would read files or the network), external entities are
/// never resolved, and the tree is bounded in nodes and depth.
pub fn parse_document(text: &str) -> Result<Document<'_>, String> {
    if text.contains("<!ENTITY") {
        return Err("documents that declare entities are not accepted".into());
    }
    let options = ParsingOptions {
        allow_dtd: true,
        nodes_limit: MAX_XML_NODES,
        // No resolver: an external entity or DTD is never read.
        entity_resolver: None,
    };
    let document = Document::parse_with_options(text, options).map_err(|e| e.to_string())?;
    check_depth(&document)?;
    Ok(document)
}

fn check_depth(document: &Document<'_>) -> Result<(), String> {
    // Node ids follow document order, so a parent's depth is known before its children's.
    let mut depths = vec![0usize; document.descendants().count() + 1];
    for node in document.descendants() {
        let depth = node.parent().map_or(0, |p| {
            depths.get(p.id().get_usize()).copied().unwrap_or(0) + 1
        });
        if depth > MAX_XML_DEPTH {
            return Err(format!("nested deeper than {MAX_XML_DEPTH} elements"));
        }
        if let Some(slot) = depths.get_mut(node.id().get_usize()) {
            *slot = depth;
        }
    }
    Ok(())
}

/// XMLUnit's comparison types, as WireMock's `exemptedComparisons` names them.
pub const COMPARISON_TYPES: [&str; 23] = [
    "XML_VERSION",
    "XML_STANDALONE",
    "XML_ENCODING",
    "HAS_DOCTYPE_DECLARATION",
    "DOCTYPE_NAME",
    "DOCTYPE_PUBLIC_ID",
    "DOCTYPE_SYSTEM_ID",
    "SCHEMA_LOCATION",
    "NO_NAMESPACE_SCHEMA_LOCATION",
    "NODE_TYPE",
    "NAMESPACE_PREFIX",
    "NAMESPACE_URI",
    "TEXT_VALUE",
    "PROCESSING_INSTRUCTION_TARGET",
    "PROCESSING_INSTRUCTION_DATA",
    "ELEMENT_TAG_NAME",
    "ATTR_VALUE_EXPLICITLY_SPECIFIED",
    "ELEMENT_NUM_ATTRIBUTES",
    "ATTR_VALUE",
    "CHILD_NODELIST_LENGTH",
    "CHILD_NODELIST_SEQUENCE",
    "CHILD_LOOKUP",
    "ATTR_NAME_LOOKUP",
];

/// The comparisons WireMock counts; every other kind of difference (prefixes,
/// sibling order, comments, the XML declaration, the doctype) never fails a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Check {
    ElementTagName,
    SchemaLocation,
    NoNamespaceSchemaLocation,
    NodeType,
    NamespaceUri,
    TextValue,
    ProcessingInstructionTarget,
    ProcessingInstructionData,
    ElementNumAttributes,
    AttrValue,
    ChildNodelistLength,
    ChildLookup,
    AttrNameLookup,
}

impl Check {
    fn from_name(name: &str) -> Option<Check> {
        use Check::*;
        Some(match name {
            "ELEMENT_TAG_NAME" => ElementTagName,
            "SCHEMA_LOCATION" => SchemaLocation,
            "NO_NAMESPACE_SCHEMA_LOCATION" => NoNamespaceSchemaLocation,
            "NODE_TYPE" => NodeType,
            "NAMESPACE_URI" => NamespaceUri,
            "TEXT_VALUE" => TextValue,
            "PROCESSING_INSTRUCTION_TARGET" => ProcessingInstructionTarget,
            "PROCESSING_INSTRUCTION_DATA" => ProcessingInstructionData,
            "ELEMENT_NUM_ATTRIBUTES" => ElementNumAttributes,
            "ATTR_VALUE" => AttrValue,
            "CHILD_NODELIST_LENGTH" => ChildNodelistLength,
            "CHILD_LOOKUP" => ChildLookup,
            "ATTR_NAME_LOOKUP" => AttrNameLookup,
            _ => return None,
        })
    }
}

/// An element as the comparison sees it: comments dropped, text trimmed and
/// whitespace-only text gone, namespace declarations and schema locations apart
/// from the other attributes.
#[derive(Debug, Clone, PartialEq)]
struct Element {
    namespace: Option<String>,
    name: String,
    attributes: Vec<Attribute>,
    schema_location: Option<String>,
    no_namespace_schema_location: Option<String>,
    children: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
struct Attribute {
    namespace: Option<String>,
    name: String,
    value: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Element(Element),
    Text(String),
    Instruction { target: String, data: String },
}

impl Item {
    fn from_node(node: Node<'_, '_>, names: Namespaces) -> Option<Item> {
        match node.node_type() {
            NodeType::Element => Some(Item::Element(Element::from_node(node, names))),
            NodeType::Text => {
                let text = node.text().unwrap_or_default().trim();
                (!text.is_empty()).then(|| Item::Text(text.to_owned()))
            }
            NodeType::PI => node.pi().map(|pi| Item::Instruction {
                target: pi.target.to_owned(),
                data: pi.value.unwrap_or_default().to_owned(),
            }),
            NodeType::Comment | NodeType::Root => None,
        }
    }

    /// The key WireMock sorts siblings by before pairing them: the local name
    /// (and, with `ignoreOrderOfSameNode`, the text).
    fn sort_key(&self, by_text: bool) -> (&str, String) {
        match self {
            Item::Element(e) if by_text => (&e.name, e.text_content()),
            Item::Element(e) => (&e.name, String::new()),
            _ => ("", String::new()),
        }
    }
}

impl Element {
    fn from_node(node: Node<'_, '_>, names: Namespaces) -> Element {
        let local = node.tag_name().name();
        let (namespace, name) = match names {
            Namespaces::Strict => (node.tag_name().namespace(), local.to_owned()),
            Namespaces::Prefixed => (node.tag_name().namespace(), written_name(node, local)),
            Namespaces::Ignored => (None, local.to_owned()),
        };
        let mut element = Element {
            namespace: namespace.map(str::to_owned),
            name,
            attributes: Vec::new(),
            schema_location: None,
            no_namespace_schema_location: None,
            children: node
                .children()
                .filter_map(|child| Item::from_node(child, names))
                .collect(),
        };
        for attribute in node.attributes() {
            match (attribute.namespace(), attribute.name()) {
                (Some(XSI), "schemaLocation") => {
                    element.schema_location = Some(attribute.value().to_owned());
                }
                (Some(XSI), "noNamespaceSchemaLocation") => {
                    element.no_namespace_schema_location = Some(attribute.value().to_owned());
                }
                (namespace, name) => element.attributes.push(Attribute {
                    namespace: namespace
                        .filter(|_| names != Namespaces::Ignored)
                        .map(str::to_owned),
                    name: match (names, namespace.and_then(|ns| node.lookup_prefix(ns))) {
                        (Namespaces::Prefixed, Some(prefix)) => format!("{prefix}:{name}"),
                        _ => name.to_owned(),
                    },
                    value: attribute.value().to_owned(),
                }),
            }
        }
        element
    }

    fn text_content(&self) -> String {
        let mut text = String::new();
        for child in &self.children {
            match child {
                Item::Text(t) => text.push_str(t),
                Item::Element(e) => text.push_str(&e.text_content()),
                Item::Instruction { .. } => {}
            }
        }
        text
    }
}

/// The element's name as written in its start tag (`a:item`), or its
/// local name when the source does not show it.
fn written_name(node: Node<'_, '_>, local: &str) -> String {
    let source = node.document().input_text();
    source
        .get(node.range().start + 1..)
        .and_then(|tag| {
            tag.split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
        })
        .filter(|written| written.ends_with(local))
        .map_or_else(|| local.to_owned(), str::to_owned)
}

/// `equalToXml`'s `namespaceAwareness`: how names are compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Namespaces {
    /// `STRICT`: by namespace and local name; prefixes do not count.
    #[default]
    Strict,
    /// `NONE`: by name as written, prefix included, and namespace.
    Prefixed,
    /// `LEGACY`: by local name only; namespaces do not count.
    Ignored,
}

/// A parsed `equalToXml` with its options.
#[derive(Debug, Clone)]
pub struct XmlEquality {
    /// The expected XML as written, for descriptions.
    text: String,
    root: Item,
    exempted: HashSet<Check>,
    placeholders: Option<Placeholders>,
    ignore_order_of_same_node: bool,
    names: Namespaces,
}

/// `equalToXml`'s options, as the stub gives them.
#[derive(Debug, Default)]
pub struct XmlOptions<'a> {
    pub enable_placeholders: bool,
    pub opening_delimiter: Option<&'a str>,
    pub closing_delimiter: Option<&'a str>,
    pub exempted_comparisons: Vec<&'a str>,
    pub ignore_order_of_same_node: bool,
    pub names: Namespaces,
}

/// Why an `equalToXml` cannot be used.
#[derive(Debug, PartialEq)]
pub enum XmlPatternError {
    /// The expected document.
    Document(String),
    /// The placeholder delimiters.
    Delimiters(String),
}

impl XmlEquality {
    /// Parses the expected document and the options.
    pub fn new(expected: &str, options: &XmlOptions<'_>) -> Result<XmlEquality, XmlPatternError> {
        let document = parse_document(expected)
            .map_err(|e| XmlPatternError::Document(format!("is not well-formed XML: {e}")))?;
        // Delimiters are checked even while placeholders are off: a typo is
        // refused when the stub is made, not found when they are turned on.
        let placeholders = Placeholders::new(options.opening_delimiter, options.closing_delimiter)
            .map_err(XmlPatternError::Delimiters)?;
        let placeholders = options.enable_placeholders.then_some(placeholders);
        Ok(XmlEquality {
            text: expected.to_owned(),
            root: Item::Element(Element::from_node(document.root_element(), options.names)),
            exempted: options
                .exempted_comparisons
                .iter()
                .filter_map(|name| Check::from_name(name))
                .collect(),
            placeholders,
            ignore_order_of_same_node: options.ignore_order_of_same_node,
            names: options.names,
        })
    }

    pub fn expected(&self) -> &str {
        &self.text
    }

    /// 0 when `actual` is similar XML; otherwise the share of counted
    /// comparisons that differ (WireMock's distance), above 0. Not XML: 1.
    pub fn distance(&self, actual: &str) -> f64 {
        let Ok(document) = parse_document(actual) else {
            return 1.0;
        };
        let actual = Item::Element(Element::from_node(document.root_element(), self.names));
        let mut tally = Tally {
            equality: self,
            compared: 0,
            different: 0,
        };
        tally.children(std::slice::from_ref(&self.root), &[actual]);
        if tally.different == 0 {
            0.0
        } else {
            (tally.different as f64 / tally.compared.max(1) as f64).max(0.01)
        }
    }
}

/// Siblings in the order WireMock pairs them (a stable sort by name).
fn sorted(items: &[Item], by_text: bool) -> Vec<&Item> {
    let mut items: Vec<&Item> = items.iter().collect();
    items.sort_by(|a, b| a.sort_key(by_text).cmp(&b.sort_key(by_text)));
    items
}

/// Counts the comparisons made and those that differ.
struct Tally<'e> {
    equality: &'e XmlEquality,
    compared: usize,
    different: usize,
}

impl Tally<'_> {
    fn check(&mut self, check: Check, same: bool) {
        if self.equality.exempted.contains(&check) {
            return;
        }
        self.compared += 1;
        if !same {
            self.different += 1;
        }
    }

    /// A value comparison that a placeholder in the expected text may settle.
    fn check_value(&mut self, check: Check, expected: &str, actual: Option<&str>) {
        let same = actual == Some(expected)
            || self
                .equality
                .placeholders
                .as_ref()
                .and_then(|p| p.evaluate(expected, actual))
                .unwrap_or(false);
        self.check(check, same);
    }

    /// A missing value is fine when its placeholder accepts nothing (`ignore`).
    fn accepts_missing(&self, expected: &str) -> bool {
        self.equality
            .placeholders
            .as_ref()
            .and_then(|p| p.evaluate(expected, None))
            .unwrap_or(false)
    }

    fn element(&mut self, expected: &Element, actual: &Element) {
        self.check(Check::ElementTagName, expected.name == actual.name);
        self.check(Check::NamespaceUri, expected.namespace == actual.namespace);
        if let Some(location) = &expected.schema_location {
            let same = actual.schema_location.as_ref() == Some(location);
            self.check(Check::SchemaLocation, same);
        }
        if let Some(location) = &expected.no_namespace_schema_location {
            let same = actual.no_namespace_schema_location.as_ref() == Some(location);
            self.check(Check::NoNamespaceSchemaLocation, same);
        }
        self.attributes(&expected.attributes, &actual.attributes);
        self.children(&expected.children, &actual.children);
    }

    fn attributes(&mut self, expected: &[Attribute], actual: &[Attribute]) {
        let find = |a: &Attribute| {
            actual
                .iter()
                .find(|b| b.name == a.name && b.namespace == a.namespace)
        };
        let found = expected.iter().filter(|a| find(a).is_some()).count();
        let missing_accepted = expected
            .iter()
            .filter(|a| find(a).is_none())
            .all(|a| self.accepts_missing(&a.value));
        let same_count = expected.len() == actual.len()
            || (self.equality.placeholders.is_some() && missing_accepted && found == actual.len());
        self.check(Check::ElementNumAttributes, same_count);
        for attribute in expected {
            match find(attribute) {
                Some(other) => {
                    self.check_value(Check::AttrValue, &attribute.value, Some(&other.value));
                }
                None => {
                    let accepted = self.accepts_missing(&attribute.value);
                    self.check(Check::AttrNameLookup, accepted);
                }
            }
        }
    }

    fn children(&mut self, expected: &[Item], actual: &[Item]) {
        let lone_text_missing = match (expected, actual) {
            ([Item::Text(text)], []) => self.accepts_missing(text),
            _ => false,
        };
        self.check(
            Check::ChildNodelistLength,
            expected.len() == actual.len() || lone_text_missing,
        );
        let by_text = self.equality.ignore_order_of_same_node;
        let expected = sorted(expected, by_text);
        let actual = sorted(actual, by_text);
        let pairs = self.pair(&expected, &actual);
        for (e, a) in expected.iter().zip(pairs) {
            match (e, a.map(|i| actual[i])) {
                (Item::Element(e), Some(Item::Element(a))) => self.element(e, a),
                (Item::Text(e), Some(Item::Text(a))) => {
                    self.check_value(Check::TextValue, e, Some(a));
                }
                (
                    Item::Instruction { target, data },
                    Some(Item::Instruction {
                        target: other_target,
                        data: other_data,
                    }),
                ) => {
                    self.check(Check::ProcessingInstructionTarget, target == other_target);
                    self.check(Check::ProcessingInstructionData, data == other_data);
                }
                (Item::Text(text), None) => {
                    let accepted = self.accepts_missing(text);
                    self.check(Check::ChildLookup, accepted);
                }
                (_, None) => self.check(Check::ChildLookup, false),
                (_, Some(_)) => self.check(Check::NodeType, false),
            }
        }
    }

    /// XMLUnit's default node matcher: each expected child, in order, takes the
    /// first free actual child it may be compared with. Elements pair by name
    /// and namespace (unless those comparisons are exempted), other nodes by kind.
    fn pair(&self, expected: &[&Item], actual: &[&Item]) -> Vec<Option<usize>> {
        let exempted = &self.equality.exempted;
        let comparable = |e: &Item, a: &Item| match (e, a) {
            (Item::Element(e), Item::Element(a)) => {
                (e.name == a.name || exempted.contains(&Check::ElementTagName))
                    && (e.namespace == a.namespace || exempted.contains(&Check::NamespaceUri))
            }
            (Item::Text(_), Item::Text(_)) => true,
            (Item::Instruction { .. }, Item::Instruction { .. }) => true,
            _ => false,
        };
        let mut taken = vec![false; actual.len()];
        expected
            .iter()
            .map(|e| {
                let found = (0..actual.len()).find(|&i| !taken[i] && comparable(e, actual[i]));
                if let Some(i) = found {
                    taken[i] = true;
                }
                found
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
