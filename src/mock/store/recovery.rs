//! Password recovery: forgot (a reset token in the outbox) and reset (single use, limited life).

use super::records::{OutboxMessage, ResetToken};
use super::state::{Store, StoreError};
use crate::secrets::{ct_eq, random_reset_token, sha256, SecretString};
use crate::time::add;
use crate::time::rfc3339;

impl Store {
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
            reset_token: SecretString::new(token),
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
            .find(|(_, r)| ct_eq(&r.token_hash, &presented))
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

    /// Password-reset e-mails sent so far.
    pub fn outbox(&self) -> &[OutboxMessage] {
        &self.outbox
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::*;

    #[test]
    fn reset_token_is_single_use_and_changes_the_password() {
        let (mut s, _) = store();
        s.forgot_password("ADMIN@partner.com");
        s.forgot_password("nobody@partner.com");
        assert_eq!(s.outbox().len(), 1);
        let msg = s.outbox()[0].clone();
        assert_eq!(msg.to, DEFAULT_ADMIN);
        assert!(!format!("{msg:?}").contains(msg.reset_token.expose()));
        s.reset_password(msg.reset_token.expose(), "new-password-1")
            .unwrap();
        assert_eq!(
            s.reset_password(msg.reset_token.expose(), "new-password-2"),
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
        let token = s.outbox()[0].reset_token.expose().to_owned();
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
        let old = s.outbox()[0].reset_token.expose().to_owned();
        let new = s.outbox()[1].reset_token.expose().to_owned();
        clock.advance(TimeDelta::minutes(30));
        assert!(s.reset_password(&old, "new-password-1").is_err());
        assert!(s.reset_password(&new, "new-password-1").is_ok());
    }
}
