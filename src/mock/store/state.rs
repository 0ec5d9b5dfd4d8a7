//! [`Store`] itself, its error and settings: what the rules in the sibling files share, kept
//! apart from them so no file imports one that imports it back.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::records::{OutboxMessage, RequestRecord, ResetToken, Session};
use crate::clock::Clock;
use crate::config::MockConfig;
use crate::faults::FaultSet;
use crate::limiter::RateLimiter;
use crate::secrets::Digest256;
use crate::totp_use::TotpUses;

/// Why a store operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Token missing, malformed, unknown, expired or revoked.
    #[error("unauthenticated")]
    Unauthenticated,
    /// Unknown user or wrong password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many login attempts for this username in the last minute.
    #[error("too many login attempts; retry in {retry_after_secs}s")]
    RateLimited {
        /// Seconds until the oldest attempt leaves the window.
        retry_after_secs: u64,
    },
    /// The TOTP code did not match (or there is no secret to match).
    #[error("invalid two-factor code")]
    InvalidTwoFactorCode,
    /// Unknown, used or expired reset token.
    #[error("invalid password reset token")]
    InvalidResetToken,
}

/// A user as the store keeps it: secrets hashed or needed-for-TOTP only.
#[derive(Clone)]
pub(super) struct User {
    /// Numeric id, as a database would give (configuration order, from 1).
    pub(super) id: u64,
    pub(super) password_hash: Digest256,
    pub(super) email: Option<String>,
    /// Enrolled TOTP secret.
    pub(super) totp_secret: Option<Vec<u8>>,
    /// Secret from `/2fa/setup`, enrolled by the next successful verify.
    pub(super) pending_totp_secret: Option<Vec<u8>>,
}

/// Runtime settings, `GET`/`POST /_mock/settings`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Settings {
    /// Undocumented response fields are added (see [`MockConfig::hints`]).
    pub hints: bool,
    /// `throttle:api` requests per window; 0 = off (see [`MockConfig::rate_limit`]).
    pub rate_limit: u32,
    /// The rate limit's window in seconds (at least 1).
    pub rate_limit_window_secs: u64,
    /// A used TOTP code is accepted again (see [`MockConfig::allow_totp_reuse`]).
    pub allow_totp_reuse: bool,
}

impl Settings {
    pub(super) fn from_config(config: &MockConfig) -> Self {
        Self {
            hints: config.hints,
            rate_limit: config.rate_limit,
            rate_limit_window_secs: config.rate_limit_window.as_secs().max(1),
            allow_totp_reuse: config.allow_totp_reuse,
        }
    }
}

/// All mutable mock state.
pub struct Store {
    pub(super) clock: Clock,
    pub(super) token_ttl: TimeDelta,
    pub(super) keep_logged_ttl: TimeDelta,
    pub(super) reset_token_ttl: TimeDelta,
    pub(super) login_rate_limit: Option<u32>,
    pub(super) request_log_limit: usize,
    /// Users as configured, restored by [`Store::reset`].
    pub(super) initial_users: BTreeMap<String, User>,
    pub(super) users: BTreeMap<String, User>,
    pub(super) sessions: BTreeMap<u64, Session>,
    pub(super) next_token_id: u64,
    pub(super) reset_tokens: HashMap<String, ResetToken>,
    pub(super) outbox: Vec<OutboxMessage>,
    pub(super) requests: VecDeque<RequestRecord>,
    pub(super) logins: HashMap<String, u64>,
    pub(super) logouts: HashMap<String, u64>,
    pub(super) login_attempts: HashMap<String, VecDeque<DateTime<Utc>>>,
    /// Settings as configured, restored by [`Store::reset`].
    pub(super) initial_settings: Settings,
    pub(super) settings: Settings,
    pub(super) limiter: RateLimiter,
    pub(super) totp_uses: TotpUses,
    /// Registered faults (consulted by the HTTP middleware).
    pub faults: FaultSet,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("sessions", &self.sessions.len())
            .field("next_token_id", &self.next_token_id)
            .finish_non_exhaustive()
    }
}
