//! Secret material: Sanctum-style tokens, hashing, reset tokens and RFC 6238 TOTP.
//!
//! Nothing here logs, and [`SecretString`] redacts itself in `Debug`/`Display`.

use std::fmt;

use rand::distr::Alphanumeric;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

/// Length of the random part of an API token (as in Laravel Sanctum).
pub const TOKEN_SECRET_LEN: usize = 40;
/// TOTP step in seconds (RFC 6238 default).
pub const TOTP_STEP_SECS: u64 = 30;
/// Issuer shown in authenticator apps.
pub const TOTP_ISSUER: &str = "Defentry";

/// A secret string (token, password, reset token) that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it must leave the process (response body, outbox).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Serialises the secret itself, for the records whose JSON exists to show it (the outbox).
    pub fn serialize_exposed<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// SHA-256 digest; tokens, passwords and reset tokens are only kept in this form.
pub type Digest256 = [u8; 32];

/// SHA-256 of `value`.
pub fn sha256(value: &str) -> Digest256 {
    Sha256::digest(value.as_bytes()).into()
}

/// Compares bytes without an early exit, so timing does not leak how much matched (the
/// length is not secret: digests and codes have fixed lengths).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh random token secret: 40 ASCII alphanumerics from a CSPRNG.
pub fn random_token_secret() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(TOKEN_SECRET_LEN)
        .map(char::from)
        .collect()
}

/// A fresh password-reset token: 64 lowercase hex characters (as Laravel's broker makes).
pub fn random_reset_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Splits a presented token `<id>|<secret>` into its parts; `None` when malformed.
pub fn parse_token(token: &str) -> Option<(u64, &str)> {
    let (id, secret) = token.split_once('|')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if secret.len() != TOKEN_SECRET_LEN || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some((id.parse().ok()?, secret))
}

/// Decodes a base32 TOTP secret (RFC 4648, case-insensitive, spaces and `=` padding ignored).
pub fn decode_base32(secret: &str) -> Option<Vec<u8>> {
    let normalized: String = secret
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if normalized.is_empty() {
        return None;
    }
    let bytes = Secret::Encoded(normalized).to_bytes().ok()?;
    (!bytes.is_empty()).then_some(bytes)
}

/// Encodes a TOTP secret as unpadded base32, as authenticator apps expect.
pub fn encode_base32(secret: &[u8]) -> String {
    totp(secret).get_secret_base32()
}

/// A fresh 160-bit TOTP secret (the size RFC 4226 recommends).
pub fn random_totp_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn totp(secret: &[u8]) -> TOTP {
    // Unchecked: users may configure secrets shorter than 128 bits (common in tests); the
    // algorithm itself works with any key length.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        0,
        TOTP_STEP_SECS,
        secret.to_vec(),
        Some(TOTP_ISSUER.to_owned()),
        String::new(),
    )
}

/// The 6-digit code for `secret` at `unix_secs`.
pub fn totp_code(secret: &[u8], unix_secs: u64) -> String {
    totp(secret).generate(unix_secs)
}

/// Whether `code` is the code of the current or the previous 30 s step at `unix_secs`.
pub fn verify_totp(secret: &[u8], code: &str, unix_secs: u64) -> bool {
    totp_step_of(secret, code, unix_secs).is_some()
}

/// The step (`unix / 30`) whose code `code` is, among the current and the previous step at
/// `unix_secs`; the current one when both match.
pub fn totp_step_of(secret: &[u8], code: &str, unix_secs: u64) -> Option<u64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret);
    let current = totp.generate(unix_secs);
    let previous = unix_secs
        .checked_sub(TOTP_STEP_SECS)
        .map(|t| totp.generate(t));
    // Check both steps unconditionally so timing does not tell which one matched.
    let a = ct_eq(current.as_bytes(), code.as_bytes());
    let b = previous.is_some_and(|p| ct_eq(p.as_bytes(), code.as_bytes()));
    let step = unix_secs / TOTP_STEP_SECS;
    match (a, b) {
        (true, _) => Some(step),
        (false, true) => step.checked_sub(1),
        (false, false) => None,
    }
}

/// `otpauth://totp/Defentry:<user>?secret=...&issuer=Defentry` for QR codes.
pub fn otpauth_url(username: &str, secret_base32: &str) -> String {
    format!(
        "otpauth://totp/{TOTP_ISSUER}:{}?secret={secret_base32}&issuer={TOTP_ISSUER}",
        encode_label(username)
    )
}

/// Percent-encodes a URI path label, keeping characters that are legal there (`@`, `.`, …).
fn encode_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for b in label.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@!$&'()*+,;=".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    #[test]
    fn token_secret_is_40_alphanumerics_and_random() {
        let a = random_token_secret();
        let b = random_token_secret();
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn parse_token_accepts_only_the_sanctum_shape() {
        let secret = "a".repeat(40);
        assert_eq!(
            parse_token(&format!("12|{secret}")),
            Some((12, secret.as_str()))
        );
        assert_eq!(parse_token(&secret), None);
        assert_eq!(parse_token(&format!("|{secret}")), None);
        assert_eq!(parse_token(&format!("x1|{secret}")), None);
        assert_eq!(parse_token("1|short"), None);
        assert_eq!(parse_token(&format!("1|{}", "é".repeat(20))), None);
        assert_eq!(
            parse_token(&format!("99999999999999999999999|{secret}")),
            None
        );
    }

    #[test]
    fn sha256_matches_known_vector_and_compares() {
        assert_eq!(
            hex::encode(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(ct_eq(&sha256("x"), &sha256("x")));
        assert!(!ct_eq(&sha256("x"), &sha256("y")));
    }

    #[test]
    fn secret_string_is_redacted() {
        let s = SecretString::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn reset_token_is_64_hex() {
        let t = random_reset_token();
        assert_eq!(t.len(), 64);
        assert!(t.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn base32_round_trip_and_normalisation() {
        let bytes = decode_base32(DEFAULT_SECRET).unwrap();
        assert_eq!(bytes.len(), 20);
        assert_eq!(encode_base32(&bytes), DEFAULT_SECRET);
        assert_eq!(
            decode_base32("jbsw y3dp ehpk 3pxp====").unwrap(),
            bytes[..10]
        );
        assert_eq!(decode_base32(""), None);
        assert_eq!(decode_base32("not base32!"), None);
    }

    #[test]
    fn totp_matches_rfc6238_sha1_vector() {
        // RFC 6238 appendix B, SHA1 key "12345678901234567890", T = 59 → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        assert_eq!(totp_code(b"12345678901234567890", 59), "287082");
        assert_eq!(totp_code(b"12345678901234567890", 1_111_111_109), "081804");
    }

    #[test]
    fn totp_step_of_names_the_matching_step() {
        let secret = decode_base32(DEFAULT_SECRET).unwrap();
        let now = 1_700_000_015;
        let step = now / TOTP_STEP_SECS;
        assert_eq!(
            totp_step_of(&secret, &totp_code(&secret, now), now),
            Some(step)
        );
        assert_eq!(
            totp_step_of(&secret, &totp_code(&secret, now - 30), now),
            Some(step - 1)
        );
        assert_eq!(
            totp_step_of(&secret, &totp_code(&secret, now - 60), now),
            None
        );
        assert_eq!(totp_step_of(&secret, "12345", now), None);
    }

    #[test]
    fn totp_accepts_current_and_previous_step_only() {
        let secret = decode_base32(DEFAULT_SECRET).unwrap();
        let now = 1_700_000_015;
        let current = totp_code(&secret, now);
        let previous = totp_code(&secret, now - 30);
        let before_previous = totp_code(&secret, now - 60);
        let next = totp_code(&secret, now + 30);
        assert!(verify_totp(&secret, &current, now));
        assert!(verify_totp(&secret, &previous, now));
        assert!(!verify_totp(&secret, &before_previous, now));
        assert!(!verify_totp(&secret, &next, now));
        assert!(!verify_totp(&secret, "12345", now));
        assert!(!verify_totp(&secret, "abcdef", now));
    }

    #[test]
    fn otpauth_url_shape() {
        assert_eq!(
            otpauth_url("admin@partner.com", "ABC"),
            "otpauth://totp/Defentry:admin@partner.com?secret=ABC&issuer=Defentry"
        );
        assert_eq!(
            otpauth_url("a b/c", "ABC"),
            "otpauth://totp/Defentry:a%20b%2Fc?secret=ABC&issuer=Defentry"
        );
    }
}
