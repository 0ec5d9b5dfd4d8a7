//! The context of one operation's calls: its stop request, its account, and what it waited.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Passed explicitly into every [`super::Client`] call of one operation (a create, a read, a
/// shutdown logout). Once `stop` is cancelled no new attempt starts and every wait (for the
/// rate limit or a backoff) ends at once with [`super::ApiError::Cancelled`]; an attempt already
/// sent is finished (bounded by `request_timeout`), because the server may have acted on it.
/// The calls record here how long they waited, so the operation can tell the user.
#[derive(Debug, Default)]
pub struct CallCtx {
    stop: CancellationToken,
    account: OnceLock<String>,
    waited: Mutex<Waited>,
}

/// What the calls of one operation waited for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waited {
    /// Time spent waiting for the CRM's rate limit: after a 429 (this call's or another's on
    /// the same account), for a spent window, or for a 503's `Retry-After`.
    pub rate_limit: Duration,
    /// HTTP 429 answers this operation received.
    pub throttled: u32,
    /// Time spent in backoff after network failures and server errors.
    pub backoff: Duration,
}

impl CallCtx {
    /// Calls that stop when `stop` is cancelled.
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            stop,
            ..Self::default()
        }
    }

    /// Calls that never stop early (e.g. a logout that must be sent although Terraform is stopping).
    pub fn unstoppable() -> Self {
        Self::default()
    }

    /// The calls act for `username`: token-authenticated calls then share that account's
    /// rate-limit bucket (see [`super::limiter`]).
    pub fn for_account(self, username: &str) -> Self {
        self.set_account(username);
        self
    }

    /// As [`CallCtx::for_account`], once the account is known (e.g. at login); the first one set stays.
    pub fn set_account(&self, username: &str) {
        let _ = self.account.set(username.to_owned());
    }

    /// What the calls waited so far.
    pub fn waited(&self) -> Waited {
        *self.lock()
    }

    pub(crate) fn account(&self) -> Option<&str> {
        self.account.get().map(String::as_str)
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves once the operation is stopped.
    pub(crate) async fn stopped(&self) {
        self.stop.cancelled().await;
    }

    pub(crate) fn add_rate_limit_wait(&self, d: Duration) {
        self.lock().rate_limit += d;
    }

    pub(crate) fn add_throttled(&self) {
        self.lock().throttled += 1;
    }

    pub(crate) fn add_backoff(&self, d: Duration) {
        self.lock().backoff += d;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waited> {
        self.waited.lock().unwrap_or_else(|p| p.into_inner())
    }
}
