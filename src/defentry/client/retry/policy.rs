//! The retry policy: what is retried, how long to wait before the next attempt, and what
//! `Retry-After` and the `X-RateLimit-*` headers say.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

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

/// Server errors worth another attempt (429 is not among them: it is waited out, see [`super::execute`]).
pub(crate) fn is_retryable_status(status: u16, replay: Replay) -> bool {
    match replay {
        Replay::Safe => matches!(status, 502..=504),
        Replay::Unsafe => status == 503,
    }
}

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

/// The wait the server asked of every call: a 429's `Retry-After` (else `X-RateLimit-Reset`, else
/// nothing, which the limiter turns into its floor), or a 503's `Retry-After`.
pub(crate) fn server_wait(
    status: u16,
    retry_after: Option<Duration>,
    rate: &RateHeaders,
) -> Option<Duration> {
    match status {
        429 => Some(retry_after.or(rate.reset_in).unwrap_or(Duration::ZERO)),
        503 => retry_after,
        _ => None,
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
    fn retryable_statuses() {
        for s in [502, 503, 504] {
            assert!(is_retryable_status(s, Replay::Safe), "{s}");
        }
        // 429 is waited out by the limiter, not retried against max_retries.
        for s in [200, 400, 401, 403, 404, 422, 429, 500, 501] {
            assert!(!is_retryable_status(s, Replay::Safe), "{s}");
        }
        assert!(!is_retryable_status(429, Replay::Unsafe));
        assert!(is_retryable_status(503, Replay::Unsafe));
        assert!(!is_retryable_status(502, Replay::Unsafe));
        assert!(!is_retryable_status(504, Replay::Unsafe));
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

    fn wait_of(status: u16, retry_after: Option<u64>, reset_in: Option<u64>) -> Option<Duration> {
        let rate = RateHeaders {
            reset_in: reset_in.map(Duration::from_secs),
            ..RateHeaders::default()
        };
        server_wait(status, retry_after.map(Duration::from_secs), &rate)
    }

    #[test]
    fn the_wait_a_server_asks_for() {
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(wait_of(429, Some(7), Some(30)), secs(7));
        assert_eq!(wait_of(429, None, Some(30)), secs(30));
        // Neither: the limiter's floor applies.
        assert_eq!(wait_of(429, None, None), secs(0));
        assert_eq!(wait_of(503, Some(5), None), secs(5));
        assert_eq!(wait_of(503, None, None), None);
        assert_eq!(wait_of(502, Some(5), None), None);
        assert_eq!(wait_of(200, None, Some(5)), None);
    }
}
