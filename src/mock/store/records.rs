//! The records the store keeps, plain data that every concern reads: sessions, reset tokens,
//! sent e-mails, the request log.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::secrets::{Digest256, SecretString};

/// One issued token. Only the SHA-256 of its secret part is kept.
#[derive(Clone)]
pub(super) struct Session {
    pub(super) username: String,
    pub(super) token_hash: Digest256,
    pub(super) keep_logged: bool,
    pub(super) created_at: DateTime<Utc>,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) two_factor_verified: bool,
}

/// A pending password reset (one per user; a new request replaces it).
pub(super) struct ResetToken {
    pub(super) token_hash: Digest256,
    pub(super) created_at: DateTime<Utc>,
}

/// A password-reset e-mail. Its JSON shows the reset token in clear: this *is* the e-mail.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxMessage {
    /// Recipient.
    pub to: String,
    /// Token to pass to `/password/reset`.
    #[serde(serialize_with = "SecretString::serialize_exposed")]
    pub reset_token: SecretString,
    /// RFC 3339.
    pub sent_at: String,
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
