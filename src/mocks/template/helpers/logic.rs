//! Handlebars.java's conditional helpers as WireMock registers them, and
//! WireMock's `contains` and `matches`: each a value inline
//! (`{{eq a b}}` is `true`), a condition as a block
//! (`{{#eq a b}}yes{{else}}no{{/eq}}`).

use std::cmp::Ordering;

use handlebars::JsonTruthy;
use serde_json::Value;

use super::super::model::java_text;
use super::{Args, Computed, HelperFn, Kind};

pub(super) const HELPERS: &[(&str, HelperFn, Kind)] = &[
    ("eq", eq, Kind::Condition { inverse: true }),
    ("neq", neq, Kind::Condition { inverse: true }),
    ("gt", gt, Kind::Condition { inverse: true }),
    ("gte", gte, Kind::Condition { inverse: true }),
    ("lt", lt, Kind::Condition { inverse: true }),
    ("lte", lte, Kind::Condition { inverse: true }),
    ("and", and, Kind::Condition { inverse: true }),
    ("or", or, Kind::Condition { inverse: true }),
    ("not", not, Kind::Condition { inverse: true }),
    // WireMock's own: a block that does not hold renders nothing.
    ("contains", contains, Kind::Condition { inverse: false }),
    ("matches", matches, Kind::Condition { inverse: false }),
];

/// Java's `equals`: numbers by value, anything else only equal to the
/// same type (`'1'` is not `1`, and a query parameter's list is not text).
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.unwrap_or(&Value::Null), b.unwrap_or(&Value::Null)) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (x, y) => x == y,
    }
}

/// Java's `compareTo`: numbers by value, text by its characters.
fn compare(args: &Args<'_, '_>) -> Result<Ordering, String> {
    match (args.value(0), args.value(1)) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .zip(y.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y))
            .ok_or_else(|| "numbers that do not compare".to_owned()),
        (Some(Value::String(x)), Some(Value::String(y))) => Ok(x.cmp(y)),
        (x, y) => Err(format!(
            "cannot compare {} with {}",
            x.map(java_text).unwrap_or_default(),
            y.map(java_text).unwrap_or_default()
        )),
    }
}

fn eq(args: &Args<'_, '_>) -> Computed {
    Ok(Value::Bool(same(args.raw(0), args.raw(1))).into())
}

fn neq(args: &Args<'_, '_>) -> Computed {
    Ok(Value::Bool(!same(args.raw(0), args.raw(1))).into())
}

fn gt(args: &Args<'_, '_>) -> Computed {
    Ok(Value::Bool(compare(args)? == Ordering::Greater).into())
}

fn gte(args: &Args<'_, '_>) -> Computed {
    Ok(Value::Bool(compare(args)? != Ordering::Less).into())
}

fn lt(args: &Args<'_, '_>) -> Computed {
    Ok(Value::Bool(compare(args)? == Ordering::Less).into())
}

fn lte(args: &Args<'_, '_>) -> Computed {
    Ok(Value::Bool(compare(args)? != Ordering::Greater).into())
}

fn truthy(args: &Args<'_, '_>, i: usize) -> bool {
    args.raw(i).is_some_and(|v| v.is_truthy(false))
}

fn and(args: &Args<'_, '_>) -> Computed {
    Ok(Value::Bool(args.len() > 0 && (0..args.len()).all(|i| truthy(args, i))).into())
}

fn or(args: &Args<'_, '_>) -> Computed {
    Ok(Value::Bool((0..args.len()).any(|i| truthy(args, i))).into())
}

fn not(args: &Args<'_, '_>) -> Computed {
    Ok(Value::Bool(!truthy(args, 0)).into())
}

/// `{{contains text part}}`, or whether a list holds a value.
fn contains(args: &Args<'_, '_>) -> Computed {
    let (Some(haystack), Some(needle)) = (args.raw(0), args.text(1)) else {
        return Ok(Value::Bool(false).into());
    };
    let found = match haystack {
        Value::Array(items) => items.iter().any(|item| java_text(item) == needle),
        _ => args.text(0).unwrap_or_default().contains(&needle),
    };
    Ok(Value::Bool(found).into())
}

/// `{{matches text 'regex'}}`: whether the whole text matches.
fn matches(args: &Args<'_, '_>) -> Computed {
    let (Some(text), Some(pattern)) = (args.text(0), args.text(1)) else {
        return Err(
            "You must specify the string to be matched and the regular expression"
                .to_owned()
                .into(),
        );
    };
    let regex = regex::Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|_| format!("Invalid regex string {pattern}"))?;
    Ok(Value::Bool(regex.is_match(&text)).into())
}
