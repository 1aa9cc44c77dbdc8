//! Range requests on stored content (RFC 9110 §14): `Range` and `If-Range`,
//! for a representation whose strong validator is its digest.
//! (`If-None-Match` is [`crate::http::conditional`].)
//!
//! One byte range is served (206). Several ranges in one request are answered
//! with the whole content (200), which RFC 9110 allows (a server may ignore
//! `Range`); so is a `Range` that does not parse or uses another unit.

use std::ops::Range;

use axum::http::HeaderValue;

/// What to send for a `Range` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAnswer {
    /// 200, the whole content.
    Full,
    /// 206, these bytes.
    Partial(Range<u64>),
    /// 416: no byte of the range exists.
    Unsatisfiable,
}

/// The answer to `Range` (and `If-Range`) for content of `size` bytes whose
/// strong entity tag is `etag`.
pub fn evaluate(
    range: Option<&HeaderValue>,
    if_range: Option<&HeaderValue>,
    etag: &str,
    size: u64,
) -> RangeAnswer {
    let Some(range) = range.and_then(|r| r.to_str().ok()) else {
        return RangeAnswer::Full;
    };
    // If-Range holds a validator; only our strong entity tag keeps the range
    // (we send no Last-Modified, so a date never matches).
    if let Some(if_range) = if_range
        && if_range.as_bytes() != etag.as_bytes()
    {
        return RangeAnswer::Full;
    }
    let Some((unit, set)) = range.split_once('=') else {
        return RangeAnswer::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeAnswer::Full;
    }
    let specs: Vec<&str> = set
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let [spec] = specs.as_slice() else {
        return RangeAnswer::Full;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAnswer::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    match (first.is_empty(), last.is_empty()) {
        // `-n`: the last n bytes.
        (true, false) => match digits(last) {
            None => RangeAnswer::Full,
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(_) if size == 0 => RangeAnswer::Unsatisfiable,
            Some(n) => RangeAnswer::Partial(size.saturating_sub(n)..size),
        },
        // `a-`: from a to the end.
        (false, true) => match digits(first) {
            Some(a) if a >= size => RangeAnswer::Unsatisfiable,
            Some(a) => RangeAnswer::Partial(a..size),
            None => RangeAnswer::Full,
        },
        // `a-b`, both inclusive.
        (false, false) => match (digits(first), digits(last)) {
            (Some(a), Some(b)) if a > b => RangeAnswer::Full,
            (Some(a), Some(_)) if a >= size => RangeAnswer::Unsatisfiable,
            (Some(a), Some(b)) => RangeAnswer::Partial(a..b.saturating_add(1).min(size)),
            _ => RangeAnswer::Full,
        },
        (true, true) => RangeAnswer::Full,
    }
}

/// A run of ASCII digits; a number too large for `u64` saturates (it is past
/// the end of any content either way).
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "\"abc\"";

    fn answer(range: &str, size: u64) -> RangeAnswer {
        evaluate(
            Some(&HeaderValue::from_str(range).unwrap()),
            None,
            ETAG,
            size,
        )
    }

    #[test]
    fn single_ranges_of_every_form() {
        assert_eq!(answer("bytes=0-0", 10), RangeAnswer::Partial(0..1));
        assert_eq!(answer("bytes=2-5", 10), RangeAnswer::Partial(2..6));
        assert_eq!(answer("bytes=2-", 10), RangeAnswer::Partial(2..10));
        assert_eq!(answer("bytes=5-100", 10), RangeAnswer::Partial(5..10));
        assert_eq!(answer("bytes=-3", 10), RangeAnswer::Partial(7..10));
        assert_eq!(answer("bytes=-30", 10), RangeAnswer::Partial(0..10));
        assert_eq!(answer("Bytes = 1-1 ", 10), RangeAnswer::Partial(1..2));
        assert_eq!(
            answer("bytes=0-99999999999999999999999", 10),
            RangeAnswer::Partial(0..10)
        );
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable() {
        assert_eq!(answer("bytes=10-", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(answer("bytes=10-20", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(answer("bytes=-0", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(answer("bytes=0-", 0), RangeAnswer::Unsatisfiable);
        assert_eq!(answer("bytes=-5", 0), RangeAnswer::Unsatisfiable);
        assert_eq!(
            answer("bytes=99999999999999999999999-", 10),
            RangeAnswer::Unsatisfiable
        );
    }

    #[test]
    fn malformed_multiple_or_foreign_ranges_get_the_whole_content() {
        for range in [
            "bytes=0-1,4-5",
            "bytes=5-2",
            "bytes=x-2",
            "bytes=-",
            "bytes=1--2",
            "bytes=+1-2",
            "items=0-1",
            "bytes",
            "bytes=",
        ] {
            assert_eq!(answer(range, 10), RangeAnswer::Full, "{range}");
        }
        assert_eq!(evaluate(None, None, ETAG, 10), RangeAnswer::Full);
    }

    #[test]
    fn if_range_keeps_the_range_only_for_our_entity_tag() {
        let range = HeaderValue::from_static("bytes=0-1");
        let ours = HeaderValue::from_static("\"abc\"");
        let other = HeaderValue::from_static("\"xyz\"");
        let weak = HeaderValue::from_static("W/\"abc\"");
        let date = HeaderValue::from_static("Sat, 01 Jan 2000 00:00:00 GMT");
        assert_eq!(
            evaluate(Some(&range), Some(&ours), ETAG, 10),
            RangeAnswer::Partial(0..2)
        );
        for validator in [other, weak, date] {
            assert_eq!(
                evaluate(Some(&range), Some(&validator), ETAG, 10),
                RangeAnswer::Full
            );
        }
    }
}
