//! TOTP (RFC 6238) for interactive accounts: the seed check and the codes computed from it.

use chrono::{DateTime, Utc};
use totp_rs::{Algorithm, Secret as TotpSeed, TOTP};

use crate::sdk::cty::AttributePath;
use crate::sdk::{Diagnostic, Diagnostics};

use crate::defentry::attr;
use crate::defentry::client::Secret;

/// The seed's bytes: base32 as authenticator setups show it (spaces and lower case allowed).
fn seed_bytes(seed: &str) -> Option<Vec<u8>> {
    TotpSeed::Encoded(seed.trim().replace(' ', "").to_uppercase())
        .to_bytes()
        .ok()
}

/// Validates a TOTP seed (base32) without revealing it.
fn check_totp_secret(seed: &str) -> Result<(), String> {
    seed_bytes(seed)
        .map(|_| ())
        .ok_or_else(|| "is not a base32 TOTP secret (letters A-Z and digits 2-7, as shown by the authenticator setup)".to_string())
}

/// Records an error on `totp_secret` when `seed`, read from `source` (the attribute or the
/// environment variable it came from), is not a base32 TOTP secret.
pub fn check_seed(source: &str, seed: &str, diags: &mut Diagnostics) {
    if let Err(e) = check_totp_secret(seed) {
        diags.attr_error(
            AttributePath::attr(attr::TOTP_SECRET),
            format!("Invalid {source}"),
            format!("{source} {e}."),
        );
    }
}

/// The 6-digit code of `seed` at `at`.
pub fn totp_code(seed: &Secret, at: DateTime<Utc>) -> Result<Secret, Diagnostic> {
    let bytes = seed_bytes(seed.expose()).ok_or_else(|| {
        Diagnostic::error(
            "Invalid TOTP secret",
            "`totp_secret` (or DEFENTRY_TOTP_SECRET) is not a base32 TOTP secret. Copy the secret shown when 2FA was set up.",
        )
        .at(AttributePath::attr(attr::TOTP_SECRET))
    })?;
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new());
    let secs = u64::try_from(at.timestamp()).unwrap_or(0);
    Ok(Secret::new(totp.generate(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc6238_vector() {
        // RFC 6238 test seed "12345678901234567890" (base32 below), T = 59 s → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let seed = Secret::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let at = DateTime::from_timestamp(59, 0).unwrap_or_default();
        assert_eq!(
            totp_code(&seed, at).map(|c| c.expose().to_string()).ok(),
            Some("287082".into())
        );
    }

    #[test]
    fn bad_totp_secret_is_reported() {
        assert!(check_totp_secret("not base32!").is_err());
        assert!(check_totp_secret("JBSWY3DPEHPK3PXP").is_ok());
    }
}
