//! WireMock's helpers that rewrite JSON text (`formatJson`, `jsonMerge`,
//! `jsonRemove`, `jsonArrayAdd`, `jsonSort`). Each reads JSON text and
//! writes JSON text, keeping members in the order written ([`Json`]); each
//! error is WireMock's message. `formatXml` shares the formatting options.

use std::cmp::Ordering;

use serde_json::Value;

use super::super::json_doc::{Json, JsonError};
use super::super::limits;
use super::super::model::java_text;
use super::{Args, Computed, Failure, HelperFn, Kind};
use crate::mocks::jsonpath::JsonPath;

pub(super) const HELPERS: &[(&str, HelperFn, Kind)] = &[
    ("formatJson", format_json, Kind::Content),
    ("jsonMerge", json_merge, Kind::Content),
    ("jsonRemove", json_remove, Kind::Value),
    ("jsonArrayAdd", json_array_add, Kind::Content),
    ("jsonSort", json_sort, Kind::Value),
];

/// JSON text read as a document; the cost grows with the text, so it is
/// counted.
fn read(text: &str) -> Result<Result<Json, JsonError>, Failure> {
    limits::steps(text.len() / 256)?;
    Ok(Json::parse(text))
}

/// A document written compact (WireMock writes these helpers' output so),
/// counted against the output budget before it is used: a loop that feeds
/// one's output back to it grows it.
fn written(doc: &Json) -> Computed {
    let text = doc.compact(limits::MAX_OUTPUT_BYTES)?;
    limits::output(text.len())?;
    Ok(Value::String(text).into())
}

impl From<super::super::json_doc::TooLarge> for Failure {
    fn from(e: super::super::json_doc::TooLarge) -> Failure {
        limits::Exceeded(e.to_string()).into()
    }
}

/// `pretty` (the default) or `compact`, as WireMock's formatting helpers
/// read `format=`.
pub(super) fn format_option(args: &Args<'_, '_>, helper: &str) -> Result<bool, Failure> {
    match args.hash("format").map(java_text).as_deref() {
        None | Some("pretty") => Ok(false),
        Some("compact") => Ok(true),
        Some(other) => {
            Err(format!("{helper}: format [{other}] should be one of [pretty, compact]").into())
        }
    }
}

/// What a formatting helper formats: its block, or a text parameter;
/// trimmed, and not empty.
pub(super) fn format_input(
    args: &Args<'_, '_>,
    helper: &str,
    data: &str,
) -> Result<String, Failure> {
    let text = match (&args.content, args.value(0)) {
        (Some(block), _) => block.trim().to_owned(),
        (None, Some(Value::String(text))) => text.trim().to_owned(),
        _ => String::new(),
    };
    if text.is_empty() {
        return Err(format!(
            "{helper} should take a block of {data} to format or a single parameter of type String"
        )
        .into());
    }
    Ok(text)
}

/// `{{formatJson text}}` or `{{#formatJson}}...{{/formatJson}}`: pretty, or
/// `format='compact'`.
fn format_json(args: &Args<'_, '_>) -> Computed {
    let text = format_input(args, "formatJson", "JSON")?;
    let compact = format_option(args, "formatJson")?;
    let doc = read(&text)?.map_err(|_| {
        "There was an error parsing the json. Please make sure the json is valid".to_owned()
    })?;
    let formatted = if compact {
        doc.compact(limits::MAX_OUTPUT_BYTES)?
    } else {
        doc.pretty(limits::MAX_OUTPUT_BYTES)?
    };
    limits::output(formatted.len())?;
    Ok(Value::String(formatted).into())
}

/// A parameter that must be JSON text, as WireMock's JSON helpers require
/// (a parsed object or a number is not).
fn json_text(value: Option<&Value>) -> Option<&str> {
    match value {
        Some(Value::String(text)) => Some(text),
        _ => None,
    }
}

/// An object to merge, read or refused in WireMock's words: `what` names
/// it ("Base JSON", "JSON to merge").
fn object(text: &str, what: &str) -> Result<Vec<(String, Json)>, Failure> {
    match read(text)? {
        Ok(Json::Object(members)) => Ok(members),
        Ok(_) => Err(format!("{what} is not a JSON object ('{text}')").into()),
        Err(_) => Err(format!("{what} is not valid JSON ('{text}')").into()),
    }
}

/// `{{jsonMerge base other}}` (or `other` as the block): `other`'s members
/// over `base`'s, objects merged all the way down, anything else replaced;
/// `removeNulls=true` removes the members `other` sets to null.
fn json_merge(args: &Args<'_, '_>) -> Computed {
    let base = json_text(args.value(0))
        .ok_or_else(|| "Base JSON parameter must be a string".to_owned())?;
    let mut base = object(base, "Base JSON")?;
    let other = match &args.content {
        Some(block) => Some(block.as_str()),
        None => json_text(args.value(1)),
    }
    .ok_or_else(|| "JSON to merge must be a string".to_owned())?;
    let other = object(other, "JSON to merge")?;
    merge(&mut base, other, args.hash_true("removeNulls"));
    written(&Json::Object(base))
}

fn merge(base: &mut Vec<(String, Json)>, other: Vec<(String, Json)>, remove_nulls: bool) {
    for (name, value) in other {
        let existing = base.iter().position(|(n, _)| *n == name);
        match (existing, value) {
            (Some(i), Json::Object(inner)) if matches!(base[i].1, Json::Object(_)) => {
                if let Json::Object(base_inner) = &mut base[i].1 {
                    merge(base_inner, inner, remove_nulls);
                }
            }
            (Some(i), value) if remove_nulls && value.is_null() => {
                base.remove(i);
            }
            (None, value) if remove_nulls && value.is_null() => {}
            (Some(i), value) => base[i].1 = value,
            (None, value) => base.push((name, value)),
        }
    }
}

/// A JSONPath parameter, as `what` (WireMock's words for it) is refused
/// when it is not one.
fn json_path(text: &str, what: &str) -> Result<JsonPath, Failure> {
    if text.trim().is_empty() {
        return Err(format!("{what} is not a valid JSONPath expression ('{text}')").into());
    }
    JsonPath::parse(text)
        .map_err(|_| format!("{what} is not a valid JSONPath expression ('{text}')").into())
}

/// `{{jsonRemove json '$.path'}}`: the JSON without what the path selects
/// (members, or items of a list); as it was when it selects nothing.
fn json_remove(args: &Args<'_, '_>) -> Computed {
    let input = json_text(args.value(0)).ok_or_else(|| "Input JSON must be a string".to_owned())?;
    if input == "null" {
        return Ok(Value::String(input.to_owned()).into());
    }
    if args.len() != 2 {
        return Err("A single JSONPath expression parameter must be supplied"
            .to_owned()
            .into());
    }
    let path_text =
        json_text(args.value(1)).ok_or_else(|| "JSONPath parameter must be a string".to_owned())?;
    let mut doc =
        read(input)?.map_err(|_| format!("Input JSON string is not valid JSON ('{input}')"))?;
    let path = json_path(path_text, "JSONPath parameter")?;
    let mut found = path.locate(&doc.to_value());
    if found.is_empty() {
        return Ok(Value::String(input.to_owned()).into());
    }
    if found.iter().any(Vec::is_empty) {
        return Err(format!(
            "Delete operation cannot be applied to JSONPath expression ('{path_text}')"
        )
        .into());
    }
    // The last first, so removing an item leaves the others' indices be.
    found.sort_unstable_by(|a, b| b.cmp(a));
    found.dedup();
    for steps in &found {
        doc.remove(steps);
    }
    written(&doc)
}

/// `{{jsonArrayAdd list item}}` (or the item as the block): the JSON list
/// with the item added; `jsonPath=` a list inside the JSON instead,
/// `flatten=true` adds a list's items, `maxItems=` drops the first items
/// past that many.
fn json_array_add(args: &Args<'_, '_>) -> Computed {
    let input = json_text(args.value(0)).ok_or_else(|| "Base JSON must be a string".to_owned())?;
    let mut doc = read(input)?.map_err(|_| format!("Base JSON is not valid JSON ('{input}')"))?;
    let path_text = match args.hash("jsonPath") {
        None => None,
        Some(Value::String(text)) => Some(text.as_str()),
        Some(_) => return Err("jsonPath option must be a string".to_owned().into()),
    };
    let not_a_list = || -> Failure {
        match path_text {
            None => format!("Target JSON is not a JSON array ('{input}')").into(),
            Some(path) => {
                format!("Target JSON is not a JSON array (root: '{input}', jsonPath: '{path}')")
                    .into()
            }
        }
    };
    let target = match path_text {
        None => Some(Vec::new()),
        Some(text) => {
            let path = json_path(text, "jsonPath option")?;
            if !path.is_definite() {
                // WireMock adds to a new list of what the path selects,
                // which is not in the document: the document is unchanged.
                return written(&doc);
            }
            path.locate(&doc.to_value()).into_iter().next()
        }
    };
    let list = match target.and_then(|steps| doc.at_mut(&steps)) {
        Some(Json::Array(items)) => items,
        _ => return Err(not_a_list()),
    };
    let item = match &args.content {
        Some(block) => Some(block.as_str()),
        None => json_text(args.value(1)),
    }
    .ok_or_else(|| "Item-to-add JSON must be a string".to_owned())?;
    let item = read(item)?.map_err(|_| format!("Item-to-add JSON is not valid JSON ('{item}')"))?;
    let flatten = match args.hash("flatten") {
        None => false,
        Some(Value::Bool(flatten)) => *flatten,
        Some(_) => return Err("flatten option must be a boolean".to_owned().into()),
    };
    match item {
        Json::Array(items) if flatten => list.extend(items),
        item => list.push(item),
    }
    if let Some(max) = args.hash("maxItems") {
        let max = max
            .as_i64()
            .ok_or_else(|| "maxItems option must be an integer".to_owned())?;
        let max = usize::try_from(max)
            .map_err(|_| "maxItems option integer must be positive".to_owned())?;
        let excess = list.len().saturating_sub(max);
        list.drain(..excess);
    }
    written(&doc)
}

/// `{{jsonSort json '$.items[*].name'}}` (WireMock 4): the list before
/// `[*]` sorted by what the rest of the path selects in each item, which
/// must all be numbers, all text or all booleans (a missing one is null);
/// `order='desc'`, `nulls='last'` (nulls come first by default, last when
/// descending). Stable: equal items keep their order.
fn json_sort(args: &Args<'_, '_>) -> Computed {
    let input = json_text(args.value(0)).ok_or_else(|| "Input JSON must be a string".to_owned())?;
    if input == "null" {
        return Err("Cannot sort a JSON null value - input must be a JSON array"
            .to_owned()
            .into());
    }
    if args.len() != 2 {
        return Err("A single JSONPath expression parameter must be supplied"
            .to_owned()
            .into());
    }
    let path_text =
        json_text(args.value(1)).ok_or_else(|| "JSONPath parameter must be a string".to_owned())?;
    let descending = match args.hash("order") {
        None => false,
        Some(Value::String(order)) if order == "asc" => false,
        Some(Value::String(order)) if order == "desc" => true,
        Some(Value::String(_)) => {
            return Err("order parameter must be 'asc' or 'desc'".to_owned().into());
        }
        Some(_) => return Err("order parameter must be a string".to_owned().into()),
    };
    let nulls_last = match args.hash("nulls") {
        None => false,
        Some(Value::String(nulls)) if nulls == "first" => false,
        Some(Value::String(nulls)) if nulls == "last" => true,
        Some(Value::String(_)) => {
            return Err("nulls parameter must be 'first' or 'last'"
                .to_owned()
                .into());
        }
        Some(_) => return Err("nulls parameter must be a string".to_owned().into()),
    };
    let Some((list_path, field_path)) = path_text.split_once("[*]") else {
        return Err("JSONPath must include [*] to specify array location (e.g., '$[*].name' or '$.users[*].name')".to_owned().into());
    };
    let list_path = if list_path.is_empty() { "$" } else { list_path };
    let mut doc =
        read(input)?.map_err(|_| format!("Input JSON string is not valid JSON ('{input}')"))?;
    let invalid = || format!("Invalid JSONPath expression ('{path_text}')");
    let field = JsonPath::parse(&format!("${field_path}")).map_err(|_| invalid())?;
    let list = JsonPath::parse(list_path).map_err(|_| invalid())?;
    let located = list.locate(&doc.to_value());
    let Some(steps) = located.first() else {
        return Err(format!("Array not found at path ('{list_path}')").into());
    };
    let items = match doc.at_mut(steps) {
        Some(Json::Array(items)) if located.len() == 1 => items,
        _ => return Err(format!("JSONPath does not reference an array ('{list_path}')").into()),
    };
    limits::steps(items.len())?;
    let keys = sort_keys(items, &field, path_text)?;
    let mut keyed: Vec<(SortKey, Json)> = keys.into_iter().zip(items.drain(..)).collect();
    keyed.sort_by(|(a, _), (b, _)| {
        let order = compare_keys(a, b, nulls_last);
        if descending { order.reverse() } else { order }
    });
    items.extend(keyed.into_iter().map(|(_, item)| item));
    written(&doc)
}

/// What an item is sorted by.
#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Null,
    Number(f64),
    Text(String),
    Boolean(bool),
}

/// Each item's sort key: what `field` selects in it, all of one type.
fn sort_keys(items: &[Json], field: &JsonPath, path_text: &str) -> Result<Vec<SortKey>, Failure> {
    let mut keys = Vec::with_capacity(items.len());
    let mut selected_count = 0;
    for item in items {
        let value = item.to_value();
        let selected = field.select(&value);
        selected_count += selected.len().max(1);
        keys.push(match selected.first().map(|v| v.as_ref()) {
            None | Some(Value::Null) => SortKey::Null,
            Some(Value::Number(n)) => SortKey::Number(n.as_f64().unwrap_or_default()),
            Some(Value::String(s)) => SortKey::Text(s.clone()),
            Some(Value::Bool(b)) => SortKey::Boolean(*b),
            Some(_) => {
                return Err("All sort field values must be of the same comparable type (Number, String, or Boolean)".to_owned().into());
            }
        });
    }
    if selected_count != items.len() {
        let wildcards = path_text.matches("[*]").count();
        let mut message = format!(
            "Number of sort values ({selected_count}) does not match array size ({})",
            items.len()
        );
        if wildcards > 1 {
            message.push_str(&format!(
                ". JSONPath contains {wildcards} wildcards [*] but only single-level array sorting is supported"
            ));
        }
        return Err(message.into());
    }
    let kinds: Vec<std::mem::Discriminant<SortKey>> = keys
        .iter()
        .filter(|k| **k != SortKey::Null)
        .map(std::mem::discriminant)
        .collect();
    if kinds.windows(2).any(|pair| pair[0] != pair[1]) {
        return Err("All sort field values must be of the same comparable type (Number, String, or Boolean)".to_owned().into());
    }
    Ok(keys)
}

/// Java's comparators: numbers by value, text by its characters, false
/// before true; nulls first, or last.
fn compare_keys(a: &SortKey, b: &SortKey, nulls_last: bool) -> Ordering {
    let null_first = if nulls_last {
        Ordering::Greater
    } else {
        Ordering::Less
    };
    match (a, b) {
        (SortKey::Null, SortKey::Null) => Ordering::Equal,
        (SortKey::Null, _) => null_first,
        (_, SortKey::Null) => null_first.reverse(),
        (SortKey::Number(x), SortKey::Number(y)) => x.total_cmp(y),
        (SortKey::Text(x), SortKey::Text(y)) => x.cmp(y),
        (SortKey::Boolean(x), SortKey::Boolean(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}
