//! A person and the rules its fields follow. The newtypes can only be built
//! valid, so the store and the handlers never see a bad name, age or locale.
//!
//! Bodies are read as `serde_json::Value` and checked field by field here, so
//! one request gets every problem at once, each naming its field.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::http::FieldError;

/// The longest name accepted, in characters.
pub const NAME_MAX_CHARS: usize = 200;
/// The accepted ages, in years.
pub const AGE_MIN: i32 = 0;
pub const AGE_MAX: i32 = 150;
/// The longest locale accepted, in characters (BCP 47 tags with extensions
/// stay well under this; the compatible routes accept free text up to it).
pub const LOCALE_MAX_CHARS: usize = 64;

/// A stored person, with the version that makes its `ETag`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub age: i32,
    pub locale: String,
    /// 1 on creation, one more on every write.
    pub version: i64,
}

/// A person as the APIs show it. Keys in alphabetical order, as the original
/// (Flask's `jsonify`) wrote them: `{"age":42,"id":1,"locale":"NYC","name":"peter"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PersonOut {
    #[schema(example = 42)]
    pub age: i32,
    /// Assigned by the server; never reused after a delete.
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "en-US")]
    pub locale: String,
    #[schema(example = "peter")]
    pub name: String,
}

impl From<&Person> for PersonOut {
    fn from(person: &Person) -> Self {
        PersonOut {
            age: person.age,
            id: person.id,
            locale: person.locale.clone(),
            name: person.name.clone(),
        }
    }
}

/// A person as `POST`/`PUT /v1/people` take it (documentation only: bodies
/// are read field by field by [`person_from_json`]). The patterns say what
/// the parsers below check, so a client or a fuzzer reading the OpenAPI
/// document knows what is refused.
#[derive(Debug, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonIn {
    /// Not blank, at most 200 characters, no control characters.
    #[schema(schema_with = name_schema)]
    pub name: String,
    /// Whole years, 0 to 150.
    #[schema(example = 42, minimum = 0, maximum = 150)]
    pub age: i32,
    /// A well-formed BCP 47 language tag, stored in canonical case; a variant
    /// or an extension's singleton may not appear twice.
    #[schema(schema_with = locale_schema)]
    pub locale: String,
}

/// A JSON merge patch (RFC 7396) of a person: the keys to change.
#[derive(Debug, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    #[schema(schema_with = name_schema)]
    pub name: Option<String>,
    /// Whole years, 0 to 150. No key may be `null`: it would remove a field a
    /// person cannot do without.
    #[schema(minimum = 0, maximum = 150, nullable = false)]
    pub age: Option<i32>,
    #[schema(schema_with = locale_schema)]
    pub locale: Option<String>,
}

/// [`plain_text`] as a regular expression: a character that is neither a
/// control character nor white space, among any that are not control characters.
pub const NAME_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

fn name_schema() -> utoipa::openapi::Object {
    text_schema(NAME_PATTERN, 1, NAME_MAX_CHARS, "peter")
}

fn locale_schema() -> utoipa::openapi::Object {
    text_schema(LOCALE_PATTERN, 2, LOCALE_MAX_CHARS, "en-US")
}

fn text_schema(pattern: &str, min: usize, max: usize, example: &str) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .pattern(Some(pattern))
        .min_length(Some(min))
        .max_length(Some(max))
        .examples([example])
        .build()
}

/// [`bcp47_canonical`]'s syntax (RFC 5646 `langtag` or `privateuse`) as a
/// regular expression, in either case.
pub const LOCALE_PATTERN: &str = concat!(
    "^(?:",
    // language: 2-3 letters and up to three extlangs, or 5-8 letters
    "(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{5,8})",
    "(?:-[A-Za-z]{4})?",                              // script
    "(?:-(?:[A-Za-z]{2}|[0-9]{3}))?",                 // region
    "(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*", // variants
    "(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*",  // extensions
    "(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?",               // private use
    "|[Xx](?:-[A-Za-z0-9]{1,8})+",                    // private use only
    ")$",
);

/// A name: not blank, at most [`NAME_MAX_CHARS`] characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

/// Non-blank text of at most `max_chars` characters, without control
/// characters, kept as sent.
fn plain_text(text: &str, max_chars: usize) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(text.to_owned())
}

impl PersonName {
    pub fn parse(text: &str) -> Result<Self, String> {
        plain_text(text, NAME_MAX_CHARS).map(PersonName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An age in whole years, [`AGE_MIN`]..=[`AGE_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age(i32);

impl Age {
    pub fn new(years: i64) -> Result<Self, String> {
        i32::try_from(years)
            .ok()
            .filter(|y| (AGE_MIN..=AGE_MAX).contains(y))
            .map(Age)
            .ok_or_else(|| format!("must be between {AGE_MIN} and {AGE_MAX}"))
    }

    /// From a JSON value: an integer (`42` or `42.0`), nothing else.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let Value::Number(number) = value else {
            return Err(format!(
                "must be an integer, not {}",
                crate::json::kind(value)
            ));
        };
        if let Some(years) = number.as_i64() {
            return Age::new(years);
        }
        match number.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Age::new(f as i64),
            Some(f) if f.fract() == 0.0 => Age::new(i64::MAX),
            _ => Err("must be an integer".into()),
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// A locale. Native requests must send a well-formed BCP 47 language tag,
/// stored in its canonical case (`en-us` becomes `en-US`); the compatible
/// routes keep the original's free text (its example used `NYC`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    /// A well-formed BCP 47 tag, case-canonicalised.
    pub fn parse_tag(text: &str) -> Result<Self, String> {
        if text.chars().count() > LOCALE_MAX_CHARS {
            return Err(format!(
                "must be a BCP 47 language tag of at most {LOCALE_MAX_CHARS} characters"
            ));
        }
        bcp47_canonical(text)
            .map(Locale)
            .map_err(|why| format!("must be a BCP 47 language tag such as en-US: {why}"))
    }

    /// The compatible routes' locale: any non-blank text without control
    /// characters, at most [`LOCALE_MAX_CHARS`] characters, kept as sent.
    pub fn parse_free_text(text: &str) -> Result<Self, String> {
        plain_text(text, LOCALE_MAX_CHARS).map(Locale)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person to store: every field valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub name: PersonName,
    pub age: Age,
    pub locale: Locale,
}

/// Which rules a body is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules<'a> {
    /// The original resource: extra keys ignored, locale free text.
    Compatible,
    /// `POST /v1/people` and batch items: no `id`, no unknown keys, BCP 47 locale.
    NativeCreate,
    /// `PUT`/`PATCH /v1/people/{id}`: as create, but an `id` equal to the
    /// URL's is allowed (so a fetched document can be sent back as is).
    NativeReplace {
        id: i64,
        /// A locale that a patch leaves as it is stays exactly as stored, even
        /// when it came through the compatible routes and is not a BCP 47 tag.
        unchanged_locale: Option<&'a str>,
    },
}

pub const FIELDS: [&str; 3] = ["name", "age", "locale"];

/// Reads a person from a JSON document, collecting one error per bad field.
/// `prefix` is put before field names (`"3."` for the fourth batch item).
pub fn person_from_json(
    value: &Value,
    rules: Rules<'_>,
    prefix: &str,
) -> Result<NewPerson, Vec<FieldError>> {
    let field = |name: &str| format!("{prefix}{name}");
    let Value::Object(object) = value else {
        let at = if prefix.is_empty() {
            "body".to_owned()
        } else {
            prefix.trim_end_matches('.').to_owned()
        };
        return Err(vec![FieldError::new(
            at,
            format!(
                "must be a JSON object with name, age and locale, not {}",
                crate::json::kind(value)
            ),
        )]);
    };
    let mut errors = Vec::new();

    let name = match present(object, "name") {
        Some(Value::String(text)) => PersonName::parse(text)
            .map_err(|message| errors.push(FieldError::new(field("name"), message)))
            .ok(),
        Some(other) => {
            errors.push(FieldError::new(
                field("name"),
                format!("must be a string, not {}", crate::json::kind(other)),
            ));
            None
        }
        None => {
            errors.push(FieldError::new(field("name"), "is required"));
            None
        }
    };
    let age = match present(object, "age") {
        Some(value) => Age::from_json(value)
            .map_err(|message| errors.push(FieldError::new(field("age"), message)))
            .ok(),
        None => {
            errors.push(FieldError::new(field("age"), "is required"));
            None
        }
    };
    let locale = match present(object, "locale") {
        Some(Value::String(text)) => {
            let parsed = match rules {
                Rules::Compatible => Locale::parse_free_text(text),
                Rules::NativeReplace {
                    unchanged_locale: Some(stored),
                    ..
                } if stored == text => Locale::parse_free_text(text),
                _ => Locale::parse_tag(text),
            };
            parsed
                .map_err(|message| errors.push(FieldError::new(field("locale"), message)))
                .ok()
        }
        Some(other) => {
            errors.push(FieldError::new(
                field("locale"),
                format!("must be a string, not {}", crate::json::kind(other)),
            ));
            None
        }
        None => {
            errors.push(FieldError::new(field("locale"), "is required"));
            None
        }
    };

    if rules != Rules::Compatible {
        for (key, value) in object {
            if FIELDS.contains(&key.as_str()) {
                continue;
            }
            match (key.as_str(), rules) {
                ("id", Rules::NativeReplace { id, .. }) => {
                    if value.as_i64() != Some(id) {
                        errors.push(FieldError::new(
                            field("id"),
                            format!("must be {id}, the id in the URL, or left out"),
                        ));
                    }
                }
                ("id", _) => errors.push(FieldError::new(
                    field("id"),
                    "is assigned by the server; leave it out",
                )),
                _ => errors.push(FieldError::new(
                    field(key),
                    "is not a field of a person (expected name, age, locale)",
                )),
            }
        }
    }

    match (name, age, locale) {
        (Some(name), Some(age), Some(locale)) if errors.is_empty() => {
            Ok(NewPerson { name, age, locale })
        }
        _ => Err(errors),
    }
}

/// A key that is there and not `null`.
fn present<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

/// The person as a JSON document that a merge patch applies to.
pub fn patch_target(person: &Person) -> Value {
    serde_json::json!({
        "name": person.name,
        "age": person.age,
        "locale": person.locale,
    })
}

/// Checks `tag` against the BCP 47 (RFC 5646) `langtag` and `privateuse`
/// syntax and returns it in canonical case: language lower, script title,
/// region upper, the rest lower. Registry contents (whether `xx` is a real
/// language) are not checked: well-formed, not necessarily valid.
pub fn bcp47_canonical(tag: &str) -> Result<String, String> {
    if tag.is_empty() {
        return Err("it is empty".into());
    }
    if tag.contains('_') {
        return Err("subtags are separated by '-', not '_'".into());
    }
    if !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("only ASCII letters, digits and '-' are allowed".into());
    }
    let subtags: Vec<&str> = tag.split('-').collect();
    if subtags.iter().any(|s| s.is_empty()) {
        return Err("it has an empty subtag".into());
    }
    let is_alpha = |s: &str| s.bytes().all(|b| b.is_ascii_alphabetic());
    let is_digit = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mut out: Vec<String> = Vec::with_capacity(subtags.len());
    let mut i = 0;

    // A tag that is only private use: x-whatever.
    if !subtags[0].eq_ignore_ascii_case("x") {
        // language: 2-3 letters (+ up to three 3-letter extlangs) or 5-8 letters.
        let language = subtags[0];
        match language.len() {
            2..=3 if is_alpha(language) => {}
            4 if is_alpha(language) => {
                return Err(format!(
                    "'{language}': a four-letter language subtag is reserved"
                ));
            }
            5..=8 if is_alpha(language) => {}
            _ => {
                return Err(format!(
                    "'{language}': the language is 2-3 or 5-8 letters (en, fil)"
                ));
            }
        }
        out.push(language.to_ascii_lowercase());
        i = 1;
        if language.len() <= 3 {
            let mut extlangs = 0;
            while i < subtags.len() && subtags[i].len() == 3 && is_alpha(subtags[i]) {
                extlangs += 1;
                if extlangs > 3 {
                    return Err("at most three extended language subtags".into());
                }
                out.push(subtags[i].to_ascii_lowercase());
                i += 1;
            }
        }
        // script: 4 letters.
        if i < subtags.len() && subtags[i].len() == 4 && is_alpha(subtags[i]) {
            let script = subtags[i].to_ascii_lowercase();
            let mut title = script[..1].to_ascii_uppercase();
            title.push_str(&script[1..]);
            out.push(title);
            i += 1;
        }
        // region: 2 letters or 3 digits.
        if i < subtags.len() {
            let s = subtags[i];
            if (s.len() == 2 && is_alpha(s)) || (s.len() == 3 && is_digit(s)) {
                out.push(s.to_ascii_uppercase());
                i += 1;
            }
        }
        // variants: 5-8 alphanumerics, or a digit and 3 alphanumerics; no repeats.
        let mut variants: Vec<String> = Vec::new();
        while i < subtags.len() {
            let s = subtags[i];
            let first_is_digit = s.as_bytes()[0].is_ascii_digit();
            if (5..=8).contains(&s.len()) || (s.len() == 4 && first_is_digit) {
                let variant = s.to_ascii_lowercase();
                if variants.contains(&variant) {
                    return Err(format!("the variant '{s}' is repeated"));
                }
                variants.push(variant.clone());
                out.push(variant);
                i += 1;
            } else {
                break;
            }
        }
        // extensions: a singleton (not x) followed by 2-8 alphanumeric subtags.
        let mut singletons: Vec<String> = Vec::new();
        while i < subtags.len() && subtags[i].len() == 1 && !subtags[i].eq_ignore_ascii_case("x") {
            let singleton = subtags[i].to_ascii_lowercase();
            if singletons.contains(&singleton) {
                return Err(format!("the extension '{singleton}' is repeated"));
            }
            singletons.push(singleton.clone());
            out.push(singleton);
            i += 1;
            let start = i;
            while i < subtags.len() && (2..=8).contains(&subtags[i].len()) {
                out.push(subtags[i].to_ascii_lowercase());
                i += 1;
            }
            if i == start {
                return Err(format!(
                    "the extension '{}' has no subtags",
                    singletons.last().map(String::as_str).unwrap_or_default()
                ));
            }
        }
    }
    // private use: x followed by 1-8 alphanumeric subtags.
    if i < subtags.len() && subtags[i].eq_ignore_ascii_case("x") {
        out.push("x".into());
        i += 1;
        let start = i;
        while i < subtags.len() && (1..=8).contains(&subtags[i].len()) {
            out.push(subtags[i].to_ascii_lowercase());
            i += 1;
        }
        if i == start {
            return Err("private use 'x' needs at least one subtag".into());
        }
    }
    if i < subtags.len() {
        return Err(format!("'{}' is not valid at this position", subtags[i]));
    }
    Ok(out.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn well_formed_tags_are_accepted_in_canonical_case() {
        for (tag, canonical) in [
            ("en", "en"),
            ("en-US", "en-US"),
            ("en-us", "en-US"),
            ("EN-us", "en-US"),
            ("NYC", "nyc"),
            ("fil-PH", "fil-PH"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("sr-Latn", "sr-Latn"),
            ("es-419", "es-419"),
            ("de-CH-1901", "de-CH-1901"),
            ("sl-rozaj-biske", "sl-rozaj-biske"),
            ("zh-yue-HK", "zh-yue-HK"),
            ("en-US-u-ca-gregory", "en-US-u-ca-gregory"),
            ("en-a-bbb-x-a-ccc", "en-a-bbb-x-a-ccc"),
            ("x-whatever", "x-whatever"),
            ("de-Qaaa-CH-x-phonebk", "de-Qaaa-CH-x-phonebk"),
        ] {
            assert_eq!(bcp47_canonical(tag).as_deref(), Ok(canonical), "{tag}");
        }
    }

    #[test]
    fn malformed_tags_are_rejected() {
        for tag in [
            "",
            "e",
            "en_US",
            "en-",
            "-en",
            "en--US",
            "abcd",
            "abcdefghi",
            "en-US-",
            "de-419-DE",
            "a-DE",
            "ar-a-aaa-b-bbb-a-ccc",
            "en-x",
            "en-u",
            "de-1996-1996",
            "en US",
            "é",
            "en-Latn-US-toolongvariant",
        ] {
            assert!(bcp47_canonical(tag).is_err(), "{tag:?} was accepted");
        }
    }

    #[test]
    fn names_must_be_non_blank_bounded_and_printable() {
        assert!(PersonName::parse("peter").is_ok());
        assert!(PersonName::parse("Zoë O'Brien-Łukasz").is_ok());
        assert!(PersonName::parse("").is_err());
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(NAME_MAX_CHARS)).is_ok());
        assert!(PersonName::parse(&"x".repeat(NAME_MAX_CHARS + 1)).is_err());
        // Counted in characters, not bytes.
        assert!(PersonName::parse(&"é".repeat(NAME_MAX_CHARS)).is_ok());
        assert!(PersonName::parse("nul\0byte").is_err());
    }

    #[test]
    fn ages_are_integers_in_range() {
        assert_eq!(Age::from_json(&json!(42)).map(Age::get), Ok(42));
        assert_eq!(Age::from_json(&json!(42.0)).map(Age::get), Ok(42));
        assert_eq!(Age::from_json(&json!(0)).map(Age::get), Ok(0));
        assert_eq!(Age::from_json(&json!(150)).map(Age::get), Ok(150));
        for bad in [
            json!(-1),
            json!(151),
            json!(42.5),
            json!("42"),
            json!(true),
            json!(1e300),
            json!(u64::MAX),
        ] {
            assert!(Age::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = person_from_json(
            &json!({"name": "", "age": "old", "extra": 1}),
            Rules::NativeCreate,
            "",
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "age", "locale", "extra"]);
    }

    #[test]
    fn compatible_rules_ignore_extra_keys_and_keep_free_text_locales() {
        let person = person_from_json(
            &json!({"name": "peter", "locale": "NYC", "age": 42, "id": 7, "x": 1}),
            Rules::Compatible,
            "",
        )
        .unwrap();
        assert_eq!(person.locale.as_str(), "NYC");
        assert!(
            person_from_json(
                &json!({"name": "p", "locale": "New York", "age": 1}),
                Rules::Compatible,
                ""
            )
            .is_ok()
        );
        assert!(
            person_from_json(
                &json!({"name": "p", "locale": "New York", "age": 1}),
                Rules::NativeCreate,
                ""
            )
            .is_err()
        );
    }

    #[test]
    fn replace_allows_only_the_urls_id() {
        let body = json!({"id": 3, "name": "a", "age": 1, "locale": "en"});
        assert!(
            person_from_json(
                &body,
                Rules::NativeReplace {
                    id: 3,
                    unchanged_locale: None
                },
                ""
            )
            .is_ok()
        );
        let errors = person_from_json(
            &body,
            Rules::NativeReplace {
                id: 4,
                unchanged_locale: None,
            },
            "",
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "id");
        assert!(person_from_json(&body, Rules::NativeCreate, "").is_err());
    }

    #[test]
    fn a_patch_keeps_an_untouched_free_text_locale_as_stored() {
        let body = json!({"name": "a", "age": 1, "locale": "New York"});
        let keep = Rules::NativeReplace {
            id: 1,
            unchanged_locale: Some("New York"),
        };
        let person = person_from_json(&body, keep, "").unwrap();
        assert_eq!(person.locale.as_str(), "New York");
        let changed = json!({"name": "a", "age": 1, "locale": "Old York"});
        assert!(person_from_json(&changed, keep, "").is_err());
    }

    /// The patterns in the OpenAPI document accept exactly what the parsers do
    /// (a repeated variant or singleton aside: a regular expression without
    /// case-insensitive back-references cannot say that, so the description does).
    mod documented_patterns {
        use super::*;
        use proptest::prelude::*;
        use regex::Regex;

        fn tag_from_subtags() -> impl Strategy<Value = String> {
            let subtag = prop_oneof![
                Just("en"),
                Just("DE"),
                Just("zh"),
                Just("yue"),
                Just("Latn"),
                Just("419"),
                Just("US"),
                Just("1901"),
                Just("rozaj"),
                Just("toolongvariant"),
                Just("u"),
                Just("x"),
                Just("X"),
                Just("a"),
                Just("ca"),
                Just("b"),
                Just("abcd"),
                Just("fil"),
                Just("12"),
                Just(""),
                Just("é"),
                Just("_"),
                Just("1a2b"),
            ];
            (prop::collection::vec(subtag, 0..7), any::<bool>()).prop_map(|(parts, dash)| {
                let tag = parts.join("-");
                if dash { format!("{tag}-") } else { tag }
            })
        }

        proptest! {
            #[test]
            fn the_locale_pattern_is_the_locale_parser(tag in tag_from_subtags()) {
                let pattern = Regex::new(LOCALE_PATTERN).unwrap();
                let parsed = bcp47_canonical(&tag);
                let repeated = matches!(&parsed, Err(why) if why.contains("is repeated"));
                if !repeated {
                    prop_assert_eq!(pattern.is_match(&tag), parsed.is_ok(), "{:?}", tag);
                }
            }

            #[test]
            fn the_name_pattern_is_the_name_parser(name in "[ a\\t\\u{0}\\u{85}\\u{a0}é\\u{2028}\\u{7f}]{0,6}") {
                let pattern = Regex::new(NAME_PATTERN).unwrap();
                prop_assert_eq!(pattern.is_match(&name), PersonName::parse(&name).is_ok(), "{:?}", name);
            }
        }
    }
}
