//! RFC 3339 timestamps, as Terraform's `timestamp()` and `timecmp()` read and write them.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats a time in UTC with seconds precision (`2026-01-01T02:00:00Z`).
pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses a time with any offset, as UTC; `None` when it is not RFC 3339.
pub fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_utc_with_whole_seconds() {
        let t = parse("2026-01-01T03:00:00+01:00").expect("RFC 3339");
        assert_eq!(format(t), "2026-01-01T02:00:00Z");
        assert_eq!(parse("2026-01-01 02:00"), None);
    }
}
