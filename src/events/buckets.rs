//! Calendar buckets (day, ISO week, month) in a fixed UTC offset, as epoch
//! millisecond boundaries the store counts between.

use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The most buckets one summary may span.
pub const MAX_BUCKETS: usize = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketSize {
    Day,
    /// ISO weeks, starting on Monday.
    Week,
    Month,
}

impl BucketSize {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "day" => Some(BucketSize::Day),
            "week" => Some(BucketSize::Week),
            "month" => Some(BucketSize::Month),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BucketSize::Day => "day",
            BucketSize::Week => "week",
            BucketSize::Month => "month",
        }
    }
}

/// The calendar in which buckets are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    pub size: BucketSize,
    pub offset: UtcOffset,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketError {
    #[error(
        "the range spans more than {MAX_BUCKETS} buckets; choose a larger bucket or a shorter range"
    )]
    TooMany,
    #[error("the time is out of range")]
    OutOfRange,
}

impl Calendar {
    /// The first instant of the bucket holding `ms`.
    pub fn floor(&self, ms: i64) -> Result<i64, BucketError> {
        let local = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(|_| BucketError::OutOfRange)?
            .to_offset(self.offset)
            .date();
        let start = match self.size {
            BucketSize::Day => local,
            BucketSize::Week => local
                .checked_sub(Duration::days(i64::from(
                    local.weekday().number_days_from_monday(),
                )))
                .ok_or(BucketError::OutOfRange)?,
            BucketSize::Month => local.replace_day(1).map_err(|_| BucketError::OutOfRange)?,
        };
        self.instant(start)
    }

    /// The first instant of the bucket after the one starting at `start_ms`.
    pub fn next(&self, start_ms: i64) -> Result<i64, BucketError> {
        let start = OffsetDateTime::from_unix_timestamp_nanos(i128::from(start_ms) * 1_000_000)
            .map_err(|_| BucketError::OutOfRange)?
            .to_offset(self.offset)
            .date();
        let next = match self.size {
            BucketSize::Day => start.next_day(),
            BucketSize::Week => start.checked_add(Duration::days(7)),
            BucketSize::Month => {
                let (year, month) = (start.year(), start.month());
                let year = if month == time::Month::December {
                    year + 1
                } else {
                    year
                };
                Date::from_calendar_date(year, month.next(), 1).ok()
            }
        }
        .ok_or(BucketError::OutOfRange)?;
        self.instant(next)
    }

    /// The bucket before the one starting at `start_ms`.
    pub fn previous(&self, start_ms: i64) -> Result<i64, BucketError> {
        // One millisecond earlier is inside the previous bucket.
        self.floor(start_ms - 1)
    }

    fn instant(&self, date: Date) -> Result<i64, BucketError> {
        let at = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(self.offset);
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| BucketError::OutOfRange)
    }

    /// Bucket start instants covering `[from_ms, to_ms)`, plus the end of the
    /// last bucket: `n + 1` boundaries for `n` buckets.
    pub fn boundaries(&self, from_ms: i64, to_ms: i64) -> Result<Vec<i64>, BucketError> {
        let mut bounds = vec![self.floor(from_ms)?];
        loop {
            let last = *bounds.last().ok_or(BucketError::OutOfRange)?;
            if last >= to_ms && bounds.len() > 1 {
                return Ok(bounds);
            }
            if bounds.len() > MAX_BUCKETS {
                return Err(BucketError::TooMany);
            }
            bounds.push(self.next(last)?);
        }
    }

    /// The bucket start as local text, e.g. `2017-11-01T00:00:00+02:00`.
    pub fn label(&self, start_ms: i64) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(start_ms) * 1_000_000)
            .map(|at| at.to_offset(self.offset))
            .ok()
            .and_then(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| start_ms.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    // 2017-11-01T12:00:00Z, a Wednesday.
    const NOON: i64 = 1_509_537_600_000;
    const MIDNIGHT: i64 = 1_509_494_400_000;

    fn cal(size: BucketSize, hours: i8, minutes: i8) -> Calendar {
        Calendar {
            size,
            offset: UtcOffset::from_hms(hours, minutes, 0).unwrap(),
        }
    }

    #[test]
    fn days_start_at_local_midnight() {
        assert_eq!(cal(BucketSize::Day, 0, 0).floor(NOON), Ok(MIDNIGHT));
        // 12:00Z is 17:30 in +05:30: that day began at 18:30Z the day before.
        let india = cal(BucketSize::Day, 5, 30);
        assert_eq!(india.floor(NOON), Ok(MIDNIGHT - 5 * 3_600_000 - 1_800_000));
        // 23:00Z on Nov 1 is already Nov 2 in +02:00.
        let plus_two = cal(BucketSize::Day, 2, 0);
        assert_eq!(
            plus_two.floor(MIDNIGHT + 23 * 3_600_000),
            Ok(MIDNIGHT + DAY - 2 * 3_600_000)
        );
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // Monday 2017-10-30.
        assert_eq!(
            cal(BucketSize::Week, 0, 0).floor(NOON),
            Ok(MIDNIGHT - 2 * DAY)
        );
        let month = cal(BucketSize::Month, 0, 0);
        assert_eq!(month.floor(NOON), Ok(MIDNIGHT));
        // November has 30 days; December has 31.
        assert_eq!(month.next(MIDNIGHT), Ok(MIDNIGHT + 30 * DAY));
        assert_eq!(month.next(MIDNIGHT + 30 * DAY), Ok(MIDNIGHT + 61 * DAY));
    }

    #[test]
    fn boundaries_cover_the_range_and_end_after_it() {
        let day = cal(BucketSize::Day, 0, 0);
        let bounds = day.boundaries(NOON - DAY, NOON).unwrap();
        assert_eq!(bounds, vec![MIDNIGHT - DAY, MIDNIGHT, MIDNIGHT + DAY]);
        // A range ending exactly on a boundary does not open another bucket.
        let bounds = day.boundaries(MIDNIGHT, MIDNIGHT + DAY).unwrap();
        assert_eq!(bounds, vec![MIDNIGHT, MIDNIGHT + DAY]);
        assert_eq!(day.boundaries(0, 20_000 * DAY), Err(BucketError::TooMany));
        assert_eq!(day.previous(MIDNIGHT), Ok(MIDNIGHT - DAY));
    }

    #[test]
    fn labels_are_local_rfc3339() {
        assert_eq!(
            cal(BucketSize::Day, 2, 0).label(MIDNIGHT - 2 * 3_600_000),
            "2017-11-01T00:00:00+02:00"
        );
    }
}
