//! The login flow every Defentry object shares: credentials from configuration or the
//! provider, login, and — for interactive accounts — the 2FA challenge.

use chrono::{DateTime, Utc};
use totp_rs::{Algorithm, Secret as TotpSeed, TOTP};

use crate::sdk::cty::{AttributePath, Value};
use crate::sdk::{Context, Diagnostic};

use super::client::{stoppable, ApiError, Client, LogoutOutcome, Secret, Token};
use super::diagnostics::{api_error, cancelled};
use super::provider::ProviderData;

/// Attribute names shared by the session-producing objects.
pub mod attr {
    /// Account name.
    pub const USERNAME: &str = "username";
    /// Password (data source, ephemeral).
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
    /// The token.
    pub const TOKEN: &str = "token";
    /// `Bearer <token>`.
    pub const AUTHORIZATION_HEADER: &str = "authorization_header";
}

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

/// Resolves credentials from an object's configuration (`password_attr` names the attribute
/// holding the password) with the provider's values as fallback.
pub fn credentials(
    data: &ProviderData,
    config: &Value,
    password_attr: &str,
    username_override: Option<&str>,
) -> Result<Credentials, Diagnostic> {
    let username = username_override
        .map(str::to_string)
        .or_else(|| config.attr(attr::USERNAME).as_str().map(str::to_string))
        .or_else(|| data.username.clone())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            Diagnostic::error(
                "Missing username",
                "Set `username` here or in the provider block, or export DEFENTRY_USERNAME.",
            )
            .at(AttributePath::attr(attr::USERNAME))
        })?;
    let password = config
        .attr(password_attr)
        .as_str()
        .map(Secret::new)
        .or_else(|| data.password.clone())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Diagnostic::error(
                "Missing password",
                format!("Set `{password_attr}` here or `password` in the provider block, or export DEFENTRY_PASSWORD."),
            )
            .at(AttributePath::attr(password_attr))
        })?;
    let keep_logged = config
        .attr(attr::KEEP_LOGGED)
        .as_bool()
        .unwrap_or(data.keep_logged);
    let two_factor = if let Some(code) = config.attr(attr::TWO_FACTOR_CODE).as_str() {
        TwoFactor::Code(Secret::new(code))
    } else if let Some(seed) = config.attr(attr::TOTP_SECRET).as_str() {
        TwoFactor::TotpSecret(Secret::new(seed))
    } else if let Some(seed) = &data.totp_secret {
        TwoFactor::TotpSecret(seed.clone())
    } else {
        TwoFactor::None
    };
    Ok(Credentials {
        username,
        password,
        keep_logged,
        two_factor,
    })
}

/// Validates a TOTP seed (base32) without revealing it.
pub fn check_totp_secret(seed: &str) -> Result<(), String> {
    TotpSeed::Encoded(seed.trim().replace(' ', "").to_uppercase())
        .to_bytes()
        .map(|_| ())
        .map_err(|_| "is not a base32 TOTP secret (letters A-Z and digits 2-7, as shown by the authenticator setup)".to_string())
}

fn totp_code(seed: &Secret, at: DateTime<Utc>) -> Result<Secret, Diagnostic> {
    let bad = || {
        Diagnostic::error(
            "Invalid TOTP secret",
            "`totp_secret` (or DEFENTRY_TOTP_SECRET) is not a base32 TOTP secret. Copy the secret shown when 2FA was set up.",
        )
        .at(AttributePath::attr(attr::TOTP_SECRET))
    };
    let bytes = TotpSeed::Encoded(seed.expose().trim().replace(' ', "").to_uppercase())
        .to_bytes()
        .map_err(|_| bad())?;
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new());
    let secs = u64::try_from(at.timestamp()).unwrap_or(0);
    Ok(Secret::new(totp.generate(secs)))
}

/// Runs a client call. Once Terraform stops the provider no new attempt starts, but a
/// request already sent is finished, so a session it opened or closed is not lost.
pub async fn call<T>(
    ctx: &Context,
    doing: &str,
    fut: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<Result<T, ApiError>, Diagnostic> {
    match ctx.finish(stoppable(ctx.stop_token(), fut)).await {
        Ok(Err(ApiError::Cancelled)) | Err(_) => Err(cancelled(doing)),
        Ok(result) => Ok(result),
    }
}

fn field_path(f: &str) -> Option<AttributePath> {
    match f {
        "username" | "email" => Some(AttributePath::attr(attr::USERNAME)),
        "code" => Some(AttributePath::attr(attr::TOTP_SECRET)),
        _ => None,
    }
}

/// Logs in and, when 2FA credentials are configured, completes the challenge (setup, then
/// verify) whatever the login response says: the vendor documents only `{"token"}`, so a
/// `two_factor_required` hint is never required. The token is returned only after verify
/// succeeded; a pending session that cannot be completed is logged out, so no session leaks.
pub async fn login(
    ctx: &Context,
    client: &Client,
    creds: &Credentials,
) -> Result<Token, Diagnostic> {
    // An unusable seed is a configuration error: say so before opening any session.
    if let TwoFactor::TotpSecret(seed) = &creds.two_factor {
        totp_code(seed, ctx.now())?;
    }
    let doing = format!("log in as {}", creds.username);
    let resp = call(
        ctx,
        &doing,
        client.login(&creds.username, &creds.password, creds.keep_logged),
    )
    .await?
    .map_err(|e| api_error(&e, &doing, field_path))?;
    let token = resp.token;
    let outcome = match creds.two_factor {
        TwoFactor::None if resp.two_factor_required => {
            Err(two_factor_not_configured(&creds.username))
        }
        // Without 2FA credentials and without a hint the provider cannot tell a service account
        // from an enrolled human; the latter's token is then refused by CRM calls (documented).
        TwoFactor::None => return Ok(token),
        TwoFactor::TotpSecret(_) | TwoFactor::Code(_) => {
            complete_two_factor(ctx, client, creds, &token).await
        }
    };
    if let Err(mut d) = outcome {
        // Even after a Ctrl-C: the pending session must not outlive the failed login.
        if client.logout(token.secret()).await.is_ok() {
            d.detail.push_str(" The pending session was logged out.");
        }
        return Err(d);
    }
    Ok(token)
}

/// The explanation for an interactive account met without any 2FA setting.
fn two_factor_not_configured(username: &str) -> Diagnostic {
    Diagnostic::error(
        "Two-factor authentication required",
        format!(
            "{username} is an interactive login enrolled in two-factor authentication. Service accounts do not use 2FA: \
             use the dedicated service account created in the Defentry CRM portal for automation. To log in as \
             an interactive user on purpose, set `totp_secret` (or DEFENTRY_TOTP_SECRET) to its TOTP secret, or \
             `two_factor_code` to a current code."
        ),
    )
    .at(AttributePath::attr(attr::USERNAME))
}

/// The attribute holding the configured 2FA answer.
fn two_factor_attr(creds: &Credentials) -> &'static str {
    match creds.two_factor {
        TwoFactor::Code(_) => attr::TWO_FACTOR_CODE,
        _ => attr::TOTP_SECRET,
    }
}

/// Setup offered a new enrolment: the account is not enrolled, so there is no challenge to answer.
fn not_enrolled(creds: &Credentials) -> Diagnostic {
    let name = two_factor_attr(creds);
    let setting = match creds.two_factor {
        TwoFactor::Code(_) => format!("`{name}`"),
        _ => format!("`{name}` (and DEFENTRY_TOTP_SECRET)"),
    };
    Diagnostic::error(
        "Account not enrolled in two-factor authentication",
        format!(
            "{user} is not enrolled in two-factor authentication: Defentry offered to start a new \
             enrolment instead of a challenge. Service accounts are never enrolled. Remove {setting} for \
             this account. No code was sent, so the provider completed no enrolment.",
            user = creds.username
        ),
    )
    .at(AttributePath::attr(name))
}

/// The diagnostic for a 2FA code Defentry did not accept.
fn code_rejected(creds: &Credentials, err: &ApiError, doing: &str) -> Diagnostic {
    let ApiError::Validation { .. } = err else {
        return api_error(err, doing, field_path);
    };
    let user = &creds.username;
    match creds.two_factor {
        TwoFactor::Code(_) => Diagnostic::error(
            "Two-factor code rejected",
            format!(
                "Defentry did not accept `two_factor_code` for {user}: it is wrong or expired (codes change every \
                 30 seconds). Enter a current code from the authenticator app, or set `totp_secret` instead. If {user} \
                 is not enrolled in two-factor authentication at all (service accounts never are), remove \
                 `two_factor_code`."
            ),
        )
        .at(AttributePath::attr(attr::TWO_FACTOR_CODE)),
        _ => Diagnostic::error(
            "Two-factor authentication failed",
            format!(
                "Defentry did not accept the codes computed from `totp_secret` (or DEFENTRY_TOTP_SECRET) for {user}: \
                 the secret does not belong to this user, or this machine's clock is off by more than 30 seconds. \
                 If {user} is not enrolled in two-factor authentication at all (service accounts never are), \
                 remove `totp_secret`."
            ),
        )
        .at(AttributePath::attr(attr::TOTP_SECRET)),
    }
}

async fn complete_two_factor(
    ctx: &Context,
    client: &Client,
    creds: &Credentials,
    token: &Token,
) -> Result<(), Diagnostic> {
    let doing = "complete two-factor authentication";
    let setup = call(ctx, doing, client.two_factor_setup(token.secret()))
        .await?
        .map_err(|e| api_error(&e, doing, field_path))?;
    // Verify would complete the enrolment setup just offered: stop before any side effect.
    if setup.enrolled == Some(false) {
        return Err(not_enrolled(creds));
    }
    let verify = |code: Secret| async move {
        call(ctx, doing, client.two_factor_verify(token.secret(), &code)).await
    };
    let result = match &creds.two_factor {
        TwoFactor::None => return Err(two_factor_not_configured(&creds.username)),
        TwoFactor::Code(code) => verify(code.clone()).await?,
        TwoFactor::TotpSecret(seed) => {
            let now = ctx.now();
            match verify(totp_code(seed, now)?).await? {
                // Our clock may be one step ahead of the server's: try the previous code once.
                Err(ApiError::Validation { .. }) => {
                    verify(totp_code(seed, now - chrono::Duration::seconds(30))?).await?
                }
                other => other,
            }
        }
    };
    result.map_err(|e| code_rejected(creds, &e, doing))
}

/// Logs in with a session object's configuration (`defentry_session` data source and
/// ephemeral resource), falling back to the provider's credentials.
pub async fn open(ctx: &Context, data: &ProviderData, config: &Value) -> Result<Token, Diagnostic> {
    let client = data.client()?;
    let creds = credentials(data, config, attr::PASSWORD, None)?;
    login(ctx, client, &creds).await
}

/// Logs a token out. A token that is already invalid counts as success.
pub async fn logout(
    ctx: &Context,
    client: &Client,
    token: &Secret,
) -> Result<LogoutOutcome, Diagnostic> {
    let doing = "log the session out";
    call(ctx, doing, client.logout(token))
        .await?
        .map_err(|e| api_error(&e, doing, |_| None))
}

/// Logs out a session that was opened although Terraform had asked to stop, for callers
/// whose result Terraform would not keep (data source, ephemeral open); returns the error
/// to report instead.
pub async fn logged_out_after_stop(
    ctx: &Context,
    data: &ProviderData,
    token: &Secret,
) -> Diagnostic {
    let doing = "return the session it opened";
    let mut d = cancelled(doing);
    // Outside `call`: this logout must be sent although Terraform is stopping.
    let done = match data.client() {
        Ok(client) => ctx
            .finish(client.logout(token))
            .await
            .is_ok_and(|r| r.is_ok()),
        Err(_) => false,
    };
    d.detail.push_str(if done {
        " The session was logged out again."
    } else {
        " The session could not be logged out; Defentry will expire it."
    });
    d
}

/// Formats a time as RFC 3339 with seconds precision.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The schema shared by the `defentry_session` data source and ephemeral resource.
pub fn session_schema(description: &str) -> crate::sdk::schema::Schema {
    use crate::sdk::cty::Type;
    use crate::sdk::schema::{Attribute, Block, Schema};
    Schema::new(
        Block::new(vec![
            Attribute::optional(attr::USERNAME, Type::String)
                .description("Service-account username. Defaults to the provider's `username`."),
            Attribute::optional(attr::PASSWORD, Type::String)
                .sensitive()
                .description("Password. Defaults to the provider's `password` (prefer that, set through DEFENTRY_PASSWORD)."),
            Attribute::optional(attr::KEEP_LOGGED, Type::Bool)
                .description("Ask Defentry for a long-lived session. Defaults to the provider's `keep_logged`."),
            Attribute::optional(attr::TOTP_SECRET, Type::String)
                .sensitive()
                .description("Interactive users only (service accounts are never enrolled): base32 TOTP secret. With it, every login completes the 2FA challenge (setup, then verify). Defaults to the provider's `totp_secret`."),
            Attribute::optional(attr::TWO_FACTOR_CODE, Type::String)
                .sensitive()
                .description("Interactive users only: a current 6-digit 2FA code, instead of `totp_secret`; the login then completes the 2FA challenge with it."),
            Attribute::computed(attr::ID, Type::String).description("Same as `token_id`."),
            Attribute::computed(attr::TOKEN_ID, Type::String)
                .description("The non-secret token identifier (the part before `|`). Safe to log and to use as a secret version."),
            Attribute::computed(attr::TOKEN, Type::String)
                .sensitive()
                .description("The CRM token, sent as `Authorization: Bearer <token>`."),
            Attribute::computed(attr::AUTHORIZATION_HEADER, Type::String)
                .sensitive()
                .description("The ready-made header value `Bearer <token>`."),
            Attribute::computed("issued_at", Type::String)
                .description("When the session was created (RFC 3339)."),
        ])
        .description(description),
    )
}

/// Static checks shared by the session objects.
pub fn validate_session_config(config: &Value) -> crate::sdk::Diagnostics {
    let mut d = crate::sdk::Diagnostics::new();
    if let Some(s) = config.attr(attr::TOTP_SECRET).as_str() {
        if let Err(e) = check_totp_secret(s) {
            d.attr_error(
                AttributePath::attr(attr::TOTP_SECRET),
                "Invalid totp_secret",
                format!("totp_secret {e}."),
            );
        }
    }
    if let Some(c) = config.attr(attr::TWO_FACTOR_CODE).as_str() {
        if c.len() != 6 || !c.bytes().all(|b| b.is_ascii_digit()) {
            d.attr_error(
                AttributePath::attr(attr::TWO_FACTOR_CODE),
                "Invalid two_factor_code",
                "two_factor_code must be the 6-digit code shown by the authenticator app.",
            );
        }
    }
    for name in [attr::USERNAME, attr::PASSWORD] {
        if config.attr(name).as_str() == Some("") {
            d.attr_error(
                AttributePath::attr(name),
                format!("Empty {name}"),
                format!("{name} must not be empty; remove it to use the provider's value."),
            );
        }
    }
    d
}

/// Fills the computed session attributes of `config` from a fresh token, issued now by the
/// context's clock.
pub fn session_result(ctx: &Context, config: &Value, token: &Token) -> Value {
    let mut v = config.clone();
    v.set_attr(attr::ID, Value::string(token.id()));
    v.set_attr(attr::TOKEN_ID, Value::string(token.id()));
    v.set_attr(attr::TOKEN, Value::string(token.secret().expose()));
    v.set_attr(
        attr::AUTHORIZATION_HEADER,
        Value::string(token.authorization_header().expose()),
    );
    v.set_attr("issued_at", Value::string(rfc3339(ctx.now())));
    v
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

    fn creds(two_factor: TwoFactor) -> Credentials {
        Credentials {
            username: "svc@partner.com".into(),
            password: Secret::new("pw"),
            keep_logged: false,
            two_factor,
        }
    }

    #[test]
    fn not_enrolled_points_at_the_configured_answer() {
        for (two_factor, name) in [
            (
                TwoFactor::TotpSecret(Secret::new("JBSWY3DP")),
                attr::TOTP_SECRET,
            ),
            (
                TwoFactor::Code(Secret::new("123456")),
                attr::TWO_FACTOR_CODE,
            ),
        ] {
            let d = not_enrolled(&creds(two_factor));
            assert_eq!(d.attribute, Some(AttributePath::attr(name)));
            assert!(
                d.detail.starts_with("svc@partner.com is not enrolled"),
                "{}",
                d.detail
            );
            assert!(
                d.detail.contains(&format!("Remove `{name}`")),
                "{}",
                d.detail
            );
            assert!(d.detail.contains("Service accounts are never enrolled."));
            assert!(d.detail.ends_with('.'), "{}", d.detail);
            assert!(!d.detail.contains("JBSWY3DP") && !d.detail.contains("123456"));
        }
    }

    #[test]
    fn bad_totp_secret_is_reported() {
        assert!(check_totp_secret("not base32!").is_err());
        assert!(check_totp_secret("JBSWY3DPEHPK3PXP").is_ok());
    }
}
