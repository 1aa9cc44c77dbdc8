//! Conditional requests (RFC 9110 §13): the entity tags of `If-Match` and
//! `If-None-Match`, compared the way each header asks, and the `304` that
//! answers a matching `If-None-Match`. (`412` is
//! [`ApiError::PreconditionFailed`](super::error::ApiError::PreconditionFailed).)

use axum::http::header::{self, HeaderName};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One entity tag of a condition: `"x"`, or weak `W/"x"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    pub weak: bool,
    /// The tag without its quotes.
    pub opaque: String,
}

/// What an `If-Match` or `If-None-Match` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `*`: any current representation.
    Any,
    /// These tags, from every value of the header, in order.
    Tags(Vec<EntityTag>),
}

impl Condition {
    /// The condition in header `name`, from all its values; `None` when the
    /// header is absent. A value that is not visible ASCII names no tag.
    /// Like common servers (werkzeug's `parse_etags`), an unquoted tag is
    /// read up to the next comma rather than refused.
    pub fn of(headers: &HeaderMap, name: HeaderName) -> Option<Condition> {
        let mut values = headers.get_all(name).iter().peekable();
        values.peek()?;
        let mut tags = Vec::new();
        for value in values {
            let Ok(text) = value.to_str() else { continue };
            if text.trim() == "*" {
                return Some(Condition::Any);
            }
            tags.extend(entity_tags(text).filter(|tag| !tag.opaque.is_empty()));
        }
        Some(Condition::Tags(tags))
    }

    /// Weak comparison, as `If-None-Match` asks: `W/"x"` matches `"x"`.
    pub fn matches_weakly(&self, opaque: &str) -> bool {
        match self {
            Condition::Any => true,
            Condition::Tags(tags) => tags.iter().any(|tag| tag.opaque == opaque),
        }
    }

    /// The strong tags, as `If-Match` compares them: a weak tag matches nothing.
    pub fn strong_tags(&self) -> impl Iterator<Item = &str> {
        let tags = match self {
            Condition::Any => &[][..],
            Condition::Tags(tags) => tags.as_slice(),
        };
        tags.iter()
            .filter(|tag| !tag.weak)
            .map(|tag| tag.opaque.as_str())
    }
}

/// Whether `If-None-Match` names the representation whose entity tag is
/// `etag` (quoted, as sent in `ETag`).
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    Condition::of(headers, header::IF_NONE_MATCH)
        .is_some_and(|condition| condition.matches_weakly(etag.trim_matches('"')))
}

/// `304 Not Modified` with the representation's `ETag`.
pub fn not_modified(etag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(etag) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

fn entity_tags(text: &str) -> impl Iterator<Item = EntityTag> + '_ {
    let mut rest = text;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            return None;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let opaque = match rest.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').unwrap_or(quoted.len());
                rest = quoted.get(end + 1..).unwrap_or_default();
                &quoted[..end]
            }
            None => {
                let end = rest.find(',').unwrap_or(rest.len());
                let token = rest[..end].trim();
                rest = &rest[end..];
                token
            }
        };
        Some(EntityTag {
            weak,
            opaque: opaque.to_owned(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: HeaderName, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(name.clone(), HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn tags_are_read_from_every_value_weak_or_strong_quoted_or_not() {
        let h = headers(header::IF_MATCH, &[r#""a", W/"b""#, r#"c , "d,e""#]);
        let condition = Condition::of(&h, header::IF_MATCH).expect("present");
        assert_eq!(
            condition.strong_tags().collect::<Vec<_>>(),
            ["a", "c", "d,e"]
        );
        assert!(condition.matches_weakly("b"));
        assert!(!condition.matches_weakly("z"));
        assert_eq!(Condition::of(&HeaderMap::new(), header::IF_MATCH), None);
        let any = headers(header::IF_MATCH, &["*"]);
        assert_eq!(Condition::of(&any, header::IF_MATCH), Some(Condition::Any));
        assert_eq!(Condition::Any.strong_tags().count(), 0);
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let etag = "\"abc\"";
        let hit = |value: &str| none_match(&headers(header::IF_NONE_MATCH, &[value]), etag);
        assert!(hit("\"abc\""));
        assert!(hit("W/\"abc\""));
        assert!(hit("\"x\", \"abc\""));
        assert!(hit("*"));
        assert!(hit("abc"), "unquoted, as common servers accept it");
        assert!(!hit("\"abcd\""));
        assert!(!none_match(&HeaderMap::new(), etag));
    }

    #[test]
    fn an_unclosed_quote_does_not_panic_and_matches_what_it_holds() {
        let h = headers(header::IF_NONE_MATCH, &["\"abc"]);
        assert!(none_match(&h, "\"abc\""));
        let h = headers(header::IF_NONE_MATCH, &["W/"]);
        assert!(
            !none_match(&h, "\"\""),
            "an empty weak tag names nothing real"
        );
    }

    #[test]
    fn not_modified_carries_the_etag() {
        let response = not_modified("\"v1\"");
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()[header::ETAG], "\"v1\"");
    }
}
