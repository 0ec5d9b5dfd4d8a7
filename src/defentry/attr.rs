//! Attribute names shared by the provider block and the Defentry objects, each declared once.
//! Names only one object uses stay with it (for example `defentry_token`'s schedule).

/// Base URL of the Defentry API (provider).
pub const API_DOMAIN: &str = "api_domain";
/// Per-attempt timeout (provider).
pub const REQUEST_TIMEOUT: &str = "request_timeout";
/// Retries after the first attempt (provider).
pub const MAX_RETRIES: &str = "max_retries";
/// Provider: how long rate-limit waits may take.
pub const RATE_LIMIT_TIMEOUT: &str = "rate_limit_timeout";
/// Extra trusted CA certificates (provider).
pub const CA_CERT_PEM: &str = "ca_cert_pem";
/// Account name.
pub const USERNAME: &str = "username";
/// Password (provider, session objects, `defentry_password_reset`).
pub const PASSWORD: &str = "password";
/// Longer-lived session.
pub const KEEP_LOGGED: &str = "keep_logged";
/// TOTP seed for interactive accounts.
pub const TOTP_SECRET: &str = "totp_secret";
/// One-time 2FA code.
pub const TWO_FACTOR_CODE: &str = "two_factor_code";
/// Identifier (the token id).
pub const ID: &str = "id";
/// Non-secret token id.
pub const TOKEN_ID: &str = "token_id";
/// The token (a session token, or the reset token of `defentry_password_reset`).
pub const TOKEN: &str = "token";
/// `Bearer <token>`.
pub const AUTHORIZATION_HEADER: &str = "authorization_header";
/// When a `defentry_session` was opened.
pub const ISSUED_AT: &str = "issued_at";
