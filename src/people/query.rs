//! The listing's query string: filters (`age[gte]=30`, `locale=en-US`,
//! `name[contains]=pet`), sort (`sort=-age,name`), and pagination by page
//! (`page`, `per_page`) or by cursor (`cursor`). Parsed into plain values
//! that the store turns into SQL with bound parameters only.

use serde_json::Value;

use super::model::{Person, bcp47_canonical};
use crate::http::FieldError;

/// A column a listing can filter and sort on. The SQL name comes from this
/// closed set, never from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Id,
    Name,
    Age,
    Locale,
}

impl Column {
    pub const ALL: [Column; 4] = [Column::Id, Column::Name, Column::Age, Column::Locale];

    pub fn sql(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Name => "name",
            Column::Age => "age",
            Column::Locale => "locale",
        }
    }

    fn parse(text: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.sql() == text)
    }

    fn is_text(self) -> bool {
        matches!(self, Column::Name | Column::Locale)
    }

    /// This column's value in `person`, as a cursor stores it.
    fn value_of(self, person: &Person) -> SqlValue {
        match self {
            Column::Id => SqlValue::Int(person.id),
            Column::Age => SqlValue::Int(i64::from(person.age)),
            Column::Name => SqlValue::Text(person.name.clone()),
            Column::Locale => SqlValue::Text(person.locale.clone()),
        }
    }
}

/// A value bound into a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlValue {
    Int(i64),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    /// Substring, case-sensitive (text columns only).
    Contains,
}

impl Op {
    const ALL: [Op; 7] = [
        Op::Eq,
        Op::Ne,
        Op::Gt,
        Op::Gte,
        Op::Lt,
        Op::Lte,
        Op::Contains,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Contains => "contains",
        }
    }

    /// The SQL comparison for the plain operators (`contains` is per backend).
    pub fn sql(self) -> &'static str {
        match self {
            Op::Eq => " = ",
            Op::Ne => " <> ",
            Op::Gt => " > ",
            Op::Gte => " >= ",
            Op::Lt => " < ",
            Op::Lte => " <= ",
            Op::Contains => "",
        }
    }

    fn parse(text: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == text)
    }
}

/// One condition of the listing; all of them must hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    pub column: Column,
    pub op: Op,
    /// One value, or (for a locale given in non-canonical case) the value as
    /// sent and its canonical form, either of which matches.
    pub values: Vec<SqlValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub column: Column,
    pub descending: bool,
}

/// Where the page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// `page` (1-based) of `per_page` rows.
    Page { page: u64, per_page: u64 },
    /// `per_page` rows after the row whose sort key is `after` (from the start
    /// when `None`).
    Cursor {
        after: Option<Vec<SqlValue>>,
        per_page: u64,
    },
}

impl Window {
    pub fn per_page(&self) -> u64 {
        match self {
            Window::Page { per_page, .. } | Window::Cursor { per_page, .. } => *per_page,
        }
    }
}

/// How a listing counts the rows that match, as the client prefers it
/// (`Prefer: count=exact|estimated|none`, PostgREST's header; its `planned`
/// reads as `estimated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// `COUNT(*)` over every match: the cost grows with the matches.
    Exact,
    /// Exact up to a bound, beyond it the backend's estimate: about the same
    /// cost at any table size.
    Estimated,
    /// No count: whether there is a next page is known from one extra row.
    None,
}

impl Counting {
    pub fn name(self) -> &'static str {
        match self {
            Counting::Exact => "exact",
            Counting::Estimated => "estimated",
            Counting::None => "none",
        }
    }

    /// The `count` preference among `prefer` header values, if any is one
    /// this server knows. Preferences are hints (RFC 7240): an unknown one,
    /// or an unknown count, is ignored rather than refused.
    pub fn preferred<'a>(prefer: impl IntoIterator<Item = &'a str>) -> Option<Counting> {
        prefer
            .into_iter()
            .flat_map(|value| value.split(','))
            .filter_map(|preference| {
                let (name, value) = preference.split(';').next()?.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("count")
                    .then(|| value.trim().trim_matches('"'))
            })
            .find_map(|value| match value {
                "exact" => Some(Counting::Exact),
                "estimated" | "planned" => Some(Counting::Estimated),
                "none" => Some(Counting::None),
                _ => None,
            })
    }
}

/// A parsed listing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filters: Vec<Filter>,
    /// Always ends with `id`, so that the order is total.
    pub sort: Vec<SortKey>,
    pub window: Window,
    /// The query string's filter and sort pairs as sent, for the `Link` URLs.
    pub kept_pairs: Vec<(String, String)>,
}

pub const DEFAULT_PER_PAGE: u64 = 20;
/// More conditions than any real query needs; keeps the bound parameters of
/// one statement far below either backend's limit.
pub const MAX_FILTERS: usize = 32;

/// Parses the listing's query string. Every problem is reported, each naming
/// its parameter.
pub fn parse_list_query(raw: &str, max_per_page: u64) -> Result<ListQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut filters = Vec::new();
    let mut sort: Option<Vec<SortKey>> = None;
    let mut page: Option<u64> = None;
    let mut per_page: Option<u64> = None;
    let mut cursor: Option<String> = None;
    let mut kept_pairs = Vec::new();

    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let (key, value) = (key.into_owned(), value.into_owned());
        match key.as_str() {
            "sort" => {
                if sort.is_some() {
                    errors.push(FieldError::new("sort", "give sort once, comma-separated"));
                    continue;
                }
                match parse_sort(&value) {
                    Ok(keys) => sort = Some(keys),
                    Err(message) => errors.push(FieldError::new("sort", message)),
                }
                kept_pairs.push((key, value));
            }
            "page" => once(
                &mut page,
                &key,
                // The largest int64: what the document states, and what
                // clients in languages without unsigned integers can send.
                parse_count(&value, 1, i64::MAX.unsigned_abs()),
                &mut errors,
            ),
            "per_page" => once(
                &mut per_page,
                &key,
                parse_count(&value, 1, max_per_page),
                &mut errors,
            ),
            "cursor" => {
                if cursor.replace(value).is_some() {
                    errors.push(FieldError::new("cursor", "give cursor once"));
                }
            }
            _ if filters.len() == MAX_FILTERS => {
                errors.push(FieldError::new(
                    key,
                    format!("at most {MAX_FILTERS} filters per listing"),
                ));
                break;
            }
            _ => {
                match parse_filter(&key, &value) {
                    Ok(filter) => filters.push(filter),
                    Err(error) => errors.push(error),
                }
                kept_pairs.push((key, value));
            }
        }
    }

    let mut sort = sort.unwrap_or_default();
    if !sort.iter().any(|k| k.column == Column::Id) {
        // In the last key's direction: then one index, `(age, id)` say,
        // serves `sort=-age` whole, read backwards. Against the direction,
        // each run of equal ages would be sorted apart (10,000 rows an age
        // at 1M people, for every page).
        let descending = sort.last().is_some_and(|key| key.descending);
        sort.push(SortKey {
            column: Column::Id,
            descending,
        });
    }
    let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE.min(max_per_page));
    let window = match (page, cursor) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "cursor",
                "page and cursor cannot be combined: use one kind of pagination",
            ));
            None
        }
        (page, None) => Some(Window::Page {
            page: page.unwrap_or(1),
            per_page,
        }),
        (None, Some(token)) if token.is_empty() => Some(Window::Cursor {
            after: None,
            per_page,
        }),
        (None, Some(token)) => match decode_cursor(&token, &sort) {
            Ok(after) => Some(Window::Cursor {
                after: Some(after),
                per_page,
            }),
            Err(message) => {
                errors.push(FieldError::new("cursor", message));
                None
            }
        },
    };
    match window {
        Some(window) if errors.is_empty() => Ok(ListQuery {
            filters,
            sort,
            window,
            kept_pairs,
        }),
        _ => Err(errors),
    }
}

fn once(
    slot: &mut Option<u64>,
    key: &str,
    parsed: Result<u64, String>,
    errors: &mut Vec<FieldError>,
) {
    match parsed {
        Ok(_) if slot.is_some() => errors.push(FieldError::new(key, format!("give {key} once"))),
        Ok(n) => *slot = Some(n),
        Err(message) => errors.push(FieldError::new(key, message)),
    }
}

fn parse_count(text: &str, min: u64, max: u64) -> Result<u64, String> {
    text.parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("must be an integer from {min} to {max}"))
}

fn parse_sort(text: &str) -> Result<Vec<SortKey>, String> {
    let mut keys: Vec<SortKey> = Vec::new();
    for part in text.split(',') {
        let (descending, name) = match part.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        let column = Column::parse(name).ok_or_else(|| {
            format!(
                "cannot sort by '{name}': use id, name, age or locale, '-' first for descending"
            )
        })?;
        if keys.iter().any(|k| k.column == column) {
            return Err(format!("'{name}' appears twice"));
        }
        keys.push(SortKey { column, descending });
    }
    Ok(keys)
}

fn parse_filter(key: &str, value: &str) -> Result<Filter, FieldError> {
    let (name, op) = match key.split_once('[') {
        Some((name, rest)) => {
            let op_name = rest.strip_suffix(']').ok_or_else(|| {
                FieldError::new(key, "expected field[operator], such as age[gte]")
            })?;
            let op = Op::parse(op_name).ok_or_else(|| {
                FieldError::new(
                    key,
                    format!(
                        "unknown operator '{op_name}' (use eq, ne, gt, gte, lt, lte, or contains on name and locale)"
                    ),
                )
            })?;
            (name, op)
        }
        None => (key, Op::Eq),
    };
    let column = Column::parse(name).ok_or_else(|| {
        FieldError::new(
            key,
            "unknown parameter: filter on id, name, age or locale, or use sort, page, per_page, cursor",
        )
    })?;
    if op == Op::Contains && !column.is_text() {
        return Err(FieldError::new(
            key,
            "contains works on name and locale only",
        ));
    }
    let values = match column {
        Column::Id => vec![SqlValue::Int(
            value
                .parse::<i64>()
                .map_err(|_| FieldError::new(key, "must be an integer"))?,
        )],
        Column::Age => vec![SqlValue::Int(
            value
                .parse::<i32>()
                .map_err(|_| FieldError::new(key, "must be an integer"))?
                .into(),
        )],
        Column::Name => vec![SqlValue::Text(value.to_owned())],
        Column::Locale => {
            // Tags are stored in canonical case; `locale=en-us` finds `en-US`,
            // and a value stored through the compatible routes matches as sent.
            let mut values = vec![SqlValue::Text(value.to_owned())];
            if (op == Op::Eq || op == Op::Ne)
                && let Ok(canonical) = bcp47_canonical(value)
                && canonical != value
            {
                values.push(SqlValue::Text(canonical));
            }
            values
        }
    };
    if values
        .iter()
        .any(|v| matches!(v, SqlValue::Text(t) if t.contains('\0')))
    {
        return Err(FieldError::new(key, "must not contain NUL"));
    }
    Ok(Filter { column, op, values })
}

/// The sort as a canonical string (`-age,name,id`), which a cursor records so
/// that it is never used with another order.
pub fn sort_signature(sort: &[SortKey]) -> String {
    sort.iter()
        .map(|k| format!("{}{}", if k.descending { "-" } else { "" }, k.column.sql()))
        .collect::<Vec<_>>()
        .join(",")
}

/// An opaque token: base64url of `{"s": sort signature, "k": [sort key values]}`.
pub fn encode_cursor(sort: &[SortKey], last: &Person) -> String {
    let key: Vec<Value> = sort
        .iter()
        .map(|k| match k.column.value_of(last) {
            SqlValue::Int(n) => Value::from(n),
            SqlValue::Text(t) => Value::from(t),
        })
        .collect();
    let doc = serde_json::json!({ "s": sort_signature(sort), "k": key });
    base64url_encode(doc.to_string().as_bytes())
}

fn decode_cursor(token: &str, sort: &[SortKey]) -> Result<Vec<SqlValue>, String> {
    let invalid = || "is not a cursor from this API (take it from a Link or X-Next-Cursor header)";
    let bytes = base64url_decode(token).ok_or_else(invalid)?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let signature = doc.get("s").and_then(Value::as_str).ok_or_else(invalid)?;
    if signature != sort_signature(sort) {
        return Err(format!(
            "was made for sort={signature}; send the same sort with it"
        ));
    }
    let key = doc.get("k").and_then(Value::as_array).ok_or_else(invalid)?;
    if key.len() != sort.len() {
        return Err(invalid().into());
    }
    sort.iter()
        .zip(key)
        .map(|(k, v)| match (k.column.is_text(), v) {
            (true, Value::String(t)) if !t.contains('\0') => Ok(SqlValue::Text(t.clone())),
            (false, Value::Number(n)) => n.as_i64().map(SqlValue::Int).ok_or_else(invalid),
            _ => Err(invalid()),
        })
        .collect::<Result<_, _>>()
        .map_err(str::to_owned)
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64URL[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = BASE64URL.iter().position(|&a| a == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: i64, name: &str, age: i32) -> Person {
        Person {
            id,
            name: name.into(),
            age,
            locale: "en-US".into(),
            version: 1,
        }
    }

    #[test]
    fn the_count_preference_is_read_from_any_prefer_value() {
        let read = |values: &[&str]| Counting::preferred(values.iter().copied());
        assert_eq!(read(&["count=exact"]), Some(Counting::Exact));
        assert_eq!(read(&["count=planned"]), Some(Counting::Estimated));
        assert_eq!(
            read(&["return=minimal, Count=\"none\""]),
            Some(Counting::None)
        );
        assert_eq!(
            read(&["handling=lenient", "count=estimated; foo=bar"]),
            Some(Counting::Estimated)
        );
        // Unknown counts and other preferences are hints to ignore.
        assert_eq!(read(&["count=sometimes", "return=minimal"]), None);
        assert_eq!(
            read(&["count=sometimes", "count=none"]),
            Some(Counting::None)
        );
        assert_eq!(read(&[]), None);
    }

    #[test]
    fn base64url_round_trips_every_length() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let encoded = base64url_encode(&bytes);
            assert!(!encoded.contains(['+', '/', '=']));
            assert_eq!(base64url_decode(&encoded), Some(bytes));
        }
        assert_eq!(base64url_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url_encode(b"fo"), "Zm8");
        assert_eq!(base64url_decode("Z"), None);
        assert_eq!(base64url_decode("Zm9v!"), None);
    }

    #[test]
    fn filters_sort_and_page_are_parsed() {
        let q = parse_list_query(
            "age[gte]=30&age[lt]=40&locale=en-us&name[contains]=pe&sort=-age,name&page=2&per_page=5",
            100,
        )
        .unwrap();
        assert_eq!(q.filters.len(), 4);
        assert_eq!(q.filters[0].op, Op::Gte);
        assert_eq!(q.filters[0].values, vec![SqlValue::Int(30)]);
        assert_eq!(
            q.filters[2].values,
            vec![
                SqlValue::Text("en-us".into()),
                SqlValue::Text("en-US".into())
            ]
        );
        assert_eq!(sort_signature(&q.sort), "-age,name,id");
        assert_eq!(
            q.window,
            Window::Page {
                page: 2,
                per_page: 5
            }
        );
    }

    #[test]
    fn unknown_fields_operators_and_bad_values_name_their_parameter() {
        let errors = parse_list_query(
            "colour=red&age[like]=3&age[contains]=3&age=old&sort=height&page=0&per_page=1000",
            100,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "colour",
                "age[like]",
                "age[contains]",
                "age",
                "sort",
                "page",
                "per_page"
            ]
        );
    }

    #[test]
    fn a_cursor_carries_the_sort_key_and_refuses_another_sort() {
        let q = parse_list_query("sort=-age,name", 100).unwrap();
        let token = encode_cursor(&q.sort, &person(7, "bob", 30));
        let next = parse_list_query(&format!("sort=-age,name&cursor={token}"), 100).unwrap();
        assert_eq!(
            next.window,
            Window::Cursor {
                after: Some(vec![
                    SqlValue::Int(30),
                    SqlValue::Text("bob".into()),
                    SqlValue::Int(7)
                ]),
                per_page: DEFAULT_PER_PAGE
            }
        );
        let errors = parse_list_query(&format!("sort=name&cursor={token}"), 100).unwrap_err();
        assert_eq!(errors[0].field, "cursor");
        assert!(parse_list_query("cursor=garbage!", 100).is_err());
        assert!(parse_list_query("cursor=abc&page=1", 100).is_err());
    }

    #[test]
    fn the_number_of_filters_is_bounded() {
        let at_limit = vec!["age[gte]=1"; MAX_FILTERS].join("&");
        assert_eq!(
            parse_list_query(&at_limit, 100).unwrap().filters.len(),
            MAX_FILTERS
        );
        let errors = parse_list_query(&format!("{at_limit}&name=x"), 100).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "name");
    }
}
