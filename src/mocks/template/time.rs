//! The times templates write and read (`now`, `date`, `parseDate`,
//! `truncateDate`): Java `SimpleDateFormat`-style patterns, `epoch`/`unix`,
//! offsets such as `'3 days'`, truncations such as `'first day of month'`,
//! and time zones: UTC, fixed offsets, or regions of the tz database
//! (`Europe/Paris`, from the copy `jiff` bundles, so every machine answers
//! alike). Also the journal's ISO 8601 stamps.

use std::cell::RefCell;

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A time zone.
#[derive(Debug, Clone)]
pub(super) enum Zone {
    /// UTC, GMT or a fixed offset, and the name Java prints for it (`z`).
    Fixed { offset: UtcOffset, name: String },
    /// A region of the tz database: its offset changes with the date.
    Region(jiff::tz::TimeZone),
}

impl Zone {
    pub fn utc() -> Zone {
        Zone::Fixed {
            offset: UtcOffset::UTC,
            name: "UTC".to_owned(),
        }
    }

    /// `UTC`, `GMT`, `Z`, `Etc/UTC`, `+01:00`, `-0500`, `GMT+2`,
    /// `UTC-03:30`, or a region (`Europe/Paris`, `America/New_York`).
    pub fn parse(text: &str) -> Result<Zone, String> {
        let trimmed = text.trim();
        if let Some(zone) = Zone::parse_fixed(trimmed) {
            return Ok(zone);
        }
        // A region name has a letter and no space (`jiff` would also read a
        // POSIX TZ string, which Java does not).
        let region_like = trimmed.starts_with(|c: char| c.is_ascii_alphabetic())
            && !trimmed.contains(|c: char| c.is_whitespace() || c == ',');
        match jiff::tz::TimeZone::get(trimmed) {
            Ok(tz) if region_like => Ok(Zone::Region(tz)),
            _ => Err(format!(
                "Unknown time-zone ID: {text} (UTC, GMT, a fixed offset such as +01:00, or a \
                 region such as Europe/Paris)"
            )),
        }
    }

    fn parse_fixed(trimmed: &str) -> Option<Zone> {
        let (prefix, rest) = ["Etc/UTC", "Etc/GMT", "UTC", "GMT", "UT", "Z"]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p).map(|rest| (*p, rest)))
            .unwrap_or(("", trimmed));
        if rest.is_empty() {
            return match prefix {
                "" => None,
                "GMT" | "Etc/GMT" => Some(Zone::Fixed {
                    offset: UtcOffset::UTC,
                    name: "GMT".to_owned(),
                }),
                _ => Some(Zone::utc()),
            };
        }
        // `Etc/GMT+5` is a region (five hours behind): the database has it.
        if prefix == "Etc/GMT" {
            return None;
        }
        let offset = parse_offset_text(rest)?;
        Some(Zone::of_offset(offset))
    }

    pub fn of_offset(offset: UtcOffset) -> Zone {
        if offset == UtcOffset::UTC {
            return Zone::utc();
        }
        Zone::Fixed {
            offset,
            name: format_offset(offset, true),
        }
    }

    /// The offset from UTC at `time`.
    pub fn offset_at(&self, time: OffsetDateTime) -> UtcOffset {
        match self {
            Zone::Fixed { offset, .. } => *offset,
            Zone::Region(tz) => {
                let offset = tz.to_offset(timestamp(time)).seconds();
                UtcOffset::from_whole_seconds(offset).unwrap_or(UtcOffset::UTC)
            }
        }
    }

    /// The name Java prints for `z` at `time`: a region's abbreviation
    /// (`CET`, `CEST`).
    fn name_at(&self, time: OffsetDateTime) -> String {
        match self {
            Zone::Fixed { name, .. } => name.clone(),
            Zone::Region(tz) => tz.to_offset_info(timestamp(time)).abbreviation().to_owned(),
        }
    }

    /// The zone's ID, which Java prints for `VV`.
    fn id(&self) -> String {
        match self {
            Zone::Fixed { name, .. } => name.clone(),
            Zone::Region(tz) => tz.iana_name().unwrap_or_default().to_owned(),
        }
    }

    /// `local`, a date and time on this zone's clocks, as a time. A time
    /// the clocks skip is moved on by the gap, and one they show twice is
    /// the earlier, as Java resolves them.
    pub fn resolve(&self, local: PrimitiveDateTime) -> Option<OffsetDateTime> {
        match self {
            Zone::Fixed { offset, .. } => Some(local.assume_offset(*offset)),
            Zone::Region(tz) => {
                let civil = jiff::civil::DateTime::new(
                    i16::try_from(local.year()).ok()?,
                    i8::try_from(u8::from(local.month())).ok()?,
                    i8::try_from(local.day()).ok()?,
                    i8::try_from(local.hour()).ok()?,
                    i8::try_from(local.minute()).ok()?,
                    i8::try_from(local.second()).ok()?,
                    i32::try_from(local.nanosecond()).ok()?,
                )
                .ok()?;
                let instant = tz.to_ambiguous_timestamp(civil).compatible().ok()?;
                let time = OffsetDateTime::from_unix_timestamp(instant.as_second()).ok()?;
                let time = time.replace_nanosecond(instant.subsec_nanosecond().try_into().ok()?);
                let time = time.ok()?;
                time.checked_to_offset(self.offset_at(time))
            }
        }
    }
}

/// A time as `jiff` counts it.
fn timestamp(time: OffsetDateTime) -> jiff::Timestamp {
    jiff::Timestamp::from_second(time.unix_timestamp()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// A time a helper wrote, kept for the rest of the render. WireMock's date
/// helpers hand each other a `Date` that keeps its time zone; ours hand
/// each other text, from which a region (`Europe/Paris`) cannot be read
/// back, nor, after `format='yyyy'`, the time itself. So `date`,
/// `truncateDate` and `parseDate`'s readers look a text up here first.
struct Written {
    text: String,
    time: OffsetDateTime,
    zone: Option<Zone>,
}

/// How many written times are kept (a loop writing times keeps the last).
const REMEMBERED: usize = 64;

thread_local! {
    static WRITTEN: RefCell<Vec<Written>> = const { RefCell::new(Vec::new()) };
}

/// Forgets the times written: a render starts with none.
pub(super) fn forget_written() {
    WRITTEN.with(|w| w.borrow_mut().clear());
}

/// Keeps `text`, just written for `time` in `zone`, for the render.
pub(super) fn remember(text: &str, time: OffsetDateTime, zone: Option<&Zone>) {
    WRITTEN.with(|w| {
        let mut written = w.borrow_mut();
        written.retain(|t| t.text != text);
        if written.len() >= REMEMBERED {
            written.remove(0);
        }
        written.push(Written {
            text: text.to_owned(),
            time,
            zone: zone.cloned(),
        });
    });
}

/// The time and zone a helper wrote as `text` in this render.
fn recall(text: &str) -> Option<(OffsetDateTime, Option<Zone>)> {
    WRITTEN.with(|w| {
        w.borrow()
            .iter()
            .rev()
            .find(|t| t.text == text)
            .map(|t| (t.time, t.zone.clone()))
    })
}

/// A time given to `date` or `truncateDate`: one a helper wrote in this
/// render, or text in a form [`parse_zoned`] reads; with its zone when
/// the text names one.
pub(super) fn read_time(text: &str) -> Option<(OffsetDateTime, Option<Zone>)> {
    recall(text).or_else(|| parse_zoned(text))
}

/// `+01:00`, `+0100`, `+1`, `-05:30`.
fn parse_offset_text(text: &str) -> Option<UtcOffset> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        None if digits.len() == 4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        None => (digits.parse().ok()?, 0),
    };
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

/// `+01:00` (`colon`) or `+0100`; `Z` is left to the caller.
fn format_offset(offset: UtcOffset, colon: bool) -> String {
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    let separator = if colon { ":" } else { "" };
    format!(
        "{sign}{:02}{separator}{:02}",
        h.unsigned_abs(),
        m.unsigned_abs()
    )
}

/// How a time is written.
#[derive(Debug, Clone)]
pub(super) enum TimeFormat {
    /// ISO 8601 without fractions (`2021-01-01T10:00:00Z`), as WireMock's default.
    Iso,
    /// Milliseconds since 1970.
    Epoch,
    /// Seconds since 1970.
    Unix,
    /// A Java pattern such as `yyyy-MM-dd'T'HH:mm:ss`.
    Pattern(String),
}

impl TimeFormat {
    pub fn parse(text: Option<&str>) -> TimeFormat {
        match text {
            None => TimeFormat::Iso,
            Some(f) if f.eq_ignore_ascii_case("epoch") => TimeFormat::Epoch,
            Some(f) if f.eq_ignore_ascii_case("unix") => TimeFormat::Unix,
            Some(pattern) => TimeFormat::Pattern(pattern.to_owned()),
        }
    }
}

/// `time` written in `format`, in `zone` (the time's own offset when none).
pub(super) fn format_time(
    time: OffsetDateTime,
    format: &TimeFormat,
    zone: Option<&Zone>,
) -> String {
    let zone = zone
        .cloned()
        .unwrap_or_else(|| Zone::of_offset(time.offset()));
    let offset = zone.offset_at(time);
    // Near the end of the calendar the zone's clocks may be past it.
    let local = time.checked_to_offset(offset).unwrap_or(time);
    let offset = local.offset();
    match format {
        TimeFormat::Epoch => (time.unix_timestamp_nanos() / 1_000_000).to_string(),
        TimeFormat::Unix => time.unix_timestamp().to_string(),
        TimeFormat::Iso => {
            let offset = if offset == UtcOffset::UTC {
                "Z".to_owned()
            } else {
                format_offset(offset, true)
            };
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{offset}",
                local.year(),
                u8::from(local.month()),
                local.day(),
                local.hour(),
                local.minute(),
                local.second()
            )
        }
        TimeFormat::Pattern(pattern) => {
            let mut out = String::new();
            for token in tokens(pattern) {
                match token {
                    Token::Literal(text) => out.push_str(&text),
                    Token::Field(letter, count) => {
                        push_field(&mut out, local, &zone, letter, count)
                    }
                }
            }
            out
        }
    }
}

enum Token {
    Literal(String),
    /// A pattern letter and how many times it is repeated.
    Field(char, usize),
}

/// A Java date pattern's tokens: runs of one letter are fields, `'...'` is
/// literal text (`''` a quote), anything else is itself.
fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            let mut text = String::new();
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push(Token::Literal("'".to_owned()));
                continue;
            }
            while let Some(c) = chars.next() {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        text.push('\'');
                        continue;
                    }
                    break;
                }
                text.push(c);
            }
            out.push(Token::Literal(text));
        } else if c.is_ascii_alphabetic() {
            let mut count = 1;
            while chars.peek() == Some(&c) {
                chars.next();
                count += 1;
            }
            out.push(Token::Field(c, count));
        } else {
            out.push(Token::Literal(c.to_string()));
        }
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn push_field(out: &mut String, t: OffsetDateTime, zone: &Zone, letter: char, count: usize) {
    let number = |out: &mut String, n: i64| out.push_str(&format!("{n:0count$}"));
    match letter {
        'y' | 'u' if count == 2 => number(out, i64::from(t.year()).rem_euclid(100)),
        'y' | 'u' => number(out, i64::from(t.year())),
        'M' | 'L' if count >= 4 => out.push_str(MONTHS[usize::from(u8::from(t.month())) - 1]),
        'M' | 'L' if count == 3 => out.push_str(&MONTHS[usize::from(u8::from(t.month())) - 1][..3]),
        'M' | 'L' => number(out, i64::from(u8::from(t.month()))),
        'd' => number(out, i64::from(t.day())),
        'D' => number(out, i64::from(t.ordinal())),
        'H' => number(out, i64::from(t.hour())),
        'k' => number(out, i64::from(if t.hour() == 0 { 24 } else { t.hour() })),
        'h' => number(out, i64::from((t.hour() + 11) % 12 + 1)),
        'K' => number(out, i64::from(t.hour() % 12)),
        'm' => number(out, i64::from(t.minute())),
        's' => number(out, i64::from(t.second())),
        'S' => {
            // Fractions of a second, to `count` digits.
            let nanos = format!("{:09}", t.nanosecond());
            out.push_str(&format!("{nanos:0<count$}")[..count]);
        }
        'a' => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
        'E' => {
            let name = WEEKDAYS[usize::from(t.weekday().number_days_from_monday())];
            out.push_str(if count >= 4 { name } else { &name[..3] });
        }
        'z' => out.push_str(&zone.name_at(t)),
        'V' => out.push_str(&zone.id()),
        'Z' => out.push_str(&format_offset(t.offset(), false)),
        'X' | 'x' if letter == 'X' && t.offset() == UtcOffset::UTC => out.push('Z'),
        'X' | 'x' => out.push_str(&format_offset(t.offset(), count >= 3)),
        other => {
            // An unknown letter prints as itself rather than failing the response.
            out.extend(std::iter::repeat_n(other, count));
        }
    }
}

/// `text` read with a Java pattern; missing fields are the start of their
/// unit (a date alone is midnight), and the zone is UTC unless it says one.
pub(super) fn parse_with_pattern(text: &str, pattern: &str) -> Result<OffsetDateTime, String> {
    parse_zoned_with_pattern(text, pattern).map(|(time, _)| time)
}

/// As [`parse_with_pattern`], with the zone the text names, if any.
pub(super) fn parse_zoned_with_pattern(
    text: &str,
    pattern: &str,
) -> Result<(OffsetDateTime, Option<Zone>), String> {
    let bad = || format!("`{text}` does not match the date format `{pattern}`");
    let (mut year, mut month, mut day) = (1970i32, 1u8, 1u8);
    let (mut hour, mut minute, mut second, mut nanos) = (0u8, 0u8, 0u8, 0u32);
    let mut pm = None;
    let mut zone = None;
    let mut rest = text;
    let toks = tokens(pattern);
    for (i, token) in toks.iter().enumerate() {
        match token {
            Token::Literal(lit) => rest = rest.strip_prefix(lit.as_str()).ok_or_else(bad)?,
            Token::Field(letter, count) => {
                // Adjacent numeric fields (`yyyyMMdd`) are read at their width.
                let next_is_field = matches!(toks.get(i + 1), Some(Token::Field(..)));
                let width = if next_is_field || *count > 1 && *letter != 'y' {
                    *count
                } else {
                    usize::MAX
                };
                let digits = |rest: &mut &str, width: usize| -> Result<i64, String> {
                    let limit = if width == usize::MAX { 10 } else { width };
                    let end = rest
                        .char_indices()
                        .take_while(|(i, c)| *i < limit && c.is_ascii_digit())
                        .last()
                        .map(|(i, c)| i + c.len_utf8())
                        .ok_or_else(bad)?;
                    let n = rest[..end].parse().map_err(|_| bad())?;
                    *rest = &rest[end..];
                    Ok(n)
                };
                match letter {
                    'y' | 'u' if *count == 2 => {
                        year = 2000 + i32::try_from(digits(&mut rest, 2)?).map_err(|_| bad())?
                    }
                    'y' | 'u' => {
                        year = i32::try_from(digits(&mut rest, width)?).map_err(|_| bad())?
                    }
                    'M' | 'L' if *count >= 3 => {
                        let (index, len) = MONTHS
                            .iter()
                            .enumerate()
                            .find_map(|(i, name)| {
                                let len = if *count >= 4 { name.len() } else { 3 };
                                rest.get(..len)
                                    .filter(|r| r.eq_ignore_ascii_case(&name[..len]))
                                    .map(|_| (i, len))
                            })
                            .ok_or_else(bad)?;
                        month = u8::try_from(index + 1).map_err(|_| bad())?;
                        rest = &rest[len..];
                    }
                    'E' => {
                        let len = WEEKDAYS
                            .iter()
                            .find_map(|name| {
                                let len = if *count >= 4 { name.len() } else { 3 };
                                rest.get(..len)
                                    .filter(|r| r.eq_ignore_ascii_case(&name[..len]))
                                    .map(|_| len)
                            })
                            .ok_or_else(bad)?;
                        rest = &rest[len..];
                    }
                    'a' => {
                        let marker = rest.get(..2).ok_or_else(bad)?;
                        pm = Some(marker.eq_ignore_ascii_case("PM"));
                        rest = &rest[2..];
                    }
                    'z' | 'Z' | 'X' | 'x' | 'V' => {
                        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
                        zone = Some(Zone::parse(&rest[..end])?);
                        rest = &rest[end..];
                    }
                    'S' => {
                        let before = rest.len();
                        let n = digits(&mut rest, width)?;
                        let read = before - rest.len();
                        let scale = 10i64.pow(9u32.saturating_sub(read as u32));
                        nanos = u32::try_from(n * scale).map_err(|_| bad())?;
                    }
                    field => {
                        let n = u8::try_from(digits(&mut rest, width)?).map_err(|_| bad())?;
                        match field {
                            'M' | 'L' => month = n,
                            'd' => day = n,
                            'H' | 'k' => hour = n % 24,
                            'h' | 'K' => hour = n % 12,
                            'm' => minute = n,
                            's' => second = n,
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    if pm == Some(true) {
        hour += 12;
    }
    let month = Month::try_from(month).map_err(|_| bad())?;
    let date = Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).map_err(|_| bad())?;
    let local = PrimitiveDateTime::new(date, time);
    let time = match &zone {
        Some(zone) => zone.resolve(local).ok_or_else(bad)?,
        None => local.assume_utc(),
    };
    Ok((time, zone))
}

/// As [`parse_any`], also reading Java's ISO form with a region
/// (`2024-03-30T12:00:00+01:00[Europe/Paris]`), and with the zone the text
/// names (`None` for none, or for a bare offset, which is the time's own).
pub(super) fn parse_zoned(text: &str) -> Option<(OffsetDateTime, Option<Zone>)> {
    let text = text.trim();
    if let Some((time, region)) = text.strip_suffix(']').and_then(|t| t.rsplit_once('[')) {
        let zone = Zone::parse(region).ok()?;
        let time = parse_any(time)?;
        let time = time.checked_to_offset(zone.offset_at(time))?;
        return Some((time, Some(zone)));
    }
    parse_any(text).map(|time| (time, None))
}

/// A time in one of the forms WireMock reads without a format: ISO 8601
/// (with an offset or `Z`), RFC 1123 (`Sun, 06 Nov 1994 08:49:37 GMT`), or a
/// date alone (`2021-01-01`, midnight UTC).
pub(super) fn parse_any(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    use time::format_description::well_known::{Rfc2822, Rfc3339};
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(text, &Rfc2822).ok())
        .or_else(|| parse_with_pattern(text, "EEE, dd MMM yyyy HH:mm:ss z").ok())
        .or_else(|| parse_with_pattern(text, "yyyy-MM-dd'T'HH:mm:ss").ok())
        .or_else(|| parse_with_pattern(text, "yyyy-MM-dd").ok())
}

/// `time` moved by an offset such as `3 days`, `-1 hours` or `now +5
/// years`, counted on UTC's calendar as WireMock counts it (a day is always
/// 24 hours, whatever a time zone's clocks do that day).
pub(super) fn shift(time: OffsetDateTime, offset: &str) -> Result<OffsetDateTime, String> {
    let out_of_range = || format!("offset `{offset}`: the time is out of range");
    let utc = time
        .checked_to_offset(UtcOffset::UTC)
        .ok_or_else(out_of_range)?;
    let moved = shift_utc(utc, offset)?;
    moved
        .checked_to_offset(time.offset())
        .ok_or_else(out_of_range)
}

fn shift_utc(time: OffsetDateTime, offset: &str) -> Result<OffsetDateTime, String> {
    let bad = || format!("offset `{offset}`: expected e.g. '3 days' or '-1 hours'");
    if offset.trim().eq_ignore_ascii_case("now") {
        return Ok(time);
    }
    let parts: Vec<&str> = offset.split_whitespace().collect();
    let (amount, unit) = match parts.as_slice() {
        [amount, unit] => (*amount, *unit),
        [now, amount, unit] if now.eq_ignore_ascii_case("now") => (*amount, *unit),
        _ => return Err(bad()),
    };
    let amount: i64 = amount.trim_start_matches('+').parse().map_err(|_| bad())?;
    let unit = unit.to_ascii_lowercase();
    let seconds = match unit.trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        "week" => 604_800,
        "month" => return add_months(time, amount).ok_or_else(bad),
        "year" => return add_months(time, amount.checked_mul(12).ok_or_else(bad)?).ok_or_else(bad),
        _ => return Err(bad()),
    };
    let delta = Duration::seconds(amount.checked_mul(seconds).ok_or_else(bad)?);
    time.checked_add(delta).ok_or_else(bad)
}

/// Calendar months later (or earlier), the day kept within the month.
fn add_months(time: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let index = i64::from(time.year()) * 12 + i64::from(u8::from(time.month())) - 1 + months;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = time.day().min(month.length(year));
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(time.replace_date(date))
}

pub(super) use crate::mocks::truncation::Truncation;

/// `time` truncated on `zone`'s clocks; `None` past the calendar.
pub(super) fn truncate(
    truncation: Truncation,
    time: OffsetDateTime,
    zone: &Zone,
) -> Option<OffsetDateTime> {
    let local = time.checked_to_offset(zone.offset_at(time))?;
    let (date, clock) = truncation.on_calendar(local.date(), local.time())?;
    zone.resolve(PrimitiveDateTime::new(date, clock))
}

/// Epoch milliseconds as ISO 8601 UTC with milliseconds (`2026-11-23T11:54:18.123Z`).
pub fn iso_millis(ms: i64) -> String {
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    #[test]
    fn java_patterns_are_written_as_java_writes_them() {
        let t = at(1_509_537_600); // 2017-11-01 12:00:00 UTC, a Wednesday
        assert_eq!(
            format_time(t, &TimeFormat::Iso, None),
            "2017-11-01T12:00:00Z"
        );
        let pattern = |p: &str| TimeFormat::Pattern(p.to_owned());
        assert_eq!(
            format_time(t, &pattern("yyyy-MM-dd'T'HH"), None),
            "2017-11-01T12"
        );
        assert_eq!(
            format_time(t, &pattern("EEE, dd MMM yyyy HH:mm:ss z"), None),
            "Wed, 01 Nov 2017 12:00:00 UTC"
        );
        assert_eq!(
            format_time(t, &pattern("h:mm a, yy.M.d"), None),
            "12:00 PM, 17.11.1"
        );
        let paris = Zone::parse("+01:00").unwrap();
        assert_eq!(
            format_time(t, &TimeFormat::Iso, Some(&paris)),
            "2017-11-01T13:00:00+01:00"
        );
        assert_eq!(
            format_time(t, &pattern("HH:mm Z"), Some(&paris)),
            "13:00 +0100"
        );
        assert_eq!(format_time(t, &TimeFormat::Epoch, None), "1509537600000");
        assert_eq!(format_time(t, &TimeFormat::Unix, None), "1509537600");
        assert!(Zone::parse("Mars/Olympus_Mons").is_err());
        assert_eq!(iso_millis(1_509_537_600_123), "2017-11-01T12:00:00.123Z");
    }

    #[test]
    fn times_are_read_with_and_without_a_pattern() {
        let t = parse_with_pattern("01/02/2021", "dd/MM/yyyy").unwrap();
        assert_eq!(
            format_time(t, &TimeFormat::Iso, None),
            "2021-02-01T00:00:00Z"
        );
        let t = parse_with_pattern("20210201 0930", "yyyyMMdd HHmm").unwrap();
        assert_eq!(
            format_time(t, &TimeFormat::Iso, None),
            "2021-02-01T09:30:00Z"
        );
        assert!(parse_with_pattern("2021-02", "dd/MM/yyyy").is_err());
        let t = parse_any("2021-01-01T10:00:00+02:00").unwrap();
        assert_eq!(
            format_time(t, &TimeFormat::Iso, None),
            "2021-01-01T10:00:00+02:00"
        );
        let t = parse_any("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(t.unix_timestamp(), 784_111_777);
    }

    #[test]
    fn offsets_move_by_calendar_units() {
        let t = at(1_509_537_600);
        let iso = |t| format_time(t, &TimeFormat::Iso, None);
        assert_eq!(iso(shift(t, "3 days").unwrap()), "2017-11-04T12:00:00Z");
        assert_eq!(iso(shift(t, "-1 hours").unwrap()), "2017-11-01T11:00:00Z");
        assert_eq!(
            iso(shift(t, "now +2 years").unwrap()),
            "2019-11-01T12:00:00Z"
        );
        let end_of_january = parse_any("2021-01-31T00:00:00Z").unwrap();
        assert_eq!(
            iso(shift(end_of_january, "1 months").unwrap()),
            "2021-02-28T00:00:00Z"
        );
        assert!(shift(t, "3 fortnights").is_err());
    }
}
