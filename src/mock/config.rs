//! Mock configuration: users, token lifetimes, rate limit, clock; CLI parsing helpers.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::clock::{system_clock, Clock};
use super::secrets::decode_base32;

/// Errors in the mock's configuration (CLI flags, users file).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A duration flag could not be parsed.
    #[error("invalid duration {0:?}: expected e.g. 90s, 15m, 12h, 30d or 1h30m")]
    Duration(String),
    /// A `--user` value was not `NAME:PASSWORD[:TOTP_SECRET]`.
    #[error("invalid --user value for {0:?}: expected NAME:PASSWORD[:TOTP_SECRET]")]
    UserSpec(String),
    /// A user had an empty username or password.
    #[error("user {0:?}: username and password must not be empty")]
    EmptyField(String),
    /// A user's TOTP secret is not base32.
    #[error("user {0:?}: totp_secret is not valid base32")]
    TotpSecret(String),
    /// The users file could not be read.
    #[error("cannot read users file {path}: {source}")]
    ReadUsers {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// `--rate-limit-window` (or the setting) was zero.
    #[error("the rate limit window must be at least one second")]
    RateLimitWindow,
    /// The users file is not the expected JSON.
    #[error("invalid users file {path}: {reason}")]
    ParseUsers {
        /// The file.
        path: String,
        /// Why (never quotes a value from the file, which could be a password).
        reason: String,
    },
}

/// A CRM user known to the mock.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MockUser {
    /// Login name (matched exactly).
    pub username: String,
    /// Password in clear, as configured; the store keeps only its SHA-256.
    pub password: String,
    /// Address for password resets; defaults to the username when it contains `@`.
    #[serde(default)]
    pub email: Option<String>,
    /// Base32 TOTP secret; when set the user is enrolled in 2FA.
    #[serde(default)]
    pub totp_secret: Option<String>,
}

impl fmt::Debug for MockUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockUser")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("email", &self.email)
            .field(
                "totp_secret",
                &self.totp_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl MockUser {
    /// A user without 2FA.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            email: None,
            totp_secret: None,
        }
    }

    /// Enrols the user in TOTP 2FA with a base32 secret.
    pub fn with_totp_secret(mut self, secret: impl Into<String>) -> Self {
        self.totp_secret = Some(secret.into());
        self
    }

    /// Sets the reset e-mail address.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// The e-mail used for password resets, if any.
    pub fn effective_email(&self) -> Option<&str> {
        match &self.email {
            Some(email) => Some(email.as_str()),
            None if self.username.contains('@') => Some(self.username.as_str()),
            None => None,
        }
    }

    /// Checks non-empty fields and a decodable TOTP secret.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.username.is_empty() || self.password.is_empty() {
            return Err(ConfigError::EmptyField(self.username.clone()));
        }
        if let Some(secret) = &self.totp_secret {
            if decode_base32(secret).is_none() {
                return Err(ConfigError::TotpSecret(self.username.clone()));
            }
        }
        Ok(())
    }

    /// Parses `NAME:PASSWORD[:TOTP_SECRET]` (the `--user` flag). The password cannot contain
    /// `:`; use a users file for such passwords.
    pub fn parse_spec(spec: &str) -> Result<Self, ConfigError> {
        let mut parts = spec.splitn(3, ':');
        let (Some(name), Some(password)) = (parts.next(), parts.next()) else {
            return Err(ConfigError::UserSpec(redact_spec(spec)));
        };
        let mut user = Self::new(name, password);
        if let Some(secret) = parts.next() {
            user.totp_secret = Some(secret.to_owned());
        }
        user.validate()?;
        Ok(user)
    }
}

/// Only the name part of a `--user` spec may appear in errors.
fn redact_spec(spec: &str) -> String {
    spec.split(':').next().unwrap_or_default().to_owned()
}

/// Username of the default service account (no 2FA).
pub const DEFAULT_SERVICE_ACCOUNT: &str = "acme-backend-integration@partner.com";
/// Password of the default service account.
pub const DEFAULT_SERVICE_ACCOUNT_PASSWORD: &str = "your_service_account_password";
/// Username (and e-mail) of the default interactive admin (2FA enrolled).
pub const DEFAULT_ADMIN: &str = "admin@partner.com";
/// Password of the default admin.
pub const DEFAULT_ADMIN_PASSWORD: &str = "break-glass-password";
/// TOTP secret of the default admin.
pub const DEFAULT_ADMIN_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Laravel's `throttle:api` window (`Limit::perMinute`).
pub const DEFAULT_RATE_LIMIT_WINDOW: Duration = Duration::from_secs(60);

/// Everything that shapes a mock instance.
#[derive(Clone)]
pub struct MockConfig {
    /// Known users; later entries with the same username replace earlier ones.
    pub users: Vec<MockUser>,
    /// Lifetime of a token from login without `keep_logged` (default 15 min).
    pub token_ttl: Duration,
    /// Lifetime of a token from login with `keep_logged: true` (default 30 days).
    pub keep_logged_ttl: Duration,
    /// Lifetime of a password-reset token (60 min).
    pub reset_token_ttl: Duration,
    /// Login attempts allowed per username per minute; `None` = unlimited.
    pub login_rate_limit: Option<u32>,
    /// Laravel's `throttle:api` on `/api/v1/*`: requests per window per user (per IP before
    /// login); 0 = off (the default). 60 with a 60 s window is Laravel's default.
    pub rate_limit: u32,
    /// The rate limit's fixed window, from a key's first request (default 60 s; at least 1 s).
    pub rate_limit_window: Duration,
    /// Accept a TOTP code again after it was used (off: single use, RFC 6238 §5.2).
    pub allow_totp_reuse: bool,
    /// Entries kept in the request log (oldest dropped first).
    pub request_log_limit: usize,
    /// Time source; [`crate::mock::ManualClock`] in tests.
    pub clock: Clock,
    /// Add the response fields the vendor page does not document (`two_factor_required` at
    /// login, `enabled`/`secret`/`otpauth_url` at 2FA setup, `verified` at verify). Off by
    /// default: every endpoint then answers exactly as the vendor page shows.
    pub hints: bool,
}

impl fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockConfig")
            .field("users", &self.users)
            .field("token_ttl", &self.token_ttl)
            .field("keep_logged_ttl", &self.keep_logged_ttl)
            .field("reset_token_ttl", &self.reset_token_ttl)
            .field("login_rate_limit", &self.login_rate_limit)
            .field("rate_limit", &self.rate_limit)
            .field("rate_limit_window", &self.rate_limit_window)
            .field("allow_totp_reuse", &self.allow_totp_reuse)
            .field("request_log_limit", &self.request_log_limit)
            .field("hints", &self.hints)
            .finish_non_exhaustive()
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            users: Self::default_users(),
            token_ttl: Duration::from_secs(15 * 60),
            keep_logged_ttl: Duration::from_secs(30 * 24 * 3600),
            reset_token_ttl: Duration::from_secs(60 * 60),
            login_rate_limit: None,
            rate_limit: 0,
            rate_limit_window: DEFAULT_RATE_LIMIT_WINDOW,
            allow_totp_reuse: false,
            request_log_limit: 10_000,
            clock: system_clock(),
            hints: false,
        }
    }
}

impl MockConfig {
    /// The service account and the 2FA-enrolled admin from the onboarding page.
    pub fn default_users() -> Vec<MockUser> {
        vec![
            MockUser::new(DEFAULT_SERVICE_ACCOUNT, DEFAULT_SERVICE_ACCOUNT_PASSWORD),
            MockUser::new(DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD)
                .with_totp_secret(DEFAULT_ADMIN_TOTP_SECRET),
        ]
    }

    /// Checks the settings [`super::MockState::new`] cannot repair.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.users.iter().try_for_each(MockUser::validate)?;
        if self.rate_limit_window.as_secs() == 0 {
            return Err(ConfigError::RateLimitWindow);
        }
        Ok(())
    }

    /// Reads a users file: `[{"username", "password", "email"?, "totp_secret"?}]`.
    pub fn load_users_file(path: &Path) -> Result<Vec<MockUser>, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadUsers {
            path: path.display().to_string(),
            source,
        })?;
        let users: Vec<MockUser> =
            serde_json::from_str(&text).map_err(|e| ConfigError::ParseUsers {
                path: path.display().to_string(),
                reason: describe_json_error(&e),
            })?;
        users.iter().try_for_each(MockUser::validate)?;
        Ok(users)
    }
}

/// serde_json quotes offending values ("invalid type: string \"…\""), which may be a password.
fn describe_json_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        format!(
            "a field has the wrong type at line {} column {}",
            e.line(),
            e.column()
        )
    } else {
        msg
    }
}

/// Parses `90s`, `15m`, `12h`, `30d`, compounds like `1h30m`, or bare seconds (`900`).
pub fn parse_duration(text: &str) -> Result<Duration, ConfigError> {
    let err = || ConfigError::Duration(text.to_owned());
    let text = text.trim();
    if text.is_empty() {
        return Err(err());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map(Duration::from_secs).map_err(|_| err());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(err()),
        };
        let n: u64 = digits.parse().map_err(|_| err())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(err)?;
    }
    if !digits.is_empty() {
        return Err(err());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(2_592_000)
        );
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("900").unwrap(), Duration::from_secs(900));
        for bad in [
            "",
            "m",
            "15x",
            "15m3",
            "-1s",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_spec() {
        let u = MockUser::parse_spec("bob:pw").unwrap();
        assert_eq!((u.username.as_str(), u.password.as_str()), ("bob", "pw"));
        assert_eq!(u.totp_secret, None);
        assert_eq!(u.effective_email(), None);
        let u = MockUser::parse_spec("carol@x.io:pw:JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(u.totp_secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));
        assert_eq!(u.effective_email(), Some("carol@x.io"));
        assert!(MockUser::parse_spec("bob").is_err());
        assert!(MockUser::parse_spec(":pw").is_err());
        assert!(MockUser::parse_spec("bob:").is_err());
        assert!(MockUser::parse_spec("bob:pw:not-base32!").is_err());
    }

    #[test]
    fn user_spec_errors_do_not_echo_the_password() {
        let err = MockUser::parse_spec("bob").unwrap_err().to_string();
        assert!(err.contains("bob"));
        let err = MockUser::parse_spec("bob:s3cret:!!")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let dbg = format!("{:?}", MockConfig::default());
        assert!(!dbg.contains(DEFAULT_ADMIN_PASSWORD));
        assert!(!dbg.contains(DEFAULT_SERVICE_ACCOUNT_PASSWORD));
        assert!(!dbg.contains(DEFAULT_ADMIN_TOTP_SECRET));
        assert!(dbg.contains(DEFAULT_ADMIN));
    }

    #[test]
    fn users_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        std::fs::write(
            &path,
            r#"[{"username": "svc@x.io", "password": "pw"},
                {"username": "root", "password": "pw2", "email": "root@x.io", "totp_secret": "JBSWY3DPEHPK3PXP"}]"#,
        )
        .unwrap();
        let users = MockConfig::load_users_file(&path).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].effective_email(), Some("svc@x.io"));
        assert_eq!(users[1].effective_email(), Some("root@x.io"));
        std::fs::write(&path, r#"[{"username": "x"}]"#).unwrap();
        assert!(matches!(
            MockConfig::load_users_file(&path),
            Err(ConfigError::ParseUsers { .. })
        ));
        std::fs::write(&path, r#"[{"username": "x", "password": 987654}]"#).unwrap();
        let err = MockConfig::load_users_file(&path).unwrap_err().to_string();
        assert!(!err.contains("987654"), "{err}");
        std::fs::write(&path, r#"[{"username": "x", "password": ""}]"#).unwrap();
        assert!(matches!(
            MockConfig::load_users_file(&path),
            Err(ConfigError::EmptyField(_))
        ));
        assert!(matches!(
            MockConfig::load_users_file(&dir.path().join("missing.json")),
            Err(ConfigError::ReadUsers { .. })
        ));
    }
}
