//! What the echo routes' OpenAPI document says that an annotation cannot:
//! query parameters that are maps with constrained names and values, and
//! maxima that are settings (the body limit), written in at mount.

use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa::{Number, PartialSchema, ToSchema};

use super::EchoConfig;

/// A header value as `HeaderValue` takes it: no control character but tab.
const HEADER_VALUE: &str = "^[^\\x00-\\x08\\x0A-\\x1F\\x7F]*$";
/// A header name: an RFC 9110 token.
const HEADER_NAME: &str = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/// A cookie name or value as `/cookies/set` takes it: printable ASCII but
/// `"`, `,`, `;`, `=` and `\`, at least one character.
const COOKIE_PART: &str = "^[\\x21\\x23-\\x2B\\x2D-\\x3A\\x3C\\x3E-\\x5B\\x5D-\\x7E]+$";

/// A Go duration as `httpbin::parse_seconds` takes it: `1.5s`, `500ms`,
/// `1m30s` (no sign but an optional `+`).
const GO_DURATION: &str =
    "^\\+?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|\u{b5}s|\u{3bc}s|ms|s|m|h))+$";

fn pattern(regex: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(regex))
        .into()
}

fn map_of(names: Schema, values: Schema) -> RefOr<Schema> {
    let mut map = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(values))
        .build();
    map.property_names = Some(Box::new(names));
    Schema::Object(map).into()
}

/// `/response-headers`' query: header names to values.
pub struct HeaderPairs;

impl PartialSchema for HeaderPairs {
    fn schema() -> RefOr<Schema> {
        map_of(pattern(HEADER_NAME), pattern(HEADER_VALUE))
    }
}

impl ToSchema for HeaderPairs {}

/// `/trailers`' query: trailer names to values. A name the route refuses
/// (a forbidden trailer, a hop-by-hop or framing header, in any case) is
/// ruled out by the document too.
pub struct TrailerPairs;

impl PartialSchema for TrailerPairs {
    fn schema() -> RefOr<Schema> {
        let mut names = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(HEADER_NAME))
            .build();
        let refused = super::gohttpbin::FORBIDDEN_TRAILERS
            .iter()
            .chain(crate::http::hop_headers::HOP_BY_HOP_AND_FRAMING.iter());
        // utoipa's `Object` has no `not`; its flattened extension map writes
        // the member all the same.
        let not = serde_json::json!({ "pattern": any_case_alternatives(refused) });
        names.extensions = Some(Extensions::from_iter([("not", not)]));
        map_of(Schema::Object(names), pattern(HEADER_VALUE))
    }
}

impl ToSchema for TrailerPairs {}

/// `^(a|b)$` for these lower-case header names (letters and `-`) in any
/// case, each letter as `[xX]` (JSON Schema's regular expressions have no
/// case-insensitive flag).
fn any_case_alternatives<'a>(names: impl Iterator<Item = &'a &'a str>) -> String {
    let alternatives: Vec<String> = names
        .map(|name| {
            name.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                    } else {
                        // `-`: literal outside a class, and unescaped, as
                        // `\-` is an error in a Unicode-mode pattern.
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    format!("^({})$", alternatives.join("|"))
}

/// `/cookies/set`'s query: cookie names to values.
pub struct CookiePairs;

impl PartialSchema for CookiePairs {
    fn schema() -> RefOr<Schema> {
        map_of(pattern(COOKIE_PART), pattern(COOKIE_PART))
    }
}

impl ToSchema for CookiePairs {}

/// A wait: seconds as a non-negative number (httpbin's form) or a Go
/// duration (go-httpbin's), as `httpbin::parse_seconds` reads it.
pub struct Wait;

impl PartialSchema for Wait {
    fn schema() -> RefOr<Schema> {
        let seconds = ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(0));
        Schema::AnyOf(
            AnyOfBuilder::new()
                .item(seconds)
                .item(pattern(GO_DURATION))
                .build(),
        )
        .into()
    }
}

impl ToSchema for Wait {}

/// `/cookies/delete`'s query: cookie names (values ignored).
pub struct CookieNames;

impl PartialSchema for CookieNames {
    fn schema() -> RefOr<Schema> {
        map_of(
            pattern(COOKIE_PART),
            ObjectBuilder::new().schema_type(Type::String).into(),
        )
    }
}

impl ToSchema for CookieNames {}

/// Writes the maxima that are settings into the document of the httpbin
/// routes (paths relative to the prefix): `n` of `/bytes/{n}`, `numbytes`
/// of `/drip` and the sizes of `/websocket/echo` are at most the body limit.
pub fn document_limits(openapi: &mut OpenApi, config: &EchoConfig) {
    let body_limit = Number::UInt(config.max_response_bytes);
    for (path, name) in [
        ("/bytes/{n}", "n"),
        ("/drip", "numbytes"),
        ("/websocket/echo", "max_fragment_size"),
        ("/websocket/echo", "max_message_size"),
    ] {
        set_maximum(openapi, path, name, body_limit.clone());
    }
}

fn set_maximum(openapi: &mut OpenApi, path: &str, name: &str, maximum: Number) {
    let parameters = openapi
        .paths
        .paths
        .get_mut(path)
        .and_then(|item| item.get.as_mut())
        .and_then(|operation| operation.parameters.as_mut());
    for parameter in parameters.into_iter().flatten() {
        if let RefOr::T(parameter) = parameter
            && parameter.name == name
            && let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut()
        {
            schema.maximum = Some(maximum.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document's pattern and the parser agree, so the fuzzer's
    /// "matches the schema" is the server's "accepted".
    #[test]
    fn the_duration_pattern_is_what_the_parser_takes() {
        let pattern = regex::Regex::new(GO_DURATION).unwrap();
        for text in [
            "1s",
            "1.5s",
            ".5s",
            "5.s",
            "500ms",
            "1m30s",
            "+2h",
            "3\u{b5}s",
            "3\u{3bc}s",
            "7ns",
            "1h2m3s4ms5us6ns",
            "-1s",
            "s",
            ".s",
            "1.2.3s",
            "1sec",
            "1s2",
            "1 s",
            "1d",
            "+",
            "++1s",
            "1S",
            "0x1s",
        ] {
            assert_eq!(
                pattern.is_match(text),
                super::super::httpbin::parse_seconds(text).is_ok(),
                "{text}"
            );
        }
    }

    /// The document rules out exactly the trailer names the route refuses.
    #[test]
    fn the_refused_trailer_names_are_ruled_out_in_any_case() {
        let RefOr::T(Schema::Object(map)) = TrailerPairs::schema() else {
            panic!("an object");
        };
        let names = serde_json::to_value(map.property_names).unwrap();
        assert!(names["not"]["pattern"].is_string(), "{names}");
        let allowed = regex::Regex::new(names["pattern"].as_str().unwrap()).unwrap();
        let refused = regex::Regex::new(names["not"]["pattern"].as_str().unwrap()).unwrap();
        let accepted = |name: &str| allowed.is_match(name) && !refused.is_match(name);
        for name in [
            "Content-Type",
            "TE",
            "te",
            "Trailer",
            "set-cookie",
            "Connection",
            "Keep-Alive",
        ] {
            assert!(!accepted(name), "{name}");
        }
        for name in ["X-Sum", "Server-Timing", "Expires", "tea", "X-Content-Type"] {
            assert!(accepted(name), "{name}");
        }
    }

    #[test]
    fn the_body_limit_is_the_documented_maximum() {
        let config = EchoConfig {
            prefix: "/echo".into(),
            max_delay: std::time::Duration::from_secs(1),
            redirect_allow: Vec::new(),
            max_response_bytes: 1234,
            max_events: 10,
            cors: true,
        };
        let router = super::super::httpbin_router(config);
        let document = serde_json::to_value(router.get_openapi()).unwrap();
        let maximum_of = |path: &str, name: &str| {
            document["paths"][path]["get"]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|parameter| parameter["name"] == name)
                .map(|parameter| parameter["schema"]["maximum"].clone())
        };
        assert_eq!(maximum_of("/bytes/{n}", "n"), Some(1234.into()));
        assert_eq!(maximum_of("/drip", "numbytes"), Some(1234.into()));
        assert_eq!(
            maximum_of("/websocket/echo", "max_message_size"),
            Some(1234.into())
        );
    }
}
