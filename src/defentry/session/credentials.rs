//! Credentials for a login: from an object's configuration, with the provider's as fallback.

use crate::sdk::cty::AttributePath;
use crate::sdk::model::Maybe;
use crate::sdk::{Diagnostic, Diagnostics};

use crate::defentry::attr;
use crate::defentry::client::Secret;
use crate::defentry::data::ProviderData;

use super::totp;

/// How the 2FA challenge is answered, if at all.
#[derive(Debug, Clone)]
pub enum TwoFactor {
    /// Not configured: the account must be a service account.
    None,
    /// A base32 TOTP seed; codes are computed when needed.
    TotpSecret(Secret),
    /// A code the user typed.
    Code(Secret),
}

/// Everything needed to log in.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Account name.
    pub username: String,
    /// Password.
    pub password: Secret,
    /// Ask for a long-lived session.
    pub keep_logged: bool,
    /// 2FA answer.
    pub two_factor: TwoFactor,
}

/// The login arguments of an object's configuration, as its model reads them. Unknown values
/// (validation) count as unset; unset ones fall back to the provider's.
#[derive(Debug, Clone, Copy)]
pub struct LoginArgs<'a> {
    /// `username`.
    pub username: &'a Maybe<String>,
    /// The password, and the attribute it is set with (`password`, `password_wo`).
    pub password: (&'static str, &'a Maybe<Secret>),
    /// `keep_logged`.
    pub keep_logged: &'a Maybe<bool>,
    /// `totp_secret`.
    pub totp_secret: &'a Maybe<Secret>,
    /// `two_factor_code`.
    pub two_factor_code: &'a Maybe<Secret>,
}

impl LoginArgs<'_> {
    /// Static checks: an empty username or password, a TOTP seed that is not base32, a 2FA
    /// code that is not six digits.
    pub fn validate(&self, d: &mut Diagnostics) {
        if let Some(seed) = self.totp_secret.known() {
            totp::check_seed(attr::TOTP_SECRET, seed.expose(), d);
        }
        if let Some(c) = self.two_factor_code.known().map(Secret::expose) {
            if c.len() != 6 || !c.bytes().all(|b| b.is_ascii_digit()) {
                d.attr_error(
                    AttributePath::attr(attr::TWO_FACTOR_CODE),
                    "Invalid two_factor_code",
                    "two_factor_code must be the 6-digit code shown by the authenticator app.",
                );
            }
        }
        let (password_attr, password) = self.password;
        let empty = [
            (attr::USERNAME, self.username.known().map(String::as_str)),
            (password_attr, password.known().map(Secret::expose)),
        ];
        for (name, value) in empty {
            if value == Some("") {
                d.attr_error(
                    AttributePath::attr(name),
                    format!("Empty {name}"),
                    format!("{name} must not be empty; remove it to use the provider's value."),
                );
            }
        }
    }

    /// The credentials to log in with; `username_override` (a planned username) wins.
    pub fn credentials(
        &self,
        data: &ProviderData,
        username_override: Option<&str>,
    ) -> Result<Credentials, Diagnostic> {
        let (password_attr, password) = self.password;
        let username = username_override
            .or(self.username.known().map(String::as_str))
            .map(str::to_string)
            .or_else(|| data.username.clone())
            .filter(|u| !u.is_empty())
            .ok_or_else(missing_username)?;
        let password = password
            .known()
            .or(data.password.as_ref())
            .filter(|p| !p.is_empty())
            .cloned()
            .ok_or_else(|| missing_password(password_attr))?;
        let two_factor = match (self.two_factor_code.known(), self.totp_secret.known()) {
            (Some(code), _) => TwoFactor::Code(code.clone()),
            (None, Some(seed)) => TwoFactor::TotpSecret(seed.clone()),
            (None, None) => data
                .totp_secret
                .clone()
                .map_or(TwoFactor::None, TwoFactor::TotpSecret),
        };
        Ok(Credentials {
            username,
            password,
            keep_logged: self
                .keep_logged
                .known()
                .copied()
                .unwrap_or(data.keep_logged),
            two_factor,
        })
    }
}

/// No username anywhere: not in the object, the provider block or the environment.
pub fn missing_username() -> Diagnostic {
    Diagnostic::error(
        "Missing username",
        "Set `username` here or in the provider block, or export DEFENTRY_USERNAME.",
    )
    .at(AttributePath::attr(attr::USERNAME))
}

/// No password anywhere; `password_attr` names the object's password attribute.
pub fn missing_password(password_attr: &str) -> Diagnostic {
    Diagnostic::error(
        "Missing password",
        format!("Set `{password_attr}` here or `password` in the provider block, or export DEFENTRY_PASSWORD."),
    )
    .at(AttributePath::attr(password_attr))
}
