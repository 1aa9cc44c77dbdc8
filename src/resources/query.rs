//! json-server 0.17's list query, evaluated over a collection's documents
//! exactly as json-server evaluates it: values compared as JavaScript
//! compares them, unknown fields ignored, the count taken before the page
//! is cut. `docs/resources.md` lists where echobase answers differently.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Range;

use serde_json::Value;

use super::model::{Document, js_string, js_to_number, string_to_number};

/// What a list request asks for.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    /// Full-text search (`q`), lower-cased.
    search: Option<String>,
    filters: Vec<Filter>,
    /// `_sort` paths with `_order` (`true`: descending).
    sort: Vec<(String, bool)>,
    start: Option<String>,
    end: Option<String>,
    limit: Option<String>,
    page: Option<String>,
    /// `_cursor`: the position after which the page starts (`-1`: from the
    /// first document).
    after: Option<i64>,
    /// `_embed`: collections whose documents name this one's.
    pub embed: Vec<String>,
    /// `_expand`: documents this one names.
    pub expand: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    AtLeast,
    AtMost,
    Like,
}

#[derive(Debug, Clone)]
struct Filter {
    path: String,
    /// The parameter as given (with its `_gte` & co.), to check that some
    /// document has the field.
    key: String,
    op: Op,
    values: Vec<String>,
    /// For `_like`, one pattern per value.
    patterns: Vec<regex::Regex>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("`{key}` is not a regular expression: {reason}")]
    Like { key: String, reason: String },
    #[error(
        "`_cursor` is empty (the first page) or a cursor from a `Link: rel=\"next\"`, not `{0}`"
    )]
    Cursor(String),
    #[error("`_cursor` pages in insertion order, and does not combine with `{0}`")]
    CursorWith(&'static str),
}

/// A regular expression from a query is compiled with bounds.
const LIKE_SIZE_LIMIT: usize = 1 << 20;

/// The parameters of a query string in order, each with all its values.
pub fn parameters(raw: Option<&str>) -> Vec<(String, Vec<String>)> {
    let mut parameters: Vec<(String, Vec<String>)> = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match parameters.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(value.into_owned()),
            None => parameters.push((key.into_owned(), vec![value.into_owned()])),
        }
    }
    parameters
}

impl ListQuery {
    /// Reads the query's parameters. Filters are kept for fields that no
    /// document has too; [`ListQuery::apply`] drops those, as json-server.
    pub fn parse(parameters: Vec<(String, Vec<String>)>) -> Result<ListQuery, QueryError> {
        let mut query = ListQuery::default();
        let mut sort = None;
        let mut order = None;
        for (key, mut values) in parameters {
            // json-server reads the first of repeated reserved parameters.
            let first = || values.first().cloned();
            match key.as_str() {
                "q" => query.search = first().filter(|q| !q.is_empty()).map(|q| q.to_lowercase()),
                "_start" => query.start = first(),
                "_end" => query.end = first(),
                "_limit" => query.limit = first(),
                "_sort" => sort = first(),
                "_order" => order = first(),
                "_cursor" => {
                    let cursor = first().unwrap_or_default();
                    query.after = Some(if cursor.is_empty() {
                        -1
                    } else {
                        cursor
                            .parse::<i64>()
                            .ok()
                            .filter(|position| *position >= 0)
                            .ok_or(QueryError::Cursor(cursor))?
                    });
                }
                "_embed" => query.embed = std::mem::take(&mut values),
                "_expand" => query.expand = std::mem::take(&mut values),
                // JSONP's callback and jQuery's cache buster filter nothing.
                "callback" | "_" => {}
                _ => {
                    if key == "_page" {
                        query.page = first();
                    }
                    query.filters.push(Filter::new(key, values)?);
                }
            }
        }
        if query.after.is_some() {
            let conflict = [
                ("_sort", sort.is_some()),
                ("_page", query.page.is_some()),
                ("_start", query.start.is_some()),
                ("_end", query.end.is_some()),
            ]
            .into_iter()
            .find_map(|(name, given)| given.then_some(name));
            if let Some(name) = conflict {
                return Err(QueryError::CursorWith(name));
            }
        }
        if let Some(sort) = sort {
            let orders: Vec<String> = order
                .unwrap_or_default()
                .split(',')
                .map(str::to_lowercase)
                .collect();
            query.sort = sort
                .split(',')
                .enumerate()
                .map(|(i, path)| {
                    let descending = orders.get(i).is_some_and(|o| o == "desc");
                    (path.to_owned(), descending)
                })
                .collect();
        }
        Ok(query)
    }

    /// Adds the filter a nested route implies (`/posts/1/comments`:
    /// `postId=1`), replacing one given for the same field.
    pub fn require(&mut self, field: &str, value: &str) {
        self.filters.retain(|filter| filter.key != field);
        self.filters.push(Filter {
            path: field.to_owned(),
            key: field.to_owned(),
            op: Op::Equal,
            values: vec![value.to_owned()],
            patterns: Vec::new(),
        });
    }

    /// Whether the answer carries `X-Total-Count` (json-server: when
    /// `_end`, `_limit` or `_page` is given and not empty).
    fn counts(&self) -> bool {
        [&self.end, &self.limit, &self.page]
            .iter()
            .any(|p| p.as_deref().is_some_and(|p| !p.is_empty()))
    }

    /// Filters, sorts and cuts `documents`.
    pub fn apply<'a>(&self, documents: &'a [Document]) -> Listed<'a> {
        let accepts = self.matcher(documents);
        let mut matching: Vec<&Document> = documents
            .iter()
            .filter(|document| accepts(document))
            .collect();
        if !self.sort.is_empty() {
            matching = self.sorted(matching);
        }
        let window = self.window(matching.len());
        matching.truncate(window.range.end);
        matching.drain(..window.range.start);
        Listed {
            items: matching,
            total: window.total,
            page: window.page,
        }
    }

    /// `_cursor`'s position (`-1`: the first page), when given.
    pub fn after(&self) -> Option<i64> {
        self.after
    }

    /// A cursor's page size: `_limit`, 10 by default.
    pub fn cursor_limit(&self) -> usize {
        self.limit
            .as_deref()
            .and_then(parse_int)
            .and_then(|limit| usize::try_from(limit).ok())
            .filter(|limit| *limit > 0)
            .unwrap_or(10)
    }

    /// A cursor's page: the first [`ListQuery::cursor_limit`] matching
    /// documents positioned after `after` (`positions`: each document's, in
    /// order), and the cursor of the next page if any document follows.
    pub fn after_page<'a>(
        &self,
        documents: &'a [Document],
        positions: &[i64],
        after: i64,
    ) -> (Vec<&'a Document>, Option<i64>) {
        let accepts = self.matcher(documents);
        let limit = self.cursor_limit();
        let start = positions.partition_point(|position| *position <= after);
        let mut items = Vec::new();
        let mut last = None;
        for (document, position) in documents.iter().zip(positions).skip(start) {
            if !accepts(document) {
                continue;
            }
            if items.len() == limit {
                return (items, last);
            }
            items.push(document);
            last = Some(*position);
        }
        (items, None)
    }

    /// Whether a document meets the query's search and filters, those on
    /// a field no document has left out (json-server ignores them).
    fn matcher<'q>(&'q self, documents: &[Document]) -> impl Fn(&Document) -> bool + 'q {
        let filters: Vec<&Filter> = self
            .filters
            .iter()
            .filter(|filter| filter.op != Op::Equal || has_field(documents, &filter.key))
            .collect();
        move |document: &Document| {
            self.search
                .as_deref()
                .is_none_or(|q| document.values().any(|value| deep_query(value, q)))
                && filters.iter().all(|filter| filter.accepts(document))
        }
    }

    /// The query's filters when every one is an equality (`field=value`)
    /// and nothing else reorders or searches: what a store can answer from
    /// indexes, in insertion order. Each filter is its field and the values
    /// one of which must match.
    pub fn equalities(&self) -> Option<Vec<(&str, &[String])>> {
        if self.search.is_some() || !self.sort.is_empty() {
            return None;
        }
        self.filters
            .iter()
            .map(|filter| {
                (filter.op == Op::Equal).then_some((filter.key.as_str(), &filter.values[..]))
            })
            .collect()
    }

    /// Which of `length` matching documents, in order, the answer holds,
    /// with its headers: the cut [`ListQuery::apply`] makes, for a store
    /// that counts the matches and reads only the page.
    pub fn window(&self, length: usize) -> Window {
        let total = self.counts().then_some(length);
        if let Some((number, limit)) = self.page() {
            let (range, links) = page_range(length, number, limit);
            return Window {
                range,
                total,
                page: Some(links),
            };
        }
        let start = || self.start.as_deref().and_then(parse_int).unwrap_or(0);
        let range = if let Some(end) = self.end.as_deref().filter(|e| !e.is_empty()) {
            lodash_range(length, start(), parse_int(end).unwrap_or(0))
        } else if let Some(limit) = self.limit.as_deref().filter(|l| !l.is_empty()) {
            let start = start();
            let end = parse_int(limit).map_or(0, |limit| start.saturating_add(limit));
            lodash_range(length, start, end)
        } else {
            0..length
        };
        Window {
            range,
            total,
            page: None,
        }
    }
}

impl ListQuery {
    /// `_page` and its size (`_limit`, 10 by default), as json-server reads
    /// them.
    fn page(&self) -> Option<(i64, i64)> {
        let number = parse_int(self.page.as_deref()?)
            .filter(|n| *n >= 1)
            .unwrap_or(1);
        let limit = self
            .limit
            .as_deref()
            .and_then(parse_int)
            .filter(|n| *n != 0)
            .unwrap_or(10);
        Some((number, limit))
    }

    /// `documents` in `_sort` order. Stable, as lodash's `orderBy`: equal
    /// documents keep their order. When a page is asked for, only the
    /// documents up to its end are put in order.
    fn sorted<'a>(&self, documents: Vec<&'a Document>) -> Vec<&'a Document> {
        // Each document's sort values, read once rather than per comparison.
        let mut keyed: Vec<Keyed> = documents
            .into_iter()
            .enumerate()
            .map(|(place, document)| Keyed {
                keys: self
                    .sort
                    .iter()
                    .map(|(path, _)| SortKey::of(get_path(document, path)))
                    .collect(),
                place,
                document,
            })
            .collect();
        for column in 0..self.sort.len() {
            SortKey::settle(&mut keyed, column);
        }
        // Total, with the original place deciding ties: stable.
        let order = |a: &Keyed, b: &Keyed| {
            self.sort
                .iter()
                .zip(a.keys.iter().zip(&b.keys))
                .map(|((_, descending), (a, b))| {
                    let order = a.compare(b);
                    if *descending { order.reverse() } else { order }
                })
                .find(|order| order.is_ne())
                .unwrap_or(Ordering::Equal)
                .then(a.place.cmp(&b.place))
        };
        let page_end = self
            .page()
            .filter(|(_, limit)| *limit > 0)
            .and_then(|(number, limit)| usize::try_from(number.saturating_mul(limit)).ok())
            .filter(|end| *end < keyed.len());
        match page_end {
            Some(end) => {
                keyed.select_nth_unstable_by(end, order);
                keyed[..end].sort_unstable_by(order);
            }
            None => keyed.sort_unstable_by(order),
        }
        keyed.into_iter().map(|keyed| keyed.document).collect()
    }
}

/// A document with its sort values and its place before sorting.
struct Keyed<'a> {
    keys: Vec<SortKey<'a>>,
    place: usize,
    document: &'a Document,
}

/// Which of the matching documents a list answers with, and its headers.
#[derive(Debug, PartialEq, Eq)]
pub struct Window {
    /// Places among the matching documents, in order.
    pub range: Range<usize>,
    /// `X-Total-Count`, when asked for.
    pub total: Option<usize>,
    /// The page's neighbours, when `_page` was given.
    pub page: Option<PageLinks>,
}

/// A list's answer before relations are added.
#[derive(Debug)]
pub struct Listed<'a> {
    pub items: Vec<&'a Document>,
    /// `X-Total-Count`, when asked for.
    pub total: Option<usize>,
    /// The page's neighbours, when `_page` was given.
    pub page: Option<PageLinks>,
}

/// Page numbers for the `Link` header, as json-server's `getPage`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PageLinks {
    pub current: Option<i64>,
    pub first: Option<i64>,
    pub prev: Option<i64>,
    pub next: Option<i64>,
    pub last: Option<i64>,
}

impl PageLinks {
    /// The `Link` header's value: `full_url` with `page=<current>` replaced
    /// (its first occurrence, as json-server does) by each neighbour's
    /// number. Empty when the page has no neighbours.
    pub fn header(&self, full_url: &str) -> String {
        let current = format!(
            "page={}",
            self.current
                .map_or("undefined".to_owned(), |c| c.to_string())
        );
        [
            ("first", self.first),
            ("prev", self.prev),
            ("next", self.next),
            ("last", self.last),
        ]
        .into_iter()
        .filter_map(|(rel, page)| {
            let page = page.filter(|p| *p != 0)?;
            let url = full_url.replacen(&current, &format!("page={page}"), 1);
            Some(format!("<{url}>; rel=\"{rel}\""))
        })
        .collect::<Vec<_>>()
        .join(", ")
    }
}

impl Filter {
    fn new(key: String, values: Vec<String>) -> Result<Filter, QueryError> {
        let (path, op) = [
            ("_gte", Op::AtLeast),
            ("_lte", Op::AtMost),
            ("_ne", Op::NotEqual),
            ("_like", Op::Like),
        ]
        .into_iter()
        .find_map(|(suffix, op)| Some((key.strip_suffix(suffix)?.to_owned(), op)))
        .unwrap_or_else(|| (key.clone(), Op::Equal));
        let patterns = if op == Op::Like {
            values
                .iter()
                .map(|value| {
                    regex::RegexBuilder::new(value)
                        .case_insensitive(true)
                        .size_limit(LIKE_SIZE_LIMIT)
                        .build()
                        .map_err(|error| QueryError::Like {
                            key: key.clone(),
                            reason: error.to_string(),
                        })
                })
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(Filter {
            path,
            key,
            op,
            values,
            patterns,
        })
    }

    /// One value must match, or for `_ne` every one; a document without the
    /// field (or with `null`) matches none.
    fn accepts(&self, document: &Document) -> bool {
        let Some(field) = get_path(document, &self.path).filter(|v| !v.is_null()) else {
            return false;
        };
        match self.op {
            Op::Equal => {
                let text = js_text(field);
                self.values.iter().any(|v| *v == *text)
            }
            Op::NotEqual => {
                let text = js_text(field);
                self.values.iter().all(|v| *v != *text)
            }
            Op::AtLeast => self
                .values
                .iter()
                .any(|v| compare_text(v, field).is_some_and(Ordering::is_le)),
            Op::AtMost => self
                .values
                .iter()
                .any(|v| compare_text(v, field).is_some_and(Ordering::is_ge)),
            Op::Like => {
                let text = js_text(field);
                self.patterns.iter().any(|p| p.is_match(&text))
            }
        }
    }
}

/// Whether some document has `path` (lodash's `_.has`).
fn has_field(documents: &[Document], path: &str) -> bool {
    documents.iter().any(|d| get_path(d, path).is_some())
}

/// A property by lodash path: `a.b`, `a[0].b`, or a key holding dots.
pub fn get_path<'a>(document: &'a Document, path: &str) -> Option<&'a Value> {
    if let Some(value) = field(document, path) {
        return Some(value);
    }
    let mut parts = path.split(['.', '[', ']']).filter(|part| !part.is_empty());
    let mut value = field(document, parts.next()?)?;
    for part in parts {
        value = match value {
            Value::Object(map) => field(map, part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// A property by its key. Documents have a few keys, and comparing them
/// is quicker than hashing the key (lists look up one per document).
fn field<'a>(document: &'a Document, key: &str) -> Option<&'a Value> {
    const SCANNED: usize = 8;
    if document.len() <= SCANNED {
        document.iter().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        document.get(key)
    }
}

/// json-server's `deepQuery`: a non-empty, non-zero value whose text holds `q`.
fn deep_query(value: &Value, q: &str) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|item| deep_query(item, q)),
        Value::Object(map) => map.values().any(|item| deep_query(item, q)),
        Value::Null | Value::Bool(false) => false,
        Value::String(s) if s.is_empty() => false,
        Value::Number(n) if n.as_f64() == Some(0.0) => false,
        other => js_string(other).to_lowercase().contains(q),
    }
}

/// A value's JavaScript text, built only when it is not at hand.
fn js_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        other => Cow::Owned(js_string(other)),
    }
}

/// The text a value compares as in `<`/`>`: strings, and arrays and objects
/// as their text; `None` for what compares as a number.
fn comparable_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Array(_) | Value::Object(_) => Some(Cow::Owned(js_string(value))),
        _ => None,
    }
}

/// JavaScript's `<`/`>` between a query's text and a value: text as
/// text (arrays and objects as their text), anything else as numbers; `None`
/// when they do not compare (NaN).
fn compare_text(text: &str, value: &Value) -> Option<Ordering> {
    match comparable_text(value) {
        Some(other) => Some(text.cmp(&other)),
        None => string_to_number(text)?.partial_cmp(&js_to_number(value)?),
    }
}

/// A document's value under one `_sort` path, as lodash's
/// `compareAscending` orders it: values first, then `null`, then missing.
/// Values compare as JavaScript's `<` does: text as text (arrays and
/// objects as their text), anything else as a number.
///
/// Where one field holds numbers in some documents and text in others,
/// JavaScript's comparison is not an order ("10" < "9" as text, yet "9" < 10
/// < "10" as numbers) and its result depends on the sorting algorithm. There
/// text that reads as a number compares as that number, as it does against
/// a number in JavaScript, and other text comes after the numbers: one
/// answer, the same as JavaScript's wherever JavaScript's is consistent.
#[derive(Debug)]
enum SortKey<'a> {
    Number(f64),
    Text(Cow<'a, str>),
    Null,
    Missing,
}

impl<'a> SortKey<'a> {
    fn of(value: Option<&'a Value>) -> SortKey<'a> {
        match value {
            None => SortKey::Missing,
            Some(Value::Null) => SortKey::Null,
            Some(value) => match comparable_text(value) {
                Some(text) => SortKey::Text(text),
                // Only JSON numbers and booleans are left: never NaN.
                None => SortKey::Number(js_to_number(value).unwrap_or(0.0)),
            },
        }
    }

    /// Makes one column's keys comparable with one another (see above).
    fn settle(keyed: &mut [Keyed<'a>], column: usize) {
        let any = |kind: fn(&SortKey) -> bool| keyed.iter().any(|k| kind(&k.keys[column]));
        if !(any(|k| matches!(k, SortKey::Number(_))) && any(|k| matches!(k, SortKey::Text(_)))) {
            return;
        }
        for key in keyed.iter_mut().map(|k| &mut k.keys[column]) {
            if let SortKey::Text(text) = key
                && let Some(number) = string_to_number(text)
            {
                *key = SortKey::Number(number);
            }
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortKey::Number(_) => 0,
            SortKey::Text(_) => 1,
            SortKey::Null => 2,
            SortKey::Missing => 3,
        }
    }

    fn compare(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Number(a), SortKey::Number(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            // JavaScript compares UTF-16 code units; for text within the
            // Basic Multilingual Plane that is the order of `str`.
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

/// JavaScript's `parseInt(text, 10)`: optional sign and leading digits.
pub fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim_start();
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let number: i64 = digits[..end].parse().ok()?;
    Some(sign * number)
}

/// lodash's `slice` of `length` items: negative positions count from the
/// end.
fn lodash_range(length: usize, start: i64, end: i64) -> Range<usize> {
    let length = length as i64;
    let start = if start < 0 {
        (length + start).max(0)
    } else {
        start
    };
    let end = if end > length {
        length
    } else if end < 0 {
        end + length
    } else {
        end
    };
    if start >= end {
        return 0..0;
    }
    start as usize..end as usize
}

/// `Array.prototype.slice` of `length` items, as json-server's `getPage`
/// uses it.
fn array_range(length: usize, start: i64, end: i64) -> Range<usize> {
    let length = length as i64;
    let clamp = |i: i64| {
        if i < 0 {
            (length + i).max(0)
        } else {
            i.min(length)
        }
    };
    let (start, end) = (clamp(start), clamp(end));
    if start >= end {
        return 0..0;
    }
    start as usize..end as usize
}

/// json-server's `getPage` of `length` items: the page and its neighbours.
fn page_range(length: usize, page: i64, per_page: i64) -> (Range<usize>, PageLinks) {
    let start = (page - 1).saturating_mul(per_page);
    let end = page.saturating_mul(per_page);
    let range = array_range(length, start, end);
    let mut links = PageLinks::default();
    if range.is_empty() {
        return (range, links);
    }
    let length = length as i64;
    if page > 1 {
        links.prev = Some(page - 1);
    }
    if end < length {
        links.next = Some(page + 1);
    }
    if range.len() as i64 != length {
        links.current = Some(page);
        links.first = Some(1);
        // Math.ceil(length / perPage)
        links.last = Some((length as f64 / per_page as f64).ceil() as i64);
    }
    (range, links)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Follows `_cursor` from the first page to the last over `documents`
    /// stored at `positions`: the ids of each page.
    fn cursor_pages(query: &str, positions: &[i64]) -> Vec<Vec<String>> {
        let documents = documents();
        let mut pages = Vec::new();
        let mut cursor = String::new();
        loop {
            let text = format!("{query}&_cursor={cursor}");
            let parsed = ListQuery::parse(parameters(Some(&text))).unwrap();
            let after = parsed.after().unwrap();
            let (items, next) = parsed.after_page(&documents, positions, after);
            pages.push(items.iter().map(|d| js_string(&d["id"])).collect());
            match next {
                Some(next) => cursor = next.to_string(),
                None => return pages,
            }
        }
    }

    #[test]
    fn a_cursor_pages_through_the_matches_in_insertion_order() {
        // Positions with gaps, as deletes leave them.
        let positions = [0, 3, 4, 9];
        assert_eq!(
            cursor_pages("_limit=3", &positions),
            [vec!["1", "2", "3"], vec!["4"]]
        );
        assert_eq!(
            cursor_pages("_limit=2", &positions),
            [vec!["1", "2"], vec!["3", "4"]]
        );
        assert_eq!(
            cursor_pages("views_gte=1&_limit=1", &positions),
            [vec!["1"], vec!["2"], vec!["3"]]
        );
        assert_eq!(
            cursor_pages("nothing=1", &positions),
            [vec!["1", "2", "3", "4"]]
        );
        assert_eq!(
            cursor_pages("title=none", &positions),
            [Vec::<String>::new()]
        );
        for refused in [
            "_cursor=x",
            "_cursor=-3",
            "_cursor=&_sort=id",
            "_cursor=&_page=2",
            "_cursor=1&_start=1",
        ] {
            assert!(
                ListQuery::parse(parameters(Some(refused))).is_err(),
                "{refused}"
            );
        }
    }

    fn documents() -> Vec<Document> {
        let posts = json!([
            {"id": 1, "title": "Hello", "views": 100, "author": {"name": "typicode"}, "tags": ["a", "b"]},
            {"id": 2, "title": "world", "views": 5, "author": {"name": "Ann"}},
            {"id": "3", "title": "Zebra", "views": "40", "draft": null},
            {"id": 4, "title": "", "views": 0},
        ]);
        posts
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_object().unwrap().clone())
            .collect()
    }

    fn ids(query: &str) -> Vec<String> {
        let query = ListQuery::parse(parameters(Some(query))).unwrap();
        query
            .apply(&documents())
            .items
            .iter()
            .map(|d| js_string(&d["id"]))
            .collect()
    }

    #[test]
    fn filters_compare_text_as_json_server_does() {
        assert_eq!(ids("id=3"), ["3"]);
        assert_eq!(ids("id=1&id=2"), ["1", "2"]);
        assert_eq!(ids("author.name=Ann"), ["2"]);
        assert_eq!(ids("tags=a,b"), ["1"]);
        assert_eq!(ids("title_ne=Hello"), ["2", "3", "4"]);
        assert_eq!(ids("title_like=^h"), ["1"]);
        // Numbers compare as numbers, text as text ("40" < "5").
        assert_eq!(ids("views_gte=40"), ["1", "3"]);
        assert_eq!(ids("views_lte=5"), ["2", "3", "4"]);
        // A field no document has filters nothing; an operator always does.
        assert_eq!(ids("nope=1"), ["1", "2", "3", "4"]);
        assert_eq!(ids("nope_ne=1"), Vec::<String>::new());
        // Missing and null never match.
        assert_eq!(ids("draft_ne=x"), Vec::<String>::new());
    }

    #[test]
    fn search_looks_into_every_value_but_empty_ones() {
        assert_eq!(ids("q=TYPI"), ["1"]);
        assert_eq!(ids("q=o"), ["1", "2"]);
        assert_eq!(ids("q=0"), ["1", "3"]);
        assert_eq!(ids("q="), ["1", "2", "3", "4"]);
    }

    #[test]
    fn sorts_are_stable_and_put_missing_values_last() {
        assert_eq!(ids("_sort=title"), ["4", "1", "3", "2"]);
        assert_eq!(ids("_sort=views&_order=desc"), ["1", "3", "2", "4"]);
        assert_eq!(ids("_sort=draft"), ["3", "1", "2", "4"]);
        assert_eq!(ids("_sort=draft&_order=DESC"), ["1", "2", "4", "3"]);
    }

    #[test]
    fn a_field_of_numbers_and_text_sorts_as_numbers() {
        let documents: Vec<Document> = serde_json::from_value(json!([
            {"id": 1, "v": "10"}, {"id": 2, "v": 9}, {"id": 3, "v": "9"},
            {"id": 4, "v": 10}, {"id": 5, "v": null}, {"id": 6}, {"id": 7, "v": true}
        ]))
        .unwrap();
        let query = ListQuery::parse(parameters(Some("_sort=v"))).unwrap();
        let sorted: Vec<String> = query
            .apply(&documents)
            .items
            .iter()
            .map(|d| js_string(&d["id"]))
            .collect();
        assert_eq!(sorted, ["7", "2", "3", "1", "4", "5", "6"]);
    }

    #[test]
    fn a_sorted_page_is_the_same_slice_of_the_whole_sorted_list() {
        let documents: Vec<Document> = (0..53)
            .map(|i| {
                let document = json!({"id": i, "v": (i * 7) % 13, "w": i % 2});
                document.as_object().cloned().unwrap()
            })
            .collect();
        let ids = |query: &str| -> Vec<String> {
            let query = ListQuery::parse(parameters(Some(query))).unwrap();
            let listed = query.apply(&documents);
            listed.items.iter().map(|d| js_string(&d["id"])).collect()
        };
        for sort in ["_sort=v", "_sort=v,w&_order=desc,asc", "_sort=w"] {
            for page in 1..=7 {
                let (start, end) = ((page - 1) * 10, page * 10);
                assert_eq!(
                    ids(&format!("{sort}&_page={page}&_limit=10")),
                    ids(&format!("{sort}&_start={start}&_end={end}")),
                    "{sort}, page {page}"
                );
            }
        }
    }

    #[test]
    fn slices_count_before_cutting() {
        let documents = documents();
        let listed = ListQuery::parse(parameters(Some("_start=1&_end=3")))
            .unwrap()
            .apply(&documents);
        assert_eq!(listed.total, Some(4));
        assert_eq!(listed.items.len(), 2);
        assert_eq!(ids("_start=1&_limit=2"), ["2", "3"]);
        assert_eq!(ids("_end=-1"), ["1", "2", "3"]);
        assert_eq!(ids("_end=x"), Vec::<String>::new());
        assert!(
            ListQuery::parse(parameters(Some("_start=1")))
                .unwrap()
                .apply(&documents)
                .total
                .is_none()
        );
    }

    #[test]
    fn pages_link_their_neighbours() {
        let documents = documents();
        let listed = ListQuery::parse(parameters(Some("_page=2&_limit=1")))
            .unwrap()
            .apply(&documents);
        assert_eq!(listed.items.len(), 1);
        assert_eq!(listed.total, Some(4));
        let links = listed.page.unwrap();
        assert_eq!(
            links.header("http://h/posts?_page=2&_limit=1"),
            "<http://h/posts?_page=1&_limit=1>; rel=\"first\", \
             <http://h/posts?_page=1&_limit=1>; rel=\"prev\", \
             <http://h/posts?_page=3&_limit=1>; rel=\"next\", \
             <http://h/posts?_page=4&_limit=1>; rel=\"last\""
        );
        // One page holding everything has no neighbours.
        let all = ListQuery::parse(parameters(Some("_page=1")))
            .unwrap()
            .apply(&documents);
        assert_eq!(all.page.unwrap().header("http://h/posts?_page=1"), "");
        assert_eq!(ids("_page=0&_limit=3"), ["1", "2", "3"]);
    }

    #[test]
    fn a_bad_like_pattern_is_refused() {
        let error = ListQuery::parse(parameters(Some("title_like=("))).unwrap_err();
        assert!(matches!(error, QueryError::Like { .. }), "{error}");
    }

    #[test]
    fn parse_int_reads_leading_digits() {
        assert_eq!(parse_int("12abc"), Some(12));
        assert_eq!(parse_int(" -3"), Some(-3));
        assert_eq!(parse_int("abc"), None);
        assert_eq!(parse_int(""), None);
    }
}
