//! What a resource is: a named collection of JSON documents (or one singular
//! document), each found by its `id` as json-server finds it: by the id's
//! text, so `/posts/1` finds `{"id": 1}` and `{"id": "1"}` alike.

use serde_json::{Map, Value};

/// One stored document: a JSON object.
pub type Document = Map<String, Value>;

/// The property holding a document's id.
pub const ID: &str = "id";

/// The suffix of a property naming another collection's document
/// (`postId` → `posts`), as json-server's default `foreignKeySuffix`.
pub const FOREIGN_KEY_SUFFIX: &str = "Id";

/// Longest collection name.
const MAX_NAME: usize = 64;

/// [`check_name`]'s rule as a regular expression, for the OpenAPI document.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$";

/// Why a collection name is refused.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!("a collection name has 1 to {MAX_NAME} characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        || name.starts_with('.')
    {
        return Err(format!(
            "collection name `{name}`: use letters, digits, `_`, `-` and `.` (not first), \
             since it is a URL path segment"
        ));
    }
    Ok(())
}

/// Whether `name` is a top-level field a JSON path names without quoting
/// (`resources.indexes`): letters, digits and `_`, not starting with a
/// digit, at most 64 bytes.
pub fn is_plain_field(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A value as JavaScript's `String(value)` writes it, which is how
/// json-server compares ids and filter values: `1`, `true`, `a,b` for
/// `["a","b"]`, `[object Object]` for an object, `null`.
pub fn js_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => js_number(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                // `[null].toString()` is the empty string.
                Value::Null => String::new(),
                other => js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_owned(),
    }
}

/// A JSON number as JavaScript writes it: integers without a fraction
/// (`1.0` is `1`), exponents from 1e21 up.
fn js_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let Some(f) = n.as_f64() else {
        return n.to_string();
    };
    if f == 0.0 {
        // `-0` too: JavaScript writes it `0`.
        "0".to_owned()
    } else if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else if f.abs() >= 1e21 {
        // JavaScript: 1e+21, Rust: 1e21.
        format!("{f:e}").replace('e', "e+").replace("e+-", "e-")
    } else {
        f.to_string()
    }
}

/// A value as a number, as JavaScript's `Number(value)` would read it in a
/// comparison; `None` for NaN.
pub fn js_to_number(value: &Value) -> Option<f64> {
    match value {
        Value::Null => Some(0.0),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => string_to_number(s),
        Value::Array(_) | Value::Object(_) => string_to_number(&js_string(value)),
    }
}

/// JavaScript's `Number(text)`: blank is 0, otherwise a decimal, hex,
/// octal or binary literal, or `Infinity`; anything else is NaN.
pub fn string_to_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return Some(0.0);
    }
    let radix = |prefix: &[&str], radix| {
        prefix
            .iter()
            .find_map(|p| text.strip_prefix(p))
            .map(|digits| u64::from_str_radix(digits, radix).ok().map(|v| v as f64))
    };
    if let Some(parsed) = radix(&["0x", "0X"], 16)
        .or_else(|| radix(&["0o", "0O"], 8))
        .or_else(|| radix(&["0b", "0B"], 2))
    {
        return parsed;
    }
    match text.trim_start_matches(['+', '-']) {
        "Infinity" => Some(if text.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        // Rust reads `inf`, `nan` and `1_0` differently: only digits, one
        // point and an exponent are numbers here.
        rest if rest
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
            && rest.bytes().any(|b| b.is_ascii_digit()) =>
        {
            text.parse().ok()
        }
        _ => None,
    }
}

/// JavaScript's truthiness, which decides whether a given `id` is used
/// (`0`, `""`, `false` and `null` are not: an id is generated instead).
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A document's id as text, if it has one json-server would use.
pub fn id_text(document: &Document) -> Option<String> {
    document.get(ID).filter(|id| !id.is_null()).map(js_string)
}

/// The id json-server 0.17 generates: 1 in an empty collection, one more
/// than the largest numeric id, otherwise seven random URL-safe characters
/// (nanoid's alphabet).
pub fn next_id(largest_numeric: Option<f64>, empty: bool) -> Value {
    match largest_numeric {
        _ if empty => Value::from(1),
        Some(largest) if largest.is_finite() => {
            let next = largest + 1.0;
            if next.fract() == 0.0 && next.abs() < 9.007_199_254_740_992e15 {
                Value::from(next as i64)
            } else {
                serde_json::Number::from_f64(next).map_or(Value::Null, Value::Number)
            }
        }
        _ => Value::String(random_id()),
    }
}

/// Seven characters of nanoid's URL-safe alphabet.
fn random_id() -> String {
    const ALPHABET: &[u8; 64] = b"useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
    (0..7)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

/// The collection a foreign key names: `postId` → `posts`.
pub fn referenced_collection(key: &str) -> Option<String> {
    let stem = key.strip_suffix(FOREIGN_KEY_SUFFIX)?;
    (!stem.is_empty()).then(|| plural(stem))
}

/// The foreign key naming a document of `collection`: `posts` → `postId`.
pub fn foreign_key(collection: &str) -> String {
    format!("{}{FOREIGN_KEY_SUFFIX}", singular(collection))
}

/// English plural, by the rules of the `pluralize` package.
pub fn plural(word: &str) -> String {
    pluralizer::pluralize(word, 2, false)
}

/// English singular, by the rules of the `pluralize` package.
pub fn singular(word: &str) -> String {
    pluralizer::pluralize(word, 1, false)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_read_as_javascript_writes_them() {
        assert_eq!(js_string(&json!(1)), "1");
        assert_eq!(js_string(&json!(1.0)), "1");
        assert_eq!(js_string(&json!(1.5)), "1.5");
        assert_eq!(js_string(&json!(1e21)), "1e+21");
        assert_eq!(js_string(&json!(true)), "true");
        assert_eq!(js_string(&json!(["a", null, 2])), "a,,2");
        assert_eq!(js_string(&json!({"a": 1})), "[object Object]");
        assert_eq!(js_to_number(&json!("12")), Some(12.0));
        assert_eq!(js_to_number(&json!("")), Some(0.0));
        assert_eq!(js_to_number(&json!("0x10")), Some(16.0));
        assert_eq!(js_to_number(&json!("abc")), None);
        assert_eq!(js_to_number(&json!("inf")), None);
    }

    #[test]
    fn ids_are_generated_as_json_server_generates_them() {
        assert_eq!(next_id(None, true), json!(1));
        assert_eq!(next_id(Some(41.0), false), json!(42));
        let random = next_id(None, false);
        assert_eq!(random.as_str().map(str::len), Some(7), "{random}");
        assert!(!is_truthy(&json!(0)) && !is_truthy(&json!("")) && is_truthy(&json!("0")));
    }

    #[test]
    fn relations_follow_english_plurals() {
        assert_eq!(referenced_collection("postId").as_deref(), Some("posts"));
        assert_eq!(referenced_collection("personId").as_deref(), Some("people"));
        assert_eq!(foreign_key("people"), "personId");
        assert_eq!(foreign_key("comments"), "commentId");
        assert_eq!(referenced_collection("Id"), None);
    }

    #[test]
    fn names_must_be_path_segments() {
        assert!(check_name("posts").is_ok());
        assert!(check_name("blog-posts_2").is_ok());
        for refused in ["", "a/b", ".hidden", "sp ace", &"x".repeat(65)] {
            assert!(check_name(refused).is_err(), "{refused}");
        }
        // The OpenAPI document's pattern (in native.rs) says the same.
        let pattern = regex::Regex::new(NAME_PATTERN).unwrap();
        for name in [
            "posts",
            "a.b",
            "-x",
            "_",
            "db",
            "",
            ".a",
            "a/b",
            "é",
            &"x".repeat(64),
            &"x".repeat(65),
        ] {
            assert_eq!(pattern.is_match(name), check_name(name).is_ok(), "{name}");
        }
    }
}
