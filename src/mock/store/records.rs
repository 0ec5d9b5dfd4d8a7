//! The records the store keeps, plain data that every concern reads: sessions, reset tokens,
//! sent e-mails, the request log.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::secrets::Digest256;

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
