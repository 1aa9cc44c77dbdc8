//! WireMock's XML helpers: `xPath`, `soapXPath` and `formatXml`, over the
//! XML matchers' hardened parser and XPath engine (`matcher::xpath`): a
//! document declaring entities is refused, nothing external is read, and
//! expressions are bounded as `matchesXPath`'s are.

use serde_json::{Map, Value};

use super::super::limits;
use super::super::model::XML_NODE;
use super::json::{format_input, format_option};
use super::{Args, Computed, Failure, HelperFn, Kind};
use crate::mocks::matcher::{
    NodeView, Selected, TemplateXPathError, format_xml as print_xml, java_number, template_xpath,
};

pub(super) const HELPERS: &[(&str, HelperFn, Kind)] = &[
    ("xPath", xpath, Kind::Value),
    ("soapXPath", soap_xpath, Kind::Value),
    ("formatXml", format_xml, Kind::Content),
];

/// `{{xPath request.body '/a/b/text()'}}`: the text of what the expression
/// selects (an element prints as its markup), or its value (a number as
/// Java prints it); nothing when it selects nothing. Nodes are a list
/// (`{{#each (xPath ...)}}`, each with `name`, `text` and `attributes`)
/// that prints as its first node, as WireMock's does.
fn xpath(args: &Args<'_, '_>) -> Computed {
    evaluate(args, "")
}

/// `{{soapXPath request.body '/a/b/text()'}}`: an expression inside a SOAP
/// envelope's body (`/Envelope/Body/` goes before it; names match whatever
/// their namespace, as everywhere in templates).
fn soap_xpath(args: &Args<'_, '_>) -> Computed {
    evaluate(args, "/Envelope/Body/")
}

fn evaluate(args: &Args<'_, '_>, prefix: &str) -> Computed {
    let xml = match args.value(0) {
        None | Some(Value::Null) => return Ok(Value::String(String::new()).into()),
        Some(_) => args.text(0).unwrap_or_default(),
    };
    let Some(expression) = args.text(1) else {
        return Err("The XPath expression cannot be empty".to_owned().into());
    };
    // Parsing and copying the document is the cost that grows with it.
    limits::steps(xml.len() / 256)?;
    let selected = match template_xpath(
        &xml,
        &format!("{prefix}{expression}"),
        limits::MAX_OUTPUT_BYTES,
    ) {
        Ok(selected) => selected,
        Err(TemplateXPathError::NotXml) => return Err(format!("{xml} is not valid XML").into()),
        Err(TemplateXPathError::Expression) => {
            return Err(format!("{expression} is not a valid XPath expression").into());
        }
        Err(TemplateXPathError::TooLarge(e)) => return Err(limits::Exceeded(e.to_string()).into()),
    };
    Ok(match selected {
        Selected::Nodes(nodes) if nodes.is_empty() => Value::String(String::new()),
        Selected::Nodes(nodes) => {
            limits::steps(nodes.len())?;
            let size = nodes.iter().map(|n| n.printed.len() + n.text.len()).sum();
            limits::output(size)?;
            Value::Array(nodes.into_iter().map(node_value).collect())
        }
        Selected::Number(n) => Value::String(java_number(n)),
        Selected::Boolean(b) => Value::String(b.to_string()),
        Selected::Text(text) => Value::String(text),
    }
    .into())
}

/// A node as templates see it: `name`, `text`, `attributes`, and under
/// [`XML_NODE`] how it prints.
fn node_value(node: NodeView) -> Value {
    let attributes: Map<String, Value> = node
        .attributes
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    let mut members = Map::new();
    members.insert("name".to_owned(), Value::String(node.name));
    members.insert("text".to_owned(), Value::String(node.text));
    members.insert("attributes".to_owned(), Value::Object(attributes));
    members.insert(XML_NODE.to_owned(), Value::String(node.printed));
    Value::Object(members)
}

/// `{{formatXml text}}` or `{{#formatXml}}...{{/formatXml}}`: indented by
/// two, or `format='compact'`.
fn format_xml(args: &Args<'_, '_>) -> Computed {
    let text = format_input(args, "formatXml", "XML")?;
    let compact = format_option(args, "formatXml")?;
    limits::steps(text.len() / 256)?;
    let formatted = print_xml(&text, compact, limits::MAX_OUTPUT_BYTES).map_err(|e| match e {
        TemplateXPathError::TooLarge(e) => Failure::from(limits::Exceeded(e.to_string())),
        _ => Failure::from("Input is not valid XML".to_owned()),
    })?;
    limits::output(formatted.len())?;
    Ok(Value::String(formatted).into())
}
