//! Typed results of the Defentry API calls.

use std::fmt;

use super::secret::Secret;

/// Longest token id accepted: Sanctum ids are database keys, 20 digits hold any u64.
const MAX_ID_DIGITS: usize = 20;

/// A Sanctum-style CRM token, `<id>|<secret>`.
///
/// The id is the non-secret database key of the token (safe to log and to store in state as an identifier);
/// the whole string is the bearer credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    id: String,
    full: Secret,
}

/// Why a string is not a `<id>|<secret>` token. Never carries the offending string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    /// The string is empty.
    #[error("token not of the form <id>|<secret>: it is empty")]
    Empty,
    /// There is no `|`.
    #[error("token not of the form <id>|<secret>: no '|' separator")]
    MissingSeparator,
    /// The part before `|` is not 1 to 20 ASCII digits.
    #[error("token not of the form <id>|<secret>: the id before '|' is not a number")]
    InvalidId,
    /// Nothing after `|`.
    #[error("token not of the form <id>|<secret>: the secret after '|' is empty")]
    EmptySecret,
    /// The secret holds whitespace, control or non-ASCII characters, so it cannot travel in a header.
    #[error("token not of the form <id>|<secret>: the secret contains characters not allowed in an HTTP header")]
    InvalidCharacters,
}

impl Token {
    /// Parses `<digits>|<non-empty secret>`. The secret must be visible ASCII (it is sent in a header).
    pub fn parse(raw: &str) -> Result<Token, TokenFormatError> {
        if raw.is_empty() {
            return Err(TokenFormatError::Empty);
        }
        let (id, secret) = raw
            .split_once('|')
            .ok_or(TokenFormatError::MissingSeparator)?;
        if id.is_empty() || id.len() > MAX_ID_DIGITS || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TokenFormatError::InvalidId);
        }
        if secret.is_empty() {
            return Err(TokenFormatError::EmptySecret);
        }
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenFormatError::InvalidCharacters);
        }
        Ok(Token {
            id: id.to_owned(),
            full: Secret::new(raw),
        })
    }

    /// The non-secret part before `|`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The whole `id|secret` string, as sent after `Bearer`.
    pub fn secret(&self) -> &Secret {
        &self.full
    }

    /// `Bearer id|secret`.
    pub fn authorization_header(&self) -> Secret {
        Secret::new(format!("Bearer {}", self.full.expose()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginResponse {
    /// The issued token.
    pub token: Token,
    /// A hint some servers add (the vendor documents only `token`): true when the account is enrolled
    /// in 2FA and the token is pending until `two_factor_verify`. False when absent, which proves nothing.
    pub two_factor_required: bool,
}

/// Result of a logout. Both outcomes mean the token can no longer be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// The server revoked the token.
    LoggedOut,
    /// The server answered 401: the token had already expired or been revoked (or was never valid).
    AlreadyInvalid,
}

/// Result of `POST /api/v1/2fa/setup`. The vendor documents no response body, so any 2xx is a
/// success and every field here is a hint, read only when the server sends it.
#[derive(Debug, Clone, Default)]
pub struct TwoFactorSetup {
    /// Whether the account is enrolled, if the server said: `Some(false)` when it revealed a new
    /// secret (or sent `"enabled": false`), `Some(true)` for `"enabled": true`, `None` otherwise.
    pub enrolled: Option<bool>,
    /// The base32 TOTP seed of a new (pending) enrolment.
    pub secret: Option<Secret>,
    /// The `otpauth://` URL of a new enrolment; it embeds the seed, hence secret.
    pub otpauth_url: Option<Secret>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sanctum_tokens() {
        let t = Token::parse("7|abcDEF123").unwrap();
        assert_eq!(t.id(), "7");
        assert_eq!(t.secret().expose(), "7|abcDEF123");
        assert_eq!(t.authorization_header().expose(), "Bearer 7|abcDEF123");
        // A '|' inside the secret part is kept: only the first one separates.
        let t = Token::parse("12|a|b").unwrap();
        assert_eq!(t.id(), "12");
        assert_eq!(t.secret().expose(), "12|a|b");
    }

    #[test]
    fn rejects_malformed_tokens() {
        use TokenFormatError::*;
        let cases = [
            ("", Empty),
            ("abc", MissingSeparator),
            ("|abc", InvalidId),
            ("x1|abc", InvalidId),
            ("-1|abc", InvalidId),
            ("123456789012345678901|abc", InvalidId),
            (" 1|abc", InvalidId),
            ("1|", EmptySecret),
            ("1|ab c", InvalidCharacters),
            ("1|abc\n", InvalidCharacters),
            ("1|abcé", InvalidCharacters),
        ];
        for (raw, want) in cases {
            assert_eq!(Token::parse(raw).unwrap_err(), want, "{raw:?}");
        }
    }

    #[test]
    fn errors_never_echo_the_input() {
        for raw in [
            "supersecretvalue",
            "x|supersecretvalue",
            "1|super secretvalue",
        ] {
            let e = Token::parse(raw).unwrap_err();
            let msg = format!("{e} {e:?}");
            assert!(!msg.contains("supersecret"), "{msg}");
            assert!(!msg.contains("secretvalue"), "{msg}");
            assert!(msg.contains("token not of the form <id>|<secret>"), "{msg}");
        }
    }

    #[test]
    fn debug_shows_only_the_id() {
        let t = Token::parse("7|s3cr3tvalue").unwrap();
        assert_eq!(format!("{t:?}"), r#"Token { id: "7", .. }"#);
        let login = LoginResponse {
            token: t,
            two_factor_required: false,
        };
        assert!(!format!("{login:?}").contains("s3cr3t"));
        let setup = TwoFactorSetup {
            enrolled: Some(false),
            secret: Some(Secret::new("JBSWY3DP")),
            otpauth_url: Some(Secret::new("otpauth://totp/x?secret=JBSWY3DP")),
        };
        assert!(!format!("{setup:?}").contains("JBSWY3DP"));
    }
}
