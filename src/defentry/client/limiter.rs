//! One limiter per CRM rate-limit bucket, shared by every call in the provider process.
//!
//! The vendor runs Laravel's `throttle:api`: a fixed window (60 requests a minute by default)
//! counted per user once a request is authenticated, and per client IP before (login, password
//! recovery). Each response says how many requests are left (`X-RateLimit-Remaining`); a 429 says
//! how long until the window resets (`Retry-After`, often 0 in its last second). So the limiters
//! are keyed the way the server counts:
//! - [`Bucket::Ip`]: calls without a token, one per API whatever the account, as every login
//!   of this process comes from the same address;
//! - [`Bucket::Account`]: calls with a token, one per API and username (tokens of one user share
//!   the user's window). When the caller does not know the username (a bare token handed to the
//!   logout action) the calls share one "unknown account" bucket per API, erring on the side of
//!   waiting.
//!
//! The API part of the key is the normalised `api_domain`, so provider aliases for the same CRM
//! share limiters and different CRMs never do. When the server says the window is spent (a 429,
//! or `Remaining: 0`) every call of the bucket waits for the reset instead of each earning its own
//! 429; after it one call goes first (a probe) and its answer says how many may follow.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::call::CallCtx;
use crate::defentry::time::duration::format_duration;

/// The least wait after a server said "wait", whatever it asked (Laravel answers
/// `Retry-After: 0` in a window's last second, which is not over yet).
const FLOOR: Duration = Duration::from_secs(1);
/// Up to this much is added to every such wait, so processes sharing an account do not all
/// come back in the same instant.
const JITTER: Duration = Duration::from_millis(250);
/// An absurd `Retry-After` (a year, 2^64 seconds) is read as this: still far beyond any
/// window and any sensible `rate_limit_timeout`, and safe to add to a clock reading.
const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);

/// Whose window a call counts against, on the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    /// Unauthenticated calls: the client IP's window.
    Ip,
    /// Token-authenticated calls: the window of this username (`None`: not known to the caller).
    Account(Option<String>),
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bucket::Ip => f.write_str("calls before login"),
            Bucket::Account(Some(user)) => write!(f, "calls as {user}"),
            Bucket::Account(None) => f.write_str("calls with a token of an unnamed account"),
        }
    }
}

/// A limiter's identity: the API base URL and the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LimitKey {
    api: String,
    bucket: Bucket,
}

impl LimitKey {
    pub(crate) fn new(api: &str, bucket: Bucket) -> Self {
        Self {
            api: api.to_owned(),
            bucket,
        }
    }
}

static LIMITERS: LazyLock<Mutex<HashMap<LimitKey, Arc<Limiter>>>> = LazyLock::new(Mutex::default);

/// The process-wide limiter of `key` (created on first use; a few bytes each, kept for the
/// life of the process).
pub(crate) fn shared(key: LimitKey) -> Arc<Limiter> {
    let mut map = LIMITERS.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(key.clone())
        .or_insert_with(|| Arc::new(Limiter::new(format!("{} ({})", key.api, key.bucket))))
        .clone()
}

/// How many calls may start now, as far as the server's answers tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowance {
    /// The server sends no `X-RateLimit-Remaining`: nothing to go by until it says 429.
    Unlimited,
    /// Not known (first use, or a window just reset): one call at a time finds out.
    Probe,
    /// This many more in the current window.
    Known(u32),
}

#[derive(Debug)]
struct State {
    allowance: Allowance,
    in_flight: u32,
    /// No call starts before this (the window is spent).
    blocked_until: Option<Instant>,
}

/// Paces the calls of one bucket.
#[derive(Debug)]
pub(crate) struct Limiter {
    label: String,
    state: Mutex<State>,
    changed: Notify,
}

/// Why no turn was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The operation was stopped while waiting.
    Stopped,
    /// Waiting longer would exceed the time budget; `asked` is the wait that was needed, if known.
    OutOfTime { asked: Option<Duration> },
}

/// What the server said about the rate limit in one response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Feedback {
    /// The server asked every call to wait this long (429, or 503 with `Retry-After`).
    pub wait: Option<Duration>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u32>,
}

enum Next {
    Go,
    Until(Instant),
    Turn,
}

impl Limiter {
    pub(crate) fn new(label: String) -> Self {
        Self {
            label,
            state: Mutex::new(State {
                allowance: Allowance::Probe,
                in_flight: 0,
                blocked_until: None,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this call's turn: until a spent window resets, or until a call in flight says
    /// how many may follow. Waits end when `cx` is stopped, and are refused once the time `cx`
    /// spent waiting for the rate limit would exceed `budget`. The time waited is added to `cx`.
    pub(crate) async fn acquire(
        &self,
        cx: &CallCtx,
        budget: Duration,
    ) -> Result<Permit<'_>, Refusal> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the state is read, so no release between the two is missed.
            changed.as_mut().enable();
            let now = Instant::now();
            let next = {
                let mut st = self.lock();
                if st.blocked_until.is_some_and(|until| until <= now) {
                    st.blocked_until = None;
                    st.allowance = Allowance::Probe;
                }
                match st.blocked_until {
                    Some(until) => Next::Until(until),
                    None => take(&mut st),
                }
            };
            if cx.is_stopped() {
                if let Next::Go = next {
                    self.release();
                }
                return Err(Refusal::Stopped);
            }
            let left = budget.saturating_sub(cx.waited().rate_limit);
            let waited = match next {
                Next::Go => return Ok(Permit { limiter: self }),
                Next::Until(until) => {
                    let asked = until - now;
                    if asked > left {
                        return Err(Refusal::OutOfTime { asked: Some(asked) });
                    }
                    tracing::debug!(limiter = %self.label, wait_ms = asked.as_millis() as u64, "waiting for the Defentry rate limit window to reset");
                    tokio::select! {
                        biased;
                        () = cx.stopped() => Err(Refusal::Stopped),
                        () = tokio::time::sleep_until(until) => Ok(()),
                    }
                }
                Next::Turn => tokio::select! {
                    biased;
                    () = cx.stopped() => Err(Refusal::Stopped),
                    () = changed => Ok(()),
                    () = tokio::time::sleep(left) => Err(Refusal::OutOfTime { asked: None }),
                },
            };
            cx.add_rate_limit_wait(now.elapsed());
            waited?;
        }
    }

    fn release(&self) {
        let mut st = self.lock();
        st.in_flight = st.in_flight.saturating_sub(1);
        drop(st);
        self.changed.notify_waiters();
    }

    fn finish(&self, fb: Feedback) {
        let mut st = self.lock();
        st.in_flight = st.in_flight.saturating_sub(1);
        if let Some(asked) = fb.wait {
            let wait = at_least_floor(asked);
            let until = Instant::now() + wait;
            if st.blocked_until.is_none_or(|u| u < until) {
                if st.blocked_until.is_none() {
                    tracing::info!(
                        limiter = %self.label,
                        wait = %format_duration(wait),
                        "Defentry's rate limit is reached: its calls wait for the window to reset"
                    );
                }
                st.blocked_until = Some(until);
            }
            st.allowance = Allowance::Probe;
        } else if let Some(r) = fb.remaining {
            // Calls still in flight may not be counted in `r` yet: assume they are not. With
            // none in flight the answer is exact, which is how a reset window is found again.
            let estimate = r.saturating_sub(st.in_flight);
            st.allowance = match st.allowance {
                Allowance::Known(n) if st.in_flight > 0 => Allowance::Known(n.min(estimate)),
                _ => Allowance::Known(estimate),
            };
        } else if st.allowance == Allowance::Probe {
            st.allowance = Allowance::Unlimited;
        }
        drop(st);
        self.changed.notify_waiters();
    }
}

/// A wait the server asked for, as waited: never less than asked nor than the floor, plus
/// jitter.
pub(crate) fn at_least_floor(asked: Duration) -> Duration {
    let jitter = rand::rng().random_range(Duration::ZERO..=JITTER);
    (asked.min(LONGEST) + jitter).max(FLOOR + jitter)
}

/// Takes a turn if the allowance has one.
fn take(st: &mut State) -> Next {
    match st.allowance {
        Allowance::Unlimited => {}
        Allowance::Known(n) if n > 0 => st.allowance = Allowance::Known(n - 1),
        // Nothing known to be left: one call at a time finds out (a spent window answers 429
        // with the wait; a reset one answers with its new allowance).
        Allowance::Known(_) | Allowance::Probe if st.in_flight == 0 => {}
        Allowance::Known(_) | Allowance::Probe => return Next::Turn,
    }
    st.in_flight += 1;
    Next::Go
}

/// A call's turn: give it back with [`Permit::finish`] and what the server said, or drop it.
#[must_use]
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
}

impl Permit<'_> {
    /// Ends the turn with what the response said about the rate limit.
    pub(crate) fn finish(self, fb: Feedback) {
        self.limiter.finish(fb);
        std::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio_util::sync::CancellationToken;

    const BUDGET: Duration = Duration::from_secs(600);

    fn throttled(secs: u64) -> Feedback {
        Feedback {
            wait: Some(Duration::from_secs(secs)),
            remaining: Some(0),
        }
    }

    /// One call through `limiter` that the server answered with `fb`.
    async fn answered(limiter: &Limiter, cx: &CallCtx, budget: Duration, fb: Feedback) {
        limiter.acquire(cx, budget).await.unwrap().finish(fb);
    }

    fn ok(remaining: u32) -> Feedback {
        Feedback {
            wait: None,
            remaining: Some(remaining),
        }
    }

    /// A fake server window: `limit` calls per `window`, fixed windows from time zero.
    struct Window {
        start: Instant,
        limit: u32,
        window: Duration,
        used: Mutex<(u64, u32)>,
        rejected: AtomicU32,
    }

    impl Window {
        fn new(limit: u32, window: Duration) -> Self {
            Self {
                start: Instant::now(),
                limit,
                window,
                used: Mutex::new((0, 0)),
                rejected: AtomicU32::new(0),
            }
        }

        fn hit(&self) -> Feedback {
            let elapsed = Instant::now() - self.start;
            let n = (elapsed.as_nanos() / self.window.as_nanos()) as u64;
            let mut used = self.used.lock().unwrap();
            if used.0 != n {
                *used = (n, 0);
            }
            if used.1 >= self.limit {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                let reset = self.window * (n as u32 + 1);
                let left = reset - elapsed;
                // Whole seconds, rounded down, as Laravel's Retry-After.
                return throttled(left.as_secs());
            }
            used.1 += 1;
            ok(self.limit - used.1)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn many_tasks_share_one_window_and_meet_few_429s() {
        let limiter = Arc::new(Limiter::new("test".into()));
        let server = Arc::new(Window::new(60, Duration::from_secs(60)));
        let start = Instant::now();
        let tasks: Vec<_> = (0..150)
            .map(|_| {
                let (limiter, server) = (limiter.clone(), server.clone());
                tokio::spawn(async move {
                    let cx = CallCtx::new(CancellationToken::new());
                    loop {
                        let permit = limiter.acquire(&cx, BUDGET).await.unwrap();
                        // A round trip.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        let fb = server.hit();
                        permit.finish(fb);
                        if fb.wait.is_none() {
                            return cx.waited();
                        }
                        cx.add_throttled();
                    }
                })
            })
            .collect();
        let mut waited = Vec::new();
        for t in tasks {
            waited.push(t.await.unwrap());
        }
        // 150 calls at 60 a minute: the third window; a few 429s per window, not hundreds.
        let elapsed = Instant::now() - start;
        assert!(elapsed >= Duration::from_secs(120), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(125), "{elapsed:?}");
        let rejected = server.rejected.load(Ordering::Relaxed);
        assert!(rejected <= 6, "{rejected} 429s");
        // Those that came late waited for the limit, and the cx says so.
        assert!(
            waited
                .iter()
                .filter(|w| w.rate_limit >= Duration::from_secs(50))
                .count()
                >= 80
        );
    }

    #[tokio::test(start_paused = true)]
    async fn one_429_makes_every_caller_wait_for_the_reset() {
        let limiter = Limiter::new("test".into());
        let cx = CallCtx::new(CancellationToken::new());
        let first = limiter.acquire(&cx, BUDGET).await.unwrap();
        first.finish(throttled(30));
        let start = Instant::now();
        let others: Vec<_> = (0..5)
            .map(|_| CallCtx::new(CancellationToken::new()))
            .collect();
        let permits = futures_util::future::join_all(others.iter().map(|cx| async {
            let p = limiter.acquire(cx, BUDGET).await.unwrap();
            let at = Instant::now();
            p.finish(ok(50));
            at
        }))
        .await;
        for at in permits {
            let waited = at - start;
            assert!(waited >= Duration::from_secs(30), "{waited:?}");
            assert!(waited <= Duration::from_secs(31), "{waited:?}");
        }
        assert!(others
            .iter()
            .all(|cx| cx.waited().rate_limit >= Duration::from_secs(30)));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_zero_still_waits_the_floor() {
        let limiter = Limiter::new("test".into());
        let cx = CallCtx::new(CancellationToken::new());
        answered(&limiter, &cx, BUDGET, throttled(0)).await;
        let start = Instant::now();
        drop(limiter.acquire(&cx, BUDGET).await.unwrap());
        let waited = Instant::now() - start;
        assert!(waited >= FLOOR && waited <= FLOOR + JITTER, "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_wait_at_once() {
        let limiter = Limiter::new("test".into());
        let stop = CancellationToken::new();
        let cx = CallCtx::new(stop.clone());
        answered(&limiter, &cx, BUDGET, throttled(60)).await;
        let start = Instant::now();
        let stopper = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            stopper.cancel();
        });
        assert_eq!(
            limiter.acquire(&cx, BUDGET).await.err(),
            Some(Refusal::Stopped)
        );
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
        // A stopped operation starts nothing, even when no wait is needed.
        let free = Limiter::new("free".into());
        assert_eq!(
            free.acquire(&cx, BUDGET).await.err(),
            Some(Refusal::Stopped)
        );
        let other = CallCtx::new(CancellationToken::new());
        drop(free.acquire(&other, BUDGET).await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn the_time_budget_runs_out() {
        let limiter = Limiter::new("test".into());
        let cx = CallCtx::new(CancellationToken::new());
        let budget = Duration::from_secs(90);
        // A wait longer than the budget is refused at once: no point in waiting to fail.
        answered(&limiter, &cx, budget, throttled(120)).await;
        let start = Instant::now();
        let refused = limiter.acquire(&cx, budget).await.err();
        assert!(
            matches!(refused, Some(Refusal::OutOfTime { asked: Some(d) }) if d >= Duration::from_secs(120)),
            "{refused:?}"
        );
        assert_eq!(Instant::now(), start);
        // An absurd Retry-After is refused as well, without overflowing anything.
        let limiter = Limiter::new("absurd".into());
        answered(
            &limiter,
            &cx,
            budget,
            Feedback {
                wait: Some(Duration::from_secs(u64::MAX)),
                remaining: None,
            },
        )
        .await;
        assert!(matches!(
            limiter.acquire(&cx, budget).await.err(),
            Some(Refusal::OutOfTime { asked: Some(_) })
        ));
        // Waits add up: 60 s, then another 60 s would exceed 90 s.
        let limiter = Limiter::new("test2".into());
        answered(&limiter, &cx, budget, throttled(60)).await;
        answered(&limiter, &cx, budget, throttled(60)).await;
        assert!(matches!(
            limiter.acquire(&cx, budget).await.err(),
            Some(Refusal::OutOfTime { .. })
        ));
        assert!(cx.waited().rate_limit >= Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_window_lets_one_probe_through_not_a_stampede() {
        let limiter = Limiter::new("test".into());
        let cx = CallCtx::new(CancellationToken::new());
        answered(&limiter, &cx, BUDGET, ok(0)).await;
        // Remaining 0: one call goes (and will learn the wait), the next waits for it.
        let probe = limiter.acquire(&cx, BUDGET).await.unwrap();
        let second =
            tokio::time::timeout(Duration::from_secs(5), limiter.acquire(&cx, BUDGET)).await;
        assert!(
            second.is_err(),
            "a second call started while the window was spent"
        );
        drop(probe);
        // A server without X-RateLimit headers is not paced at all.
        let plain = Limiter::new("plain".into());
        answered(&plain, &cx, BUDGET, Feedback::default()).await;
        let held: Vec<_> =
            futures_util::future::join_all((0..20).map(|_| plain.acquire(&cx, BUDGET))).await;
        assert!(held.iter().all(Result::is_ok));
    }

    #[test]
    fn keys_follow_the_servers_buckets() {
        let a = shared(LimitKey::new(
            "https://a.example",
            Bucket::Account(Some("u".into())),
        ));
        let b = shared(LimitKey::new(
            "https://a.example",
            Bucket::Account(Some("u".into())),
        ));
        assert!(Arc::ptr_eq(&a, &b));
        let ip = shared(LimitKey::new("https://a.example", Bucket::Ip));
        assert!(!Arc::ptr_eq(&a, &ip));
        let other = shared(LimitKey::new(
            "https://b.example",
            Bucket::Account(Some("u".into())),
        ));
        assert!(!Arc::ptr_eq(&a, &other));
        assert_eq!(a.label, "https://a.example (calls as u)");
    }
}
