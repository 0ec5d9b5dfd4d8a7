//! What a response's headers say about waiting: `Retry-After` and Laravel's `X-RateLimit-*`.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The `X-RateLimit-*` headers of a response, as Laravel's `throttle` sends them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RateHeaders {
    /// `X-RateLimit-Limit`: requests per window.
    pub limit: Option<u32>,
    /// `X-RateLimit-Remaining`: requests left in this window.
    pub remaining: Option<u32>,
    /// `X-RateLimit-Reset` (a Unix time, sent with a 429) as a wait from now.
    pub reset_in: Option<Duration>,
}

impl RateHeaders {
    pub(crate) fn read(headers: &HeaderMap, now: SystemTime) -> Self {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let count = |name: &str| number(name).map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        let reset_in = number("x-ratelimit-reset").map(|at| {
            let now = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            Duration::from_secs(at).saturating_sub(now)
        });
        Self {
            limit: count("x-ratelimit-limit"),
            remaining: count("x-ratelimit-remaining"),
            reset_in,
        }
    }
}

/// `Retry-After`, ignored (`None`) when absent or unreadable.
pub(crate) fn read_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
}

/// Parses `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date (IMF-fixdate, or the obsolete
/// RFC 850 and asctime forms). A date in the past means "now". Anything else is ignored (`None`).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits but too large for u64: an absurd wait, which the caller caps.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = parse_http_date(value)?;
    let now: DateTime<Utc> = now.into();
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc2822(value) {
        return Some(d.with_timezone(&Utc));
    }
    for format in ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(value, format) {
            return Some(d.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        // Sun, 06 Nov 1994 08:49:37 GMT
        SystemTime::UNIX_EPOCH + Duration::from_secs(784111777)
    }

    #[test]
    fn retry_after_delta_seconds() {
        assert_eq!(parse_retry_after("1", now()), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now()), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now()),
            Some(Duration::from_secs(u64::MAX))
        );
        for junk in ["", "-1", "1.5", "soon", "1s", "+5"] {
            assert_eq!(parse_retry_after(junk, now()), None, "{junk:?}");
        }
    }

    #[test]
    fn retry_after_http_dates() {
        let ten = Some(Duration::from_secs(10));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now()),
            ten
        );
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:47 GMT", now()),
            ten
        );
        assert_eq!(parse_retry_after("Sun Nov  6 08:49:47 1994", now()), ten);
        // In the past: retry now.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Sun, 32 Nov 1994 08:49:47 GMT", now()),
            None
        );
    }

    #[test]
    fn rate_limit_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(RateHeaders::read(&h, now()), RateHeaders::default());
        h.insert("X-RateLimit-Limit", "60".parse().unwrap());
        h.insert("X-RateLimit-Remaining", " 0 ".parse().unwrap());
        // Sun, 06 Nov 1994 08:50:07 GMT: 30 s after now().
        h.insert("X-RateLimit-Reset", "784111807".parse().unwrap());
        let r = RateHeaders::read(&h, now());
        assert_eq!(r.limit, Some(60));
        assert_eq!(r.remaining, Some(0));
        assert_eq!(r.reset_in, Some(Duration::from_secs(30)));
        // A reset in the past is now; garbage is ignored; huge counts saturate.
        h.insert("X-RateLimit-Reset", "1".parse().unwrap());
        h.insert("X-RateLimit-Remaining", "many".parse().unwrap());
        h.insert("X-RateLimit-Limit", "99999999999".parse().unwrap());
        let r = RateHeaders::read(&h, now());
        assert_eq!(r.reset_in, Some(Duration::ZERO));
        assert_eq!(r.remaining, None);
        assert_eq!(r.limit, Some(u32::MAX));
        h.insert(RETRY_AFTER, "0".parse().unwrap());
        assert_eq!(read_retry_after(&h, now()), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(read_retry_after(&h, now()), None);
    }
}
