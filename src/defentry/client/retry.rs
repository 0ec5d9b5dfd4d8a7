//! Retry policy: what is retried, and how long to wait before the next attempt.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};
use rand::Rng;

/// Whether repeating a request the server may already have processed is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Repeating is harmless (login issues another token, logout is idempotent, setup replaces its secret,
    /// forgot sends another mail): every retryable failure is retried.
    Safe,
    /// Repeating could turn a success into a misleading error (a single-use reset token, a 2FA code):
    /// retried only when the server certainly did not act: connection not established, 429 or 503.
    Unsafe,
}

/// Statuses worth another attempt: rate limiting and gateway/unavailable errors.
pub(crate) fn is_retryable_status(status: u16, replay: Replay) -> bool {
    match replay {
        Replay::Safe => matches!(status, 429 | 502 | 503 | 504),
        Replay::Unsafe => matches!(status, 429 | 503),
    }
}

/// Exponential backoff with full jitter: uniform in `[0, min(max, base * 2^retry)]` (`retry` counts from 0).
pub(crate) fn backoff_delay(
    retry: u32,
    base: Duration,
    max: Duration,
    rng: &mut impl Rng,
) -> Duration {
    let ceiling = 2u32
        .checked_pow(retry)
        .and_then(|factor| base.checked_mul(factor))
        .map_or(max, |d| d.min(max));
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.random_range(0..=nanos))
}

/// The wait before retry number `retry`: the server's `Retry-After` if it gave one, else jittered backoff;
/// capped at `max` either way.
pub(crate) fn retry_delay(
    retry: u32,
    retry_after: Option<Duration>,
    base: Duration,
    max: Duration,
) -> Duration {
    match retry_after {
        Some(d) => d.min(max),
        None => backoff_delay(retry, base, max, &mut rand::rng()),
    }
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
    use rand::rngs::StdRng;
    use rand::SeedableRng;

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
    fn backoff_stays_within_the_exponential_ceiling() {
        let mut rng = StdRng::seed_from_u64(7);
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for retry in 0..8 {
            let ceiling = (base * 2u32.pow(retry)).min(max);
            let mut seen_max = Duration::ZERO;
            for _ in 0..500 {
                let d = backoff_delay(retry, base, max, &mut rng);
                assert!(d <= ceiling, "retry {retry}: {d:?} > {ceiling:?}");
                seen_max = seen_max.max(d);
            }
            // Full jitter spreads over the whole range, not just the bottom of it.
            assert!(
                seen_max > ceiling / 2,
                "retry {retry}: max seen {seen_max:?}"
            );
        }
    }

    #[test]
    fn backoff_never_overflows() {
        let mut rng = StdRng::seed_from_u64(1);
        let max = Duration::from_secs(30);
        for retry in [31, 32, 64, u32::MAX] {
            assert!(backoff_delay(retry, Duration::from_secs(1), max, &mut rng) <= max);
        }
        assert!(backoff_delay(3, Duration::MAX, max, &mut rng) <= max);
        assert_eq!(
            backoff_delay(5, Duration::ZERO, max, &mut rng),
            Duration::ZERO
        );
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let base = Duration::from_millis(10);
        let max = Duration::from_secs(2);
        assert_eq!(
            retry_delay(0, Some(Duration::from_secs(1)), base, max),
            Duration::from_secs(1)
        );
        assert_eq!(
            retry_delay(0, Some(Duration::from_secs(3600)), base, max),
            max
        );
        assert!(retry_delay(2, None, base, max) <= Duration::from_millis(40));
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 502, 503, 504] {
            assert!(is_retryable_status(s, Replay::Safe), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 422, 500, 501] {
            assert!(!is_retryable_status(s, Replay::Safe), "{s}");
        }
        assert!(is_retryable_status(429, Replay::Unsafe));
        assert!(is_retryable_status(503, Replay::Unsafe));
        assert!(!is_retryable_status(502, Replay::Unsafe));
        assert!(!is_retryable_status(504, Replay::Unsafe));
    }
}
