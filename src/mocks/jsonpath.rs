//! JSONPath as WireMock users write it (Jayway's dialect), evaluated by an
//! RFC 9535 engine (`serde_json_path`).
//!
//! The two dialects agree on most of what stubs use: names, indices,
//! wildcards, slices, unions, recursive descent, and filters, which RFC 9535
//! also accepts in Jayway's parenthesised form (`[?(@.qty > 2)]`). Where
//! they differ, Jayway's meaning is kept:
//! - a filter on an object tests the object itself (`$.team[?(@.name ==
//!   'red')]` selects `team`); RFC 9535 would test its members;
//! - `.length()` at the end is the length of the array, object or string;
//! - a dotted name may hold any character but `.` and `[` (`$.x-request-id`).
//!
//! So a path is cut into its segments, each of which the engine evaluates on
//! the nodes the previous one selected. Inside a filter, `$` is the node the
//! filter runs on rather than the document (filters comparing with the root
//! are rare in stubs).

use std::borrow::Cow;

use serde_json::Value;

#[derive(Debug, Clone)]
enum Segment {
    /// One RFC 9535 segment, as the query `$<segment>`.
    Query(serde_json_path::JsonPath),
    /// A filter (`[?...]`): on an array, its matching elements; on an object,
    /// the object itself when it matches (Jayway).
    Filter(serde_json_path::JsonPath),
    /// `.length()`.
    Length,
}

/// A parsed JSONPath expression.
#[derive(Debug, Clone)]
pub struct JsonPath {
    segments: Vec<Segment>,
    /// Selects at most one node (no wildcard, filter, slice, union or
    /// descent): rendered as that value rather than as a list.
    definite: bool,
    text: String,
}

impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let invalid = |why: String| Err(format!("JSONPath `{text}`: {why}"));
        let Some(rest) = text.trim().strip_prefix('$') else {
            return invalid("must start with $".into());
        };
        let pieces = match split(rest) {
            Ok(pieces) => pieces,
            Err(why) => return invalid(why),
        };
        let mut segments = Vec::with_capacity(pieces.len());
        let mut definite = true;
        for (i, piece) in pieces.iter().enumerate() {
            if piece == ".length()" {
                if i + 1 != pieces.len() {
                    return invalid("`.length()` can only come last".into());
                }
                segments.push(Segment::Length);
                continue;
            }
            let rfc = rfc_segment(piece);
            definite &= is_definite(&rfc);
            let query = match serde_json_path::JsonPath::parse(&format!("${rfc}")) {
                Ok(query) => query,
                Err(e) => return invalid(format!("`{piece}`: {e}")),
            };
            segments.push(if rfc.starts_with("[?") {
                Segment::Filter(query)
            } else {
                Segment::Query(query)
            });
        }
        Ok(JsonPath {
            segments,
            definite,
            text: text.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Selects at most one node: its value is that node's, not a list.
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// Every value the expression selects (empty: nothing matched).
    pub fn select<'v>(&self, root: &'v Value) -> Vec<Cow<'v, Value>> {
        let mut current: Vec<Cow<'v, Value>> = vec![Cow::Borrowed(root)];
        for segment in &self.segments {
            let mut next = Vec::new();
            for node in current {
                // Only `.length()` makes an owned value, and it comes last.
                if let Cow::Borrowed(node) = node {
                    select_from(segment, node, &mut next);
                }
            }
            current = next;
        }
        current
    }

    /// Where each selected node is in `root`, as steps down from it, in
    /// the order selected (what a template's `jsonRemove` or `jsonSort`
    /// changes). `.length()` makes a value that is nowhere in the document:
    /// it locates nothing.
    pub fn locate(&self, root: &Value) -> Vec<Vec<Step>> {
        let mut current: Vec<(Vec<Step>, &Value)> = vec![(Vec::new(), root)];
        for segment in &self.segments {
            let mut next = Vec::new();
            for (at, node) in current {
                match segment {
                    Segment::Filter(filter) if node.is_object() => {
                        if object_passes(filter, node) {
                            next.push((at, node));
                        }
                    }
                    Segment::Query(query) | Segment::Filter(query) => {
                        for located in query.query_located(node) {
                            let mut steps = at.clone();
                            steps.extend(located.location().iter().map(Step::from));
                            next.push((steps, located.node()));
                        }
                    }
                    Segment::Length => {}
                }
            }
            current = next;
        }
        current.into_iter().map(|(at, _)| at).collect()
    }

    /// The selection as text: a string as itself, anything else as JSON; an
    /// indefinite path's selection as a JSON array. Nothing selected: `None`.
    pub fn render(&self, root: &Value) -> Option<String> {
        let selected = self.select(root);
        match selected.as_slice() {
            [] => None,
            [one] if self.definite => Some(value_text(one)),
            many => {
                Some(Value::Array(many.iter().map(|v| v.as_ref().clone()).collect()).to_string())
            }
        }
    }
}

fn select_from<'v>(segment: &Segment, node: &'v Value, out: &mut Vec<Cow<'v, Value>>) {
    match segment {
        Segment::Query(query) => out.extend(query.query(node).all().into_iter().map(Cow::Borrowed)),
        Segment::Filter(filter) if node.is_object() => {
            if object_passes(filter, node) {
                out.push(Cow::Borrowed(node));
            }
        }
        Segment::Filter(filter) => {
            out.extend(filter.query(node).all().into_iter().map(Cow::Borrowed))
        }
        Segment::Length => {
            let length = match node {
                Value::Array(items) => items.len(),
                Value::Object(members) => members.len(),
                Value::String(text) => text.chars().count(),
                _ => return,
            };
            out.push(Cow::Owned(Value::from(length)));
        }
    }
}

/// Jayway tests a filter on an object against the object itself: the
/// filter runs on a list of it.
fn object_passes(filter: &serde_json_path::JsonPath, object: &Value) -> bool {
    let wrapped = Value::Array(vec![object.clone()]);
    !filter.query(&wrapped).all().is_empty()
}

/// One step down a JSON document: a member by name, or an item by index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Name(String),
    Index(usize),
}

impl From<&serde_json_path::PathElement<'_>> for Step {
    fn from(element: &serde_json_path::PathElement<'_>) -> Step {
        match element {
            serde_json_path::PathElement::Name(name) => Step::Name((*name).to_owned()),
            serde_json_path::PathElement::Index(index) => Step::Index(*index),
        }
    }
}

/// Cuts what follows `$` into segments: `.name`, `..name`, `.*`, `..*`,
/// `[...]` and `..[...]` (brackets may nest and hold quoted text).
fn split(path: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = path.chars().collect();
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        match chars[i] {
            '.' => {
                i += 1;
                if chars.get(i) == Some(&'.') {
                    i += 1;
                }
                if chars.get(i) == Some(&'[') {
                    i = bracket_end(&chars, i)?;
                } else {
                    let name_start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    if i == name_start {
                        return Err("a name is missing after `.`".into());
                    }
                }
            }
            '[' => i = bracket_end(&chars, i)?,
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            other => return Err(format!("unexpected `{other}`")),
        }
        pieces.push(chars[start..i].iter().collect());
    }
    Ok(pieces)
}

/// The index just past the `]` that closes the `[` at `open`: quoted text
/// may hold brackets; failing that (a quote inside a quoted name, as in
/// `['it's']`), the first `]`.
fn bracket_end(chars: &[char], open: usize) -> Result<usize, String> {
    bracket_end_quoted(chars, open).or_else(|e| {
        chars[open..]
            .iter()
            .position(|c| *c == ']')
            .map(|p| open + p + 1)
            .ok_or(e)
    })
}

fn bracket_end_quoted(chars: &[char], open: usize) -> Result<usize, String> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut i = open;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(_) if c == '\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(i + 1);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    Err("a `[` is not closed".into())
}

/// A segment in RFC 9535's syntax. A dotted name becomes a quoted one, so
/// that Jayway's names (`.x-request-id`) parse; a bracket RFC 9535 does not
/// read but that holds one quoted name (`['it's']`) or a padded index
/// (`[007]`) is read as that name or index, as Jayway reads it.
fn rfc_segment(piece: &str) -> String {
    let (dots, rest) = if let Some(rest) = piece.strip_prefix("..") {
        ("..", rest)
    } else if let Some(rest) = piece.strip_prefix('.') {
        (".", rest)
    } else {
        ("", piece)
    };
    if rest == "*" {
        return format!("{dots}*");
    }
    let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        let dots = if dots == ".." { ".." } else { "" };
        return format!("{dots}[{}]", quoted(rest));
    };
    let dots = if dots == ".." { ".." } else { "" };
    if serde_json_path::JsonPath::parse(&format!("${dots}{rest}")).is_ok() {
        return format!("{dots}{rest}");
    }
    let inner = inner.trim();
    if !inner.is_empty() && inner.len() <= 18 && inner.bytes().all(|b| b.is_ascii_digit()) {
        let index: u64 = inner.parse().unwrap_or_default();
        return format!("{dots}[{index}]");
    }
    let one_name = inner.len() >= 2
        && (inner.starts_with('\'') && inner.ends_with('\'')
            || inner.starts_with('"') && inner.ends_with('"'));
    if one_name {
        return format!("{dots}[{}]", quoted(&inner[1..inner.len() - 1]));
    }
    format!("{dots}{rest}")
}

/// A name as an RFC 9535 string literal.
fn quoted(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('\'');
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Whether a segment selects at most one node (Jayway's "definite" path).
fn is_definite(rfc: &str) -> bool {
    if rfc.starts_with("..") || rfc == ".*" || rfc.starts_with("[?") {
        return false;
    }
    let Some(inner) = rfc.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return true;
    };
    let inner = inner.trim();
    let quoted = inner.starts_with('\'') || inner.starts_with('"');
    quoted && !inner.contains(',') || !quoted && inner.parse::<i64>().is_ok()
}

/// A JSON value as a matcher or a template sees it.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> JsonPath {
        JsonPath::parse(p).unwrap()
    }

    #[test]
    fn selects_keys_indices_and_wildcards() {
        let doc = json!({"a": {"b": [10, {"c": "x"}]}, "d": 1});
        assert_eq!(path("$.a.b[0]").render(&doc).as_deref(), Some("10"));
        assert_eq!(path("$['a'].b[1].c").render(&doc).as_deref(), Some("x"));
        assert_eq!(path("$.a.b[*]").select(&doc).len(), 2);
        assert_eq!(path("$.missing").render(&doc), None);
        assert_eq!(path("$").select(&doc).len(), 1);
        assert_eq!(path("$.a.b[-1].c").render(&doc).as_deref(), Some("x"));
    }

    #[test]
    fn filters_descent_slices_and_unions() {
        let doc = json!({"items": [{"id": 1, "qty": 1}, {"id": 2, "qty": 5}, {"id": 3, "qty": 9}]});
        assert_eq!(
            path("$.items[?(@.qty > 2)].id").render(&doc).as_deref(),
            Some("[2,3]")
        );
        assert_eq!(
            path("$.items[?@.qty > 2 && @.qty < 9].id")
                .render(&doc)
                .as_deref(),
            Some("[2]")
        );
        assert_eq!(path("$..id").select(&doc).len(), 3);
        assert_eq!(
            path("$.items[0:2].id").render(&doc).as_deref(),
            Some("[1,2]")
        );
        assert_eq!(
            path("$.items[0,2].id").render(&doc).as_deref(),
            Some("[1,3]")
        );
        assert!(path("$.items[?(@.qty > 100)]").select(&doc).is_empty());
    }

    #[test]
    fn jayway_forms_keep_their_meaning() {
        let doc = json!({"team": {"name": "red"}, "tags": ["a", "b"], "x-id": "q", "s": "hello"});
        // A filter on an object tests the object itself.
        assert_eq!(path("$.team[?(@.name == 'red')]").select(&doc).len(), 1);
        assert!(path("$.team[?(@.name == 'blue')]").select(&doc).is_empty());
        assert_eq!(path("$.tags.length()").render(&doc).as_deref(), Some("2"));
        assert_eq!(path("$.s.length()").render(&doc).as_deref(), Some("5"));
        assert_eq!(path("$.x-id").render(&doc).as_deref(), Some("q"));
    }

    #[test]
    fn names_and_indices_rfc_9535_would_refuse_are_read_as_jayway_reads_them() {
        let doc = json!({"it's": 1, "a\u{1}b": 2, "l": [0, 1, 2, 3, 4, 5, 6, 7]});
        assert_eq!(path("$['it's']").render(&doc).as_deref(), Some("1"));
        assert_eq!(path("$['a\u{1}b']").render(&doc).as_deref(), Some("2"));
        assert_eq!(path("$.a\u{1}b").render(&doc).as_deref(), Some("2"));
        assert_eq!(path("$.l[007]").render(&doc).as_deref(), Some("7"));
        assert_eq!(path("$.l[ 2 ]").render(&doc).as_deref(), Some("2"));
    }

    #[test]
    fn locates_what_it_selects() {
        let doc = json!({"items": [{"id": 1}, {"id": 2}], "team": {"name": "red"}});
        assert_eq!(
            path("$.items[?(@.id > 1)].id").locate(&doc),
            vec![vec![
                Step::Name("items".into()),
                Step::Index(1),
                Step::Name("id".into())
            ]]
        );
        assert_eq!(
            path("$.team[?(@.name == 'red')]").locate(&doc),
            vec![vec![Step::Name("team".into())]]
        );
        assert_eq!(path("$").locate(&doc), vec![Vec::<Step>::new()]);
        assert!(path("$.items.length()").locate(&doc).is_empty());
    }

    #[test]
    fn refuses_what_does_not_parse() {
        for bad in ["a.b", "$.a[", "$.a[?(@.x >)]", "$.", "$.length().a", "$ a"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }
}
