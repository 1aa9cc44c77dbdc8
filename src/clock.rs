//! The wall clock, as the stores and the journal record time: milliseconds
//! since the Unix epoch (UTC), the unit both backends store so that
//! bucketing is arithmetic and the same on both.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in milliseconds since the Unix epoch. A clock set before 1970 reads
/// 0; one past the year 292 million reads `i64::MAX`.
pub fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_after_this_code_was_written_and_moves_forward() {
        let first = super::now_ms();
        // 2026-12-05 in milliseconds since the epoch.
        assert!(first > 1_796_000_000_000, "{first}");
        assert!(super::now_ms() >= first);
    }
}
