//! WireMock's date-time matchers: `before`, `after` and `equalToDateTime`,
//! against a fixed time or `now` (with an offset), with optional truncation
//! of either side and a format for the actual value.

use serde_json::{Map, Value};
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::format_description::{OwnedFormatItem, parse_owned};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime};

/// Which comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Before,
    After,
    EqualTo,
}

impl Comparison {
    pub fn key(self) -> &'static str {
        match self {
            Comparison::Before => "before",
            Comparison::After => "after",
            Comparison::EqualTo => "equalToDateTime",
        }
    }
}

#[derive(Debug, Clone)]
enum Expected {
    At(OffsetDateTime),
    /// The time of the request, moved by this much.
    Now(Offset),
}

/// An offset in calendar units (months and years have no fixed length).
#[derive(Debug, Clone, Copy, Default)]
struct Offset {
    months: i64,
    duration: Duration,
}

impl Offset {
    fn add(self, other: Offset) -> Option<Offset> {
        Some(Offset {
            months: self.months.checked_add(other.months)?,
            duration: self.duration.checked_add(other.duration)?,
        })
    }

    fn apply(self, time: OffsetDateTime) -> Option<OffsetDateTime> {
        add_months(time, self.months)?.checked_add(self.duration)
    }
}

use crate::mocks::truncation::Truncation;

/// `time` truncated on its own offset's clocks.
fn truncate(truncation: Truncation, time: OffsetDateTime) -> Option<OffsetDateTime> {
    let (date, clock) = truncation.on_calendar(time.date(), time.time())?;
    Some(PrimitiveDateTime::new(date, clock).assume_offset(time.offset()))
}

/// Adds calendar months, keeping the day within the month (Jan 31 + 1 month
/// is Feb 28 or 29, as java.time does).
fn add_months(time: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    if months == 0 {
        return Some(time);
    }
    let date = time.date();
    let index = (i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1)
        .checked_add(months)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = date.day().min(month.length(year));
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(time.replace_date(date))
}

/// A whole number, written as an integer or as a float with no fraction
/// (`3.0`), as WireMock (Jackson) reads one.
fn whole_number(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        let f = value.as_f64()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

/// `3 days`, `-1 hours`, `+2 months`: an amount and a unit.
fn parse_offset(amount: i64, unit: &str) -> Option<Offset> {
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.strip_suffix('s').unwrap_or(&unit);
    // Checked: the amount comes from a stub.
    let seconds = |per: i64| amount.checked_mul(per).map(Duration::seconds);
    let (months, duration) = match unit {
        "second" => (0, seconds(1)?),
        "minute" => (0, seconds(60)?),
        "hour" => (0, seconds(3_600)?),
        "day" => (0, seconds(86_400)?),
        "week" => (0, seconds(604_800)?),
        "month" => (amount, Duration::ZERO),
        "year" => (amount.checked_mul(12)?, Duration::ZERO),
        _ => return None,
    };
    Some(Offset { months, duration })
}

/// A date-time as WireMock reads one: RFC 3339 / ISO 8601 with an offset, a
/// local date-time or a date (read as UTC), or RFC 1123 / 2822.
fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let local = time::macros::format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
    );
    if let Ok(t) = PrimitiveDateTime::parse(text, &local) {
        return Some(t.assume_utc());
    }
    let date = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(text, &date) {
        return Some(d.midnight().assume_utc());
    }
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc2822) {
        return Some(t);
    }
    httpdate::parse_http_date(text)
        .ok()
        .map(OffsetDateTime::from)
}

/// How the actual value is written (`actualFormat`).
#[derive(Debug, Clone)]
enum ActualFormat {
    /// Seconds since the epoch.
    Unix,
    /// Milliseconds since the epoch.
    Epoch,
    Pattern(OwnedFormatItem),
}

/// A Java `DateTimeFormatter` pattern (`dd/MM/yyyy HH:mm:ss`) in the `time`
/// crate's description language; `None` for a letter it has no equivalent for.
fn java_pattern(pattern: &str) -> Option<String> {
    const LETTERS: [(&str, &str); 12] = [
        ("yyyy", "[year]"),
        ("uuuu", "[year]"),
        ("yy", "[year repr:last_two]"),
        ("MMM", "[month repr:short]"),
        ("MM", "[month]"),
        ("dd", "[day]"),
        ("HH", "[hour]"),
        ("hh", "[hour repr:12]"),
        ("mm", "[minute]"),
        ("ss", "[second]"),
        ("SSS", "[subsecond digits:3]"),
        ("a", "[period]"),
    ];
    let mut out = String::new();
    let mut rest = pattern;
    'outer: while let Some(c) = rest.chars().next() {
        if c == '\'' {
            let end = rest[1..].find('\'')? + 1;
            out.push_str(&rest[1..end].replace('[', "[["));
            rest = &rest[end + 1..];
            continue;
        }
        for (java, ours) in LETTERS {
            if let Some(after) = rest.strip_prefix(java) {
                out.push_str(ours);
                rest = after;
                continue 'outer;
            }
        }
        if c.is_ascii_alphabetic() {
            return None;
        }
        if c == '[' {
            out.push_str("[[");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}

impl ActualFormat {
    fn parse(text: &str) -> Result<ActualFormat, String> {
        match text {
            "unix" => Ok(ActualFormat::Unix),
            "epoch" => Ok(ActualFormat::Epoch),
            pattern => {
                let ours = java_pattern(pattern).ok_or_else(|| {
                    format!("`{pattern}`: a pattern letter echobase does not read")
                })?;
                parse_owned::<2>(&ours)
                    .map(ActualFormat::Pattern)
                    .map_err(|e| format!("`{pattern}`: {e}"))
            }
        }
    }

    fn read(&self, text: &str) -> Option<OffsetDateTime> {
        let text = text.trim();
        match self {
            ActualFormat::Unix => OffsetDateTime::from_unix_timestamp(text.parse().ok()?).ok(),
            ActualFormat::Epoch => OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(text.parse::<i64>().ok()?) * 1_000_000,
            )
            .ok(),
            ActualFormat::Pattern(format) => PrimitiveDateTime::parse(text, format)
                .map(PrimitiveDateTime::assume_utc)
                .or_else(|_| Date::parse(text, format).map(|d| d.midnight().assume_utc()))
                .ok(),
        }
    }
}

/// One date-time matcher, parsed when the stub is created.
#[derive(Debug, Clone)]
pub struct DateTimeMatcher {
    comparison: Comparison,
    expected: Expected,
    truncate_expected: Option<Truncation>,
    truncate_actual: Option<Truncation>,
    actual_format: Option<ActualFormat>,
    text: String,
}

/// The keys a date-time matcher may carry beside its comparison.
pub const DATE_TIME_OPTIONS: [&str; 5] = [
    "actualFormat",
    "expectedOffset",
    "expectedOffsetUnit",
    "truncateExpected",
    "truncateActual",
];

impl DateTimeMatcher {
    /// Reads `{"before": "now +3 days", "truncateActual": "first day of month", ...}`;
    /// each problem is a (field, message) pair.
    pub fn parse(
        comparison: Comparison,
        obj: &Map<String, Value>,
    ) -> Result<DateTimeMatcher, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let key = comparison.key();
        let text = obj
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut offset = Offset::default();
        let unit = obj
            .get("expectedOffsetUnit")
            .and_then(Value::as_str)
            .unwrap_or("days");
        if let Some(amount) = obj.get("expectedOffset").filter(|v| !v.is_null()) {
            match whole_number(amount).and_then(|a| parse_offset(a, unit)) {
                Some(o) => offset = o,
                None => errors.push((
                    "expectedOffset".to_owned(),
                    "must be a whole number, with expectedOffsetUnit seconds, minutes, hours, days, weeks, months or years".to_owned(),
                )),
            }
        } else if obj
            .get("expectedOffsetUnit")
            .is_some_and(|u| !u.is_null() && u.as_str().and_then(|u| parse_offset(0, u)).is_none())
        {
            errors.push((
                "expectedOffsetUnit".to_owned(),
                "must be seconds, minutes, hours, days, weeks, months or years".to_owned(),
            ));
        }
        let expected = match parse_expected(&text) {
            Some(Expected::Now(now)) => now.add(offset).map(Expected::Now),
            Some(Expected::At(at)) => Offset::apply(offset, at).map(Expected::At),
            None => None,
        };
        if expected.is_none() {
            errors.push((
                key.to_owned(),
                "must be a date-time (2026-01-31T12:00:00Z, 2026-01-31), or now with an offset (now +3 days)"
                    .to_owned(),
            ));
        }
        let truncation = |name: &str, errors: &mut Vec<(String, String)>| {
            let text = obj.get(name).filter(|v| !v.is_null())?;
            match text.as_str().map(Truncation::parse) {
                Some(Ok(found)) => Some(found),
                Some(Err(why)) => {
                    errors.push((name.to_owned(), why));
                    None
                }
                None => {
                    let why = format!("must be one of: {}", Truncation::names());
                    errors.push((name.to_owned(), why));
                    None
                }
            }
        };
        let truncate_expected = truncation("truncateExpected", &mut errors);
        let truncate_actual = truncation("truncateActual", &mut errors);
        let actual_format = match obj.get("actualFormat").filter(|v| !v.is_null()) {
            None => None,
            Some(Value::String(format)) => match ActualFormat::parse(format) {
                Ok(format) => Some(format),
                Err(e) => {
                    errors.push(("actualFormat".to_owned(), e));
                    None
                }
            },
            Some(_) => {
                errors.push(("actualFormat".to_owned(), "must be a string".to_owned()));
                None
            }
        };
        match expected {
            Some(expected) if errors.is_empty() => Ok(DateTimeMatcher {
                comparison,
                expected,
                truncate_expected,
                truncate_actual,
                actual_format,
                text,
            }),
            _ => Err(errors),
        }
    }

    fn expected_at(&self) -> Option<OffsetDateTime> {
        let at = match &self.expected {
            Expected::At(at) => *at,
            Expected::Now(offset) => offset.apply(OffsetDateTime::now_utc())?,
        };
        match self.truncate_expected {
            Some(t) => truncate(t, at),
            None => Some(at),
        }
    }

    fn actual_at(&self, actual: &str) -> Option<OffsetDateTime> {
        let at = match &self.actual_format {
            Some(format) => format.read(actual)?,
            None => parse_time(actual)?,
        };
        match self.truncate_actual {
            Some(t) => truncate(t, at),
            None => Some(at),
        }
    }

    pub fn matches(&self, actual: &str) -> bool {
        let (Some(expected), Some(actual)) = (self.expected_at(), self.actual_at(actual)) else {
            return false;
        };
        match self.comparison {
            Comparison::Before => actual < expected,
            Comparison::After => actual > expected,
            Comparison::EqualTo => actual == expected,
        }
    }

    pub fn describe(&self) -> String {
        let what = match self.comparison {
            Comparison::Before => "before",
            Comparison::After => "after",
            Comparison::EqualTo => "at",
        };
        format!("a date-time {what} `{}`", self.text)
    }
}

fn parse_expected(text: &str) -> Option<Expected> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix("now") else {
        return parse_time(text).map(Expected::At);
    };
    let rest = rest.trim();
    if rest.is_empty() {
        return Some(Expected::Now(Offset::default()));
    }
    // `+3 days`, `-1 hours`, `3 days`
    let (amount, unit) = rest.split_once(char::is_whitespace)?;
    let amount: i64 = amount.trim_start_matches('+').parse().ok()?;
    parse_offset(amount, unit).map(Expected::Now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matcher(value: Value) -> DateTimeMatcher {
        let obj = value.as_object().unwrap().clone();
        let comparison = [Comparison::Before, Comparison::After, Comparison::EqualTo]
            .into_iter()
            .find(|c| obj.contains_key(c.key()))
            .unwrap();
        DateTimeMatcher::parse(comparison, &obj).unwrap()
    }

    #[test]
    fn fixed_times_compare_across_formats() {
        let before = matcher(json!({"before": "2026-06-14T12:13:14Z"}));
        assert!(before.matches("2026-06-14T12:13:13Z"));
        assert!(before.matches("2026-06-14T13:13:13+02:00"));
        assert!(before.matches("2026-06-14"));
        assert!(before.matches("Sun, 14 Jun 2026 12:00:00 GMT"));
        assert!(!before.matches("2026-06-14T12:13:14Z"));
        assert!(!before.matches("not a date"));
        let equal = matcher(json!({"equalToDateTime": "2026-06-14T12:13:14"}));
        assert!(equal.matches("2026-06-14T12:13:14Z"));
        assert!(equal.matches("2026-06-14T14:13:14.000+02:00"));
    }

    #[test]
    fn now_with_offsets_and_truncation() {
        let after = matcher(json!({"after": "now -1 hours"}));
        let now = OffsetDateTime::now_utc();
        let stamp = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
        assert!(after.matches(&stamp(now)));
        assert!(!after.matches(&stamp(now - Duration::hours(2))));
        let offset =
            matcher(json!({"before": "now", "expectedOffset": 3, "expectedOffsetUnit": "days"}));
        assert!(offset.matches(&stamp(now + Duration::days(2))));
        assert!(!offset.matches(&stamp(now + Duration::days(4))));
        let month = matcher(
            json!({"equalToDateTime": "2026-03-01T00:00:00Z", "truncateActual": "first day of month"}),
        );
        assert!(month.matches("2026-03-17T10:11:12Z"));
        assert!(!month.matches("2026-04-01T10:11:12Z"));
        let last = matcher(
            json!({"equalToDateTime": "2024-02-29", "truncateActual": "last day of month"}),
        );
        assert!(last.matches("2024-02-03T01:02:03Z"));
    }

    #[test]
    fn an_actual_format_reads_the_value() {
        let uk = matcher(
            json!({"before": "2026-01-01T00:00:00Z", "actualFormat": "dd/MM/yyyy HH:mm:ss"}),
        );
        assert!(uk.matches("31/12/2025 23:59:59"));
        assert!(!uk.matches("01/01/2026 00:00:01"));
        let epoch = matcher(json!({"after": "2026-01-01T00:00:00Z", "actualFormat": "epoch"}));
        assert!(epoch.matches("1767225600001"));
        let unix = matcher(json!({"after": "2026-01-01T00:00:00Z", "actualFormat": "unix"}));
        assert!(unix.matches("1767225601"));
    }

    #[test]
    fn months_keep_the_day_within_the_month() {
        let jan31 = OffsetDateTime::parse("2025-01-31T10:00:00Z", &Rfc3339).unwrap();
        assert_eq!(
            add_months(jan31, 1).unwrap().date().to_string(),
            "2025-02-28"
        );
        assert_eq!(
            add_months(jan31, -2).unwrap().date().to_string(),
            "2024-11-30"
        );
    }

    #[test]
    fn huge_offsets_are_refused_not_overflowed() {
        for value in [
            json!({"before": "now +9223372036854775807 years"}),
            json!({"before": "now +9223372036854775807 days"}),
            json!({"before": "now", "expectedOffset": i64::MAX, "expectedOffsetUnit": "weeks"}),
            json!({"before": "2026-01-01T00:00:00Z", "expectedOffset": i64::MAX, "expectedOffsetUnit": "months"}),
        ] {
            let obj = value.as_object().unwrap();
            let parsed = DateTimeMatcher::parse(Comparison::Before, obj);
            // Refused, or accepted and never matching: never a panic.
            if let Ok(m) = parsed {
                assert!(!m.matches("2026-01-01T00:00:00Z"), "{value}");
            }
        }
    }

    #[test]
    fn bad_options_are_named() {
        let obj =
            json!({"before": "soon", "truncateActual": "first of never", "actualFormat": "QQQ"});
        let errors =
            DateTimeMatcher::parse(Comparison::Before, obj.as_object().unwrap()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["before", "truncateActual", "actualFormat"]);
    }
}
