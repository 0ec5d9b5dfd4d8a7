//! TOTP 2FA: setup (a pending secret) and verify (enrols a pending secret, marks the session
//! verified, refuses a code already used unless reuse is allowed).

use super::sessions::Authenticated;
use super::state::{Store, StoreError};
use crate::secrets::{encode_base32, otpauth_url, random_totp_secret, totp_step_of, SecretString};

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

impl Store {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::*;
    use crate::store::LoginOutcome;

    /// Logs the default admin (enrolled in 2FA) in: the outcome and the session it opened.
    fn login_admin(s: &mut Store) -> (LoginOutcome, Authenticated) {
        let out = s
            .login(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, false)
            .unwrap();
        let auth = s.authenticate(out.token.expose()).unwrap();
        (out, auth)
    }

    /// Whether the session of `token` has passed the 2FA challenge.
    fn verified(s: &mut Store, token: &str) -> bool {
        s.authenticate(token).unwrap().two_factor_verified
    }

    /// The TOTP code of `secret` (base32) now.
    fn current_code(clock: &ManualClock, secret: &SecretString) -> String {
        let bytes = decode_base32(secret.expose()).unwrap();
        totp_code(&bytes, clock.now().timestamp() as u64)
    }

    #[test]
    fn two_factor_login_is_pending_until_verified() {
        let (mut s, clock) = store();
        let (out, auth) = login_admin(&mut s);
        assert!(out.two_factor_required);
        assert!(!auth.two_factor_verified);
        assert!(matches!(
            s.setup_two_factor(&auth).unwrap(),
            SetupOutcome::AlreadyEnabled
        ));
        s.verify_two_factor(&auth, &admin_code(&clock, 0)).unwrap();
        assert!(verified(&mut s, out.token.expose()));
    }

    #[test]
    fn totp_accepts_previous_step_and_rejects_older_or_wrong() {
        let (mut s, clock) = store();
        let (out, auth) = login_admin(&mut s);
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
        assert!(!verified(&mut s, out.token.expose()));
        s.verify_two_factor(&auth, &prev).unwrap();
        assert!(verified(&mut s, out.token.expose()));
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
        let code = current_code(&clock, &secret);
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
    fn verify_after_logout_neither_verifies_nor_enrols() {
        let (mut s, clock) = store();
        let token = login(&mut s, false);
        let auth = s.authenticate(&token).unwrap();
        let SetupOutcome::NewSecret { secret, .. } = s.setup_two_factor(&auth).unwrap() else {
            panic!("expected a secret");
        };
        s.logout(&token).unwrap();
        let code = current_code(&clock, &secret);
        assert_eq!(
            s.verify_two_factor(&auth, &code),
            Err(StoreError::Unauthenticated)
        );
        assert!(!s.login(SVC, SVC_PW, false).unwrap().two_factor_required);
    }

    #[test]
    fn totp_codes_are_single_use_unless_reuse_is_allowed() {
        let (mut s, clock) = store();
        let (_, a) = login_admin(&mut s);
        let (_, b) = login_admin(&mut s);
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
}
