//! Sanctum-style sessions: login (with the per-username login rate limit), token checks,
//! logout, and the sessions view.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::records::Session;
use super::state::{Store, StoreError};
use crate::secrets::{ct_eq, parse_token, random_token_secret, sha256, SecretString};
use crate::time::add;
use crate::time::rfc3339;

/// Window of the login rate limit.
const RATE_WINDOW: TimeDelta = TimeDelta::seconds(60);

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

impl Store {
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
            .filter(|u| ct_eq(&u.password_hash, &presented))
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
        if !ct_eq(&session.token_hash, &sha256(secret)) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::*;

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

    /// A token of the default lifetime `ttl` works until its last second and not after.
    fn assert_lives_for(keep_logged: bool, ttl: TimeDelta) {
        let (mut s, clock) = store();
        let token = login(&mut s, keep_logged);
        clock.advance(ttl - TimeDelta::seconds(1));
        assert!(s.authenticate(&token).is_ok());
        let view = s.sessions(None);
        assert_eq!(view.sessions[0].keep_logged, keep_logged);
        assert_eq!(view.sessions[0].expires_at, rfc3339(start() + ttl));
        clock.advance(TimeDelta::seconds(1));
        assert_eq!(
            s.authenticate(&token).unwrap_err(),
            StoreError::Unauthenticated
        );
        assert_eq!(s.sessions(None).active, 0);
    }

    #[test]
    fn token_expires_after_ttl() {
        assert_lives_for(false, TimeDelta::minutes(15));
    }

    #[test]
    fn keep_logged_token_lives_for_keep_logged_ttl() {
        assert_lives_for(true, TimeDelta::days(30));
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
}
