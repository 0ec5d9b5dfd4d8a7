//! The mock's state and rules, synchronous and clock-driven, so they are unit-testable without
//! HTTP or sleeping; the HTTP layer holds its `Mutex` only for the duration of one call.
//! [`Store`] is one struct; its rules live by concern: `sessions` (login, tokens, logout, the
//! login rate limit), `two_factor` (setup, verify, single-use codes), `recovery` (password
//! forgot/reset and the outbox), `observability` (request log); the `throttle:api` limiter
//! and the TOTP-use record are `crate::limiter` and `crate::totp_use`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::MockConfig;
use crate::faults::FaultSet;
use crate::limiter::{Decision, RateLimitView, RateLimiter};
use crate::secrets::{decode_base32, sha256};
pub use crate::time::rfc3339;
use crate::time::to_delta;
use crate::totp_use::TotpUses;

mod observability;
mod records;
mod recovery;
mod sessions;
mod state;
mod two_factor;

pub use records::{OutboxMessage, RequestRecord};
pub use sessions::{Authenticated, LoginOutcome, SessionView, SessionsView};
use state::User;
pub use state::{Settings, Store, StoreError};
pub use two_factor::SetupOutcome;

/// A user in `GET /_mock/users`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserView {
    /// Login name.
    pub username: String,
    /// Address for password resets, if any.
    pub email: Option<String>,
    /// Enrolled in TOTP 2FA: logins are pending until `/2fa/verify`.
    pub two_factor_enrolled: bool,
    /// `/2fa/setup` offered a new secret that no verify has confirmed yet (not enrolled).
    pub two_factor_setup_pending: bool,
}

impl Store {
    /// A store for `config`. Users with invalid TOTP secrets are enrolled without a usable
    /// secret (validate with [`super::MockUser::validate`] first).
    pub fn new(config: &MockConfig) -> Self {
        let users: BTreeMap<String, User> = config
            .users
            .iter()
            .zip(1..)
            .map(|(u, id)| {
                let user = User {
                    id,
                    password_hash: sha256(&u.password),
                    email: u.effective_email().map(str::to_owned),
                    totp_secret: u
                        .totp_secret
                        .as_deref()
                        .map(|s| decode_base32(s).unwrap_or_default()),
                    pending_totp_secret: None,
                };
                (u.username.clone(), user)
            })
            .collect();
        Self {
            clock: config.clock.clone(),
            token_ttl: to_delta(config.token_ttl),
            keep_logged_ttl: to_delta(config.keep_logged_ttl),
            reset_token_ttl: to_delta(config.reset_token_ttl),
            login_rate_limit: config.login_rate_limit,
            request_log_limit: config.request_log_limit,
            initial_users: users.clone(),
            users,
            sessions: BTreeMap::new(),
            next_token_id: 0,
            reset_tokens: HashMap::new(),
            outbox: Vec::new(),
            requests: VecDeque::new(),
            logins: HashMap::new(),
            logouts: HashMap::new(),
            login_attempts: HashMap::new(),
            initial_settings: Settings::from_config(config),
            settings: Settings::from_config(config),
            limiter: RateLimiter::default(),
            totp_uses: TotpUses::default(),
            faults: FaultSet::default(),
        }
    }

    /// The runtime settings.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Replaces the runtime settings (until the next [`Store::reset`]). Open rate-limit
    /// windows keep their end; a new window length applies to windows opened from now on.
    pub fn set_settings(&mut self, settings: Settings) {
        self.settings = Settings {
            rate_limit_window_secs: settings.rate_limit_window_secs.max(1),
            ..settings
        };
    }

    /// `throttle:api` for one `/api/v1` request: keyed by the user of a valid bearer token
    /// (pending 2FA or not, as Sanctum resolves it), else by the client address. `None` when
    /// the limit is off.
    pub fn throttle(&mut self, token: Option<&str>, ip: Option<IpAddr>) -> Option<Decision> {
        let Settings {
            rate_limit,
            rate_limit_window_secs,
            ..
        } = self.settings;
        if rate_limit == 0 {
            return None;
        }
        let user = token
            .and_then(|t| self.authenticate(t).ok())
            .and_then(|auth| self.users.get(&auth.username))
            .map(|u| u.id);
        let key = match (user, ip) {
            (Some(id), _) => format!("user:{id}"),
            (None, Some(ip)) => format!("ip:{ip}"),
            (None, None) => "ip:unknown".to_owned(),
        };
        let now = self.now();
        Some(
            self.limiter
                .hit(&key, rate_limit, rate_limit_window_secs, now),
        )
    }

    /// The limiter's settings, counters and live windows (`GET /_mock/rate-limit`).
    pub fn rate_limit(&self) -> RateLimitView {
        self.limiter.view(
            self.settings.rate_limit,
            self.settings.rate_limit_window_secs,
            self.now(),
        )
    }

    /// Every configured user with its 2FA state, by username.
    pub fn users(&self) -> Vec<UserView> {
        self.users
            .iter()
            .map(|(name, u)| UserView {
                username: name.clone(),
                email: u.email.clone(),
                two_factor_enrolled: u.totp_secret.is_some(),
                two_factor_setup_pending: u.totp_secret.is_none()
                    && u.pending_totp_secret.is_some(),
            })
            .collect()
    }

    /// The store's current time.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Back to the configured state: sessions revoked, users restored (passwords, 2FA),
    /// settings restored, faults, outbox, reset tokens, request log, counters, rate-limit
    /// windows (both limiters) and used TOTP codes cleared.
    /// Token ids keep increasing so old tokens can never match a new session.
    pub fn reset(&mut self) {
        self.users = self.initial_users.clone();
        self.sessions.clear();
        self.reset_tokens.clear();
        self.outbox.clear();
        self.requests.clear();
        self.logins.clear();
        self.logouts.clear();
        self.login_attempts.clear();
        self.limiter.clear();
        self.totp_uses.clear();
        self.settings = self.initial_settings;
        self.faults.clear();
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    pub use std::time::Duration;

    pub use chrono::{DateTime, TimeDelta, Utc};

    pub use super::{Settings, Store};
    pub use crate::clock::ManualClock;
    pub use crate::config::*;
    pub use crate::secrets::{decode_base32, parse_token, totp_code};

    pub const SVC: &str = DEFAULT_SERVICE_ACCOUNT;
    pub const SVC_PW: &str = DEFAULT_SERVICE_ACCOUNT_PASSWORD;

    pub fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    pub fn store_with(f: impl FnOnce(&mut MockConfig)) -> (Store, ManualClock) {
        let clock = ManualClock::new(start());
        let mut config = MockConfig {
            clock: clock.clock(),
            ..MockConfig::default()
        };
        f(&mut config);
        (Store::new(&config), clock)
    }

    pub fn store() -> (Store, ManualClock) {
        store_with(|_| {})
    }

    pub fn login(store: &mut Store, keep_logged: bool) -> String {
        store
            .login(SVC, SVC_PW, keep_logged)
            .unwrap()
            .token
            .expose()
            .to_owned()
    }

    pub fn admin_code(clock: &ManualClock, offset_secs: i64) -> String {
        let secret = decode_base32(DEFAULT_ADMIN_TOTP_SECRET).unwrap();
        totp_code(&secret, (clock.now().timestamp() + offset_secs) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::*;

    #[test]
    fn settings_change_at_runtime_and_reset_restores_them() {
        let (mut s, _) = store_with(|c| c.hints = true);
        assert!(s.settings().hints);
        s.set_settings(Settings {
            hints: false,
            ..s.settings()
        });
        assert!(!s.settings().hints);
        s.reset();
        assert!(s.settings().hints);
        assert!(!store().0.settings().hints, "hints are opt-in");
    }

    #[test]
    fn throttle_keys_by_user_with_a_valid_token_else_by_ip() {
        let (mut s, _) = store_with(|c| c.rate_limit = 1);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let token = login(&mut s, false);
        let allowed = |d: Option<Decision>| matches!(d, Some(Decision::Allowed { .. }));
        assert!(allowed(s.throttle(Some(&token), Some(ip))));
        assert!(!allowed(s.throttle(Some(&token), Some(ip))), "user:1 spent");
        assert!(allowed(s.throttle(None, Some(ip))), "ip has its own window");
        assert!(
            !allowed(s.throttle(Some("9|forged"), Some(ip))),
            "an invalid token is the ip"
        );
        assert!(allowed(s.throttle(None, None)));
        let keys: Vec<String> = s.rate_limit().buckets.into_iter().map(|b| b.key).collect();
        assert_eq!(keys, ["ip:10.0.0.1", "ip:unknown", "user:1"]);
        s.set_settings(Settings {
            rate_limit: 0,
            ..s.settings()
        });
        assert_eq!(s.throttle(Some(&token), Some(ip)), None, "0 is off");
        s.reset();
        assert_eq!(s.rate_limit().windows, 0);
        assert!(
            allowed(s.throttle(Some(&token), Some(ip))),
            "reset restores the limit"
        );
    }

    #[test]
    fn reset_restores_configuration_and_keeps_ids_increasing() {
        let (mut s, _) = store();
        let before = login(&mut s, false);
        s.forgot_password(DEFAULT_ADMIN);
        let reset = s.outbox()[0].reset_token.expose().to_owned();
        s.reset_password(&reset, "changed-password").unwrap();
        s.record_request("GET", "/x", 404);
        s.reset();
        assert!(s.authenticate(&before).is_err());
        assert!(s.outbox().is_empty() && s.requests().is_empty());
        assert_eq!(
            s.sessions(None),
            SessionsView {
                active: 0,
                logins: 0,
                logouts: 0,
                sessions: vec![]
            }
        );
        assert!(s
            .login(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
            .is_ok());
        let after = login(&mut s, false);
        assert!(parse_token(&after).unwrap().0 > parse_token(&before).unwrap().0);
    }
}
