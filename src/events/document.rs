//! What the OpenAPI document says the events routes take, written so that a
//! value the document allows is one the parsers accept, and the other way
//! round: the patterns below spell out [`model::parse_timestamp`],
//! [`model::parse_offset`] and [`Cursor::decode`] (the unit tests hold them
//! to it), and the limits set from the settings are the ones enforced.
//!
//! [`model::parse_timestamp`]: super::model::parse_timestamp
//! [`model::parse_offset`]: super::model::parse_offset
//! [`Cursor::decode`]: super::store::Cursor::decode

use utoipa::openapi::path::{Operation, Parameter};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Object, OpenApi, RefOr, Schema};

/// A year the times may name. Storable times run from 1900 to 9999 (UTC);
/// the first and last year are left out so that no offset can carry a
/// documented time out of that range.
const YEAR: &str = "(?:190[1-9]|19[1-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])";
/// The leap years among those (for February 29th).
const LEAP_YEAR: &str =
    "(?:(?:19|[2-9][0-9])(?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)";
const MONTH_DAY: &str = "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))";
const TIME_OF_DAY: &str = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]";
const FRACTION: &str = "(?:\\.[0-9]{1,9})?";
/// An RFC 3339 offset.
const RFC3339_OFFSET: &str = "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
/// What [`super::model::parse_offset`] takes: `Z`, `UTC`, `+05:30`, `-0800`, `+02`.
const OFFSET: &str = "(?:[Zz]|[Uu][Tt][Cc]|[+-](?:0[0-9]|1[0-4])(?::?[0-5][0-9])?)";

/// `YYYY-MM-DD`, a real day of a documented year.
pub fn date_regex() -> String {
    format!("(?:{YEAR}-{MONTH_DAY}|{LEAP_YEAR}-02-29)")
}

/// Every form [`super::model::parse_timestamp`] reads: seconds since the
/// epoch (digits), RFC 3339, a date, a date and time without offset (`T` or
/// space), either followed by a space and an offset (`UTC`, `+0200`).
pub fn time_regex() -> String {
    let date = date_regex();
    let naive = format!("{date}(?:[T ]{TIME_OF_DAY}{FRACTION})?");
    format!(
        "(?:[0-9]{{1,11}}|{date}T{TIME_OF_DAY}{FRACTION}{RFC3339_OFFSET}|{naive}(?: {OFFSET})?)"
    )
}

/// The original routes' times: `YYYY-MM-DD HH:MM:SS` (or with `T`), or a date.
pub fn compat_time_regex() -> String {
    format!("{}(?:[T ]{TIME_OF_DAY})?", date_regex())
}

pub fn offset_regex() -> String {
    OFFSET.to_owned()
}

/// A `next_cursor` (`<time_ms>.<seq>`), or nothing.
pub fn cursor_regex() -> String {
    "(?:-?[0-9]{1,18}\\.-?[0-9]{1,18})?".to_owned()
}

fn anchored(regex: &str) -> String {
    format!("^{regex}$")
}

/// The pattern of a query or path parameter, by its name (the names mean
/// the same on every events route).
fn parameter_regex(name: &str) -> Option<String> {
    match name {
        "from" | "to" => Some(time_regex()),
        "fromDate" | "toDate" => Some(compat_time_regex()),
        "day" => Some(date_regex()),
        "tz" => Some(offset_regex()),
        "cursor" => Some(cursor_regex()),
        // Anything but the NUL character, which no stored event holds and
        // the queries refuse (see `model::refuse_nul`).
        "actor" | "engineer" | "service" | "environment" | "kind" => Some("[^\\u0000]*".into()),
        _ => None,
    }
}

/// Writes into the events routes' document what their annotations cannot
/// hold: the patterns of the parameters (spelt out once, here) and the
/// configured largest page (`events.max_per_page`) as `limit`'s maximum.
pub fn finish(openapi: &mut OpenApi, max_per_page: u32) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.head,
            &mut item.post,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            for parameter in parameters_mut(operation) {
                let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() else {
                    continue;
                };
                if parameter.name == "limit" && path == "/v1/events" {
                    schema.maximum = Some(max_per_page.into());
                } else if let Some(regex) = parameter_regex(&parameter.name)
                    && schema.schema_type == SchemaType::Type(Type::String)
                {
                    schema.pattern = Some(anchored(&regex));
                }
            }
        }
    }
}

/// Whitespace an event's texts are trimmed of before they are checked
/// (what `str::trim` removes, in the ASCII and Latin-1 range).
const TRIMMED: &str = "[\\t\\n\\u000b\\u000c\\r \\u0085\\u00a0]*";

/// An optional text of an event (`id`, `actor`, ...): at most
/// [`MAX_TEXT_LEN`](super::model::MAX_TEXT_LEN) bytes once trimmed, no control
/// character but the whitespace around it.
pub fn event_text_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(super::model::MAX_TEXT_LEN))
        .pattern(Some(format!(
            "^{TRIMMED}[^\\u0000-\\u001f\\u007f-\\u009f]*{TRIMMED}$"
        )))
        .description(Some(format!(
            "At most {} bytes (UTF-8) once trimmed; no control character.",
            super::model::MAX_TEXT_LEN
        )))
        .build()
}

/// An event's `time`: a text of [`time_regex`], or seconds since the epoch
/// within the storable range.
pub fn event_time_schema() -> Object {
    // `pattern` applies to the text, `minimum`/`maximum` to the number.
    ObjectBuilder::new()
        .description(Some(
            "RFC 3339 text (`2017-11-01T12:00:00Z`, or another form of `/v1/events`' `from`), \
             or a number of seconds since the epoch; 1900 to 9999.",
        ))
        .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
        .pattern(Some(anchored(&time_regex())))
        .minimum(Some(super::model::MIN_TIME_MS / 1000))
        .maximum(Some(super::model::MAX_TIME_MS / 1000))
        .examples(["2017-11-01T12:00:00Z"])
        .build()
}

fn parameters_mut(operation: &mut Operation) -> impl Iterator<Item = &mut Parameter> {
    operation
        .parameters
        .iter_mut()
        .flatten()
        .filter_map(|parameter| match parameter {
            RefOr::T(parameter) => Some(parameter),
            RefOr::Ref(_) => None,
        })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::string::string_regex;

    use super::*;
    use crate::events::model;
    use crate::events::store::Cursor;

    fn matches(regex: &str, text: &str) -> bool {
        regex::Regex::new(&anchored(regex))
            .map(|r| r.is_match(text))
            .unwrap_or(false)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_documented_time_is_read(text in string_regex(&time_regex()).unwrap()) {
            prop_assert!(model::parse_timestamp(&text).is_ok(), "{text}");
        }

        #[test]
        fn every_documented_offset_is_read(text in string_regex(&offset_regex()).unwrap()) {
            prop_assert!(model::parse_offset(&text).is_some(), "{text}");
        }

        #[test]
        fn every_documented_cursor_is_read(text in string_regex(&cursor_regex()).unwrap()) {
            prop_assert!(text.is_empty() || Cursor::decode(&text).is_some(), "{text}");
        }
    }

    #[test]
    fn documented_times_are_those_of_the_docs() {
        for text in [
            "2017-11-01T12:00:00Z",
            "2017-11-01T12:00:00.250+02:00",
            "2017-11-01",
            "2017-11-01 12:00:00",
            "2016-08-12 15:23:28 UTC",
            "2021-04-28 21:50:00 +0200",
            "2024-02-29",
            "1509537600",
        ] {
            assert!(matches(&time_regex(), text), "{text}");
            assert!(model::parse_timestamp(text).is_ok(), "{text}");
        }
        for text in [
            "2023-02-29",
            "2017-13-01",
            "yesterday",
            "",
            "2017-11-01T12:00:00",
        ] {
            let documented = matches(&time_regex(), text);
            let read = model::parse_timestamp(text).is_ok();
            assert_eq!(documented, read, "{text}");
        }
        assert!(matches(&compat_time_regex(), "2017-11-01 12:00:00"));
        assert!(!matches(&compat_time_regex(), "2017-11-01T12:00:00Z"));
        assert!(matches(&date_regex(), "2000-02-29"));
        assert!(!matches(&date_regex(), "1900-02-29"));
        assert!(!matches(&date_regex(), "2100-02-29"));
    }
}
