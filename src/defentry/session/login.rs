//! Login, the 2FA challenge and logout, each call stoppable when Terraform asks.

use crate::sdk::cty::{AttributePath, Value};
use crate::sdk::{Context, Diagnostic};

use crate::defentry::attr;
use crate::defentry::client::{ApiError, CallCtx, Client, LogoutOutcome, Secret, Token};
use crate::defentry::data::ProviderData;
use crate::defentry::diagnostics::{api_error, cancelled};

use super::credentials::{Credentials, TwoFactor};
use super::schema::SessionModel;
use super::totp::{self, sent_codes, Seed};
use crate::defentry::op::Op;

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
pub async fn login(op: &Op<'_>, client: &Client, creds: &Credentials) -> Result<Token, Diagnostic> {
    // What answers the 2FA challenge. An unusable seed is a configuration error: say so
    // before opening any session.
    let answer = match &creds.two_factor {
        TwoFactor::None => None,
        TwoFactor::Code(code) => Some(Answer::Code(code)),
        TwoFactor::TotpSecret(seed) => Some(Answer::Seed(Seed::parse(seed)?)),
    };
    // The token's calls count against this account's rate-limit window.
    op.calls().set_account(&creds.username);
    let doing = format!("log in as {}", creds.username);
    let resp = op
        .call(client.login(
            op.calls(),
            &creds.username,
            &creds.password,
            creds.keep_logged,
        ))
        .await
        .map_err(|e| api_error(&e, &doing, field_path))?;
    let token = resp.token;
    let outcome = match answer {
        None if resp.two_factor_required => Err(two_factor_not_configured(&creds.username)),
        // Without 2FA credentials and without a hint the provider cannot tell a service account
        // from an enrolled human; the latter's token is then refused by CRM calls (documented).
        None => return Ok(token),
        Some(answer) => complete_two_factor(op, client, creds, &token, answer).await,
    };
    if let Err(mut d) = outcome {
        // Even after a Ctrl-C: the pending session must not outlive the failed login.
        let cx = CallCtx::unstoppable().for_account(&creds.username);
        if client.logout(&cx, token.secret()).await.is_ok() {
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
                 30 seconds), or it was already used. Defentry accepts each code once, so a typed-in code serves one \
                 login only: not a second object, not the apply after the plan that used it (an ephemeral session \
                 logs in at both), not another run. The provider cannot compute a new code from a typed-in one. \
                 Enter a fresh code from the authenticator app for a single login, or set `totp_secret` so the \
                 provider computes a new code for every login. If {user} is not enrolled in two-factor \
                 authentication at all (service accounts never are), remove `two_factor_code`."
            ),
        )
        .at(AttributePath::attr(attr::TWO_FACTOR_CODE)),
        _ => Diagnostic::error(
            "Two-factor authentication failed",
            format!(
                "Defentry did not accept the codes computed from `totp_secret` (or DEFENTRY_TOTP_SECRET) for {user}, \
                 the second one in the next 30-second step. Defentry accepts each code once, so either another login \
                 with the same secret used those codes first (another Terraform run or another program logging in \
                 as {user} within the same 30 seconds), or the secret does not belong to this user, or this \
                 machine's clock is off by more than 30 seconds. Run Terraform again once no other login of {user} \
                 is running, and do not let runs that log in as {user} overlap; if it fails again, compare the \
                 secret with the one shown when 2FA was set up and synchronise this machine's clock (NTP). If {user} \
                 is not enrolled in two-factor authentication at all (service accounts never are), remove \
                 `totp_secret`."
            ),
        )
        .at(AttributePath::attr(attr::TOTP_SECRET)),
    }
}

/// What answers a 2FA challenge: a typed-in code, or the codes of a seed.
enum Answer<'a> {
    Code(&'a Secret),
    Seed(Seed),
}

async fn complete_two_factor(
    op: &Op<'_>,
    client: &Client,
    creds: &Credentials,
    token: &Token,
    answer: Answer<'_>,
) -> Result<(), Diagnostic> {
    let doing = "complete two-factor authentication";
    let setup = op
        .call(client.two_factor_setup(op.calls(), token.secret()))
        .await
        .map_err(|e| api_error(&e, doing, field_path))?;
    // Verify would complete the enrolment setup just offered: stop before any side effect.
    if setup.enrolled == Some(false) {
        return Err(not_enrolled(creds));
    }
    let verify = |code: Secret| async move {
        op.call(client.two_factor_verify(op.calls(), token.secret(), &code))
            .await
    };
    let result = match answer {
        // A typed-in code cannot be regenerated: it is sent once, as given.
        Answer::Code(code) => verify(code.clone()).await,
        // Codes are single use: never one this process sent, and a refused one is retried
        // with the next step's code (see `totp::answer`).
        Answer::Seed(seed) => {
            let refused = |r: &Result<(), ApiError>| matches!(r, Err(ApiError::Validation { .. }));
            totp::answer(
                op.ctx(),
                sent_codes(),
                &seed,
                &creds.username,
                refused,
                verify,
            )
            .await
            .unwrap_or(Err(ApiError::Cancelled))
        }
    };
    result.map_err(|e| code_rejected(creds, &e, doing))
}

/// Opens the session of a `defentry_session` object (data source, ephemeral resource): logs
/// in with its configuration `config`, falling back to the provider's credentials, and hands
/// the token to `keep`. A token that `keep` refuses, because Terraform is stopping and would
/// drop the result, is logged out at once rather than leaked. Returns the object's result and
/// what `keep` made of the token.
pub async fn open<K>(
    op: &Op<'_>,
    data: &ProviderData,
    config: &Value,
    keep: impl FnOnce(&Token) -> Option<K>,
) -> Result<(Value, K), Diagnostic> {
    let config = SessionModel::read(config)?;
    let client = data.client()?;
    let creds = config.login_args().credentials(data, None)?;
    let token = login(op, client, &creds).await?;
    let Some(kept) = keep(&token) else {
        return Err(logged_out_after_stop(op.ctx(), data, token.secret()).await);
    };
    Ok((config.issued(op.ctx(), &token)?, kept))
}

/// Logs a token out. A token that is already invalid counts as success.
pub async fn logout(
    op: &Op<'_>,
    client: &Client,
    token: &Secret,
) -> Result<LogoutOutcome, Diagnostic> {
    let doing = "log the session out";
    op.call(client.logout(op.calls(), token))
        .await
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
    // This logout must be sent although Terraform is stopping.
    let op = Op::unstoppable(ctx);
    let done = match data.client() {
        Ok(client) => op.call(client.logout(op.calls(), token)).await.is_ok(),
        Err(_) => false,
    };
    d.detail.push_str(if done {
        " The session was logged out again."
    } else {
        " The session could not be logged out; Defentry will expire it."
    });
    d
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let detail = &d.detail;
            assert!(
                detail.starts_with("svc@partner.com is not enrolled"),
                "{detail}"
            );
            for part in [
                format!("Remove `{name}`").as_str(),
                "Service accounts are never enrolled.",
            ] {
                assert!(detail.contains(part), "{part}: {detail}");
            }
            assert!(detail.ends_with('.'), "{detail}");
            assert!(!d.detail.contains("JBSWY3DP") && !d.detail.contains("123456"));
        }
    }

    #[test]
    fn a_refused_code_names_reuse_beside_the_other_causes() {
        let refused = ApiError::Validation {
            message: "The code is invalid.".into(),
            fields: Default::default(),
        };
        let d = code_rejected(
            &creds(TwoFactor::TotpSecret(Secret::new("JBSWY3DP"))),
            &refused,
            "complete two-factor authentication",
        );
        assert_eq!(d.summary, "Two-factor authentication failed");
        assert_eq!(d.attribute, Some(AttributePath::attr(attr::TOTP_SECRET)));
        for cause in [
            "another login with the same secret used those codes first",
            "another Terraform run",
            "does not belong to this user",
            "clock is off",
            "do not let runs that log in as svc@partner.com overlap",
        ] {
            assert!(d.detail.contains(cause), "{cause:?} missing: {}", d.detail);
        }
        let d = code_rejected(
            &creds(TwoFactor::Code(Secret::new("123456"))),
            &refused,
            "complete two-factor authentication",
        );
        assert_eq!(d.summary, "Two-factor code rejected");
        assert_eq!(
            d.attribute,
            Some(AttributePath::attr(attr::TWO_FACTOR_CODE))
        );
        for said in [
            "wrong or expired",
            "already used",
            "cannot compute a new code from a typed-in one",
            "set `totp_secret`",
        ] {
            assert!(d.detail.contains(said), "{said:?} missing: {}", d.detail);
        }
        assert!(!d.detail.contains("123456") && !d.detail.contains("JBSWY3DP"));
    }
}
