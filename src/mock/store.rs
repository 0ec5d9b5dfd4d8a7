//! The mock's state and rules: users, Sanctum-style sessions, 2FA, password resets, counters,
//! request log and faults. Synchronous and clock-driven, so it is unit-testable without HTTP
//! or sleeping; the HTTP layer holds its `Mutex` only for the duration of one call.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::clock::Clock;
use super::config::MockConfig;
use super::faults::FaultSet;
use super::limiter::{Decision, RateLimitView, RateLimiter};
use super::secrets::{
    decode_base32, digest_eq, encode_base32, otpauth_url, parse_token, random_reset_token,
    random_token_secret, random_totp_secret, sha256, totp_step_of, Digest256, SecretString,
};
pub use super::time::rfc3339;
use super::time::{add, to_delta};
use super::totp_use::TotpUses;

/// Window of the login rate limit.
const RATE_WINDOW: TimeDelta = TimeDelta::seconds(60);

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
struct User {
    /// Numeric id, as a database would give (configuration order, from 1).
    id: u64,
    password_hash: Digest256,
    email: Option<String>,
    /// Enrolled TOTP secret.
    totp_secret: Option<Vec<u8>>,
    /// Secret from `/2fa/setup`, enrolled by the next successful verify.
    pending_totp_secret: Option<Vec<u8>>,
}

/// One issued token. Only the SHA-256 of its secret part is kept.
#[derive(Clone)]
struct Session {
    username: String,
    token_hash: Digest256,
    keep_logged: bool,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    two_factor_verified: bool,
}

/// A pending password reset (one per user; a new request replaces it).
struct ResetToken {
    token_hash: Digest256,
    created_at: DateTime<Utc>,
}

/// The caller identified by a valid bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The numeric part of the token.
    pub token_id: u64,
    /// Owner.
    pub username: String,
    /// False while a 2FA login awaits `/2fa/verify`.
    pub two_factor_verified: bool,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// `<id>|<secret>`, returned once and never stored.
    pub token: SecretString,
    /// The token is pending until `/2fa/verify`.
    pub two_factor_required: bool,
}

/// Result of `/2fa/setup`.
#[derive(Debug, Clone)]
pub enum SetupOutcome {
    /// The user is enrolled; the secret is not revealed again.
    AlreadyEnabled,
    /// A new pending secret.
    NewSecret {
        /// Base32 secret.
        secret: SecretString,
        /// `otpauth://` URL for QR codes (contains the secret).
        otpauth_url: SecretString,
    },
}

/// A session in `GET /_mock/sessions`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SessionView {
    /// Token id as a string (`"7"`).
    pub token_id: String,
    /// Owner.
    pub username: String,
    /// Logged in with `keep_logged: true`.
    pub keep_logged: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// False while pending 2FA.
    pub two_factor_verified: bool,
}

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
    fn from_config(config: &MockConfig) -> Self {
        Self {
            hints: config.hints,
            rate_limit: config.rate_limit,
            rate_limit_window_secs: config.rate_limit_window.as_secs().max(1),
            allow_totp_reuse: config.allow_totp_reuse,
        }
    }
}

/// Body of `GET /_mock/sessions`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SessionsView {
    /// Sessions neither expired nor revoked.
    pub active: usize,
    /// Successful logins since start or the last reset.
    pub logins: u64,
    /// Successful logouts since start or the last reset.
    pub logouts: u64,
    /// The active sessions, oldest first.
    pub sessions: Vec<SessionView>,
}

/// A password-reset e-mail. The reset token is in clear: this *is* the e-mail.
#[derive(Clone, Serialize)]
pub struct OutboxMessage {
    /// Recipient.
    pub to: String,
    /// Token to pass to `/password/reset`.
    pub reset_token: String,
    /// RFC 3339.
    pub sent_at: String,
}

impl fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("to", &self.to)
            .field("reset_token", &"[redacted]")
            .field("sent_at", &self.sent_at)
            .finish()
    }
}

/// One line of `GET /_mock/requests`: never bodies or headers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path without query string.
    pub path: String,
    /// Status answered.
    pub status: u16,
    /// RFC 3339.
    pub at: String,
}

/// All mutable mock state.
pub struct Store {
    clock: Clock,
    token_ttl: TimeDelta,
    keep_logged_ttl: TimeDelta,
    reset_token_ttl: TimeDelta,
    login_rate_limit: Option<u32>,
    request_log_limit: usize,
    /// Users as configured, restored by [`Store::reset`].
    initial_users: BTreeMap<String, User>,
    users: BTreeMap<String, User>,
    sessions: BTreeMap<u64, Session>,
    next_token_id: u64,
    reset_tokens: HashMap<String, ResetToken>,
    outbox: Vec<OutboxMessage>,
    requests: VecDeque<RequestRecord>,
    logins: HashMap<String, u64>,
    logouts: HashMap<String, u64>,
    login_attempts: HashMap<String, VecDeque<DateTime<Utc>>>,
    /// Settings as configured, restored by [`Store::reset`].
    initial_settings: Settings,
    settings: Settings,
    limiter: RateLimiter,
    totp_uses: TotpUses,
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

    /// Counts an attempt against the per-username limit; refuses when the window is full.
    fn check_rate_limit(&mut self, username: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let Some(limit) = self.login_rate_limit else {
            return Ok(());
        };
        let attempts = self.login_attempts.entry(username.to_owned()).or_default();
        while attempts.front().is_some_and(|t| *t + RATE_WINDOW <= now) {
            attempts.pop_front();
        }
        if attempts.len() >= limit as usize {
            let oldest = attempts.front().copied().unwrap_or(now);
            let wait = (oldest + RATE_WINDOW - now).num_milliseconds().max(0) as u64;
            return Err(StoreError::RateLimited {
                retry_after_secs: wait.div_ceil(1000).max(1),
            });
        }
        attempts.push_back(now);
        Ok(())
    }

    /// Checks credentials and issues a token (pending when the user is enrolled in 2FA).
    pub fn login(
        &mut self,
        username: &str,
        password: &str,
        keep_logged: bool,
    ) -> Result<LoginOutcome, StoreError> {
        let now = self.now();
        self.check_rate_limit(username, now)?;
        let presented = sha256(password);
        let user = self
            .users
            .get(username)
            .filter(|u| digest_eq(&u.password_hash, &presented))
            .ok_or(StoreError::InvalidCredentials)?;
        let two_factor_required = user.totp_secret.is_some();
        // Expired sessions can never become valid again; drop them so memory stays bounded.
        self.sessions.retain(|_, s| s.expires_at > now);
        self.next_token_id += 1;
        let id = self.next_token_id;
        let secret = random_token_secret();
        let ttl = if keep_logged {
            self.keep_logged_ttl
        } else {
            self.token_ttl
        };
        self.sessions.insert(
            id,
            Session {
                username: username.to_owned(),
                token_hash: sha256(&secret),
                keep_logged,
                created_at: now,
                expires_at: add(now, ttl),
                two_factor_verified: !two_factor_required,
            },
        );
        *self.logins.entry(username.to_owned()).or_default() += 1;
        Ok(LoginOutcome {
            token: SecretString::new(format!("{id}|{secret}")),
            two_factor_required,
        })
    }

    /// Resolves a presented bearer token; expiry is checked against the clock on every use.
    pub fn authenticate(&mut self, token: &str) -> Result<Authenticated, StoreError> {
        let (id, secret) = parse_token(token).ok_or(StoreError::Unauthenticated)?;
        let session = self.sessions.get(&id).ok_or(StoreError::Unauthenticated)?;
        if !digest_eq(&session.token_hash, &sha256(secret)) {
            return Err(StoreError::Unauthenticated);
        }
        if session.expires_at <= self.now() {
            self.sessions.remove(&id);
            return Err(StoreError::Unauthenticated);
        }
        Ok(Authenticated {
            token_id: id,
            username: session.username.clone(),
            two_factor_verified: session.two_factor_verified,
        })
    }

    /// Revokes exactly the presented token.
    pub fn logout(&mut self, token: &str) -> Result<(), StoreError> {
        let auth = self.authenticate(token)?;
        self.sessions.remove(&auth.token_id);
        *self.logouts.entry(auth.username).or_default() += 1;
        Ok(())
    }

    /// Starts TOTP enrolment, or reports that the user is already enrolled.
    pub fn setup_two_factor(&mut self, auth: &Authenticated) -> Result<SetupOutcome, StoreError> {
        let user = self
            .users
            .get_mut(&auth.username)
            .ok_or(StoreError::Unauthenticated)?;
        if user.totp_secret.is_some() {
            return Ok(SetupOutcome::AlreadyEnabled);
        }
        let secret = random_totp_secret();
        let encoded = encode_base32(&secret);
        user.pending_totp_secret = Some(secret);
        Ok(SetupOutcome::NewSecret {
            otpauth_url: SecretString::new(otpauth_url(&auth.username, &encoded)),
            secret: SecretString::new(encoded),
        })
    }

    /// Checks a TOTP code (current or previous step) against the enrolled secret, else the
    /// pending setup secret, which it then enrols. Marks the session verified. Unless reuse is
    /// allowed, a code is accepted once per user: it and older codes are refused afterwards.
    pub fn verify_two_factor(
        &mut self,
        auth: &Authenticated,
        code: &str,
    ) -> Result<(), StoreError> {
        let now = u64::try_from(self.now().timestamp()).unwrap_or(0);
        // The token may have been revoked since it was authenticated; enrol nothing then.
        if !self.sessions.contains_key(&auth.token_id) {
            return Err(StoreError::Unauthenticated);
        }
        let user = self
            .users
            .get_mut(&auth.username)
            .ok_or(StoreError::Unauthenticated)?;
        let secret = user
            .totp_secret
            .as_ref()
            .or(user.pending_totp_secret.as_ref())
            .ok_or(StoreError::InvalidTwoFactorCode)?;
        let step = totp_step_of(secret, code, now).ok_or(StoreError::InvalidTwoFactorCode)?;
        if !self.settings.allow_totp_reuse && !self.totp_uses.is_fresh(&auth.username, step) {
            return Err(StoreError::InvalidTwoFactorCode);
        }
        self.totp_uses.record(&auth.username, step);
        if user.totp_secret.is_none() {
            user.totp_secret = user.pending_totp_secret.take();
        }
        let session = self
            .sessions
            .get_mut(&auth.token_id)
            .ok_or(StoreError::Unauthenticated)?;
        session.two_factor_verified = true;
        Ok(())
    }

    /// Sends a reset e-mail to a known address (case-insensitive); silently does nothing for
    /// unknown ones so callers cannot enumerate users.
    pub fn forgot_password(&mut self, email: &str) {
        let now = self.now();
        let Some((username, address)) = self.users.iter().find_map(|(name, u)| {
            u.email
                .as_deref()
                .filter(|e| e.eq_ignore_ascii_case(email))
                .map(|e| (name.clone(), e.to_owned()))
        }) else {
            return;
        };
        let token = random_reset_token();
        self.reset_tokens.insert(
            username,
            ResetToken {
                token_hash: sha256(&token),
                created_at: now,
            },
        );
        self.outbox.push(OutboxMessage {
            to: address,
            reset_token: token,
            sent_at: rfc3339(now),
        });
    }

    /// Consumes a reset token (single use, valid `reset_token_ttl`) and sets a new password.
    /// Existing sessions stay valid, as with Sanctum.
    pub fn reset_password(&mut self, token: &str, password: &str) -> Result<(), StoreError> {
        let now = self.now();
        let presented = sha256(token);
        let username = self
            .reset_tokens
            .iter()
            .find(|(_, r)| digest_eq(&r.token_hash, &presented))
            .map(|(name, _)| name.clone())
            .ok_or(StoreError::InvalidResetToken)?;
        let entry = self
            .reset_tokens
            .remove(&username)
            .ok_or(StoreError::InvalidResetToken)?;
        if add(entry.created_at, self.reset_token_ttl) <= now {
            return Err(StoreError::InvalidResetToken);
        }
        let user = self
            .users
            .get_mut(&username)
            .ok_or(StoreError::InvalidResetToken)?;
        user.password_hash = sha256(password);
        Ok(())
    }

    /// Active sessions and counters, optionally for one username.
    pub fn sessions(&self, username: Option<&str>) -> SessionsView {
        let now = self.now();
        let sessions: Vec<SessionView> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.expires_at > now)
            .filter(|(_, s)| username.is_none_or(|u| s.username == u))
            .map(|(id, s)| SessionView {
                token_id: id.to_string(),
                username: s.username.clone(),
                keep_logged: s.keep_logged,
                created_at: rfc3339(s.created_at),
                expires_at: rfc3339(s.expires_at),
                two_factor_verified: s.two_factor_verified,
            })
            .collect();
        let count = |map: &HashMap<String, u64>| match username {
            Some(u) => map.get(u).copied().unwrap_or(0),
            None => map.values().sum(),
        };
        SessionsView {
            active: sessions.len(),
            logins: count(&self.logins),
            logouts: count(&self.logouts),
            sessions,
        }
    }

    /// Password-reset e-mails sent so far.
    pub fn outbox(&self) -> &[OutboxMessage] {
        &self.outbox
    }

    /// Appends to the request log, dropping the oldest entry beyond the limit.
    pub fn record_request(&mut self, method: &str, path: &str, status: u16) {
        let at = rfc3339(self.now());
        self.requests.push_back(RequestRecord {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            at,
        });
        while self.requests.len() > self.request_log_limit {
            self.requests.pop_front();
        }
    }

    /// The request log, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.requests.iter().cloned().collect()
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
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::mock::clock::ManualClock;
    use crate::mock::config::*;
    use crate::mock::secrets::totp_code;

    const SVC: &str = DEFAULT_SERVICE_ACCOUNT;
    const SVC_PW: &str = DEFAULT_SERVICE_ACCOUNT_PASSWORD;

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn store_with(f: impl FnOnce(&mut MockConfig)) -> (Store, ManualClock) {
        let clock = ManualClock::new(start());
        let mut config = MockConfig {
            clock: clock.clock(),
            ..MockConfig::default()
        };
        f(&mut config);
        (Store::new(&config), clock)
    }

    fn store() -> (Store, ManualClock) {
        store_with(|_| {})
    }

    fn login(store: &mut Store, keep_logged: bool) -> String {
        store
            .login(SVC, SVC_PW, keep_logged)
            .unwrap()
            .token
            .expose()
            .to_owned()
    }

    fn admin_code(clock: &ManualClock, offset_secs: i64) -> String {
        let secret = decode_base32(DEFAULT_ADMIN_TOTP_SECRET).unwrap();
        totp_code(&secret, (clock.now().timestamp() + offset_secs) as u64)
    }

    #[test]
    fn token_has_sanctum_shape_and_increasing_ids() {
        let (mut s, _) = store();
        let a = login(&mut s, false);
        let b = login(&mut s, false);
        let (ida, secret) = parse_token(&a).unwrap();
        let (idb, _) = parse_token(&b).unwrap();
        assert_eq!(secret.len(), 40);
        assert!(idb > ida);
    }

    #[test]
    fn wrong_password_and_unknown_user_are_rejected() {
        let (mut s, _) = store();
        assert_eq!(
            s.login(SVC, "nope", false).unwrap_err(),
            StoreError::InvalidCredentials
        );
        assert_eq!(
            s.login("ghost", SVC_PW, false).unwrap_err(),
            StoreError::InvalidCredentials
        );
        assert_eq!(s.sessions(None).logins, 0);
    }

    #[test]
    fn only_hashes_are_stored() {
        let (mut s, _) = store();
        let token = login(&mut s, false);
        let (id, secret) = parse_token(&token).unwrap();
        let session = &s.sessions[&id];
        assert_eq!(session.token_hash, sha256(secret));
        assert!(!format!("{s:?}").contains(secret));
        let user = &s.users[SVC];
        assert_eq!(user.password_hash, sha256(SVC_PW));
    }

    #[test]
    fn token_expires_after_ttl() {
        let (mut s, clock) = store();
        let token = login(&mut s, false);
        clock.advance(TimeDelta::minutes(15) - TimeDelta::seconds(1));
        assert!(s.authenticate(&token).is_ok());
        clock.advance(TimeDelta::seconds(1));
        assert_eq!(
            s.authenticate(&token).unwrap_err(),
            StoreError::Unauthenticated
        );
        assert_eq!(s.sessions(None).active, 0);
    }

    #[test]
    fn keep_logged_token_lives_for_keep_logged_ttl() {
        let (mut s, clock) = store();
        let token = login(&mut s, true);
        clock.advance(TimeDelta::days(29));
        assert!(s.authenticate(&token).is_ok());
        let view = s.sessions(None);
        assert!(view.sessions[0].keep_logged);
        assert_eq!(
            view.sessions[0].expires_at,
            rfc3339(start() + TimeDelta::days(30))
        );
        clock.advance(TimeDelta::days(1));
        assert!(s.authenticate(&token).is_err());
    }

    #[test]
    fn custom_ttls_apply() {
        let (mut s, clock) = store_with(|c| {
            c.token_ttl = Duration::from_secs(5);
            c.keep_logged_ttl = Duration::from_secs(50);
        });
        let short = login(&mut s, false);
        let long = login(&mut s, true);
        clock.advance(TimeDelta::seconds(5));
        assert!(s.authenticate(&short).is_err());
        assert!(s.authenticate(&long).is_ok());
    }

    #[test]
    fn several_tokens_valid_and_logout_revokes_only_the_presented_one() {
        let (mut s, _) = store();
        let tokens: Vec<String> = (0..3).map(|_| login(&mut s, false)).collect();
        assert!(tokens.iter().all(|t| s.authenticate(t).is_ok()));
        s.logout(&tokens[1]).unwrap();
        assert!(s.authenticate(&tokens[0]).is_ok());
        assert!(s.authenticate(&tokens[1]).is_err());
        assert!(s.authenticate(&tokens[2]).is_ok());
        assert_eq!(
            s.logout(&tokens[1]).unwrap_err(),
            StoreError::Unauthenticated
        );
        let view = s.sessions(None);
        assert_eq!((view.active, view.logins, view.logouts), (2, 3, 1));
    }

    #[test]
    fn forged_secret_with_valid_id_is_rejected() {
        let (mut s, _) = store();
        let token = login(&mut s, false);
        let (id, _) = parse_token(&token).unwrap();
        let forged = format!("{id}|{}", "A".repeat(40));
        assert!(s.authenticate(&forged).is_err());
        assert!(s.logout(&forged).is_err());
        assert!(s.authenticate(&token).is_ok());
        assert!(s.authenticate("garbage").is_err());
    }

    #[test]
    fn expired_token_cannot_log_out() {
        let (mut s, clock) = store();
        let token = login(&mut s, false);
        clock.advance(TimeDelta::hours(1));
        assert_eq!(s.logout(&token).unwrap_err(), StoreError::Unauthenticated);
        assert_eq!(s.sessions(None).logouts, 0);
    }

    #[test]
    fn two_factor_login_is_pending_until_verified() {
        let (mut s, clock) = store();
        let out = s
            .login(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
            .unwrap();
        assert!(out.two_factor_required);
        let auth = s.authenticate(out.token.expose()).unwrap();
        assert!(!auth.two_factor_verified);
        assert!(matches!(
            s.setup_two_factor(&auth).unwrap(),
            SetupOutcome::AlreadyEnabled
        ));
        s.verify_two_factor(&auth, &admin_code(&clock, 0)).unwrap();
        assert!(
            s.authenticate(out.token.expose())
                .unwrap()
                .two_factor_verified
        );
    }

    #[test]
    fn totp_accepts_previous_step_and_rejects_older_or_wrong() {
        let (mut s, clock) = store();
        let out = s
            .login(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
            .unwrap();
        let auth = s.authenticate(out.token.expose()).unwrap();
        assert_eq!(
            s.verify_two_factor(&auth, &admin_code(&clock, -60)),
            Err(StoreError::InvalidTwoFactorCode)
        );
        let prev = admin_code(&clock, -30);
        let wrong = ["000000", "111111", "222222"]
            .into_iter()
            .find(|c| *c != prev && *c != admin_code(&clock, 0))
            .unwrap();
        assert_eq!(
            s.verify_two_factor(&auth, wrong),
            Err(StoreError::InvalidTwoFactorCode)
        );
        assert!(
            !s.authenticate(out.token.expose())
                .unwrap()
                .two_factor_verified
        );
        s.verify_two_factor(&auth, &prev).unwrap();
        assert!(
            s.authenticate(out.token.expose())
                .unwrap()
                .two_factor_verified
        );
    }

    #[test]
    fn setup_then_verify_enrols_a_user() {
        let (mut s, clock) = store();
        let token = login(&mut s, false);
        let auth = s.authenticate(&token).unwrap();
        assert_eq!(
            s.verify_two_factor(&auth, "123456"),
            Err(StoreError::InvalidTwoFactorCode)
        );
        let SetupOutcome::NewSecret { secret: first, .. } = s.setup_two_factor(&auth).unwrap()
        else {
            panic!("expected a secret");
        };
        // Calling again replaces the pending secret.
        let SetupOutcome::NewSecret {
            secret,
            otpauth_url,
            ..
        } = s.setup_two_factor(&auth).unwrap()
        else {
            panic!("expected a secret");
        };
        assert_ne!(first, secret);
        assert!(otpauth_url.expose().contains(secret.expose()));
        let bytes = decode_base32(secret.expose()).unwrap();
        let code = totp_code(&bytes, clock.now().timestamp() as u64);
        s.verify_two_factor(&auth, &code).unwrap();
        assert!(matches!(
            s.setup_two_factor(&auth).unwrap(),
            SetupOutcome::AlreadyEnabled
        ));
        assert!(s.login(SVC, SVC_PW, false).unwrap().two_factor_required);
    }

    #[test]
    fn setup_alone_does_not_enrol() {
        let (mut s, _) = store();
        let token = login(&mut s, false);
        let auth = s.authenticate(&token).unwrap();
        assert!(matches!(
            s.setup_two_factor(&auth).unwrap(),
            SetupOutcome::NewSecret { .. }
        ));
        let svc = |s: &Store| s.users().into_iter().find(|u| u.username == SVC).unwrap();
        let view = svc(&s);
        assert!(!view.two_factor_enrolled && view.two_factor_setup_pending);
        s.logout(&token).unwrap();
        assert!(!s.login(SVC, SVC_PW, false).unwrap().two_factor_required);
        assert!(!svc(&s).two_factor_enrolled);
        let admin = s.users().into_iter().find(|u| u.username == DEFAULT_ADMIN);
        assert!(admin.is_some_and(|a| a.two_factor_enrolled && !a.two_factor_setup_pending));
        s.reset();
        assert!(!svc(&s).two_factor_setup_pending);
    }

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
    fn verify_after_logout_neither_verifies_nor_enrols() {
        let (mut s, clock) = store();
        let token = login(&mut s, false);
        let auth = s.authenticate(&token).unwrap();
        let SetupOutcome::NewSecret { secret, .. } = s.setup_two_factor(&auth).unwrap() else {
            panic!("expected a secret");
        };
        s.logout(&token).unwrap();
        let bytes = decode_base32(secret.expose()).unwrap();
        let code = totp_code(&bytes, clock.now().timestamp() as u64);
        assert_eq!(
            s.verify_two_factor(&auth, &code),
            Err(StoreError::Unauthenticated)
        );
        assert!(!s.login(SVC, SVC_PW, false).unwrap().two_factor_required);
    }

    #[test]
    fn reset_token_is_single_use_and_changes_the_password() {
        let (mut s, _) = store();
        s.forgot_password("ADMIN@partner.com");
        s.forgot_password("nobody@partner.com");
        assert_eq!(s.outbox().len(), 1);
        let msg = s.outbox()[0].clone();
        assert_eq!(msg.to, DEFAULT_ADMIN);
        assert!(!format!("{msg:?}").contains(&msg.reset_token));
        s.reset_password(&msg.reset_token, "new-password-1")
            .unwrap();
        assert_eq!(
            s.reset_password(&msg.reset_token, "new-password-2"),
            Err(StoreError::InvalidResetToken)
        );
        assert_eq!(
            s.login(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
                .unwrap_err(),
            StoreError::InvalidCredentials
        );
        assert!(s.login(DEFAULT_ADMIN, "new-password-1", false).is_ok());
    }

    #[test]
    fn reset_token_expires_after_an_hour() {
        let (mut s, clock) = store();
        s.forgot_password(DEFAULT_ADMIN);
        let token = s.outbox()[0].reset_token.clone();
        clock.advance(TimeDelta::minutes(60));
        assert_eq!(
            s.reset_password(&token, "new-password-1"),
            Err(StoreError::InvalidResetToken)
        );
        assert!(s
            .login(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
            .is_ok());
    }

    #[test]
    fn newer_reset_request_replaces_the_older_token() {
        let (mut s, clock) = store();
        s.forgot_password(DEFAULT_ADMIN);
        clock.advance(TimeDelta::minutes(59));
        s.forgot_password(DEFAULT_ADMIN);
        let old = s.outbox()[0].reset_token.clone();
        let new = s.outbox()[1].reset_token.clone();
        clock.advance(TimeDelta::minutes(30));
        assert!(s.reset_password(&old, "new-password-1").is_err());
        assert!(s.reset_password(&new, "new-password-1").is_ok());
    }

    #[test]
    fn rate_limit_per_username_with_retry_after() {
        let (mut s, clock) = store_with(|c| c.login_rate_limit = Some(2));
        assert!(s.login(SVC, SVC_PW, false).is_ok());
        assert!(s.login(SVC, "wrong", false).is_err());
        clock.advance(TimeDelta::seconds(20));
        assert_eq!(
            s.login(SVC, SVC_PW, false).unwrap_err(),
            StoreError::RateLimited {
                retry_after_secs: 40
            }
        );
        // Another username has its own window.
        assert!(s
            .login(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
            .is_ok());
        clock.advance(TimeDelta::seconds(40));
        assert!(s.login(SVC, SVC_PW, false).is_ok());
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
    fn totp_codes_are_single_use_unless_reuse_is_allowed() {
        let (mut s, clock) = store();
        let pending = |s: &mut Store| {
            let out = s
                .login(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
                .unwrap();
            s.authenticate(out.token.expose()).unwrap()
        };
        let (a, b) = (pending(&mut s), pending(&mut s));
        let code = admin_code(&clock, 0);
        s.verify_two_factor(&a, &code).unwrap();
        assert_eq!(
            s.verify_two_factor(&b, &code),
            Err(StoreError::InvalidTwoFactorCode)
        );
        assert_eq!(
            s.verify_two_factor(&b, &admin_code(&clock, -30)),
            Err(StoreError::InvalidTwoFactorCode),
            "older than the used code"
        );
        s.set_settings(Settings {
            allow_totp_reuse: true,
            ..s.settings()
        });
        s.verify_two_factor(&b, &code).unwrap();
        s.reset();
        assert!(!s.settings().allow_totp_reuse, "single use by default");
    }

    #[test]
    fn sessions_filter_by_username() {
        let (mut s, _) = store();
        login(&mut s, false);
        let admin = s
            .login(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, true)
            .unwrap();
        s.logout(admin.token.expose()).unwrap();
        let all = s.sessions(None);
        assert_eq!((all.active, all.logins, all.logouts), (1, 2, 1));
        let svc = s.sessions(Some(SVC));
        assert_eq!((svc.active, svc.logins, svc.logouts), (1, 1, 0));
        assert_eq!(svc.sessions[0].username, SVC);
        assert_eq!(svc.sessions[0].created_at, "2023-11-14T22:13:20Z");
        let none = s.sessions(Some("ghost"));
        assert_eq!((none.active, none.logins), (0, 0));
    }

    #[test]
    fn request_log_is_bounded() {
        let (mut s, _) = store_with(|c| c.request_log_limit = 2);
        for status in [200, 401, 422] {
            s.record_request("POST", "/p", status);
        }
        let statuses: Vec<u16> = s.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![401, 422]);
    }

    #[test]
    fn reset_restores_configuration_and_keeps_ids_increasing() {
        let (mut s, _) = store();
        let before = login(&mut s, false);
        s.forgot_password(DEFAULT_ADMIN);
        let reset = s.outbox()[0].reset_token.clone();
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
