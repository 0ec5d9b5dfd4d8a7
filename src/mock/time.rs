//! Time arithmetic the store and the limiter share: saturating, never panicking.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// A configured duration as a delta; absurdly long ones saturate.
pub fn to_delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// `t + d`, saturating at the end of time.
pub fn add(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whole Unix seconds, truncated (PHP's `time()`).
pub fn unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// RFC 3339 with a `Z` suffix, whole seconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
