//! Per-request context: Terraform's stop request, the process's teardown, and client facts.
//!
//! Two signals, because they ask for different things:
//! - *stop* (Terraform's StopProvider, sent on Ctrl-C): start no new work and cut waits
//!   short, but finish what already reached a remote system, so its result is not lost;
//! - *abandon* (the process is exiting): drop whatever is still running.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

/// Where a [`Context`] reads the current time: the system clock, or for tests a fixed or
/// scripted one, so time-dependent decisions can be checked at any instant without sleeping.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system's real clock.
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// A clock that always reads `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Arc::new(move || at))
    }

    /// A clock that reads whatever `now` returns (for example a time a test moves forward).
    pub fn from_fn(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The current time by this clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}

/// What the Terraform client says it supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCapabilities {
    /// The client accepts deferred responses.
    pub deferral_allowed: bool,
    /// The client supports write-only attributes (Terraform 1.11+).
    pub write_only_attributes_allowed: bool,
}

/// Passed to every provider operation.
#[derive(Debug, Clone, Default)]
pub struct Context {
    stop: CancellationToken,
    abandon: CancellationToken,
    clock: Clock,
}

/// The operation was cancelled by Terraform (Ctrl-C → StopProvider) or by the provider
/// process shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operation was cancelled because Terraform is stopping")]
pub struct Cancelled;

impl Context {
    /// A context stopped by `stop`, never abandoned.
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            stop,
            abandon: CancellationToken::new(),
            clock: Clock::system(),
        }
    }

    /// A context abandoned by `abandon` and stopped by `stop`, which should be a child of
    /// `abandon` (a teardown implies a stop).
    pub fn with_abandon(stop: CancellationToken, abandon: CancellationToken) -> Self {
        Self {
            stop,
            abandon,
            clock: Clock::system(),
        }
    }

    /// This context reading the time from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The current time (UTC) by the server's clock; use it instead of `Utc::now()`, so
    /// tests can run time-dependent logic at any instant.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Whether Terraform asked the provider to stop (or the process is exiting).
    pub fn is_cancelled(&self) -> bool {
        self.stop.is_cancelled() || self.abandon.is_cancelled()
    }

    /// A token cancelled when Terraform asks the provider to stop, for code that must
    /// start no new work from then on (for example a retry loop). The server derives it from
    /// the abandon token, so it is cancelled on teardown too.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Runs `f` unless Terraform stops the provider first; for work that has no effect
    /// outside the provider until it completes.
    pub async fn run<F: Future>(&self, f: F) -> Result<F::Output, Cancelled> {
        tokio::select! {
            biased;
            () = self.stop.cancelled() => Err(Cancelled),
            () = self.abandon.cancelled() => Err(Cancelled),
            out = f => Ok(out),
        }
    }

    /// Runs `f` to completion even if Terraform asks to stop, unless the process is
    /// exiting; for work that may already have changed a remote system, whose outcome
    /// must reach Terraform. `f` itself should bound its time (e.g. with a request timeout).
    pub async fn finish<F: Future>(&self, f: F) -> Result<F::Output, Cancelled> {
        tokio::select! {
            biased;
            () = self.abandon.cancelled() => Err(Cancelled),
            out = f => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn stop_cancels_run_but_not_finish() {
        let stop = CancellationToken::new();
        let abandon = CancellationToken::new();
        let ctx = Context::with_abandon(stop.clone(), abandon);
        stop.cancel();
        assert!(ctx.is_cancelled());
        assert_eq!(ctx.run(std::future::pending::<()>()).await, Err(Cancelled));
        let slow = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            7
        };
        assert_eq!(ctx.finish(slow).await, Ok(7));
        assert!(ctx.stop_token().is_cancelled());
    }

    #[test]
    fn now_reads_the_clock_it_was_given() {
        let at = DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid time");
        let ctx = Context::default().with_clock(Clock::fixed(at));
        assert_eq!(ctx.now(), at);
        assert_eq!(ctx.clone().now(), at);
        let real = Context::default().now();
        assert!((Utc::now() - real).num_seconds().abs() < 60, "{real}");
    }

    #[tokio::test]
    async fn abandon_cancels_finish_and_the_stop_token() {
        let abandon = CancellationToken::new();
        let ctx = Context::with_abandon(abandon.child_token(), abandon.clone());
        let stop = ctx.stop_token();
        assert!(!stop.is_cancelled());
        let pending = ctx.finish(std::future::pending::<()>());
        abandon.cancel();
        assert_eq!(pending.await, Err(Cancelled));
        tokio::time::timeout(Duration::from_secs(5), stop.cancelled())
            .await
            .expect("abandon reaches the stop token");
    }
}
