//! The times a template writes (`{{now}}` and its formats), and the journal's
//! ISO 8601 stamps: UTC calendar fields from epoch time, with no time zone
//! database.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How `{{now}}` is written.
#[derive(Debug, Clone)]
pub(super) enum TimeFormat {
    Iso,
    EpochMillis,
    UnixSeconds,
    Pattern(String),
}

/// UTC calendar fields of a time.
pub(super) fn civil(time: SystemTime) -> (i64, u32, u32, u32, u32, u32, u32) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(0);
    let millis = since.subsec_millis();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
        millis,
    )
}

pub(super) fn format_time(time: SystemTime, format: &TimeFormat) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    match format {
        TimeFormat::EpochMillis => since.as_millis().to_string(),
        TimeFormat::UnixSeconds => since.as_secs().to_string(),
        TimeFormat::Iso => {
            let (y, mo, d, h, mi, s, _) = civil(time);
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        }
        TimeFormat::Pattern(pattern) => {
            let (y, mo, d, h, mi, s, ms) = civil(time);
            // Java-style tokens, longest first.
            let tokens: [(&str, String); 7] = [
                ("yyyy", format!("{y:04}")),
                ("SSS", format!("{ms:03}")),
                ("MM", format!("{mo:02}")),
                ("dd", format!("{d:02}")),
                ("HH", format!("{h:02}")),
                ("mm", format!("{mi:02}")),
                ("ss", format!("{s:02}")),
            ];
            let mut out = String::new();
            let mut rest = pattern.as_str();
            'outer: while !rest.is_empty() {
                for (token, value) in &tokens {
                    if let Some(after) = rest.strip_prefix(token) {
                        out.push_str(value);
                        rest = after;
                        continue 'outer;
                    }
                }
                let c = rest.chars().next().unwrap_or_default();
                if c == '\'' {
                    rest = &rest[1..];
                    continue;
                }
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
            out
        }
    }
}

/// Epoch milliseconds as ISO 8601 UTC with milliseconds (`2026-11-23T11:54:18.123Z`).
pub fn iso_millis(ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    let (y, mo, d, h, mi, s, milli) = civil(time);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        let t = UNIX_EPOCH + Duration::from_secs(1_509_537_600); // 2017-11-01 12:00:00
        assert_eq!(format_time(t, &TimeFormat::Iso), "2017-11-01T12:00:00Z");
        assert_eq!(
            format_time(t, &TimeFormat::Pattern("yyyy-MM-dd'T'HH".into())),
            "2017-11-01T12"
        );
        assert_eq!(iso_millis(1_509_537_600_123), "2017-11-01T12:00:00.123Z");
    }
}
