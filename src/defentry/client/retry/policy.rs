//! The retry policy: what is retried, and how long to wait before the next attempt.

use std::time::Duration;

use rand::Rng;

use super::super::headers::RateHeaders;
use super::super::transport::Replay;

/// Server errors worth another attempt (429 is not among them: it is waited out, see [`super::execute`]).
pub(crate) fn is_retryable_status(status: u16, replay: Replay) -> bool {
    match replay {
        Replay::Safe => matches!(status, 502..=504),
        Replay::Unsafe => status == 503,
    }
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

#[cfg(test)]
mod tests {
    use super::super::super::transport::Replay;
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

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
