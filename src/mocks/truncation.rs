//! WireMock's date-time truncations (`DateTimeTruncation`: `first day of
//! month`, ...), which the `before`/`after`/`equalToDateTime` matchers and
//! the `truncateDate` template helper both take: one list of names, one
//! calendar rule, each caller choosing the clocks it applies on.

use time::{Date, Month, Time};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    FirstSecondOfMinute,
    FirstMinuteOfHour,
    FirstHourOfDay,
    FirstDayOfMonth,
    FirstDayOfNextMonth,
    LastDayOfMonth,
    FirstDayOfYear,
    FirstDayOfNextYear,
    LastDayOfYear,
}

const TRUNCATIONS: [(&str, Truncation); 9] = [
    ("first second of minute", Truncation::FirstSecondOfMinute),
    ("first minute of hour", Truncation::FirstMinuteOfHour),
    ("first hour of day", Truncation::FirstHourOfDay),
    ("first day of month", Truncation::FirstDayOfMonth),
    ("first day of next month", Truncation::FirstDayOfNextMonth),
    ("last day of month", Truncation::LastDayOfMonth),
    ("first day of year", Truncation::FirstDayOfYear),
    ("first day of next year", Truncation::FirstDayOfNextYear),
    ("last day of year", Truncation::LastDayOfYear),
];

impl Truncation {
    /// `'first day of month'` (any case; `_` for spaces, as WireMock's
    /// `FIRST_DAY_OF_MONTH`).
    pub fn parse(text: &str) -> Result<Truncation, String> {
        let name = text.trim().replace('_', " ").to_lowercase();
        TRUNCATIONS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                format!(
                    "Unknown date truncation `{text}` (one of: {})",
                    Truncation::names()
                )
            })
    }

    /// Every name, for an error message.
    pub fn names() -> String {
        let names: Vec<&str> = TRUNCATIONS.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }

    /// A wall-clock date and time truncated; `None` past the calendar.
    pub fn on_calendar(self, date: Date, clock: Time) -> Option<(Date, Time)> {
        let (year, month) = (date.year(), date.month());
        let first_of = |year: i32, month: Month| Date::from_calendar_date(year, month, 1).ok();
        Some(match self {
            Truncation::FirstSecondOfMinute => {
                (date, Time::from_hms(clock.hour(), clock.minute(), 0).ok()?)
            }
            Truncation::FirstMinuteOfHour => (date, Time::from_hms(clock.hour(), 0, 0).ok()?),
            Truncation::FirstHourOfDay => (date, Time::MIDNIGHT),
            Truncation::FirstDayOfMonth => (first_of(year, month)?, Time::MIDNIGHT),
            Truncation::FirstDayOfNextMonth => {
                let next_year = if month == Month::December {
                    year + 1
                } else {
                    year
                };
                (first_of(next_year, month.next())?, Time::MIDNIGHT)
            }
            Truncation::LastDayOfMonth => (
                Date::from_calendar_date(year, month, month.length(year)).ok()?,
                Time::MIDNIGHT,
            ),
            Truncation::FirstDayOfYear => (first_of(year, Month::January)?, Time::MIDNIGHT),
            Truncation::FirstDayOfNextYear => (first_of(year + 1, Month::January)?, Time::MIDNIGHT),
            Truncation::LastDayOfYear => (
                Date::from_calendar_date(year, Month::December, 31).ok()?,
                Time::MIDNIGHT,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, time};

    #[test]
    fn names_and_calendar() {
        assert_eq!(
            Truncation::parse("FIRST_DAY_OF_NEXT_MONTH"),
            Ok(Truncation::FirstDayOfNextMonth)
        );
        assert!(Truncation::parse("first day of week").is_err());
        let at = (date!(2024 - 12 - 31), time!(13:45:12.5));
        for (truncation, expected) in [
            (
                Truncation::FirstSecondOfMinute,
                (date!(2024 - 12 - 31), time!(13:45)),
            ),
            (
                Truncation::FirstMinuteOfHour,
                (date!(2024 - 12 - 31), time!(13:00)),
            ),
            (
                Truncation::FirstHourOfDay,
                (date!(2024 - 12 - 31), time!(0:00)),
            ),
            (
                Truncation::FirstDayOfMonth,
                (date!(2024 - 12 - 01), time!(0:00)),
            ),
            (
                Truncation::FirstDayOfNextMonth,
                (date!(2025 - 01 - 01), time!(0:00)),
            ),
            (
                Truncation::LastDayOfMonth,
                (date!(2024 - 12 - 31), time!(0:00)),
            ),
            (
                Truncation::FirstDayOfYear,
                (date!(2024 - 01 - 01), time!(0:00)),
            ),
            (
                Truncation::FirstDayOfNextYear,
                (date!(2025 - 01 - 01), time!(0:00)),
            ),
            (
                Truncation::LastDayOfYear,
                (date!(2024 - 12 - 31), time!(0:00)),
            ),
        ] {
            assert_eq!(
                truncation.on_calendar(at.0, at.1),
                Some(expected),
                "{truncation:?}"
            );
        }
    }
}
