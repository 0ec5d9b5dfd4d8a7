//! Laravel's `throttle:api`: a fixed-window limiter per key (`user:<id>` for a request with a
//! valid bearer token, else `ip:<addr>`), as `ThrottleRequests` over `Illuminate\Cache\RateLimiter`
//! does it:
//!
//! - the window opens at the key's first hit and lasts `window` seconds (not aligned to
//!   wall-clock minutes);
//! - the limit is checked *before* the hit, so a refused request does not count;
//! - `Retry-After` is `availableIn` = the window's end in whole seconds minus the current whole
//!   second. The end is stored truncated to the second while the cache entry lives until the
//!   exact end, so in the window's last (fractional) second a 429 says `Retry-After: 0`.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::time::{add, unix};

/// One key's window.
#[derive(Debug, Clone)]
struct Bucket {
    hits: u32,
    /// Exact end of the window (when Laravel's cache entry expires).
    expires_at: DateTime<Utc>,
    /// Laravel's `:timer` value: the end as a truncated Unix second.
    timer: i64,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Counted; `remaining` hits are left in the window.
    Allowed {
        /// The configured limit.
        limit: u32,
        /// Hits left after this one.
        remaining: u32,
    },
    /// Refused (429), not counted.
    Throttled {
        /// The configured limit.
        limit: u32,
        /// Whole seconds until the window ends, truncated (0 in its last second).
        retry_after_secs: u64,
        /// Unix time of `now + retry_after_secs` (Laravel's `X-RateLimit-Reset`).
        reset_at: i64,
    },
}

/// One live window in `GET /_mock/rate-limit`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BucketView {
    /// `user:<id>` or `ip:<addr>`.
    pub key: String,
    /// Requests counted in this window.
    pub hits: u32,
    /// Unix time the window ends (Laravel's timer).
    pub resets_at: i64,
}

/// Body of `GET /_mock/rate-limit`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RateLimitView {
    /// Requests per window; 0 = off.
    pub limit: u32,
    /// Window length in seconds.
    pub window_secs: u64,
    /// 429s answered since start or the last reset.
    pub throttled: u64,
    /// Windows opened since start or the last reset.
    pub windows: u64,
    /// Live windows, by key.
    pub buckets: Vec<BucketView>,
}

/// The limiter's windows and counters.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: HashMap<String, Bucket>,
    throttled: u64,
    windows: u64,
}

impl RateLimiter {
    /// Checks `key` against `limit` per `window_secs` at `now`, then counts the request
    /// unless it is refused.
    pub fn hit(&mut self, key: &str, limit: u32, window_secs: u64, now: DateTime<Utc>) -> Decision {
        self.buckets.retain(|_, b| b.expires_at > now);
        if let Some(bucket) = self.buckets.get(key) {
            if bucket.hits >= limit {
                self.throttled += 1;
                let retry_after_secs = u64::try_from(bucket.timer - unix(now)).unwrap_or(0);
                return Decision::Throttled {
                    limit,
                    retry_after_secs,
                    reset_at: unix(now).saturating_add_unsigned(retry_after_secs),
                };
            }
        }
        let window = TimeDelta::seconds(i64::try_from(window_secs).unwrap_or(i64::MAX / 1000));
        let bucket = self.buckets.entry(key.to_owned()).or_insert_with(|| {
            self.windows += 1;
            Bucket {
                hits: 0,
                expires_at: add(now, window),
                timer: unix(now).saturating_add(window.num_seconds()),
            }
        });
        bucket.hits = bucket.hits.saturating_add(1);
        Decision::Allowed {
            limit,
            remaining: limit.saturating_sub(bucket.hits),
        }
    }

    /// Settings, counters and the live windows at `now`, by key.
    pub fn view(&self, limit: u32, window_secs: u64, now: DateTime<Utc>) -> RateLimitView {
        let mut buckets: Vec<BucketView> = self
            .buckets
            .iter()
            .filter(|(_, b)| b.expires_at > now)
            .map(|(key, b)| BucketView {
                key: key.clone(),
                hits: b.hits,
                resets_at: b.timer,
            })
            .collect();
        buckets.sort_by(|a, b| a.key.cmp(&b.key));
        RateLimitView {
            limit,
            window_secs,
            throttled: self.throttled,
            windows: self.windows,
            buckets,
        }
    }

    /// Forgets every window and counter.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, millis: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, millis * 1_000_000).unwrap()
    }

    const T0: i64 = 1_700_000_000;

    #[test]
    fn fixed_window_from_the_first_hit_and_refusals_do_not_count() {
        let mut l = RateLimiter::default();
        for n in 1..=3 {
            assert_eq!(
                l.hit("ip:a", 3, 60, at(T0 + 10, 0)),
                Decision::Allowed {
                    limit: 3,
                    remaining: 3 - n
                }
            );
        }
        for _ in 0..5 {
            assert_eq!(
                l.hit("ip:a", 3, 60, at(T0 + 40, 0)),
                Decision::Throttled {
                    limit: 3,
                    retry_after_secs: 30,
                    reset_at: T0 + 70
                }
            );
        }
        // The window started at the first hit (T0+10), not at a wall-clock minute.
        assert_eq!(
            l.hit("ip:a", 3, 60, at(T0 + 70, 0)),
            Decision::Allowed {
                limit: 3,
                remaining: 2
            }
        );
        let view = l.view(3, 60, at(T0 + 70, 0));
        assert_eq!((view.throttled, view.windows), (5, 2));
        assert_eq!(
            view.buckets,
            vec![BucketView {
                key: "ip:a".into(),
                hits: 1,
                resets_at: T0 + 130
            }]
        );
    }

    #[test]
    fn keys_have_their_own_windows() {
        let mut l = RateLimiter::default();
        // (key, allowed): a limit of 1 throttles only a key's second hit.
        for (key, allowed) in [
            ("user:1", true),
            ("user:1", false),
            ("user:2", true),
            ("ip:127.0.0.1", true),
        ] {
            let decision = l.hit(key, 1, 60, at(T0, 0));
            assert_eq!(
                matches!(decision, Decision::Allowed { .. }),
                allowed,
                "{key}: {decision:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_zero_in_the_window_s_last_second() {
        let mut l = RateLimiter::default();
        // Opened at T0.600: the timer says T0+60, the window lasts until T0+60.600.
        l.hit("ip:a", 1, 60, at(T0, 600));
        assert_eq!(
            l.hit("ip:a", 1, 60, at(T0 + 59, 900)),
            Decision::Throttled {
                limit: 1,
                retry_after_secs: 1,
                reset_at: T0 + 60
            }
        );
        assert_eq!(
            l.hit("ip:a", 1, 60, at(T0 + 60, 100)),
            Decision::Throttled {
                limit: 1,
                retry_after_secs: 0,
                reset_at: T0 + 60
            }
        );
        assert_eq!(
            l.hit("ip:a", 1, 60, at(T0 + 60, 600)),
            Decision::Allowed {
                limit: 1,
                remaining: 0
            }
        );
    }

    #[test]
    fn clear_forgets_windows_and_counters() {
        let mut l = RateLimiter::default();
        l.hit("ip:a", 1, 60, at(T0, 0));
        l.hit("ip:a", 1, 60, at(T0, 0));
        l.clear();
        let view = l.view(1, 60, at(T0, 0));
        assert_eq!(
            (view.throttled, view.windows, view.buckets.len()),
            (0, 0, 0)
        );
        assert!(matches!(
            l.hit("ip:a", 1, 60, at(T0, 0)),
            Decision::Allowed { .. }
        ));
    }
}
